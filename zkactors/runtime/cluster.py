"""Proving on a Dask cluster: the runtime's "run one proof" seam, backed by Dask workers.

With ``RuntimeConfig(dask_scheduler=...)`` the supervisor keeps every rule it has (at
most ``max_parallel`` proofs in flight, shortest job first, deadlines, exactly one reply
per request); only the place a proof runs changes. Each proof becomes one Dask task:
program bytes, inputs and profile go in, receipt bytes and the prover's timings come out.
``"local"`` starts a :class:`distributed.LocalCluster` of worker processes (one per core)
that the runtime owns; an address (``"tcp://host:port"``) uses a cluster someone deployed.

**The client shim.** Dask's client runs its own asyncio loop; the runtime may run on
trio. So this module uses a *synchronous* :class:`distributed.Client` (which drives its
loop in a thread of its own) and calls it only from anyio worker threads: the event
loop of the runtime never blocks, on either backend, and no asyncio code runs in it.

**Trust.** A worker is trusted no more than a receipt store: every receipt it returns is
decoded strictly, checked to name the requested program, inputs and profile, and verified
(``min_security_bits`` = what the runtime demands of its own receipts; for an insecure
profile, its outputs also checked by running the program, as ``zkactors.runtime.trust``
does for a store) before the cache or a caller sees it.

**Faults.** A worker that dies mid-proof is Dask's to handle: the scheduler reschedules
the task on another worker, up to ``distributed.scheduler.allowed-failures`` times, then
gives up (``KilledWorker``). A scheduler that cannot be reached, a lost connection, a
task Dask gave up on or a receipt that did not verify is a *cluster fault*: with
``fallback="local"`` the proof is made in this process instead (counted, logged), and the
cluster is tried again for later proofs (reconnecting at most every
:data:`RECONNECT_SECONDS`); with ``fallback="fail"`` the request gets ``ClusterError``.
Either way each request gets exactly one answer: the attempt on the cluster and the local
one are steps of one call of :meth:`ClusterProver.__call__`.

**Measurements.** The supervisor times the whole call (submission to verified receipt),
so the estimator learns the cluster's effective speed, overhead included, as it learns
the local machine's. Here the call is split into where the time went: submit-to-start
(scheduling, transfer of the inputs, queueing on the worker), the proof on the worker,
and the rest (the receipt's way back and its verification), and counted per worker.
"""

from __future__ import annotations

import functools
import logging
import re
import sys
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

import anyio
import attrs

from zkactors._logging import get_logger
from zkactors.errors import (
    ClusterError,
    ConfigError,
    MissingExtraError,
    ProvingError,
    ZkActorsError,
)
from zkactors.runtime.config import available_cores
from zkactors.zkvm.program import Program
from zkactors.zkvm.receipt import Receipt

log = get_logger(__name__)

#: The most often a cluster that was lost is tried again (seconds between attempts).
RECONNECT_SECONDS = 2.0
#: How long connecting to a scheduler may take before it counts as unreachable.
CONNECT_TIMEOUT = 5.0
#: How long closing the client (and a LocalCluster the runtime owns) may take.
CLOSE_TIMEOUT = 10.0
#: How often a thread waiting for a task's result looks at the runtime and the client.
_POLL_SECONDS = 0.2
#: The event topic a worker reports the start of a proof on (to count retries).
_STARTED_TOPIC = "zkactors-proof-started"
#: Tasks whose starts are remembered at most (for counting retries).
_MAX_STARTS = 10_000
#: Overhead samples kept for the percentiles of :meth:`ClusterProver.figures`.
_SAMPLES = 1000

_ADDRESS = re.compile(r"^(tcp|tls|ws|wss|inproc)://[^\s/]+$")

#: A "run one proof" call: ``run(program, inputs, *, profile, threads, max_cycles)``
#: returns a receipt, or a receipt and stats with ``timings`` (as ``prove_with_stats``).
RunProof = Callable[..., Any]


