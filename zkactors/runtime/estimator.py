"""The estimator actor: runs each missed request natively, then predicts its proving time.

Seed finding 2: a hand-tuned per-step formula was off by 40-188 % on large tasks. So
the estimator does not guess the size of a run, it *measures* it: ``execute()`` (native,
GIL released, in a worker thread) gives the exact cycle count and hence the trace length
T, and the outputs. A run that fails (``ExecutionError``, e.g. no halt within the cycle
limit) is answered with that error without ever reaching a prover.

The prediction comes from a :class:`CostModel`, kept behind a two-method interface so a
better model can replace :class:`LinearCostModel` without touching the actor. Provers'
measured times flow back here (``Measurement``) and refine it online.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Sequence
from typing import Protocol

import anyio
import attrs
import structlog
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from zkactors.errors import ZkActorsError
from zkactors.runtime.config import RuntimeConfig
from zkactors.runtime.messages import (
    Completion,
    EstimatedJob,
    Job,
    Measurement,
    ProofRequest,
)
from zkactors.runtime.metrics import MetricsSink, QueueDepth
from zkactors.zkvm.execute import Execution

log = structlog.get_logger(__name__)

#: Jobs executed per trip to a worker thread (a thread hop costs ~0.1 ms; tiny runs
#: cost microseconds, so batching them keeps the estimator off the critical path).
EXECUTE_BATCH = 32

ExecuteFn = Callable[..., Execution]


class CostModel(Protocol):
    """Predicts a proof's wall time and learns from measured ones."""

    def predict(self, profile: str, trace_length: int, trace_width: int, threads: int = 1) -> float:
        """Seconds a proof of a ``trace_length`` x ``trace_width`` trace should take."""
        ...

    def observe(
        self, profile: str, trace_length: int, trace_width: int, threads: int, seconds: float
    ) -> None:
        """Learn from one measured proof."""
        ...


@attrs.define
class _Fit:
    """Exponentially weighted sums for a least-squares line y = a + b x."""

    weight: float = 0.0
    sx: float = 0.0
    sy: float = 0.0
    sxx: float = 0.0
    sxy: float = 0.0


class LinearCostModel:
    """``seconds = a + b * cells`` per profile, where ``cells = trace_length * trace_width``
    (in units of 2^20): the line of the brief, in the quantity the prover's work grows
    with (every column is extended, committed and opened).

    Fitted online by least squares with exponential forgetting (old measurements fade,
    so the model follows a machine whose load changes) and a weak prior (``prior_weight``
    pseudo-measurements), so it predicts something sensible before the first proof and
    is never singular when every proof so far had the same size. Only single-thread
    proofs are learned from; ``threads > 1`` is predicted with ``parallel_efficiency``.
    """

    CELL_UNIT = float(1 << 20)

    def __init__(
        self,
        *,
        intercept: float = 2e-3,
        slope: float = 0.5,
        prior_weight: float = 0.5,
        forgetting: float = 0.98,
        parallel_efficiency: float = 0.7,
    ) -> None:
        self._prior = (intercept, slope)
        self._prior_weight = prior_weight
        self._forgetting = forgetting
        self._efficiency = parallel_efficiency
        self._fits: dict[str, _Fit] = {}
        self._coefficients: dict[str, tuple[float, float]] = {}

    def coefficients(self, profile: str) -> tuple[float, float]:
        """``(a, b)``: seconds of fixed cost, seconds per 2^20 trace cells."""
        return self._coefficients.get(profile, self._prior)

    def predict(self, profile: str, trace_length: int, trace_width: int, threads: int = 1) -> float:
        a, b = self.coefficients(profile)
        work = b * trace_length * trace_width / self.CELL_UNIT
        if threads > 1:
            work /= 1 + (threads - 1) * self._efficiency
        return a + work

    def observe(
        self, profile: str, trace_length: int, trace_width: int, threads: int, seconds: float
    ) -> None:
        if threads != 1 or not math.isfinite(seconds) or seconds <= 0:
            return
        x = trace_length * trace_width / self.CELL_UNIT
        fit = self._fits.setdefault(profile, _Fit())
        f = self._forgetting
        fit.weight = fit.weight * f + 1.0
        fit.sx = fit.sx * f + x
        fit.sy = fit.sy * f + seconds
        fit.sxx = fit.sxx * f + x * x
        fit.sxy = fit.sxy * f + x * seconds
        self._coefficients[profile] = self._solve(fit)

    def _solve(self, fit: _Fit) -> tuple[float, float]:
        a0, b0 = self._prior
        k = self._prior_weight
        # Ridge toward the prior: minimise sum w (y - a - b x)^2 + k (a - a0)^2 + k (b - b0)^2.
        m11, m12, m22 = fit.weight + k, fit.sx, fit.sxx + k
        r1, r2 = fit.sy + k * a0, fit.sxy + k * b0
        det = m11 * m22 - m12 * m12
        if det <= 0:
            return self._prior
        a = (r1 * m22 - m12 * r2) / det
        b = (m11 * r2 - m12 * r1) / det
        if b < 0:  # a line that falls with size is noise: refit the constant only
            a, b = fit.sy / fit.weight if fit.weight else a0, 0.0
        if a < 0:  # likewise a negative fixed cost: refit through the origin
            a, b = 0.0, fit.sxy / fit.sxx if fit.sxx > 0 else b0
        return a, b


