"""``zkactors run PROGRAM [INPUT ...]``: execute a program and print its outputs and cycles.

PROGRAM is a built-in program name (``zkactors run fib 10``) or a path to a ``.zkasm``
file. Inputs are integers in [0, p), decimal or ``0x`` hex. The output is one
``name = value`` line per output, then ``cycles = N`` and ``trace_length = T``; with
``--json``, one JSON object instead. Errors print what is wrong (with the file, line and
source line for assembly mistakes) and exit with status 1.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from zkactors import programs
from zkactors.errors import AssemblyError, InputError
from zkactors.zkvm.assembler import assemble
from zkactors.zkvm.execute import DEFAULT_MAX_CYCLES, execute
from zkactors.zkvm.program import Program


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "program",
        metavar="PROGRAM",
        help=f"a built-in program ({', '.join(programs.names())}) or a .zkasm file",
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


def load_program(spec: str) -> Program:
    """A built-in program by name, or the assembled contents of a ``.zkasm`` file.

    :raises UnknownProgramError: if ``spec`` is neither a built-in name nor a file.
    :raises AssemblyError: if the file does not assemble.
    """
    path = Path(spec)
    if spec in programs.names() and not path.is_file():
        return programs.load(spec)
    if path.is_file():
        return assemble(path.read_text(encoding="utf-8"))
    if spec.endswith(".zkasm") or "/" in spec:
        raise programs.UnknownProgramError(f"no such program file: {spec}")
    return programs.load(spec)  # raises UnknownProgramError listing the library


def parse_inputs(program: Program, texts: list[str]) -> list[int]:
    if len(texts) != program.n_inputs:
        names = " ".join(program.inputs) or "(none)"
        raise InputError(
            f"the program takes {program.n_inputs} input{'s' if program.n_inputs != 1 else ''} "
            f"({names}), got {len(texts)}"
        )
    values = []
    for name, text in zip(program.inputs, texts, strict=True):
        try:
            values.append(int(text, 0))
        except ValueError:
            raise InputError(
                f"input {name!r} must be an integer in [0, p) (decimal or 0x hex), got {text!r}"
            ) from None
    return values


def run(args: argparse.Namespace) -> int:
    try:
        program = load_program(args.program)
    except AssemblyError as exc:
        print(
            f"zkactors run: {args.program}:{exc.line}:{exc.column}: error: {exc.message}",
            file=sys.stderr,
        )
        if exc.source_line:
            print(f"    {exc.source_line}\n    {' ' * (max(exc.column, 1) - 1)}^", file=sys.stderr)
        return 1
    result = execute(program, parse_inputs(program, args.inputs), max_cycles=args.max_cycles)
    if args.json:
        payload = {
            "program": program.hash,
            "outputs": dict(zip(program.outputs, result.outputs, strict=True)),
            "cycles": result.cycles,
            "trace_length": result.trace_length,
        }
        print(json.dumps(payload))
        return 0
    for name, value in zip(program.outputs, result.outputs, strict=True):
        print(f"{name} = {value}")
    print(f"cycles = {result.cycles}")
    print(f"trace_length = {result.trace_length}")
    return 0
