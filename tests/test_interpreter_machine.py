"""The interpreter's instruction set v2 (protocol.md 12): memory, the public streams and
every way a run of them fails, against a tiny independent model where it helps."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zkactors.errors import ExecutionError, InputError
from zkactors.zkvm import interpreter
from zkactors.zkvm.assembler import assemble
from zkactors.zkvm.isa import MAX_PUBLIC_INPUTS, MAX_PUBLIC_OUTPUTS, P


def test_memory_starts_at_zero_and_keeps_what_is_stored() -> None:
    program = assemble(
        """
        .input a, v
        .output x, y, z
            load x, [a + 3]        ; never written: 0
            store [a + 3], v
            load y, [a + 3]
            addi b, a, 3
            load z, [b]            ; the same address through another base
            halt
        """
    )
    assert interpreter.run(program, [10, 77]) == ((0, 77, 77), 6)


def test_addresses_are_computed_in_the_field() -> None:
    program = assemble(
        """
        .input a
        .output x
            set v, 5
            store [a + 1], v       ; a = p - 1: the address is 0
            load x, [0]
            halt
        """
    )
    assert interpreter.run(program, [P - 1]) == ((5,), 4)
    top = assemble(".input a\n.output x\nstore [a - 1], a\nload x, [4294967295]\nhalt")
    assert interpreter.run(top, [2**32]) == ((2**32,), 3)


@pytest.mark.parametrize(
    ("source", "inputs", "address"),
    [
        ("load x, [a]", [2**32], 2**32),
        ("load x, [a - 1]", [0], P - 1),
        ("store [a + 4294967295], a", [1], 2**32),
        (f"load x, [{2**32}]", [0], 2**32),
        ("store [-1], a", [0], P - 1),
    ],
)
def test_an_address_outside_2_to_the_32_fails(source: str, inputs: list[int], address: int) -> None:
    program = assemble(f".input a\n    set x, 1\n    {source}\n    halt\n")
    with pytest.raises(ExecutionError) as info:
        interpreter.run(program, inputs)
    error = info.value
    assert error.pc == 1 and error.source_line == source
    assert str(address) in str(error) and "pc 1" in str(error) and "2^32" in str(error)


def test_streams_read_in_order_and_written_after_the_output_registers() -> None:
    program = assemble(
        """
        .input k
        .output k, s
            read x
            read y
            add s, x, y
            write y
            write s
            write k
            halt
        """
    )
    assert interpreter.run(program, [9, 4, 5]) == ((9, 9, 5, 9, 9), 7)
    steps = list(interpreter.steps(program, [9, 4, 5]))
    assert [(s.reads_before, s.writes_before) for s in steps] == [
        (0, 0),
        (1, 0),
        (2, 0),
        (2, 0),
        (2, 1),
        (2, 2),
        (2, 3),
    ]


def test_reading_past_the_end_fails() -> None:
    program = assemble("read x\nread y\nhalt")
    with pytest.raises(ExecutionError, match="read past the end") as info:
        interpreter.run(program, [7])
    assert info.value.pc == 1 and info.value.source_line == "read y"


def test_halting_with_stream_inputs_unread_fails_saying_how_many() -> None:
    program = assemble(".input n\nread x\nhalt")
    assert interpreter.run(program, [1, 2]) == ((), 2)
    with pytest.raises(ExecutionError, match="with 2 stream inputs unread") as info:
        interpreter.run(program, [1, 2, 3, 4])
    assert info.value.pc == 1
    with pytest.raises(ExecutionError, match="with 1 stream input unread"):
        list(interpreter.steps(program, [1, 2, 3]))


def test_a_program_without_read_takes_exactly_its_inputs() -> None:
    program = assemble(".input a\nhalt")
    with pytest.raises(InputError, match="expected 1 input"):
        interpreter.run(program, [1, 2])


def test_a_program_with_read_takes_between_its_inputs_and_2_to_the_16() -> None:
    program = assemble(".input a, b\njz a, end\nread x\nend: halt")
    assert interpreter.run(program, [0, 1]) == ((), 2)
    with pytest.raises(InputError, match="at least 2 inputs"):
        program.check_inputs([1])
    assert len(program.check_inputs([1] * MAX_PUBLIC_INPUTS)) == MAX_PUBLIC_INPUTS
    with pytest.raises(InputError, match=f"at most {MAX_PUBLIC_INPUTS} in all, got 65537 or more"):
        program.check_inputs(iter(lambda: 1, None))  # endless: must not hang
    with pytest.raises(InputError, match=r"stream input 0\) must be an int in \[0, p\)"):
        program.check_inputs([1, 2, P])


def test_more_than_2_to_the_16_outputs_fail() -> None:
    # One .output entry, then writes in a loop: the write making 2^16 + 1 outputs fails.
    source = """
    .output k
        set k, {n}
    top:
        write k
        subi k, k, 1
        jnz k, top
        halt
    """
    fits = assemble(source.format(n=MAX_PUBLIC_OUTPUTS - 1))
    outputs, _ = interpreter.run(fits, [])
    assert len(outputs) == MAX_PUBLIC_OUTPUTS and outputs[1] == MAX_PUBLIC_OUTPUTS - 1
    over = assemble(source.format(n=MAX_PUBLIC_OUTPUTS))
    with pytest.raises(ExecutionError, match="too many outputs") as info:
        interpreter.run(over, [])
    assert info.value.pc == 1


def test_the_register_air_trace_needs_a_program_that_fits_it() -> None:
    with pytest.raises(ValueError, match="machine AIR"):
        interpreter.trace(assemble("read x\nhalt"), [1])


# ---- against a tiny model: random straight-line memory and stream programs ----

_REGISTERS = ("r0", "r1", "r2")
_ADDRESSES = st.one_of(st.integers(0, 3), st.sampled_from((2**32 - 1, 2**31, 1000)))


def _op() -> st.SearchStrategy[tuple]:
    reg = st.sampled_from(_REGISTERS)
    return st.one_of(
        st.tuples(st.just("store_abs"), _ADDRESSES, reg),
        st.tuples(st.just("load_abs"), reg, _ADDRESSES),
        st.tuples(st.just("store"), st.integers(-3, 3), reg),  # [base + offset], base = 8
        st.tuples(st.just("load"), reg, st.integers(-3, 3)),
        st.tuples(st.just("read"), reg),
        st.tuples(st.just("write"), reg),
        st.tuples(st.just("addi"), reg, st.integers(0, P - 1)),
    )


def _source(ops: list[tuple]) -> str:
    lines = [".input base", ".output r0", "set r0, 0"]
    for op in ops:
        if op[0] == "store_abs":
            lines.append(f"store [{op[1]}], {op[2]}")
        elif op[0] == "load_abs":
            lines.append(f"load {op[1]}, [{op[2]}]")
        elif op[0] == "store":
            sign = "-" if op[1] < 0 else "+"
            lines.append(f"store [base {sign} {abs(op[1])}], {op[2]}")
        elif op[0] == "load":
            sign = "-" if op[2] < 0 else "+"
            lines.append(f"load {op[1]}, [base {sign} {abs(op[2])}]")
        elif op[0] == "read":
            lines.append(f"read {op[1]}")
        elif op[0] == "write":
            lines.append(f"write {op[1]}")
        else:
            lines.append(f"addi {op[1]}, {op[1]}, {op[2]}")
    return "\n".join([*lines, "halt"]) + "\n"


def _model(ops: list[tuple], stream: list[int]) -> tuple[int, ...]:
    """What the run outputs, computed without the interpreter: r0 at halt, then writes."""
    base = 8
    regs = dict.fromkeys(_REGISTERS, 0)
    memory: dict[int, int] = {}
    written = []
    pending = list(stream)
    for op in ops:
        kind = op[0]
        if kind == "store_abs":
            memory[op[1]] = regs[op[2]]
        elif kind == "load_abs":
            regs[op[1]] = memory.get(op[2], 0)
        elif kind == "store":
            memory[base + op[1]] = regs[op[2]]
        elif kind == "load":
            regs[op[1]] = memory.get(base + op[2], 0)
        elif kind == "read":
            regs[op[1]] = pending.pop(0)
        elif kind == "write":
            written.append(regs[op[1]])
        else:
            regs[op[1]] = (regs[op[1]] + op[2]) % P
    return (regs["r0"], *written)


@settings(max_examples=150, deadline=None)
@given(st.lists(_op(), max_size=40), st.data())
def test_straight_line_programs_match_the_model(ops: list[tuple], data: st.DataObject) -> None:
    reads = sum(op[0] == "read" for op in ops)
    stream = data.draw(st.lists(st.integers(0, P - 1), min_size=reads, max_size=reads))
    program = assemble(_source(ops))
    outputs, cycles = interpreter.run(program, [8, *stream])
    assert outputs == _model(ops, stream)
    assert cycles == len(ops) + 2
    steps = list(interpreter.steps(program, [8, *stream]))
    assert len(steps) == cycles and steps[-1].next_pc == steps[-1].pc
    for step in steps:
        if step.instruction.op.is_memory:
            assert step.address is not None and 0 <= step.address < 2**32
            if step.instruction.op.writes:  # a load reads memory and leaves it alone
                assert step.memory_before == step.memory_after == step.rd_after
            else:
                assert step.memory_after == step.b
        else:
            assert step.address is None
