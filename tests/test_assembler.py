"""The assembler: what it accepts, and a precise error for each kind of mistake."""

from __future__ import annotations

import pytest
from hypothesis import given
from zkvm_strategies import program_sources

from zkactors import assemble as exported_assemble
from zkactors.errors import AssemblyError
from zkactors.zkvm.assembler import assemble
from zkactors.zkvm.isa import Instruction, Op, P
from zkactors.zkvm.program import Program


def test_reexported_from_package() -> None:
    assert exported_assemble is assemble


def test_syntax_features() -> None:
    program = assemble(
        """
        # hash comment
        .INPUT  u, v          ; case-insensitive directive
        .output w, u, w       ; outputs may repeat
        start:
        top:    SET  w, 0x1F  ; hex
                addi w, w, -1 ; negative: p - 1
                muli q, w, 18446744069414584320
                subi q, q, -0x10
                jnz  u, end
                jmp  top
        end:    halt
        """
    )
    assert program.registers == ("u", "v", "w", "q")
    assert program.n_inputs == 2
    assert program.outputs == ("w", "u", "w")
    assert program.instructions == (
        Instruction(Op.SET, rd=2, imm=31),
        Instruction(Op.ADDI, rd=2, ra=2, imm=P - 1),
        Instruction(Op.MULI, rd=3, ra=2, imm=P - 1),
        Instruction(Op.SUBI, rd=3, ra=3, imm=P - 16),
        Instruction(Op.JNZ, ra=0, target=6),
        Instruction(Op.JMP, target=0),
        Instruction(Op.HALT),
    )
    assert program.source_lines[0] == "top: SET w, 0x1F"


def test_register_numbering_inputs_then_first_appearance() -> None:
    program = assemble(".output z\n add z, y, x\n mov y, w\n .input w\n halt")
    assert program.registers == ("w", "z", "y", "x")


def test_registers_directive_pins_order() -> None:
    program = assemble(".input i\n.registers b, unused\n.output a\n set a, 1\n mov b, a\n halt")
    assert program.registers == ("i", "b", "unused", "a")


def test_every_instruction_form() -> None:
    source = """
        .input a
        .output d
        set d, 5
        mov d, a
        add d, a, d
        sub d, a, d
        mul d, a, d
        addi d, a, 1
        subi d, a, 1
        muli d, a, 2
        inv d, a
        assert_zero b
        assert_eq a, a
        jmp x
        x: jz b, y
        y: jnz b, z
        z: jmp v2
        halt
        v2: load d, [a + 1]
        load d, [3]
        store [a - 1], d
        store [0x10], d
        read d
        write d
        halt
    """
    program = assemble(source)
    ops = [ins.op for ins in program.instructions]
    assert ops[:14] + ops[15:-1] == list(Op)  # ops[14] is the jmp to v2
    assert program.format == 2 and not program.fits_register_air
    assert program.instructions[-7:-1] == (
        Instruction(Op.LOAD, rd=1, ra=0, imm=1),
        Instruction(Op.LOAD_ABS, rd=1, imm=3),
        Instruction(Op.STORE, ra=0, rb=1, imm=P - 1),
        Instruction(Op.STORE_ABS, rb=1, imm=16),
        Instruction(Op.READ, rd=1),
        Instruction(Op.WRITE, ra=1),
    )
    assert assemble(str(program)) == program
    assert [line.split(":")[-1].strip() for line in str(program).splitlines()[-7:-1]] == [
        "load d, [a + 1]",
        "load d, [3]",
        "store [a - 1], d",
        "store [16], d",
        "read d",
        "write d",
    ]


@pytest.mark.parametrize("text", [str(P - 1), f"-{P - 1}", hex(P - 1), "0", "-0", "0x0"], ids=str)
def test_immediate_range_accepted(text: str) -> None:
    program = assemble(f"set a, {text}\nhalt")
    assert program.instructions[0].imm == int(text, 0) % P


@given(program_sources())
def test_generated_sources_round_trip(source: str) -> None:
    program = assemble(source)
    assert assemble(str(program)) == program


def _program_of(n: int) -> str:
    return "\n".join(["set a, 1"] * (n - 1) + ["halt"])


