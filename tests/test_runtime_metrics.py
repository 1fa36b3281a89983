"""Metrics add up; the snapshot is immutable and exports Prometheus text; the supervisor
orders work shortest-first with deadlines respected and picks intra-proof threads."""

from __future__ import annotations

import functools
from typing import Any

import anyio
import attrs
import pytest
from runtime_doubles import FaultInjectingTestProver, RowsTestCostModel, wait_until

from zkactors import RuntimeConfig, ZkRuntime, assemble, programs
from zkactors.errors import InputError, ProvingError, ZkActorsError
from zkactors.runtime import MetricsSnapshot

FIB = programs.load("fib")
INVERT = assemble(".input x\n.output y\n  inv y, x\n  halt\n")


def config(**overrides: Any) -> RuntimeConfig:
    return RuntimeConfig(**{"profile": "test", "max_parallel": 2, **overrides})


@pytest.mark.anyio
async def test_metrics_add_up_over_a_mixed_workload() -> None:
    prover = FaultInjectingTestProver()
    prover.fail_on((13,), ProvingError("injected"))
    async with ZkRuntime(config(), _prover=prover) as rt:
        assert rt.metrics().requests == 0
        answers = await rt.prove_many(
            [(FIB, (n % 12,)) for n in range(60)] + [(FIB, (13,)), (INVERT, (0,))],
            return_exceptions=True,
        )
        for n in range(12):
            await rt.prove(FIB, (n,))
        for _ in range(3):
            with pytest.raises(InputError):
                await rt.prove(FIB, (1, 2))
        snapshot = rt.metrics()
    errors = [a for a in answers if isinstance(a, ZkActorsError)]
    assert len(errors) == 2
    m = snapshot
    assert m.requests == 60 + 2 + 12 + 3
    assert m.requests == m.accepted + m.rejected
    assert m.rejected == 3
    assert m.accepted == m.hits + m.misses + m.coalesced
    assert m.requests == m.receipts + sum(m.failures.values()) + m.in_flight
    assert m.in_flight == 0
    assert dict(m.failures) == {"ProvingError": 1, "ExecutionError": 1, "InputError": 3}
    # Every miss ran the estimator; all but the failing program reached a prover.
    assert m.proofs + m.proof_failures == m.misses - 1 == len(prover.calls)
    assert m.proof_failures == 1
    assert m.latency_p50 is not None and m.latency_p95 is not None and m.latency_p99 is not None
    assert 0 <= m.latency_p50 <= m.latency_p95 <= m.latency_p99
    assert m.estimate_error is not None and m.estimate_error >= 0
    assert m.estimated_seconds > 0 and m.measured_seconds > 0
    assert m.proving_seconds >= m.measured_seconds
    assert m.throughput > 0
    assert m.events_dropped == 0
    assert m.cache_entries <= 12 and (m.cache_enabled or m.cache_entries == 0)
    assert 0.0 <= m.cache_hit_rate <= 1.0
    assert all(depth == 0 for depth in m.queue_depths.values())


@pytest.mark.anyio
async def test_snapshot_is_immutable_and_exports_prometheus_text() -> None:
    async with ZkRuntime(config()) as rt:
        await rt.prove(FIB, (3,))
        await rt.prove(FIB, (3,))
        snapshot = rt.metrics()
    assert isinstance(snapshot, MetricsSnapshot)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        snapshot.hits = 0  # type: ignore[misc]
    with pytest.raises(TypeError):
        snapshot.failures["X"] = 1  # type: ignore[index]
    text = snapshot.to_prometheus()
    assert "# TYPE zkactors_lookups_total counter" in text
    assert 'zkactors_lookups_total{result="hit"} 1' in text
    assert 'zkactors_lookups_total{result="miss"} 1' in text
    assert "zkactors_cache_enabled 1" in text
    assert "# TYPE zkactors_request_latency_seconds histogram" in text
    assert 'zkactors_request_latency_seconds_bucket{le="+Inf"} 2.0' in text
    assert "zkactors_build_info{" in text
    for line in text.splitlines():
        assert line.startswith("#") or len(line.split(" ")) == 2


@pytest.mark.anyio
async def test_shortest_estimate_first_and_deadlines_respected() -> None:
    prover = FaultInjectingTestProver()
    prover.hold()
    async with ZkRuntime(config(max_parallel=1), _prover=prover) as rt:
        async with anyio.create_task_group() as tg:
            tg.start_soon(rt.prove, FIB, (1,))  # occupies the only prover
            await anyio.to_thread.run_sync(prover.wait_entered)
            tg.start_soon(rt.prove, FIB, (3000,))  # long
            tg.start_soon(rt.prove, FIB, (200,))  # medium
            tg.start_soon(rt.prove, FIB, (5,))  # short
            await wait_until(lambda: rt.metrics().queue_depths["proofs_queued"] == 3)
            prover.release()
        assert prover.calls == [(1,), (5,), (200,), (3000,)]


@pytest.mark.anyio
async def test_an_urgent_deadline_goes_before_shorter_work() -> None:
    # Estimates of 10 ms per trace row: fib(2) (16 rows) 0.16 s, fib(6) (64 rows) 0.64 s,
    # fib(3001) (2^15 rows) 327.68 s. A timeout of 327.68 + 0.6 s is feasible (only fib(2)
    # runs ahead), and its latest start (deadline - 327.68 s) is before the short job
    # would end, so the long job must go first. Real proofs at profile test take
    # milliseconds: no deadline passes for real.
    prover = FaultInjectingTestProver()
    model = RowsTestCostModel(per_row=1e-2)
    async with ZkRuntime(config(max_parallel=1), cost_model=model, _prover=prover) as rt:
        prover.hold()
        async with anyio.create_task_group() as tg:
            tg.start_soon(rt.prove, FIB, (2,))
            await anyio.to_thread.run_sync(prover.wait_entered)
            tg.start_soon(rt.prove, FIB, (6,))  # short, no deadline
            tg.start_soon(functools.partial(rt.prove, FIB, (3001,), timeout=327.68 + 0.6))
            await wait_until(lambda: rt.metrics().queue_depths["proofs_queued"] == 2)
            prover.release()
        assert prover.calls == [(2,), (3001,), (6,)]


@pytest.mark.anyio
async def test_a_lone_long_proof_gets_every_thread() -> None:
    prover = FaultInjectingTestProver()
    model = RowsTestCostModel(per_row=1e-2, efficiency=1.0)
    async with ZkRuntime(
        config(intra_proof_min_seconds=0.0), cost_model=model, _prover=prover
    ) as rt:
        await rt.prove(FIB, (100,))
    async with ZkRuntime(
        config(intra_proof_min_seconds=1e9), cost_model=model, _prover=prover
    ) as rt:
        await rt.prove(FIB, (100,))
    assert prover.threads_used == [2, 1]
