"""The reply path: one one-shot cell per submission, settled exactly once per request.

Every accepted request owns a slot in a :class:`Reply`. Whoever answers it (the cache on
a hit, the cache's completion loop after a proof, a crash handler, the shutdown sweep, or
the caller's own deadline) calls :meth:`Reply.settle`, and only the first call per slot
counts: later ones return ``False`` and change nothing. That rule is what makes "exactly
one reply" structural rather than a matter of careful ordering: any number of parties may
race to answer, one wins, and the rest learn that they lost.

A reply also records which of its submissions the cache has *received* (taken from its
mailbox): that, not the outcome of the caller's ``send``, is what makes a request
accepted. A send cancelled while it waits for room may still have been delivered (the
receiver took the item before the cancellation reached the sender), so the caller asks
the reply instead of trusting the exception.

A ``prove`` call is a one-slot reply; a ``prove_many`` batch shares one reply among its
requests, so the caller wakes once for the whole batch.

A receipt may be settled together with its :class:`Provenance` (how it was obtained: from
the cache, from the persistent receipt store, by a new proof, or by joining a proof
already running, and what that proof cost), which ``ZkRuntime.prove_detailed`` turns
into a ``ProofOutcome``. The provenance objects are shared, immutable and made once per
proof (or per cache entry), so carrying them costs a hit nothing but a list slot.
"""

from __future__ import annotations

import time
from types import TracebackType
from typing import Literal, Union

import anyio
import attrs

from zkactors.errors import ZkActorsError
from zkactors.zkvm.receipt import Receipt

#: What a request is answered with: its receipt, or the typed error that replaced it.
Outcome = Union[Receipt, ZkActorsError]  # noqa: UP007  (a runtime alias, not an annotation)

_UNSET = object()

Source = Literal["cache", "store", "proved", "coalesced"]


@attrs.frozen
class ProofInfo:
    """What one proof was and cost: the run's exact ``cycles``, the trace's
    ``trace_length`` x ``trace_width``, the intra-proof ``threads`` it got, the estimator's
    ``estimated_seconds`` for that thread count, the measured ``prove_seconds`` (wall time
    in the prover) and ``queued_seconds`` (from reaching the supervisor to a prover taking
    it); ``air``: the AIR the proof is under (1: register AIR, receipt format 2; 2:
    machine AIR, format 3)."""

    cycles: int
    trace_length: int
    trace_width: int
    threads: int
    estimated_seconds: float
    prove_seconds: float
    queued_seconds: float
    air: int = 1


@attrs.frozen
class Provenance:
    """How a receipt reached one request: its ``source`` and the proof behind it."""

    source: Source
    proof: ProofInfo


class Reply:
    """A one-shot reply cell for ``size`` requests; the caller waits on it once.

    Not an attrs class: it is the one mutable object shared between a caller and the
    actors, and its only mutation is the first-wins :meth:`settle`.
    """

    __slots__ = (
        "__weakref__",
        "_event",
        "_outcomes",
        "_provenance",
        "_received",
        "_remaining",
        "_tracebacks",
        "started",
    )

    def __init__(self, size: int = 1) -> None:
        self._event = anyio.Event()
        self._outcomes: list[object] = [_UNSET] * size
        self._tracebacks: dict[int, TracebackType | None] | None = None
        self._provenance: list[Provenance | None] | None = None
        self._remaining = size
        # (offset, count) of each submission the cache has received.
        self._received: list[tuple[int, int]] = []
        if size == 0:
            self._event.set()
        #: ``time.perf_counter()`` at submission: latencies are measured from here.
        self.started = time.perf_counter()

    def __len__(self) -> int:
        return len(self._outcomes)

    def settle(self, slot: int, outcome: Outcome, provenance: Provenance | None = None) -> bool:
        """Answer request ``slot`` with ``outcome`` (and, for a receipt, how it was
        obtained) unless it is already answered.

        :return: True if this call answered it, False if an earlier one had.
        """
        if self._outcomes[slot] is not _UNSET:
            return False
        if provenance is not None:
            if self._provenance is None:
                self._provenance = [None] * len(self._outcomes)
            self._provenance[slot] = provenance
        if isinstance(outcome, BaseException):
            # Keep the original traceback, so each waiter re-raises it afresh instead of
            # growing one shared traceback (asyncio.Future does the same).
            if self._tracebacks is None:
                self._tracebacks = {}
            self._tracebacks[slot] = outcome.__traceback__
        self._outcomes[slot] = outcome
        self._remaining -= 1
        if self._remaining == 0:
            self._event.set()
        return True

    def mark_received(self, offset: int, count: int) -> None:
        """The cache took the submission of slots ``offset .. offset + count - 1``."""
        self._received.append((offset, count))

    def received(self, offset: int) -> bool:
        """Whether the cache has taken the submission starting at slot ``offset``."""
        return any(start == offset for start, _ in self._received)

    def is_received(self, slot: int) -> bool:
        """Whether the cache has taken the submission that holds ``slot``."""
        return any(start <= slot < start + count for start, count in self._received)

    def open_received(self) -> list[int]:
        """Received slots not answered yet (accepted requests still in flight)."""
        return [
            slot
            for start, count in self._received
            for slot in range(start, start + count)
            if self._outcomes[slot] is _UNSET
        ]

    def is_settled(self, slot: int) -> bool:
        return self._outcomes[slot] is not _UNSET

    def done(self) -> bool:
        """True once every request of the submission is answered."""
        return self._remaining == 0

    def unsettled(self, start: int = 0, stop: int | None = None) -> list[int]:
        """The slots in ``[start, stop)`` not answered yet."""
        stop = len(self._outcomes) if stop is None else stop
        return [s for s in range(start, stop) if self._outcomes[s] is _UNSET]

    async def wait(self) -> None:
        """Wait until every slot is answered."""
        await self._event.wait()

    def outcome(self, slot: int) -> Outcome:
        """The answer of ``slot`` (which must be settled)."""
        value = self._outcomes[slot]
        assert value is not _UNSET, "outcome() of an unanswered request"
        return value  # type: ignore[return-value]

    def provenance(self, slot: int) -> Provenance | None:
        """How the receipt of ``slot`` was obtained (None for an error, or if the party
        that answered did not say)."""
        return None if self._provenance is None else self._provenance[slot]

    def result(self, slot: int) -> Receipt:
        """The receipt of ``slot``, or raise its error."""
        value = self._outcomes[slot]
        assert value is not _UNSET, "result() of an unanswered request"
        if isinstance(value, BaseException):
            assert self._tracebacks is not None
            raise value.with_traceback(self._tracebacks.get(slot))
        return value  # type: ignore[return-value]
