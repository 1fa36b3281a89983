"""The cost model: it fits its features exactly, follows a machine that drifts, keeps
grinding's random draw out of the fit, interpolates thread counts, and its calibration
measures real proofs and survives a round trip through the on-disk cache; the runtime's
``estimate()`` agrees with ``execute()`` on the run and with the prover on memory."""

from __future__ import annotations

import math
import statistics
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zkactors import RuntimeConfig, ZkRuntime, execute, programs
from zkactors.errors import ExecutionError, InputError
from zkactors.runtime import CalibratedCostModel, ProofShape
from zkactors.runtime import calibration as calibration_module
from zkactors.runtime.costmodel import AIR2_PRIOR_FACTOR, FEATURES, Sample, fit_nonnegative
from zkactors.zkvm.assembler import assemble
from zkactors.zkvm.prover import memory_bytes

FIB = programs.load("fib")

#: Shapes of several widths, constraint counts and sizes (the fit needs variety).
SHAPES = [
    ProofShape(profile, 1 << log_t, width, constraints)
    for profile in ("test",)
    for log_t in range(6, 18, 2)
    for width, constraints in ((9, 19), (14, 29), (19, 39), (30, 70))
]


def _truth(coefficients: tuple[float, ...], shape: ProofShape) -> float:
    return sum(c * x for c, x in zip(coefficients, shape.features(), strict=True))


coefficient_lists = st.lists(
    st.one_of(st.just(0.0), st.floats(min_value=1e-4, max_value=1.0)),
    min_size=len(FEATURES),
    max_size=len(FEATURES),
).filter(lambda c: c[0] > 0)


@settings(max_examples=40)
@given(coefficient_lists)
def test_fits_synthetic_data_exactly(coefficients: list[float]) -> None:
    truth = tuple(coefficients)
    model = CalibratedCostModel(ridge=0.0)
    for shape in SHAPES:
        model.observe(shape, 1, _truth(truth, shape))
    for shape in (*SHAPES, ProofShape("test", 1 << 20, 14, 29)):
        assert math.isclose(model.predict(shape, 1), _truth(truth, shape), rel_tol=1e-6)


def test_least_squares_drops_features_that_would_go_negative() -> None:
    rows = [(1.0, float(x), float(x * x)) for x in range(1, 9)]
    # y = 1 + 2x - 0.001 x^2: the best unconstrained fit has a negative x^2 term.
    targets = [1 + 2 * x - 0.001 * x * x for _, x, _ in rows]
    weights = [1.0] * len(rows)
    fitted = fit_nonnegative(rows, targets, weights, prior=(0.0, 0.0, 0.0), ridge=0.0)
    assert all(c >= 0 for c in fitted)
    assert fitted[2] == 0.0
    assert fit_nonnegative([], [], [], prior=(1.0, -2.0, 3.0)) == (1.0, 0.0, 3.0)


def test_online_refinement_follows_a_machine_that_slows_down() -> None:
    before = (2e-4, 0.01, 0.002, 0.01, 0.001, 0.004)
    after = tuple(c * 1.6 for c in before)  # other load arrived: everything 60 % slower
    model = CalibratedCostModel()
    model.calibrate(Sample(shape, 1, _truth(before, shape)) for shape in SHAPES)

    def error() -> float:
        return statistics.median(
            abs(model.predict(s, 1) - _truth(after, s)) / _truth(after, s) for s in SHAPES
        )

    drifted = error()
    assert drifted > 0.3
    for shape in SHAPES[::2] * 2:
        model.observe(shape, 1, _truth(after, shape))
    assert error() < drifted / 4


def test_grinding_draws_stay_out_of_the_fit() -> None:
    truth = (1e-3, 0.01, 0.002, 0.01, 0.001, 0.004)
    model = CalibratedCostModel(hash_seconds=1e-8)
    # Profile default grinds 16 bits: mean 2^16 * 1e-8 s = 0.66 ms, per proof a draw.
    draws = [0.0001, 0.004, 0.0002, 0.0009, 0.0012, 0.00005, 0.0021, 0.0003]
    shapes = [ProofShape("default", s.trace_length, s.trace_width, s.constraints) for s in SHAPES]
    for index, shape in enumerate(shapes):
        grind = draws[index % len(draws)]
        model.observe(shape, 1, _truth(truth, shape) + grind, grinding_seconds=grind)
    mean = (2**16 * 1e-8 * 16 + sum(draws[i % 8] for i in range(len(shapes)))) / (16 + len(shapes))
    assert math.isclose(model.expected_grinding("default", 1), mean, rel_tol=0.05)
    for shape in shapes:
        deterministic = model.predict(shape, 1) - model.expected_grinding("default", 1)
        assert math.isclose(deterministic, _truth(truth, shape), rel_tol=1e-3)
    assert model.expected_grinding("test", 1) == 0.0  # profile test does not grind


