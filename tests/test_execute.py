"""The native executor agrees with the Python oracle, and fails the way it documents."""

from __future__ import annotations

import threading
from array import array

import pytest
from hypothesis import given
from hypothesis import strategies as st
from zkvm_strategies import field_elements, fits_register_air, programs_with_inputs

from zkactors._native.executor import TRACE_TOO_SHORT, NativeProgram
from zkactors.errors import CycleLimitExceeded, ExecutionError, InputError
from zkactors.zkvm import interpreter
from zkactors.zkvm.assembler import assemble
from zkactors.zkvm.execute import (
    Execution,
    execute,
    execution_trace,
    machine_trace_length,
    trace_length,
)
from zkactors.zkvm.isa import P

FIB = assemble(
    """
    .input  n
    .output a
            set  a, 0
            set  b, 1
    loop:   jz   n, done
            add  t, a, b
            mov  a, b
            mov  b, t
            subi n, n, 1
            jmp  loop
    done:   halt
    """
)


def _outcome(fn, *args):  # type: ignore[no-untyped-def]
    """fn's result, or the (type, pc, message) of the ZkActorsError it raised."""
    try:
        return fn(*args)
    except (ExecutionError, InputError) as exc:
        return type(exc), getattr(exc, "pc", None), str(exc)


@given(programs_with_inputs())
def test_native_run_matches_interpreter(case: tuple) -> None:
    program, inputs = case
    native = _outcome(lambda: (lambda e: (e.outputs, e.cycles))(execute(program, inputs)))
    oracle = _outcome(interpreter.run, program, inputs)
    assert native == oracle


@given(programs_with_inputs().filter(fits_register_air))  # the register AIR's trace
def test_native_trace_matches_interpreter(case: tuple) -> None:
    program, inputs = case
    native = _outcome(lambda: [list(c) for c in execution_trace(program, inputs)])
    oracle = _outcome(interpreter.trace, program, inputs)
    assert native == oracle


@given(programs_with_inputs(failing=False).filter(fits_register_air))  # the register AIR's trace
def test_trace_shape_and_invariants(case: tuple) -> None:
    program, inputs = case
    result = execute(program, inputs)
    columns = execution_trace(program, inputs)
    length = trace_length(result.cycles)  # AIR 1's T, whichever AIR proves the run
    R, n_ins = len(program.registers), len(program.instructions)
    assert len(columns) == program.trace_width
    assert all(len(c) == length for c in columns)
    assert length == max(8, 1 << result.cycles.bit_length())  # next pow2 >= cycles + 1
    for row in range(length):
        assert sum(columns[R + k][row] for k in range(n_ins)) == 1  # one-hot selectors
    assert [columns[r][0] for r in range(program.n_inputs)] == list(inputs)
    assert all(columns[r][0] == 0 for r in range(program.n_inputs, R))
    assert columns[R][0] == 1
    last = [c[length - 1] for c in columns]
    assert tuple(last[r] for r in program.output_registers) == result.outputs
    halts = [k for k, ins in enumerate(program.instructions) if ins.op.name == "HALT"]
    assert sum(last[R + k] for k in halts) == 1
    for j, k in enumerate(program.branch_indices):
        tested, helper = columns[program.instructions[k].ra], columns[R + n_ins + j]
        assert all((a * h) % P == (1 if a else 0) for a, h in zip(tested, helper, strict=True))


def test_fib_values_and_cycles() -> None:
    result = execute(FIB, [10])
    assert result == Execution(
        outputs=(55,), cycles=64, trace_length=128, program_hash=FIB.hash, air=1
    )
    assert execute(FIB, [0]).cycles == 4
    assert execute(FIB, [0]).trace_length == 8


@pytest.mark.parametrize(
    ("cycles", "length"),
    [(0, 8), (7, 8), (8, 16), (15, 16), (16, 32), (1000, 1024), (1023, 1024), (1024, 2048)],
)
def test_trace_length(cycles: int, length: int) -> None:
    assert trace_length(cycles) == length == interpreter.trace_length(cycles)


