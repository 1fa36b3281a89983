"""``prove``: execute a program and produce its STARK receipt (protocol.md 8).

The whole proof runs in native code (``ext/prover.c``) with the GIL released, so other
Python threads, and the actor runtime's event loop, keep running while a proof is made.
This module only checks arguments and turns the native return codes into typed errors.

Bytes depend on the program, the inputs and the profile alone: the thread count changes
how fast a receipt is made, never what it says.

Two AIRs (docs/protocol.md 17, last paragraph): a program that program format 1 can
encode is proved under the register AIR (AIR 1, receipt format 2) when that is cheaper in
committed cells, ``T_1 * (w_1 + 6) <= T_2 * 95``, else under the machine AIR (AIR 2,
receipt format 3); every other program under AIR 2 (:mod:`zkactors.zkvm.airs` holds the
rule, which :func:`zkactors.zkvm.execute.execute` reports too). :class:`ProveStats` says
which.

A proof can be stopped from another thread with a :class:`CancelToken`: the native
prover polls it about every millisecond of work (in its worker threads too), frees
everything it allocated and the call raises :class:`~zkactors.errors.ProofCancelled`.
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from typing import Any

import attrs

import zkactors._native.prover as _native
from zkactors import profiles
from zkactors._logging import get_logger
from zkactors.errors import ExecutionError, InputError, ProofCancelled, ProvingError
from zkactors.zkvm.airs import MACHINE_CELLS, REGISTER_EXTRA_CELLS, choose_air
from zkactors.zkvm.arguments import Inputs, ProgramLike, as_inputs, as_program
from zkactors.zkvm.execute import execute
from zkactors.zkvm.interpreter import (
    DEFAULT_MAX_CYCLES,
    assert_error,
    cycle_limit_error,
    inv_zero_error,
)
from zkactors.zkvm.program import Program
from zkactors.zkvm.receipt import Receipt

__all__ = [
    "MAX_THREADS",
    "CancelToken",
    "ProveStats",
    "choose_air",
    "memory_bytes",
    "prove",
    "prove_with_stats",
]

log = get_logger(__name__)

#: The steps of protocol.md 8 that :class:`ProveStats` times, in order.
STEPS = (
    "trace",
    "lde",
    "trace_commit",
    "composition",
    "composition_commit",
    "ood",
    "deep",
    "fri",
    "grinding",
    "queries",
)


@attrs.frozen
class ProveStats:
    """What one proof cost: cycles executed, trace shape, and seconds per step
    (``timings`` maps each name of :data:`STEPS`, ``"total"``, and ``"aux"`` — AIR 2's
    fixed and auxiliary columns, 0 under AIR 1 — to seconds); ``air`` is the AIR the
    proof is under (1: register AIR, receipt format 2; 2: machine AIR, format 3)."""

    cycles: int
    trace_length: int
    trace_width: int
    receipt_size: int
    timings: dict[str, float]
    air: int = 1


#: The most native threads one proof uses; larger requests are capped to it.
MAX_THREADS = 256


class CancelToken:
    """Asks the proofs given it to stop; thread-safe and one-way (a cancelled token stays
    cancelled, so use a fresh one per proof you may want to stop).

    ::

        token = zkactors.CancelToken()
        # in a worker thread:  zkactors.prove(program, inputs, cancel=token)
        token.cancel()         # from any thread: that call raises ProofCancelled soon
                               # (see `zkactors bench cancel` for how soon)

    The flag is one C int that the native prover reads while it runs; setting it is an
    atomic store, so no lock is needed on either side.
    """

    __slots__ = ("_flag",)

    def __init__(self) -> None:
        self._flag = array("i", [0])

    def cancel(self) -> None:
        """Ask every proof watching this token to stop (idempotent)."""
        _native.cancel(self._flag)

    @property
    def cancelled(self) -> bool:
        """True once :meth:`cancel` was called."""
        return self._flag[0] != 0

    def __repr__(self) -> str:
        return f"CancelToken(cancelled={self.cancelled})"


def _check_cancel(cancel: CancelToken | None) -> CancelToken | None:
    if cancel is not None and not isinstance(cancel, CancelToken):
        raise TypeError(f"cancel must be a CancelToken or None, got {type(cancel).__name__}")
    if cancel is not None and cancel.cancelled:
        raise ProofCancelled("the proof was cancelled before it started")
    return cancel


def _check_threads(threads: int) -> int:
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise InputError(f"threads must be an int >= 1, got {threads!r}")
    return min(threads, MAX_THREADS)


#: The machine's failures (AIR 2 only): the interpreter makes their messages.
_MACHINE_ERRORS = {
    _native.BAD_ADDRESS: "bad address",
    _native.READ_PAST_END: "read past the end of the stream inputs",
    _native.INPUTS_LEFT: "stream inputs left unread",
    _native.TOO_MANY_OUTPUTS: "too many outputs",
}


def _machine_error(
    program: Program, inputs: Sequence[int], code: int, pc: int, max_cycles: int
) -> ExecutionError:
    """The interpreter's own error for a run the native machine refused. Its message
    needs what the run held at the failure (the address, the stream counts), which the
    native executor reports and turns into that error (:func:`execute`): a failed proof
    costs one more native run, never a proof."""
    try:
        execute(program, inputs, max_cycles=max_cycles)
    except ExecutionError as error:
        return error
    return ExecutionError(  # pragma: no cover - the prover's run and execute()'s agree
        f"{_MACHINE_ERRORS[code]} at pc {pc}", pc=pc, source_line=program.source_line(pc)
    )


def _raise_for(
    program: Program,
    code: int,
    details: dict[str, Any],
    max_cycles: int,
    profile_id: int,
    inputs: Sequence[int] = (),
) -> None:
    if code == _native.OK:
        return
    if code == _native.CANCELLED:
        raise ProofCancelled("the proof was cancelled before it finished")
    pc = int(details.get("fail_pc", 0))
    if code in _MACHINE_ERRORS:
        raise _machine_error(program, inputs, code, pc, max_cycles)
    if code == _native.CYCLE_LIMIT:
        raise cycle_limit_error(max_cycles)
    if code == _native.INV_ZERO:
        raise inv_zero_error(program, pc)
    if code == _native.ASSERT_FAILED:
        raise assert_error(program, pc)
    if code == _native.TOO_LARGE:
        raise ProvingError(
            f"the run takes {details.get('cycles')} cycles, which needs a trace longer than "
            f"2^{_native.MAX_LOG_T} rows, the largest a receipt can state; split the "
            "computation into smaller programs"
        )
    if code == _native.UNLUCKY:
        raise ProvingError(
            "a LogUp challenge of this proof hit a looked-up value (probability about "
            "2^-180); the same statement always draws the same challenge, so prove the "
            "computation with other inputs or a changed program"
        )
    if code == _native.NO_MEMORY:
        width, log_t = int(details.get("width", 0)), int(details.get("log_t", 0))
        if width == _native.MACHINE_WIDTH:
            need = _native.machine_memory_bytes(log_t, profile_id)
        else:
            need = _native.memory_bytes(width, log_t, profile_id) if width else None
        about = f" (about {need / 2**30:.1f} GiB)" if need else ""
        raise ProvingError(
            f"not enough memory to prove a trace of 2^{details.get('log_t')} rows{about}; "
            "prove a shorter run or use a machine with more memory"
        )
    if code == _native.BAD_TRACE:
        raise ProvingError("the given trace does not fit the program (width, length, values)")
    raise ProvingError(f"the native prover failed with code {code}")  # pragma: no cover


def memory_bytes(
    trace_width: int, trace_length: int, profile: str = profiles.DEFAULT, *, air: int = 1
) -> int:
    """Peak bytes the native prover allocates for a ``trace_width`` x ``trace_length``
    trace under ``profile`` (the estimator's memory prediction; the prover refuses
    proofs that need more than the machine's physical memory). ``air`` 2: a machine-AIR
    proof, whose width is always 56 (``trace_width`` must say so) and T at least 256.

    :raises ProfileError: if ``profile`` names no profile.
    :raises ValueError: if the trace length is not a power of two in [8, 2^26] (AIR 2:
        [256, 2^26]) or the width is not positive (AIR 2: not 56).
    """
    chosen = profiles.get(profile)
    log_t = trace_length.bit_length() - 1
    if trace_length != 1 << log_t or not _native.MIN_LOG_T <= log_t <= _native.MAX_LOG_T:
        raise ValueError(f"trace_length must be a power of two in [8, 2^26], got {trace_length}")
    if trace_width < 1:
        raise ValueError(f"trace_width must be positive, got {trace_width}")
    if air == 2:
        if trace_width != _native.MACHINE_WIDTH or log_t < _native.MACHINE_MIN_LOG_T:
            raise ValueError(
                f"an AIR 2 trace is {_native.MACHINE_WIDTH} wide and at least 256 long, got "
                f"{trace_width} x {trace_length}"
            )
        need = _native.machine_memory_bytes(log_t, chosen.id)
    elif air == 1:
        need = _native.memory_bytes(trace_width, log_t, chosen.id)
    else:
        raise ValueError(f"air must be 1 or 2, got {air!r}")
    if need is None:  # pragma: no cover - the checks above rule it out
        raise ValueError(f"no memory figure for 2^{log_t} rows")
    return need


def _air_for(program: Program, values: Sequence[int], max_cycles: int, air: int | None) -> int:
    if air is not None:
        if air not in (1, 2) or isinstance(air, bool):
            raise InputError(f"air must be 1, 2 or None, got {air!r}")
        if air == 1 and program.format != 1:
            raise InputError(
                "the register AIR (air=1) proves only programs that program format 1 can "
                "encode; this one needs the machine AIR (air=2)"
            )
        return air
    if program.format == 1 and program.trace_width + REGISTER_EXTRA_CELLS > MACHINE_CELLS:
        # Wide enough that the cycle count decides: one native run (cheap beside a proof),
        # whose Execution names the AIR by the same rule.
        return execute(program, values, max_cycles=max_cycles).air
    return choose_air(program, None)


def prove_with_stats(
    program: ProgramLike,
    inputs: Inputs,
    *,
    profile: str = profiles.DEFAULT,
    threads: int = 1,
    max_cycles: int = DEFAULT_MAX_CYCLES,
    cancel: CancelToken | None = None,
    air: int | None = None,
) -> tuple[Receipt, ProveStats]:
    """:func:`prove`, also returning where the time went (for benchmarks and the
    runtime's estimator) and which AIR the proof is under."""
    program = as_program(program)
    chosen = profiles.get(profile)
    n_threads = _check_threads(threads)
    token = _check_cancel(cancel)
    if isinstance(max_cycles, bool) or not isinstance(max_cycles, int) or max_cycles < 1:
        raise InputError(f"max_cycles must be a positive int, got {max_cycles!r}")
    checked = as_inputs(program, inputs)
    values = array("Q", checked)
    which = _air_for(program, checked, max_cycles, air)
    # Past 2^40 cycles the trace could not be proved anyway; the cap keeps it a C uint64.
    code, receipt_bytes, details = _native.prove(
        program.to_bytes(),
        values,
        chosen.id,
        n_threads,
        min(max_cycles, 1 << 40),
        None,
        None if token is None else token._flag,
        which,
    )
    _raise_for(program, code, details, max_cycles, chosen.id, checked)
    if receipt_bytes is None:  # pragma: no cover - OK always carries the receipt
        raise ProvingError("the native prover returned no receipt")
    receipt = Receipt.from_bytes(receipt_bytes)
    stats = ProveStats(
        cycles=int(details["cycles"]),
        trace_length=1 << int(details["log_t"]),
        trace_width=int(details["width"]),
        receipt_size=len(receipt_bytes),
        timings=dict(details["timings"]),
        air=which,
    )
    return receipt, stats


def prove(
    program: ProgramLike,
    inputs: Inputs,
    *,
    profile: str = profiles.DEFAULT,
    threads: int = 1,
    max_cycles: int = DEFAULT_MAX_CYCLES,
    cancel: CancelToken | None = None,
    air: int | None = None,
) -> Receipt:
    """Run ``program`` on ``inputs`` and return a STARK receipt of the run.

    The receipt states the program's hash, the inputs, the outputs and the trace length;
    anyone holding the program can check it with :func:`zkactors.verify`.

    :param program: a :class:`Program` or its canonical bytes.
    :param inputs: a sequence of ints in ``.input`` order, or a mapping by input name
        (the same forms as ``ZkRuntime.prove``; see :mod:`zkactors.zkvm.arguments`).
    :param profile: security profile name (``"test"``, ``"default"``, ``"high"``).
    :param threads: native threads for this one proof (>= 1); the receipt is the same
        for every value.
    :param max_cycles: the run fails if it does not halt within this many cycles.
    :param cancel: a :class:`CancelToken` another thread may cancel to stop the proof.
    :param air: the AIR to prove under (1 or 2); None, the default, chooses the cheaper
        one that expresses the program (:func:`choose_air`).
    :raises NotAProgramError: if ``program`` is neither a Program nor bytes
        (``ProgramFormatError`` if the bytes are not a valid program).
    :raises InputError: if the inputs are of the wrong count or not ints in [0, p), or
        ``threads`` / ``max_cycles`` are not positive ints.
    :raises ProfileError: if ``profile`` names no profile.
    :raises ExecutionError: if the program fails: no halt within ``max_cycles``, ``inv``
        of zero, or a failed assertion (``pc`` and ``source_line`` say where).
    :raises ProvingError: if the run is too long to prove (trace over 2^26 rows) or memory
        runs out.
    :raises ProofCancelled: if ``cancel`` was cancelled before the proof finished.
    """
    receipt, stats = prove_with_stats(
        program,
        inputs,
        profile=profile,
        threads=threads,
        max_cycles=max_cycles,
        cancel=cancel,
        air=air,
    )
    # Here and not in prove_with_stats, which the runtime calls: its supervisor logs the
    # same fact as ``proof.proved`` with the request's ids, and one proof is one event.
    log.debug(
        "proof.proved",
        program=receipt.program_hash[:16],
        cycles=stats.cycles,
        trace_length=stats.trace_length,
        profile=receipt.profile,
        threads=threads,
        seconds=round(stats.timings["total"], 6),
        receipt_bytes=stats.receipt_size,
        air=stats.air,
    )
    return receipt


def _check_field_elements(name: str, values: Sequence[int]) -> None:
    for v in values:
        if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v < 2**64 - 2**32 + 1:
            raise InputError(f"{name} must be ints in [0, p), got {v!r}")


def _forged_columns(
    columns: Sequence[Sequence[int]], width: int, min_length: int
) -> tuple[list[array[int]], int]:
    """A caller-given trace as uint64 arrays, and T: ``width`` columns of one power-of-two
    length at least ``min_length``."""
    cols = [c if isinstance(c, array) and c.typecode == "Q" else array("Q", c) for c in columns]
    if len(cols) != width:
        raise ProvingError(f"expected {width} columns, got {len(cols)}")
    length = len(cols[0]) if cols else 0
    if length < min_length or length & (length - 1) or any(len(c) != length for c in cols):
        raise ProvingError(f"columns must all have the same power-of-two length >= {min_length}")
    return cols, length


def _forged_receipt(
    program: Program,
    code: int,
    receipt_bytes: bytes | None,
    details: dict[str, Any],
    profile_id: int,
) -> bytes:
    """The receipt bytes of a prove-with-trace call, or its typed error."""
    _raise_for(program, code, details, 0, profile_id)
    if receipt_bytes is None:  # pragma: no cover - OK always carries the receipt
        raise ProvingError("the native prover returned no receipt")
    return receipt_bytes


def _prove_with_trace(
    program: Program,
    inputs: Sequence[int],
    outputs: Sequence[int],
    columns: Sequence[Sequence[int]],
    *,
    profile: str = "test",
    threads: int = 1,
) -> bytes:
    """FOR TESTS ONLY (the soundness suite): prove a caller-given, possibly forged trace.

    Runs protocol.md 8 steps 1-7 honestly on ``columns`` (``trace_width`` columns of the
    same power-of-two length T >= 8, values in [0, p)) with the claimed public
    ``outputs``; nothing is executed and nothing is checked against the program's real
    behaviour, which is the point: a verifier must reject every receipt made from a trace
    that does not satisfy the AIR. Returns the raw receipt bytes (a forged statement may
    not even decode as the test expects, so no :class:`Receipt` is built).

    :raises InputError: on a wrong input count or out-of-range values.
    :raises ProvingError: if the columns do not fit the program.
    """
    chosen = profiles.get(profile)
    n_threads = _check_threads(threads)
    values = array("Q", program.check_inputs(inputs))
    outs = tuple(outputs)
    if len(outs) != len(program.output_registers):
        raise InputError(f"expected {len(program.output_registers)} outputs, got {len(outs)}")
    _check_field_elements("outputs", outs)
    cols, length = _forged_columns(columns, program.trace_width, 8)
    code, receipt_bytes, details = _native.prove_with_trace(
        program.to_bytes(),
        values,
        array("Q", outs),
        cols,
        length.bit_length() - 1,
        chosen.id,
        n_threads,
    )
    return _forged_receipt(program, code, receipt_bytes, details, chosen.id)


def _prove_machine_with_trace(
    program: Program,
    inputs: Sequence[int],
    outputs: Sequence[int],
    columns: Sequence[Sequence[int]],
    *,
    profile: str = "test",
    threads: int = 1,
) -> bytes:
    """FOR TESTS ONLY: the AIR 2 twin of :func:`_prove_with_trace` (protocol.md 15 on a
    caller-given, possibly forged, 56-column main trace; receipt format 3).

    ``inputs`` are the statement's inputs (the .input registers' values, then the stream)
    and ``outputs`` its outputs (the .output registers, then the written values), as
    claimed; the auxiliary columns are built from the given trace as an honest prover
    would. Returns the raw receipt bytes.

    :raises InputError: on out-of-range values.
    :raises ProvingError: if the columns or the statement do not fit the program
        (width 56, a power-of-two length T >= 256 that fits the program, counts).
    """
    chosen = profiles.get(profile)
    n_threads = _check_threads(threads)
    for name, seq in (("inputs", inputs), ("outputs", outputs)):
        _check_field_elements(name, seq)
    cols, length = _forged_columns(columns, _native.MACHINE_WIDTH, 256)
    code, receipt_bytes, details = _native.prove_with_trace(
        program.to_bytes(),
        array("Q", inputs),
        array("Q", outputs),
        cols,
        length.bit_length() - 1,
        chosen.id,
        n_threads,
        None,
        2,
    )
    return _forged_receipt(program, code, receipt_bytes, details, chosen.id)
