"""The estimator actor: runs each missed request natively, then predicts its cost.

The original performance report's finding 2: a hand-tuned per-step formula was off by
40-188 % on large tasks. So the estimator does not guess the size of a run, it *measures*
it: ``execute()`` (native, GIL released, in a worker thread) gives the exact cycle count
and hence the trace length T, and the outputs. A run that fails (``ExecutionError``, e.g.
no halt within the cycle limit) is answered with that error without ever reaching a
prover.

The prediction comes from a :class:`~.costmodel.CostModel` (by default the calibrated,
self-refining :class:`~.costmodel.CalibratedCostModel`): seconds for each thread count
the supervisor may choose, and the prover's peak memory from its own formula. Provers'
measured times flow back here (``Measurement``) and refine the model online; this actor
is the model's only writer.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from zkactors._logging import get_logger
from zkactors.errors import RuntimeClosed, ZkActorsError
from zkactors.runtime.config import RuntimeConfig
from zkactors.runtime.costmodel import CostModel, ProofShape, predict_all
from zkactors.runtime.logs import for_request
from zkactors.runtime.messages import (
    Completion,
    EstimatedJob,
    Job,
    Measurement,
    ProofRequest,
)
from zkactors.runtime.metrics import MetricsSink, QueueDepth, depth_before_receive
from zkactors.zkvm.execute import Execution

log = get_logger(__name__)
#: The answer for a job whose supervisor stopped while it was being estimated.
_STOPPED = "the runtime shut down before this request was answered"

#: Jobs executed per trip to a worker thread (a thread hop costs ~0.1 ms; tiny runs
#: cost microseconds, so batching them keeps the estimator off the critical path).
EXECUTE_BATCH = 32

ExecuteFn = Callable[..., Execution]


def estimate_job(
    model: CostModel, request: ProofRequest, execution: Execution, max_threads: int
) -> EstimatedJob:
    """The cost of proving ``execution`` of ``request``: seconds with 1 ..
    ``max_threads`` threads and peak bytes (0 where the prover's formula has none: the
    prover itself then refuses the trace as too large)."""
    # The AIR and T the execution names are the prover's own (zkactors.zkvm.airs).
    shape = ProofShape.of(request.program, execution, request.key.profile)
    try:
        peak = shape.peak_bytes()
    except ValueError:
        peak = 0
    seconds = predict_all(model, shape, max_threads)
    shared = model.predict(shape, 1, shared=True) if max_threads > 1 else None
    return EstimatedJob(request, execution, shape, seconds, peak, shared)


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
        self._max_threads = config.prover_threads
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
                    except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                        # The supervisor stopped (a cancelled exit) while this batch ran
                        # in its thread: the runtime is stopping, which is no crash.
                        self._complete(job.request, RuntimeClosed(_STOPPED))
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
        # The depth just before this receive (its peak: it only grows between receives).
        depth = depth_before_receive(self._mailbox)
        self._sink.emit(QueueDepth("estimator", depth))
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
        return estimate_job(self.model, request, execution, self._max_threads)

    def absorb_feedback(self) -> None:
        """Learn every measurement waiting in the feedback mailbox (the runtime calls it
        once more when everything has stopped, so the last proofs are learnt too)."""
        self._absorb_feedback()

    def _absorb_feedback(self) -> None:
        while True:
            try:
                m = self._feedback.receive_nowait()
            except (anyio.WouldBlock, anyio.EndOfStream, anyio.ClosedResourceError):
                return
            self.model.observe(
                m.shape,
                m.threads,
                m.seconds,
                grinding_seconds=m.grinding_seconds,
                shared=m.shared,
            )

    def _complete(self, request: ProofRequest, outcome: ZkActorsError) -> None:
        try:
            self._completions.send_nowait(Completion(request.key, outcome))
        except (anyio.BrokenResourceError, anyio.ClosedResourceError):
            pass  # the cache has stopped and answered its waiters itself
        except anyio.WouldBlock:  # pragma: no cover - the capacity covers every job
            for_request(log, request).error("estimator.completion_overflow", key=request.key)

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


__all__ = ["EstimatorActor", "ExecuteFn", "estimate_job"]
