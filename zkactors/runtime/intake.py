"""Intake: the runtime's front door, run in the caller's task.

:func:`admit` runs before anything is queued: it checks the program, the inputs (with
the executor's own rules, ``Program.check_inputs``) and the options, and computes the
cache key, so a bad request raises its typed error right where it was made and never
occupies a mailbox. :class:`Intake` then enqueues accepted submissions into the cache's
mailbox (waiting for room, or refusing with ``WouldBlock`` for ``try_prove``) and keeps a
registry of every accepted reply for the runtime's final sweep: when the runtime has
stopped, any request still without an answer gets one (``RuntimeClosed`` or
``RuntimeFailed``). With first-wins reply cells (:mod:`.replies`), that sweep is what
makes "every accepted request gets exactly one reply" hold even if some actor lost track
of a request.
"""

from __future__ import annotations

import math
import weakref

import anyio
from anyio.streams.memory import MemoryObjectSendStream

from zkactors import profiles
from zkactors._logging import get_logger
from zkactors.errors import (
    DeadlineExceeded,
    InputError,
    ZkActorsError,
)
from zkactors.runtime.logs import DebugEvents, for_request
from zkactors.runtime.messages import CacheKey, ProofRequest, Submission
from zkactors.runtime.metrics import MetricsSink, ReplyTally
from zkactors.runtime.replies import Reply
from zkactors.zkvm.arguments import as_inputs, as_program
from zkactors.zkvm.program import Program

log = get_logger(__name__)
_debug = DebugEvents(__name__)

#: Distinct programs whose hashes intake remembers (cleared, not evicted, when full).
_HASH_MEMO = 1024


def check_profile(profile: object) -> str:
    """:raises ProfileError: if ``profile`` names no security profile."""
    profiles.get(profile)  # type: ignore[arg-type]
    return profile  # type: ignore[return-value]


def deadline_after(timeout: float | None) -> float | None:
    """The absolute deadline (``anyio.current_time()`` units) ``timeout`` seconds from now.

    :raises DeadlineExceeded: if ``timeout`` is zero or negative (it has already passed).
    :raises InputError: if ``timeout`` is not a number.
    """
    if timeout is None:
        return None
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or math.isnan(timeout):
        raise InputError(f"timeout must be a number of seconds or None, got {timeout!r}")
    if timeout <= 0:
        raise DeadlineExceeded(f"timeout={timeout!r}: the deadline has already passed")
    return anyio.current_time() + timeout


def admit(
    program: object,
    inputs: object,
    profile: str,
    deadline: float | None,
    *,
    program_hash: str | None = None,
) -> ProofRequest:
    """Validate one request in the caller's task and build its :class:`ProofRequest`.

    ``profile`` must already be checked (:func:`check_profile`); ``program_hash`` may be
    passed when the caller already knows it (a batch computes it once per program).

    :raises ProgramFormatError, InputError: as :func:`~zkactors.zkvm.arguments.as_program`
        and :func:`~zkactors.zkvm.arguments.as_inputs` (the sync API's own checks).
    """
    checked = as_program(program)
    values = as_inputs(checked, inputs)
    key = CacheKey(program_hash or checked.hash, values, profile)
    return ProofRequest(key, checked, deadline)


def delivered(submission: Submission) -> bool:
    """Whether the cache has received ``submission`` (then it is accepted, and will be
    answered through its reply, whatever the sender saw)."""
    return submission.reply.received(submission.offset)


class Intake:
    """The front door, run in callers' tasks: it guards the cache's mailbox.

    There is deliberately no intake *task*: validation must happen in the caller's task
    anyway (so the caller gets the typed error), and a relay task between the caller and
    the cache would own nothing the caller does not, yet it doubled the cost of a cache
    hit (measured: ~30 us -> ~85 us median on asyncio), the hottest path there is. Its
    state (the registry of accepted replies) is only touched synchronously on the event
    loop's thread.
    """

    def __init__(self, mailbox: MemoryObjectSendStream[Submission], sink: MetricsSink) -> None:
        self._mailbox = mailbox
        self._sink = sink
        self._open: weakref.WeakSet[Reply] = weakref.WeakSet()
        self._hashes: dict[bytes, str] = {}

    def program_hash(self, program: Program) -> str:
        """``program.hash``, memoized by canonical bytes (a SHA-256 per request is a
        noticeable share of a cache hit; the bytes object caches its own Python hash)."""
        canonical = program.to_bytes()
        known = self._hashes.get(canonical)
        if known is None:
            if len(self._hashes) >= _HASH_MEMO:
                self._hashes.clear()
            known = self._hashes[canonical] = program.hash
        return known

    def admit(
        self, program: object, inputs: object, profile: str, deadline: float | None
    ) -> ProofRequest:
        """:func:`admit` with the memoized program hash."""
        checked = as_program(program)
        return admit(checked, inputs, profile, deadline, program_hash=self.program_hash(checked))

    def accept_nowait(self, submission: Submission) -> None:
        """Enqueue ``submission`` if there is room.

        :raises anyio.WouldBlock: the mailbox is full.
        :raises anyio.ClosedResourceError, anyio.BrokenResourceError: intake is closed.
        """
        # Registered before sending: once the item is in the mailbox, the final sweep
        # must be able to find it whatever happens to the caller.
        self._open.add(submission.reply)
        self._mailbox.send_nowait(submission)
        self._accepted(submission)

    async def accept(self, submission: Submission) -> None:
        """Enqueue ``submission``, waiting for room (backpressure).

        Acceptance is counted where the cache receives the submission, not here: a send
        cancelled while it waits may still have been delivered, and then the request is
        accepted and will be answered like any other. So a cancellation always
        propagates (the caller is gone either way), and after a closed-intake error the
        submission may still have been delivered: :func:`delivered` says.

        :raises anyio.ClosedResourceError, anyio.BrokenResourceError: intake closed and
            the submission was not delivered.
        """
        self._open.add(submission.reply)
        try:
            await self._mailbox.send(submission)
        except (anyio.ClosedResourceError, anyio.BrokenResourceError):
            if not delivered(submission):
                raise
        self._accepted(submission)

    def _accepted(self, submission: Submission) -> None:
        logger = _debug.logger()
        if logger is not None:
            for request in submission.requests:
                key = request.key
                for_request(logger, request).debug(
                    "request.accepted",
                    program=key.program_hash[:16],
                    inputs=key.inputs,
                    profile=key.profile,
                    deadline=request.deadline,
                )

    def open_requests(self) -> int:
        """Accepted requests without an answer, counted on the reply cells themselves
        (the metrics check their own ``in_flight`` against it)."""
        return sum(len(reply.open_received()) for reply in list(self._open))

    def close(self) -> None:
        """Accept nothing more; callers waiting for room get ``ClosedResourceError``."""
        self._mailbox.close()

    def sweep(self, error: ZkActorsError) -> int:
        """Answer every accepted request that still has no answer with ``error``; called
        once every actor has stopped. Returns how many were answered here (0 unless an
        actor lost track of a request: a bug, logged as such)."""
        tally = ReplyTally()
        swept = 0
        for reply in list(self._open):
            # Only what the cache received was accepted: a submission the caller never
            # got into the mailbox was refused to the caller itself.
            for slot in reply.open_received():
                if reply.settle(slot, error):
                    tally.record(error, 0.0)
                    swept += 1
        tally.flush(self._sink)
        if swept:
            log.warning("intake.swept_unanswered", requests=swept, error=type(error).__name__)
        return swept


__all__ = [
    "Intake",
    "admit",
    "as_inputs",
    "as_program",
    "check_profile",
    "deadline_after",
    "delivered",
]
