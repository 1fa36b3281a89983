"""Program format 2 (protocol.md 12): which programs use it, its bytes by hand, strict
decoding with every rejection rule, and that format-1 programs keep their hashes."""

from __future__ import annotations

import hashlib
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zkactors import programs as library
from zkactors.errors import ProgramFormatError
from zkactors.zkvm.assembler import assemble
from zkactors.zkvm.isa import Instruction, Op, P
from zkactors.zkvm.program import Program

# Hashes of the library's programs before format 2 existed (commit b7d46a5): format 1
# must encode them byte for byte as before, so receipts and cache keys stay valid.
PINNED = {
    "factorial": "e5762731dbf45003a5d83907097efbdc9f7bd9260a15d5a783ab94d5bbdf1345",
    "fib": "cec71b0e6f16c7b4cfba5b49411aae9bf7d56b451a3f7b75811dd43b8f7fe4c2",
    "horner": "f6f6c727f139f1b4604a09e2ca739d627703feb32783a9cfbac8994975ae27da",
    "inverse_check": "7d02e709625b6cc188870a8d99f5bb03bd01b42d80d4d9f76ab5c9d31c3f4840",
    "mimc": "9ddd490244851dddef48803b163c11a94b267126d0d067dc723489b67b789994",
    "power": "f0fb3b91784a1dc86f092155f8e7778a753bba9bd3c118e27dda8ef3ee765fe5",
}

MEMORY = assemble(
    """
    .input base
    .output v
        read x
        store [base + 2], x
        load v, [base - 1]
        load v, [5]
        store [0x10], v
        write v
        halt
    """
)
_HEADER_2 = struct.Struct("<4sBHHHI")
_INSTRUCTION_2 = struct.Struct("<BBBBIQ")


@pytest.mark.parametrize("name", sorted(PINNED))
def test_format_1_hashes_are_unchanged(name: str) -> None:
    program = library.load(name)
    assert program.format == 1 and program.fits_register_air
    assert program.to_bytes()[4] == 1
    assert program.hash == PINNED[name]


def test_format_2_bytes_by_hand() -> None:
    expected = _HEADER_2.pack(b"ZKVM", 2, 3, 1, 1, 7)
    expected += b"\x04base\x01x\x01v" + bytes([2])
    code = [
        (20, 1, 0, 0, 0, 0),  # read x
        (18, 0, 0, 1, 0, 2),  # store [base + 2], x
        (16, 2, 0, 0, 0, P - 1),  # load v, [base - 1]
        (17, 2, 0, 0, 0, 5),  # load v, [5]
        (19, 0, 0, 2, 0, 16),  # store [0x10], v
        (21, 0, 2, 0, 0, 0),  # write v
        (15, 0, 0, 0, 0, 0),  # halt
    ]
    for op, rd, ra, rb, target, imm in code:
        expected += _INSTRUCTION_2.pack(op, rd, ra, rb, target, imm)
    assert MEMORY.to_bytes() == expected
    assert MEMORY.format == 2 and not MEMORY.fits_register_air and MEMORY.reads_stream
    assert MEMORY.hash == hashlib.sha256(expected).hexdigest()
    assert Program.from_bytes(expected) == MEMORY
    assert assemble(str(MEMORY)) == MEMORY


def test_a_long_v1_program_is_format_2_with_wide_targets() -> None:
    # 300 instructions: beyond format 1's 128, so format 2, and a target above 255.
    source = "jmp end\n" + "addi a, a, 1\n" * 298 + "end: halt\n"
    program = assemble(source)
    assert program.format == 2 and all(ins.op.is_v1 for ins in program.instructions)
    data = program.to_bytes()
    _, _, _, _, target, _ = _INSTRUCTION_2.unpack_from(data, len(data) - 300 * 16)
    assert target == 299
    assert Program.from_bytes(data) == program
    assert assemble(str(program)) == program


def _v1_as_format_2(program: Program) -> bytes:
    """``program`` encoded in the format-2 layout (which is not canonical for it)."""
    parts = [
        _HEADER_2.pack(
            b"ZKVM",
            2,
            len(program.registers),
            program.n_inputs,
            len(program.output_registers),
            len(program.instructions),
        )
    ]
    parts += [bytes([len(name)]) + name.encode() for name in program.registers]
    parts.append(bytes(program.output_registers))
    for ins in program.instructions:
        parts.append(_INSTRUCTION_2.pack(ins.op, ins.rd, ins.ra, ins.rb, ins.target, ins.imm))
    return b"".join(parts)


