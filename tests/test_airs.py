"""zkactors.zkvm.airs: the one rule for which AIR proves a run, held to the native
prover's constants and to what prove() does."""

from __future__ import annotations

import pytest

import zkactors._native.prover as native
from zkactors import programs
from zkactors.zkvm import airs
from zkactors.zkvm.execute import execute
from zkactors.zkvm.prover import choose_air as prover_choose_air


def test_constants_match_the_native_prover() -> None:
    assert airs.MACHINE_WIDTH == native.MACHINE_WIDTH
    assert airs.MACHINE_MIN_TRACE_LENGTH == 1 << native.MACHINE_MIN_LOG_T
    assert airs.MACHINE_CELLS == 95  # protocol.md 17: T_1 (w_1 + 6) <= T_2 * 95


def test_the_prover_uses_this_rule() -> None:
    assert prover_choose_air is airs.choose_air


@pytest.mark.parametrize(
    ("cycles", "t1"), [(0, 8), (7, 8), (8, 16), (255, 256), (256, 512), (10_000, 16384)]
)
def test_trace_lengths(cycles: int, t1: int) -> None:
    fib = programs.load("fib")
    assert airs.register_trace_length(cycles) == t1
    assert airs.machine_trace_length(fib, cycles) == max(256, t1)
    assert airs.trace_length_under(1, fib, cycles) == t1
    assert airs.trace_length_under(2, fib, cycles) == max(256, t1)
    with pytest.raises(ValueError, match="air must be 1 or 2"):
        airs.trace_length_under(3, fib, cycles)


def test_machine_trace_length_covers_the_program() -> None:
    long = programs.straight_line(1000)
    assert airs.machine_trace_length(long, 3) == 1024  # instructions, not cycles


def test_committed_cells() -> None:
    fib = programs.load("fib")
    assert airs.committed_cells(fib, 1) == fib.trace_width + 6
    assert airs.committed_cells(fib, 2) == 95
    with pytest.raises(ValueError):
        airs.committed_cells(fib, 0)


def test_format_2_programs_go_to_air_2_and_v1_programs_to_air_1() -> None:
    assert airs.choose_air(programs.load("sum_array"), None) == 2
    assert airs.choose_air(programs.straight_line(10), 1) == 2
    for name in ("fib", "factorial", "mimc", "power"):
        program = programs.load(name)
        assert airs.choose_air(program, None) == 1
        assert execute(program, [3] * program.n_inputs).air == 1


def test_a_wide_program_needs_the_cycle_count() -> None:
    from zkactors.zkvm.assembler import assemble

    regs = "".join(f"set r{k}, {k}\n" for k in range(59))
    wide = assemble(f".input n\n.output r0\n{regs}loop: subi n, n, 1\njnz n, loop\nhalt\n")
    assert wide.format == 1 and wide.trace_width + 6 > 95
    with pytest.raises(ValueError, match="cycle count"):
        airs.choose_air(wide, None)
