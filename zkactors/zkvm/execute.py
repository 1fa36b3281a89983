"""Run programs natively: outputs, exact cycle counts and execution traces.

This is the fast path, called with the GIL released: ``ext/machine.c`` runs every
program (format 1 or 2, with its memory and streams), ``ext/vm.c`` builds AIR 1's trace.
The estimator uses :func:`execute` to learn a request's exact cycles before proving;
tests and tools use :func:`execution_trace` to compare the native trace with the Python
oracle (:mod:`zkactors.zkvm.interpreter`), whose errors this module raises identically.
"""

from __future__ import annotations

import functools
from array import array

import attrs

import zkactors._native.executor as _native
from zkactors._logging import get_logger
from zkactors.errors import ExecutionError, InputError
from zkactors.zkvm.airs import choose_air, machine_trace_length, trace_length_under
from zkactors.zkvm.arguments import Inputs, ProgramLike, as_inputs, as_program
from zkactors.zkvm.interpreter import (
    DEFAULT_MAX_CYCLES,
    assert_error,
    bad_address_error,
    cycle_limit_error,
    inputs_left_error,
    inv_zero_error,
    read_past_end_error,
    too_many_outputs_error,
)
from zkactors.zkvm.program import Program

__all__ = [
    "DEFAULT_MAX_CYCLES",
    "Execution",
    "execute",
    "execution_trace",
    "machine_trace_length",
    "trace_length",
]

log = get_logger(__name__)

#: Traces are allocated in memory; past 2^30 rows a single column alone is 8 GiB.
MAX_TRACE_LOG_LENGTH = 30


@attrs.frozen
class Execution:
    """The result of running a program: its outputs, exact cycles (counting the halt),
    the hash of the program run, the AIR :func:`zkactors.prove` proves this run under
    (``air``: 1, the register AIR, receipt format 2; 2, the machine AIR, receipt
    format 3; chosen by :func:`zkactors.zkvm.airs.choose_air`) and the trace length T
    the proof has under that AIR."""

    outputs: tuple[int, ...]
    cycles: int
    trace_length: int
    program_hash: str
    air: int


@functools.lru_cache(maxsize=256)
def _decoded(canonical: bytes) -> _native.NativeProgram:
    return _native.NativeProgram(canonical)


@functools.lru_cache(maxsize=256)
def _machine(canonical: bytes) -> _native.MachineProgram:
    return _native.MachineProgram(canonical)


def _checked(program: ProgramLike, inputs: Inputs, max_cycles: int) -> tuple[Program, array[int]]:
    checked = as_program(program)
    if isinstance(max_cycles, bool) or not isinstance(max_cycles, int) or max_cycles < 1:
        raise InputError(f"max_cycles must be a positive int, got {max_cycles!r}")
    return checked, array("Q", as_inputs(checked, inputs))


def _prepare(
    program: ProgramLike, inputs: Inputs, max_cycles: int
) -> tuple[Program, _native.NativeProgram, array[int]]:
    checked, values = _checked(program, inputs, max_cycles)
    return checked, _decoded(checked.to_bytes()), values


def _raise_for(
    program: Program,
    code: int,
    fail_pc: int,
    max_cycles: int,
    *,
    detail: int = 0,
    n_inputs: int = 0,
) -> None:
    """The interpreter's own error for a native return code. ``detail`` is the machine's
    (the address, or the stream inputs left), ``n_inputs`` the statement's input count."""
    if code == _native.OK:
        return
    if code == _native.CYCLE_LIMIT:
        raise cycle_limit_error(max_cycles)
    if code == _native.INV_ZERO:
        raise inv_zero_error(program, fail_pc)
    if code == _native.ASSERT_FAILED:
        raise assert_error(program, fail_pc)
    if code == _native.BAD_ADDRESS:
        raise bad_address_error(program, fail_pc, detail)
    if code == _native.READ_PAST_END:
        raise read_past_end_error(program, fail_pc, n_inputs - program.n_inputs)
    if code == _native.INPUTS_LEFT:
        raise inputs_left_error(program, fail_pc, detail)
    if code == _native.TOO_MANY_OUTPUTS:
        raise too_many_outputs_error(program, fail_pc)
    if code == _native.NO_MEMORY:
        raise MemoryError("the native executor ran out of memory for the program's RAM")
    raise ExecutionError(f"the native executor failed with code {code}")  # pragma: no cover


def trace_length(cycles: int) -> int:
    """AIR 1's T = max(8, next power of two >= cycles + 1): the rows of a run of
    ``cycles`` under the register AIR (:func:`machine_trace_length`: under AIR 2)."""
    return 1 << int(_native.trace_log_length(cycles))


def execute(
    program: ProgramLike, inputs: Inputs, *, max_cycles: int = DEFAULT_MAX_CYCLES
) -> Execution:
    """Run ``program`` on ``inputs`` natively (GIL released) and return its outputs and
    exact cycle count, and the AIR a proof of the run is under with its trace length
    (``air`` and ``trace_length``: what :func:`zkactors.prove` would use).

    ``program`` is a :class:`Program` or its canonical bytes; ``inputs`` a sequence of
    ints in ``.input`` order or a mapping by input name (:mod:`zkactors.zkvm.arguments`).

    :raises NotAProgramError: if ``program`` is neither (``ProgramFormatError`` if its
        bytes are not a valid program).
    :raises InputError: if the inputs are of the wrong count, not ints, or out of [0, p).
    :raises ExecutionError: as :func:`zkactors.zkvm.interpreter.run`, with its messages: no
        halt within ``max_cycles``, the inverse of 0, a failed assertion, an address outside
        [0, 2^32), a read past the end of the stream, stream inputs left at the halt, or
        too many outputs (``pc`` and ``source_line`` say where).
    """
    checked, values = _checked(program, inputs, max_cycles)
    code, outputs, cycles, fail_pc, detail = _machine(checked.to_bytes()).run(values, max_cycles)
    _raise_for(checked, code, fail_pc, max_cycles, detail=detail, n_inputs=len(values))
    air = choose_air(checked, cycles)
    return Execution(
        outputs=tuple(outputs),
        cycles=cycles,
        trace_length=trace_length_under(air, checked, cycles),
        program_hash=checked.hash,
        air=air,
    )


def execution_trace(
    program: ProgramLike, inputs: Inputs, *, max_cycles: int = DEFAULT_MAX_CYCLES
) -> list[array[int]]:
    """The execution trace of protocol.md 4: ``trace_width`` columns of T uint64 values.

    Runs the program once for its cycle count (hence T), then fills the trace natively.

    :raises InputError, ExecutionError: as :func:`execute`.
    """
    checked, native, values = _prepare(program, inputs, max_cycles)
    outputs = array("Q", bytes(8 * len(checked.output_registers)))
    code, cycles, fail_pc = native.run(values, max_cycles, outputs)
    _raise_for(checked, code, fail_pc, max_cycles)
    log_t = int(_native.trace_log_length(cycles))
    if log_t > MAX_TRACE_LOG_LENGTH:
        raise ExecutionError(
            f"a run of {cycles} cycles needs a trace of 2^{log_t} rows, more than the "
            f"2^{MAX_TRACE_LOG_LENGTH} this function allocates"
        )
    columns = [array("Q", [0]) * (1 << log_t) for _ in range(checked.trace_width)]
    code = native.trace(values, max_cycles, log_t, columns)
    _raise_for(checked, code, 0, max_cycles)
    return columns
