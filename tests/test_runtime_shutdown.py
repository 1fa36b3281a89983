"""Shutdown with work in flight (drain and cancel) leaves no task, thread or channel
behind and answers everyone; a caller that cancels or times out disturbs nobody."""

from __future__ import annotations

from typing import Any

import anyio
import pytest
from runtime_doubles import FaultInjectingTestProver, wait_until

from zkactors import RuntimeConfig, ZkRuntime, programs
from zkactors.errors import DeadlineExceeded, RuntimeClosed, ZkActorsError
from zkactors.zkvm.receipt import Receipt
from zkactors.zkvm.verifier import verify

pytestmark = pytest.mark.anyio

FIB = programs.load("fib")


def config(**overrides: Any) -> RuntimeConfig:
    return RuntimeConfig(**{"profile": "test", "max_parallel": 2, **overrides})


async def _call(rt: ZkRuntime, n: int, outcomes: dict[int, Any]) -> None:
    try:
        outcomes[n] = await rt.prove(FIB, (n,))
    except ZkActorsError as exc:
        outcomes[n] = exc


async def test_drain_finishes_accepted_work_and_leaves_nothing_behind() -> None:
    prover = FaultInjectingTestProver()
    prover.hold()
    outcomes: dict[int, Any] = {}
    tasks_before = len(anyio.get_running_tasks())
    async with anyio.create_task_group() as callers:
        async with ZkRuntime(config(shutdown="drain"), _prover=prover) as rt:
            for n in range(12):
                callers.start_soon(_call, rt, n, outcomes)
            await wait_until(lambda: rt.metrics().accepted == 12)
            prover.release()
        # Leaving the block waited for every accepted request.
        assert len(outcomes) == 12
    assert all(isinstance(outcomes[n], Receipt) for n in range(12))
    verify(outcomes[11], FIB, min_security_bits=0)
    assert prover.active == 0 and prover.completed == 12
    assert rt._open_channels() == 0
    assert len(anyio.get_running_tasks()) == tasks_before
    snapshot = rt.metrics()
    assert snapshot.in_flight == 0 and snapshot.receipts == 12


async def test_cancel_answers_at_once_and_waits_for_running_threads() -> None:
    prover = FaultInjectingTestProver()
    prover.hold()
    outcomes: dict[int, Any] = {}
    tasks_before = len(anyio.get_running_tasks())

    async def release_when_all_answered() -> None:
        await wait_until(lambda: len(outcomes) == 12)
        prover.release()

    async with anyio.create_task_group() as callers:
        async with ZkRuntime(config(shutdown="cancel"), _prover=prover) as rt:
            for n in range(12):
                callers.start_soon(_call, rt, n, outcomes)
            await wait_until(lambda: rt.metrics().accepted == 12)
            await anyio.to_thread.run_sync(prover.wait_entered, 2)
            # Two proofs are running in threads (held); the other ten are queued.
            callers.start_soon(release_when_all_answered)
        # The runtime answered everyone before the held threads could finish, and
        # leaving the block waited for those threads.
        assert prover.active == 0
    assert all(isinstance(outcomes[n], RuntimeClosed) for n in range(12))
    assert "shutdown='cancel'" in str(outcomes[0])
    assert prover.completed == 2
    assert rt._open_channels() == 0
    assert len(anyio.get_running_tasks()) == tasks_before
    snapshot = rt.metrics()
    assert snapshot.failures == {"RuntimeClosed": 12}
    assert snapshot.in_flight == 0


async def test_callers_waiting_for_room_get_runtime_closed_at_shutdown() -> None:
    prover = FaultInjectingTestProver()
    prover.hold()
    outcomes: dict[int, Any] = {}
    cfg = config(shutdown="cancel", intake_capacity=1, max_pending_proofs=1)
    async with anyio.create_task_group() as callers, ZkRuntime(cfg, _prover=prover) as rt:
        for n in range(8):
            callers.start_soon(_call, rt, n, outcomes)
        await anyio.to_thread.run_sync(prover.wait_entered, 1)
        await wait_until(lambda: rt.metrics().queue_depths["intake"] == 1)
        callers.start_soon(_release_later, prover, outcomes, 8)
    assert len(outcomes) == 8
    assert all(isinstance(o, RuntimeClosed) for o in outcomes.values())
    snapshot = rt.metrics()
    assert snapshot.requests == snapshot.receipts + sum(snapshot.failures.values())
    assert snapshot.requests == 8


async def _release_later(
    prover: FaultInjectingTestProver, outcomes: dict[int, Any], count: int
) -> None:
    await wait_until(lambda: len(outcomes) == count)
    prover.release()


async def test_a_cancelled_caller_does_not_disturb_its_co_waiters() -> None:
    prover = FaultInjectingTestProver()
    prover.hold()
    async with ZkRuntime(config(), _prover=prover) as rt:
        results: list[Receipt] = []

        async def patient() -> None:
            results.append(await rt.prove(FIB, (30,)))

        async with anyio.create_task_group() as tg:
            with anyio.CancelScope() as impatient:
                tg.start_soon(patient)
                await wait_until(lambda: rt.metrics().misses == 1)
                async with anyio.create_task_group() as inner:
                    inner.start_soon(rt.prove, FIB, (30,))
                    await wait_until(lambda: rt.metrics().coalesced == 1)
                    impatient.cancel()
            prover.release()
        assert len(results) == 1
        verify(results[0], FIB, min_security_bits=0)
        # The proof ran once and its receipt is cached for later callers.
        assert await rt.prove(FIB, (30,)) is results[0]
        assert prover.calls == [(30,)]


async def test_a_timed_out_caller_gets_deadline_exceeded_and_its_proof_stops() -> None:
    # Nobody else waits for these proofs, so the timeout gives them up: each is cancelled
    # (the held prover sees its token), and a later identical request is proved anew.
    prover = FaultInjectingTestProver()
    prover.hold()
    async with ZkRuntime(config(), _prover=prover) as rt:
        with pytest.raises(DeadlineExceeded, match="deadline"):
            await rt.prove(FIB, (40,), timeout=0.05)
        handle = rt.try_prove(FIB, (41,), timeout=0.05)
        with pytest.raises(DeadlineExceeded):
            await handle
        await wait_until(lambda: rt.metrics().proofs_cancelled == 2)
        prover.release()
        receipt = await rt.prove(FIB, (40,))
        snapshot = rt.metrics()
    verify(receipt, FIB, min_security_bits=0)
    assert prover.calls.count((40,)) == 2
    assert snapshot.failures == {"DeadlineExceeded": 2}
    assert snapshot.proofs == 1
    assert snapshot.proof_failures == 0
    assert snapshot.hits == 0


async def test_host_cancellation_stops_the_runtime_cleanly() -> None:
    prover = FaultInjectingTestProver()
    outcomes: dict[int, Any] = {}
    tasks_before = len(anyio.get_running_tasks())
    with anyio.CancelScope() as scope:
        async with ZkRuntime(config(), _prover=prover) as rt, anyio.create_task_group() as tg:
            for n in range(6):
                tg.start_soon(_call, rt, n, outcomes)
            await wait_until(lambda: rt.metrics().accepted == 6)
            scope.cancel()
            await anyio.sleep_forever()
    assert scope.cancelled_caught
    assert rt._open_channels() == 0
    assert prover.active == 0
    assert len(anyio.get_running_tasks()) == tasks_before