def test_a_format_2_encoding_of_a_format_1_program_is_refused() -> None:
    fib = library.load("fib")
    data = _v1_as_format_2(fib)
    with pytest.raises(ProgramFormatError, match="non-canonical"):
        Program.from_bytes(data)


def test_format_1_bytes_cannot_carry_v2_ops() -> None:
    raw = bytearray(library.load("fib").to_bytes())
    raw[-16] = int(Op.READ)  # halt -> read, fields 0 (a valid 'read n' otherwise)
    with pytest.raises(ProgramFormatError, match="unknown op code 20 in program format 1"):
        Program.from_bytes(bytes(raw))


def _memory_with(index: int, value: int, size: int = 1) -> bytes:
    raw = bytearray(MEMORY.to_bytes())
    raw[index : index + size] = value.to_bytes(size, "little")
    return bytes(raw)


_CODE = len(MEMORY.to_bytes()) - 7 * 16  # offset of instruction 0
# Field offsets inside a format-2 instruction.
_RD, _RA, _RB, _TARGET, _IMM = 1, 2, 3, 4, 8


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (MEMORY.to_bytes()[:12], "too short"),
        (_memory_with(5, 257, 2), "too many registers: 257, the limit is 256"),
        (_memory_with(7, 257, 2), "too many inputs: 257"),
        (_memory_with(9, 257, 2), "too many outputs: 257"),
        (_memory_with(11, 65_537, 4), "too many instructions: 65537"),
        (_memory_with(11, 2**32 - 1, 4), "too many instructions"),
        (_memory_with(11, 0, 4), "at least one instruction"),
        (MEMORY.to_bytes() + b"\x00", "trailing bytes"),
        (MEMORY.to_bytes()[:-1], "expected"),
        (_memory_with(_CODE, 22), "unknown op code 22"),
        (_memory_with(_CODE, 0), "unknown op code 0"),
        (_memory_with(_CODE + _RA, 1), "read does not use ra"),
        (_memory_with(_CODE + _IMM, 1, 8), "read does not use an immediate"),
        (_memory_with(_CODE + 16 + _RD, 1), "store does not use rd"),
        (_memory_with(_CODE + 48 + _RA, 1), "load does not use ra"),  # load v, [5]
        (_memory_with(_CODE + 64 + _RD, 1), "store does not use rd"),  # store [16], v
        (_memory_with(_CODE + 80 + _RB, 1), "write does not use rb"),
        (_memory_with(_CODE + 16 + _TARGET, 1, 4), "store does not use a target"),
        (_memory_with(_CODE + 16 + _IMM, P, 8), "not in [0, p)"),
        (_memory_with(_CODE + 32 + _RA, 3), "register index ra=3 does not exist"),
        (_memory_with(_CODE + 6 * 16, int(Op.JMP)), "no halt"),  # halt -> jmp 0
        (_memory_with(_CODE + 6 * 16 + _IMM, 1, 8), "halt does not use an immediate"),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_format_2_rejections(data: bytes, fragment: str) -> None:
    with pytest.raises(ProgramFormatError) as info:
        Program.from_bytes(data)
    assert fragment in str(info.value)


def test_format_2_target_out_of_range() -> None:
    program = assemble("jmp end\nread x\nend: halt\n")
    raw = bytearray(program.to_bytes())
    start = len(raw) - 3 * 16
    raw[start + _TARGET : start + _TARGET + 4] = (3).to_bytes(4, "little")
    with pytest.raises(ProgramFormatError, match="target 3"):
        Program.from_bytes(bytes(raw))


def test_every_prefix_and_single_byte_change_is_refused_or_canonical() -> None:
    data = MEMORY.to_bytes()
    for n in range(len(data)):
        with pytest.raises(ProgramFormatError):
            Program.from_bytes(data[:n])
    for i in range(len(data)):
        for value in {0, 1, 0xFF, data[i] ^ 1}:
            variant = data[:i] + bytes([value]) + data[i + 1 :]
            try:
                decoded = Program.from_bytes(variant)
            except ProgramFormatError:
                continue
            assert decoded.to_bytes() == variant  # whatever decodes is canonical