class EstimatorActor:
    name = "estimator"

    def __init__(
        self,
        config: RuntimeConfig,
        mailbox: MemoryObjectReceiveStream[Job],
        feedback: MemoryObjectReceiveStream[Measurement],
        estimated: MemoryObjectSendStream[EstimatedJob],
        completions: MemoryObjectSendStream[Completion],
        sink: MetricsSink,
        *,
        model: CostModel,
        execute: ExecuteFn,
    ) -> None:
        self._max_cycles = config.max_cycles
        self._mailbox = mailbox
        self._feedback = feedback
        self._estimated = estimated
        self._completions = completions
        self._sink = sink
        self.model = model
        self._execute = execute
        self._limiter = anyio.CapacityLimiter(1)
        self._in_hand: deque[Job] = deque()

    async def run(self) -> None:
        while True:
            # Jobs left in hand by a crash (all but the one that crashed) go first.
            batch = list(self._in_hand) or await self._next_batch()
            if not batch:
                break
            if not self._in_hand:
                self._in_hand.extend(batch)
            self._absorb_feedback()
            results, crash = await anyio.to_thread.run_sync(
                self._execute_all, [job.request for job in batch], limiter=self._limiter
            )
            for result in results:
                job = self._in_hand[0]
                if isinstance(result, ZkActorsError):
                    self._complete(job.request, result)
                else:
                    estimated = self._estimate(job.request, result)
                    try:
                        self._estimated.send_nowait(estimated)
                    except anyio.WouldBlock:
                        await self._estimated.send(estimated)
                self._in_hand.popleft()
            if crash is not None:
                raise crash  # the job that caused it is now first in hand
        # Every job is estimated and forwarded: the supervisor may finish once it is done.
        self._estimated.close()
        self._completions.close()

    async def _next_batch(self) -> list[Job]:
        try:
            first = await self._mailbox.receive()
        except anyio.EndOfStream:
            return []
        self._sink.emit(QueueDepth("estimator", self._mailbox.statistics().current_buffer_used))
        batch = [first]
        while len(batch) < EXECUTE_BATCH:
            try:
                batch.append(self._mailbox.receive_nowait())
            except (anyio.WouldBlock, anyio.EndOfStream):
                break
        return batch

    def _execute_all(
        self, requests: Sequence[ProofRequest]
    ) -> tuple[list[Execution | ZkActorsError], Exception | None]:
        """Runs in a worker thread. A typed error is that request's answer; anything else
        stops the batch there and is returned, to crash the actor in its own task."""
        results: list[Execution | ZkActorsError] = []
        for request in requests:
            try:
                results.append(
                    self._execute(request.program, request.key.inputs, max_cycles=self._max_cycles)
                )
            except ZkActorsError as exc:
                results.append(exc)
            except Exception as exc:
                return results, exc
        return results, None

    def _estimate(self, request: ProofRequest, execution: Execution) -> EstimatedJob:
        width = request.program.trace_width
        seconds = self.model.predict(request.key.profile, execution.trace_length, width, 1)
        return EstimatedJob(request, execution, seconds, width)

    def _absorb_feedback(self) -> None:
        while True:
            try:
                m = self._feedback.receive_nowait()
            except (anyio.WouldBlock, anyio.EndOfStream, anyio.ClosedResourceError):
                return
            self.model.observe(m.profile, m.trace_length, m.trace_width, m.threads, m.seconds)

    def _complete(self, request: ProofRequest, outcome: ZkActorsError) -> None:
        try:
            self._completions.send_nowait(Completion(request.key, outcome))
        except (anyio.BrokenResourceError, anyio.ClosedResourceError):
            pass  # the cache has stopped and answered its waiters itself
        except anyio.WouldBlock:  # pragma: no cover - the capacity covers every job
            log.error("estimator.completion_overflow", key=request.key)

    def on_crash(self, error: ZkActorsError) -> None:
        """Fail the job that was being handled when the actor crashed (the first in hand);
        the rest of its batch stays in hand and is handled first after the restart."""
        if self._in_hand:
            self._complete(self._in_hand.popleft().request, error)

    def _fail_in_hand(self, error: ZkActorsError) -> None:
        while self._in_hand:
            self._complete(self._in_hand.popleft().request, error)

    def on_stop(self, error: ZkActorsError) -> None:
        self._fail_in_hand(error)
        while True:
            try:
                job = self._mailbox.receive_nowait()
            except (anyio.WouldBlock, anyio.EndOfStream, anyio.ClosedResourceError):
                break
            self._complete(job.request, error)
        self._mailbox.close()
        self._feedback.close()
        self._estimated.close()
        self._completions.close()

    def reset(self) -> None:
        """Nothing to clear: the jobs still in hand were not affected by the crash."""

    def depth_probe(self) -> int:
        return self._mailbox.statistics().current_buffer_used


__all__ = ["CostModel", "EstimatorActor", "LinearCostModel"]