def test_thread_counts_between_measured_ones_follow_amdahl() -> None:
    model = CalibratedCostModel()
    shape = ProofShape("test", 1 << 14, 14, 29)
    for s in SHAPES:
        model.observe(s, 1, 0.001 + 1e-6 * s.trace_length)
        model.observe(s, 4, 0.001 + 0.4e-6 * s.trace_length)
    one, four = model.predict(shape, 1), model.predict(shape, 4)
    two, three = model.predict(shape, 2), model.predict(shape, 3)
    assert one > two > three > four > 0
    assert model.predict(shape, 1) < model.predict(ProofShape("test", 1 << 16, 14, 29), 1)


def test_an_unmeasured_profile_borrows_a_measured_one() -> None:
    model = CalibratedCostModel()
    for s in SHAPES:
        model.observe(s, 1, 0.001 + 1e-6 * s.trace_length)
    shape = ProofShape("high", 1 << 12, 14, 29)
    # No proof at profile high yet: the test profile's fit (features scale with the
    # blowup) plus high's expected grinding, not the built-in default.
    assert model.coefficients("high") is None
    borrowed = model.predict(shape) - model.expected_grinding("high")
    assert borrowed > 0
    model.observe(shape, 1, 0.5)
    assert model.coefficients("high") is not None


def test_bad_measurements_are_ignored() -> None:
    model = CalibratedCostModel()
    shape = SHAPES[0]
    model.observe(shape, 1, float("nan"))
    model.observe(shape, 1, -1.0)
    model.observe(shape, 0, 1.0)
    assert model.observations == 0 and model.coefficients("test") is None


def test_shapes_come_from_the_program() -> None:
    run = execute(FIB, [150])
    assert (run.air, run.trace_length) == (1, 1024)
    shape = ProofShape.of(FIB, run, "default")
    assert shape.air == 1 and shape.cost_width == shape.trace_width == FIB.trace_width
    assert shape.constraints > shape.trace_width
    assert shape.lde_size == 8 * 1024
    assert shape.peak_bytes() == memory_bytes(FIB.trace_width, 1024, "default")


def test_calibration_measures_real_proofs_and_round_trips_through_the_cache(
    tmp_path: Path,
) -> None:
    calibration_module.forget()
    try:
        first = calibration_module.calibration_for("test", (1, 2), cache_dir=tmp_path)
        assert first.source == "measured" and first.samples
        assert {s.threads for s in first.samples} == {1, 2}
        assert all(s.seconds > 0 and s.shape.profile == "test" for s in first.samples)
        assert {s.shape.air for s in first.samples} == {1, 2}  # AIR 2 is fitted apart
        # Profile test does not grind: no hash rate needed.
        assert first.hash_seconds == 0.0
        files = list(tmp_path.glob("calibration-*.json"))
        assert len(files) == 1
        assert calibration_module.machine_fingerprint() in files[0].name
        calibration_module.forget()
        second = calibration_module.calibration_for("test", (1, 2), cache_dir=tmp_path)
        assert second.source == str(files[0])
        assert second.samples == first.samples
        model = CalibratedCostModel()
        model.calibrate(second.samples)
        assert model.coefficients("test", 1) is not None
        assert model.coefficients("test", 2) is not None
    finally:
        calibration_module.forget()


def test_the_hash_rate_is_measured_from_whole_searches() -> None:
    seconds = calibration_module.measure_hash_seconds(1 << 12)
    assert 0 < seconds < 1e-5


@pytest.mark.anyio
async def test_estimate_agrees_with_execute_and_the_prover() -> None:
    mimc = programs.load("mimc")
    async with ZkRuntime(RuntimeConfig(profile="test", max_parallel=2)) as rt:
        for program, inputs in ((FIB, [100]), (FIB, [3000]), (mimc, [3, 50])):
            run = execute(program, inputs)
            estimate = await rt.estimate(program, inputs)
            assert estimate.cycles == run.cycles
            assert estimate.trace_length == run.trace_length
            assert estimate.trace_width == program.trace_width
            assert estimate.profile == "test"
            assert estimate.peak_bytes == memory_bytes(
                program.trace_width, run.trace_length, "test"
            )
            assert 1 <= estimate.threads <= 2
            assert estimate.seconds > 0 and estimate.single_thread_seconds > 0
            assert estimate.queue_seconds == 0.0  # nothing queued or running
        big = await rt.estimate(FIB, [3000], profile="default")
        small = await rt.estimate(FIB, [100], profile="default")
        assert big.single_thread_seconds > small.single_thread_seconds
        with pytest.raises(InputError):
            await rt.estimate(FIB, [1, 2])
        with pytest.raises(ExecutionError):
            await rt.estimate(assemble(".input x\n.output x\nassert_zero x\nhalt"), [1])
        snapshot = rt.metrics()
    # Estimating is not a request: nothing was queued, proved or counted.
    assert snapshot.requests == 0 and snapshot.proofs == 0


