"""Helpers the ``run``, ``prove`` and ``verify`` commands share: naming a program on the
command line, reading its inputs, and printing values and assembly errors the same way."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path

from zkactors import programs
from zkactors.errors import AssemblyError, InputError
from zkactors.zkvm.assembler import assemble
from zkactors.zkvm.program import Program


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


def assignments(names: Iterable[str], values: Iterable[int]) -> str:
    """``a=1, b=2``, or ``(none)`` for a program without such values."""
    return ", ".join(f"{name}={value}" for name, value in zip(names, values, strict=True)) or (
        "(none)"
    )


def report_assembly_error(command: str, spec: str, exc: AssemblyError) -> int:
    """Print ``exc`` compiler-style (file:line:column, the line, a caret); return 1."""
    print(
        f"zkactors {command}: {spec}:{exc.line}:{exc.column}: error: {exc.message}", file=sys.stderr
    )
    if exc.source_line:
        print(f"    {exc.source_line}\n    {' ' * (max(exc.column, 1) - 1)}^", file=sys.stderr)
    return 1
