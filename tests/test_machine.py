"""The native machine (ext/machine.c): program formats 1 and 2 and execution with RAM
and the public streams. Format-1 programs are compared with the Python interpreter;
format-2 programs are built by hand (tests/machine_bytes.py) with their results worked
out from protocol.md 12."""

from __future__ import annotations

from array import array

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from machine_bytes import (
    HALT,
    JMP,
    JNZ,
    LOAD,
    LOAD_ABS,
    READ,
    STORE_ABS,
    WRITE,
    format2,
    ins,
    sum_stream,
)

from zkactors import programs
from zkactors._native import executor as native
from zkactors.errors import ExecutionError, ProgramFormatError
from zkactors.zkvm import interpreter
from zkactors.zkvm.assembler import assemble
from zkactors.zkvm.execute import execute
from zkactors.zkvm.isa import P
from zkactors.zkvm.program import Program

LIBRARY = [("fib", [7]), ("factorial", [5]), ("horner", [11]), ("mimc", [3, 17]), ("power", [5, 4])]


def run(
    data: bytes, inputs: list[int], max_cycles: int = 10_000
) -> tuple[int, list[int], int, int, int]:
    return native.MachineProgram(data).run(array("Q", inputs), max_cycles)


@pytest.mark.parametrize(("name", "inputs"), LIBRARY)
def test_format1_programs_run_as_the_interpreter(name: str, inputs: list[int]) -> None:
    program = programs.load(name)
    inputs = inputs[: program.n_inputs]
    machine = native.MachineProgram(program.to_bytes())
    assert machine.format == 1
    code, outputs, cycles, _, _ = machine.run(array("Q", inputs), 10**6)
    assert code == native.OK
    assert (tuple(outputs), cycles) == interpreter.run(program, inputs)


def test_format2_memory_and_streams() -> None:
    data = sum_stream()
    stream = [5, 11, P - 2]
    code, outputs, cycles, _, _ = run(data, [3, *stream])
    assert code == native.OK
    assert outputs == [sum(stream) % P] + [2 * x % P for x in stream]
    assert native.MachineProgram(data).format == 2
    # 1 + 5 per element read, 2 + 7 per element written, 3 at the end.
    assert cycles == 1 + 5 * 3 + 2 + 7 * 3 + 3


def test_stream_errors() -> None:
    data = sum_stream()
    code, _, _, fail_pc, _ = run(data, [3, 1, 2])
    assert (code, fail_pc) == (native.READ_PAST_END, 1)
    code, _, _, fail_pc, left = run(data, [3, 1, 2, 3, 4, 5])
    assert (code, fail_pc, left) == (native.INPUTS_LEFT, 17, 2)
    with pytest.raises(ValueError, match="inputs"):
        native.MachineProgram(data).run(array("Q", []), 100)


def test_bad_address() -> None:
    regs = [f"r{k}" for k in range(65)]
    ok = format2(regs, 1, [1], [ins(LOAD, rd=1, ra=0, imm=1), ins(HALT)])
    assert run(ok, [2**32 - 2])[0] == native.OK
    assert run(ok, [2**32 - 1])[:1] == (native.BAD_ADDRESS,)
    assert run(ok, [P - 1])[0] == native.OK  # -1 + 1 = 0 in F
    assert run(ok, [P - 2])[0] == native.BAD_ADDRESS
    code, _, cycles, fail_pc, address = run(ok, [2**40])
    assert (code, cycles, fail_pc, address) == (native.BAD_ADDRESS, 1, 0, 2**40 + 1)


def test_unwritten_memory_reads_zero_and_store_then_load() -> None:
    regs = [f"r{k}" for k in range(65)]
    data = format2(
        regs,
        1,
        [1, 2],
        [
            ins(LOAD_ABS, rd=1, imm=2**32 - 1),
            ins(STORE_ABS, rb=0, imm=2**32 - 1),
            ins(LOAD, rd=2, ra=1, imm=2**32 - 1),
            ins(HALT),
        ],
    )
    assert run(data, [42]) == (native.OK, [0, 42], 4, 3, 0)


def test_too_many_outputs() -> None:
    regs = [f"r{k}" for k in range(65)]
    data = format2(regs, 0, [], [ins(WRITE, ra=0), ins(JMP, target=0), ins(HALT)])
    code, _, cycles, fail_pc, _ = run(data, [], max_cycles=10**6)
    assert (code, cycles, fail_pc) == (native.TOO_MANY_OUTPUTS, 2 * native.MAX_IO + 1, 0)


