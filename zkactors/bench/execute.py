"""``zkactors bench execute``: native zkVM speed, with and without building the trace.

Runs the library's ``fib`` at about 10^3 .. 10^6 cycles and reports cycles per second of
``execute`` (run only: what the estimator pays to learn a request's exact cycle count)
and of ``execution_trace`` (run + allocate + fill the T x w trace, including the
batch-inverted branch helper columns: what a prover pays before any NTT). The pure-Python
oracle interpreter is timed on the small sizes for scale.
"""

from __future__ import annotations

import argparse
import functools

from zkactors import programs
from zkactors.bench import BenchResult, best_of
from zkactors.zkvm import interpreter
from zkactors.zkvm.execute import execute, execution_trace

DESCRIPTION = "native zkVM executor: cycles/s with and without trace generation (fib)"

_ORACLE_MAX_CYCLES = 10_000  # the Python interpreter is ~1000x slower; keep it short


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--quick", action="store_true", help="small sizes only (about 10^3 and 10^4 cycles)"
    )


def _fib_n_for(cycles: int) -> int:
    return max(0, (cycles - 4) // 6)  # fib takes 6n + 4 cycles


def run(args: argparse.Namespace) -> BenchResult:
    program = programs.load("fib")
    targets = [10**3, 10**4] if args.quick else [10**3, 10**4, 10**5, 10**6]
    rows = []
    for target in targets:
        inputs = [_fib_n_for(target)]
        result = execute(program, inputs)
        run_s = best_of(functools.partial(execute, program, inputs), repeat=5, min_time=0.2)
        trace_s = best_of(
            functools.partial(execution_trace, program, inputs), repeat=3, min_time=0.2
        )
        oracle: float | None = None
        if result.cycles <= _ORACLE_MAX_CYCLES:
            oracle_s = best_of(functools.partial(interpreter.run, program, inputs), repeat=3)
            oracle = result.cycles / oracle_s
        rows.append(
            {
                "cycles": result.cycles,
                "T": result.trace_length,
                "w": program.trace_width,
                "run µs": run_s * 1e6,
                "run Mc/s": result.cycles / run_s / 1e6,
                "trace ms": trace_s * 1e3,
                "trace Mc/s": result.cycles / trace_s / 1e6,
                "Mcells/s": result.trace_length * program.trace_width / trace_s / 1e6,
                "py Mc/s": None if oracle is None else oracle / 1e6,
            }
        )
    return BenchResult(
        name="execute",
        columns=tuple(rows[0]),
        rows=tuple(rows),
        notes=(
            "run = execute() (native, GIL released); trace = execution_trace(): run for the "
            "cycle count, allocate T x width uint64 columns, fill them.",
            "Mc/s = million cycles per second; Mcells/s = trace cells (T x w) written per "
            "second; py = the pure-Python oracle interpreter. Best of several runs.",
        ),
    )
