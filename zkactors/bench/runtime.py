"""``zkactors bench runtime``: the actor runtime's own overhead and its proving throughput.

Cache hits (the path that must be cheap: caller -> intake -> cache -> caller, no
estimator, no supervisor, no proof):

- ``prove, 1 client``: sequential round trips; the median is the latency of one hit;
- ``prove, C clients``: C tasks each awaiting hits in a loop; hits per second;
- ``prove_many``: batches of B hits in one call; hits per second, and the median
  latency of one batch divided by B.

Misses (every request a new, real proof with profile ``test``): ``prove_many`` of N
distinct small requests with ``max_parallel`` 1, 2 and 20, for ``horner`` (T = 16, where
the runtime's per-proof overhead dominates) and ``mimc`` with 100 rounds (T = 1024).

Every phase runs on each requested backend (asyncio and trio). Nothing here is stored or
assumed: the aims (hit median <= 50 us, >= 20,000 hits/s with prove, >= 100,000/s with
prove_many) are printed next to what this machine measured.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import time
from collections.abc import Sequence
from typing import Any

import anyio

from zkactors import programs
from zkactors.bench import BenchResult, int_list
from zkactors.runtime import RuntimeConfig, ZkRuntime

DESCRIPTION = "actor runtime: cache-hit round trips (prove, prove_many) and misses/s by parallelism"

COLUMNS = (
    "backend",
    "workload",
    "requests",
    "seconds",
    "per_s",
    "median_us",
    "p99_us",
    "aim",
    "met",
)

AIM_HIT_MEDIAN_US = 50.0
AIM_HITS_PROVE = 20_000.0
AIM_HITS_PROVE_MANY = 100_000.0


def _have_trio() -> bool:
    # trio is an extra (zkactors[trio]); without it only asyncio can be measured.
    return importlib.util.find_spec("trio") is not None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quick", action="store_true", help="fewer requests per phase")
    parser.add_argument(
        "--backends",
        default="asyncio,trio" if _have_trio() else "asyncio",
        help="comma-separated: asyncio,trio (default both, or asyncio if trio is not installed)",
    )
    parser.add_argument("--hits", type=int, default=None, help="hit round trips per phase")
    parser.add_argument("--clients", type=int, default=64, help="concurrent clients (default 64)")
    parser.add_argument(
        "--batch", type=int, default=1000, help="prove_many batch size (default 1000)"
    )
    parser.add_argument("--misses", type=int, default=None, help="distinct proofs per miss phase")
    parser.add_argument(
        "--parallel", type=int_list, default=(1, 2, 20), help="max_parallel values (default 1,2,20)"
    )


def run(args: argparse.Namespace) -> BenchResult:
    hits = args.hits or (5_000 if args.quick else 50_000)
    misses = args.misses or (100 if args.quick else 400)
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    if "trio" in backends and not _have_trio():
        raise SystemExit(
            "zkactors bench runtime: the trio backend needs pip install 'zkactors[trio]'"
        )
    rows: list[dict[str, Any]] = []
    for backend in backends:
        rows += anyio.run(_hit_phases, backend, hits, args.clients, args.batch, backend=backend)
        for parallel in args.parallel:
            rows += anyio.run(_miss_phases, backend, misses, parallel, backend=backend)
    notes = (
        f"{os.cpu_count()} cores; hits: fib(10), one key, cache warm; misses: distinct "
        "inputs, profile 'test', through estimator + supervisor + native prover.",
        "median_us of prove_many is the median batch time divided by the batch size; "
        "par = max_parallel.",
    )
    return BenchResult("runtime", COLUMNS, tuple(rows), notes)


def _row(
    backend: str,
    workload: str,
    requests: int,
    seconds: float,
    latencies: Sequence[float] = (),
    *,
    aim: str = "",
    met: bool | None = None,
) -> dict[str, Any]:
    ordered = sorted(latencies)
    return {
        "backend": backend,
        "workload": workload,
        "requests": requests,
        "seconds": seconds,
        "per_s": requests / seconds if seconds > 0 else None,
        "median_us": statistics.median(ordered) * 1e6 if ordered else None,
        "p99_us": ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] * 1e6
        if ordered
        else None,
        "aim": aim,
        "met": None if met is None else ("yes" if met else "no"),
    }


async def _hit_phases(backend: str, hits: int, clients: int, batch: int) -> list[dict[str, Any]]:
    fib = programs.load("fib")
    config = RuntimeConfig(profile="test", max_parallel=2)
    rows = []
    async with ZkRuntime(config) as rt:
        await rt.prove(fib, (10,))
        for _ in range(1000):  # warm-up: code paths, allocator, the cache's window
            await rt.prove(fib, (10,))

        latencies = []
        started = time.perf_counter()
        for _ in range(hits):
            t0 = time.perf_counter()
            await rt.prove(fib, (10,))
            latencies.append(time.perf_counter() - t0)
        seconds = time.perf_counter() - started
        median_us = statistics.median(latencies) * 1e6
        rows.append(
            _row(
                backend,
                "hit prove x1 task",
                hits,
                seconds,
                latencies,
                aim=f"p50<={AIM_HIT_MEDIAN_US:g}us",
                met=median_us <= AIM_HIT_MEDIAN_US,
            )
        )

        per_client = max(1, hits // clients)
        client_latencies: list[float] = []

        async def client() -> None:
            for _ in range(per_client):
                t0 = time.perf_counter()
                await rt.prove(fib, (10,))
                client_latencies.append(time.perf_counter() - t0)

        started = time.perf_counter()
        async with anyio.create_task_group() as tg:
            for _ in range(clients):
                tg.start_soon(client)
        seconds = time.perf_counter() - started
        total = per_client * clients
        rows.append(
            _row(
                backend,
                f"hit prove x{clients} tasks",
                total,
                seconds,
                client_latencies,
                aim=f">={AIM_HITS_PROVE / 1000:g}k/s",
                met=total / seconds >= AIM_HITS_PROVE,
            )
        )

        requests = [(fib, (10,))] * batch
        rounds = max(1, hits // batch)
        batch_latencies = []
        started = time.perf_counter()
        for _ in range(rounds):
            t0 = time.perf_counter()
            await rt.prove_many(requests)
            batch_latencies.append((time.perf_counter() - t0) / batch)
        seconds = time.perf_counter() - started
        total = rounds * batch
        rows.append(
            _row(
                backend,
                f"hit prove_many {batch}",
                total,
                seconds,
                batch_latencies,
                aim=f">={AIM_HITS_PROVE_MANY / 1000:g}k/s",
                met=total / seconds >= AIM_HITS_PROVE_MANY,
            )
        )
        snapshot = rt.metrics()
    assert snapshot.misses == 1, "the hit phases must not prove anything"
    return rows


async def _miss_phases(backend: str, count: int, parallel: int) -> list[dict[str, Any]]:
    rows = []
    workloads = (
        ("horner T=16", programs.load("horner"), lambda i: (i,)),
        ("mimc T=1024", programs.load("mimc"), lambda i: (i, 100)),
    )
    for name, program, inputs in workloads:
        config = RuntimeConfig(profile="test", max_parallel=parallel)
        async with ZkRuntime(config) as rt:
            await rt.prove(program, inputs(10**6))  # warm-up: worker threads, caches
            requests = [(program, inputs(i)) for i in range(count)]
            started = time.perf_counter()
            await rt.prove_many(requests)
            seconds = time.perf_counter() - started
            snapshot = rt.metrics()
        assert snapshot.proofs == count + 1, "every miss must be a real proof"
        rows.append(
            _row(
                backend,
                f"miss {name} par={parallel}",
                count,
                seconds,
                aim="",
            )
        )
    return rows
