"""The one input model of the public API: which ``program`` and ``inputs`` forms every
entry point accepts, and how they are checked.

``zkactors.execute`` / ``prove`` / ``verify`` and every ``ZkRuntime`` call go through
:func:`as_program` and :func:`as_inputs`, so the sync and async APIs accept the same
forms and raise the same typed errors for the same mistakes:

- ``program``: a :class:`~zkactors.Program`, or its canonical bytes
  (``Program.to_bytes()``), which are decoded and validated;
- ``inputs``: a sequence of ints in ``.input`` order, or a mapping from input name to int.
  A program with ``read`` (instruction set v2) takes its stream inputs after the
  ``.input`` values, so at least ``n_inputs`` and at most 2^16 values in all, which only
  the sequence form can give: a mapping names the ``.input`` registers alone, so it
  gives a program no stream inputs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TypeAlias

from zkactors.errors import InputError, NotAProgramError
from zkactors.zkvm.program import Program

__all__ = ["Inputs", "ProgramLike", "as_inputs", "as_program"]

#: What the API accepts as a program: a Program or its canonical bytes.
ProgramLike: TypeAlias = Program | bytes | bytearray | memoryview
#: What the API accepts as inputs: ints in ``.input`` order (then the stream inputs of a
#: program with ``read``), or a mapping by input name.
Inputs: TypeAlias = Sequence[int] | Mapping[str, int]


def as_program(program: object) -> Program:
    """``program`` as a :class:`Program`; canonical bytes are decoded.

    :raises NotAProgramError: if it is neither a Program nor bytes (a name such as
        ``"fib"`` is not a program: ``zkactors.programs.load("fib")`` is).
    :raises ProgramFormatError: if bytes are not a valid canonical program.
    """
    if isinstance(program, Program):
        return program
    if isinstance(program, bytes | bytearray | memoryview):
        return Program.from_bytes(bytes(program))
    hint = (
        f"; for a built-in program use zkactors.programs.load({program!r:.40})"
        if isinstance(program, str)
        else ""
    )
    raise NotAProgramError(
        f"expected a zkactors Program (or its canonical bytes), got {type(program).__name__}; "
        f"build one with zkactors.assemble(source) or zkactors.programs.load(name){hint}"
    )


def as_inputs(program: Program, inputs: object) -> tuple[int, ...]:
    """``inputs`` as field elements for ``program``: a sequence in ``.input`` order (then
    the stream inputs, up to 2^16 values in all, for a program with ``read``), or a
    mapping from input name to value.

    :raises InputError: on a wrong count, unknown or missing names, a value that is not
        an int in [0, p), or ``inputs`` of another kind (a str, an int, a set, ...).
    """
    if type(inputs) is tuple or type(inputs) is list:  # the common case, checked directly
        return program.check_inputs(inputs)
    if isinstance(inputs, Mapping):
        names = program.inputs
        unknown = [name for name in inputs if name not in names]
        if unknown:
            raise InputError(
                f"unknown input name(s) {', '.join(map(repr, unknown))}; "
                f"the program's inputs are: {', '.join(names) or 'none'}"
            )
        missing = [name for name in names if name not in inputs]
        if missing:
            raise InputError(f"missing input(s): {', '.join(missing)}")
        return program.check_inputs([inputs[name] for name in names])
    # Unordered or textual iterables would be read in an arbitrary order or char by char:
    # refuse them rather than prove a statement the caller did not mean.
    if isinstance(inputs, str | bytes | bytearray | memoryview | set | frozenset) or not isinstance(
        inputs, Iterable
    ):
        raise InputError(
            "inputs must be a sequence of ints (in .input order) or a mapping of input "
            f"name to int, got {type(inputs).__name__}"
        )
    return program.check_inputs(inputs)
