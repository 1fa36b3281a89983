"""``zkactors run PROGRAM [INPUT ...]``: execute a program and print its outputs and cycles.

PROGRAM is a built-in program name (``zkactors run fib 10``), a path to a ``.zkasm``
file, or ``-`` for source on stdin. Inputs are integers in [0, p), decimal or ``0x`` hex,
one per ``.input`` register; a program with ``read`` (instruction set v2) takes its stream
inputs after them (``zkactors run sum_array 3 10 20 30``), on the command line or from
``--inputs FILE`` (a JSON array or whitespace-separated integers, appended after them).
The output is one ``name = value`` line per ``.output`` register, then, for a v2 program,
``written = [v, ...]`` (the values its ``write`` instructions appended), then
``cycles = N`` and ``trace_length = T``; with ``--json``, one JSON object instead
(``outputs`` by register name; ``written``, a list, for a v2 program). Errors print what is wrong
(with the file, line and source line for assembly mistakes) and exit with status 1, or 3
for a file that cannot be read.
"""

from __future__ import annotations

import argparse

from zkactors import programs
from zkactors.cli._shared import (
    add_input_arguments,
    inputs_from_args,
    load_program,
    print_json,
    report_assembly_error,
    split_outputs,
    stdin_conflict,
    value_list,
)
from zkactors.errors import AssemblyError
from zkactors.zkvm.execute import DEFAULT_MAX_CYCLES, execute


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "program",
        metavar="PROGRAM",
        help=f"a built-in program ({', '.join(programs.names())}), a .zkasm file, "
        "or - to read the source from stdin",
    )
    add_input_arguments(parser)
    parser.add_argument(
        "--max-cycles",
        type=int,
        default=DEFAULT_MAX_CYCLES,
        help="fail if the program has not halted after this many cycles "
        f"(default {DEFAULT_MAX_CYCLES})",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def run(args: argparse.Namespace) -> int:
    if (status := stdin_conflict("run", args)) is not None:
        return status
    try:
        program = load_program(args.program)
    except AssemblyError as exc:
        return report_assembly_error("run", args.program, exc)
    result = execute(program, inputs_from_args(program, args), max_cycles=args.max_cycles)
    named, written = split_outputs(program, result.outputs)
    if args.json:
        payload: dict[str, object] = {
            "program": program.hash,
            "outputs": named,
            "cycles": result.cycles,
            "trace_length": result.trace_length,
        }
        if program.format == 2:
            payload["written"] = written
        print_json(payload)
        return 0
    for name, value in named.items():
        print(f"{name} = {value}")
    if program.format == 2:
        print(f"written = {value_list(written, limit=None)}")
    print(f"cycles = {result.cycles}")
    print(f"trace_length = {result.trace_length}")
    return 0
