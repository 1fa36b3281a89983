"""``zkactors bench cancel``: how soon a cancelled proof stops.

For each trace size (``fib`` runs of exactly 2^k rows) one uncancelled proof is timed
first; then ``--runs`` proofs are started in a worker thread and their
:class:`~zkactors.CancelToken` is cancelled at points spread evenly over that time (the
i-th of n at (i + 0.5)/n of it, so every step of the proof gets its share). The latency
of one run is from ``token.cancel()`` to the moment ``prove`` raises ``ProofCancelled``
in the worker: the native prover noticing the flag, unwinding and freeing everything it
allocated (the largest share at 2^20 rows: about 1.3 GiB is returned to the system).
Runs that finished before their cancel are counted apart.

On a shared machine the wall-clock latency grows with the load (a runnable thread waits
for a core), so two figures go beside it: the load average, and ``cpu_ms``, the process
CPU time spent between the cancel and the stop (the main thread only waits meanwhile),
which is the work stopping takes whatever the load.
"""

from __future__ import annotations

import argparse
import os
import statistics
import threading
import time

from zkactors import programs
from zkactors.bench import BenchResult, int_list
from zkactors.errors import ProofCancelled
from zkactors.zkvm.prover import CancelToken, prove_with_stats

DESCRIPTION = "cancel latency: cancel proofs mid-way, time until the prover has stopped"

COLUMNS = (
    "T",
    "threads",
    "full_s",
    "runs",
    "cancelled",
    "median_ms",
    "max_ms",
    "min_ms",
    "cpu_ms",
    "load",
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--sizes",
        type=int_list,
        default=(12, 16, 20),
        help="log2 of the trace lengths, e.g. 12,16,20 (the default)",
    )
    parser.add_argument("--threads", type=int_list, default=(2,), help="prover threads (default 2)")
    parser.add_argument("--runs", type=int, default=7, help="cancelled proofs per size")
    parser.add_argument("--profile", default="default", help="security profile (default default)")


def _fib_input(log_rows: int) -> int:
    # fib(n) runs 6n + 4 cycles and needs cycles + 1 <= 2^k rows.
    return max(0, (2**log_rows - 5) // 6)


def _cancel_once(n: int, profile: str, threads: int, delay: float) -> tuple[float, float] | None:
    """Wall and process-CPU milliseconds from cancel to ``ProofCancelled``; None if the
    proof finished first."""
    program = programs.load("fib")
    token = CancelToken()
    stopped: list[tuple[float, float]] = []
    finished = threading.Event()

    def work() -> None:
        try:
            prove_with_stats(program, [n], profile=profile, threads=threads, cancel=token)
        except ProofCancelled:
            stopped.append((time.perf_counter(), time.process_time()))
        finally:
            finished.set()

    worker = threading.Thread(target=work, name="zkactors-bench-cancel")
    worker.start()
    finished.wait(delay)
    cancelled_at, cpu_at = time.perf_counter(), time.process_time()
    token.cancel()
    worker.join()
    if not stopped or stopped[0][0] < cancelled_at:
        return None
    return (stopped[0][0] - cancelled_at) * 1e3, (stopped[0][1] - cpu_at) * 1e3


def run(args: argparse.Namespace) -> BenchResult:
    program = programs.load("fib")
    rows = []
    for log_rows in args.sizes:
        n = _fib_input(log_rows)
        for threads in args.threads:
            load_before = os.getloadavg()[0]
            _, stats = prove_with_stats(program, [n], profile=args.profile, threads=threads)
            full = stats.timings["total"]
            runs = max(1, args.runs)
            latencies, cpu = [], []
            for i in range(runs):
                measured = _cancel_once(n, args.profile, threads, full * (i + 0.5) / runs)
                if measured is not None:
                    latencies.append(measured[0])
                    cpu.append(measured[1])
            load = (load_before + os.getloadavg()[0]) / 2
            rows.append(
                {
                    "T": stats.trace_length,
                    "threads": threads,
                    "full_s": round(full, 3),
                    "runs": runs,
                    "cancelled": len(latencies),
                    "median_ms": round(statistics.median(latencies), 1) if latencies else None,
                    "max_ms": round(max(latencies), 1) if latencies else None,
                    "min_ms": round(min(latencies), 1) if latencies else None,
                    "cpu_ms": round(statistics.median(cpu), 1) if cpu else None,
                    "load": round(load, 2),
                    "latencies_ms": [round(x, 2) for x in latencies],
                    "cpu_ms_each": [round(x, 2) for x in cpu],
                }
            )
    return BenchResult(
        name="cancel",
        columns=COLUMNS,
        rows=tuple(rows),
        notes=(
            f"profile {args.profile}; program fib; full_s: one uncancelled proof; each run "
            "is cancelled at an even share of full_s; latency: token.cancel() to "
            "ProofCancelled in the proving thread (memory freed); runs that finished "
            "before their cancel are not counted; cpu_ms: median process CPU time from "
            "cancel to stop; load: the 1-minute load average on "
            f"{os.cpu_count()} CPUs",
        ),
    )
