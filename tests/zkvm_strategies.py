"""The zkVM test suite's program strategies, now a thin layer over :mod:`zkactors.testing`
(the public package users test with), kept so the existing tests' imports stay as they are.

``failing=True`` (the default here, as before) draws programs whose runs may fail (``inv``
of 0, a failed assertion, a bad address), so the error paths are compared too;
``failing=False`` draws programs that succeed on every input. The budgets are those the
suite was written against: up to 128 cycles and 40 instructions. About one program in
four is a machine program (instruction set v2); tests of what only the register AIR
handles filter with :func:`fits_register_air`.
"""

from __future__ import annotations

from hypothesis import strategies as st

from zkactors import testing
from zkactors.zkvm.program import Program

MAX_CYCLES = 128
MAX_INSTRUCTIONS = 40

#: A strategy (not a function) of field elements, as the tests use it.
field_elements = testing.field_elements()


def program_sources(*, failing: bool = True) -> st.SearchStrategy[str]:
    """Assembly text of a valid program that halts within ``MAX_CYCLES``."""
    return testing.program_sources(
        max_cycles=MAX_CYCLES, max_instructions=MAX_INSTRUCTIONS, may_fail=failing
    )


def programs(*, failing: bool = True) -> st.SearchStrategy[Program]:
    return testing.programs(
        max_cycles=MAX_CYCLES, max_instructions=MAX_INSTRUCTIONS, may_fail=failing
    )


def fits_register_air(case: tuple[Program, list[int]]) -> bool:
    """For ``.filter``: the drawn program fits the register AIR (instruction set v1)."""
    return case[0].fits_register_air


@st.composite
def programs_with_inputs(draw: st.DrawFn, *, failing: bool = True) -> tuple[Program, list[int]]:
    program = draw(programs(failing=failing))
    return program, list(draw(testing.inputs_for(program)))