CASES = [
    # (source, line, column, fragments that must all appear in the message)
    ("adx a, b, c\nhalt", 1, 1, ["unknown instruction 'adx'", "did you mean 'add'"]),
    ("  halt\n  jnp a, x\nx: halt", 2, 3, ["unknown instruction 'jnp'", "did you mean"]),
    ("qqq a\nhalt", 1, 1, ["unknown instruction 'qqq'", "expected one of"]),
    ("jmp nowhere\nhalt", 1, 5, ["undefined label 'nowhere'"]),
    ("loop: halt\njz a, lopo", 2, 7, ["undefined label 'lopo'", "did you mean 'loop'"]),
    ("x: set a, 1\nx: halt", 2, 1, ["duplicate label 'x'", "line 1"]),
    ("9x: halt", 1, 1, ["bad label name '9x'"]),
    ("end:\n", 1, 1, ["label 'end' marks no instruction"]),
    ("add a, b\nhalt", 1, 1, ["add expects rd, ra, rb", "got 2 operands"]),
    ("halt a", 1, 6, ["halt takes no operands", "got 1 operand"]),
    ("set a, 1, 2\nhalt", 1, 11, ["set expects rd, imm", "got 3"]),
    ("jz a\nhalt", 1, 1, ["jz expects ra, label"]),
    ("assert_eq a\nhalt", 1, 1, ["assert_eq expects ra, rb"]),
    ("mov 1a, b\nhalt", 1, 5, ["mov expects a register for rd", "'1a'"]),
    ("add a, 5, b\nhalt", 1, 8, ["add expects a register for ra", "for an immediate use addi"]),
    ("set a, b\nhalt", 1, 8, ["set expects an immediate", "to use a register write mov"]),
    ("addi a, a, 1.5\nhalt", 1, 12, ["addi expects an immediate", "'1.5'"]),
    (f"set a, {P}\nhalt", 1, 8, ["out of range", "[-(p-1), p-1]"]),
    (f"set a, -{P}\nhalt", 1, 8, ["out of range"]),
    ("set a, 0x" + "f" * 17 + "\nhalt", 1, 8, ["out of range"]),
    ("jmp 3\nhalt", 1, 5, ["jmp expects a label as its target", "'3'"]),
    ("set a,, 1\nhalt", 1, 7, ["empty operand"]),
    ("set a 1\nhalt", 1, 7, ["expected ',' between operands"]),
    (".output q\nset a, 1\nhalt", 1, 9, ["output register 'q' is never written"]),
    (".output a, b\nset a, 1\nmov a, b\nhalt", 1, 12, ["output register 'b' is never written"]),
    ("set a, 1\n\n", 1, 1, ["no halt instruction"]),
    ("halt\nset a, 1", 2, 1, ["fall off the end", "halt or jmp"]),
    ("; nothing\n", 1, 1, ["no instructions", "halt"]),
    (".inputs a\nhalt", 1, 1, ["unknown directive '.inputs'", "did you mean '.input'"]),
    (".input\nhalt", 1, 1, [".input expects one or more register names"]),
    (".input a, a\nhalt", 1, 11, ["input 'a' is declared twice"]),
    (".input a\n.registers a\nhalt", 2, 12, ["'a' is an input"]),
    (".output 1x\nhalt", 1, 9, ["expected a register", "'1x'"]),
    ("set " + "r" * 33 + ", 1\nhalt", 1, 5, ["33 characters", "limit is 32"]),
    # Addresses (load/store, protocol.md 12): what is wrong, and what to write instead.
    ("load x, y\nhalt", 1, 9, ["load expects an address in brackets", "load rd, [y]"]),
    ("load [a], x\nhalt", 1, 6, ["load rd, [address]", "did you mean 'load x, [a]'"]),
    ("store x, [a]\nhalt", 1, 7, ["store [address], rb", "did you mean 'store [a], x'"]),
    ("load x\nhalt", 1, 1, ["load is written load rd, [address]", "got 1 operand"]),
    ("store [a], x, y\nhalt", 1, 15, ["store is written store [address], rb", "got 3"]),
    ("load x, [a + b]\nhalt", 1, 14, ["must be an immediate", "add t, a, b", "[t]"]),
    ("load x, [3 + a]\nhalt", 1, 10, ["the register comes first", "[a + 3]"]),
    ("load x, [3 + 4]\nhalt", 1, 10, ["the register comes first", "one number, [imm]"]),
    ("load x, [a * 2]\nhalt", 1, 10, ["bad address '[a * 2]'", "[register + imm]"]),
    ("load x, [a\nhalt", 1, 11, ["missing ']'"]),
    ("load x, []\nhalt", 1, 9, ["empty address", "[imm]"]),
    ("load x, [a +]\nhalt", 1, 12, ["missing offset after '+'"]),
    ("load x, [a - 1 - 2]\nhalt", 1, 14, ["one offset", "'1 - 2'"]),
    ("load x, [a] y\nhalt", 1, 13, ["expected ',' after the address '[a]'"]),
    ("load x, a[1]\nhalt", 1, 10, ["unexpected '['", "whole operand"]),
    ("load x, [[a]]\nhalt", 1, 10, ["do not nest"]),
    ("load x, [a + 1.5]\nhalt", 1, 14, ["expects an immediate", "'1.5'"]),
    (f"load x, [{P}]\nhalt", 1, 10, ["out of range"]),
    ("add x, [a], b\nhalt", 1, 8, ["add takes no address", "only load and store"]),
    ("load 5, [a]\nhalt", 1, 6, ["load expects a register for rd", "'5'"]),
    ("store [a], 5\nhalt", 1, 12, ["store expects a register for rb"]),
    ("read\nhalt", 1, 1, ["read expects rd", "got 0"]),
    ("write a, b\nhalt", 1, 10, ["write expects ra", "got 2"]),
    (_program_of(65_537), 65_537, 1, ["too many instructions", "limit is 65536"]),
    (
        ".input " + ", ".join(f"i{k}" for k in range(257)) + "\nhalt",
        1,
        8 + sum(len(f"i{k}, ") for k in range(256)),
        ["too many inputs", "limit is 256"],
    ),
    (
        ".output " + ", ".join(["a"] * 257) + "\nset a, 1\nhalt",
        1,
        9 + 3 * 256,
        ["too many outputs", "limit is 256"],
    ),
    (
        "\n".join(f"set r{k}, 1" for k in range(257)) + "\nhalt",
        257,
        5,
        ["too many registers", "'r256'", "limit is 256"],
    ),
]


