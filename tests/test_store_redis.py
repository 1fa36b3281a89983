"""Two runtimes sharing one real redis-server, which is killed and restarted in the middle
of their workload: every request is answered exactly once with a valid receipt, and both
runtimes use the store again once it is back."""

from __future__ import annotations

from typing import Any

import anyio
import pytest
from conftest import RedisServer
from runtime_doubles import wait_until

from zkactors import RuntimeConfig, ZkRuntime, programs
from zkactors.errors import ZkActorsError
from zkactors.runtime.outcomes import ProofOutcome
from zkactors.zkvm.verifier import verify

pytestmark = pytest.mark.anyio

FIB = programs.load("fib")


def config(url: str) -> RuntimeConfig:
    # A short store timeout: a dead server is noticed quickly (the test waits on it).
    return RuntimeConfig(
        profile="test", max_parallel=2, calibrate="off", store=url, store_timeout=0.2
    )


def writes_settled(rt: ZkRuntime) -> int:
    """Store writes done, dropped or failed so far."""
    snap = rt.metrics()
    return snap.store_writes + snap.store_writes_dropped + snap.store_errors


class Ledger:
    """Every answer of every request, by request id (one event loop: no lock)."""

    def __init__(self) -> None:
        self.answers: dict[int, list[ProofOutcome | ZkActorsError]] = {}
        self.inputs: dict[int, int] = {}
        self.next_id = 0

    @property
    def answered(self) -> int:
        return sum(len(a) for a in self.answers.values())

    async def ask(self, rt: ZkRuntime, n: int) -> None:
        request = self.next_id
        self.next_id += 1
        self.inputs[request] = n
        self.answers[request] = []
        try:
            outcome: Any = await rt.prove_detailed(FIB, (n,))
        except ZkActorsError as exc:  # recorded: the assertions below say none came
            outcome = exc
        self.answers[request].append(outcome)


async def test_two_runtimes_share_a_store_through_a_server_crash_and_restart(
    redis_server: RedisServer,
) -> None:
    ledger = Ledger()
    url = redis_server.url
    async with ZkRuntime(config(url)) as a, ZkRuntime(config(url)) as b:
        # Phase 1: both prove overlapping work; what one proves the other may find stored.
        async with anyio.create_task_group() as tg:
            for n in range(100, 130):
                tg.start_soon(ledger.ask, a, n)
                tg.start_soon(ledger.ask, b, n + 15)
        before_crash = ledger.answered

        # Phase 2: the server dies with requests (lookups, writes) in flight, stays down
        # for a while, and comes back empty on the same port.
        async with anyio.create_task_group() as tg:
            for n in range(200, 260):
                tg.start_soon(ledger.ask, a if n % 2 else b, n)
            await wait_until(lambda: ledger.answered >= before_crash + 10)
            redis_server.kill()
            await wait_until(lambda: ledger.answered >= before_crash + 40)
            redis_server.start()

        # Phase 3: both use the store again: what a proves now, b finds in the store.
        n = 300
        with anyio.fail_after(60):  # a bound for a hung test, not a performance assertion
            while True:
                writes = writes_settled(a)
                await ledger.ask(a, n)
                # a's write of n is done (or failed) before b asks
                await wait_until(lambda w=writes: writes_settled(a) > w)
                await ledger.ask(b, n)
                last = ledger.answers[ledger.next_id - 1][0]
                if isinstance(last, ProofOutcome) and last.source == "store":
                    break
                n += 1
                await anyio.sleep(0.05)  # the back-off after the crash passes
        snap_a, snap_b = a.metrics(), b.metrics()

    # Every request: exactly one answer, a receipt for its own inputs that verifies.
    assert ledger.next_id == len(ledger.answers) == ledger.answered
    for request, answers in ledger.answers.items():
        assert len(answers) == 1, request
        outcome = answers[0]
        assert isinstance(outcome, ProofOutcome), outcome
        assert outcome.receipt.inputs == (ledger.inputs[request],)
        verify(outcome.receipt, FIB, min_security_bits=0)
    for snap in (snap_a, snap_b):
        assert not snap.failures and snap.in_flight == 0
        assert snap.store_errors >= 1  # the crash was seen, counted, and survived
    assert snap_a.receipts + snap_b.receipts == ledger.answered
    assert snap_b.store_hits >= 1  # shared: b was answered with a's receipts
    # Phase 1 already shared work between the runtimes through the store.
    sources = {
        o.source
        for answers in ledger.answers.values()
        for o in answers
        if isinstance(o, ProofOutcome)
    }
    assert {"proved", "store"} <= sources


async def test_a_store_that_is_down_at_start_is_used_once_it_is_up(
    redis_server: RedisServer,
) -> None:
    redis_server.kill()
    async with ZkRuntime(config(redis_server.url)) as rt:
        verify(await rt.prove(FIB, (5,)), FIB, min_security_bits=0)
        assert rt.metrics().store_errors >= 1
        redis_server.start()
        n = 10
        with anyio.fail_after(60):  # a bound for a hung test only
            while rt.metrics().store_writes == 0:
                verify(await rt.prove(FIB, (n,)), FIB, min_security_bits=0)
                n += 1
                await anyio.sleep(0.05)
        assert not rt.metrics().failures
    async with ZkRuntime(config(redis_server.url)) as rt:
        outcome = await rt.prove_detailed(FIB, (n - 1,))
    assert outcome.source == "store"
