"""``zkactors bench fairness``: latency by size class under a mixed stream, for plain
shortest-first and for the aged queue the supervisor uses (``overtake_factor``).

Shortest-first is good for the mean latency and bad for the largest jobs: as long as
smaller work keeps coming, a large proof waits. The supervisor ages its queue on a
virtual clock of started work (see :mod:`zkactors.runtime.supervisor`), which bounds
that wait. This benchmark shows what each policy costs and gives, in one run: every
policy gets a fresh ``ZkRuntime`` and the same stream.

The stream: ``--clients`` callers, each proving one request after another for
``--seconds``, with the result cache off, the requests drawn from a fixed pseudo-random
sequence (the same for every policy): 85 % small (fib(n), n in [10, 170): 128-1024-row
traces), 12 % medium (n in [170, 1360): 2048-8192 rows), 3 % large (n in [5000, 6000):
32768-65536 rows, about 0.3 s each on one thread). Then the callers stop and the runtime
drains; a request's latency runs from its submission to its answer, so a proof held
back until the stream stopped shows it.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import statistics
import time
from typing import Any

import anyio

from zkactors import programs
from zkactors.bench import BenchResult
from zkactors.runtime import RuntimeConfig, ZkRuntime
from zkactors.runtime.config import available_cores

DESCRIPTION = "scheduling: latency by size class under a mixed stream, shortest-first vs aged"

#: (class, share of requests, range of fib's n).
CLASSES = (
    ("small", 0.85, (10, 170)),
    ("medium", 0.12, (170, 1360)),
    ("large", 0.03, (5000, 6000)),
)
#: (label, overtake_factor): plain shortest-first (the policy before ageing) and the
#: default aged queue.
POLICIES = (("shortest-first", math.inf), ("aged A=8", 8.0))

COLUMNS = ("policy", "class", "requests", "mean_s", "p50_s", "p99_s", "max_s")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seconds", type=float, default=10.0, help="stream length per policy")
    parser.add_argument("--clients", type=int, default=8, help="concurrent callers (default 8)")
    parser.add_argument("--profile", default="test", help="security profile (default test)")
    parser.add_argument(
        "--overtake-factors",
        default=None,
        help="comma-separated factors to compare (inf: shortest-first); default inf,8",
    )


def _class_of(pick: float) -> str:
    """The class a uniform draw in [0, 1) falls in, by the classes' shares."""
    for name, share, _ in CLASSES:
        if pick < share:
            return name
        pick -= share
    return CLASSES[-1][0]


def _draws(count: int) -> list[tuple[str, int]]:
    """The request sequence every policy sees: (class, n). Within a class the values of
    n go round a shuffled cycle, so a repeat comes only after every other value of its
    class (with the cache off, a proof is never answered by an earlier one, and two
    identical requests are almost never in flight together to be coalesced)."""
    rng = random.Random(20261129)
    cycles: dict[str, list[int]] = {}
    positions: dict[str, int] = {}
    for name, _, (low, high) in CLASSES:
        values = list(range(low, high))
        rng.shuffle(values)
        cycles[name] = values
        positions[name] = 0
    draws = []
    for _ in range(count):
        name = _class_of(rng.random())
        values = cycles[name]
        draws.append((name, values[positions[name] % len(values)]))
        positions[name] += 1
    return draws


async def _stream(
    factor: float, args: argparse.Namespace, draws: list[tuple[str, int]]
) -> dict[str, list[float]]:
    fib = programs.load("fib")
    config = RuntimeConfig(profile=args.profile, overtake_factor=factor, cache_max_entries=0)
    latencies: dict[str, list[float]] = {name: [] for name, _, _ in CLASSES}
    next_draw = 0
    async with ZkRuntime(config) as rt:
        stop_at = time.perf_counter() + args.seconds

        async def client() -> None:
            nonlocal next_draw
            while time.perf_counter() < stop_at and next_draw < len(draws):
                name, n = draws[next_draw]
                next_draw += 1
                started = time.perf_counter()
                await rt.prove(fib, (n,))
                latencies[name].append(time.perf_counter() - started)

        async with anyio.create_task_group() as tg:
            for _ in range(args.clients):
                tg.start_soon(client)
    return latencies


def _row(label: str, name: str, values: list[float]) -> dict[str, Any]:
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, math.ceil(0.99 * len(ordered)) - 1)] if ordered else None
    return {
        "policy": label,
        "class": name,
        "requests": len(values),
        "mean_s": statistics.fmean(values) if values else None,
        "p50_s": statistics.median(values) if values else None,
        "p99_s": p99,
        "max_s": ordered[-1] if ordered else None,
    }


def run(args: argparse.Namespace) -> BenchResult:
    started = time.perf_counter()
    policies: tuple[tuple[str, float], ...] = POLICIES
    if args.overtake_factors:
        factors = [float(text) for text in args.overtake_factors.split(",")]
        policies = tuple(
            ("shortest-first" if math.isinf(f) else f"aged A={f:g}", f) for f in factors
        )
    draws = _draws(200_000)
    rows: list[dict[str, Any]] = []
    loads = []
    for label, factor in policies:
        latencies = anyio.run(_stream, factor, args, draws)
        loads.append(os.getloadavg()[0])
        everything = [value for values in latencies.values() for value in values]
        for name, _, _ in CLASSES:
            rows.append(_row(label, name, latencies[name]))
        rows.append(_row(label, "all", everything))
    notes = (
        f"profile {args.profile}; {args.clients} callers for {args.seconds:g} s per policy, "
        "then drained; result cache off (the same request sequence for every policy); "
        f"{available_cores()} cores; 1-minute load average after each policy: "
        + ", ".join(f"{load:.1f}" for load in loads),
        f"{time.perf_counter() - started:.0f} s in all",
    )
    return BenchResult(name="fairness", columns=COLUMNS, rows=tuple(rows), notes=notes)
