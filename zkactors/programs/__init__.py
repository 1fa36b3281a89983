"""The built-in program library: one ``.zkasm`` file per program, shipped as package data.

``load(name)`` assembles a program once and caches it; ``names()`` lists what exists.
Each file's first comment says what the program computes and, on a line of the form
``; cycles = <expression in the inputs>``, its exact cycle count; the test suite holds
that formula to the executor, so the estimator and the docs can rely on it. (For a
program that reads its inputs from the stream, ``n`` in the formula is the first value
read.)

:func:`straight_line` generates, rather than loads, a long straight-line program of a
chosen size: the machine AIR's case of a program far longer than its run is wide.
"""

from __future__ import annotations

import functools
from importlib import resources

from zkactors.errors import UnknownProgramError
from zkactors.zkvm.assembler import assemble
from zkactors.zkvm.isa import V2_MAX_INSTRUCTIONS, Instruction, Op
from zkactors.zkvm.program import Program

__all__ = ["UnknownProgramError", "load", "names", "source", "straight_line"]

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


#: Rounds of :func:`straight_line` keep their results in this many memory cells.
STRAIGHT_LINE_CELLS = 256


@functools.cache
def straight_line(n_instructions: int = 4096) -> Program:
    """A straight-line program of exactly ``n_instructions`` instructions (1 to 65,536),
    all executed once, so it runs ``n_instructions`` cycles.

    ``.input x``, ``.output x``. The code is ``(n_instructions - 1) // 6`` unrolled rounds
    of a MiMC-like chain over memory, round k (from 0) being::

        load  m, [k mod 256]        ; x of round k - 256 (0 for the first 256 rounds)
        add   t, x, m
        addi  t, t, k + 1           ; the round constant
        mul   u, t, t
        mul   x, u, t               ; x = (x + M[k mod 256] + k + 1)^3
        store [k mod 256], x

    then ``(n_instructions - 1) % 6`` times ``addi x, x, 1``, then ``halt``.

    :raises ValueError: if ``n_instructions`` is not an int in [1, 65536].
    """
    if (
        isinstance(n_instructions, bool)
        or not isinstance(n_instructions, int)
        or not 1 <= n_instructions <= V2_MAX_INSTRUCTIONS
    ):
        raise ValueError(
            f"n_instructions must be an int in [1, {V2_MAX_INSTRUCTIONS}], got {n_instructions!r}"
        )
    x, m, t, u = range(4)
    rounds, extra = divmod(n_instructions - 1, 6)
    code: list[Instruction] = []
    for k in range(rounds):
        cell = k % STRAIGHT_LINE_CELLS
        code += [
            Instruction(Op.LOAD_ABS, rd=m, imm=cell),
            Instruction(Op.ADD, rd=t, ra=x, rb=m),
            Instruction(Op.ADDI, rd=t, ra=t, imm=k + 1),
            Instruction(Op.MUL, rd=u, ra=t, rb=t),
            Instruction(Op.MUL, rd=x, ra=u, rb=t),
            Instruction(Op.STORE_ABS, rb=x, imm=cell),
        ]
    code += [Instruction(Op.ADDI, rd=x, ra=x, imm=1)] * extra
    code.append(Instruction(Op.HALT))
    registers = ("x", "m", "t", "u") if rounds else ("x",)
    return Program(registers, 1, (x,), tuple(code))
