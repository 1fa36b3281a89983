"""Program: canonical bytes (protocol.md 4), strict decoding, hash, disassembly."""

from __future__ import annotations

import hashlib
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st
from zkvm_strategies import programs

from zkactors import programs as library
from zkactors._native.executor import NativeProgram
from zkactors.errors import ProgramFormatError
from zkactors.zkvm.assembler import assemble
from zkactors.zkvm.isa import (
    MAX_INPUTS,
    MAX_INSTRUCTIONS,
    MAX_NAME,
    MAX_OUTPUTS,
    MAX_PUBLIC_INPUTS,
    MAX_PUBLIC_OUTPUTS,
    MAX_REGISTERS,
    V2_MAX_INPUTS,
    V2_MAX_INSTRUCTIONS,
    V2_MAX_OUTPUTS,
    V2_MAX_REGISTERS,
    Instruction,
    Op,
    P,
)
from zkactors.zkvm.program import Program

FIB = library.load("fib")


def native_accepts(data: bytes) -> bool:
    """Whether the register AIR's native decoder (format 1 only) accepts ``data``."""
    try:
        NativeProgram(data)
    except ValueError:
        return False
    return True


def python_accepts(data: bytes) -> bool:
    """Whether ``Program.from_bytes`` accepts ``data`` as a program of format 1: what
    the register AIR's native decoder must agree with. (Format-2 bytes it accepts are
    checked for canonicity too, and count as not accepted here.)"""
    try:
        program = Program.from_bytes(data)
    except ProgramFormatError:
        return False
    assert program.to_bytes() == data  # whatever decodes is canonical
    return program.format == 1


def test_opcodes_are_the_protocol_table() -> None:
    names = "set mov add sub mul addi subi muli inv assert_zero assert_eq jmp jz jnz halt"
    names += " load load store store read write"  # v2: ops 16-21 (protocol.md 12)
    assert [(op.mnemonic, int(op)) for op in Op] == [
        (name, code) for code, name in enumerate(names.split(), start=1)
    ]
    assert [op.form for op in Op][15:] == [
        "load rd, [ra + imm]",
        "load rd, [imm]",
        "store [ra + imm], rb",
        "store [imm], rb",
        "read rd",
        "write ra",
    ]
    assert [op for op in Op if op.is_v1] == list(Op)[:15]
    assert (MAX_REGISTERS, MAX_INPUTS, MAX_OUTPUTS, MAX_INSTRUCTIONS, MAX_NAME) == (
        64,
        16,
        16,
        128,
        32,
    )
    assert (
        V2_MAX_REGISTERS,
        V2_MAX_INPUTS,
        V2_MAX_OUTPUTS,
        V2_MAX_INSTRUCTIONS,
        MAX_PUBLIC_INPUTS,
        MAX_PUBLIC_OUTPUTS,
    ) == (256, 256, 256, 65_536, 2**16, 2**16)


def test_fib_canonical_bytes_by_hand() -> None:
    data = FIB.to_bytes()
    expected = b"ZKVM" + bytes([1, 4, 1, 1]) + struct.pack("<H", 9)
    expected += b"\x01n\x01a\x01b\x01t" + bytes([1])
    code = [
        (1, 1, 0, 0, 0, 0),  # set a, 0
        (1, 2, 0, 0, 0, 1),  # set b, 1
        (13, 0, 0, 0, 8, 0),  # jz n, done
        (3, 3, 1, 2, 0, 0),  # add t, a, b
        (2, 1, 2, 0, 0, 0),  # mov a, b
        (2, 2, 3, 0, 0, 0),  # mov b, t
        (7, 0, 0, 0, 0, 1),  # subi n, n, 1
        (12, 0, 0, 0, 2, 0),  # jmp loop
        (15, 0, 0, 0, 0, 0),  # halt
    ]
    for op, rd, ra, rb, target, imm in code:
        expected += struct.pack("<BBBBHHQ", op, rd, ra, rb, target, 0, imm)
    assert data == expected
    assert FIB.digest == hashlib.sha256(expected).digest()
    assert FIB.hash == hashlib.sha256(expected).hexdigest()


def test_program_properties() -> None:
    assert FIB.inputs == ("n",)
    assert FIB.outputs == ("a",)
    assert FIB.registers == ("n", "a", "b", "t")
    assert FIB.branch_indices == (2,)
    assert FIB.trace_width == 4 + 9 + 1
    assert NativeProgram(FIB.to_bytes()).trace_width == FIB.trace_width


def test_source_lines_are_not_identity() -> None:
    bare = Program.from_bytes(FIB.to_bytes())
    assert bare == FIB and hash(bare) == hash(FIB)
    assert bare.source_lines == () and FIB.source_lines
    assert bare.source_line(2) == "jz n, L8"
    assert FIB.source_line(2) == "loop: jz n, done"


@pytest.mark.parametrize("name", library.names())
def test_library_bytes_round_trip(name: str) -> None:
    program = library.load(name)
    assert Program.from_bytes(program.to_bytes()) == program
    assert assemble(str(program)) == program
    # The register AIR's native decoder reads format 1 only.
    assert native_accepts(program.to_bytes()) == program.fits_register_air


@given(programs())
def test_random_programs_round_trip(program: Program) -> None:
    data = program.to_bytes()
    assert Program.from_bytes(data) == program
    assert assemble(str(program)) == program
    assert data[4] == program.format == (1 if program.fits_register_air else 2)
    # The register AIR's native decoder reads format 1 only.
    assert native_accepts(data) == program.fits_register_air
    if program.fits_register_air:
        assert NativeProgram(data).trace_width == program.trace_width


