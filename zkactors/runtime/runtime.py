"""``ZkRuntime``: the facade an async service uses; it starts, wires and stops the actors.

::

    async with ZkRuntime(RuntimeConfig()) as rt:
        receipt = await rt.prove(program, inputs)              # waits while the runtime is full
        receipts = await rt.prove_many([(program, inputs), ...])
        handle = rt.try_prove(program, inputs)                 # Overloaded instead of waiting
        receipt = await handle
        outcome = await rt.prove_detailed(program, inputs)     # receipt, cycles, source, times
        estimate = await rt.estimate(program, inputs)          # cost now, without proving
        snapshot = rt.metrics()

The calls mirror anyio's ``send`` / ``send_nowait``: :meth:`ZkRuntime.prove` waits for room
in the intake mailbox (backpressure), :meth:`ZkRuntime.try_prove` is a plain function that
either enqueues at once and returns a :class:`ProofHandle` to await, or raises
``Overloaded``. Both validate in the caller's task first, so a bad request raises its typed
error there and is never queued.

Starting (entering the ``async with`` block) first calibrates the cost model with a few
tiny real proofs (:mod:`.calibration`; ``RuntimeConfig(calibrate="off")`` skips it), once
per process and profile.

Wiring (every arrow a bounded anyio memory stream; each actor owns its state)::

    caller -> intake -> cache -> estimator -> supervisor -> provers (threads or Dask tasks)
                         ^  \\------------- completions <------/
                         hit: answered here          every actor -> metrics (never waited on)

Shutdown (leaving the ``async with`` block) closes intake first: new calls and callers
still waiting for mailbox room get ``RuntimeClosed``. Then, with ``shutdown="drain"``,
each actor finishes its queue and closes the next one's, so accepted work completes in
order; with ``shutdown="cancel"``, every actor is cancelled and answers what it held with
``RuntimeClosed`` at once (proofs already running in threads are waited for, their
results discarded, so no thread outlives the block). Either way the block exits only when
every task has ended and every channel is closed, and a final sweep answers any accepted
request that still has no answer.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Generator, Iterable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Self, overload

import anyio
import attrs
from anyio.abc import TaskGroup, TaskStatus
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from zkactors._logging import get_logger
from zkactors.errors import (
    DeadlineExceeded,
    InputError,
    Overloaded,
    ProofCancelled,
    RuntimeClosed,
    RuntimeFailed,
    ZkActorsError,
)
from zkactors.runtime.cache import CacheActor
from zkactors.runtime.cluster import ClusterProver
from zkactors.runtime.config import RuntimeConfig
from zkactors.runtime.costmodel import CalibratedCostModel, CostModel
from zkactors.runtime.estimator import EstimatorActor, ExecuteFn, estimate_job
from zkactors.runtime.intake import Intake, check_profile, deadline_after, delivered
from zkactors.runtime.messages import CacheKey, ProofRequest, Submission
from zkactors.runtime.metrics import (
    MetricsActor,
    MetricsSink,
    MetricsSnapshot,
    Rejected,
    ReplyTally,
)
from zkactors.runtime.outcomes import Estimate, ProofOutcome
from zkactors.runtime.replies import Reply
from zkactors.runtime.store import ReceiptStore, StoreFront
from zkactors.runtime.supervisor import (
    Actor,
    ProveFn,
    RestartIntensity,
    Supervision,
    SupervisorActor,
    supervise,
)
from zkactors.zkvm.arguments import Inputs, ProgramLike, as_inputs, as_program
from zkactors.zkvm.receipt import Receipt

log = get_logger(__name__)

#: Measurements the supervisor may queue for the estimator before it drops some.
_FEEDBACK_CAPACITY = 256


class ProofHandle:
    """A request accepted by :meth:`ZkRuntime.try_prove`: await it for the receipt.

    ``await handle`` (or ``await handle.wait()``) returns the receipt or raises the
    request's typed error; the request's ``timeout`` (if any) bounds the wait. The proof
    runs whether or not the handle is ever awaited, and a cancelled ``await`` leaves it
    running (the handle can be awaited again); :meth:`cancel`, or the timeout passing,
    gives it up, which stops the proof if no other request waits for it.
    """

    __slots__ = ("_deadline", "_key", "_reply", "_runtime")

    def __init__(
        self, runtime: ZkRuntime, reply: Reply, deadline: float | None, key: CacheKey
    ) -> None:
        self._runtime = runtime
        self._reply = reply
        self._deadline = deadline
        self._key = key

    def cancel(self) -> None:
        """Give the request up: awaiting the handle raises ``ProofCancelled`` from now on
        (unless it was already answered), and its proof stops if no other request waits
        for it."""
        self._runtime._leave(self._reply, (self._key,))

    def done(self) -> bool:
        """True once the request has its answer (awaiting will not wait)."""
        return self._reply.done()

    async def wait(self) -> Receipt:
        """Wait for the answer.

        :raises ZkActorsError: the request's typed error (``DeadlineExceeded`` if its
            timeout passed first).
        """
        if self._deadline is None:
            await self._reply.wait()
        elif await self._runtime._wait_until(self._reply, self._deadline):
            self._runtime._left((self._key,))
        return self._reply.result(0)

    async def wait_detailed(self) -> ProofOutcome:
        """Wait for the answer, with how it was obtained (as
        :meth:`ZkRuntime.prove_detailed`).

        :raises ZkActorsError: as :meth:`wait`.
        """
        await self.wait()
        return _outcome(self._reply, 0)

    def __await__(self) -> Generator[Any, None, Receipt]:
        return self.wait().__await__()


class ZkRuntime:
    """An in-process actor runtime that proves zkVM programs; see the module docstring.

    :param config: how to run (``RuntimeConfig()`` if omitted).
    :param cost_model: the estimator's proving-time model (a fresh
        :class:`~zkactors.runtime.costmodel.CalibratedCostModel`, calibrated at start-up
        unless ``config.calibrate == "off"``, if omitted; a given model is used as it is).
    :param _prover: TEST ONLY. Replaces the native ``zkactors.zkvm.prover.prove`` (same
        signature) so tests can inject faults (``tests/runtime_doubles.py``). Never use it
        in production: the runtime's receipts are only as real as this function.
    :param _execute: TEST ONLY. Replaces ``zkactors.zkvm.execute.execute`` likewise.
    :param _store: TEST ONLY. A :class:`~zkactors.runtime.store.ReceiptStore` to use
        instead of the one ``config.store`` names (a fault-injecting double, or a store
        shared between runtimes in one test).
    """

    def __init__(
        self,
        config: RuntimeConfig | None = None,
        *,
        cost_model: CostModel | None = None,
        _prover: ProveFn | None = None,
        _execute: ExecuteFn | None = None,
        _store: ReceiptStore | None = None,
    ) -> None:
        if config is not None and not isinstance(config, RuntimeConfig):
            raise TypeError(f"config must be a RuntimeConfig, got {type(config).__name__}")
        self._config = config or RuntimeConfig()
        self._calibrate_model = cost_model is None and self._config.calibrate == "startup"
        self._cost_model: CostModel = cost_model or CalibratedCostModel()
        self._prover = _prover
        self._execute = _execute
        self._store_override = _store
        self._store_front: StoreFront | None = None
        self._cluster: ClusterProver | None = None
        self._state = "new"
        self._failure: RuntimeFailed | None = None
        metrics_send, metrics_receive = anyio.create_memory_object_stream[Any](
            self._config.metrics_capacity
        )
        self._metrics_receive = metrics_receive
        self._sink = MetricsSink(metrics_send)
        self._metrics = MetricsActor(
            metrics_receive,
            self._sink,
            {},
            parallelism=self._config.parallelism,
            memory_budget_bytes=self._config.memory_budget_bytes,
        )
        self._channels: list[MemoryObjectSendStream[Any] | MemoryObjectReceiveStream[Any]] = [
            metrics_send,
            metrics_receive,
        ]

    # ---- properties ----

    @property
    def config(self) -> RuntimeConfig:
        return self._config

    @property
    def running(self) -> bool:
        """True between entering and leaving the ``async with`` block (and not failed)."""
        return self._state == "running"

    @property
    def cost_model(self) -> CostModel:
        return self._cost_model

    # ---- lifecycle ----

    async def __aenter__(self) -> Self:
        if self._state != "new":
            raise RuntimeClosed("this ZkRuntime was already started; create a new one")
        self._state = "starting"
        if self._calibrate_model:
            await self._calibrate()
        if self._config.dask_scheduler is not None:
            await self._start_cluster()
        self._wire()
        self._task_group: TaskGroup = anyio.create_task_group()
        await self._task_group.__aenter__()
        try:
            await self._task_group.start(self._run)
        except BaseException:
            scope = getattr(self, "_actors_scope", None)
            if scope is not None:
                scope.cancel()
            await self._task_group.__aexit__(*sys.exc_info())
            raise
        self._state = "running"
        log.debug("runtime.started", config=self._config)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._state == "running":
            self._state = "stopping"
        cancelled = exc_type is not None and issubclass(exc_type, anyio.get_cancelled_exc_class())
        mode = "cancel" if cancelled else self._config.shutdown
        self._intake.close()
        if mode == "cancel":
            self._actors_scope.cancel()
        try:
            await self._task_group.__aexit__(None, None, None)
        finally:
            if self._cluster is not None:
                await self._cluster.close()
            if self._state != "failed":
                self._state = "stopped"
            if self._calibrate_model and self._prover is None and self._cluster is None:
                # Real local proofs only: a test prover's times, or a cluster's, say
                # nothing about this machine.
                from zkactors.runtime.calibration import learn

                assert isinstance(self._cost_model, CalibratedCostModel)
                learn(self._cost_model.recent_samples())
            log.debug("runtime.stopped", mode=mode, failed=self._failure is not None)
        if self._failure is not None:
            raise self._failure

    async def _calibrate(self) -> None:
        """Prime the cost model with this machine's calibration (measured once per
        process and profile, in a worker thread)."""
        from zkactors.runtime.calibration import calibration_for, default_cache_dir, learned

        config = self._config
        cache_dir = None
        if config.calibration_cache:
            cache_dir = Path(config.calibration_cache_dir or default_cache_dir())
        threads = (1, config.prover_threads)
        try:
            calibration = await anyio.to_thread.run_sync(
                lambda: calibration_for(config.profile, threads, cache_dir=cache_dir)
            )
        except Exception as exc:  # the runtime works without it, less accurately at first
            log.warning("calibration.failed", error=repr(exc))
            return
        model = self._cost_model
        assert isinstance(model, CalibratedCostModel)
        model.calibrate(
            [*calibration.samples, *learned()], hash_seconds=calibration.hash_seconds or None
        )

    async def _start_cluster(self) -> None:
        """Connect to the Dask cluster (starting a LocalCluster for ``"local"``).

        :raises ClusterError: it is unreachable and ``config.fallback == "fail"``.
        """
        from zkactors.runtime.cluster import ClusterProver

        config = self._config
        assert config.dask_scheduler is not None
        cluster = ClusterProver(
            config.dask_scheduler,
            fallback=config.fallback,
            prove=self._prover if self._prover is not None else _native_prover(),
            local_parallel=config.prover_threads,
            max_parallel=config.max_parallel,
            connect_timeout=config.dask_connect_timeout,
        )
        try:
            await cluster.start()
        except BaseException:
            self._state = "stopped"
            await cluster.close()
            raise
        self._cluster = cluster

    def _wire(self) -> None:
        config = self._config
        sink = self._sink

        def channel(
            capacity: int,
        ) -> tuple[MemoryObjectSendStream[Any], MemoryObjectReceiveStream[Any]]:
            send, receive = anyio.create_memory_object_stream[Any](capacity)
            self._channels += (send, receive)
            return send, receive

        intake_send, intake_receive = channel(config.intake_capacity)
        jobs_send, jobs_receive = channel(config.estimator_capacity)
        feedback_send, feedback_receive = channel(_FEEDBACK_CAPACITY)
        estimated_send, estimated_receive = channel(config.supervisor_capacity)
        # Every job produces exactly one completion and at most max_pending_proofs jobs
        # exist, so completions are sent with send_nowait and never find it full.
        completions_send, completions_receive = channel(config.max_pending_proofs + 16)
        estimator_completions = completions_send.clone()
        self._channels.append(estimator_completions)

        self._supervision = Supervision(
            RestartIntensity(config.max_restarts, config.restart_period),
            sink,
            self._give_up,
            self._stop_error,
        )
        prove = self._prover if self._prover is not None else _native_prover()
        if self._execute is not None:
            execute = self._execute
        else:
            from zkactors.zkvm.execute import execute
        self._intake = Intake(intake_send, sink)
        self._store_front = _store_front(config, self._store_override)
        self._cache = CacheActor(
            config, intake_receive, completions_receive, jobs_send, sink, self._store_front
        )
        self._estimator = EstimatorActor(
            config,
            jobs_receive,
            feedback_receive,
            estimated_send,
            estimator_completions,
            sink,
            model=self._cost_model,
            execute=execute,
        )
        # On a cluster each proof takes one slot of max_parallel and its worker's threads:
        # the supervisor's thread budget then counts proofs in flight ("inter").
        supervisor_config = config
        if self._cluster is not None:
            supervisor_config = attrs.evolve(config, parallelism="inter")
        self._supervisor = SupervisorActor(
            supervisor_config,
            estimated_receive,
            completions_send,
            feedback_send,
            sink,
            self._supervision,
            prove,
            self._cluster,
        )
        metrics_receive = self._metrics_receive
        self._metrics._queues.update(
            {
                "intake": self._cache.depth_probe,
                "completions": self._cache.completions_probe,
                "estimator": self._estimator.depth_probe,
                "supervisor": self._supervisor.depth_probe,
                "proofs_pending": self._cache.pending_probe,
                "proofs_queued": self._supervisor.queued_probe,
                "proofs_running": self._supervisor.running_probe,
                "metrics": lambda: metrics_receive.statistics().current_buffer_used,
            }
        )
        self._metrics.unanswered = self._intake.open_requests
        self._metrics.set_actors(
            [
                "cache",
                "estimator",
                "supervisor",
                "metrics",
                *(f"prover-{index}" for index in range(config.max_parallel)),
            ]
        )
        if self._cluster is not None:
            self._metrics.cluster_probe = self._cluster.figures
        self._metrics.probes.update(
            {
                "proving_cpu": self._supervisor.proving_cpu_probe,
                "memory": self._supervisor.memory_probe,
            }
        )

    async def _run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        try:
            async with anyio.create_task_group() as outer:
                outer.start_soon(supervise, self._metrics, self._supervision)
                try:
                    with anyio.CancelScope() as self._actors_scope:
                        async with anyio.create_task_group() as actors:
                            pipeline: tuple[Actor, ...] = (
                                self._cache,
                                self._estimator,
                                self._supervisor,
                            )
                            for actor in pipeline:
                                actors.start_soon(supervise, actor, self._supervision)
                            task_status.started()
                finally:
                    # Every pipeline actor has ended: answer anything still unanswered.
                    self._intake.sweep(self._stop_error())
                    if self._store_front is not None:
                        await self._store_front.close()
                    self._estimator.absorb_feedback()
                    for endpoint in self._channels:
                        if endpoint is not self._metrics_receive:
                            endpoint.close()
                    # Metrics last: its on_stop folds in the final events.
                    outer.cancel_scope.cancel()
        finally:
            # The metrics actor may have been cancelled before the others stopped (a
            # caller's cancellation reaches every task at once): fold in what they
            # reported since, or the final answers would be lost with the mailbox.
            self._metrics.drain()
            self._metrics_receive.close()

    def _stop_error(self) -> ZkActorsError:
        if self._failure is not None:
            return self._failure
        return RuntimeClosed(
            "the runtime shut down (shutdown='cancel') before this request was answered"
            if self._config.shutdown == "cancel"
            else "the runtime shut down before this request was answered"
        )

    def _give_up(self, actor: str, crash: BaseException) -> RuntimeFailed:
        if self._failure is None:
            intensity = self._supervision.intensity
            self._failure = RuntimeFailed(
                f"the {actor} actor crashed ({type(crash).__name__}: {crash}) after "
                f"{intensity.max_restarts} restarts within {intensity.period:g} s, the "
                "restart limit (RuntimeConfig.max_restarts / restart_period); the runtime "
                "stopped and answered every open request"
            )
            self._failure.__cause__ = crash
            self._state = "failed"
            log.error("runtime.failed", actor=actor, error=repr(crash))
            self._intake.close()
            self._actors_scope.cancel()
        return self._failure

    def _check_open(self) -> None:
        if self._state == "running":
            return
        if self._failure is not None:
            error = RuntimeFailed(str(self._failure))
            error.__cause__ = self._failure.__cause__
            raise error
        if self._state in ("new", "starting"):
            raise RuntimeClosed(
                "the runtime is not running: use it inside `async with ZkRuntime(...) as rt:`"
            )
        raise RuntimeClosed("the runtime is shutting down or stopped; it accepts no new requests")

    # ---- the API ----

    async def prove(
        self,
        program: ProgramLike,
        inputs: Inputs,
        *,
        profile: str | None = None,
        timeout: float | None = None,  # noqa: ASYNC109  (part of the request: it orders the queue)
    ) -> Receipt:
        """Prove one run of ``program`` on ``inputs``; wait while the intake mailbox is full.

        :param program: a :class:`~zkactors.Program` (or its canonical bytes).
        :param inputs: a sequence of ints in ``.input`` order, or a mapping by input name
            (the forms ``zkactors.prove`` accepts, checked by the same code).
        :param profile: the security profile (default: ``config.profile``).
        :param timeout: seconds to wait for the answer at most; it also moves the job
            forward in the supervisor's queue. When it passes, or the calling task is
            cancelled, the request is given up, and its proof stops (within about 0.1 s)
            unless an identical request still waits for it.
        :return: the receipt (possibly from the cache, or shared with identical requests).
        :raises NotAProgramError: ``program`` is neither a Program nor bytes.
        :raises ProgramFormatError: ``program``'s bytes are not a valid program.
        :raises InputError: wrong number of inputs, or one not an int in [0, p).
        :raises ProfileError: unknown profile.
        :raises ExecutionError: the program fails on these inputs (no proof is attempted).
        :raises ProvingError: the prover could not prove it.
        :raises DeadlineExceeded: no answer within ``timeout``.
        :raises ActorCrashed: an actor handling the request crashed (it was restarted).
        :raises RuntimeClosed: the runtime is not running, or stopped before answering.
        :raises RuntimeFailed: the runtime stopped after too many crashes.
        """
        request = self._admit(program, inputs, profile, timeout)
        reply = Reply(1)
        await self._submit_or_expire(Submission((request,), reply), request.deadline)
        await self._await_reply(reply, (request.key,), request.deadline)
        return reply.result(0)

    async def prove_detailed(
        self,
        program: ProgramLike,
        inputs: Inputs,
        *,
        profile: str | None = None,
        timeout: float | None = None,  # noqa: ASYNC109  (part of the request: it orders the queue)
    ) -> ProofOutcome:
        """:meth:`prove`, returning the receipt with how it was obtained: from the cache,
        by a new proof or by joining one already running, the run's cycles, the threads,
        estimate and measured time of the proof, and the time it queued.

        :raises: as :meth:`prove`.
        """
        request = self._admit(program, inputs, profile, timeout)
        reply = Reply(1)
        await self._submit_or_expire(Submission((request,), reply), request.deadline)
        await self._await_reply(reply, (request.key,), request.deadline)
        reply.result(0)
        return _outcome(reply, 0)

    async def estimate(
        self, program: ProgramLike, inputs: Inputs, *, profile: str | None = None
    ) -> Estimate:
        """What proving ``program`` on ``inputs`` would cost if submitted now, without
        proving it: the run is executed natively (in a worker thread; exact cycles and
        trace length), then the calibrated cost model predicts the proving time, the
        prover's formula gives the peak memory, and the supervisor says how many threads
        it would give the proof and how long it would queue. Nothing is queued, cached or
        counted as a request.

        :raises ProgramFormatError, InputError, ProfileError: as :meth:`prove`.
        :raises ExecutionError: the program fails on these inputs.
        :raises RuntimeClosed: the runtime is not running.
        """
        self._check_open()
        name = self._config.profile if profile is None else check_profile(profile)
        request = self._intake.admit(program, inputs, name, None)
        execute: ExecuteFn
        if self._execute is not None:
            execute = self._execute
        else:
            from zkactors.zkvm.execute import execute
        max_cycles = self._config.max_cycles
        execution = await anyio.to_thread.run_sync(
            lambda: execute(request.program, request.key.inputs, max_cycles=max_cycles)
        )
        self._check_open()
        job = estimate_job(self._cost_model, request, execution, self._config.prover_threads)
        threads, wait = self._supervisor.plan(job.seconds, job.peak_bytes)
        threads = min(threads, len(job.seconds))
        return Estimate(
            cycles=execution.cycles,
            trace_length=execution.trace_length,
            trace_width=job.shape.trace_width,
            constraints=job.shape.constraints,
            profile=name,
            seconds=job.seconds[threads - 1],
            single_thread_seconds=job.seconds[0],
            threads=threads,
            peak_bytes=job.peak_bytes,
            queue_seconds=wait,
            air=job.shape.air,
        )

    def try_prove(
        self,
        program: ProgramLike,
        inputs: Inputs,
        *,
        profile: str | None = None,
        timeout: float | None = None,
    ) -> ProofHandle:
        """Enqueue a request without waiting, as ``send_nowait``; await the handle for the
        receipt. Must be called from the runtime's event loop thread.

        :raises Overloaded: the intake mailbox is full (nothing was enqueued).
        :raises ProgramFormatError, InputError, ProfileError, RuntimeClosed, RuntimeFailed:
            as :meth:`prove`, before anything is enqueued.
        """
        request = self._admit(program, inputs, profile, timeout)
        reply = Reply(1)
        try:
            self._intake.accept_nowait(Submission((request,), reply))
        except anyio.WouldBlock:
            self._sink.emit(Rejected("Overloaded"))
            raise Overloaded(
                f"the intake mailbox is full ({self._config.intake_capacity} submissions "
                "waiting); retry later, or `await rt.prove(...)`, which waits for room"
            ) from None
        except (anyio.ClosedResourceError, anyio.BrokenResourceError):
            raise self._refuse_closed(1) from None
        return ProofHandle(self, reply, request.deadline, request.key)

    # The overloads give each combination of flags its precise list type, so a caller's
    # type checker knows that ``await rt.prove_many(pairs)`` is a ``list[Receipt]``.
    @overload
    async def prove_many(
        self,
        requests: Iterable[tuple[ProgramLike, Inputs]],
        *,
        profile: str | None = ...,
        timeout: float | None = ...,  # noqa: ASYNC109
        return_exceptions: Literal[False] = ...,
        detailed: Literal[False] = ...,
    ) -> list[Receipt]: ...
    @overload
    async def prove_many(
        self,
        requests: Iterable[tuple[ProgramLike, Inputs]],
        *,
        profile: str | None = ...,
        timeout: float | None = ...,  # noqa: ASYNC109
        return_exceptions: Literal[False] = ...,
        detailed: Literal[True],
    ) -> list[ProofOutcome]: ...
    @overload
    async def prove_many(
        self,
        requests: Iterable[tuple[ProgramLike, Inputs]],
        *,
        profile: str | None = ...,
        timeout: float | None = ...,  # noqa: ASYNC109
        return_exceptions: Literal[True],
        detailed: Literal[False] = ...,
    ) -> list[Receipt | ZkActorsError]: ...
    @overload
    async def prove_many(
        self,
        requests: Iterable[tuple[ProgramLike, Inputs]],
        *,
        profile: str | None = ...,
        timeout: float | None = ...,  # noqa: ASYNC109
        return_exceptions: Literal[True],
        detailed: Literal[True],
    ) -> list[ProofOutcome | ZkActorsError]: ...
    @overload
    async def prove_many(
        self,
        requests: Iterable[tuple[ProgramLike, Inputs]],
        *,
        profile: str | None = ...,
        timeout: float | None = ...,  # noqa: ASYNC109
        return_exceptions: bool = ...,
        detailed: bool = ...,
    ) -> list[Receipt] | list[ProofOutcome] | list[Receipt | ProofOutcome | ZkActorsError]: ...
    async def prove_many(
        self,
        requests: Iterable[tuple[ProgramLike, Inputs]],
        *,
        profile: str | None = None,
        timeout: float | None = None,  # noqa: ASYNC109  (part of the request: it orders the queue)
        return_exceptions: bool = False,
        detailed: bool = False,
    ) -> list[Any]:
        """Prove many ``(program, inputs)`` pairs; answers come back in request order.

        Cheaper per request than many ``prove`` calls: requests travel in submissions of
        ``config.batch_size`` and the caller wakes once. Identical pairs are proved once.

        With ``return_exceptions=False`` (the default) a bad pair raises its validation
        error before anything is queued, and after all answers are in, the first failed
        request's error is raised (the others' receipts are cached). With ``True``, the
        list holds each request's receipt or its error, bad pairs included. With
        ``detailed=True`` each receipt comes as its :class:`ProofOutcome` (as
        :meth:`prove_detailed`).

        :raises: as :meth:`prove`.
        """
        items: Sequence[tuple[object, object]] = (
            requests if isinstance(requests, Sequence) else list(requests)
        )
        count = len(items)
        try:
            self._check_open()
            deadline = deadline_after(timeout)
            profile_name = self._config.profile if profile is None else check_profile(profile)
        except ZkActorsError as exc:
            self._sink.emit(Rejected(type(exc).__name__, max(count, 1)))
            raise
        reply = Reply(count)
        submissions = self._batch(items, profile_name, deadline, reply, return_exceptions)
        for submission in submissions:
            await self._submit_or_expire(submission, deadline, batch=True)
        keys = [request.key for submission in submissions for request in submission.requests]
        await self._await_reply(reply, keys, deadline)
        outcomes: list[Any] = [reply.outcome(slot) for slot in range(count)]
        if not return_exceptions:
            for slot in range(count):
                if isinstance(outcomes[slot], BaseException):
                    reply.result(slot)
        if detailed:
            for slot in range(count):
                if not isinstance(outcomes[slot], BaseException):
                    outcomes[slot] = _outcome(reply, slot)
        return outcomes

    def metrics(self) -> MetricsSnapshot:
        """An immutable snapshot of the runtime's figures (valid before, during and after
        the ``async with`` block)."""
        return self._metrics.snapshot()

    # ---- internals of the API ----

    def _admit(
        self, program: object, inputs: object, profile: str | None, timeout: float | None
    ) -> ProofRequest:
        try:
            self._check_open()
            deadline = deadline_after(timeout)
            name = self._config.profile if profile is None else check_profile(profile)
            return self._intake.admit(program, inputs, name, deadline)
        except ZkActorsError as exc:
            self._sink.emit(Rejected(type(exc).__name__))
            raise

    def _batch(
        self,
        items: Sequence[tuple[object, object]],
        profile: str,
        deadline: float | None,
        reply: Reply,
        return_exceptions: bool,
    ) -> list[Submission]:
        """Validate a batch into submissions of consecutive valid requests."""
        submissions: list[Submission] = []
        run: list[ProofRequest] = []
        start = 0
        rejected: dict[str, int] = {}
        size = self._config.batch_size
        for slot, item in enumerate(items):
            try:
                try:
                    program_object, inputs = item
                except (TypeError, ValueError):
                    raise InputError(
                        f"request {slot} must be a (program, inputs) pair, got {item!r:.80}"
                    ) from None
                program = as_program(program_object)
                key = CacheKey(
                    self._intake.program_hash(program), as_inputs(program, inputs), profile
                )
            except ZkActorsError as exc:
                if not return_exceptions:
                    self._sink.emit(Rejected(type(exc).__name__, len(items)))
                    raise
                name = type(exc).__name__
                rejected[name] = rejected.get(name, 0) + 1
                reply.settle(slot, exc)
                if run:
                    submissions.append(Submission(tuple(run), reply, start))
                    run = []
                continue
            if not run:
                start = slot
            run.append(ProofRequest(key, program, deadline))
            if len(run) == size:
                submissions.append(Submission(tuple(run), reply, start))
                run = []
        if run:
            submissions.append(Submission(tuple(run), reply, start))
        for name, count in rejected.items():
            self._sink.emit(Rejected(name, count))
        return submissions

    async def _submit_or_expire(
        self, submission: Submission, deadline: float | None, *, batch: bool = False
    ) -> None:
        """Put ``submission`` in the intake mailbox, waiting for room (until ``deadline``).

        Whether it got in is decided by the cache having received it, not by how the
        send ended (a cancelled send may have delivered). A submission that did not get
        in is answered here: a single request raises the
        error; a batch's requests get it as their answers, and the batch goes on.
        """
        try:
            self._intake.accept_nowait(submission)
            return
        except anyio.WouldBlock:
            pass
        except (anyio.ClosedResourceError, anyio.BrokenResourceError):
            error: ZkActorsError = self._refuse_closed(len(submission.requests), emit=not batch)
            return self._refused(submission, error, batch)
        with anyio.CancelScope(deadline=deadline if deadline is not None else float("inf")):
            try:
                await self._intake.accept(submission)
                return
            except (anyio.ClosedResourceError, anyio.BrokenResourceError):
                error = self._refuse_closed(len(submission.requests), emit=not batch)
                return self._refused(submission, error, batch)
        if delivered(submission):
            # The deadline cancelled the wait after the cache had taken the request: it
            # is accepted, and the caller's deadline answers it (once, as an answer).
            return
        error = DeadlineExceeded("the deadline passed while waiting for room in the intake mailbox")
        if not batch:
            self._sink.emit(Rejected("DeadlineExceeded"))
        return self._refused(submission, error, batch)

    def _refused(self, submission: Submission, error: ZkActorsError, batch: bool) -> None:
        if not batch:
            raise error
        refused = submission.fail_unsettled(error)
        if refused:
            self._sink.emit(Rejected(type(error).__name__, refused))

    def _refuse_closed(self, count: int, *, emit: bool = True) -> ZkActorsError:
        try:
            self._check_open()
            error: ZkActorsError = RuntimeClosed("the runtime stopped accepting requests")
        except ZkActorsError as exc:
            error = exc
        if emit:
            self._sink.emit(Rejected(type(error).__name__, count))
        return error

    async def _await_reply(
        self, reply: Reply, keys: Sequence[CacheKey], deadline: float | None
    ) -> None:
        """Wait for every answer of ``reply`` (until ``deadline``: then ``DeadlineExceeded``).

        A caller that leaves first (its task is cancelled) answers what is left itself,
        with ``ProofCancelled``, so every request still gets exactly one answer. Either
        way, a request answered here waits for its proof no more: the cache is told, and
        cancels a proof that no other request waits for."""
        left = False
        try:
            if deadline is None:
                await reply.wait()
            else:
                left = await self._wait_until(reply, deadline)
        finally:
            # Also on cancellation: nothing here awaits, so it runs to the end.
            if not reply.done():
                self._leave(reply, keys)
            elif left:
                self._left(keys)

    def _leave(self, reply: Reply, keys: Sequence[CacheKey]) -> None:
        """Answer ``reply``'s open slots with ``ProofCancelled`` (its caller is gone) and
        tell the cache."""
        error = ProofCancelled("the caller stopped waiting for this request")
        self._answer_here(reply, error)
        self._left(keys)

    def _answer_here(self, reply: Reply, error: ZkActorsError) -> None:
        """Answer ``reply``'s open slots with ``error`` from the caller's side. An answer
        is counted where its request is accepted, when the cache takes it: here if it
        already has, else by the cache when it does (a request the cache never takes is
        never accepted, and its answer is not counted either)."""
        tally = ReplyTally()
        for slot in reply.unsettled():
            if reply.settle(slot, error) and reply.is_received(slot):
                tally.record(error, time.perf_counter() - reply.started)
        tally.flush(self._sink)

    def _left(self, keys: Sequence[CacheKey]) -> None:
        cache = getattr(self, "_cache", None)
        if cache is not None:
            cache.waiters_left(keys)

    async def _wait_until(self, reply: Reply, deadline: float) -> bool:
        """Wait for ``reply`` until ``deadline``; then answer what is left with
        ``DeadlineExceeded`` and return True (the caller tells the cache, which stops the
        proof unless another request waits for it)."""
        with anyio.CancelScope(deadline=deadline):
            await reply.wait()
        if reply.done():
            return False
        error = DeadlineExceeded(
            "no answer before the deadline; the proof goes on only if another request waits for it"
        )
        self._answer_here(reply, error)
        return True

    # ---- for tests ----

    def _open_channels(self) -> int:
        """Channel endpoints not closed yet (0 after a clean stop); for the tests."""
        endpoints: list[Any] = [*self._channels]
        supervisor = getattr(self, "_supervisor", None)
        if supervisor is not None:
            endpoints += supervisor.channels()
        open_ends = 0
        for endpoint in endpoints:
            stats = endpoint.statistics()
            open_ends += stats.open_send_streams + stats.open_receive_streams > 0
        return open_ends


def _store_front(config: RuntimeConfig, override: ReceiptStore | None) -> StoreFront | None:
    """The store the cache actor asks (None without one); nothing is opened yet."""
    from zkactors.runtime.store import StoreLimits, open_store, parse_store_url

    if override is None and config.store is None:
        return None
    limits = StoreLimits(
        max_entries=config.store_max_entries,
        max_bytes=config.store_max_bytes,
        ttl=config.store_ttl,
        timeout=config.store_timeout,
        threads=config.store_threads,
    )
    store = override
    if store is None:
        assert config.store is not None
        store = open_store(parse_store_url(config.store), limits)
    return StoreFront(store, limits)


def _native_prover() -> ProveFn:
    # With stats: the cost model learns the grinding draw apart from the rest.
    from zkactors.zkvm.prover import prove_with_stats

    return prove_with_stats


def _outcome(reply: Reply, slot: int) -> ProofOutcome:
    """The :class:`ProofOutcome` of a settled receipt slot."""
    receipt = reply.result(slot)
    latency = time.perf_counter() - reply.started
    provenance = reply.provenance(slot)
    # Every receipt is settled with its provenance (the cache on a hit, the completion of
    # a measured proof otherwise).
    assert provenance is not None, "a receipt answered without its provenance"
    return ProofOutcome.of(receipt, provenance, latency)


__all__ = ["ProofHandle", "ZkRuntime"]
