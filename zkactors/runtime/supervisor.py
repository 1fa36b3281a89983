"""The supervisor actor and its provers, and the supervision that restarts crashed actors.

**Scheduling.** Estimated jobs wait in a heap the supervisor owns, shortest estimate
first (small requests are not stuck behind large ones), with deadlines respected: when
running the shortest job first would push a job with a deadline past its latest start
time (deadline - estimate), that job goes first. At most ``max_parallel`` proofs run at
once, each in a worker thread (``anyio.to_thread.run_sync`` with a ``CapacityLimiter``)
calling the native prover, which releases the GIL.

**Intra- or inter-proof parallelism** (seed finding 3: forcing parallelism made batches
of mid-size tasks slower). ``max_parallel`` is also the budget of prover threads. A job
gets one thread, unless nothing else is queued and it is estimated to take at least
``intra_proof_min_seconds``: then it gets every free thread. So a lone big proof uses all
cores, and a queue of small ones runs one per core.

**Supervision** (:func:`supervise`). Every actor runs under a loop that catches its
crash, fails only the requests that actor held with ``ActorCrashed``, and restarts it
one-for-one with fresh state and the same mailboxes. Restarts are counted together
against the runtime's intensity (``max_restarts`` within ``restart_period`` seconds, as an
OTP supervisor); one more crash stops the runtime: every open request, including those
of the actor that crashed last, is answered with ``RuntimeFailed`` (caused by that
crash). Provers are actors too, supervised by the same loop inside the supervisor's task
group: a prover whose ``prove()`` raises anything but a typed zkactors error has crashed.
"""

from __future__ import annotations

import contextlib
import functools
import heapq
import time
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol

import anyio
import structlog
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from zkactors.errors import ActorCrashed, RuntimeFailed, ZkActorsError
from zkactors.runtime.config import RuntimeConfig
from zkactors.runtime.messages import (
    CacheKey,
    Completion,
    EstimatedJob,
    Measurement,
    ProverAssignment,
    ProverReport,
)
from zkactors.runtime.metrics import ActorRestarted, MetricsSink, ProofMeasured, QueueDepth
from zkactors.runtime.replies import Outcome
from zkactors.zkvm.receipt import Receipt

log = structlog.get_logger(__name__)

ProveFn = Callable[..., Receipt]


# ---- supervision ----


class Actor(Protocol):
    """What :func:`supervise` needs of an actor."""

    name: str

    async def run(self) -> None:
        """Serve the mailbox until it ends; return normally only then."""

    def on_crash(self, error: ZkActorsError) -> None:
        """Answer the requests this actor held (in state, not in its mailbox) with ``error``."""

    def on_stop(self, error: ZkActorsError) -> None:
        """Final stop: answer everything held *and* queued in its mailbox with ``error``."""

    def reset(self) -> None:
        """Fresh state for a restart; mailboxes are kept."""


