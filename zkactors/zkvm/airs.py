"""Which AIR proves a run, and the trace length it has there (docs/protocol.md 4, 13, 17).

One rule, used by everything that needs to know: :func:`zkactors.zkvm.execute.execute`
reports the AIR and its trace length with every run, :func:`zkactors.zkvm.prover.prove`
proves under that AIR, and the runtime's cost model prices the proof by it. Pure
Python and free of the prover's imports, so both the executor and the prover use it
(the prover imports the executor, never the other way round).

- **AIR 1** (the register AIR, receipt format 2) expresses a program that program
  format 1 encodes; its trace is ``w = R + I + J`` columns by
  ``T_1 = max(8, next power of two >= cycles + 1)`` rows, and a proof commits
  ``w + 6`` base cells per row (the trace, and two composition segments in K).
- **AIR 2** (the machine AIR, receipt format 3) expresses every program; its trace is
  56 columns by ``T_2 = max(256, next power of two >= max(cycles + 1, instructions,
  registers))`` rows, and a proof commits 95 base cells per row (56 main columns, ten
  auxiliary columns in K, three composition segments in K).

A program format 1 encodes is proved under AIR 1 when that commits no more cells,
``T_1 * (w + 6) <= T_2 * 95``, else under AIR 2.
"""

from __future__ import annotations

from zkactors.zkvm.program import VERSION, Program

__all__ = [
    "MACHINE",
    "MACHINE_CELLS",
    "MACHINE_CONSTRAINTS",
    "MACHINE_MIN_TRACE_LENGTH",
    "MACHINE_WIDTH",
    "REGISTER",
    "REGISTER_EXTRA_CELLS",
    "choose_air",
    "committed_cells",
    "machine_trace_length",
    "register_trace_length",
    "trace_length_under",
]

#: The register AIR's id (receipt format 2).
REGISTER = 1
#: The machine AIR's id (receipt format 3).
MACHINE = 2
#: AIR 2's main trace width and constraint count (protocol.md 13, 14).
MACHINE_WIDTH = 56
MACHINE_CONSTRAINTS = 47
#: AIR 2's shortest trace (protocol.md 13): its byte column has period 256.
MACHINE_MIN_TRACE_LENGTH = 256
#: Base cells per row AIR 2 commits: 56 main, 10 auxiliary columns in K (3 each), and
#: three composition segments in K.
MACHINE_CELLS = MACHINE_WIDTH + 3 * 10 + 3 * 3
#: Base cells per row AIR 1 commits beyond its trace: two composition segments in K.
REGISTER_EXTRA_CELLS = 2 * 3
#: AIR 1's shortest trace (protocol.md 4).
_REGISTER_MIN_TRACE_LENGTH = 8


def register_trace_length(cycles: int) -> int:
    """AIR 1's T (protocol.md 4): max(8, next power of two >= cycles + 1)."""
    return max(_REGISTER_MIN_TRACE_LENGTH, 1 << cycles.bit_length())


def machine_trace_length(program: Program, cycles: int) -> int:
    """AIR 2's T (protocol.md 13): max(256, next power of two >= max(cycles + 1,
    instructions, registers))."""
    need = max(cycles + 1, len(program.instructions), len(program.registers))
    return max(MACHINE_MIN_TRACE_LENGTH, 1 << (need - 1).bit_length())


def trace_length_under(air: int, program: Program, cycles: int) -> int:
    """The T of a ``cycles``-cycle run of ``program`` proved under ``air``."""
    if air == REGISTER:
        return register_trace_length(cycles)
    if air == MACHINE:
        return machine_trace_length(program, cycles)
    raise ValueError(f"air must be 1 or 2, got {air!r}")


def committed_cells(program: Program, air: int) -> int:
    """Base-field cells per trace row a proof under ``air`` commits: ``w + 6`` under
    AIR 1, 95 under AIR 2 (what :func:`choose_air` weighs, and what a proof's hashing
    and low-degree extensions grow with)."""
    if air == REGISTER:
        return program.trace_width + REGISTER_EXTRA_CELLS
    if air == MACHINE:
        return MACHINE_CELLS
    raise ValueError(f"air must be 1 or 2, got {air!r}")


def choose_air(program: Program, cycles: int | None) -> int:
    """The AIR :func:`zkactors.prove` uses for a run of ``cycles`` cycles (protocol.md
    17): 1 for a program that program format 1 can encode when ``T_1 * (w_1 + 6) <=
    T_2 * 95`` (committed cells: AIR 1's trace and two K segments, against AIR 2's 56
    main columns, ten K columns and three K segments), else 2. ``cycles`` may be None
    when AIR 1 wins at any length (``w_1 + 6 <= 95``: T_1 <= T_2 always).

    :raises ValueError: if ``cycles`` is None but the program is wide enough that the
        cycle count decides.
    """
    if program.format != VERSION:  # program format 2: only AIR 2 expresses it
        return MACHINE
    cells = committed_cells(program, REGISTER)
    if cells <= MACHINE_CELLS:
        return REGISTER
    if cycles is None:
        raise ValueError("choosing between the AIRs for this program needs the cycle count")
    t1, t2 = register_trace_length(cycles), machine_trace_length(program, cycles)
    return REGISTER if t1 * cells <= t2 * MACHINE_CELLS else MACHINE
