"""Faults: typed errors from the prover, crashes of provers and the estimator (restarted
one-for-one), and the restart-intensity limit (RuntimeFailed, every request answered)."""

from __future__ import annotations

from typing import Any

import anyio
import pytest
from log_capture import capture_events
from runtime_doubles import (
    CrashingTestExecute,
    FaultInjectingTestProver,
    InjectedCrash,
    wait_until,
)

from zkactors import RuntimeConfig, ZkRuntime, programs
from zkactors.errors import ActorCrashed, ProvingError, RuntimeFailed, ZkActorsError
from zkactors.zkvm.receipt import Receipt
from zkactors.zkvm.verifier import verify

pytestmark = pytest.mark.anyio

FIB = programs.load("fib")


def config(**overrides: Any) -> RuntimeConfig:
    return RuntimeConfig(**{"profile": "test", "max_parallel": 2, **overrides})


async def test_a_typed_prover_error_fails_only_its_request() -> None:
    prover = FaultInjectingTestProver()
    prover.fail_on((7,), ProvingError("injected: trace too large"))
    async with ZkRuntime(config(), _prover=prover) as rt:
        with pytest.raises(ProvingError, match="injected"):
            await rt.prove(FIB, (7,))
        receipt = await rt.prove(FIB, (8,))
        snapshot = rt.metrics()
    verify(receipt, FIB, min_security_bits=0)
    assert snapshot.restarts == {}
    assert snapshot.failures == {"ProvingError": 1}
    assert snapshot.proof_failures == 1 and snapshot.proofs == 1


async def test_a_crashing_prover_is_restarted_and_its_waiters_get_actor_crashed() -> None:
    prover = FaultInjectingTestProver()
    prover.crash_on((9,), times=1)
    prover.hold()
    outcomes: list[Any] = []

    async def one(rt: ZkRuntime) -> None:
        try:
            outcomes.append(await rt.prove(FIB, (9,)))
        except ZkActorsError as exc:
            outcomes.append(exc)

    with capture_events() as logs:
        async with ZkRuntime(config(), _prover=prover) as rt:
            async with anyio.create_task_group() as tg:
                for _ in range(3):
                    tg.start_soon(one, rt)
                await wait_until(lambda: rt.metrics().coalesced == 2)
                prover.release()
            # The restarted prover serves the retry (a failed proof is never cached).
            receipt = await rt.prove(FIB, (9,))
            others = await rt.prove_many([(FIB, (n,)) for n in range(20, 26)])
            snapshot = rt.metrics()
    assert [e["actor"] for e in logs if e["event"] == "runtime.actor_crashed"] == ["prover-0"]
    assert len(outcomes) == 3
    assert all(isinstance(o, ActorCrashed) for o in outcomes)
    assert isinstance(outcomes[0].__cause__, InjectedCrash)
    assert "restarted" in str(outcomes[0])
    verify(receipt, FIB, min_security_bits=0)
    assert all(isinstance(r, Receipt) for r in others)
    assert snapshot.restarts == {"prover-0": 1}
    assert snapshot.failures == {"ActorCrashed": 3}


async def test_a_crashing_estimator_is_restarted() -> None:
    execute = CrashingTestExecute()
    execute.crash_on((4,), times=1)
    with capture_events():
        async with ZkRuntime(config(), _execute=execute) as rt:
            with pytest.raises(ActorCrashed, match="estimator"):
                await rt.prove(FIB, (4,))
            receipt = await rt.prove(FIB, (4,))
            snapshot = rt.metrics()
    verify(receipt, FIB, min_security_bits=0)
    assert snapshot.restarts == {"estimator": 1}


async def test_beyond_the_restart_limit_the_runtime_fails_and_answers_everyone() -> None:
    prover = FaultInjectingTestProver()
    prover.crash_on((5,))
    prover.hold()
    outcomes: dict[int, Any] = {}

    async def one(rt: ZkRuntime, n: int) -> None:
        try:
            outcomes[n] = await rt.prove(FIB, (n,))
        except ZkActorsError as exc:
            outcomes[n] = exc

    cfg = config(max_restarts=1, restart_period=60.0)
    with capture_events() as logs, pytest.raises(RuntimeFailed, match="restart limit") as failed:
        async with ZkRuntime(cfg, _prover=prover) as rt:
            # First crash: within the limit, restarted.
            prover.release()
            with pytest.raises(ActorCrashed):
                await rt.prove(FIB, (5,))
            prover.hold()
            async with anyio.create_task_group() as tg:
                tg.start_soon(one, rt, 5)
                for n in range(30, 50):
                    tg.start_soon(one, rt, n)
                await wait_until(lambda: rt.metrics().accepted == 22)
                prover.release()
            # Every caller has its answer; new calls are refused.
            with pytest.raises(RuntimeFailed):
                await rt.prove(FIB, (60,))
            assert not rt.running
    assert isinstance(failed.value.__cause__, InjectedCrash)
    events = [entry["event"] for entry in logs]
    assert events.count("runtime.actor_crashed") == 2
    assert events.count("runtime.failed") == 1
    assert len(outcomes) == 21
    # The request whose crash broke the limit is answered like every other open one.
    assert isinstance(outcomes[5], RuntimeFailed)
    assert isinstance(outcomes[5].__cause__, InjectedCrash)
    for n in range(30, 50):
        assert isinstance(outcomes[n], Receipt | RuntimeFailed), outcomes[n]
    assert any(isinstance(outcomes[n], RuntimeFailed) for n in range(30, 50))
    snapshot = rt.metrics()
    assert snapshot.in_flight == snapshot.unanswered == 0
    assert snapshot.requests == snapshot.receipts + sum(snapshot.failures.values())
    # The identities that can fail hold after a failure too (MetricsSnapshot docstring).
    assert snapshot.accepted == (
        snapshot.hits + snapshot.misses + snapshot.coalesced + snapshot.unserved
    )
    assert snapshot.receipts + sum(snapshot.failures.values()) == (
        snapshot.rejected + snapshot.latency_count
    )
    assert prover.active == 0
    assert rt._open_channels() == 0


async def test_restart_intensity_window_forgives_old_crashes() -> None:
    from zkactors.runtime.supervisor import RestartIntensity

    now = [0.0]
    intensity = RestartIntensity(2, 10.0, clock=lambda: now[0])
    assert intensity.permit() and intensity.permit()
    assert not intensity.permit()
    now[0] = 10.5
    assert intensity.permit()


async def test_an_estimator_crash_fails_only_the_request_that_caused_it() -> None:
    execute = CrashingTestExecute()
    execute.crash_on((5,), times=1)
    with capture_events():
        async with ZkRuntime(config(), _execute=execute) as rt:
            answers = await rt.prove_many(
                [(FIB, (n,)) for n in range(3, 9)], return_exceptions=True
            )
            snapshot = rt.metrics()
    crashed = [n for n, a in zip(range(3, 9), answers, strict=True) if isinstance(a, ActorCrashed)]
    assert crashed == [5]
    assert all(isinstance(a, Receipt) for n, a in zip(range(3, 9), answers, strict=True) if n != 5)
    assert snapshot.restarts == {"estimator": 1}