class RestartIntensity:
    """At most ``max_restarts`` restarts within any ``period`` seconds."""

    def __init__(
        self, max_restarts: int, period: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.max_restarts = max_restarts
        self.period = period
        self._clock = clock
        self._restarts: deque[float] = deque()

    def permit(self) -> bool:
        """Record a restart if it is within the limit; False if it is not."""
        now = self._clock()
        while self._restarts and self._restarts[0] <= now - self.period:
            self._restarts.popleft()
        if len(self._restarts) >= self.max_restarts:
            return False
        self._restarts.append(now)
        return True


class Supervision:
    """What every supervised task of one runtime shares: the restart budget, the metrics
    sink, how to give up (stop the runtime), and the error a stop answers requests with.

    Only touched synchronously from tasks of the runtime's own event loop.
    """

    def __init__(
        self,
        intensity: RestartIntensity,
        sink: MetricsSink,
        give_up: Callable[[str, BaseException], RuntimeFailed],
        stop_error: Callable[[], ZkActorsError],
    ) -> None:
        self.intensity = intensity
        self.sink = sink
        self.give_up = give_up
        self.stop_error = stop_error


async def supervise(actor: Actor, supervision: Supervision) -> None:
    """Run ``actor`` until its mailbox ends, restarting it after each crash within the
    restart intensity; past it, fail the actor's requests and stop the runtime."""
    while True:
        try:
            await actor.run()
        except Exception as exc:
            restarted = supervision.intensity.permit()
            log.error("runtime.actor_crashed", actor=actor.name, restarted=restarted, exc_info=exc)
            if not restarted:
                # Past the limit the runtime is gone: this actor's requests get the same
                # RuntimeFailed as every other open request (its cause is this crash).
                actor.on_stop(supervision.give_up(actor.name, exc))
                return
            crash = ActorCrashed(
                f"the {actor.name} actor crashed while handling this request "
                f"({type(exc).__name__}: {exc}); it was restarted, retry the request"
            )
            crash.__cause__ = exc
            actor.on_crash(crash)
            supervision.sink.emit(ActorRestarted(actor.name, type(exc).__name__))
            actor.reset()
        except BaseException:
            # Cancelled: the runtime is stopping. Answer everything this actor holds.
            actor.on_stop(supervision.stop_error())
            raise
        else:
            return


# ---- provers ----


class ProverActor:
    """Proves one assignment at a time in a worker thread; reports every outcome."""

    def __init__(
        self,
        index: int,
        mailbox: MemoryObjectReceiveStream[ProverAssignment],
        reports: MemoryObjectSendStream[ProverReport],
        prove: ProveFn,
        limiter: anyio.CapacityLimiter,
        max_cycles: int,
    ) -> None:
        self.index = index
        self.name = f"prover-{index}"
        self._mailbox = mailbox
        self._reports = reports
        self._prove = prove
        self._limiter = limiter
        self._max_cycles = max_cycles
        self._current: ProverAssignment | None = None

    async def run(self) -> None:
        while True:
            try:
                assignment = await self._mailbox.receive()
            except anyio.EndOfStream:
                return
            self._current = assignment
            request = assignment.job.request
            call = functools.partial(
                self._prove,
                request.program,
                request.key.inputs,
                profile=request.key.profile,
                threads=assignment.threads,
                max_cycles=self._max_cycles,
            )
            started = time.perf_counter()
            outcome: Outcome
            try:
                # Not abandoned on cancel: a stopping runtime waits for the thread, so no
                # prover thread outlives it.
                outcome = await anyio.to_thread.run_sync(call, limiter=self._limiter)
            except ZkActorsError as exc:
                outcome = exc
            seconds = time.perf_counter() - started
            self._current = None
            self._report(ProverReport(self.index, assignment, outcome, seconds))

    def _report(self, report: ProverReport) -> None:
        # A closed stream means the supervisor has stopped and answered its jobs itself.
        with contextlib.suppress(anyio.BrokenResourceError, anyio.ClosedResourceError):
            self._reports.send_nowait(report)

    def on_crash(self, error: ZkActorsError) -> None:
        if self._current is not None:
            self._report(ProverReport(self.index, self._current, error, None))
            self._current = None

    def on_stop(self, error: ZkActorsError) -> None:
        self.on_crash(error)

    def reset(self) -> None:
        self._current = None

    def close(self) -> None:
        self._mailbox.close()


# ---- the supervisor ----


class _Queued:
    __slots__ = ("dispatched", "job", "latest_start")

    def __init__(self, job: EstimatedJob, latest_start: float | None) -> None:
        self.job = job
        self.latest_start = latest_start
        self.dispatched = False


class SupervisorActor:
    name = "supervisor"

    def __init__(
        self,
        config: RuntimeConfig,
        mailbox: MemoryObjectReceiveStream[EstimatedJob],
        completions: MemoryObjectSendStream[Completion],
        feedback: MemoryObjectSendStream[Measurement],
        sink: MetricsSink,
        supervision: Supervision,
        prove: ProveFn,
    ) -> None:
        self._config = config
        self._mailbox = mailbox
        self._completions = completions
        self._feedback = feedback
        self._sink = sink
        self._supervision = supervision
        self._prove = prove
        self._limiter = anyio.CapacityLimiter(config.max_parallel)
        self.feedback_dropped = 0
        self._reset_state()

    def _reset_state(self) -> None:
        parallel = self._config.max_parallel
        self._by_estimate: list[tuple[float, int, _Queued]] = []
        self._by_deadline: list[tuple[float, int, _Queued]] = []
        self._queued = 0
        self._seq = 0
        self._running: dict[int, ProverAssignment] = {}
        self._idle = list(range(parallel - 1, -1, -1))
        self._free_threads = parallel
        self._closing = False
        self._drained = anyio.Event()
        # Fresh prover mailboxes per (re)start: whatever a crashed supervisor had assigned
        # was failed by on_crash, so nothing may still be delivered from the old ones.
        self._assign: list[MemoryObjectSendStream[ProverAssignment]] = []
        self._provers: list[ProverActor] = []
        self._reports_send, self._reports = anyio.create_memory_object_stream[ProverReport](
            parallel + 1
        )
        for index in range(parallel):
            send, receive = anyio.create_memory_object_stream[ProverAssignment](1)
            self._assign.append(send)
            self._provers.append(
                ProverActor(
                    index,
                    receive,
                    self._reports_send,
                    self._prove,
                    self._limiter,
                    self._config.max_cycles,
                )
            )

    async def run(self) -> None:
        try:
            async with anyio.create_task_group() as tg:
                for prover in self._provers:
                    tg.start_soon(supervise, prover, self._supervision)
                tg.start_soon(self._report_loop)
                await self._job_loop()
                self._closing = True
                self._check_drained()
                await self._drained.wait()
                tg.cancel_scope.cancel()
        finally:
            self._close_provers()
        self._completions.close()
        self._feedback.close()

    async def _job_loop(self) -> None:
        mailbox = self._mailbox
        while True:
            try:
                job = await mailbox.receive()
            except anyio.EndOfStream:
                return
            self._sink.emit(QueueDepth("supervisor", mailbox.statistics().current_buffer_used))
            self._push(job)
            while True:
                try:
                    self._push(mailbox.receive_nowait())
                except (anyio.WouldBlock, anyio.EndOfStream):
                    break
            self._sink.emit(QueueDepth("proofs_queued", self._queued))
            self._dispatch()

    async def _report_loop(self) -> None:
        while True:
            report = await self._reports.receive()
            self._finish(report)
            while True:
                try:
                    self._finish(self._reports.receive_nowait())
                except anyio.WouldBlock:
                    break
            self._dispatch()
            self._check_drained()

    def _push(self, job: EstimatedJob) -> None:
        deadline = job.request.deadline
        entry = _Queued(job, None if deadline is None else deadline - job.estimate)
        self._seq += 1
        heapq.heappush(self._by_estimate, (job.estimate, self._seq, entry))
        if entry.latest_start is not None:
            heapq.heappush(self._by_deadline, (entry.latest_start, self._seq, entry))
        self._queued += 1

    def _pop_next(self) -> _Queued:
        by_estimate, by_deadline = self._by_estimate, self._by_deadline
        while by_estimate[0][2].dispatched:
            heapq.heappop(by_estimate)
        while by_deadline and by_deadline[0][2].dispatched:
            heapq.heappop(by_deadline)
        shortest = by_estimate[0][2]
        chosen = shortest
        if by_deadline:
            urgent = by_deadline[0][2]
            assert urgent.latest_start is not None
            if urgent is not shortest and urgent.latest_start <= (
                anyio.current_time() + shortest.job.estimate
            ):
                chosen = urgent
        chosen.dispatched = True
        self._queued -= 1
        return chosen

    def _dispatch(self) -> None:
        while self._queued and self._idle and self._free_threads > 0:
            entry = self._pop_next()
            threads = 1
            if not self._queued and entry.job.estimate >= self._config.intra_proof_min_seconds:
                threads = self._free_threads
            prover = self._idle.pop()
            self._free_threads -= threads
            assignment = ProverAssignment(entry.job, threads)
            self._running[prover] = assignment
            # Never blocks: an idle prover's one-slot mailbox is empty.
            self._assign[prover].send_nowait(assignment)

    def _finish(self, report: ProverReport) -> None:
        assignment = self._running.pop(report.prover, None)
        if assignment is None or assignment is not report.assignment:
            return  # a report from before a restart; its job was already failed
        self._idle.append(report.prover)
        self._free_threads += assignment.threads
        job = assignment.job
        request = job.request
        outcome = report.outcome
        self._complete(request.key, outcome)
        error_type = None if isinstance(outcome, Receipt) else type(outcome).__name__
        self._sink.emit(
            ProofMeasured(
                request.key.profile,
                job.execution.trace_length,
                assignment.threads,
                self._scaled_estimate(job, assignment.threads),
                report.seconds,
                error_type,
            )
        )
        if error_type is None and report.seconds is not None:
            measurement = Measurement(
                request.key.profile,
                job.execution.trace_length,
                job.trace_width,
                assignment.threads,
                report.seconds,
            )
            try:
                self._feedback.send_nowait(measurement)
            except (anyio.WouldBlock, anyio.BrokenResourceError, anyio.ClosedResourceError):
                self.feedback_dropped += 1

    def _scaled_estimate(self, job: EstimatedJob, threads: int) -> float:
        # The estimator predicted single-thread time; the same efficiency assumption as
        # LinearCostModel scales it for an intra-proof run.
        return job.estimate if threads == 1 else job.estimate / (1 + (threads - 1) * 0.7)

    def _check_drained(self) -> None:
        if self._closing and not self._queued and not self._running:
            self._drained.set()

    def _complete(self, key: CacheKey, outcome: Outcome) -> None:
        try:
            self._completions.send_nowait(Completion(key, outcome))
        except (anyio.BrokenResourceError, anyio.ClosedResourceError):
            pass  # the cache has stopped and answered its waiters itself
        except anyio.WouldBlock:  # pragma: no cover - the capacity covers every job
            log.error("supervisor.completion_overflow", key=key)

    def _close_provers(self) -> None:
        for send in self._assign:
            send.close()
        for prover in self._provers:
            prover.close()
        self._reports_send.close()
        self._reports.close()

    def _fail_all(self, error: ZkActorsError) -> None:
        for assignment in self._running.values():
            self._complete(assignment.job.request.key, error)
        self._running.clear()
        for _, _, entry in self._by_estimate:
            if not entry.dispatched:
                entry.dispatched = True
                self._complete(entry.job.request.key, error)
        self._by_estimate.clear()
        self._by_deadline.clear()
        self._queued = 0

    def on_crash(self, error: ZkActorsError) -> None:
        """Fail every queued and running job (their provers were stopped with this actor)."""
        self._fail_all(error)

    def on_stop(self, error: ZkActorsError) -> None:
        self._fail_all(error)
        while True:
            try:
                job = self._mailbox.receive_nowait()
            except (anyio.WouldBlock, anyio.EndOfStream, anyio.ClosedResourceError):
                break
            self._complete(job.request.key, error)
        self._mailbox.close()
        self._close_provers()
        self._completions.close()
        self._feedback.close()

    def reset(self) -> None:
        self._close_provers()
        self._reset_state()

    def depth_probe(self) -> int:
        return self._mailbox.statistics().current_buffer_used

    def channels(self) -> list[MemoryObjectSendStream[Any] | MemoryObjectReceiveStream[Any]]:
        """The supervisor's internal channel endpoints (for the runtime's leak check)."""
        return [*self._assign, self._reports_send, self._reports]

    def queued_probe(self) -> int:
        return self._queued

    def running_probe(self) -> int:
        return len(self._running)


__all__ = [
    "Actor",
    "ProverActor",
    "RestartIntensity",
    "Supervision",
    "SupervisorActor",
    "supervise",
]