def check_scheduler(value: object) -> None:
    """``RuntimeConfig.dask_scheduler``: None, ``"local"`` or ``scheme://host:port``.

    :raises ConfigError: for anything else.
    """
    if value is None or value == "local":
        return
    if not isinstance(value, str) or not _ADDRESS.match(value):
        raise ConfigError(
            "dask_scheduler must be None (prove in this process), 'local' (a cluster of "
            "worker processes on this machine) or a scheduler address such as "
            f"'tcp://10.0.0.5:8786', got {value!r}"
        )


# ---- on the worker ----


def prove_on_worker(
    program_bytes: bytes, inputs: Sequence[int], profile: str, max_cycles: int
) -> dict[str, Any]:
    """The Dask task: prove one run on this worker with the worker's threads.

    Typed zkactors errors come back as data (their class name and message), not as
    pickled exceptions: some carry keyword-only fields that do not survive pickling, and
    the runtime reports them as its own errors anyway.
    """
    from distributed import get_worker

    from zkactors.zkvm.prover import prove_with_stats

    started = time.time()
    worker = get_worker()
    # Tell the runtime a proof started here (it counts a second start as a retry).
    worker.log_event(_STARTED_TOPIC, {"key": worker.get_current_task(), "worker": worker.address})
    # Dask runs up to nthreads tasks at once on a worker; the threads are shared out so
    # proofs side by side do not oversubscribe its cores.
    running = max(1, worker.state.executing_count)
    threads = max(1, worker.state.nthreads // running)
    result: dict[str, Any] = {"worker": worker.address, "threads": threads, "started": started}
    try:
        receipt, stats = prove_with_stats(
            Program.from_bytes(program_bytes),
            inputs,
            profile=profile,
            threads=threads,
            max_cycles=max_cycles,
        )
    except ZkActorsError as exc:
        result.update(error=type(exc).__name__, message=str(exc))
    else:
        result.update(receipt=receipt.to_bytes(), timings=stats.timings, cycles=stats.cycles)
    result["finished"] = time.time()
    return result


def _warm_up() -> None:
    import zkactors.zkvm.prover  # noqa: F401


# ---- in the runtime ----


@attrs.frozen
class RemoteStats:
    """What a proof on the cluster cost (the shape of ``ProveStats`` the supervisor
    reads: ``timings`` with ``grinding``), and where it ran."""

    timings: dict[str, float]
    worker: str
    threads: int


class _Lost(Exception):
    """A cluster fault (internal): the proof is made locally or fails with
    ``ClusterError``."""


#: The loggers ``import distributed`` gives a stderr handler of its own (and cuts off
#: from the application's handlers with ``propagate = False``).
_DASK_LOGGERS = (
    "distributed",
    "distributed.client",
    "distributed.gc",
    "bokeh",
    "tornado",
    "tornado.application",
)


def _quiet_dask_logging() -> None:
    """Make Dask as quiet as the library: remove the stderr handler ``import distributed``
    installed (recognised by its own format string, so an application's handlers stay)
    and let the records propagate, so they are shown only where the application
    configured logging; a NullHandler keeps Python's last-resort handler from printing
    them meanwhile."""
    import dask

    dask_format = dask.config.get("distributed.admin.log-format", None)
    for name in _DASK_LOGGERS:
        logger = logging.getLogger(name)
        ours = [
            handler
            for handler in logger.handlers
            if type(handler) is logging.StreamHandler
            and handler.stream is sys.stderr
            and handler.formatter is not None
            and handler.formatter._fmt == dask_format
        ]
        if not ours:
            continue
        for handler in ours:
            logger.removeHandler(handler)
        logger.addHandler(logging.NullHandler())
        logger.propagate = True
    distributed = logging.getLogger("distributed")
    if distributed.level < logging.WARNING:  # Dask's default is INFO: chatty in app logs
        distributed.setLevel(logging.WARNING)


_quieted = False


def _import_distributed() -> Any:
    global _quieted
    try:
        import distributed
    except ImportError as exc:
        raise MissingExtraError(
            "RuntimeConfig(dask_scheduler=...) needs Dask's distributed package "
            f"({exc}): pip install 'zkactors[dask]'"
        ) from None
    if not _quieted:
        _quiet_dask_logging()
        _quieted = True
    return distributed


def _percentile(values: Sequence[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class ClusterProver:
    """The runtime's proof runner when ``config.dask_scheduler`` is set (see the module
    docstring). ``prove`` is the runtime's prover function, which the fallback calls in
    this process's threads (at most ``local_parallel`` at once).

    Its counters are touched only from the runtime's event loop, except ``_starts``
    (written by the client's thread, under a lock).
    """

    def __init__(
        self,
        scheduler: str,
        *,
        fallback: str,
        prove: RunProof,
        local_parallel: int,
        max_parallel: int,
        connect_timeout: float = CONNECT_TIMEOUT,
        n_workers: int | None = None,
    ) -> None:
        self.scheduler = scheduler
        self.fallback = fallback
        self._prove = prove
        # The fallback proves in this process's threads, as the runtime without a cluster.
        self._local_limiter = anyio.CapacityLimiter(local_parallel)
        self._workers = 0
        self._connect_timeout = connect_timeout
        self._n_workers = n_workers
        self._client: Any = None
        self._cluster: Any = None
        self._address: str | None = None if scheduler == "local" else scheduler
        self._next_attempt = 0.0
        self._reconnecting: threading.Thread | None = None
        self._fresh: Any = None  # a client a reconnect made, for the next proof to take
        self._closed = False
        self._closing: list[threading.Thread] = []
        # Threads that wait for results: one per proof in flight, and one to connect.
        self._waiters = anyio.CapacityLimiter(max_parallel + 1)
        self._lock = threading.Lock()
        self._starts: dict[str, int] = {}
        # Figures (event loop only).
        self.proofs = 0
        self.started = 0  # proofs workers said they started (retries included)
        self.by_worker: dict[str, int] = {}
        self.retries = 0
        self.fallbacks = 0
        self.faults: dict[str, int] = {}
        self.rejected = 0
        self.remote_errors = 0
        self._submit_to_start: deque[float] = deque(maxlen=_SAMPLES)
        self._transfer: deque[float] = deque(maxlen=_SAMPLES)
        self._worker_seconds = 0.0
        self._overhead_seconds = 0.0

    # ---- lifecycle ----

    @property
    def connected(self) -> bool:
        client = self._client
        return client is not None and client.status == "running"

    @property
    def address(self) -> str | None:
        """The scheduler's address (a LocalCluster's, once started)."""
        return self._address

    async def start(self) -> None:
        """Start the LocalCluster (for ``"local"``) and connect to the scheduler.

        :raises ClusterError: the scheduler is unreachable and ``fallback == "fail"``.
        :raises MissingExtraError: Dask's distributed package is not installed.
        """
        _import_distributed()
        try:
            self._client = await anyio.to_thread.run_sync(
                self._connect_blocking, limiter=self._waiters
            )
        except _Lost as exc:
            if self.fallback == "fail":
                raise ClusterError(str(exc)) from exc.__cause__
            self.faults["unreachable"] = self.faults.get("unreachable", 0) + 1
            log.warning("cluster.unreachable", scheduler=self.scheduler, error=str(exc))
            self._next_attempt = time.monotonic() + RECONNECT_SECONDS
        else:
            log.info("cluster.connected", scheduler=self._address)

    def _start_reconnect(self) -> None:
        """Try the scheduler again in a thread of its own, at most every
        RECONNECT_SECONDS and one attempt at a time: no proof waits for it (they are made
        locally meanwhile); the next proof after it succeeded uses the cluster again."""
        if self._closed or self._reconnecting is not None:
            return
        if time.monotonic() < self._next_attempt:
            return
        self._next_attempt = time.monotonic() + RECONNECT_SECONDS
        thread = threading.Thread(target=self._reconnect, name="zkactors-dask-reconnect")
        self._reconnecting = thread
        thread.start()

    def _reconnect(self) -> None:
        try:
            client = self._connect_blocking()
        except _Lost as exc:
            log.debug("cluster.reconnect_failed", error=str(exc))
            client = None
        with self._lock:
            if client is not None and not self._closed:
                self._fresh, client = client, None
        # A stopping runtime will not take it: close it here.
        _close_quietly(client)

    def _connect_blocking(self) -> Any:
        distributed = _import_distributed()
        try:
            if self.scheduler == "local" and self._cluster is None:
                # Processes, not threads: one proof's crash or memory cannot take the
                # runtime down, which is the point of "local". No dashboard: it would
                # bind a port nobody asked for.
                cores = self._n_workers or available_cores()
                self._cluster = distributed.LocalCluster(
                    n_workers=cores,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=None,
                    silence_logs=logging.CRITICAL,
                    # The scheduler serves HTTP (health checks) even without a dashboard,
                    # by default on 8787: any free port instead, so two runtimes on one
                    # machine neither collide nor warn.
                    scheduler_kwargs={"dashboard": False, "dashboard_address": ":0"},
                )
                self._address = self._cluster.scheduler_address
            client = distributed.Client(
                self._address, timeout=self._connect_timeout, set_as_default=False
            )
        except (OSError, TimeoutError) as exc:
            raise _Lost(
                f"the Dask scheduler at {self._address or self.scheduler} is unreachable "
                f"({type(exc).__name__}: {exc})"
            ) from exc
        client.subscribe_topic(_STARTED_TOPIC, self._on_started)
        try:
            # Import the prover on every worker now, so the first proofs' times (which the
            # estimator learns from) are not a worker's import time.
            client.run(_warm_up)
        except Exception as exc:  # an optimisation only
            log.debug("cluster.warm_up_failed", error=repr(exc))
        try:
            self._workers = len(client.scheduler_info(n_workers=-1).get("workers", {}))
        except Exception:  # a figure only
            self._workers = 0
        return client

    def _on_started(self, event: Any) -> None:
        # On the client's own thread: the message says which task started where.
        _, message = event
        key = str(message.get("key"))
        with self._lock:
            if len(self._starts) >= _MAX_STARTS:
                # Starts of tasks whose result never came back (cancelled, lost): bounded.
                self._starts.clear()
            self._starts[key] = self._starts.get(key, 0) + 1
            self.started += 1

    async def close(self) -> None:
        """Close the client and the LocalCluster the runtime started (bounded)."""
        with self._lock:
            self._closed = True
            fresh, self._fresh = self._fresh, None
        client, cluster = self._client, self._cluster
        self._client = self._cluster = None
        reconnecting = self._reconnecting

        def close() -> None:
            if reconnecting is not None:  # bounded by the connect timeout
                reconnecting.join(self._connect_timeout + 1.0)
            _close_quietly(fresh, client, cluster)
            for closing in self._closing:
                closing.join(CLOSE_TIMEOUT)

        with anyio.move_on_after(2 * CLOSE_TIMEOUT + self._connect_timeout, shield=True):
            await anyio.to_thread.run_sync(close, abandon_on_cancel=True)

    # ---- one proof ----

    async def __call__(
        self,
        program: Program,
        inputs: Sequence[int],
        *,
        profile: str,
        threads: int,
        max_cycles: int,
        **extra: Any,
    ) -> Any:
        """Prove on the cluster; on a cluster fault, locally or ``ClusterError`` (see the
        module docstring). Typed errors of the prover itself are raised as they are.

        ``extra`` keywords go to the local prove function only. A ``cancel`` token
        (anything with a ``cancelled`` property) is watched while the task runs: once
        cancelled, the task is cancelled on the cluster and the local prove function is
        called with the cancelled token, so the request gets the prover's own answer to
        a cancelled proof (at once: it checks the token before it starts).
        """
        token = extra.get("cancel")
        call = functools.partial(
            self._prove,
            program,
            inputs,
            profile=profile,
            threads=threads,
            max_cycles=max_cycles,
            **extra,
        )
        try:
            return await self._remote(program, inputs, profile, max_cycles, token)
        except _Lost as exc:
            reason = str(exc)
            self._drop_client_if_down()
        if not getattr(token, "cancelled", False):
            if self.fallback == "fail":
                raise ClusterError(f"the proof could not be made on the Dask cluster: {reason}")
            self.fallbacks += 1
            log.warning(
                "cluster.fallback", scheduler=self._address or self.scheduler, reason=reason
            )
        # Not abandoned on cancel, as the runtime's own prover threads.
        return await anyio.to_thread.run_sync(call, limiter=self._local_limiter)

    def _client_now(self) -> Any:
        """A connected client, or ``_Lost`` (after asking for a reconnect)."""
        if self._reconnecting is not None and not self._reconnecting.is_alive():
            self._reconnecting = None
        with self._lock:
            fresh, self._fresh = self._fresh, None
        if fresh is not None:
            # Reconnects start only once the old client was dropped as down.
            self._drop_client_if_down()
            self._client = fresh
            log.info("cluster.reconnected", scheduler=self._address)
        if self.connected:
            return self._client
        if self._closed:
            raise _Lost("the runtime is stopping")
        self._drop_client_if_down()
        self._start_reconnect()
        raise _Lost(f"the Dask scheduler at {self._address or self.scheduler} is unreachable")

    def _drop_client_if_down(self) -> None:
        client = self._client
        if client is not None and client.status != "running":
            self._client = None
            self.faults["disconnected"] = self.faults.get("disconnected", 0) + 1
            # Closing a client whose scheduler is gone may wait for its timeouts: not on
            # the event loop. close() joins these threads.
            closing = threading.Thread(target=_close_quietly, args=(client,), daemon=True)
            self._closing.append(closing)
            closing.start()

    async def _remote(
        self,
        program: Program,
        inputs: Sequence[int],
        profile: str,
        max_cycles: int,
        token: Any = None,
    ) -> tuple[Receipt, RemoteStats]:
        client = self._client_now()
        key = f"zkactors-prove-{uuid.uuid4().hex}"
        cancel = threading.Event()
        submitted = time.time()
        wait = functools.partial(
            self._submit_and_wait,
            client,
            key,
            cancel,
            token,
            program.to_bytes(),
            tuple(inputs),
            profile,
            max_cycles,
        )
        try:
            result = await anyio.to_thread.run_sync(wait, abandon_on_cancel=True)
        except BaseException:
            # Cancelled (the runtime stops): the waiting thread ends within a poll and
            # cancels the task on the cluster.
            cancel.set()
            raise
        received = time.time()
        with self._lock:
            starts = self._starts.pop(key, 1)
        self.retries += max(0, starts - 1)
        worker = str(result.get("worker"))
        if "error" in result:
            # The prover's own typed failure (same program, same inputs: it would fail here
            # too). Counted, and reported as this runtime's ProvingError.
            self.remote_errors += 1
            raise ProvingError(f"the prover failed on worker {worker}: {result['message']}")
        receipt = await anyio.to_thread.run_sync(
            functools.partial(_checked_receipt, result["receipt"], program, inputs, profile)
        )
        if isinstance(receipt, str):
            self.rejected += 1
            raise _Lost(f"worker {worker} returned a receipt that was refused: {receipt}")
        self._account(worker, submitted, received, result)
        return receipt, RemoteStats(dict(result["timings"]), worker, int(result["threads"]))

    def _submit_and_wait(
        self,
        client: Any,
        key: str,
        cancel: threading.Event,
        token: Any,
        program_bytes: bytes,
        inputs: tuple[int, ...],
        profile: str,
        max_cycles: int,
    ) -> dict[str, Any]:
        """In a worker thread: submit the task and wait for it, polling so a stopping
        runtime (``cancel``), a cancelled proof (``token``) or a lost client ends the
        wait."""
        distributed = _import_distributed()
        try:
            future = client.submit(
                prove_on_worker,
                program_bytes,
                inputs,
                profile,
                max_cycles,
                key=key,
                pure=False,
            )
        except Exception as exc:
            raise _Lost(f"submitting to the Dask scheduler failed ({exc!r})") from exc
        # Wait on a plain event set by the future's callback, and ask for the result only
        # once it is done: Future.result(timeout=...) in a loop can lose a race inside
        # Dask's sync helper and fail with an unrelated error.
        done = threading.Event()
        try:
            future.add_done_callback(lambda _: done.set())
            while not done.wait(_POLL_SECONDS):
                if cancel.is_set():
                    future.cancel()
                    raise _Lost("the runtime stopped")
                if getattr(token, "cancelled", False):
                    future.cancel()
                    raise _Lost("the proof was cancelled")
                if client.status not in ("running", "connecting"):
                    raise _Lost(f"the connection to the scheduler closed ({client.status})")
            return dict(future.result())
        except distributed.KilledWorker as exc:
            raise _Lost(f"the workers running it kept dying ({exc})") from exc
        except _Lost:
            raise
        except (distributed.client.FutureCancelledError, OSError, RuntimeError) as exc:
            raise _Lost(f"the task was lost ({type(exc).__name__}: {exc})") from exc
        except Exception as exc:  # an error of the task itself that is not a typed one
            raise _Lost(f"the task failed on the cluster ({type(exc).__name__}: {exc})") from exc
        finally:
            future.release()

    def _account(
        self, worker: str, submitted: float, received: float, result: dict[str, Any]
    ) -> None:
        self.proofs += 1
        self.by_worker[worker] = self.by_worker.get(worker, 0) + 1
        on_worker = max(0.0, float(result["finished"]) - float(result["started"]))
        total = max(0.0, received - submitted)
        # Clocks of two machines: clamped, so skew cannot make a figure negative.
        to_start = min(total, max(0.0, float(result["started"]) - submitted))
        self._submit_to_start.append(to_start)
        self._transfer.append(max(0.0, total - on_worker - to_start))
        self._worker_seconds += on_worker
        self._overhead_seconds += max(0.0, total - on_worker)

    def figures(self) -> dict[str, Any]:
        """The cluster's figures for ``rt.metrics().cluster`` (no call to the cluster:
        it runs on the event loop)."""
        return {
            "scheduler": self._address or self.scheduler,
            "connected": self.connected,
            "workers_at_connect": self._workers,
            "proofs": self.proofs,
            "started": self.started,
            "proofs_by_worker": dict(self.by_worker),
            "retries": self.retries,
            "fallbacks": self.fallbacks,
            "faults": dict(self.faults),
            "rejected_receipts": self.rejected,
            "prover_errors": self.remote_errors,
            "worker_seconds": self._worker_seconds,
            "overhead_seconds": self._overhead_seconds,
            "submit_to_start_p50": _percentile(self._submit_to_start, 0.5),
            "submit_to_start_p95": _percentile(self._submit_to_start, 0.95),
            "transfer_p50": _percentile(self._transfer, 0.5),
            "transfer_p95": _percentile(self._transfer, 0.95),
        }


def _checked_receipt(
    data: object, program: Program, inputs: Sequence[int], profile: str
) -> Receipt | str:
    """The worker's receipt if it is well formed and answers the request as the runtime
    checks any receipt from an untrusted place (``zkactors.runtime.trust``: the
    requested statement, verified at the runtime's own minimum, and for an insecure
    profile its outputs checked by running the program); otherwise why not."""
    from zkactors.runtime.trust import UntrustedReceiptRejected, check_returned_receipt

    if not isinstance(data, bytes):
        return f"not bytes but {type(data).__name__}"
    try:
        receipt = Receipt.from_bytes(data)
    except ZkActorsError as exc:
        return str(exc)
    try:
        check_returned_receipt(receipt, program, tuple(inputs), profile)
    except UntrustedReceiptRejected as exc:
        return str(exc)
    return receipt


def _close_quietly(*closeable: Any) -> None:
    for thing in closeable:
        if thing is None:
            continue
        try:
            thing.close()
        except Exception as exc:  # closing is best effort: the runtime is stopping anyway
            log.debug("cluster.close_failed", error=repr(exc))


__all__ = ["ClusterProver", "RemoteStats", "check_scheduler", "prove_on_worker"]
