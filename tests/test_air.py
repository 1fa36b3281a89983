"""The native AIR (ext/air.c): honest traces satisfy it, forged ones do not, and its
values agree with the oracle prover's independent transcription of protocol.md 5.

Honest traces come from the pure-Python interpreter, so neither side of the comparison
is the native executor.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

import oracle_prover as oracle
import pytest
from hypothesis import given
from hypothesis import strategies as st
from zkvm_strategies import fits_register_air, programs_with_inputs

from zkactors import programs
from zkactors._native import prover as native
from zkactors.errors import ExecutionError
from zkactors.zkvm import interpreter
from zkactors.zkvm.isa import Op, P
from zkactors.zkvm.program import Program

LIBRARY = [
    ("fib", [7]),
    ("factorial", [5]),
    ("horner", [11]),
    ("inverse_check", [99]),
    ("mimc", [3, 17]),
    ("power", [5, 4]),
]


def _load(name: str, inputs: list[int]) -> tuple[Program, list[int]]:
    program = programs.load(name)
    return program, inputs[: program.n_inputs]


def violated_rows(
    program: Program,
    columns: Sequence[Sequence[int]],
    inputs: Sequence[int],
    outputs: Sequence[int],
) -> set[tuple[str, int, int]]:
    """(group, row, constraint index) of every nonzero constraint on the trace."""
    air = native.Air(program.to_bytes())
    n_trans, n_first, _ = air.counts
    n = len(columns[0])
    bad = set()
    for i in range(n):
        cur = [c[i] for c in columns]
        nxt = [c[(i + 1) % n] for c in columns]
        values = air.eval_base(cur, nxt, list(inputs), list(outputs))
        for k, v in enumerate(values):
            if v == 0:
                continue
            if k < n_trans and i < n - 1:
                bad.add(("transition", i, k))
            elif n_trans <= k < n_trans + n_first and i == 0:
                bad.add(("first", i, k))
            elif k >= n_trans + n_first and i == n - 1:
                bad.add(("last", i, k))
    return bad


def expected_counts(program: Program) -> tuple[int, int, int]:
    code = program.instructions
    checked = sum(ins.op in (Op.INV, Op.ASSERT_ZERO, Op.ASSERT_EQ) for ins in code)
    n_reg, n_ins = len(program.registers), len(code)
    return (
        n_reg + n_ins + len(program.branch_indices) + checked,
        n_ins + n_reg,
        1 + len(program.output_registers),
    )


@pytest.mark.parametrize(("name", "inputs"), LIBRARY)
def test_library_traces_satisfy_every_constraint(name: str, inputs: list[int]) -> None:
    program, inputs = _load(name, inputs)
    columns = interpreter.trace(program, inputs)
    outputs = oracle.outputs_of(program, columns)
    air = native.Air(program.to_bytes())
    assert air.width == program.trace_width
    assert air.counts == expected_counts(program)
    assert air.n_constraints == sum(expected_counts(program))
    assert violated_rows(program, columns, inputs, outputs) == set()


@given(programs_with_inputs().filter(fits_register_air))  # AIR 1's
def test_generated_traces_satisfy_every_constraint(case: tuple[Program, list[int]]) -> None:
    program, inputs = case
    try:
        columns = interpreter.trace(program, inputs)
    except ExecutionError:
        return  # failing runs have no trace to prove
    outputs = oracle.outputs_of(program, columns)
    assert native.Air(program.to_bytes()).counts == expected_counts(program)
    assert violated_rows(program, columns, inputs, outputs) == set()


def _fib() -> tuple[Program, list[list[int]], list[int], tuple[int, ...]]:
    program = programs.load("fib")
    columns = [list(c) for c in interpreter.trace(program, [4])]
    return program, columns, [4], oracle.outputs_of(program, columns)


def test_changed_register_breaks_a_transition() -> None:
    program, columns, inputs, outputs = _fib()
    columns[1][5] = (columns[1][5] + 1) % P  # register b mid-run
    kinds = {g for g, _, _ in violated_rows(program, columns, inputs, outputs)}
    assert "transition" in kinds


def test_moved_selector_breaks_a_transition() -> None:
    program, columns, inputs, outputs = _fib()
    r = len(program.registers)
    row = 6
    k = next(k for k in range(len(program.instructions)) if columns[r + k][row] == 1)
    columns[r + k][row] = 0
    columns[r + (k + 1) % len(program.instructions)][row] = 1
    assert violated_rows(program, columns, inputs, outputs)


def test_wrong_branch_helper_breaks_the_branch_test() -> None:
    program, columns, inputs, outputs = _fib()
    helper = program.trace_width - 1
    columns[helper][0] = (columns[helper][0] + 1) % P  # n = 4 != 0, so h must be 1/4
    assert violated_rows(program, columns, inputs, outputs)


def test_wrong_input_breaks_the_first_row() -> None:
    program, columns, _, outputs = _fib()
    bad = violated_rows(program, columns, [5], outputs)
    assert {g for g, _, _ in bad} == {"first"}


def test_wrong_output_breaks_the_last_row() -> None:
    program, columns, inputs, outputs = _fib()
    wrong = ((outputs[0] + 1) % P,)
    bad = violated_rows(program, columns, inputs, wrong)
    assert {g for g, _, _ in bad} == {"last"}


def test_trace_without_halt_breaks_the_last_row() -> None:
    program, _, inputs, _ = _fib()
    cut = oracle.forged_trace(program, inputs, rows=8)  # stops before the halt
    assert ("last", 7, sum(native.Air(program.to_bytes()).counts[:2])) in violated_rows(
        program, cut, inputs, oracle.outputs_of(program, cut)
    )


def test_wrong_inverse_breaks_the_inv_constraint() -> None:
    program = programs.load("inverse_check")
    forged = oracle.forged_trace(program, [99], inv_result=5)
    outputs = oracle.outputs_of(program, forged)
    assert violated_rows(program, forged, [99], outputs)


def test_failed_assertion_breaks_its_constraint() -> None:
    program = programs.load("inverse_check")
    forged = oracle.forged_trace(program, [99], inv_result=5)  # the asserts then fail
    want = oracle.violated_kinds(program, forged, [99], oracle.outputs_of(program, forged))
    assert 4 in want
    assert violated_rows(program, forged, [99], oracle.outputs_of(program, forged))


random_ext = st.tuples(st.integers(0, P - 1), st.integers(0, P - 1), st.integers(0, P - 1))


@given(st.sampled_from(LIBRARY), st.randoms(use_true_random=False))
def test_extension_values_match_the_oracle(case: tuple[str, list[int]], rnd: random.Random) -> None:
    program, inputs = _load(*case)
    air = native.Air(program.to_bytes())
    w = program.trace_width
    cur = [(rnd.randrange(P), rnd.randrange(P), rnd.randrange(P)) for _ in range(w)]
    nxt = [(rnd.randrange(P), rnd.randrange(P), rnd.randrange(P)) for _ in range(w)]
    outputs = [rnd.randrange(P) for _ in program.output_registers]
    trans, first, last = oracle.constraints(program, cur, nxt, inputs, outputs)
    assert air.eval_ext(cur, nxt, inputs, outputs) == trans + first + last


@given(st.sampled_from(LIBRARY), st.randoms(use_true_random=False))
def test_base_values_are_the_extension_values_on_f(
    case: tuple[str, list[int]], rnd: random.Random
) -> None:
    program, inputs = _load(*case)
    air = native.Air(program.to_bytes())
    w = program.trace_width
    cur = [rnd.randrange(P) for _ in range(w)]
    nxt = [rnd.randrange(P) for _ in range(w)]
    outputs = [rnd.randrange(P) for _ in program.output_registers]
    ext = air.eval_ext(cur, nxt, inputs, outputs)
    assert [(v, 0, 0) for v in air.eval_base(cur, nxt, inputs, outputs)] == ext


@given(st.sampled_from(LIBRARY), st.randoms(use_true_random=False), st.integers(3, 10))
def test_composition_at_z_is_the_alpha_combination_over_the_divisors(
    case: tuple[str, list[int]], rnd: random.Random, log_t: int
) -> None:
    program, inputs = _load(*case)
    air = native.Air(program.to_bytes())
    w = program.trace_width
    cur = [(rnd.randrange(P), rnd.randrange(P), rnd.randrange(P)) for _ in range(w)]
    nxt = [(rnd.randrange(P), rnd.randrange(P), rnd.randrange(P)) for _ in range(w)]
    outputs = [rnd.randrange(P) for _ in program.output_registers]
    alphas = [
        (rnd.randrange(P), rnd.randrange(P), rnd.randrange(P)) for _ in range(air.n_constraints)
    ]
    z = (rnd.randrange(P), rnd.randrange(P), rnd.randrange(1, P))  # not in F
    trans, first, last = oracle.constraints(program, cur, nxt, inputs, outputs)
    t = 1 << log_t
    g_last = pow(oracle.root(t), t - 1, P)
    z_last = oracle.ksub(z, oracle.kbase(g_last))
    d_trans = oracle.kmul(z_last, oracle.kinv(oracle.ksub(oracle.kpow(z, t), oracle.ONE)))
    d_first = oracle.kinv(oracle.ksub(z, oracle.ONE))
    d_last = oracle.kinv(z_last)
    want = oracle.ZERO
    for alpha, value, divisor in zip(
        alphas,
        trans + first + last,
        [d_trans] * len(trans) + [d_first] * len(first) + [d_last] * len(last),
        strict=True,
    ):
        want = oracle.kadd(want, oracle.kmul(oracle.kmul(alpha, value), divisor))
    assert air.composition_at(cur, nxt, inputs, outputs, alphas, z, log_t) == want


def test_rejects_malformed_programs_and_rows() -> None:
    with pytest.raises(ValueError):
        native.Air(b"ZKVM")
    air = native.Air(programs.load("fib").to_bytes())
    with pytest.raises(ValueError):
        air.eval_base([0], [0], [1], [0])
    with pytest.raises(ValueError):
        air.eval_base([P] * air.width, [0] * air.width, [1], [0])


@given(st.sampled_from(LIBRARY), st.randoms(use_true_random=False), st.integers(1, 64))
def test_batched_prover_path_matches_the_row_by_row_values(
    case: tuple[str, list[int]], rnd: random.Random, n: int
) -> None:
    program, inputs = _load(*case)
    air = native.Air(program.to_bytes())
    w = program.trace_width
    n_trans, n_first, _ = air.counts
    cur = [[rnd.randrange(P) for _ in range(w)] for _ in range(n)]
    nxt = [[rnd.randrange(P) for _ in range(w)] for _ in range(n)]
    outputs = [rnd.randrange(P) for _ in program.output_registers]
    alphas = [
        (rnd.randrange(P), rnd.randrange(P), rnd.randrange(P)) for _ in range(air.n_constraints)
    ]
    got = air.combine_batch(cur, nxt, inputs, outputs, alphas)
    for r in range(n):
        values = air.eval_base(cur[r], nxt[r], inputs, outputs)
        sums = []
        for lo, hi in ((0, n_trans), (n_trans, n_trans + n_first), (n_trans + n_first, None)):
            s = oracle.ZERO
            for alpha, v in zip(alphas[lo:hi], values[lo:hi], strict=True):
                s = oracle.kadd(s, oracle.kscale(alpha, v))
            sums.append(s)
        assert got[r] == tuple(sums)