@pytest.mark.anyio
async def test_a_stopped_runtime_hands_its_measurements_to_the_next() -> None:
    from runtime_doubles import FaultInjectingTestProver

    calibration_module.forget()
    try:
        cfg = RuntimeConfig(profile="test", max_parallel=2, calibrate="startup")
        async with ZkRuntime(cfg, _prover=FaultInjectingTestProver()) as rt:
            await rt.prove(FIB, [77])
        assert calibration_module.learned() == []  # a test prover's times are not learnt
        async with ZkRuntime(cfg) as rt:
            await rt.prove_many([(FIB, [n]) for n in range(200, 204)])
        learned = calibration_module.learned()
        assert len(learned) == 4
        assert {s.shape.trace_length for s in learned} == {2048}
        assert all(s.seconds > 0 and s.shape.profile == "test" for s in learned)
        async with ZkRuntime(cfg) as rt:
            model = rt.cost_model
            assert isinstance(model, CalibratedCostModel)
            calibrated = calibration_module.calibration_for("test", (1, cfg.prover_threads))
            assert model.coefficients("test", 1) is not None
            assert len(calibrated.samples) > 0
    finally:
        calibration_module.forget()


def test_proofs_beside_others_teach_the_slowdown_not_the_fit() -> None:
    truth = (1e-3, 0.01, 0.002, 0.01, 0.001, 0.004)
    model = CalibratedCostModel()
    for shape in SHAPES:
        model.observe(shape, 1, _truth(truth, shape))
    alone_before = [model.predict(s, 1) for s in SHAPES]
    assert model.contention("test", 1) == 1.0
    for shape in SHAPES * 2:
        model.observe(shape, 1, 1.4 * _truth(truth, shape), shared=True)
    assert 1.25 < model.contention("test", 1) < 1.4
    for shape, before in zip(SHAPES, alone_before, strict=True):
        # The 40 % slowdown goes into the factor; the alone prediction moves a little
        # (the first shared proofs were scaled back by a factor still being learnt).
        assert before * 0.97 < model.predict(shape, 1) < before * 1.08
        assert model.predict(shape, 1, shared=True) > 1.25 * before
    # A later model started from these samples (as the next runtime of a process is)
    # learns the slowdown from them too.
    later = CalibratedCostModel()
    later.calibrate(model.recent_samples())
    assert later.contention("test", 1) > 1.1


# ---- the two AIRs ----

#: AIR 2 shapes: the width and constraints are fixed, only T and the profile vary.
AIR2_SHAPES = [ProofShape("test", 1 << log_t, 56, 47, air=2) for log_t in range(8, 18, 2)]


def test_air_2_shapes_price_committed_cells() -> None:
    shape = ProofShape("test", 1024, 56, 47, air=2)
    assert shape.cost_width == 89  # 95 committed cells per row, less AIR 1's 6
    register = ProofShape("test", 1024, 89, 47)
    assert shape.features() == register.features()
    sum_array = programs.load("sum_array")
    run = execute(sum_array, [2, 7, 8])
    assert ProofShape.of(sum_array, run, "test") == ProofShape("test", 256, 56, 47, air=2)
    with pytest.raises(ValueError, match="cannot express"):
        ProofShape.of(sum_array, attrs_run(256, 1), "test")


def attrs_run(trace_length: int, air: int) -> object:
    class Run:
        pass

    run = Run()
    run.trace_length = trace_length  # type: ignore[attr-defined]
    run.air = air  # type: ignore[attr-defined]
    return run


