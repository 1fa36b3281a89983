"""``zkactors bench soak --minutes N``: a mixed workload at full load, watched over time.

Clients keep a runtime saturated with a mix of every library program at varied sizes,
part of it repeats (so the cache and its self-switching are exercised), and check every
receipt with the native verifier. Every interval the benchmark records throughput, the
cache's state and the process's resident memory. What it answers: does the runtime hold
its throughput, and does memory stay flat once warm (the aim: within 10 % after warm-up)?
Not part of the test suite; run it by hand for minutes or hours.
"""

from __future__ import annotations

import argparse
import functools
import os
import random
import time
from collections.abc import Callable
from typing import Any

import anyio

from zkactors import profiles, programs
from zkactors.bench import BenchResult
from zkactors.runtime import RuntimeConfig, ZkRuntime
from zkactors.zkvm.program import Program
from zkactors.zkvm.verifier import verify

DESCRIPTION = "soak: mixed workload at full load for N minutes; throughput and memory over time"

COLUMNS = (
    "interval",
    "elapsed_s",
    "answers",
    "per_s",
    "proofs",
    "cache",
    "hit_rate",
    "rss_mb",
    "verified",
    "failures",
)

# Library program -> inputs for a random size; sizes span ~10 to ~20,000 cycles.
_INPUTS: dict[str, Callable[[random.Random], list[int]]] = {
    "fib": lambda rng: [rng.randrange(1, 3000)],
    "factorial": lambda rng: [rng.randrange(1, 2000)],
    "power": lambda rng: [rng.randrange(2, 1 << 32), rng.randrange(1, 2000)],
    "horner": lambda rng: [rng.randrange(0, 1 << 62)],
    "mimc": lambda rng: [rng.randrange(0, 1 << 62), rng.randrange(1, 1000)],
    "inverse_check": lambda rng: [rng.randrange(1, 1 << 62)],
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--minutes", type=float, default=5.0, help="how long (default 5)")
    parser.add_argument(
        "--interval", type=float, default=None, help="seconds per row (default: 20 rows)"
    )
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients (16)")
    parser.add_argument(
        "--repeat-rate", type=float, default=0.7, help="share of repeated requests (0.7)"
    )
    parser.add_argument("--profile", default="default", help="security profile (default)")
    parser.add_argument("--seed", type=int, default=1, help="workload seed")


def resident_bytes() -> int:
    """The process's resident set size now (Linux ``/proc``); 0 where unavailable."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


class _Tally:
    """Counts shared by the client tasks and the sampler (one event loop: no locks)."""

    def __init__(self) -> None:
        self.answers = 0
        self.verified = 0
        self.failures = 0


def _request(
    rng: random.Random, recent: list[tuple[Program, list[int]]], repeat_rate: float
) -> tuple[Program, list[int]]:
    if recent and rng.random() < repeat_rate:
        return rng.choice(recent)
    name = rng.choice(sorted(_INPUTS))
    request = (programs.load(name), _INPUTS[name](rng))
    recent.append(request)
    del recent[:-200]  # repeats come from a bounded recent set, like real traffic
    return request


async def _client(
    rt: ZkRuntime,
    rng: random.Random,
    recent: list[tuple[Program, list[int]]],
    args: argparse.Namespace,
    tally: _Tally,
    stop_at: float,
) -> None:
    # The soak checks the runtime's receipts are valid proofs under the profile it asked for.
    check = functools.partial(verify, min_security_bits=profiles.own_receipts_minimum(args.profile))
    while time.monotonic() < stop_at:
        program, inputs = _request(rng, recent, args.repeat_rate)
        try:
            receipt = await rt.prove(program, inputs)
        except Exception:  # counted, and the soak goes on: that is what it measures
            tally.failures += 1
            continue
        tally.answers += 1
        await anyio.to_thread.run_sync(check, receipt, program)  # raises if invalid
        tally.verified += 1


async def _soak(args: argparse.Namespace) -> list[dict[str, Any]]:
    seconds = args.minutes * 60.0
    interval = args.interval or max(seconds / 20.0, 0.5)
    rng = random.Random(args.seed)
    recent: list[tuple[Program, list[int]]] = []
    tally = _Tally()
    rows: list[dict[str, Any]] = []
    async with ZkRuntime(RuntimeConfig(profile=args.profile)) as rt:
        started = time.monotonic()
        stop_at = started + seconds
        async with anyio.create_task_group() as tg:
            for _ in range(args.clients):
                tg.start_soon(
                    _client, rt, random.Random(rng.random()), recent, args, tally, stop_at
                )
            answers_before = 0
            while time.monotonic() < stop_at:
                await anyio.sleep(min(interval, max(stop_at - time.monotonic(), 0.0)))
                snap = rt.metrics()
                now = time.monotonic()
                done = tally.answers - answers_before
                answers_before = tally.answers
                rows.append(
                    {
                        "interval": len(rows) + 1,
                        "elapsed_s": now - started,
                        "answers": done,
                        "per_s": done / interval,
                        "proofs": snap.proofs,
                        "cache": "on" if snap.cache_enabled else "off",
                        "hit_rate": snap.cache_hit_rate,
                        "rss_mb": resident_bytes() / 2**20,
                        "verified": tally.verified,
                        "failures": tally.failures,
                    }
                )
    return rows


def _spread(values: list[float]) -> float:
    """(max - min) / min, as a fraction; 0 for fewer than two positive values."""
    positive = [v for v in values if v > 0]
    return (max(positive) - min(positive)) / min(positive) if len(positive) > 1 else 0.0


def run(args: argparse.Namespace) -> BenchResult:
    rows = anyio.run(_soak, args)
    warm = rows[max(1, len(rows) // 5) :] or rows  # the first fifth is warm-up
    rss_spread = _spread([row["rss_mb"] for row in warm])
    rate_spread = _spread([row["per_s"] for row in warm])
    last = rows[-1] if rows else {"verified": 0, "failures": 0}
    notes = (
        f"after warm-up (rows {warm[0]['interval'] if warm else '-'}..): resident memory "
        f"spread {rss_spread:.1%} (aim: within 10 %), throughput spread {rate_spread:.1%}",
        f"{last['verified']} receipts verified natively, {last['failures']} failures; "
        f"{args.clients} clients, repeat rate {args.repeat_rate}, profile {args.profile}",
    )
    return BenchResult(name="soak", columns=COLUMNS, rows=tuple(rows), notes=notes)