WIDE = assemble(
    # 60 registers, 63 instructions: w_1 = 124, so w_1 + 6 > 95 and the cycle count decides.
    ".input n\n.output r0\n"
    + "".join(f"        set r{k}, {k}\n" for k in range(59))
    + "loop:   subi n, n, 1\n        jnz n, loop\n        halt\n"
)


@pytest.mark.parametrize(("n", "air"), [(2, 1), (60, 2)])
def test_execution_names_the_air_prove_uses(n: int, air: int) -> None:
    """One rule for the AIR: a wide format-1 program whose run is long enough is proved
    under AIR 2, and execute() reports AIR 2 and AIR 2's T for it, as prove() does."""
    from zkactors.zkvm.prover import prove_with_stats

    assert WIDE.format == 1 and WIDE.trace_width + 6 > 95
    result = execute(WIDE, [n])
    assert result.air == air
    cycles = result.cycles
    expected = trace_length(cycles) if air == 1 else machine_trace_length(WIDE, cycles)
    assert result.trace_length == expected
    receipt, stats = prove_with_stats(WIDE, [n], profile="test")
    assert (stats.air, stats.trace_length) == (receipt.air, receipt.trace_length)
    assert (stats.air, stats.trace_length) == (result.air, result.trace_length)


def test_every_format_2_program_runs_under_air_2() -> None:
    from zkactors import programs

    result = execute(programs.load("sum_array"), [3, 1, 2, 3])
    assert (result.outputs, result.air, result.trace_length) == ((6,), 2, 256)


def test_execute_is_deterministic_across_calls() -> None:
    assert execute(FIB, [1000]) == execute(FIB, [1000])


@pytest.mark.parametrize(
    ("inputs", "fragment"),
    [
        ([-1], "input 'n' must be an int in [0, p), got -1"),
        ([P], f"input 'n' must be an int in [0, p), got {P}"),
        ([True], "got True"),
        ([1.0], "got 1.0"),
        (["3"], "got '3'"),
        ([], "expected 1 input (n), got 0"),
        ([1, 2], "expected 1 input (n), got 2"),
    ],
)
def test_bad_inputs(inputs: list, fragment: str) -> None:
    with pytest.raises(InputError) as info:
        execute(FIB, inputs)
    assert fragment in str(info.value)
    with pytest.raises(InputError):
        interpreter.run(FIB, inputs)


def test_cycle_limit() -> None:
    with pytest.raises(ExecutionError, match=r"did not halt within 50 cycles.*max_cycles") as info:
        execute(FIB, [100], max_cycles=50)
    assert info.value.pc is None
    assert isinstance(info.value, CycleLimitExceeded) and info.value.max_cycles == 50
    assert "--" not in str(info.value)  # a command line adds its own flag
    # Exactly enough cycles is enough: fib(10) takes 64.
    assert execute(FIB, [10], max_cycles=64).cycles == 64
    with pytest.raises(ExecutionError):
        execute(FIB, [10], max_cycles=63)
    with pytest.raises(ExecutionError):
        interpreter.run(FIB, [10], max_cycles=63)


@pytest.mark.parametrize("bad", [0, -5, True, 2.5])
def test_bad_max_cycles(bad: object) -> None:
    with pytest.raises(InputError, match="max_cycles"):
        execute(FIB, [1], max_cycles=bad)  # type: ignore[arg-type]


def test_infinite_loop_is_an_error_not_a_hang() -> None:
    forever = assemble("top: jmp top\nhalt")
    with pytest.raises(ExecutionError, match="did not halt"):
        execute(forever, [], max_cycles=100_000)


