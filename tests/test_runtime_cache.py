"""The cache actor, with the real prover (profile "test"): hits, coalescing, LRU bounds,
and self-switching on the hit rate."""

from __future__ import annotations

from typing import Any

import anyio
import pytest
from log_capture import capture_events
from runtime_doubles import FaultInjectingTestProver, wait_until

from zkactors import RuntimeConfig, ZkRuntime, programs
from zkactors.zkvm.receipt import Receipt
from zkactors.zkvm.verifier import verify

pytestmark = pytest.mark.anyio

FIB = programs.load("fib")


def config(**overrides: Any) -> RuntimeConfig:
    return RuntimeConfig(**{"profile": "test", "max_parallel": 2, **overrides})


async def test_concurrent_identical_requests_make_one_proof() -> None:
    prover = FaultInjectingTestProver()
    prover.hold()
    receipts: list[Receipt] = []

    async def one(rt: ZkRuntime) -> None:
        receipts.append(await rt.prove(FIB, (20,)))

    async with ZkRuntime(config(), _prover=prover) as rt:
        async with anyio.create_task_group() as tg:
            for _ in range(50):
                tg.start_soon(one, rt)
            await wait_until(lambda: rt.metrics().coalesced == 49)
            prover.release()
        snapshot = rt.metrics()
    assert prover.calls == [(20,)]
    assert len(receipts) == 50
    assert all(receipt is receipts[0] for receipt in receipts)
    verify(receipts[0], FIB, min_security_bits=0)
    assert receipts[0].outputs == (6765,)
    assert (snapshot.misses, snapshot.coalesced, snapshot.hits, snapshot.proofs) == (1, 49, 0, 1)


async def test_a_repeat_is_answered_from_the_cache_without_proving() -> None:
    prover = FaultInjectingTestProver()
    async with ZkRuntime(config(), _prover=prover) as rt:
        first = await rt.prove(FIB, (12,))
        second = await rt.prove(FIB, [12])
        third = await rt.prove(FIB, {"n": 12})
        snapshot = rt.metrics()
    assert second is first and third is first
    assert prover.calls == [(12,)]
    assert (snapshot.hits, snapshot.misses) == (2, 1)
    assert snapshot.cache_entries == 1 and snapshot.cache_bytes == first.size
    verify(first, FIB, min_security_bits=0)


async def test_profiles_are_part_of_the_key() -> None:
    prover = FaultInjectingTestProver()
    async with ZkRuntime(config(), _prover=prover) as rt:
        fast = await rt.prove(FIB, (5,), profile="test")
        secure = await rt.prove(FIB, (5,), profile="default")
    assert fast.profile == "test" and secure.profile == "default"
    assert len(prover.calls) == 2
    verify(secure, FIB, min_security_bits=0)


async def test_lru_bounds_entries_and_evicts_least_recently_used() -> None:
    prover = FaultInjectingTestProver()
    # off_below 0 / on_at 0: the cache never switches off here, only its bounds act.
    cfg = config(cache_max_entries=3, cache_off_below=0.0, cache_on_at=0.0)
    async with ZkRuntime(cfg, _prover=prover) as rt:
        for n in (1, 2, 3):
            await rt.prove(FIB, (n,))
        await rt.prove(FIB, (1,))  # 1 becomes the most recently used
        await rt.prove(FIB, (4,))  # evicts 2, the least recently used
        assert len(prover.calls) == 4
        await rt.prove(FIB, (1,))
        await rt.prove(FIB, (3,))
        assert len(prover.calls) == 4
        await rt.prove(FIB, (2,))  # was evicted: proved again
        snapshot = rt.metrics()
    assert prover.calls == [(1,), (2,), (3,), (4,), (2,)]
    assert snapshot.cache_entries == 3
    assert snapshot.cache_evictions == 2


async def test_cache_is_bounded_by_bytes() -> None:
    prover = FaultInjectingTestProver()
    async with ZkRuntime(config(), _prover=prover) as rt:
        sizes = [(await rt.prove(FIB, (n,))).size for n in (1, 2, 3)]
    limit = sizes[0] + sizes[1] + sizes[2] - 1  # room for two of the three, not all
    cfg = config(cache_max_bytes=limit, cache_off_below=0.0, cache_on_at=0.0)
    async with ZkRuntime(cfg, _prover=prover) as rt:
        for n in (1, 2, 3):
            await rt.prove(FIB, (n,))
        snapshot = rt.metrics()
    assert snapshot.cache_bytes <= limit
    assert snapshot.cache_entries == 2
    assert snapshot.cache_evictions == 1


async def test_low_hit_rate_turns_the_cache_off_and_high_turns_it_on() -> None:
    prover = FaultInjectingTestProver()
    cfg = config(cache_window=40, cache_min_requests=10)
    with capture_events() as logs:
        async with ZkRuntime(cfg, _prover=prover) as rt:
            # 10 % repeats: every tenth request repeats an earlier one.
            for i in range(40):
                n = i - 5 if i % 10 == 9 else i
                await rt.prove(FIB, (n,))
            off = rt.metrics()
            proofs_while_off = len(prover.calls)
            # 90 % repeats over four hot keys (seen before, so known to the shadow cache).
            for i in range(80):
                n = (0, 1, 2, 3)[i % 4] if i % 10 != 9 else 100 + i
                await rt.prove(FIB, (n,))
            on = rt.metrics()
    assert not off.cache_enabled
    assert off.cache_entries == 0 and off.cache_bytes == 0
    assert off.cache_would_be_hit_rate < 0.5
    assert on.cache_enabled
    assert on.cache_would_be_hit_rate >= 0.6
    assert on.would_be_hits > 0
    assert on.cache_switches == 2
    assert on.hits > 0
    events = [entry["event"] for entry in logs if entry["event"].startswith("cache.")]
    assert events == ["cache.disabled", "cache.enabled"]
    # While off, repeats of finished proofs were proved again (nothing stored).
    assert len(prover.calls) > proofs_while_off + 8


async def test_coalescing_stays_on_while_the_cache_is_off() -> None:
    prover = FaultInjectingTestProver()
    cfg = config(cache_window=10, cache_min_requests=10)
    async with ZkRuntime(cfg, _prover=prover) as rt:
        for n in range(10):
            await rt.prove(FIB, (n,))
        assert not rt.metrics().cache_enabled
        prover.hold()
        results: list[Receipt] = []

        async def one() -> None:
            results.append(await rt.prove(FIB, (50,)))

        async with anyio.create_task_group() as tg:
            for _ in range(20):
                tg.start_soon(one)
            await wait_until(lambda: rt.metrics().coalesced == 19)
            prover.release()
        assert prover.calls.count((50,)) == 1
        assert all(r is results[0] for r in results)
        # Off means no receipts stored: the same request later is proved again.
        await rt.prove(FIB, (50,))
        assert prover.calls.count((50,)) == 2
