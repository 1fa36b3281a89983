"""``zkactors bench prove``: native proving time, receipt size and where the time goes.

Workloads are the library's ``fib`` program: the original performance report's sizes
(fib(n) for n = 20 ... 1000) and runs of about 2^10 ... 2^20 cycles, labelled ``fib 2^k``
(n = (2^k - 5) // 6, so cycles = 6n + 4 < 2^k and the trace has exactly 2^k rows). Each
workload is proved with every requested thread count and profile (``default`` and
``high`` side by side unless told otherwise); the row reports the best of ``--repeat``
runs and that run's per-step breakdown (milliseconds), as measured inside the C prover,
the receipt's conjectured security and the native verifier's time for it (median of
several checks).

The table's header and the JSON's ``context`` name the CPU, its vector extensions and the
kernels in use (``zkactors.kernels``), so figures from different machines compare
honestly. ``--kernels scalar,avx2,avx512`` proves every point on each level in turn,
alternating within each repetition, so a shared machine's load falls on all levels alike;
the load average is recorded before and after.

``--air 1,2`` proves every point under each AIR in turn (the register AIR, receipt
format 2, and the machine AIR, format 3; default: the AIR the prover chooses, AIR 1 for
fib); ``aux_ms`` is AIR 2's fixed and auxiliary columns (their LDE and tree included),
``cells/row`` the committed base-field cells a trace row costs under the AIR (w + 6 for
AIR 1, 95 for AIR 2: K values count three), the measure the prover chooses the AIR by.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from zkactors import kernels, profiles, programs
from zkactors.bench import BenchResult, int_list
from zkactors.zkvm import airs as air_rules
from zkactors.zkvm.prover import STEPS, ProveStats, prove_with_stats
from zkactors.zkvm.receipt import Receipt
from zkactors.zkvm.verifier import verify

DESCRIPTION = "native prover: time (1 vs 2 threads), receipt size, per-step breakdown"

REPORT_FIB = (20, 100, 300, 500, 1000)
LOG_CYCLES = tuple(range(10, 21))
QUICK_FIB = (20, 100)
QUICK_LOG_CYCLES = (10, 12, 14)

#: Short table headers for the steps of protocol.md 8 (JSON rows use the same keys).
STEP_COLUMNS = {
    "trace": "trace_ms",
    "lde": "lde_ms",
    "trace_commit": "tcommit_ms",
    "composition": "comp_ms",
    "composition_commit": "ccommit_ms",
    "ood": "ood_ms",
    "deep": "deep_ms",
    "fri": "fri_ms",
    "grinding": "grind_ms",
    "queries": "query_ms",
}
assert tuple(STEP_COLUMNS) == STEPS

COLUMNS = (
    "workload",
    "profile",
    "bits",
    "T",
    "threads",
    "air",
    "cells/row",
    "kernels",
    "prove_s",
    "cpu_s",
    "Mcycles/s",
    "receipt_KB",
    "verify_ms",
    *STEP_COLUMNS.values(),
    "aux_ms",
)

#: Native verifications timed per receipt (the median is reported).
VERIFY_RUNS = 7


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--quick", action="store_true", help="small sizes only (fib 20, 100; 2^10..2^14 cycles)"
    )
    parser.add_argument(
        "--sizes",
        type=int_list,
        default=None,
        help="log2 of the cycle counts to run, e.g. 10,14,18 (default 10..20)",
    )
    parser.add_argument(
        "--fib",
        type=int_list,
        default=None,
        help="fib(n) workloads, e.g. 20,100 (default 20,100,300,500,1000)",
    )
    parser.add_argument(
        "--threads", type=int_list, default=(1, 2), help="thread counts (default 1,2)"
    )
    parser.add_argument(
        "--profile",
        type=_profile_list,
        default=("default", "high"),
        help="security profiles, comma-separated (default default,high)",
    )
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs per point below 2^16 cycles (best is kept)"
    )
    parser.add_argument(
        "--repeat-large", type=int, default=1, help="runs per point from 2^16 cycles (default 1)"
    )
    parser.add_argument(
        "--kernels",
        type=_levels,
        default=None,
        help="kernel levels to compare, alternating, e.g. scalar,avx2,avx512 "
        "(default: the level in use; see ZKACTORS_KERNELS)",
    )
    parser.add_argument(
        "--air",
        type=_airs,
        default=None,
        help="AIRs to prove under, e.g. 1,2 (default: the prover's choice)",
    )


def _airs(text: str) -> tuple[int, ...]:
    airs = tuple(int(part) for part in text.split(",") if part.strip())
    if not airs or any(air not in (1, 2) for air in airs):
        raise argparse.ArgumentTypeError(f"expected AIRs from 1, 2, got {text!r}")
    return airs


def _levels(text: str) -> tuple[str, ...]:
    levels = tuple(part.strip() for part in text.split(",") if part.strip())
    unknown = [level for level in levels if level not in kernels.LEVELS]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown kernel levels {unknown}; known {kernels.LEVELS}")
    missing = [level for level in levels if level not in kernels.available()]
    if missing:
        raise argparse.ArgumentTypeError(f"this CPU cannot run {missing}")
    return levels


def _profile_list(text: str) -> tuple[str, ...]:
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    unknown = [name for name in names if name not in profiles.PROFILES]
    if not names or unknown:
        raise argparse.ArgumentTypeError(
            f"expected profile names from {', '.join(profiles.PROFILES)}, got {text!r}"
        )
    return names


def _verify_ms(receipt: Receipt) -> float:
    """Median native verification time of ``receipt`` (policy open: the bench also runs
    the insecure test profile)."""
    program = programs.load("fib")
    times = []
    for _ in range(VERIFY_RUNS):
        started = time.perf_counter()
        verify(receipt, program, min_security_bits=0)
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1e3


def _workloads(args: argparse.Namespace) -> list[tuple[str, int]]:
    fib_ns = args.fib if args.fib is not None else (QUICK_FIB if args.quick else REPORT_FIB)
    logs = (
        args.sizes if args.sizes is not None else (QUICK_LOG_CYCLES if args.quick else LOG_CYCLES)
    )
    work = [(f"fib({n})", n) for n in fib_ns]
    work += [(f"fib 2^{k}", max(0, ((1 << k) - 5) // 6)) for k in logs]
    return work


def _best_per_level(
    n: int,
    profile: str,
    threads: int,
    repeat: int,
    levels: tuple[str | None, ...],
    air: int | None = None,
) -> dict[str | None, tuple[ProveStats, float, Receipt]]:
    """The fastest of ``repeat`` proofs on each kernel level, with the process CPU seconds
    it used (all threads: on a shared machine CPU time is the steadier figure of the two).
    The levels take turns within each repetition, so a burst of load elsewhere does not
    land on one level only."""
    program = programs.load("fib")
    best: dict[str | None, tuple[ProveStats, float, Receipt]] = {}
    for _ in range(max(1, repeat)):
        for level in levels:
            with kernels.forced(level):
                cpu0 = time.process_time()
                receipt, stats = prove_with_stats(
                    program, [n], profile=profile, threads=threads, air=air
                )
                cpu = time.process_time() - cpu0
            seen = best.get(level)
            if seen is None or stats.timings["total"] < seen[0].timings["total"]:
                best[level] = (stats, cpu, receipt)
    return best


def run(args: argparse.Namespace) -> BenchResult:
    levels: tuple[str | None, ...] = args.kernels or (None,)
    load_before = os.getloadavg()
    rows = []
    fib = programs.load("fib")
    for label, n in _workloads(args):
        airs: tuple[int | None, ...] = args.air or (None,)
        points = ((p, t, a) for p in args.profile for t in args.threads for a in airs)
        for profile, threads, air in points:
            cycles = 6 * n + 4
            repeat = args.repeat if cycles < 1 << 16 else args.repeat_large
            measured = _best_per_level(n, profile, threads, repeat, levels, air)
            for level, (stats, cpu, receipt) in measured.items():
                total = stats.timings["total"]
                row: dict[str, object] = {
                    "workload": label,
                    "profile": profile,
                    "bits": round(receipt.security_bits(fib), 1),
                    "cycles": stats.cycles,
                    "T": stats.trace_length,
                    "threads": threads,
                    "air": stats.air,
                    # committed base-field cells a row costs under that AIR (K values
                    # count 3): the cost measure the prover picks the AIR by
                    "cells/row": air_rules.committed_cells(fib, stats.air),
                    "kernels": level or kernels.in_use(),
                    "prove_s": round(total, 4),
                    "cpu_s": round(cpu, 4),
                    "Mcycles/s": round(stats.cycles / total / 1e6, 3) if total > 0 else None,
                    "receipt_KB": round(stats.receipt_size / 1024, 1),
                    "receipt_bytes": stats.receipt_size,
                    "verify_ms": round(_verify_ms(receipt), 3),
                }
                row.update(
                    {
                        column: round(stats.timings[step] * 1e3, 1)
                        for step, column in STEP_COLUMNS.items()
                    }
                )
                row["aux_ms"] = round(stats.timings.get("aux", 0.0) * 1e3, 1)
                rows.append(row)
    load_after = os.getloadavg()
    context = kernels.describe()
    if args.kernels:
        context["kernels"] = ",".join(args.kernels) + " (forced in turn)"
        sha = {}
        for level in args.kernels:
            with kernels.forced(level):
                sha[level] = kernels.sha256_kernel()
        context["sha256"] = sha
    context["load"] = f"{load_before[0]:.2f} before, {load_after[0]:.2f} after (1-min average)"
    return BenchResult(
        name="prove",
        columns=COLUMNS,
        rows=tuple(rows),
        notes=(
            f"profiles {', '.join(args.profile)}; program fib; bits is the receipt's "
            "conjectured security as the verifier computes it; prove_s is the C prover's own "
            "wall time "
            "(execution included), best of the runs; cpu_s the process CPU time of that run "
            "(all threads); verify_ms the native verifier's median time on that receipt; the "
            "other *_ms columns are that run's steps (protocol.md 8)",
        ),
        context=context,
    )
