"""``zkactors run PROGRAM [INPUT ...]``: execute a program and print its outputs and cycles.

PROGRAM is a built-in program name (``zkactors run fib 10``), a path to a ``.zkasm``
file, or ``-`` for source on stdin. Inputs are integers in [0, p), decimal or ``0x`` hex.
The output is one ``name = value`` line per output, then ``cycles = N`` and
``trace_length = T``; with ``--json``, one JSON object instead. Errors print what is wrong
(with the file, line and source line for assembly mistakes) and exit with status 1, or 3
for a file that cannot be read.
"""

from __future__ import annotations

import argparse

from zkactors import programs
from zkactors.cli._shared import load_program, parse_inputs, print_json, report_assembly_error
from zkactors.errors import AssemblyError
from zkactors.zkvm.execute import DEFAULT_MAX_CYCLES, execute


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "program",
        metavar="PROGRAM",
        help=f"a built-in program ({', '.join(programs.names())}), a .zkasm file, "
        "or - to read the source from stdin",
    )
    parser.add_argument(
        "inputs", metavar="INPUT", nargs="*", help="the program's inputs, in .input order"
    )
    parser.add_argument(
        "--max-cycles",
        type=int,
        default=DEFAULT_MAX_CYCLES,
        help="fail if the program has not halted after this many cycles "
        f"(default {DEFAULT_MAX_CYCLES})",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def run(args: argparse.Namespace) -> int:
    try:
        program = load_program(args.program)
    except AssemblyError as exc:
        return report_assembly_error("run", args.program, exc)
    result = execute(program, parse_inputs(program, args.inputs), max_cycles=args.max_cycles)
    if args.json:
        payload = {
            "program": program.hash,
            "outputs": dict(zip(program.outputs, result.outputs, strict=True)),
            "cycles": result.cycles,
            "trace_length": result.trace_length,
        }
        print_json(payload)
        return 0
    for name, value in zip(program.outputs, result.outputs, strict=True):
        print(f"{name} = {value}")
    print(f"cycles = {result.cycles}")
    print(f"trace_length = {result.trace_length}")
    return 0
