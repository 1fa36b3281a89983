"""The supervisor actor and its provers, and the supervision that restarts crashed actors.

**Admission.** Each estimated job is checked before it may queue: a proof whose peak
memory (the prover's own formula) exceeds ``memory_budget_bytes`` is refused with
``MemoryBudgetExceeded`` (it could never run), and a request whose deadline cannot be met
(the estimated wait for the work ahead of it plus its own best estimated proving time
ends past it) is refused with ``DeadlineExceeded``, saying the estimate, instead of
spending prover time on an answer nobody will wait for.

**Scheduling.** Admitted jobs wait in a heap the supervisor owns, shortest estimate
first (small requests are not stuck behind large ones), aged so that none waits without
bound, with deadlines respected.

Plain shortest-first lets a stream of small proofs hold a large one back for as long as
the stream lasts. So the queue is ordered by a *virtual finish time*, as in virtual-clock
fair queueing, on a clock that counts work rather than seconds: ``V`` is the estimated
single-thread seconds of every proof started so far, and a job arriving at ``V_a`` with
estimate ``e`` ranks at ``V_a + A * e`` (``A = RuntimeConfig.overtake_factor``).
Among jobs that arrive together that is shortest first; a later arrival ranks before an
earlier one only while the work started in between is less than ``A`` times the
difference of their estimates. The clock counts estimated work, not wall time, so the
order does not depend on how fast the machine or the event loop is, and the bound can be
stated (and tested) in proofs:

    Bound. Once the proofs started after job ``j`` arrived add up to ``A * e_j``
    estimated seconds (``V >= rank_j``: it is *overdue*), no job that arrives later starts
    before it, and no deadline may jump it. The work started ahead of ``j`` after its
    arrival is therefore at most ``A * e_j`` plus the jobs already queued with a smaller
    rank at that moment (at most ``max_pending_proofs - 1`` of them, each of which also
    ranks at most ``rank_j``) plus the one proof whose start crossed the line. With ``C``
    prover threads and accurate estimates, ``j`` waits at most about
    ``(A * e_j + that queue's work) / C`` plus the longest running proof.

Ageing in work rather than wall time also keeps shortest-first's benefit for the mean
latency: short jobs still go first unless a long one has waited ``A`` times its own
length. ``A = 8`` (the default) gives a large proof a bounded stretch while small ones
rarely notice; ``A = 0`` is first come, first served and ``A = inf`` plain shortest-first.

Deadlines: when running the next job first would push a job with a deadline past its
latest start time (deadline - estimate), that job goes first, unless the next job is
overdue. Each proof runs in a worker thread
(``anyio.to_thread.run_sync`` with a ``CapacityLimiter``) calling the native prover, which
releases the GIL. While proofs run, the estimated peak memory of all of them stays within
the budget (a job that would overflow it waits for one to finish).

**Intra- or inter-proof parallelism** (the original performance report's finding 3:
forcing parallelism made batches of mid-size tasks slower). ``max_parallel`` is the
budget of prover threads; how a proof
gets them depends on ``RuntimeConfig.parallelism``: ``"adaptive"`` asks
:func:`~.scheduling.choose_threads` (estimated makespan: a lone big proof gets every core,
a queue runs one thread per proof), ``"sequential"``, ``"inter"`` and ``"intra"`` are the
fixed policies the benchmark compares it with.

**Cancellation.** A job's request carries the cancel token of its proof (the cache
cancels it once no request waits for the proof). A cancelled job is dropped when it
arrives or when it would be dispatched, and answered ``ProofCancelled``; a running one
is passed the token, so the native prover stops within about 0.1 s and the prover
reports ``ProofCancelled``, which frees its threads and memory reservation at once.
Either way the metrics count it in ``proofs_cancelled``.

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
import math
import time
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from zkactors._logging import get_logger
from zkactors.errors import (
    ActorCrashed,
    DeadlineExceeded,
    MemoryBudgetExceeded,
    ProofCancelled,
    RuntimeFailed,
    ZkActorsError,
)
from zkactors.runtime.config import RuntimeConfig, available_cores
from zkactors.runtime.logs import DebugEvents, for_request
from zkactors.runtime.messages import (
    CacheKey,
    Completion,
    EstimatedJob,
    Measurement,
    ProverAssignment,
    ProverReport,
)
from zkactors.runtime.metrics import (
    ActorRestarted,
    AdmissionRefused,
    MetricsSink,
    ProofMeasured,
    QueueDepth,
    depth_before_receive,
)
from zkactors.runtime.replies import Outcome, ProofInfo
from zkactors.runtime.scheduling import choose_threads, estimated_wait
from zkactors.zkvm.prover import CancelToken
from zkactors.zkvm.receipt import Receipt

log = get_logger(__name__)

#: ``prove(program, inputs, *, profile, threads, max_cycles)``: a receipt, or a receipt and
#: the prover's stats (``zkactors.zkvm.prover.ProveStats``, whose grinding time the cost
#: model separates from the rest).
ProveFn = Callable[..., Any]
#: The seam where a proof runs: ``await run(program, inputs, *, profile, threads,
#: max_cycles)`` returns what a :data:`ProveFn` returns. None: a worker thread of this
#: process; the runtime passes ``zkactors.runtime.cluster.ClusterProver`` for a cluster.
RunProof = Callable[..., Any]
_debug = DebugEvents(__name__)


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
        run: RunProof | None = None,
    ) -> None:
        self.index = index
        self.name = f"prover-{index}"
        self._mailbox = mailbox
        self._reports = reports
        self._prove = prove
        self._limiter = limiter
        self._max_cycles = max_cycles
        self._run = run
        self._current: ProverAssignment | None = None

    async def run(self) -> None:
        while True:
            try:
                assignment = await self._mailbox.receive()
            except anyio.EndOfStream:
                return
            self._current = assignment
            request = assignment.job.request
            # The token only when there is one: a prove function need not take it then.
            extra = {} if request.cancel is None else {"cancel": request.cancel}
            call = functools.partial(
                self._run or self._prove,
                request.program,
                request.key.inputs,
                profile=request.key.profile,
                threads=assignment.threads,
                max_cycles=self._max_cycles,
                **extra,
            )
            started = time.perf_counter()
            outcome: Outcome
            grinding: float | None = None
            try:
                if self._run is not None:
                    # Elsewhere (a cluster): the runner watches the token itself.
                    result = await call()
                else:
                    result = await self._in_thread(call, request.cancel)
            except ZkActorsError as exc:
                outcome = exc
            else:
                if isinstance(result, tuple):
                    outcome, stats = result
                    grinding = getattr(stats, "timings", {}).get("grinding")
                else:
                    outcome = result
            seconds = time.perf_counter() - started
            self._current = None
            self._report(ProverReport(self.index, assignment, outcome, seconds, grinding))

    async def _in_thread(self, call: Callable[[], Any], token: CancelToken | None) -> Any:
        """``call()`` in a worker thread. Not abandoned on cancel: a stopping runtime
        waits for the thread, so no prover thread outlives it; but a cancelled runtime
        (``shutdown="cancel"``, or its host's cancellation) answers every request
        itself, so the proof's token is cancelled at once and that wait lasts only as
        long as the native prover takes to stop."""
        if token is None:
            return await anyio.to_thread.run_sync(call, limiter=self._limiter)
        finished = False

        async def cancel_when_stopping() -> None:
            try:
                await anyio.sleep_forever()
            finally:
                if not finished:  # cancelled from outside, not by the return below
                    token.cancel()

        # The call's own exception leaves the task group as it is (a task group would
        # wrap it in an ExceptionGroup): it is caught inside and raised after.
        result: Any = None
        error: Exception | None = None
        async with anyio.create_task_group() as tg:
            tg.start_soon(cancel_when_stopping)
            try:
                result = await anyio.to_thread.run_sync(call, limiter=self._limiter)
            except Exception as exc:
                error = exc
            finally:
                finished = True
                tg.cancel_scope.cancel()
        if error is not None:
            raise error
        return result

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
    __slots__ = ("arrived", "dispatched", "job", "latest_start", "rank")

    def __init__(
        self, job: EstimatedJob, latest_start: float | None, arrived: float, rank: float
    ) -> None:
        self.job = job
        self.latest_start = latest_start
        self.arrived = arrived
        # Its virtual finish time (see the module docstring): the queue's order.
        self.rank = rank
        self.dispatched = False


class _Running:
    __slots__ = ("assignment", "ends", "peak_bytes", "shared", "threads")

    def __init__(self, assignment: ProverAssignment, ends: float, shared: bool) -> None:
        self.assignment = assignment
        self.threads = assignment.threads
        self.ends = ends
        self.peak_bytes = assignment.job.peak_bytes
        # Whether another proof ran beside it at any time (set again when one starts).
        self.shared = shared


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
        run: RunProof | None = None,
    ) -> None:
        self._config = config
        self._mode = config.parallelism
        self._overtake = config.overtake_factor
        self._budget = config.memory_budget_bytes
        self._total_threads = config.max_parallel
        self._mailbox = mailbox
        self._completions = completions
        self._feedback = feedback
        self._sink = sink
        self._supervision = supervision
        self._prove = prove
        self._run = run
        self._limiter = anyio.CapacityLimiter(config.max_parallel)
        self.feedback_dropped = 0
        # Proving-time CPU accounting survives restarts: it describes the process.
        self._cores = available_cores()
        self._busy_wall = 0.0
        self._busy_cpu = 0.0
        self._busy_since: tuple[float, float] | None = None
        self._peak_reserved = 0
        self._reset_state()

    def _reset_state(self) -> None:
        parallel = self._config.max_parallel
        self._by_rank: list[tuple[float, int, _Queued]] = []
        # The virtual clock: estimated single-thread seconds of the proofs started.
        self._virtual = 0.0
        self._by_deadline: list[tuple[float, int, _Queued]] = []
        self._queued = 0
        self._queued_work = 0.0
        self._seq = 0
        self._running: dict[int, _Running] = {}
        self._idle = list(range(parallel - 1, -1, -1))
        self._free_threads = parallel
        self._reserved_bytes = 0
        self._closing = False
        self._drained = anyio.Event()
        self._mark_idle()
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
                    self._run,
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
            # The depth just before this receive (its peak: it only grows between receives).
            depth = depth_before_receive(mailbox)
            self._sink.emit(QueueDepth("supervisor", depth))
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

    # ---- admission ----

    def _refusal(self, job: EstimatedJob, now: float) -> ZkActorsError | None:
        """Why ``job`` may not queue, or None."""
        if job.peak_bytes > self._budget:
            return MemoryBudgetExceeded(
                f"this proof needs about {_mib(job.peak_bytes)} of memory at its peak (a "
                f"{job.shape.trace_length}-row x {job.shape.trace_width}-column trace at "
                f"profile {job.shape.profile!r}), more than the runtime's memory budget of "
                f"{_mib(self._budget)} (RuntimeConfig.memory_budget_bytes); prove a shorter "
                "run, or raise the budget on a machine with more memory",
                job.peak_bytes,
                self._budget,
            )
        deadline = job.request.deadline
        if deadline is None:
            return None
        wait, ahead = self._wait_for(job, now)
        own = min(job.seconds)
        finish = now + wait + own
        if finish <= deadline:
            return None
        return DeadlineExceeded(
            f"the request cannot finish before its deadline: the estimate is {finish - now:.3g} "
            f"s ({wait:.3g} s waiting for {ahead} proof(s) ahead of it, then {own:.3g} s "
            f"proving a {job.shape.trace_length}-row trace) but its timeout ends in "
            f"{max(0.0, deadline - now):.3g} s; it was not started. Allow more time, or "
            "retry when the runtime is less busy"
        )

    def _wait_for(self, job: EstimatedJob, now: float) -> tuple[float, int]:
        """Estimated seconds before ``job`` (which has a deadline) could start, and the
        number of proofs ahead of it."""
        assert job.request.deadline is not None
        latest = job.request.deadline - job.estimate
        ahead_work = 0.0
        ahead = len(self._running)
        for _, _, entry in self._by_deadline:
            # Queued jobs with an earlier latest start go first; shorter jobs without a
            # deadline yield to this one when it becomes urgent.
            start = entry.latest_start
            if not entry.dispatched and start is not None and start <= latest:
                ahead_work += entry.job.estimate
                ahead += 1
        wait = estimated_wait(
            free_threads=self._free_threads if self._idle and self._memory_free(job) else 0,
            total_threads=self._total_threads,
            ahead_work=ahead_work,
            running_work=self._running_work(now),
        )
        return wait, ahead

    def _memory_free(self, job: EstimatedJob) -> bool:
        return not self._running or self._reserved_bytes + job.peak_bytes <= self._budget

    # ---- the queue ----

    def _drop_cancelled(self, job: EstimatedJob, queued_seconds: float = 0.0) -> None:
        """Answer a job whose proof nobody waits for any more, without running it."""
        request = job.request
        self._complete(request.key, ProofCancelled("no request waits for this proof any more"))
        self._sink.emit(
            ProofMeasured(
                request.key.profile,
                job.shape.trace_length,
                0,
                job.estimate,
                None,
                "ProofCancelled",
                queued_seconds,
                job.shape.air,
            )
        )
        logger = _debug.logger()
        if logger is not None:
            for_request(logger, request).debug(
                "proof.cancelled", program=request.key.program_hash[:16], running=False
            )

    def _push(self, job: EstimatedJob) -> None:
        now = anyio.current_time()
        token = job.request.cancel
        if token is not None and token.cancelled:
            self._drop_cancelled(job)
            return
        refusal = self._refusal(job, now)
        if refusal is not None:
            reason = "memory" if isinstance(refusal, MemoryBudgetExceeded) else "deadline"
            self._sink.emit(AdmissionRefused(reason))
            logger = _debug.logger()
            if logger is not None:
                for_request(logger, job.request).debug(
                    "proof.refused",
                    reason=reason,
                    program=job.request.key.program_hash[:16],
                    trace_length=job.shape.trace_length,
                    estimate_s=round(job.estimate, 6),
                    peak_bytes=job.peak_bytes,
                )
            self._complete(
                job.request.key,
                refusal,
                refused_deadline=job.request.deadline if reason == "deadline" else None,
            )
            return
        deadline = job.request.deadline
        if math.isinf(self._overtake):
            rank = job.estimate  # plain shortest-first
        else:
            rank = self._virtual + self._overtake * job.estimate
        entry = _Queued(job, None if deadline is None else deadline - job.estimate, now, rank)
        self._seq += 1
        heapq.heappush(self._by_rank, (rank, self._seq, entry))
        if entry.latest_start is not None:
            heapq.heappush(self._by_deadline, (entry.latest_start, self._seq, entry))
        self._queued += 1
        self._queued_work += job.estimate

    def _peek_next(self) -> _Queued:
        by_rank, by_deadline = self._by_rank, self._by_deadline
        while by_rank[0][2].dispatched:
            heapq.heappop(by_rank)
        while by_deadline and by_deadline[0][2].dispatched:
            heapq.heappop(by_deadline)
        first = by_rank[0][2]
        overdue = self._virtual >= first.rank and not math.isinf(self._overtake)
        if by_deadline and not overdue:
            # An overdue job is not jumped even for a deadline: that is what bounds its
            # wait. (Every job ranked before it is overdue too, so none is jumped either.)
            urgent = by_deadline[0][2]
            assert urgent.latest_start is not None
            if urgent is not first and urgent.latest_start <= (
                anyio.current_time() + first.job.estimate
            ):
                return urgent
        return first

    def _take(self, entry: _Queued) -> None:
        entry.dispatched = True
        self._virtual += entry.job.estimate
        self._queued -= 1
        self._queued_work = max(0.0, self._queued_work - entry.job.estimate)
        if not self._queued:
            self._queued_work = 0.0

    def _running_work(self, now: float) -> float:
        return sum(max(0.0, r.ends - now) * r.threads for r in self._running.values())

    def plan(self, seconds: tuple[float, ...], peak_bytes: int) -> tuple[int, float]:
        """``(threads, wait)``: the threads a proof with these estimates would get if it
        arrived now, and the estimated seconds before it would start (for
        ``ZkRuntime.estimate``; reads state only)."""
        now = anyio.current_time()
        running_work = self._running_work(now)
        memory_free = not self._running or self._reserved_bytes + peak_bytes <= self._budget
        free = self._free_threads if memory_free and self._idle else 0
        wait = estimated_wait(
            free_threads=free,
            total_threads=self._total_threads,
            ahead_work=self._queued_work,
            running_work=running_work,
        )
        most = min(len(seconds), self._total_threads)
        if self._mode in ("sequential", "inter"):
            return 1, wait
        if self._mode == "intra":
            return most, wait
        running_left = max((r.ends - now for r in self._running.values()), default=0.0)
        threads = choose_threads(
            self._mode,
            seconds,
            free_threads=free or self._total_threads,
            total_threads=self._total_threads,
            running=len(self._running),
            queued_after=self._queued,
            queued_work=self._queued_work,
            running_work=running_work,
            running_left=max(0.0, running_left),
            min_seconds=self._config.intra_proof_min_seconds,
        )
        # 0: it would wait for the running proofs, then start with every thread.
        return threads or most, wait

    def _dispatch(self) -> None:
        running = len(self._running)
        self._dispatch_queued()
        if len(self._running) > running:
            self._sink.emit(QueueDepth("proofs_running", len(self._running)))

    def _dispatch_queued(self) -> None:
        while self._queued and self._idle and self._free_threads > 0:
            entry = self._peek_next()
            job = entry.job
            token = job.request.cancel
            if token is not None and token.cancelled:
                self._take(entry)
                self._drop_cancelled(job, anyio.current_time() - entry.arrived)
                continue
            if not self._memory_free(job):
                break  # the budget is full: wait for a running proof to finish
            now = anyio.current_time()
            running_left = max((r.ends - now for r in self._running.values()), default=0.0)
            threads = choose_threads(
                self._mode,
                job.seconds,
                free_threads=self._free_threads,
                total_threads=self._total_threads,
                running=len(self._running),
                queued_after=self._queued - 1,
                queued_work=max(0.0, self._queued_work - job.estimate),
                running_work=self._running_work(now),
                running_left=max(0.0, running_left),
                min_seconds=self._config.intra_proof_min_seconds,
            )
            if threads < 1:
                break
            threads = min(threads, self._free_threads)
            self._take(entry)
            prover = self._idle.pop()
            self._free_threads -= threads
            # Company now, or soon: queued proofs will start on the threads left free.
            shared = bool(self._running) or (self._queued > 0 and self._free_threads > 0)
            estimate = job.seconds[min(threads, len(job.seconds)) - 1]
            if shared and threads == 1 and job.shared_seconds is not None:
                estimate = job.shared_seconds
            assignment = ProverAssignment(job, threads, estimate, now - entry.arrived)
            if not self._running:
                self._mark_busy()
            for running in self._running.values():
                running.shared = True
            self._running[prover] = _Running(assignment, now + estimate, bool(self._running))
            self._reserved_bytes += job.peak_bytes
            self._peak_reserved = max(self._peak_reserved, self._reserved_bytes)
            logger = _debug.logger()
            if logger is not None:
                request = job.request
                for_request(logger, request).debug(
                    "proof.started",
                    program=request.key.program_hash[:16],
                    inputs=request.key.inputs,
                    profile=request.key.profile,
                    cycles=job.execution.cycles,
                    trace_length=job.shape.trace_length,
                    air=job.shape.air,
                    threads=threads,
                    estimate_s=round(estimate, 6),
                    queued_s=round(assignment.queued_seconds, 6),
                    prover=prover,
                )
            # Never blocks: an idle prover's one-slot mailbox is empty.
            self._assign[prover].send_nowait(assignment)

    def _finish(self, report: ProverReport) -> None:
        running = self._running.get(report.prover)
        if running is None or running.assignment is not report.assignment:
            return  # a report from before a restart; its job was already failed
        del self._running[report.prover]
        assignment = running.assignment
        self._idle.append(report.prover)
        self._free_threads += assignment.threads
        self._reserved_bytes -= running.peak_bytes
        if not self._running:
            self._mark_idle()
        job = assignment.job
        request = job.request
        outcome = report.outcome
        info = None
        if isinstance(outcome, Receipt) and report.seconds is not None:
            info = ProofInfo(
                cycles=job.execution.cycles,
                trace_length=job.shape.trace_length,
                trace_width=job.shape.trace_width,
                threads=assignment.threads,
                estimated_seconds=assignment.estimate,
                prove_seconds=report.seconds,
                queued_seconds=assignment.queued_seconds,
                air=job.shape.air,
            )
        self._complete(request.key, outcome, info)
        error_type = None if isinstance(outcome, Receipt) else type(outcome).__name__
        self._sink.emit(
            ProofMeasured(
                request.key.profile,
                job.shape.trace_length,
                assignment.threads,
                assignment.estimate,
                report.seconds,
                error_type,
                assignment.queued_seconds,
                job.shape.air,
            )
        )
        logger = _debug.logger()
        if logger is not None:
            fields: dict[str, Any] = {
                "program": request.key.program_hash[:16],
                "inputs": request.key.inputs,
                "trace_length": job.shape.trace_length,
                "air": job.shape.air,
                "threads": assignment.threads,
                "estimate_s": round(assignment.estimate, 6),
            }
            if report.seconds is not None:
                fields["seconds"] = round(report.seconds, 6)
            if error_type is None:
                if report.seconds:
                    error = abs(assignment.estimate - report.seconds) / report.seconds
                    fields["estimate_error"] = round(error, 4)
                for_request(logger, request).debug("proof.proved", **fields)
            else:
                for_request(logger, request).debug(
                    "proof.failed", error_type=error_type, error=str(outcome), **fields
                )
        if error_type is None and report.seconds is not None:
            measurement = Measurement(
                job.shape,
                assignment.threads,
                report.seconds,
                report.grinding_seconds,
                running.shared,
            )
            try:
                self._feedback.send_nowait(measurement)
            except (anyio.WouldBlock, anyio.BrokenResourceError, anyio.ClosedResourceError):
                self.feedback_dropped += 1

    # ---- CPU while proving ----

    def _mark_busy(self) -> None:
        self._busy_since = (time.perf_counter(), time.process_time())

    def _mark_idle(self) -> None:
        since = getattr(self, "_busy_since", None)
        if since is not None:
            self._busy_wall += time.perf_counter() - since[0]
            self._busy_cpu += time.process_time() - since[1]
        self._busy_since = None

    def proving_cpu_probe(self) -> tuple[float, float]:
        """``(wall, cpu)`` seconds during which at least one proof ran, and the process
        CPU time spent in them (all threads; the open interval included)."""
        wall, cpu = self._busy_wall, self._busy_cpu
        if self._busy_since is not None:
            wall += time.perf_counter() - self._busy_since[0]
            cpu += time.process_time() - self._busy_since[1]
        return wall, cpu

    def memory_probe(self) -> tuple[float, float]:
        """``(reserved, peak reserved)``: estimated peak bytes of the proofs running now,
        and the most they have been at once."""
        return float(self._reserved_bytes), float(self._peak_reserved)

    # ---- endings ----

    def _check_drained(self) -> None:
        if self._closing and not self._queued and not self._running:
            self._drained.set()

    def _complete(
        self,
        key: CacheKey,
        outcome: Outcome,
        info: ProofInfo | None = None,
        *,
        refused_deadline: float | None = None,
    ) -> None:
        try:
            self._completions.send_nowait(Completion(key, outcome, info, refused_deadline))
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
        for running in self._running.values():
            self._complete(running.assignment.job.request.key, error)
        self._running.clear()
        self._reserved_bytes = 0
        self._mark_idle()
        for _, _, entry in self._by_rank:
            if not entry.dispatched:
                entry.dispatched = True
                self._complete(entry.job.request.key, error)
        self._by_rank.clear()
        self._by_deadline.clear()
        self._queued = 0
        self._queued_work = 0.0

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


def _mib(size: int) -> str:
    return f"{size / 2**20:,.1f} MiB" if size < 2**30 else f"{size / 2**30:,.2f} GiB"


__all__ = [
    "Actor",
    "ProverActor",
    "RestartIntensity",
    "RunProof",
    "Supervision",
    "SupervisorActor",
    "supervise",
]
