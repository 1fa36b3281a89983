"""``zkactors bench store``: receipt stores (memory, sqlite, Redis) compared.

For each store: verified lookups per second with ``--concurrency`` lookups at once, and
the latency of a hit one at a time (``StoreFront``, i.e. what the cache actor does on a
miss: the backend call in a worker thread, then the receipt decoded and verified); then a workload
proved by a runtime on an empty store (cold) and the same workload after a restart, by a
new runtime on the store the first one filled (warm), and the time that saved.

Redis: ``--redis-url`` names a server; without it the benchmark starts a
``redis-server`` from PATH on a free loopback port for the run (and says so when there
is none). The memory store cannot outlive its process: its "restart" is a new runtime
in the same process given the same store object.
"""

from __future__ import annotations

import argparse
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import anyio

from zkactors import programs
from zkactors.bench import BenchResult
from zkactors.runtime import RuntimeConfig, ZkRuntime
from zkactors.runtime.messages import CacheKey
from zkactors.runtime.store import (
    ReceiptStore,
    StoreFront,
    StoreLimits,
    encode_entry,
    open_store,
    parse_store_url,
    store_key,
)
from zkactors.zkvm.execute import execute
from zkactors.zkvm.prover import prove

DESCRIPTION = "store: lookups/s and hit latency of memory, sqlite and Redis; warm-restart savings"

COLUMNS = (
    "store",
    "lookups_per_s",
    "hit_p50_ms",
    "hit_p95_ms",
    "cold_s",
    "warm_s",
    "saved_s",
    "warm_sources",
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--stores", default="memory,sqlite,redis", help="which (default memory,sqlite,redis)"
    )
    parser.add_argument("--lookups", type=int, default=2000, help="lookups timed per store")
    parser.add_argument("--concurrency", type=int, default=8, help="lookups at once (8)")
    parser.add_argument(
        "--requests", type=int, default=40, help="distinct requests in the restart workload"
    )
    parser.add_argument("--profile", default="default", help="security profile (default)")
    parser.add_argument("--redis-url", default=None, help="a Redis server to use")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def _redis_server(url: str | None) -> Iterator[str | None]:
    """``url``, or a temporary redis-server's (None if there is none to start)."""
    if url is not None:
        yield url
        return
    binary = shutil.which("redis-server")
    if binary is None:
        yield None
        return
    port = _free_port()
    with tempfile.TemporaryDirectory() as directory:
        process = subprocess.Popen(
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", directory],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            for _ in range(500):  # until it accepts connections
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                    break
                except OSError:
                    time.sleep(0.01)
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            process.kill()
            process.wait()


def _workload(count: int) -> list[tuple[Any, tuple[int, ...]]]:
    fib = programs.load("fib")
    return [(fib, (200 + 7 * i,)) for i in range(count)]


async def _lookups(
    store: ReceiptStore, limits: StoreLimits, args: argparse.Namespace
) -> dict[str, Any]:
    fib = programs.load("fib")
    keys = []
    for i in range(16):  # a few distinct entries, looked up over and over
        n = 50 + i
        receipt = prove(fib, [n], profile=args.profile)
        key = CacheKey(fib.hash, (n,), args.profile)
        await store.put(store_key(key), encode_entry(receipt, execute(fib, [n]).cycles))
        keys.append(key)
    front = StoreFront(store, limits)

    async def look_up(i: int) -> None:
        if await front.lookup(keys[i % len(keys)], fib) is None:
            stats = front.stats
            raise RuntimeError(
                f"a stored receipt was not served: {stats.errors} errors, "
                f"{stats.rejected} rejected, {stats.skipped} skipped"
            )

    # Latency: one lookup at a time, so the figure is the lookup's, not a queue's.
    latencies: list[float] = []
    for i in range(max(20, args.lookups // 4)):
        t0 = time.perf_counter()
        await look_up(i)
        latencies.append(time.perf_counter() - t0)
    latencies.sort()

    # Throughput: --concurrency lookups at once, as the cache actor issues them.
    per_task = max(1, args.lookups // args.concurrency)

    async def worker(offset: int) -> None:
        for i in range(per_task):
            await look_up(offset + i)

    started = time.perf_counter()
    async with anyio.create_task_group() as tg:
        for offset in range(args.concurrency):
            tg.start_soon(worker, offset)
    elapsed = time.perf_counter() - started
    return {
        "lookups_per_s": per_task * args.concurrency / elapsed,
        "hit_p50_ms": latencies[len(latencies) // 2] * 1e3,
        "hit_p95_ms": latencies[int(len(latencies) * 0.95)] * 1e3,
    }


async def _restart(
    url: str, store: ReceiptStore | None, args: argparse.Namespace
) -> dict[str, Any]:
    workload = _workload(args.requests)
    # No start-up calibration: it would be timed in the cold run only.
    config = RuntimeConfig(profile=args.profile, store=url, calibrate="off")
    times = []
    sources: set[str] = set()
    for _ in ("cold", "warm"):
        started = time.perf_counter()
        async with ZkRuntime(config, _store=store) as rt:
            outcomes = [await rt.prove_detailed(p, inputs) for p, inputs in workload]
        times.append(time.perf_counter() - started)
        sources = {o.source for o in outcomes}
    return {
        "cold_s": times[0],
        "warm_s": times[1],
        "saved_s": times[0] - times[1],
        "warm_sources": ",".join(sorted(sources)),
    }


async def _bench(name: str, url: str, args: argparse.Namespace) -> dict[str, Any]:
    limits = StoreLimits(max_entries=100_000, max_bytes=1 << 32, ttl=None, timeout=5.0, threads=4)
    row: dict[str, Any] = {"store": name}
    store = open_store(parse_store_url(url), limits)
    try:
        row.update(await _lookups(store, limits, args))
    finally:
        await store.close()
    # Memory: the "restarted" runtime is handed the first one's store object.
    shared = open_store(parse_store_url(url), limits) if name == "memory" else None
    row.update(await _restart(url, shared, args))
    return row


def run(args: argparse.Namespace) -> BenchResult:
    wanted = [s.strip() for s in args.stores.split(",") if s.strip()]
    rows: list[dict[str, Any]] = []
    notes: list[str] = []
    with (
        tempfile.TemporaryDirectory() as directory,
        _redis_server(args.redis_url if "redis" in wanted else "unused") as redis_url,
    ):
        for name in wanted:
            if name == "memory":
                url = "memory://"
            elif name == "sqlite":
                url = f"sqlite:///{Path(directory) / 'receipts.db'}"
            elif name == "redis":
                if redis_url is None:
                    notes.append("redis: skipped, no --redis-url and no redis-server on PATH")
                    continue
                url = redis_url
            else:
                raise SystemExit(f"unknown store {name!r}: use memory, sqlite, redis")
            rows.append(anyio.run(_bench, name, url, args))
    notes.append(
        f"lookups: {args.lookups} verified hits per store, {args.concurrency} at once "
        "(latency: one at a time); "
        f"restart: {args.requests} distinct fib requests at profile {args.profile}, proved "
        "on an empty store (cold), then by a new runtime on the filled store (warm)"
    )
    return BenchResult(name="store", columns=COLUMNS, rows=tuple(rows), notes=tuple(notes))
