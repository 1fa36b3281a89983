"""``zkactors prove PROGRAM [INPUT ...] -o FILE``: prove a run and write its receipt.

PROGRAM is a built-in program name, a ``.zkasm`` file or ``-`` (source on stdin), as for
``zkactors run``. The receipt is written in the binary format of protocol.md 10 (``-o -``:
to stdout, and the summary then goes to stderr) and a one-line summary is printed: the
program, its outputs (the ``.output`` registers, then, for a v2 program, the values it
wrote), the AIR the proof is under, the trace length (cycles executed, too: the prover
knows them even though the receipt does not state them), the receipt's size and the
proving time; with ``--json``, one JSON object instead (``inputs`` and ``outputs`` by
register name, ``air``; for a v2 program also ``stream_inputs`` and ``written``, lists).
Inputs are given as for ``zkactors run``: INPUT values, then ``--inputs FILE``.
``zkactors verify FILE --program PROGRAM`` checks the file.

The proof uses every core available to the process unless ``--threads`` says otherwise
(the README promises that proofs use every core); the receipt is the same either way.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from zkactors import profiles
from zkactors.cli._shared import (
    AIR_NAMES,
    EXIT_OK,
    STDIO,
    add_input_arguments,
    describe_outputs,
    inputs_from_args,
    interruptible,
    load_program,
    print_json,
    report_assembly_error,
    source_name,
    split_inputs,
    split_outputs,
    stdin_conflict,
    write_output_file,
)
from zkactors.errors import AssemblyError
from zkactors.zkvm.execute import DEFAULT_MAX_CYCLES
from zkactors.zkvm.prover import MAX_THREADS, prove_with_stats


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity, not the machine's count)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, MAX_THREADS))


def thread_count(text: str) -> int:
    """An argparse type: an int in [1, MAX_THREADS]; anything else is a usage error."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if not 1 <= value <= MAX_THREADS:
        raise argparse.ArgumentTypeError(
            f"must be between 1 and {MAX_THREADS}, got {value} "
            f"(this machine lets the process use {available_cores()} cores)"
        )
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "program", metavar="PROGRAM", help="a built-in program, a .zkasm file, or - for stdin"
    )
    add_input_arguments(parser)
    parser.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="FILE",
        help="where to write the receipt (- for stdout; the summary then goes to stderr)",
    )
    parser.add_argument(
        "--profile",
        default=profiles.DEFAULT,
        choices=list(profiles.PROFILES),
        help=f"security profile (default {profiles.DEFAULT}; 'test' is insecure)",
    )
    parser.add_argument(
        "--threads",
        type=thread_count,
        default=None,
        metavar="N",
        help=f"native threads for the proof, 1 to {MAX_THREADS} (default: every core "
        f"available to the process, {available_cores()} here); the receipt is the same "
        "for every N",
    )
    parser.add_argument(
        "--max-cycles",
        type=int,
        default=DEFAULT_MAX_CYCLES,
        metavar="N",
        help="fail if the program has not halted after this many cycles "
        f"(default {DEFAULT_MAX_CYCLES})",
    )
    parser.add_argument("--json", action="store_true", help="print the summary as one JSON object")


def run(args: argparse.Namespace) -> int:
    if (status := stdin_conflict("prove", args)) is not None:
        return status
    try:
        program = load_program(args.program)
    except AssemblyError as exc:
        return report_assembly_error("prove", args.program, exc)
    inputs = inputs_from_args(program, args)
    threads = available_cores() if args.threads is None else args.threads
    started = time.perf_counter()
    # In a worker thread with a cancel token: Ctrl-C stops the proof within ~0.1 s and
    # main() exits with 130.
    receipt, stats = interruptible(
        lambda token: prove_with_stats(
            program,
            inputs,
            profile=args.profile,
            threads=threads,
            max_cycles=args.max_cycles,
            cancel=token,
        )
    )
    seconds = time.perf_counter() - started
    data = receipt.to_bytes()
    write_output_file(args.output, data)
    # With the receipt on stdout, the summary must not be mixed into it.
    summary_to = sys.stderr if args.output == STDIO else sys.stdout
    name = source_name(args.program)
    if args.json:
        named_inputs, stream = split_inputs(program, receipt.inputs)
        named_outputs, written = split_outputs(program, receipt.outputs)
        payload: dict[str, object] = {
            "program": name,
            "program_hash": program.hash,
            "inputs": named_inputs,
            "outputs": named_outputs,
            "cycles": stats.cycles,
            "trace_length": stats.trace_length,
            "profile": receipt.profile,
            "air": receipt.air,
            "threads": threads,
            "receipt_bytes": len(data),
            "receipt": args.output,
            "seconds": seconds,
        }
        if program.format == 2:
            payload["stream_inputs"] = stream
            payload["written"] = written
        print_json(payload, file=summary_to)
        return EXIT_OK
    outputs = describe_outputs(program, receipt.outputs)
    print(
        f"proved {name} ({program.hash[:16]}): outputs {outputs}; {AIR_NAMES[receipt.air]}, "
        f"{stats.cycles} cycles, trace length {stats.trace_length}, profile {receipt.profile}, "
        f"{threads} thread{'s' if threads != 1 else ''}; "
        f"receipt {len(data)} bytes -> {args.output}; {seconds * 1e3:.1f} ms",
        file=summary_to,
    )
    return EXIT_OK
