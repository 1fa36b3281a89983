"""The built-in program library: one ``.zkasm`` file per program, shipped as package data.

``load(name)`` assembles a program once and caches it; ``names()`` lists what exists.
Each file's first comment says what the program computes and, on a line of the form
``; cycles = <expression in the inputs>``, its exact cycle count; the test suite holds
that formula to the executor, so the estimator and the docs can rely on it.
"""

from __future__ import annotations

import functools
from importlib import resources

from zkactors.errors import UnknownProgramError
from zkactors.zkvm.assembler import assemble
from zkactors.zkvm.program import Program

__all__ = ["UnknownProgramError", "load", "names", "source"]

_SUFFIX = ".zkasm"


@functools.cache
def names() -> tuple[str, ...]:
    """The names of the built-in programs, sorted."""
    files = resources.files(__name__).iterdir()
    return tuple(sorted(f.name[: -len(_SUFFIX)] for f in files if f.name.endswith(_SUFFIX)))


def source(name: str) -> str:
    """The assembly text of built-in program ``name``.

    :raises UnknownProgramError: if there is no such program.
    """
    if name not in names():
        raise UnknownProgramError(
            f"no built-in program named {name!r}; the library has: {', '.join(names())}"
        )
    return resources.files(__name__).joinpath(name + _SUFFIX).read_text(encoding="utf-8")


@functools.cache
def load(name: str) -> Program:
    """The built-in program ``name``, assembled (once per process).

    :raises UnknownProgramError: if there is no such program.
    """
    return assemble(source(name))
