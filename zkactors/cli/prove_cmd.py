"""``zkactors prove PROGRAM [INPUT ...] -o FILE``: prove a run and write its receipt.

PROGRAM is a built-in program name or a ``.zkasm`` file, as for ``zkactors run``. The
receipt is written in the binary format of protocol.md 10 and a one-line summary is
printed: the program, its outputs, the trace length (cycles executed, too: the prover
knows them even though the receipt does not state them), the receipt's size and the
proving time. ``zkactors verify FILE --program PROGRAM`` checks the file.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from zkactors import profiles
from zkactors.cli._shared import assignments, load_program, parse_inputs, report_assembly_error
from zkactors.errors import AssemblyError
from zkactors.zkvm.execute import DEFAULT_MAX_CYCLES
from zkactors.zkvm.prover import prove_with_stats


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("program", metavar="PROGRAM", help="a built-in program or a .zkasm file")
    parser.add_argument(
        "inputs", metavar="INPUT", nargs="*", help="the program's inputs, in .input order"
    )
    parser.add_argument(
        "-o",
        "--output",
        required=True,
        type=Path,
        metavar="FILE",
        help="where to write the receipt",
    )
    parser.add_argument(
        "--profile",
        default=profiles.DEFAULT,
        choices=list(profiles.PROFILES),
        help=f"security profile (default {profiles.DEFAULT}; 'test' is insecure)",
    )
    parser.add_argument(
        "--threads", type=int, default=1, metavar="N", help="native threads for the proof"
    )
    parser.add_argument(
        "--max-cycles",
        type=int,
        default=DEFAULT_MAX_CYCLES,
        metavar="N",
        help="fail if the program has not halted after this many cycles "
        f"(default {DEFAULT_MAX_CYCLES})",
    )


def run(args: argparse.Namespace) -> int:
    try:
        program = load_program(args.program)
    except AssemblyError as exc:
        return report_assembly_error("prove", args.program, exc)
    inputs = parse_inputs(program, args.inputs)
    started = time.perf_counter()
    receipt, stats = prove_with_stats(
        program, inputs, profile=args.profile, threads=args.threads, max_cycles=args.max_cycles
    )
    seconds = time.perf_counter() - started
    data = receipt.to_bytes()
    try:
        args.output.write_bytes(data)
    except OSError as exc:
        print(f"zkactors prove: cannot write {args.output}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    outputs = assignments(program.outputs, receipt.outputs)
    print(
        f"proved {args.program} ({program.hash[:16]}): outputs {outputs}; "
        f"{stats.cycles} cycles, trace length {stats.trace_length}, profile {receipt.profile}; "
        f"receipt {len(data)} bytes -> {args.output}; {seconds * 1e3:.1f} ms"
    )
    return 0
