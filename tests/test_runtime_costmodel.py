"""The cost model: it fits its features exactly, follows a machine that drifts, keeps
grinding's random draw out of the fit, interpolates thread counts, and its calibration
measures real proofs and survives a round trip through the on-disk cache; the runtime's
``estimate()`` agrees with ``execute()`` on the run and with the prover on memory."""

from __future__ import annotations

import math
import statistics
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zkactors import RuntimeConfig, ZkRuntime, execute, programs
from zkactors.errors import ExecutionError, InputError
from zkactors.runtime import CalibratedCostModel, ProofShape
from zkactors.runtime import calibration as calibration_module
from zkactors.runtime.costmodel import FEATURES, Sample, fit_nonnegative
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
    shape = ProofShape.of(FIB, 1024, "default")
    assert shape.trace_width == FIB.trace_width
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
