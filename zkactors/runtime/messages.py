"""The messages that travel between the runtime's actors, in pipeline order.

``Submission`` (caller -> intake -> cache) carries validated requests and the reply cell
they are answered through. On a miss the cache sends a ``Job`` to the estimator, which
sends an ``EstimatedJob`` to the supervisor, which hands a ``ProverAssignment`` to an idle
prover; the prover's ``ProverReport`` goes back to the supervisor, which turns it into a
``Completion`` for the cache (who fans it out to every waiter) and a ``Measurement`` for the
estimator (who refines its cost model). A job that ends early (an execution error, a
crash, a refusal at admission) produces its ``Completion`` where it ends. Invariant:
every ``Job`` the cache sends produces exactly one ``Completion``.

All are frozen attrs classes; none holds a reference to mutable actor state except the
``Reply`` of a submission, whose only mutation is its first-wins ``settle``.
"""

from __future__ import annotations

import contextvars
import itertools
from typing import NamedTuple

import attrs

from zkactors.runtime.costmodel import ProofShape
from zkactors.runtime.replies import Outcome, ProofInfo, Reply
from zkactors.zkvm.execute import Execution
from zkactors.zkvm.program import Program
from zkactors.zkvm.prover import CancelToken


class CacheKey(NamedTuple):
    """What makes two requests the same proof: the program, its inputs, the profile."""

    program_hash: str
    inputs: tuple[int, ...]
    profile: str


# Ids for requests, unique in the process (so also across runtimes); ``next`` on a count
# is atomic under the GIL, and requests may be built in several threads' event loops.
_request_ids = itertools.count(1)


@attrs.frozen
class ProofRequest:
    """One validated request: ``key.inputs`` are checked field elements for ``program``,
    ``key.profile`` a known profile; ``deadline`` is in ``anyio.current_time()`` units.

    It is built in the caller's task, and so captures there what its log events need
    when actors emit them later in their own tasks: ``request_id``, the runtime's id for
    it, and ``context``, a copy of the caller's context variables (structlog's bound
    contextvars among them). Copying a context is O(1) and extracting from it happens only
    when a debug event is emitted. Neither takes part in equality: two requests for the
    same proof are the same request to the cache. A request re-sent for other waiters is
    built with ``attrs.evolve`` and keeps both.

    ``cancel`` is None as the caller builds it; the request the cache sends on as a
    ``Job`` carries the token of its proof, which the cache cancels once no waiter is
    left (the supervisor then drops the job, or its prover stops). It takes no part in
    equality either."""

    key: CacheKey
    program: Program
    deadline: float | None = None
    request_id: int = attrs.field(factory=_request_ids.__next__, eq=False)
    context: contextvars.Context = attrs.field(
        factory=contextvars.copy_context, eq=False, repr=False
    )
    cancel: CancelToken | None = attrs.field(default=None, eq=False, repr=False)


@attrs.frozen
class Submission:
    """Requests admitted together, answered through ``reply`` slots ``offset ..
    offset + len(requests) - 1`` (a ``prove_many`` batch is split into several
    submissions sharing one reply)."""

    requests: tuple[ProofRequest, ...]
    reply: Reply
    offset: int = 0

    def fail_unsettled(self, error: Outcome) -> int:
        """Answer every request of this submission that has no answer yet with ``error``;
        return how many that was."""
        settled = 0
        for slot in range(self.offset, self.offset + len(self.requests)):
            settled += self.reply.settle(slot, error)
        return settled


@attrs.frozen
class Job:
    """A cache miss to be estimated and proved (cache -> estimator)."""

    request: ProofRequest


@attrs.frozen
class EstimatedJob:
    """A job with its exact execution and its predicted cost (estimator -> supervisor):
    ``seconds[k - 1]`` is the predicted proving time with k intra-proof threads alone,
    ``shared_seconds`` with one thread beside other proofs (None: as alone), and
    ``peak_bytes`` the prover's peak allocation (0 if unknown)."""

    request: ProofRequest
    execution: Execution
    shape: ProofShape
    seconds: tuple[float, ...]
    peak_bytes: int
    shared_seconds: float | None = None

    @property
    def estimate(self) -> float:
        """Predicted seconds on one thread (what the queue is ordered by)."""
        return self.seconds[0]

    @property
    def trace_width(self) -> int:
        return self.shape.trace_width


@attrs.frozen
class ProverAssignment:
    """One proof for one prover, with the intra-proof threads it may use, its estimate
    for that many threads, and how long it waited in the supervisor's queue."""

    job: EstimatedJob
    threads: int
    estimate: float = 0.0
    queued_seconds: float = 0.0


@attrs.frozen
class ProverReport:
    """A prover's result (prover -> supervisor): a receipt or typed error, the measured
    wall time (``None`` when the prover crashed) and the part of it spent grinding (when
    the prover reported it)."""

    prover: int
    assignment: ProverAssignment
    outcome: Outcome
    seconds: float | None
    grinding_seconds: float | None = None


@attrs.frozen
class Completion:
    """The end of a job (-> cache): its key, how it ended and, for a receipt, what the
    proof cost. ``refused_deadline`` is set when admission refused the job because it
    could not finish by that deadline: waiters with a later deadline, or none, are then
    not answered but proved anew."""

    key: CacheKey
    outcome: Outcome
    info: ProofInfo | None = None
    refused_deadline: float | None = None


@attrs.frozen
class Measurement:
    """A measured proving time (supervisor -> estimator), to refine the cost model."""

    shape: ProofShape
    threads: int
    seconds: float
    grinding_seconds: float | None = None
    shared: bool = False
