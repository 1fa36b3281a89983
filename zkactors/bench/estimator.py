"""``zkactors bench estimator``: how far off is the proving-time estimate, per size?

The original performance report (of an earlier system of this kind) found its hand-tuned
formula off by 40-188 % on large tasks. Here the runtime's cost model
(:mod:`zkactors.runtime.costmodel`) is calibrated the way a
``ZkRuntime`` calibrates it at start-up (a few tiny real proofs, timed), then asked to
predict real proofs of ``fib`` runs of about 2^6 ... 2^18 cycles (``--sizes``; label
``2^k``: n = (2^k - 5) // 6 - r, so the trace has exactly 2^k rows), ``--repeat``
distinct inputs per size, smallest first, with each thread count of ``--threads``.

Every prediction is made *before* its proof. Two models answer side by side:

- ``online``: the runtime's behaviour: after each proof the model learns its measured
  time (as the estimator actor does from every proof), so a size is predicted from the
  calibration plus every smaller proof measured so far;
- ``calibrated``: the calibration alone, never updated (how far tiny proofs carry).

Columns: the median measured and predicted times; ``err_med`` / ``err_p90``: the median
and 90th percentile over the size's proofs of ``|predicted - measured| / measured``
(online model); ``cal_err``: the same median for the calibration-only model;
``no_grind_err``: the online model's median error with the proof's own grinding draw in
place of the expected grinding time. Grinding (profile ``default``: 16 bits) is a
proof-of-work search whose length is a geometric draw, 2^16 hashes on average but any
one proof's unknowable in advance: at small sizes it is most of the proof, so it bounds
how close *any* estimator can get there; ``no_grind_err`` shows the model's own error.

The load average of the machine is reported with the numbers: on a shared machine,
other processes' load changes proof times from one proof to the next.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from typing import Any

from zkactors import programs
from zkactors.bench import BenchResult, int_list
from zkactors.runtime.calibration import calibrate
from zkactors.runtime.config import available_cores
from zkactors.runtime.costmodel import CalibratedCostModel, ProofShape
from zkactors.zkvm.execute import execute
from zkactors.zkvm.prover import prove_with_stats

DESCRIPTION = "cost model: estimate error per size (2^6..2^18 cycles) after calibration"

COLUMNS = (
    "size",
    "T",
    "threads",
    "proofs",
    "measured_ms",
    "predicted_ms",
    "err_med",
    "err_p90",
    "cal_err",
    "no_grind_err",
    "grind_ms",
)

AIM_MEDIAN = 0.10
AIM_P90 = 0.25


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quick", action="store_true", help="sizes 2^6..2^12, 3 proofs each")
    parser.add_argument(
        "--sizes", type=int_list, default=None, help="log2 cycle counts (default 6..18)"
    )
    parser.add_argument(
        "--threads",
        type=int_list,
        default=None,
        help="intra-proof thread counts (default 1 and the cores)",
    )
    parser.add_argument("--repeat", type=int, default=5, help="proofs per size (default 5)")
    parser.add_argument(
        "--repeat-large", type=int, default=3, help="proofs per size from 2^16 (default 3)"
    )
    parser.add_argument("--profile", default="default", help="security profile (default default)")


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, int(q * len(ordered) + 0.999999) - 1))
    return ordered[index]


def run(args: argparse.Namespace) -> BenchResult:
    sizes = args.sizes or (tuple(range(6, 13)) if args.quick else tuple(range(6, 19)))
    threads = args.threads or tuple(sorted({1, available_cores()}))
    repeat = 3 if args.quick else args.repeat
    load_before = os.getloadavg()
    calibration = calibrate(args.profile, threads)
    hash_seconds = calibration.hash_seconds or None
    online = CalibratedCostModel(hash_seconds=hash_seconds)
    online.calibrate(calibration.samples, hash_seconds=hash_seconds)
    frozen = CalibratedCostModel(hash_seconds=hash_seconds)
    frozen.calibrate(calibration.samples, hash_seconds=hash_seconds)
    fib = programs.load("fib")
    rows: list[dict[str, Any]] = []
    all_errors: list[float] = []
    all_model_errors: list[float] = []
    large_errors: list[float] = []
    started = time.perf_counter()
    for log_cycles in sizes:
        count = repeat if log_cycles < 16 else min(repeat, args.repeat_large)
        for thread_count in threads:
            measured: list[float] = []
            predicted: list[float] = []
            errors: list[float] = []
            frozen_errors: list[float] = []
            model_errors: list[float] = []
            grinds: list[float] = []
            trace_length = 0
            for r in range(count):
                n = max(0, ((1 << log_cycles) - 5) // 6 - r)
                run = execute(fib, [n])  # its AIR and T, as the runtime's estimator sees them
                trace_length = run.trace_length
                shape = ProofShape.of(fib, run, args.profile)
                guess = online.predict(shape, thread_count)
                frozen_guess = frozen.predict(shape, thread_count)
                expected_grind = online.expected_grinding(args.profile, thread_count)
                t0 = time.perf_counter()
                _, stats = prove_with_stats(fib, [n], profile=args.profile, threads=thread_count)
                seconds = time.perf_counter() - t0
                assert stats.trace_length == trace_length
                grind = stats.timings["grinding"]
                online.observe(shape, thread_count, seconds, grinding_seconds=grind)
                measured.append(seconds)
                predicted.append(guess)
                grinds.append(grind)
                errors.append(abs(guess - seconds) / seconds)
                frozen_errors.append(abs(frozen_guess - seconds) / seconds)
                model_errors.append(abs(guess - expected_grind + grind - seconds) / seconds)
            all_errors += errors
            all_model_errors += model_errors
            if log_cycles >= 12:
                large_errors += errors
            rows.append(
                {
                    "size": f"2^{log_cycles}",
                    "T": trace_length,
                    "threads": thread_count,
                    "proofs": count,
                    "measured_ms": round(statistics.median(measured) * 1e3, 2),
                    "predicted_ms": round(statistics.median(predicted) * 1e3, 2),
                    "err_med": round(statistics.median(errors), 3),
                    "err_p90": round(_percentile(errors, 0.9), 3),
                    "cal_err": round(statistics.median(frozen_errors), 3),
                    "no_grind_err": round(statistics.median(model_errors), 3),
                    "grind_ms": round(statistics.median(grinds) * 1e3, 2),
                }
            )
    load_after = os.getloadavg()
    median = statistics.median(all_errors)
    p90 = _percentile(all_errors, 0.9)
    model_median = statistics.median(all_model_errors)
    model_p90 = _percentile(all_model_errors, 0.9)
    notes = [
        f"profile {args.profile}; program fib; threads {', '.join(map(str, threads))}; "
        f"calibration: {len(calibration.samples)} proofs in {calibration.seconds:.2f} s"
        + (
            f", {calibration.hash_seconds * 1e9:.1f} ns per grinding hash"
            if calibration.hash_seconds
            else ""
        ),
        f"all sizes: median error {median:.1%}, p90 {p90:.1%} (aims {AIM_MEDIAN:.0%} / "
        f"{AIM_P90:.0%}); the model's own error (grinding draw replaced by the measured one): "
        f"median {model_median:.1%}, p90 {model_p90:.1%}",
        f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f} "
        f"({available_cores()} cores); {time.perf_counter() - started:.0f} s of proofs",
    ]
    if large_errors:
        per_size = [r["err_med"] for r in rows if int(r["size"][2:]) >= 12]
        notes.append(
            "from 2^12 up (grinding a small part of the proof): median error "
            f"{statistics.median(large_errors):.1%}, p90 {_percentile(large_errors, 0.9):.1%} "
            f"over {len(large_errors)} proofs; per-size medians "
            f"{min(per_size):.1%} .. {max(per_size):.1%}"
        )
    return BenchResult(
        name="estimator",
        columns=COLUMNS,
        rows=tuple(rows),
        notes=tuple(notes),
    )