def test_decode_rejects() -> None:
    regs = [f"r{k}" for k in range(65)]
    good = format2(regs, 0, [], [ins(HALT)])
    native.MachineProgram(good)
    bad = [
        good + b"\0",  # trailing byte
        format2(regs[:64], 0, [], [ins(HALT)]),  # format 1 can encode it
        format2(regs[:3], 0, [], [ins(READ, rd=1), ins(HALT)])[:-1],  # short
        format2(regs, 0, [], [ins(22), ins(HALT)]),  # unknown op
        format2(regs, 0, [], [ins(READ, rd=1, imm=1), ins(HALT)]),  # unused field
        format2(regs, 0, [], [ins(STORE_ABS, rd=1, rb=1), ins(HALT)]),  # unused rd
        format2(regs, 0, [], [ins(LOAD_ABS, rd=1, imm=P), ins(HALT)]),  # imm >= p
        format2(regs, 0, [], [ins(JNZ, ra=1, target=2), ins(HALT)]),  # target
        format2(regs, 0, [], [ins(WRITE, ra=65), ins(HALT)]),  # register
        format2(regs, 0, [], [ins(WRITE, ra=1)]),  # falls off the end
        format2(regs, 0, [3], [ins(HALT)]),  # output never written
        format2(regs, 66, [], [ins(HALT)]),  # more inputs than registers
        format2([*regs[:-1], "r0"], 0, [], [ins(HALT)]),  # duplicate name
    ]
    for data in bad:
        with pytest.raises(ValueError):
            native.MachineProgram(data)
    # Few registers but a v2 op: format 2 is the only encoding.
    small = format2(regs[:3], 0, [1], [ins(READ, rd=1), ins(HALT)])
    assert native.MachineProgram(small).format == 2
    assert run(small, [9]) == (native.OK, [9], 2, 1, 0)


# ---- execute() runs every program natively, as the interpreter does ----

V2_CASES = [
    # (source, inputs)
    (
        ".input a, v\n.output x, y\nload x, [a + 3]\nstore [a + 3], v\nload y, [a + 3]\nhalt",
        [10, 77],
    ),
    (".input a\n.output x\nset v, 5\nstore [a + 1], v\nload x, [0]\nhalt", [P - 1]),
    (
        ".input n\n.output s\nloop: jz n, done\nread x\nadd s, s, x\nwrite s\nsubi n, n, 1\n"
        "jmp loop\ndone: halt",
        [3, 4, 5, 6],
    ),
    (".input a\n.output x\nset x, 1\nload x, [a]\nhalt", [2**32]),
    (".input a\n.output x\nset x, 1\nstore [a - 1], a\nhalt", [0]),
    (".output x\nstore [4294967295], x\nload x, [4294967295]\nhalt", []),
    (".output x\nread x\nhalt", []),
    (".output x\nread x\nhalt", [1, 2]),
    (
        ".input n\n.output n\nloop: jz n, done\nread x\nsubi n, n, 1\njmp loop\ndone: halt",
        [2, 1, 2],
    ),
    (".output x\nset x, 1\nloop: write x\njmp loop\nhalt", []),
]


@pytest.mark.parametrize(("source", "inputs"), V2_CASES)
def test_execute_agrees_with_the_interpreter(source: str, inputs: list[int]) -> None:
    program = assemble(source)
    try:
        expected = interpreter.run(program, inputs, max_cycles=300_000)
    except ExecutionError as exc:
        with pytest.raises(ExecutionError) as info:
            execute(program, inputs, max_cycles=300_000)
        assert (str(info.value), info.value.pc) == (str(exc), exc.pc)
        assert type(info.value) is type(exc)
        return
    result = execute(program, inputs, max_cycles=300_000)
    assert (result.outputs, result.cycles) == expected
    if not program.fits_register_air:
        assert result.trace_length == max(256, 1 << expected[1].bit_length())


MEMORY_OPS = st.sampled_from(
    [
        "load x, [a + 1]",
        "store [a + 1], y",
        "load y, [7]",
        "store [7], x",
        "read x",
        "write y",
        "add y, x, y",
        "addi a, a, 1",
        "subi a, a, 2",
        "jz y, 0",
    ]
)


@settings(max_examples=40, deadline=None)
@given(st.lists(MEMORY_OPS, min_size=1, max_size=12), st.lists(st.integers(0, 9), max_size=6))
def test_random_machine_programs_agree(body: list[str], stream: list[int]) -> None:
    lines = [line.replace("jz y, 0", "jz y, top") for line in body]
    source = ".input a\n.output x, y\ntop: set x, 0\nset y, 1\n" + "\n".join(lines) + "\nhalt\n"
    program = assemble(source)
    inputs = [3, *stream] if program.reads_stream else [3]
    try:
        expected = interpreter.run(program, inputs, max_cycles=500)
    except ExecutionError as exc:
        with pytest.raises(ExecutionError) as info:
            execute(program, inputs, max_cycles=500)
        assert str(info.value) == str(exc)
        return
    result = execute(program, inputs, max_cycles=500)
    assert (result.outputs, result.cycles) == expected


def _python_accepts(data: bytes) -> bool:
    try:
        Program.from_bytes(data)
    except ProgramFormatError:
        return False
    return True


def _native_accepts(data: bytes) -> bool:
    try:
        native.MachineProgram(data)
    except ValueError:
        return False
    return True


SEEDS = [
    sum_stream(),
    format2([f"r{k}" for k in range(3)], 1, [1, 1], [ins(READ, rd=1), ins(WRITE, ra=0), ins(HALT)]),
    programs.load("fib").to_bytes(),
]


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(SEEDS),
    st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), min_size=1, max_size=3),
    st.integers(-2, 2),
)
def test_native_decoder_accepts_what_program_from_bytes_accepts(
    seed: bytes, edits: list[tuple[int, int]], resize: int
) -> None:
    """Mutated program bytes: the native decoder (format 1 and 2) and Program.from_bytes
    accept exactly the same ones."""
    data = bytearray(seed)
    for position, value in edits:
        data[position % len(data)] = value
    if resize > 0:
        data += bytes(resize)
    elif resize < 0:
        del data[resize:]
    assert _native_accepts(bytes(data)) == _python_accepts(bytes(data))
