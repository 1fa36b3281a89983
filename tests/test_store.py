"""Persistent receipt stores (``RuntimeConfig.store``): the backends' contract (memory,
sqlite and a real redis-server), the runtime answering from a store after a restart,
corrupted entries never served, failures never failing a request, and a SIGKILL in the
middle of writes leaving a store that serves every receipt written whole."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import anyio
import oracle_prover
import pytest
from conftest import RedisServer
from runtime_doubles import FaultInjectingTestProver, wait_until

import zkactors
from zkactors import RuntimeConfig, ZkRuntime, programs
from zkactors.errors import ConfigError, StoreError
from zkactors.runtime.messages import CacheKey
from zkactors.runtime.store import (
    StoreFront,
    StoreLimits,
    ThreadedStore,
    encode_entry,
    open_store,
    parse_store_url,
    store_key,
)
from zkactors.runtime.store.redis import RedisStore
from zkactors.runtime.store.sqlite import SqliteStore
from zkactors.zkvm.execute import execute
from zkactors.zkvm.prover import prove
from zkactors.zkvm.receipt import Receipt
from zkactors.zkvm.verifier import verify

pytestmark = pytest.mark.anyio

FIB = programs.load("fib")
LIMITS = StoreLimits(max_entries=1000, max_bytes=1 << 30, ttl=None, timeout=5.0, threads=2)


def config(**overrides: Any) -> RuntimeConfig:
    return RuntimeConfig(**{"profile": "test", "max_parallel": 2, "calibrate": "off", **overrides})


def key_of(n: int) -> CacheKey:
    return CacheKey(FIB.hash, (n,), "test")


_RECEIPTS: dict[int, Receipt] = {}


def receipt_of(n: int) -> Receipt:
    if n not in _RECEIPTS:
        _RECEIPTS[n] = prove(FIB, [n], profile="test")
    return _RECEIPTS[n]


def entry_of(n: int) -> bytes:
    return encode_entry(receipt_of(n), execute(FIB, [n]).cycles)


@pytest.fixture(params=["sqlite", "redis"])
def persistent_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/receipts.db"
    server: RedisServer = request.getfixturevalue("redis_server")
    return server.url


@pytest.fixture(params=["memory", "sqlite", "redis"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "memory":
        return "memory://"
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/receipts.db"
    server: RedisServer = request.getfixturevalue("redis_server")
    return server.url


# ---- URLs ----


@pytest.mark.parametrize(
    "url",
    [
        "ftp://host/x",
        "sqlite://somehost/receipts.db",
        "sqlite:///",
        "sqlite://",
        "redis://",
        "redis://host:70000/0",
        "redis://host/zero",
        "redis://host/0?timeout=1",
        "memory://somewhere",
        "",
    ],
)
def test_a_bad_store_url_is_a_config_error(url: str) -> None:
    with pytest.raises(ConfigError, match="store"):
        RuntimeConfig(store=url)


def test_store_urls_parse() -> None:
    assert parse_store_url("sqlite:///var/lib/r.db").path == "/var/lib/r.db"
    assert parse_store_url("sqlite:rel/r.db").path == "rel/r.db"
    url = parse_store_url("redis://:secret@cache.internal:6380/3")
    assert (url.host, url.port, url.db, url.password) == ("cache.internal", 6380, 3, "secret")
    assert "secret" not in url.redacted() and "secret" not in repr(url)
    assert parse_store_url("redis://cache").port == 6379
    with pytest.raises(ConfigError):
        RuntimeConfig(store_ttl=0)
    with pytest.raises(ConfigError):
        RuntimeConfig(store_timeout=-1.0)


# ---- the backends' contract ----


async def test_get_put_delete(store_url: str) -> None:
    store = open_store(parse_store_url(store_url), LIMITS)
    key = store_key(key_of(3))
    assert await store.get(key) is None
    await store.put(key, b"first")
    await store.put(key, b"second")  # a rewrite replaces
    assert await store.get(key) == b"second"
    await store.delete(key)
    assert await store.get(key) is None
    await store.delete(key)  # deleting nothing is fine
    await store.close()


async def test_size_is_bounded_by_entries_and_bytes_oldest_out(store_url: str) -> None:
    limits = StoreLimits(max_entries=3, max_bytes=250, ttl=None, timeout=5.0, threads=2)
    store = open_store(parse_store_url(store_url), limits)
    keys = [store_key(key_of(n)) for n in range(6)]
    for n in range(4):
        await store.put(keys[n], bytes([n]) * 50)
    assert [await store.get(k) is not None for k in keys[:4]] == [False, True, True, True]
    # Four entries: 1 goes; 50 + 50 + 151 bytes > 250: 2 goes too.
    await store.put(keys[4], b"x" * 151)
    assert [await store.get(k) is not None for k in keys[:5]] == [False] * 3 + [True, True]
    await store.put(keys[5], b"y" * 251)  # larger than the store: not kept, nothing evicted
    assert await store.get(keys[5]) is None and await store.get(keys[4]) is not None
    await store.close()


async def test_entries_expire_after_the_ttl(store_url: str) -> None:
    limits = StoreLimits(max_entries=10, max_bytes=1 << 20, ttl=0.05, timeout=5.0, threads=2)
    store = open_store(parse_store_url(store_url), limits)
    key = store_key(key_of(1))
    await store.put(key, b"short-lived")
    await anyio.sleep(0.3)  # comfortably past the TTL: a lower bound only
    assert await store.get(key) is None
    await store.close()


async def test_sqlite_totals_follow_every_write(tmp_path: Path) -> None:
    limits = StoreLimits(max_entries=4, max_bytes=1 << 20, ttl=None, timeout=5.0, threads=2)
    store = SqliteStore(parse_store_url(f"sqlite:///{tmp_path}/r.db"), limits)
    for n in range(7):
        await store.put(store_key(key_of(n)), b"z" * (10 + n))
    await store.delete(store_key(key_of(6)))
    await store.close()
    assert store.totals() == (3, 13 + 14 + 15)
    with sqlite3.connect(tmp_path / "r.db") as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("SELECT count(*), total(length(value)) FROM receipts").fetchone() == (
            3,
            42.0,
        )


# ---- the runtime with a store ----


async def test_a_restarted_runtime_answers_from_the_store_without_proving(
    persistent_url: str,
) -> None:
    store_url = persistent_url
    first = FaultInjectingTestProver()
    async with ZkRuntime(config(store=store_url), _prover=first) as rt:
        proved = [await rt.prove(FIB, (n,)) for n in range(1, 6)]
    assert len(first.calls) == 5
    assert rt.metrics().store_writes == 5  # written before the runtime finished stopping

    second = FaultInjectingTestProver()
    async with ZkRuntime(config(store=store_url), _prover=second) as rt:
        outcomes = [await rt.prove_detailed(FIB, (n,)) for n in range(1, 6)]
        again = await rt.prove_detailed(FIB, (3,))
        snapshot = rt.metrics()
    assert second.calls == []
    assert [o.source for o in outcomes] == ["store"] * 5
    for n, outcome, old in zip(range(1, 6), outcomes, proved, strict=True):
        verify(outcome.receipt, FIB, min_security_bits=0)
        assert outcome.receipt.to_bytes() == old.to_bytes()
        assert outcome.cycles == execute(FIB, [n]).cycles
        assert outcome.trace_length == old.trace_length and outcome.threads is None
    assert again.source == "cache"  # a store hit also fills the memory cache
    assert (snapshot.store_hits, snapshot.store_misses, snapshot.store_errors) == (5, 0, 0)
    assert (snapshot.misses, snapshot.hits, snapshot.proofs) == (5, 1, 0)
    assert snapshot.store_latency_p50 is not None
    assert snapshot.receipts == 6 and not snapshot.failures
    text = snapshot.to_prometheus()
    assert 'zkactors_store_lookups_total{result="hit"} 5' in text
    assert "zkactors_store_lookup_seconds_count 5" in text


async def test_identical_requests_during_a_lookup_share_it() -> None:
    store = open_store(parse_store_url("memory://"), LIMITS)
    await store.put(store_key(key_of(7)), entry_of(7))
    prover = FaultInjectingTestProver()
    async with ZkRuntime(config(store="memory://"), _prover=prover, _store=store) as rt:
        receipts = await rt.prove_many([(FIB, (7,))] * 20)
        snapshot = rt.metrics()
    assert prover.calls == []
    assert all(r.to_bytes() == receipts[0].to_bytes() for r in receipts)
    assert snapshot.store_hits == 1 and snapshot.misses + snapshot.coalesced == 20


async def _corrupt_sqlite(path: Path, entries: dict[int, bytes]) -> None:
    """Rewrite rows on disk behind the store's back (another connection, as another
    process or a disk fault would)."""
    with sqlite3.connect(path) as conn:
        for n, value in entries.items():
            changed = conn.execute(
                "UPDATE receipts SET value = ? WHERE key = ?", (value, store_key(key_of(n)))
            ).rowcount
            assert changed == 1


def _flip_in_sqlite_file(path: Path, entry: bytes, at: int) -> None:
    """Flip one bit of ``entry`` where it lies in the database file itself, beneath
    SQLite (bit rot: SQLite keeps no checksums of row contents)."""
    with sqlite3.connect(path) as conn:  # move the WAL's pages into the main file
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = bytearray(path.read_bytes())
    needle = entry[at : at + 32]
    assert data.count(needle) == 1
    data[data.index(needle)] ^= 0x01
    path.write_bytes(bytes(data))


def _flip_in_redis(server: RedisServer, n: int, at: int) -> None:
    client = server.client()
    try:
        name = RedisStore.entry_key(store_key(key_of(n)))
        value = client.get(name)
        client.setrange(name, at, bytes([value[at] ^ 0x01]))
    finally:
        client.close()


async def _corrupt_redis(server: RedisServer, entries: dict[int, bytes]) -> None:
    client = server.client()
    try:
        for n, value in entries.items():
            name = RedisStore.entry_key(store_key(key_of(n)))
            assert client.exists(name)
            client.set(name, value)
    finally:
        client.close()


@pytest.mark.parametrize("backend", ["sqlite", "redis"])
async def test_corrupted_truncated_and_foreign_entries_are_never_served(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path}/receipts.db"
    else:
        server: RedisServer = request.getfixturevalue("redis_server")
        url = server.url
    numbers = range(1, 9)
    async with ZkRuntime(config(store=url)) as rt:
        for n in numbers:
            await rt.prove(FIB, (n,))
    good = {n: entry_of(n) for n in numbers}
    flipped = bytearray(good[2])
    flipped[len(flipped) // 2] ^= 0x01  # one bit deep in the proof
    bad_cycles = bytearray(good[6])
    bad_cycles[5:13] = (10**9).to_bytes(8, "little")  # more cycles than the trace holds
    damage = {
        1: good[1][: len(good[1]) // 2],  # truncated
        2: bytes(flipped),  # corrupted
        3: good[4],  # foreign: a valid receipt for another request
        4: b"not a receipt at all",
        5: b"",
        6: bytes(bad_cycles),
    }
    # 8: one bit flipped in the stored bytes themselves, inside the proof's first root.
    if backend == "sqlite":
        await _corrupt_sqlite(tmp_path / "receipts.db", damage)
        _flip_in_sqlite_file(tmp_path / "receipts.db", good[8], at=120)
    else:
        await _corrupt_redis(server, damage)
        _flip_in_redis(server, 8, at=120)

    prover = FaultInjectingTestProver()
    async with ZkRuntime(config(store=url), _prover=prover) as rt:
        outcomes = {n: await rt.prove_detailed(FIB, (n,)) for n in numbers}
        snapshot = rt.metrics()
    for n, outcome in outcomes.items():
        verify(outcome.receipt, FIB, min_security_bits=0)
        assert outcome.receipt.inputs == (n,)
        assert outcome.source == ("store" if n == 7 else "proved"), n
    assert sorted(prover.calls) == [(n,) for n in numbers if n != 7]
    assert snapshot.store_rejected == 7 and snapshot.store_hits == 1
    assert not snapshot.failures

    # The bad entries were deleted and the new proofs written: all are served now.
    async with ZkRuntime(config(store=url), _prover=FaultInjectingTestProver()) as rt:
        sources = [(await rt.prove_detailed(FIB, (n,))).source for n in numbers]
        assert rt.metrics().store_rejected == 0
    assert sources == ["store"] * 8


# ---- failures: never a failed request, never a stall ----


async def test_an_unreachable_store_costs_only_its_hits() -> None:
    import socket

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"redis://127.0.0.1:{port}/0"
    async with ZkRuntime(config(store=url, store_timeout=1.0)) as rt:
        receipts = [await rt.prove(FIB, (n,)) for n in range(1, 9)]
        snapshot = rt.metrics()
    for receipt in receipts:
        verify(receipt, FIB, min_security_bits=0)
    assert snapshot.receipts == 8 and not snapshot.failures
    assert snapshot.store_errors >= 1
    # After the first failure the store is left alone for a while, not asked per request.
    assert snapshot.store_skipped >= 1


class HangingStore(ThreadedStore):
    """TEST DOUBLE: a blocking backend whose calls hang until released (a server that
    accepts connections and never answers)."""

    def __init__(self, limits: StoreLimits) -> None:
        super().__init__(limits)
        self.url = parse_store_url("memory://")
        self.gate = threading.Event()

    def _hang(self) -> None:
        self.gate.wait(30)

    async def get(self, key: bytes) -> bytes | None:
        await self._call("get", self._hang)
        return None

    async def put(self, key: bytes, value: bytes) -> None:
        await self._call("put", self._hang)

    async def delete(self, key: bytes) -> None:
        await self._call("delete", self._hang)

    async def close(self) -> None:
        self.gate.set()


async def test_a_hanging_store_times_out_and_the_request_is_proved() -> None:
    limits = StoreLimits(max_entries=10, max_bytes=1 << 20, ttl=None, timeout=0.05, threads=2)
    store = HangingStore(limits)
    async with ZkRuntime(config(store_timeout=0.05, store_threads=2), _store=store) as rt:
        receipts = await rt.prove_many([(FIB, (n,)) for n in range(1, 11)])
        snapshot = rt.metrics()
    store.gate.set()
    assert len(receipts) == 10
    for receipt in receipts:
        verify(receipt, FIB, min_security_bits=0)
    assert not snapshot.failures
    assert snapshot.store_errors >= 1 and snapshot.store_hits == 0


async def test_threads_of_abandoned_calls_stay_bounded() -> None:
    limits = StoreLimits(max_entries=10, max_bytes=1 << 20, ttl=None, timeout=0.02, threads=2)
    store = HangingStore(limits)
    errors = []
    for _ in range(5):
        try:
            await store.get(b"k")
        except StoreError as exc:
            errors.append(str(exc))
    store.gate.set()
    # Two calls hang in their threads and time out; with those two threads still
    # running, the next calls fail at once instead of starting more.
    assert ["no answer" in e for e in errors] == [True, True, False, False, False]
    assert all("still busy" in e for e in errors[2:])


async def test_a_locked_sqlite_file_is_counted_and_the_store_used_again_after(
    tmp_path: Path,
) -> None:
    path = tmp_path / "receipts.db"
    url = f"sqlite:///{path}"
    async with ZkRuntime(config(store=url)) as rt:
        await rt.prove(FIB, (1,))  # creates the file and its schema
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")  # another process holding the write lock
    try:
        async with ZkRuntime(config(store=url, store_timeout=0.05)) as rt:
            for n in range(2, 6):
                verify(await rt.prove(FIB, (n,)), FIB, min_security_bits=0)
            await wait_until(lambda: rt.metrics().store_errors >= 1)
            blocker.execute("ROLLBACK")
            n = 100
            # Back-off passes; the next writes go through again. (fail_after: a bound
            # for a hung test, not a performance assertion.)
            with anyio.fail_after(60):
                while rt.metrics().store_writes == 0:
                    verify(await rt.prove(FIB, (n,)), FIB, min_security_bits=0)
                    n += 1
                    await anyio.sleep(0.05)
            snapshot = rt.metrics()
    finally:
        blocker.close()
    assert not snapshot.failures and snapshot.receipts == n - 100 + 4


class TinyDiskStore(SqliteStore):
    """TEST DOUBLE: a sqlite store whose file may not grow past a few pages, as on a
    full disk (SQLITE_FULL)."""

    def _connect(self) -> sqlite3.Connection:
        conn = super()._connect()
        conn.execute("PRAGMA max_page_count = 12")
        return conn


async def test_a_full_disk_fails_writes_not_requests(tmp_path: Path) -> None:
    store = TinyDiskStore(parse_store_url(f"sqlite:///{tmp_path}/r.db"), LIMITS)
    async with ZkRuntime(config(), _store=store) as rt:
        receipts = await rt.prove_many([(FIB, (n,)) for n in range(1, 9)])
        await rt.prove(FIB, (50,))
    snapshot = rt.metrics()
    assert len(receipts) == 8 and not snapshot.failures and snapshot.receipts == 9
    assert snapshot.store_errors >= 1


# ---- a process killed mid-write ----

_ROOT = str(Path(zkactors.__file__).resolve().parents[1])  # the child imports this copy
_WRITER = """
import sys, anyio
from zkactors import programs
from zkactors.runtime.messages import CacheKey
from zkactors.runtime.store import StoreLimits, encode_entry, open_store, parse_store_url
from zkactors.runtime.store import store_key
from zkactors.zkvm.execute import execute
from zkactors.zkvm.prover import prove

