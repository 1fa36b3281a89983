"""Load: 10,000 concurrent prove() calls through small mailboxes all get their answer,
and no queue grows past its bound (backpressure holds the callers instead)."""

from __future__ import annotations

import anyio
import pytest
from runtime_doubles import FaultInjectingTestProver

from zkactors import RuntimeConfig, ZkRuntime, programs
from zkactors.zkvm.receipt import Receipt
from zkactors.zkvm.verifier import verify

pytestmark = pytest.mark.anyio

FIB = programs.load("fib")
CALLS = 10_000
DISTINCT = 48
WARM = 40  # keys proved before the burst: the bulk are hits, the rest misses/coalesced


async def test_ten_thousand_concurrent_calls_with_small_mailboxes() -> None:
    prover = FaultInjectingTestProver()
    cfg = RuntimeConfig(
        profile="test",
        max_parallel=2,
        intake_capacity=8,
        estimator_capacity=4,
        supervisor_capacity=4,
        max_pending_proofs=8,
    )
    answers: dict[int, Receipt] = {}

    async def caller(rt: ZkRuntime, i: int) -> None:
        answers[i] = await rt.prove(FIB, (i % DISTINCT,))

    async with ZkRuntime(cfg, _prover=prover) as rt:
        await rt.prove_many([(FIB, (n,)) for n in range(WARM)])
        warm = rt.metrics()
        async with anyio.create_task_group() as tg:
            for i in range(CALLS):
                tg.start_soon(caller, rt, i)
        snapshot = rt.metrics()

    assert len(answers) == CALLS
    by_key: dict[int, set[tuple[int, ...]]] = {}
    for i, receipt in answers.items():
        by_key.setdefault(i % DISTINCT, set()).add(receipt.outputs)
        assert receipt.inputs == (i % DISTINCT,)
    assert all(len(outputs) == 1 for outputs in by_key.values())
    for n in (0, 1, DISTINCT - 1):
        verify(answers[n], FIB, min_security_bits=0)

    # Every call answered exactly once, every lookup accounted for.
    assert snapshot.requests - warm.requests == CALLS
    assert snapshot.requests == snapshot.accepted
    assert snapshot.receipts == snapshot.requests and snapshot.in_flight == 0
    assert snapshot.hits + snapshot.misses + snapshot.coalesced == snapshot.requests
    assert snapshot.hits - warm.hits > CALLS // 2
    assert snapshot.proofs == snapshot.misses == len(prover.calls)
    assert set(prover.calls) == {(n,) for n in range(DISTINCT)}
    # Bounded queues: peaks never pass the configured capacities.
    peaks = snapshot.peak_queue_depths
    assert peaks["intake"] <= cfg.intake_capacity
    assert peaks["estimator"] <= cfg.estimator_capacity
    assert peaks["supervisor"] <= cfg.supervisor_capacity
    assert peaks["proofs_queued"] <= cfg.max_pending_proofs
    assert prover.max_active <= cfg.max_parallel
    assert snapshot.events_dropped == 0