@pytest.mark.parametrize(("source", "line", "column", "fragments"), CASES)
def test_errors(source: str, line: int, column: int, fragments: list[str]) -> None:
    with pytest.raises(AssemblyError) as info:
        assemble(source)
    error = info.value
    assert (error.line, error.column) == (line, column), str(error)
    for fragment in fragments:
        assert fragment in error.message, error.message
    lines = source.splitlines()
    expected_source = lines[line - 1] if line <= len(lines) else ""
    assert error.source_line == expected_source
    if expected_source:
        assert str(error).splitlines()[-1].index("^") == 4 + column - 1


@pytest.mark.parametrize(
    ("text", "op", "base", "imm"),
    [
        ("[b]", Op.LOAD, 1, 0),
        ("[ b ]", Op.LOAD, 1, 0),
        ("[b + 4]", Op.LOAD, 1, 4),
        ("[b+4]", Op.LOAD, 1, 4),
        ("[b - 4]", Op.LOAD, 1, P - 4),
        ("[b - 0]", Op.LOAD, 1, 0),
        ("[b + -4]", Op.LOAD, 1, P - 4),
        ("[b - -4]", Op.LOAD, 1, 4),
        ("[b + 0xff]", Op.LOAD, 1, 255),
        ("[7]", Op.LOAD_ABS, 0, 7),
        ("[0x10]", Op.LOAD_ABS, 0, 16),
        (f"[{2**32 - 1}]", Op.LOAD_ABS, 0, 2**32 - 1),
        ("[-1]", Op.LOAD_ABS, 0, P - 1),  # accepted; the run fails on the address
    ],
)
def test_address_forms(text: str, op: Op, base: int, imm: int) -> None:
    load = assemble(f".input x, b\nload x, {text}\nhalt").instructions[0]
    assert load == Instruction(op, rd=0, ra=base, imm=imm)
    store = assemble(f".input x, b\nstore {text}, x\nhalt").instructions[0]
    stored = Op.STORE if op is Op.LOAD else Op.STORE_ABS
    assert store == Instruction(stored, ra=base, rb=0, imm=imm)


def test_limits_exactly_at_the_limit_are_fine() -> None:
    assert len(assemble(_program_of(65_536)).instructions) == 65_536
    regs = assemble("\n".join(f"set r{k}, 1" for k in range(256)) + "\nhalt")
    assert len(regs.registers) == 256
    inputs = assemble(".input " + ", ".join(f"i{k}" for k in range(256)) + "\nhalt")
    assert inputs.n_inputs == 256
    outputs = assemble(".output " + ", ".join(["a"] * 256) + "\nset a, 1\nhalt")
    assert len(outputs.output_registers) == 256


@pytest.mark.parametrize(
    ("source", "fits"),
    [
        (_program_of(128), True),
        (_program_of(129), False),
        ("\n".join(f"set r{k}, 1" for k in range(64)) + "\nhalt", True),
        ("\n".join(f"set r{k}, 1" for k in range(65)) + "\nhalt", False),
        (".input " + ", ".join(f"i{k}" for k in range(16)) + "\nhalt", True),
        (".input " + ", ".join(f"i{k}" for k in range(17)) + "\nhalt", False),
        (".output " + ", ".join(["a"] * 16) + "\nset a, 1\nhalt", True),
        (".output " + ", ".join(["a"] * 17) + "\nset a, 1\nhalt", False),
        ("read a\nhalt", False),
        ("write a\nhalt", False),
        ("load a, [7]\nhalt", False),
        ("store [a], a\nhalt", False),
    ],
    ids=[
        *("128 ins", "129 ins", "64 regs", "65 regs", "16 in", "17 in", "16 out", "17 out"),
        *("read", "write", "load", "store"),
    ],
)
def test_beyond_the_v1_limits_or_set_is_a_format_2_program(source: str, fits: bool) -> None:
    program = assemble(source)
    assert program.fits_register_air is fits
    assert program.format == (1 if fits else 2) == program.to_bytes()[4]


def test_error_is_a_value_error_with_readable_text() -> None:
    with pytest.raises(ValueError, match=r"line 1, column 1: unknown instruction"):
        assemble("nop\nhalt")


def test_program_equality_ignores_source_text() -> None:
    a = assemble("set x, 1 ; one\nhalt")
    b = assemble("   set   x,1\n   halt   # end")
    assert a == b and a.source_lines != b.source_lines
    assert isinstance(a, Program)
