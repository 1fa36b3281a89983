"""A strategy for valid receipts, made by the real (native) prover."""

from __future__ import annotations

from hypothesis import strategies as st

from zkactors import profiles
from zkactors.testing._programs import inputs_for, programs
from zkactors.zkvm.program import Program
from zkactors.zkvm.prover import prove
from zkactors.zkvm.receipt import Receipt

__all__ = ["receipts"]


def receipts(
    profile: str = "test",
    *,
    max_cycles: int = 32,
    max_instructions: int = 16,
) -> st.SearchStrategy[tuple[Receipt, Program]]:
    """``(receipt, program)`` pairs: a program from :func:`programs`, inputs from
    :func:`inputs_for`, and the receipt :func:`zkactors.prove` makes for them.

    Every receipt verifies against its program. Programs the register AIR cannot express
    (memory, streams) are proved under the machine AIR (receipt format 3), as
    :func:`zkactors.prove` chooses. Each example costs one real proof, so the defaults
    keep programs small; ``profile="test"`` is fast and insecure (fine for tests,
    never for production receipts).

    :raises ProfileError: (at once) if ``profile`` names no profile.
    """
    name = profiles.get(profile).name
    # Machine programs too (about one in four): prove() puts them under AIR 2.
    program_st = programs(max_cycles=max_cycles, max_instructions=max_instructions)

    @st.composite
    def proved(draw: st.DrawFn) -> tuple[Receipt, Program]:
        program = draw(program_st)
        inputs = draw(inputs_for(program))
        return prove(program, inputs, profile=name), program

    return proved()
