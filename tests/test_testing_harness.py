"""The public strategies of :mod:`zkactors.testing` produce what they promise.

Programs halt within their cycle budget on every input (checked by the Python
interpreter and by the native executor), respect their size limits, never fail unless
asked to, and between them use every instruction kind, take every branch kind both ways,
and (the machine programs) hit memory cells again, at small and large addresses, read
and write the streams and run long blocks. Workloads have exactly the distinct requests
and repeat rate asked for, machine programs among them. Receipts verify, under either
AIR. ``run_workload`` counts what a runtime answered, and notices wrong answers (shown with a
test double of the runtime).
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Sequence
from typing import Any

import anyio
import anyio.lowlevel
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import zkactors
from zkactors.errors import ExecutionError, ProfileError, VerificationError
from zkactors.testing import (
    WorkloadReport,
    inputs_for,
    program_sources,
    programs,
    receipts,
    repeat_count,
    run_workload,
    workloads,
)
from zkactors.zkvm import interpreter, reference
from zkactors.zkvm.assembler import assemble
from zkactors.zkvm.execute import execute, execution_trace
from zkactors.zkvm.isa import MAX_INSTRUCTIONS, V2_MAX_INSTRUCTIONS, Op, P
from zkactors.zkvm.program import Program

# The coverage tests gather facts over many examples and then assert on the union; a fixed
# seed makes them deterministic (the union cannot flake), with no database to replay.
_SWEEP = settings(
    max_examples=150,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def _executed_pcs(program: Program, inputs: Sequence[int]) -> list[int]:
    """The pc of every cycle up to and including the halt, read off the native AIR 1
    trace's one-hot selector columns (from the interpreter's steps for a machine program,
    which has no AIR 1 trace)."""
    if not program.fits_register_air:
        return [step.pc for step in interpreter.steps(program, inputs)]
    cycles = execute(program, inputs).cycles
    columns = execution_trace(program, inputs)
    selectors = columns[len(program.registers) : len(program.registers) + len(program.instructions)]
    return [next(k for k, sel in enumerate(selectors) if sel[row]) for row in range(cycles)]


def _branch_outcomes(program: Program, pcs: list[int]) -> set[tuple[Op, bool]]:
    """(op, taken) for every jz/jnz executed whose two successors differ."""
    seen = set()
    for pc, following in itertools.pairwise(pcs):
        ins = program.instructions[pc]
        if ins.op.is_branch and ins.target != pc + 1:
            seen.add((ins.op, following == ins.target))
    return seen


# ---------------------------------------------------------------- programs


@given(st.data())
def test_programs_halt_within_budget_on_every_input(data: st.DataObject) -> None:
    budget = data.draw(st.integers(1, 300), label="max_cycles")
    size = data.draw(
        st.one_of(st.none(), st.integers(1, MAX_INSTRUCTIONS), st.integers(1, 700)),
        label="max_instructions",
    )
    max_inputs = data.draw(st.integers(0, 20), label="max_inputs")
    max_outputs = data.draw(st.integers(0, 20), label="max_outputs")
    program = data.draw(
        programs(
            max_cycles=budget,
            max_instructions=size,
            max_inputs=max_inputs,
            max_outputs=max_outputs,
        )
    )
    fits = program.fits_register_air
    default_size = 32 if fits else 600
    assert len(program.instructions) <= (size or default_size)
    assert program.n_inputs <= max_inputs
    assert len(program.output_registers) <= max_outputs
    for _ in range(3):
        inputs = data.draw(inputs_for(program), label="inputs")
        # max_cycles=budget: running out of cycles would raise ExecutionError.
        outputs, cycles = interpreter.run(program, inputs, budget)
        assert cycles <= budget
        run = execute(program, inputs, max_cycles=budget)
        assert (outputs, cycles) == (run.outputs, run.cycles)


@given(st.data())
def test_may_fail_programs_fail_only_by_inv_or_assertion_within_budget(
    data: st.DataObject,
) -> None:
    budget = data.draw(st.integers(1, 200), label="max_cycles")
    program = data.draw(programs(max_cycles=budget, may_fail=True))
    inputs = data.draw(inputs_for(program))
    try:
        assert execute(program, inputs, max_cycles=budget).cycles <= budget
    except ExecutionError as exc:
        assert exc.pc is not None, "the cycle budget ran out"  # None only for the limit
        failing = program.instructions[exc.pc].op
        # Never by the stream: inputs_for gives exactly what the run reads.
        assert failing in (Op.INV, Op.ASSERT_ZERO, Op.ASSERT_EQ) or failing.is_memory


def test_every_instruction_kind_and_branch_outcome_appears() -> None:
    ops: set[Op] = set()
    outcomes: set[tuple[Op, bool]] = set()
    last_is_jmp = multiple_halts = early_halt_taken = False

    @_SWEEP
    @given(st.data())
    def sweep(data: st.DataObject) -> None:
        nonlocal last_is_jmp, multiple_halts, early_halt_taken
        program = data.draw(programs(max_cycles=80))
        inputs = data.draw(inputs_for(program))
        ops.update(ins.op for ins in program.instructions)
        pcs = _executed_pcs(program, inputs)
        outcomes.update(_branch_outcomes(program, pcs))
        halts = [k for k, ins in enumerate(program.instructions) if ins.op is Op.HALT]
        last_is_jmp |= program.instructions[-1].op is Op.JMP
        multiple_halts |= len(halts) > 1
        early_halt_taken |= pcs[-1] != halts[-1]

    sweep()
    assert ops == set(Op)  # v1 instructions, and (in machine programs) v2 ones
    assert outcomes == {(op, taken) for op in (Op.JZ, Op.JNZ) for taken in (True, False)}
    assert last_is_jmp and multiple_halts and early_halt_taken


def test_machine_programs_use_memory_streams_and_long_code() -> None:
    """Machine programs are a minority, and between them store and load the same cell
    again, load cells never stored, use small and large addresses in every address form,
    read and write the streams, and have and run long blocks."""
    seen: set[str] = set()
    kinds: list[bool] = []

    @_SWEEP
    @given(st.data())
    def sweep(data: st.DataObject) -> None:
        program = data.draw(programs(max_cycles=200))
        kinds.append(program.fits_register_air)
        if program.fits_register_air:
            return
        inputs = data.draw(inputs_for(program))
        stored: set[int] = set()
        if len(program.instructions) > MAX_INSTRUCTIONS:
            seen.add("long program")
        steps = list(interpreter.steps(program, inputs, 200))
        if len(steps) > 60:
            seen.add("long run")
        for step in steps:
            op = step.instruction.op
            seen.add(op.name)
            if step.address is None:
                continue
            if op in (Op.STORE, Op.STORE_ABS):
                seen.add("stored again" if step.address in stored else "stored")
                stored.add(step.address)
            else:
                seen.add("load of stored" if step.address in stored else "load of unstored")
            seen.add("small address" if step.address < 8 else "large address")
            if step.address >= 2**32 - 16:
                seen.add("top address")

    sweep()
    assert 0.1 < kinds.count(False) / len(kinds) < 0.5
    assert seen >= {op.name for op in Op if not op.is_v1} | {
        "long program",
        "long run",
        "stored again",
        "load of stored",
        "load of unstored",
        "small address",
        "large address",
        "top address",
    }


@given(programs(machine=False, max_instructions=128, max_inputs=30, max_outputs=30))
def test_machine_false_draws_only_register_air_programs(program: Program) -> None:
    assert program.fits_register_air and program.format == 1


_SUM_OF_N = assemble(
    """
    .input n
    .output s
    loop:   jz   n, done
            read x
            add  s, s, x
            subi n, n, 1
            jmp  loop
    done:   halt
    """
)


@given(inputs_for(_SUM_OF_N).filter(lambda values: values[0] <= 64))
def test_inputs_for_gives_a_program_with_read_exactly_its_stream(inputs: tuple[int, ...]) -> None:
    # How much the run reads depends on an input: n values after n.
    assert len(inputs) == 1 + inputs[0]
    assert interpreter.run(_SUM_OF_N, inputs)[0] == (sum(inputs[1:]) % P,)


def test_inverses_and_assertions_run_without_failing() -> None:
    """Not merely present in the code: ``inv`` and both assertions are *executed* (and
    pass, or execute() would raise)."""
    executed: set[Op] = set()

    @_SWEEP
    @given(st.data())
    def sweep(data: st.DataObject) -> None:
        program = data.draw(programs(max_cycles=80))
        pcs = _executed_pcs(program, data.draw(inputs_for(program)))
        executed.update(program.instructions[pc].op for pc in pcs)

    sweep()
    assert {Op.INV, Op.ASSERT_ZERO, Op.ASSERT_EQ} <= executed


def test_smallest_budget_is_a_lone_halt() -> None:
    @_SWEEP
    @given(programs(max_cycles=1))
    def check(program: Program) -> None:
        assert [ins.op for ins in program.instructions] == [Op.HALT]

    check()


@given(program_sources(max_cycles=100))
def test_sources_assemble_and_round_trip(source: str) -> None:
    program = assemble(source)
    assert assemble(str(program)) == program


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_cycles": 0},
        {"max_cycles": True},
        {"max_instructions": 0},
        {"max_instructions": V2_MAX_INSTRUCTIONS + 1},
        {"max_instructions": 1.5},
        {"max_inputs": 257},
        {"max_outputs": -1},
    ],
    ids=str,
)
def test_program_parameters_are_checked_at_once(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        programs(**kwargs)


def test_inputs_for_covers_the_interesting_values() -> None:
    program = assemble(".input a, b, c\n.output a\nhalt")
    values: set[int] = set()

    @_SWEEP
    @given(inputs_for(program))
    def sweep(inputs: tuple[int, ...]) -> None:
        assert len(inputs) == 3 and all(0 <= v < P for v in inputs)
        values.update(inputs)

    sweep()
    assert {0, 1, P - 1} <= values
    assert any(v > 2**32 for v in values if v != P - 1)
    with pytest.raises(TypeError):
        inputs_for("halt")  # type: ignore[arg-type]


# ---------------------------------------------------------------- receipts


@settings(max_examples=8)
@given(receipts())
def test_receipts_verify_natively_and_with_the_reference(case: tuple[Any, Program]) -> None:
    receipt, program = case
    assert receipt.profile == "test"
    assert receipt.program_hash == program.hash
    assert receipt.outputs == execute(program, receipt.inputs).outputs
    zkactors.verify(receipt, program, min_security_bits=0)
    reference.verify(receipt, program, min_security_bits=0)


def test_receipts_come_under_both_airs() -> None:
    """Machine programs are drawn too, and proved under AIR 2 (format-3 receipts)."""
    airs: set[int] = set()

    @settings(_SWEEP, max_examples=40)
    @given(receipts())
    def sweep(case: tuple[Any, Program]) -> None:
        receipt, program = case
        assert receipt.air == execute(program, receipt.inputs).air
        assert receipt.air == 1 or not program.fits_register_air  # small programs
        airs.add(receipt.air)

    sweep()
    assert airs == {1, 2}


def test_receipts_profile_is_checked_at_once() -> None:
    with pytest.raises(ProfileError):
        receipts("nonsense")


# ---------------------------------------------------------------- workloads


@settings(max_examples=40)
@given(
    st.integers(1, 6),
    st.sampled_from([0.0, 0.1, 0.25, 0.5, 0.75, 0.9]),
    st.data(),
)
def test_workloads_honour_unique_and_repeat_rate(
    unique: int, rate: float, data: st.DataObject
) -> None:
    sizes = (8, 24)
    workload = data.draw(workloads(unique=unique, repeat_rate=rate, sizes=sizes))
    keys = [(program.hash, tuple(inputs)) for program, inputs in workload]
    total, repeats = repeat_count(unique, rate)
    assert len(workload) == total
    assert len(set(keys)) == unique
    repeated = sum(1 for i, key in enumerate(keys) if key in keys[:i])
    assert repeated == repeats
    # Whole requests: the share is within half a request of the rate asked for.
    assert abs(repeated / total - rate) <= 1 / (2 * total) + 1e-12
    for program, inputs in workload:
        # A machine program with read takes its stream inputs after the .input values.
        assert len(inputs) == program.n_inputs or program.reads_stream
        assert execute(program, inputs, max_cycles=max(sizes)).cycles <= max(sizes)


def test_workloads_accept_strategies_for_their_parameters() -> None:
    @settings(_SWEEP, max_examples=20)
    @given(workloads(unique=st.integers(2, 3), repeat_rate=st.just(0.5), sizes=(8,)))
    def check(workload: list[Any]) -> None:
        assert len(workload) in (4, 6)

    check()


@pytest.mark.parametrize(
    "kwargs",
    [
        {"unique": 0},
        {"repeat_rate": 1.0},
        {"repeat_rate": -0.1},
        {"repeat_rate": float("nan")},
        {"sizes": ()},
        {"sizes": (0,)},
        {"sizes": "16"},
    ],
    ids=str,
)
def test_workload_parameters_are_checked_at_once(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        workloads(**kwargs)


# ---------------------------------------------------------------- run_workload


_FIB = zkactors.programs.load("fib")


class _FakeConfigForTests:
    profile = "test"


class FakeRuntimeForTests:
    """A test double of ZkRuntime: answers each request with the answer given for its
    (program hash, inputs), through prove_many or prove."""

    config = _FakeConfigForTests()

    def __init__(self, answers: dict[tuple[str, tuple[int, ...]], object]) -> None:
        self.answers = answers
        self.calls: list[str] = []

    def _answer(self, program: Program, inputs: Sequence[int]) -> object:
        return self.answers[program.hash, tuple(inputs)]

    async def prove_many(self, requests: list[Any], *, return_exceptions: bool) -> list[object]:
        assert return_exceptions
        self.calls.append("prove_many")
        await anyio.lowlevel.checkpoint()
        return [self._answer(program, inputs) for program, inputs in requests]

    async def prove(self, program: Program, inputs: Sequence[int]) -> object:
        self.calls.append("prove")
        await anyio.lowlevel.checkpoint()
        answer = self._answer(program, inputs)
        if isinstance(answer, BaseException):
            raise answer
        return answer


@pytest.fixture(scope="module")
def fib_receipts() -> list[Any]:
    return [zkactors.prove(_FIB, [n], profile="test") for n in (3, 4)]


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["batch", "concurrent"])
async def test_run_workload_counts_right_answers(mode: str, fib_receipts: list[Any]) -> None:
    failing = assemble("set a, 1\nassert_zero a\nhalt")
    workload = [(_FIB, (3,)), (_FIB, (4,)), (_FIB, (3,)), (failing, ())]
    runtime = FakeRuntimeForTests(
        {
            (_FIB.hash, (3,)): fib_receipts[0],
            (_FIB.hash, (4,)): fib_receipts[1],
            (failing.hash, ()): ExecutionError("assertion failed"),
        }
    )
    report = await run_workload(  # type: ignore[arg-type]
        runtime, workload, mode=mode, min_security_bits=0
    )
    assert report == WorkloadReport(
        requests=4,
        distinct=3,
        receipts=3,
        verified=3,
        errors={"ExecutionError": 1},
        expected_errors=1,
        problems=(),
    )
    assert report.ok
    assert runtime.calls == (["prove_many"] if mode == "batch" else ["prove"] * 4)


@pytest.mark.anyio
async def test_run_workload_reports_wrong_answers(fib_receipts: list[Any]) -> None:
    tampered = bytearray(fib_receipts[1].to_bytes())
    tampered[-1] ^= 1
    forged = zkactors.Receipt.from_bytes(bytes(tampered))
    workload = [(_FIB, (3,)), (_FIB, (4,)), (_FIB, (5,)), (_FIB, (6,))]
    answers: list[object] = [
        fib_receipts[1],  # a receipt for another request: right program, wrong inputs
        forged,  # does not verify
        VerificationError("not an error a request should get"),
        "not a receipt",
    ]
    runtime = FakeRuntimeForTests(
        {
            (program.hash, inputs): answer
            for (program, inputs), answer in zip(workload, answers, strict=True)
        }
    )
    report = await run_workload(runtime, workload, min_security_bits=0)  # type: ignore[arg-type]
    assert not report.ok
    assert (report.receipts, report.verified, report.expected_errors) == (2, 0, 0)
    assert report.errors == {"VerificationError": 1, "str": 1}
    assert len(report.problems) == 3
    assert "inputs (4,) != requested (3,)" in report.problems[0]
    assert "does not verify" in report.problems[1]
    assert "not a receipt" in report.problems[2]


def test_run_workload_rejects_an_unknown_mode() -> None:
    with pytest.raises(ValueError, match="mode"):
        anyio.run(functools.partial(run_workload, FakeRuntimeForTests({}), [], mode="serial"))  # type: ignore[arg-type]


@pytest.mark.anyio
@settings(max_examples=6, deadline=None)
@given(
    workloads(
        unique=st.integers(1, 4), repeat_rate=st.sampled_from([0.0, 0.5, 0.8]), sizes=(8, 24)
    ),
    st.sampled_from(["batch", "concurrent"]),
)
async def test_run_workload_through_a_real_runtime(workload: list[Any], mode: str) -> None:
    # A cache that never switches off, so every repeat is a hit or joins a running proof.
    config = zkactors.RuntimeConfig(profile="test", max_parallel=2, cache_off_below=0.0)
    async with zkactors.ZkRuntime(config) as runtime:
        report = await run_workload(  # type: ignore[arg-type]
            runtime, workload, mode=mode, min_security_bits=0
        )
        snapshot = runtime.metrics()
    assert report.ok, report.problems
    assert report.requests == len(workload) == report.verified
    assert report.distinct == len({(p.hash, tuple(i)) for p, i in workload})
    # Each distinct request was proved at most once; the rest were hits or coalesced.
    assert snapshot.misses <= report.distinct
    assert snapshot.hits + snapshot.misses + snapshot.coalesced == report.requests
