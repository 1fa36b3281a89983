"""Workloads (lists of proof requests with a chosen repeat rate) and a checker that runs
one through a :class:`~zkactors.runtime.ZkRuntime` and verifies every answer."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal

import anyio
import anyio.to_thread
import attrs
from hypothesis import strategies as st

from zkactors import profiles
from zkactors.errors import ExecutionError, VerificationError, ZkActorsError
from zkactors.testing._programs import inputs_for, programs
from zkactors.zkvm.execute import execute
from zkactors.zkvm.program import Program
from zkactors.zkvm.receipt import Receipt
from zkactors.zkvm.verifier import verify

if TYPE_CHECKING:
    from zkactors.runtime import ZkRuntime

__all__ = ["Request", "WorkloadReport", "repeat_count", "run_workload", "workloads"]

#: One proof request: a program and its inputs.
Request = tuple[Program, tuple[int, ...]]


def repeat_count(unique: int, repeat_rate: float) -> tuple[int, int]:
    """``(total, repeats)`` for a workload of ``unique`` distinct requests whose share of
    repeats (requests equal to an earlier one) is as close to ``repeat_rate`` as whole
    requests allow: ``total = round(unique / (1 - repeat_rate))``."""
    if not 0.0 <= repeat_rate < 1.0:
        raise ValueError(f"repeat_rate must be in [0, 1), got {repeat_rate!r}")
    total = max(unique, round(unique / (1.0 - repeat_rate)))
    return total, total - unique


def _key(request: Request) -> tuple[str, tuple[int, ...]]:
    program, inputs = request
    return program.hash, tuple(inputs)


def _as_strategy(value: Any, check: Any) -> st.SearchStrategy[Any]:
    if isinstance(value, st.SearchStrategy):
        return value.map(check)
    return st.just(check(value))


def _check_unique(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"unique must be an int >= 1, got {value!r}")
    return value


def _check_rate(value: object) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or not 0.0 <= value < 1.0
    ):
        raise ValueError(f"repeat_rate must be a number in [0, 1), got {value!r}")
    return float(value)


def _check_sizes(sizes: object) -> tuple[int, ...]:
    if not isinstance(sizes, Sequence) or isinstance(sizes, str) or not sizes:
        raise ValueError(f"sizes must be a non-empty sequence of cycle budgets, got {sizes!r}")
    for size in sizes:
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ValueError(f"every size must be a cycle budget, an int >= 1; got {size!r}")
    return tuple(sizes)


@st.composite
def _distinct_request(draw: st.DrawFn, sizes: tuple[int, ...], max_instructions: int) -> Request:
    budget = draw(st.sampled_from(sizes))
    # Machine programs too (about one in four): the runtime proves them under AIR 2.
    program = draw(programs(max_cycles=budget, max_instructions=max_instructions))
    return program, draw(inputs_for(program))


def workloads(
    unique: int | st.SearchStrategy[int] = 4,
    repeat_rate: float | st.SearchStrategy[float] = 0.5,
    sizes: Sequence[int] = (16, 64),
    *,
    max_instructions: int = 16,
) -> st.SearchStrategy[list[Request]]:
    """Lists of ``(program, inputs)`` requests: ``unique`` distinct ones, each of which
    may be requested again, in random order, so that the share of requests that repeat
    an earlier one is ``repeat_rate`` (as closely as whole requests allow; see
    :func:`repeat_count`). Which requests repeat, and how often, is drawn too.

    :param unique: the number of distinct requests (an int >= 1, or a strategy of them).
    :param repeat_rate: in [0, 1) (a number, or a strategy of them). 0.5 means every
        other request is a repeat: a cache could answer half of them.
    :param sizes: cycle budgets; each distinct request's program is drawn with
        ``programs(max_cycles=size)`` for a size sampled from this list.
    :param max_instructions: passed to :func:`programs` (proving cost grows with it).
    :raises ValueError: (at once) for a parameter out of range.
    """
    unique_st = _as_strategy(unique, _check_unique)
    rate_st = _as_strategy(repeat_rate, _check_rate)
    budgets = _check_sizes(sizes)

    @st.composite
    def draw_workload(draw: st.DrawFn) -> list[Request]:
        count = draw(unique_st, label="unique")
        rate = draw(rate_st, label="repeat_rate")
        _, repeats = repeat_count(count, rate)
        distinct = draw(
            st.lists(
                _distinct_request(budgets, max_instructions),
                min_size=count,
                max_size=count,
                unique_by=_key,
            ),
            label="distinct requests",
        )
        again = draw(
            st.lists(st.integers(0, count - 1), min_size=repeats, max_size=repeats),
            label="repeated requests",
        )
        requests = distinct + [distinct[i] for i in again]
        return list(draw(st.permutations(requests), label="order"))

    return draw_workload()


def _frozen_counts(counts: Mapping[str, int]) -> Mapping[str, int]:
    return MappingProxyType(dict(sorted(counts.items())))


@attrs.frozen
class WorkloadReport:
    """What :func:`run_workload` saw.

    ``requests`` = ``receipts`` + ``sum(errors.values())``: each request was answered
    with a receipt or a typed error (``errors`` counts them by exception type name).
    ``verified`` receipts passed :func:`zkactors.verify` against the request's program and
    state the request's inputs, the outputs the native executor computes and the
    runtime's profile; every other receipt is described in ``problems``.
    ``expected_errors`` counts the errors that were right: ``ExecutionError`` for a run
    that does fail natively.
    """

    requests: int
    distinct: int
    receipts: int
    verified: int
    errors: Mapping[str, int] = attrs.field(converter=_frozen_counts)
    expected_errors: int
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        """Every request got a receipt that verified, or the error its run deserves."""
        return self.verified + self.expected_errors == self.requests and not self.problems


def _check_answer(
    slot: int, request: Request, answer: object, profile: str, min_security_bits: float
) -> tuple[bool, bool, str | None]:
    """``(is_receipt, correct, problem)`` for one answer."""
    program, inputs = request
    try:
        expected = execute(program, inputs).outputs
    except ExecutionError as exc:
        expected_error: ZkActorsError | None = exc
    else:
        expected_error = None
    if not isinstance(answer, Receipt):
        if expected_error is not None and isinstance(answer, ExecutionError):
            return False, True, None
        if isinstance(answer, ZkActorsError):
            return False, False, None
        return False, False, f"request {slot}: answered with {answer!r:.120}, not a receipt"
    if expected_error is not None:
        return True, False, f"request {slot}: got a receipt for a run that fails ({expected_error})"
    try:
        verify(answer, program, min_security_bits=min_security_bits)
    except VerificationError as exc:
        return True, False, f"request {slot}: the receipt does not verify: {exc}"
    mismatches = []
    if answer.inputs != tuple(inputs):
        mismatches.append(f"inputs {answer.inputs} != requested {tuple(inputs)}")
    if answer.outputs != expected:
        mismatches.append(f"outputs {answer.outputs} != executed {expected}")
    if answer.profile != profile:
        mismatches.append(f"profile {answer.profile!r} != {profile!r}")
    if mismatches:
        return True, False, f"request {slot}: " + "; ".join(mismatches)
    return True, True, None


def _report(
    workload: Sequence[Request],
    answers: Sequence[object],
    profile: str,
    min_security_bits: float,
) -> WorkloadReport:
    errors: Counter[str] = Counter()
    receipts = verified = expected_errors = 0
    problems: list[str] = []
    for slot, (request, answer) in enumerate(zip(workload, answers, strict=True)):
        is_receipt, correct, problem = _check_answer(
            slot, request, answer, profile, min_security_bits
        )
        if is_receipt:
            receipts += 1
            verified += correct
        else:
            errors[type(answer).__name__] += 1
            expected_errors += correct
        if problem is not None:
            problems.append(problem)
    return WorkloadReport(
        requests=len(workload),
        distinct=len({_key(request) for request in workload}),
        receipts=receipts,
        verified=verified,
        errors=errors,
        expected_errors=expected_errors,
        problems=tuple(problems),
    )


async def run_workload(
    runtime: ZkRuntime,
    workload: Sequence[Request],
    *,
    mode: Literal["batch", "concurrent"] = "batch",
    min_security_bits: float = profiles.DEFAULT_MIN_SECURITY_BITS,
) -> WorkloadReport:
    """Run ``workload`` through a running ``runtime`` and check every answer.

    ``mode="batch"`` sends it as one ``prove_many`` call; ``"concurrent"`` makes one
    ``prove`` call per request, all at once in a task group (the runtime coalesces and
    caches repeats either way). Every receipt is then checked with
    :func:`zkactors.verify` against its request's program, and its inputs, outputs and
    profile against the request, the native executor and ``runtime.config.profile``
    (in a worker thread, so the event loop keeps running). ``min_security_bits`` is the
    verifier's policy, as for :func:`zkactors.verify`: a runtime configured with the
    insecure ``test`` profile needs ``min_security_bits=0`` for its receipts to count as
    verified.

    Typed errors (:class:`~zkactors.errors.ZkActorsError`) become counts in the report;
    any other exception propagates, since it is a bug in the runtime.
    """
    if mode not in ("batch", "concurrent"):
        raise ValueError(f"mode must be 'batch' or 'concurrent', got {mode!r}")
    min_security_bits = profiles.check_min_security_bits(min_security_bits)
    requests = [(program, tuple(inputs)) for program, inputs in workload]
    answers: list[object]
    if mode == "batch":
        answers = list(await runtime.prove_many(requests, return_exceptions=True))
    else:
        answers = [None] * len(requests)

        async def one(slot: int, program: Program, inputs: tuple[int, ...]) -> None:
            try:
                answers[slot] = await runtime.prove(program, inputs)
            except ZkActorsError as exc:
                answers[slot] = exc

        async with anyio.create_task_group() as group:
            for slot, (program, inputs) in enumerate(requests):
                group.start_soon(one, slot, program, inputs)
    profile = runtime.config.profile
    return await anyio.to_thread.run_sync(_report, requests, answers, profile, min_security_bits)
