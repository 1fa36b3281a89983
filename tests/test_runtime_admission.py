"""Admission: requests that cannot meet their deadline, and proofs that do not fit the
memory budget, are refused with typed errors before any prover time is spent, while the
runtime keeps serving everyone else; and each answer says how it was obtained."""

from __future__ import annotations

from typing import Any

import anyio
import pytest
from runtime_doubles import FaultInjectingTestProver, RowsTestCostModel, wait_until

from zkactors import RuntimeConfig, ZkRuntime, execute, programs
from zkactors.errors import DeadlineExceeded, ProvingError
from zkactors.runtime import MemoryBudgetExceeded, ProofOutcome
from zkactors.zkvm.prover import memory_bytes
from zkactors.zkvm.receipt import Receipt
from zkactors.zkvm.verifier import verify

pytestmark = pytest.mark.anyio

FIB = programs.load("fib")


def config(**overrides: Any) -> RuntimeConfig:
    return RuntimeConfig(**{"profile": "test", "max_parallel": 2, **overrides})


async def test_a_deadline_already_past_is_refused_at_the_door() -> None:
    prover = FaultInjectingTestProver()
    async with ZkRuntime(config(), _prover=prover) as rt:
        with pytest.raises(DeadlineExceeded, match="already passed"):
            await rt.prove(FIB, (10,), timeout=0)
        assert rt.metrics().rejected == 1
    assert prover.calls == []


async def test_a_deadline_the_estimate_cannot_meet_is_refused_before_proving() -> None:
    # Estimates of 1 s per trace row, two threads 1.5x faster: fib(9) (2^6 rows) needs
    # 42.7 s at best, its timeout is 30 s.
    prover = FaultInjectingTestProver()
    model = RowsTestCostModel(per_row=1.0, efficiency=0.5)
    async with ZkRuntime(config(), cost_model=model, _prover=prover) as rt:
        with pytest.raises(DeadlineExceeded, match=r"estimate is 42.7 s") as caught:
            await rt.prove(FIB, (9,), timeout=30)
        assert "64-row trace" in str(caught.value)
        assert "it was not started" in str(caught.value)
        # The runtime goes on serving: the same request without a deadline is proved.
        receipt = await rt.prove(FIB, (9,))
        verify(receipt, FIB, min_security_bits=0)
        snapshot = rt.metrics()
    assert prover.calls == [(9,)]
    assert dict(snapshot.admission_refusals) == {"deadline": 1}
    assert snapshot.failures["DeadlineExceeded"] == 1
    assert snapshot.requests == snapshot.receipts + sum(snapshot.failures.values())


async def test_the_queue_ahead_counts_against_a_deadline() -> None:
    # 10 ms per row: fib(3000) (2^15 rows) runs for an estimated 328 s on the only
    # prover (held), so fib(2) (0.16 s) with a 100 s timeout cannot start in time.
    prover = FaultInjectingTestProver()
    model = RowsTestCostModel(per_row=1e-2)
    async with ZkRuntime(config(max_parallel=1), cost_model=model, _prover=prover) as rt:
        prover.hold()
        async with anyio.create_task_group() as tg:
            tg.start_soon(rt.prove, FIB, (3000,))
            await anyio.to_thread.run_sync(prover.wait_entered)
            with pytest.raises(DeadlineExceeded, match=r"waiting for 1 proof"):
                await rt.prove(FIB, (2,), timeout=100)
            prover.release()
    assert prover.calls == [(3000,)]


async def test_a_waiter_without_a_deadline_is_not_failed_by_anothers_refusal() -> None:
    prover = FaultInjectingTestProver()
    model = RowsTestCostModel(per_row=1.0)
    async with ZkRuntime(config(), cost_model=model, _prover=prover) as rt:
        # Queued back to back, so the second joins the first's proof in the cache.
        hurried = rt.try_prove(FIB, (12,), timeout=30)
        patient = rt.try_prove(FIB, (12,))
        with pytest.raises(DeadlineExceeded):
            await hurried
        outcome = await patient.wait_detailed()
        snapshot = rt.metrics()
    verify(outcome.receipt, FIB, min_security_bits=0)
    assert outcome.source == "proved"  # proved anew for the waiter that could wait
    assert prover.calls == [(12,)]
    assert snapshot.coalesced == 1 and snapshot.misses == 1