def test_the_airs_are_fitted_apart() -> None:
    """AIR 2 proofs cost differently per cell: learning them leaves AIR 1's fit alone,
    and each AIR's predictions follow its own measurements."""
    register_truth = (1e-3, 0.01, 0.002, 0.01, 0.001, 0.004)
    machine_truth = (2e-3, 0.3, 0.02, 0.02, 0.003, 0.0)
    model = CalibratedCostModel()
    for shape in SHAPES:
        model.observe(shape, 1, _truth(register_truth, shape))
    before = [model.predict(s, 1) for s in SHAPES]
    for shape in AIR2_SHAPES * 2:
        model.observe(shape, 1, _truth(machine_truth, shape))
    assert model.coefficients("test", 1, air=2) is not None
    assert [model.predict(s, 1) for s in SHAPES] == before
    for shape in AIR2_SHAPES:
        assert model.predict(shape, 1) == pytest.approx(_truth(machine_truth, shape), rel=0.02)
    # A shared model would have been pulled off by the other AIR's proofs.
    pooled = CalibratedCostModel()
    for shape in SHAPES:
        pooled.observe(shape, 1, _truth(register_truth, shape))
    for shape in AIR2_SHAPES * 2:
        pooled.observe(attrs.evolve(shape, air=1, trace_width=89), 1, _truth(machine_truth, shape))
    assert any(
        abs(pooled.predict(s, 1) / b - 1) > 0.05 for s, b in zip(SHAPES, before, strict=True)
    )


def test_until_air_2_is_measured_it_is_priced_from_air_1() -> None:
    register_truth = (1e-3, 0.01, 0.002, 0.01, 0.001, 0.004)
    model = CalibratedCostModel()
    for shape in SHAPES:
        model.observe(shape, 1, _truth(register_truth, shape))
    fitted = model.coefficients("test", 1)
    assert fitted is not None and model.coefficients("test", 1, air=2) is None
    for shape in AIR2_SHAPES:
        # Priced against fib's shape (w = 14, C = 29) at the same T, where AIR 1's fit
        # is measured, not against AIR 1 at width 89.
        reference = ProofShape("test", shape.trace_length, 14, 29)
        expected = AIR2_PRIOR_FACTOR * _truth(fitted, reference)
        assert model.predict(shape, 1) == pytest.approx(expected, rel=1e-9)
    # Two threads: the measured single-thread AIR 2 fit, sped up, once there is one.
    for shape in AIR2_SHAPES:
        model.observe(shape, 1, 5 * _truth(register_truth, shape))
    assert model.predict(AIR2_SHAPES[-1], 2) < model.predict(AIR2_SHAPES[-1], 1)


def _air_2_runs() -> list[tuple[Any, list[int]]]:
    sum_array = programs.load("sum_array")
    runs: list[tuple[Any, list[int]]] = []
    for log_t in (10, 12):
        n = ((1 << log_t) - 7) // 11
        runs.append((sum_array, [n, *range(1, n + 1)]))
    runs.append((programs.straight_line(2000), [5]))
    return runs


@pytest.mark.parametrize("profile", ["test", "default"])
def test_air_2_is_priced_from_real_calibration_proofs(profile: str) -> None:
    """Real calibration proofs: a model that saw AIR 1 proofs alone prices AIR 2 by the
    prior drawn from AIR 1's fit; one calibrated as a runtime is has AIR 2 anchors of
    its own. Both price an AIR 2 proof above the AIR 1 proof of the same trace length
    (AIR 2 commits 95 cells a row, fib under AIR 1 20). How close the predictions come
    to measured times is a benchmark's question (wall-clock figures are never asserted
    here): see the closing note of issue #14 and ``zkactors bench estimator``."""
    register_points = tuple(p for p in calibration_module.POINTS if p[0] != "sum_array")
    only_register = calibration_module.calibrate(profile, (1,), points=register_points)
    assert {s.shape.air for s in only_register.samples} == {1}
    full = calibration_module.calibrate(profile, (1,))
    assert {s.shape.air for s in full.samples} == {1, 2}
    prior, calibrated = CalibratedCostModel(), CalibratedCostModel()
    prior.calibrate(only_register.samples, hash_seconds=only_register.hash_seconds or None)
    calibrated.calibrate(full.samples, hash_seconds=full.hash_seconds or None)
    assert prior.coefficients(profile, 1, air=2) is None
    assert calibrated.coefficients(profile, 1, air=2) is not None
    fib = programs.load("fib")
    for program, inputs in _air_2_runs():
        run = execute(program, inputs)
        shape = ProofShape.of(program, run, profile)
        assert shape.air == 2
        fib_run = execute(fib, [max(1, (run.trace_length - 8) // 6)])
        register = ProofShape.of(fib, fib_run, profile)
        assert (register.air, register.trace_length) == (1, shape.trace_length)
        for model in (prior, calibrated):
            assert model.predict(shape, 1) > model.predict(register, 1) > 0