def test_inv_of_zero_reports_pc_and_line() -> None:
    program = assemble(".input x\n.output y\n  set  y, 1\nagain:  inv y,   x ; boom\n  halt\n")
    with pytest.raises(ExecutionError) as info:
        execute(program, [0])
    assert info.value.pc == 1
    assert info.value.source_line == "again: inv y, x"
    assert "inv of zero at pc 1" in str(info.value) and "'x'" in str(info.value)
    assert execute(program, [2]).outputs == ((P + 1) // 2,)


@pytest.mark.parametrize(
    ("source", "inputs", "pc", "fragment"),
    [
        (".input x\nassert_zero x\nhalt", [3], 0, "register 'x' is not 0"),
        (".input x, y\nadd x, x, y\nassert_eq x, y\nhalt", [1, 1], 1, "'x' and 'y' differ"),
    ],
)
def test_failed_assertion(source: str, inputs: list[int], pc: int, fragment: str) -> None:
    program = assemble(source)
    for run in (execute, interpreter.run):
        with pytest.raises(ExecutionError) as info:
            run(program, inputs)
        assert info.value.pc == pc
        assert "assertion failed" in str(info.value) and fragment in str(info.value)


def test_program_without_registers() -> None:
    program = assemble("halt")
    assert execute(program, []).outputs == ()
    columns = execution_trace(program, [])
    assert [list(c) for c in columns] == [[1] * 8] == interpreter.trace(program, [])


def test_non_program_is_rejected() -> None:
    # Canonical bytes are a program (the runtime accepts them too); a name is not.
    assert execute(FIB.to_bytes(), [1]) == execute(FIB, [1])
    with pytest.raises(TypeError, match=r"programs\.load\('fib'\)"):
        execute("fib", [1])  # type: ignore[arg-type]


@given(st.lists(field_elements, min_size=2, max_size=2))
def test_arithmetic_edge_values(values: list[int]) -> None:
    program = assemble(
        ".input u, v\n.output s, d, m, q\n add s, u, v\n sub d, u, v\n mul m, u, v\n"
        " subi q, u, -1\n halt"
    )
    u, v = values
    expected = ((u + v) % P, (u - v) % P, u * v % P, (u + 1) % P)
    assert execute(program, values).outputs == expected == interpreter.run(program, values)[0]


COUNTDOWN = assemble(".input n\nloop: subi n, n, 1\n jnz n, loop\n halt")


def _native_trace_into(columns: list[array[int]], log_t: int) -> int:
    """Countdown from n takes 2n + 1 cycles: n = 2^(log_t - 1) - 1 fills all 2^log_t rows."""
    native = NativeProgram(COUNTDOWN.to_bytes())
    inputs = array("Q", [(1 << (log_t - 1)) - 1])
    return int(native.trace(inputs, 2**40, log_t, columns))


def test_trace_too_short_is_reported_not_overrun() -> None:
    native = NativeProgram(FIB.to_bytes())
    columns = [array("Q", [0]) * 8 for _ in range(FIB.trace_width)]
    assert native.trace(array("Q", [100]), 2**22, 3, columns) == TRACE_TOO_SHORT
    with pytest.raises(ValueError, match="columns"):
        native.trace(array("Q", [1]), 2**22, 3, columns[:-1])
    with pytest.raises(ValueError, match="entries"):
        native.trace(array("Q", [1]), 2**22, 4, columns)


def _observes_partial_trace(log_t: int) -> bool:
    sentinel = P  # never a value the tracer writes
    rows = 1 << log_t
    columns = [array("Q", [sentinel]) * rows for _ in range(COUNTDOWN.trace_width)]
    register = columns[0]
    worker = threading.Thread(target=_native_trace_into, args=(columns, log_t))
    worker.start()
    seen_partial = False
    while worker.is_alive():
        if register[0] != sentinel and register[rows - 1] == sentinel:
            seen_partial = True
    worker.join()
    assert register[rows - 1] == 0 and register[0] == (rows - 2) // 2
    return seen_partial


def test_trace_generation_releases_the_gil() -> None:
    """An observation, not a timing: the main thread sees the register column half
    written, which it could not if the tracer held the GIL. Several tries, because on a
    busy machine the main thread may not be scheduled while a short trace is written."""
    assert any(_observes_partial_trace(20) for _ in range(25))