async def test_a_proof_over_the_memory_budget_is_refused_and_others_are_served() -> None:
    small = memory_bytes(FIB.trace_width, 64, "test")
    big_run = execute(FIB, (3000,))
    big = memory_bytes(FIB.trace_width, big_run.trace_length, "test")
    prover = FaultInjectingTestProver()
    async with ZkRuntime(config(memory_budget_bytes=big - 1), _prover=prover) as rt:
        with pytest.raises(MemoryBudgetExceeded, match="memory budget") as caught:
            await rt.prove(FIB, (3000,))
        assert isinstance(caught.value, ProvingError)
        assert caught.value.needed == big and caught.value.budget == big - 1
        receipt = await rt.prove(FIB, (10,))
        snapshot = rt.metrics()
    verify(receipt, FIB, min_security_bits=0)
    assert prover.calls == [(10,)]
    assert dict(snapshot.admission_refusals) == {"memory": 1}
    assert snapshot.failures["MemoryBudgetExceeded"] == 1
    assert small <= snapshot.memory_peak_reserved_bytes < big
    assert snapshot.memory_budget_bytes == big - 1


async def test_running_proofs_stay_within_the_memory_budget() -> None:
    # A budget that holds one fib(200..205) proof (2^11 rows) but not two: with two
    # provers free, they still run one at a time.
    one = memory_bytes(FIB.trace_width, 2048, "test")
    prover = FaultInjectingTestProver()
    async with ZkRuntime(
        config(memory_budget_bytes=one + one // 2, parallelism="inter"), _prover=prover
    ) as rt:
        prover.hold()
        async with anyio.create_task_group() as tg:
            for n in range(200, 206):
                tg.start_soon(rt.prove, FIB, (n,))
            await wait_until(lambda: rt.metrics().queue_depths["proofs_queued"] == 5)
            prover.release()
        snapshot = rt.metrics()
    assert prover.max_active == 1
    assert snapshot.memory_peak_reserved_bytes == one
    assert snapshot.memory_reserved_bytes == 0
    assert snapshot.proofs == 6


async def test_each_answer_says_how_it_was_obtained() -> None:
    prover = FaultInjectingTestProver()
    async with ZkRuntime(config(), _prover=prover) as rt:
        run = execute(FIB, (300,))
        proved = await rt.prove_detailed(FIB, (300,))
        cached = await rt.prove_detailed(FIB, (300,))
        prover.hold()
        first = rt.try_prove(FIB, (301,))
        second = rt.try_prove(FIB, (301,))
        await anyio.to_thread.run_sync(prover.wait_entered)
        prover.release()
        joined = [await first.wait_detailed(), await second.wait_detailed()]
        batch = await rt.prove_many([(FIB, (300,)), (FIB, (302,))], detailed=True)
    assert isinstance(proved, ProofOutcome)
    assert proved.source == "proved" and not proved.cached
    assert proved.cycles == run.cycles and proved.trace_length == run.trace_length
    assert proved.threads in (1, 2)
    assert proved.prove_seconds is not None and proved.prove_seconds > 0
    assert proved.estimated_seconds is not None and proved.estimated_seconds > 0
    assert proved.queued_seconds is not None and proved.queued_seconds >= 0
    assert proved.estimate_error is not None
    assert proved.latency_seconds >= proved.prove_seconds
    # A hit knows the cycles too (the receipt states only the trace length).
    assert cached.source == "cache" and cached.cached
    assert cached.cycles == run.cycles and cached.receipt == proved.receipt
    assert cached.prove_seconds is None and cached.threads is None
    assert [o.source for o in joined] == ["proved", "coalesced"]
    assert joined[0].prove_seconds == joined[1].prove_seconds
    assert joined[1].cycles == execute(FIB, (301,)).cycles
    assert [o.source for o in batch] == ["cache", "proved"]
    assert all(isinstance(o.receipt, Receipt) for o in batch)
    assert prover.calls == [(300,), (301,), (302,)]