FIB = programs.load("fib")
entries = [
    (store_key(CacheKey(FIB.hash, (n,), "test")),
     encode_entry(prove(FIB, [n], profile="test"), execute(FIB, [n]).cycles))
    for n in range(1, 31)
]

async def main():
    limits = StoreLimits(max_entries=10**6, max_bytes=1 << 34, ttl=None, timeout=10.0, threads=2)
    store = open_store(parse_store_url(sys.argv[1]), limits)
    i = 0
    while True:  # rewrite forever: the kill lands in the middle of some write
        key, value = entries[i % len(entries)]
        await store.put(key, value)
        print("written", i % len(entries) + 1, flush=True)  # after the commit returned
        i += 1

anyio.run(main)
"""


async def test_sigkill_in_the_middle_of_writes_leaves_every_written_receipt(
    tmp_path: Path,
) -> None:
    path = tmp_path / "receipts.db"
    env = {**os.environ, "PYTHONPATH": _ROOT}
    written: set[int] = set()
    lines = 0
    buffer = b""
    async with await anyio.open_process(
        [sys.executable, "-c", _WRITER, f"sqlite:///{path}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
    ) as child:
        assert child.stdout is not None
        try:
            while lines < 75:  # every entry written at least twice, and mid-rewrite now
                buffer += await child.stdout.receive()  # EndOfStream: the writer died
                *complete, buffer = buffer.split(b"\n")
                for line in complete:
                    if line.startswith(b"written "):  # (the debug log shares stdout)
                        written.add(int(line.split()[1]))
                        lines += 1
        finally:
            child.send_signal(signal.SIGKILL)
            await child.wait()
    assert child.returncode == -signal.SIGKILL

    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        count, size = conn.execute("SELECT count(*), total(length(value)) FROM receipts").fetchone()
        assert conn.execute("SELECT entries, bytes FROM totals").fetchone() == (count, size)
    front = StoreFront(SqliteStore(parse_store_url(f"sqlite:///{path}"), LIMITS), LIMITS)
    for n in sorted(written):
        hit = await front.lookup(key_of(n), FIB)
        assert hit is not None, n
        assert hit.receipt.inputs == (n,)
    assert front.stats.rejected == 0 and front.stats.errors == 0
    await front.close()


async def test_cancel_shutdown_answers_requests_waiting_on_the_store() -> None:
    from zkactors.errors import RuntimeClosed

    limits = StoreLimits(max_entries=10, max_bytes=1 << 20, ttl=None, timeout=10.0, threads=2)
    store = HangingStore(limits)
    prover = FaultInjectingTestProver()
    handles = []
    async with ZkRuntime(
        config(store_timeout=10.0, shutdown="cancel"), _store=store, _prover=prover
    ) as rt:
        for n in range(1, 6):
            handles.append(rt.try_prove(FIB, (n,)))
        await wait_until(lambda: rt.metrics().misses == 5)
    store.gate.set()
    for handle in handles:
        assert handle.done()
        with pytest.raises(RuntimeClosed):
            await handle
    assert prover.calls == []
    assert rt.metrics().in_flight == 0


class BrokenStore:
    """TEST DOUBLE: a store whose every call raises something no store should (a bug)."""

    url = parse_store_url("memory://")

    async def get(self, key: bytes) -> bytes | None:
        raise RuntimeError("bug in get")

    async def put(self, key: bytes, value: bytes) -> None:
        raise RuntimeError("bug in put")

    async def delete(self, key: bytes) -> None:
        raise RuntimeError("bug in delete")

    async def close(self) -> None:
        raise RuntimeError("bug in close")


async def test_a_buggy_store_never_fails_a_request_or_crashes_an_actor() -> None:
    async with ZkRuntime(config(), _store=BrokenStore()) as rt:
        receipts = await rt.prove_many([(FIB, (n,)) for n in range(1, 6)])
        snapshot = rt.metrics()
    assert len(receipts) == 5 and not snapshot.failures and not snapshot.restarts
    assert snapshot.store_errors >= 1


async def test_a_cache_crash_during_a_lookup_answers_its_waiters_and_forgets_the_flight() -> None:
    from zkactors.errors import ActorCrashed
    from zkactors.runtime.store.memory import MemoryStore

    class GatedStore(MemoryStore):
        """TEST DOUBLE: lookups of keys in ``held`` wait until ``gate`` is set."""

        def __init__(self) -> None:
            super().__init__(parse_store_url("memory://"), LIMITS)
            self.held = {store_key(key_of(1))}
            self.gate = anyio.Event()

        async def get(self, key: bytes) -> bytes | None:
            if key in self.held:
                await self.gate.wait()
            return await super().get(key)

    store = GatedStore()
    async with ZkRuntime(config(), _store=store) as rt:
        cache = rt._cache
        remember = cache._remember

        def crash_once(key: CacheKey, *args: Any) -> None:
            if key == key_of(2):
                cache._remember = remember  # type: ignore[method-assign]
                raise RuntimeError("injected crash in the cache actor")
            remember(key, *args)

        cache._remember = crash_once  # type: ignore[method-assign]
        waiting = rt.try_prove(FIB, (1,))  # its lookup hangs in the store
        await wait_until(lambda: rt.metrics().misses == 1)
        verify(
            await rt.prove(FIB, (2,)), FIB, min_security_bits=0
        )  # answered, then the actor crashes
        with pytest.raises(ActorCrashed):
            await waiting
        store.gate.set()
        # The crashed lookup's flight is gone: the same request is looked up afresh
        # (a flight left behind would make it wait forever).
        with anyio.fail_after(20):
            receipt = await rt.prove(FIB, (1,))
        verify(receipt, FIB, min_security_bits=0)
        snapshot = rt.metrics()
    assert snapshot.restarts == {"cache": 1}


@pytest.mark.anyio
async def test_a_forged_test_profile_entry_is_never_served() -> None:
    """Verifying an insecure profile's receipt proves nothing (the downgrade forgery below
    passes every proof check), so a store entry for a ``test`` request is also checked by
    running the program: whoever can write to the store cannot make the runtime answer
    fib(10) = 56."""
    forged = oracle_prover.prove(FIB, (10,), profile="test", outputs=(56,), cheat="downgrade")
    verify(forged, FIB, min_security_bits=0)  # the forgery is a valid proof
    store = open_store(parse_store_url("memory://"), LIMITS)
    entry = encode_entry(Receipt.from_bytes(forged), execute(FIB, [10]).cycles)
    await store.put(store_key(CacheKey(FIB.hash, (10,), "test")), entry)
    config = RuntimeConfig(profile="default", max_parallel=1, calibrate="off", store="memory://")
    async with ZkRuntime(config, _store=store) as rt:
        outcome = await rt.prove_detailed(FIB, (10,), profile="test")
        assert outcome.receipt.outputs == (55,) and outcome.source == "proved"
        assert rt.metrics().store_rejected == 1
