"""Acceptance is decided where the cache receives a request, so the bookkeeping holds
whatever a caller's send saw: callers cancelled (or timed out) while they wait for room,
and runtimes left by cancellation, keep every metrics identity and end with nothing in
flight."""

from __future__ import annotations

from typing import Any

import anyio
import pytest
from runtime_doubles import FaultInjectingTestProver, wait_until

from zkactors import RuntimeConfig, ZkRuntime, programs
from zkactors.errors import DeadlineExceeded, RuntimeClosed, ZkActorsError
from zkactors.runtime import MetricsSnapshot
from zkactors.zkvm.receipt import Receipt

pytestmark = pytest.mark.anyio

FIB = programs.load("fib")
CALLERS = 2000


def config(**overrides: Any) -> RuntimeConfig:
    return RuntimeConfig(**{"profile": "test", "max_parallel": 1, "calibrate": "off", **overrides})


def check_identities(s: MetricsSnapshot) -> None:
    """The identities of ``MetricsSnapshot`` that can fail (its docstring)."""
    assert s.events_dropped == 0
    assert s.accepted == s.hits + s.misses + s.coalesced + s.unserved
    assert s.receipts + sum(s.failures.values()) == s.rejected + s.latency_count
    assert sum(s.proofs_by_air.values()) == s.proofs  # every proof is under one AIR
    assert s.in_flight == s.unanswered
    assert s.in_flight >= 0


async def _blocked_pipeline(rt: ZkRuntime, prover: FaultInjectingTestProver) -> None:
    """Cache fib(5), then block the cache: one proof held in the prover, a second miss
    waiting for its slot (``max_pending_proofs=1``), so later callers wait for room."""
    await rt.prove(FIB, (5,))
    prover.hold()
    rt.try_prove(FIB, (6,))
    rt.try_prove(FIB, (7,))
    await wait_until(lambda: rt.metrics().accepted == 3)


@pytest.mark.parametrize("when", ["while they wait", "as the cache takes them"])
async def test_callers_cancelled_while_waiting_for_room_leave_the_books_right(when: str) -> None:
    prover = FaultInjectingTestProver()
    cfg = config(intake_capacity=1, max_pending_proofs=1)
    returned = 0
    async with ZkRuntime(cfg, _prover=prover) as rt:
        await _blocked_pipeline(rt, prover)

        async def caller() -> None:
            nonlocal returned
            await rt.prove(FIB, (5,))  # a hit, once the cache moves again
            returned += 1

        with anyio.CancelScope() as callers:
            async with anyio.create_task_group() as tg:
                for _ in range(CALLERS):
                    tg.start_soon(caller)
                await wait_until(
                    lambda: rt._intake._mailbox.statistics().tasks_waiting_send == CALLERS - 1
                )
                prover.release()
                if when == "as the cache takes them":
                    # The held proof's completion frees the cache, which then takes
                    # every waiting caller's request in one go; cancelled right after,
                    # callers whose send has not resumed yet raise though they
                    # delivered (on trio, most of them).
                    await rt.prove(FIB, (6,))
                callers.cancel()
        await wait_until(lambda: rt.metrics().in_flight == 0)
        during = rt.metrics()
    after = rt.metrics()
    for snapshot in (during, after):
        check_identities(snapshot)
    # Every request the cache took was answered once: with a receipt, or by its caller
    # leaving (a cancelled caller answers its own request with ProofCancelled).
    assert after.accepted >= 3 + returned
    left = after.failures.get("ProofCancelled", 0)
    assert set(after.failures) <= {"ProofCancelled"}
    assert after.accepted == after.receipts + left == after.hits + after.misses
    assert after.in_flight == after.unanswered == 0


async def test_callers_timed_out_while_waiting_for_room_are_counted_once() -> None:
    prover = FaultInjectingTestProver()
    cfg = config(intake_capacity=1, max_pending_proofs=1)
    outcomes: list[object] = []
    async with ZkRuntime(cfg, _prover=prover) as rt:
        await _blocked_pipeline(rt, prover)

        async def caller(seconds: float) -> None:
            try:
                outcomes.append(await rt.prove(FIB, (5,), timeout=seconds))
            except DeadlineExceeded as exc:
                outcomes.append(exc)

        async with anyio.create_task_group() as tg:
            for n in range(CALLERS // 4):
                tg.start_soon(caller, 0.05 + (n % 20) * 0.005)
            await anyio.sleep(0.1)
            prover.release()
        await wait_until(lambda: rt.metrics().in_flight == 0)
    s = rt.metrics()
    check_identities(s)
    assert len(outcomes) == CALLERS // 4
    timed_out = sum(isinstance(o, DeadlineExceeded) for o in outcomes)
    answered = sum(isinstance(o, Receipt) for o in outcomes)
    assert timed_out + answered == len(outcomes)
    # Each caller counted once: refused at the door, or accepted and answered (with a
    # receipt, or with DeadlineExceeded when its deadline passed after delivery).
    assert s.failures.get("DeadlineExceeded", 0) == timed_out
    assert s.requests == 3 + len(outcomes)


@pytest.mark.parametrize("shutdown", ["drain", "cancel"])
async def test_leaving_by_cancellation_keeps_the_final_metrics(shutdown: str) -> None:
    prover = FaultInjectingTestProver()
    outcomes: list[object] = []

    async def caller(rt: ZkRuntime, n: int) -> None:
        try:
            outcomes.append(await rt.prove(FIB, (n,)))
        except ZkActorsError as exc:
            outcomes.append(exc)

    async def release_once_stopping(rt: ZkRuntime) -> None:
        # Leaving waits for the proof running in its thread: let it finish then.
        await wait_until(lambda: not rt.running)
        prover.release()

    async with anyio.create_task_group() as callers:
        with anyio.CancelScope() as scope:
            async with ZkRuntime(config(shutdown=shutdown), _prover=prover) as rt:
                prover.hold()
                for n in range(30):
                    callers.start_soon(caller, rt, 10 + n)
                callers.start_soon(release_once_stopping, rt)
                await wait_until(lambda: rt.metrics().accepted == 30)
                scope.cancel()
    assert scope.cancelled_caught
    s = rt.metrics()
    check_identities(s)
    assert s.in_flight == s.unanswered == 0
    # Every caller was answered with RuntimeClosed and every answer was counted.
    assert len(outcomes) == 30
    closed = sum(isinstance(o, RuntimeClosed) for o in outcomes)
    assert closed >= 29  # all but the proof that was running, at most
    assert s.failures == {"RuntimeClosed": closed}
    assert s.receipts == 30 - closed


async def test_peaks_are_recorded_when_they_happen() -> None:
    prover = FaultInjectingTestProver()
    async with ZkRuntime(config(max_parallel=1), _prover=prover) as rt:
        assert set(rt.metrics().peak_queue_depths.values()) == {0}
        prover.hold()
        handles = [rt.try_prove(FIB, (10 + n,)) for n in range(6)]
        await wait_until(lambda: rt.metrics().queue_depths["proofs_queued"] == 5)
        prover.release()
        for handle in handles:
            await handle
        s = rt.metrics()
    # Now empty, but the queue was 5 deep while the first proof was held.
    assert s.queue_depths["proofs_queued"] == 0
    assert s.peak_queue_depths["proofs_queued"] in (5, 6)  # 6 if all came in one batch
    assert s.peak_queue_depths["proofs_pending"] == 6
    assert s.peak_queue_depths["proofs_running"] == 1