def test_disassembly_pins_an_unusual_register_order() -> None:
    # Registers in an order assemble() would not choose, one never used by any instruction.
    program = Program(
        ("x", "spare", "b", "a"),
        1,
        (3,),
        (Instruction(Op.ADD, rd=3, ra=0, rb=2), Instruction(Op.HALT)),
    )
    text = str(program)
    assert ".registers spare, b, a" in text
    assert assemble(text) == program


def _corruptions(data: bytes) -> list[bytes]:
    variants = []
    for i in range(len(data)):
        for value in {0, 1, 0xFF, data[i] ^ 1, data[i] ^ 0x80, (data[i] + 1) & 0xFF}:
            if value != data[i]:
                variants.append(data[:i] + bytes([value]) + data[i + 1 :])
    for n in range(len(data)):
        variants.append(data[:n])  # every truncation
    variants += [data + b"\x00", data + data[-16:]]
    return variants


@pytest.mark.parametrize("name", library.names())
def test_every_single_byte_corruption(name: str) -> None:
    """Each corruption is rejected with ProgramFormatError, or is itself the canonical
    encoding of a valid program; the native decoder gives the same verdict."""
    data = library.load(name).to_bytes()
    rejected = 0
    for variant in _corruptions(data):
        verdict = python_accepts(variant)
        assert native_accepts(variant) == verdict, variant.hex()
        rejected += not verdict
    assert rejected > len(data)  # most corruptions are invalid


@given(st.binary(max_size=120))
def test_random_bytes_never_crash(data: bytes) -> None:
    assert native_accepts(data) == python_accepts(data)


@given(programs(), st.data())
def test_random_corruptions_of_random_programs(program: Program, data: st.DataObject) -> None:
    raw = bytearray(program.to_bytes())
    index = data.draw(st.integers(0, len(raw) - 1))
    raw[index] = data.draw(st.integers(0, 255))
    assert native_accepts(bytes(raw)) == python_accepts(bytes(raw))


def _fib_with(index: int, value: int, size: int = 1) -> bytes:
    raw = bytearray(FIB.to_bytes())
    raw[index : index + size] = value.to_bytes(size, "little")
    return bytes(raw)


_CODE = len(FIB.to_bytes()) - 9 * 16  # offset of instruction 0


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b"", "too short"),
        (b"ZKVX" + FIB.to_bytes()[4:], "magic"),
        (_fib_with(4, 3), "version"),
        (_fib_with(4, 0), "version"),
        (_fib_with(5, 65), "too many registers"),
        (_fib_with(6, 17), "too many inputs"),
        (_fib_with(7, 17), "too many outputs"),
        (_fib_with(8, 129, 2), "too many instructions"),
        (_fib_with(8, 0, 2), "at least one instruction"),
        (FIB.to_bytes() + b"\x00", "trailing bytes"),
        (FIB.to_bytes()[:-1], "expected"),
        (_fib_with(_CODE, 16), "unknown op code 16 in program format 1"),
        (_fib_with(_CODE, 21), "unknown op code 21 in program format 1"),
        (_fib_with(_CODE, 22), "unknown op code 22"),
        (_fib_with(_CODE, 0), "unknown op code 0"),
        (_fib_with(_CODE + 6, 1, 2), "reserved"),
        (_fib_with(_CODE + 2, 1), "does not use ra"),  # set a, 0 with ra = 1
        (_fib_with(_CODE + 4, 1, 2), "does not use a target"),
        (_fib_with(_CODE + 8 * 16 + 8, 1, 8), "does not use an immediate"),  # halt
        (_fib_with(_CODE + 8, P, 8), "not in [0, p)"),
        (_fib_with(_CODE + 2 * 16 + 4, 9, 2), "target 9"),
        (_fib_with(_CODE + 3 * 16 + 2, 4), "register index ra=4 does not exist"),
        (_fib_with(_CODE + 8 * 16, 3), "no halt"),  # halt -> add (fields 0: valid add)
        (_fib_with(11, ord("1")), "bad register name '1'"),  # name "n" -> "1"
        (_fib_with(13, ord("n")), "declared twice"),  # name "a" -> "n"
        (b"ZKVM\x01\x01\x00\x00\x01\x00\x00" + bytes([15]) + bytes(15), "bad register name ''"),
        (_fib_with(18, 9), "output 0 names register 9"),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_specific_rejections(data: bytes, fragment: str) -> None:
    with pytest.raises(ProgramFormatError) as info:
        Program.from_bytes(data)
    assert fragment in str(info.value)
    assert not native_accepts(data)


def test_output_never_written_is_rejected() -> None:
    with pytest.raises(ProgramFormatError, match="never written"):
        Program(("a", "b"), 0, (1,), (Instruction(Op.SET, rd=0, imm=1), Instruction(Op.HALT)))


def test_falling_off_the_end_is_rejected() -> None:
    with pytest.raises(ProgramFormatError, match="fall off the end"):
        Program(("a",), 0, (), (Instruction(Op.HALT), Instruction(Op.SET, rd=0, imm=1)))


def test_register_name_length_limit() -> None:
    ok = "r" * MAX_NAME
    assert Program((ok,), 1, (0,), (Instruction(Op.HALT),)).registers == (ok,)
    with pytest.raises(ProgramFormatError, match="limit is 32"):
        Program((ok + "r",), 1, (0,), (Instruction(Op.HALT),))