def test_limits_at_the_edge_encode_in_format_2() -> None:
    names = tuple(f"r{k}" for k in range(256))
    program = Program(
        names,
        256,
        tuple(range(256)),
        (Instruction(Op.READ, rd=255), Instruction(Op.WRITE, ra=255), Instruction(Op.HALT)),
    )
    assert program.format == 2
    assert Program.from_bytes(program.to_bytes()) == program
    assert assemble(str(program)) == program
    with pytest.raises(ProgramFormatError, match="too many registers"):
        Program((*names, "x"), 0, (), (Instruction(Op.HALT),))


@pytest.mark.parametrize(
    ("instruction", "text"),
    [
        (Instruction(Op.LOAD, rd=0, ra=1, imm=0), "load x, [y]"),
        (Instruction(Op.LOAD, rd=0, ra=1, imm=7), "load x, [y + 7]"),
        (Instruction(Op.LOAD, rd=0, ra=1, imm=P - 7), "load x, [y - 7]"),
        (Instruction(Op.LOAD, rd=0, ra=1, imm=2**40), f"load x, [y + {2**40}]"),
        (Instruction(Op.LOAD, rd=0, ra=1, imm=P - 2**32), f"load x, [y + {P - 2**32}]"),
        (Instruction(Op.LOAD, rd=0, ra=1, imm=P - 2**32 + 1), f"load x, [y - {2**32 - 1}]"),
        (Instruction(Op.LOAD_ABS, rd=0, imm=2**32 - 1), f"load x, [{2**32 - 1}]"),
        (Instruction(Op.LOAD_ABS, rd=0, imm=P - 1), f"load x, [{P - 1}]"),
        (Instruction(Op.STORE, ra=1, rb=0, imm=3), "store [y + 3], x"),
        (Instruction(Op.STORE_ABS, rb=1, imm=0), "store [0], y"),
        (Instruction(Op.READ, rd=1), "read y"),
        (Instruction(Op.WRITE, ra=0), "write x"),
    ],
)
def test_disassembly_of_v2_instructions(instruction: Instruction, text: str) -> None:
    program = Program(("x", "y"), 2, (), (instruction, Instruction(Op.HALT)))
    assert program.source_line(0) == text
    assert assemble(str(program)) == program


# ---- any valid program, built from instructions (not through the assembler)

_IMMEDIATES = st.one_of(
    st.sampled_from((0, 1, 2**32 - 1, 2**32, P - 1, P - 2**32, P - 2**32 + 1)),
    st.integers(0, 16),
    st.integers(0, P - 1),
)


@st.composite
def _instructions(draw: st.DrawFn, n_registers: int, n_instructions: int) -> Instruction:
    op = draw(st.sampled_from(list(Op)))
    fields = {}
    for field in op.operands:
        if field == "imm":
            fields[field] = draw(_IMMEDIATES)
        elif field == "target":
            fields[field] = draw(st.integers(0, n_instructions - 1))
        else:
            fields[field] = draw(st.integers(0, n_registers - 1))
    return Instruction(op, **fields)


@st.composite
def _any_programs(draw: st.DrawFn) -> Program:
    n_registers = draw(st.integers(1, 70))
    n_inputs = draw(st.integers(0, min(n_registers, 18)))
    size = draw(st.one_of(st.integers(1, 12), st.integers(120, 140)))
    v1_only = draw(st.booleans())
    body = draw(
        st.lists(
            _instructions(n_registers, size).filter(lambda ins: ins.op.is_v1 or not v1_only),
            min_size=size - 1,
            max_size=size - 1,
        )
    )
    code = (*body, Instruction(Op.HALT))
    written = set(range(n_inputs)) | {ins.rd for ins in code if ins.op.writes}
    outputs = draw(
        st.lists(st.sampled_from(sorted(written)), max_size=18) if written else st.just([])
    )
    return Program(tuple(f"r{k}" for k in range(n_registers)), n_inputs, tuple(outputs), code)


@settings(max_examples=200, deadline=None)
@given(_any_programs())
def test_any_program_round_trips_in_its_one_format(program: Program) -> None:
    data = program.to_bytes()
    assert Program.from_bytes(data) == program
    assert assemble(str(program)) == program
    v1 = (
        all(ins.op.is_v1 for ins in program.instructions)
        and len(program.registers) <= 64
        and program.n_inputs <= 16
        and len(program.output_registers) <= 16
        and len(program.instructions) <= 128
    )
    assert program.fits_register_air is v1
    assert data[4] == program.format == (1 if v1 else 2)
    if v1:  # the other layout is refused: one encoding per program
        with pytest.raises(ProgramFormatError, match="non-canonical"):
            Program.from_bytes(_v1_as_format_2(program))
