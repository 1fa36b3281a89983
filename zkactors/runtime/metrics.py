"""The metrics actor: every other actor reports events here, nobody waits on it.

Actors emit through a :class:`MetricsSink`, which uses ``send_nowait`` and counts what it
could not deliver: a slow metrics actor costs accuracy (the drop count says how much),
never throughput. Actors aggregate before they emit (one event per drained batch, not
per request), which keeps the mailbox small at 100 K requests/s.

``rt.metrics()`` returns a :class:`MetricsSnapshot`, an immutable copy. Building it first
folds in every event already sent, so a snapshot taken after a reply counts that reply
(each actor emits before it yields to the event loop).
"""

from __future__ import annotations

import bisect
import contextlib
import math
import time
from collections import deque
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

import anyio
import attrs
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from zkactors._logging import get_logger

log = get_logger(__name__)

#: Latencies kept for the percentiles (the most recent ones).
LATENCY_SAMPLES = 10_000
#: Recent proofs the estimator's error figures (median, p90) are computed over.
ESTIMATE_SAMPLES = 200
#: Recent proofs the queue-wait percentiles are computed over.
QUEUE_SAMPLES = 1_000
#: Upper bounds (seconds) of the proving-time histogram's buckets (+Inf is implied).
PROOF_SECONDS_BUCKETS = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)
#: Upper bounds (seconds) of the request-latency and queue-wait histograms' buckets.
LATENCY_SECONDS_BUCKETS = (
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
)
#: Upper bounds of the estimator's relative-error histogram's buckets.
ESTIMATE_ERROR_BUCKETS = (0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0)
#: Seconds of history behind the throughput figure.
THROUGHPUT_WINDOW = 10.0
#: Seconds between two visits of the metrics actor to its mailbox.
BATCH_INTERVAL = 0.01


# ---- events ----


@attrs.frozen
class Rejected:
    """Requests refused at the door (invalid, overloaded, closed): the caller got the
    error directly."""

    error_type: str
    count: int = 1


@attrs.frozen
class Replies:
    """Requests answered: receipts, failures by error type, latencies in seconds."""

    receipts: int
    failures: tuple[tuple[str, int], ...]
    latencies: tuple[float, ...]


@attrs.frozen
class CacheReport:
    """What the cache did since its last report (one event per batch it handled, so a
    hit costs one event at most): lookups, the requests it answered, and its state.

    ``accepted``: requests taken from the intake mailbox (where acceptance is counted);
    ``unserved``: accepted requests answered without a lookup (the cache crashed while
    holding them, or the runtime stopped first). Lookups: ``hits`` (answered from the
    cache), ``misses`` (a new proof), ``coalesced`` (joined a proof already running),
    ``would_be_hits`` (misses that a cache of this capacity would have answered). Peaks
    since the last report: ``depth`` of the intake mailbox and ``completions_depth`` of
    the completions mailbox (each just before a receive), ``pending_peak`` distinct
    proofs past the cache. Answers as in :class:`Replies`. State: on/off, hit rates over
    the window of ``window`` lookups, size, evictions, switches.
    """

    accepted: int
    unserved: int
    hits: int
    misses: int
    coalesced: int
    would_be_hits: int
    depth: int
    completions_depth: int
    pending_peak: int
    receipts: int
    failures: tuple[tuple[str, int], ...]
    latencies: tuple[float, ...]
    enabled: bool
    hit_rate: float
    would_be_hit_rate: float
    window: int
    entries: int
    bytes: int
    evictions: int
    switches: int


@attrs.frozen
class StoreReport:
    """What the receipt store did since the cache's last report: lookups answered
    (``hits``), absent (``misses``), failed (``errors``: unreachable, timed out, ...),
    ``rejected`` (an entry that did not verify: deleted and proved anew), ``skipped``
    (not asked: backing off after a failure); ``writes`` done, ``write_errors``,
    ``writes_dropped`` (not attempted: backing off, or the write queue full); the
    ``latencies`` (seconds) of answered lookups, verification included."""

    hits: int
    misses: int
    errors: int
    rejected: int
    skipped: int
    writes: int
    write_errors: int
    writes_dropped: int
    latencies: tuple[float, ...]


@attrs.frozen
class ProofMeasured:
    """One proof attempt: estimate (for the threads it got) vs measured seconds
    (``seconds`` is None when the prover crashed); ``error_type`` is None for a receipt;
    ``queued_seconds``: how long it waited for a prover; ``air``: the AIR it is under."""

    profile: str
    trace_length: int
    threads: int
    estimate: float
    seconds: float | None
    error_type: str | None
    queued_seconds: float = 0.0
    air: int = 1


@attrs.frozen
class AdmissionRefused:
    """A job refused before it queued: ``reason`` is ``"deadline"`` (it could not finish
    in time) or ``"memory"`` (it needs more than the budget)."""

    reason: str
    count: int = 1


@attrs.frozen
class QueueDepth:
    """A depth an actor observed in one of its queues (for the peak figures)."""

    queue: str
    depth: int


@attrs.frozen
class ActorRestarted:
    actor: str
    error_type: str


Event = (
    Rejected
    | CacheReport
    | StoreReport
    | Replies
    | ProofMeasured
    | AdmissionRefused
    | QueueDepth
    | ActorRestarted
)


def depth_before_receive(stream: MemoryObjectReceiveStream[Any]) -> int:
    """A mailbox's depth just before the item just received was taken: its peak since
    the previous receive (a mailbox only grows between receives). A receive that let a
    waiting sender in leaves the buffer as full as it was, hence the cap."""
    stats = stream.statistics()
    return int(min(stats.current_buffer_used + 1, stats.max_buffer_size))


class MetricsSink:
    """The sending end every actor shares: never blocks, counts what it drops."""

    __slots__ = ("_send", "dropped")

    def __init__(self, send: MemoryObjectSendStream[Any]) -> None:
        self._send = send
        self.dropped = 0

    def emit(self, event: Event) -> None:
        try:
            self._send.send_nowait(event)
        except anyio.WouldBlock:
            self.dropped += 1
        except (anyio.ClosedResourceError, anyio.BrokenResourceError):
            pass  # the runtime has stopped: its figures are final

    def close(self) -> None:
        self._send.close()


class ReplyTally:
    """An actor-local accumulator of answered requests, emitted as one ``Replies``."""

    __slots__ = ("failures", "latencies", "receipts")

    def __init__(self) -> None:
        self.receipts = 0
        self.failures: dict[str, int] = {}
        self.latencies: list[float] = []

    def record(self, outcome: object, latency: float) -> None:
        if isinstance(outcome, BaseException):
            name = type(outcome).__name__
            self.failures[name] = self.failures.get(name, 0) + 1
        else:
            self.receipts += 1
        self.latencies.append(latency)

    def flush(self, sink: MetricsSink) -> None:
        if self.receipts or self.failures:
            sink.emit(Replies(self.receipts, tuple(self.failures.items()), tuple(self.latencies)))
            self.clear()

    def clear(self) -> None:
        self.receipts = 0
        self.failures = {}
        self.latencies = []


# ---- the snapshot ----


def _frozen_mapping(value: Mapping[Any, Any]) -> Mapping[Any, Any]:
    return MappingProxyType(dict(value))


@attrs.frozen(hash=False)
class MetricsSnapshot:
    """The runtime's figures at one moment; immutable.

    Counters are totals since the runtime started. ``requests = accepted + rejected`` and
    ``in_flight = requests - receipts - sum(failures)`` are definitions. Identities
    that can fail, because each side is counted by a different party (checked after
    every step of the stateful test, and after every way of leaving the runtime), as
    long as ``events_dropped == 0``:

    - ``accepted == hits + misses + coalesced + unserved``: every request the cache
      received was looked up once, or answered without a lookup;
    - ``receipts + sum(failures) == rejected + latency_count``: every answer was
      counted once, at the door or where its reply was settled;
    - ``in_flight == unanswered``: the events' count of open requests agrees with the
      reply cells' own (no answer lost or counted twice);
    - once the ``async with`` block has been left, by any path (drain, cancel, a
      cancelled caller, a runtime failure): ``in_flight == unanswered == 0``.

    Requests: ``requests`` submitted; ``accepted`` (counted where the cache takes the
    request from its mailbox, so a caller cancelled while its request was being
    delivered cannot make it count wrongly) or ``rejected`` at the door (invalid,
    ``Overloaded``, closed, no room before the deadline); accepted ones were looked up as
    ``hits`` (answered from the cache), ``misses`` (started a proof) or ``coalesced``
    (joined one running), or were ``unserved``: answered without a lookup (the cache
    crashed holding them, or the runtime stopped first). ``would_be_hits``: misses a
    cache of this capacity would have answered (it was off, or had just come back on
    empty). Answers: ``receipts``, ``failures`` by error type (rejections included),
    ``in_flight`` still unanswered; ``unanswered``: the same, counted on the reply cells
    (None when the runtime was never started).

    Proofs: ``proofs`` made, ``proof_failures`` (typed errors and crashes of provers),
    ``proofs_cancelled`` (stopped, queued or running, because no request waited for them
    any more; not failures),
    ``proving_seconds`` of wall time in provers; ``estimated_seconds`` and
    ``measured_seconds`` sum the estimate and the measurement of each successful proof;
    ``estimate_error`` and ``estimate_error_p90`` are the median and the 90th percentile
    of ``|estimate - measured| / measured`` over the last ``estimate_error_samples``
    (at most ``ESTIMATE_SAMPLES``) proofs (None before the first), the estimate being the
    one for the thread count the proof got. ``proofs_by_threads``: proofs made, by
    intra-proof thread count; ``proofs_by_air``: proofs made, by the AIR they are under
    (1: register AIR, receipt format 2; 2: machine AIR, format 3; both present from the
    start; it adds up to ``proofs``); ``proof_seconds_buckets``: proof attempts per bucket of
    ``PROOF_SECONDS_BUCKETS`` (the last counts the rest); ``queued_p50`` /
    ``queued_p95``: seconds proofs waited for a prover. ``admission_refusals``: jobs
    refused before queueing, by reason (``deadline``, ``memory``; they are also counted
    in ``failures``).

    Parallelism and resources: ``parallelism`` (the config's mode), ``cores``;
    ``proving_wall_seconds``: wall time with at least one proof running, and
    ``proving_cpu_utilization`` the process's CPU time in those intervals over that time
    and the cores (None before the first proof; 1.0 = every core busy);
    ``memory_reserved_bytes`` (estimated peak memory of the proofs running now),
    ``memory_peak_reserved_bytes`` (the most at once) and ``memory_budget_bytes``.

    Cache: ``cache_enabled``; ``cache_hit_rate`` and ``cache_would_be_hit_rate`` over the
    last ``cache_window`` lookups; ``cache_entries``, ``cache_bytes``, ``cache_evictions``,
    ``cache_switches`` (on/off changes).

    Store (zero without one; see :class:`StoreReport`): ``store_hits`` (misses of the
    cache answered from the store; they are counted in ``misses`` too), ``store_misses``,
    ``store_errors`` (failed lookups, writes and deletes), ``store_rejected`` (entries
    that failed verification), ``store_skipped`` (lookups not attempted while backing
    off), ``store_writes``, ``store_writes_dropped``; ``store_latency_p50`` /
    ``store_latency_p95`` (seconds per answered lookup, verification included) over the
    last ``LATENCY_SAMPLES``.

    Queues: ``queue_depths`` now and ``peak_queue_depths`` recorded by the actors when
    they happened (a mailbox just before a receive, a count right after it grew), by
    queue: ``intake``
    (submissions waiting for the cache), ``estimator``, ``supervisor`` (mailboxes),
    ``completions``, ``metrics``; ``proofs_pending`` (distinct proofs past the cache),
    ``proofs_queued`` (waiting for a prover), ``proofs_running``.

    Latencies (seconds, from submission to answer) are percentiles of the last
    ``LATENCY_SAMPLES`` answers; ``throughput`` is answers per second over the last
    ``THROUGHPUT_WINDOW`` seconds. ``restarts`` counts crashes survived, by actor;
    ``events_dropped`` metric events lost to a full metrics mailbox (figures are then
    low by that much); ``cpu_utilization`` the process's CPU time over wall time and
    cores since start; ``latency_sum`` / ``latency_count``: all answered latencies.

    Cumulative histograms since start (for exporters; bucket counts per bucket, the last
    one counting the rest): ``latency_buckets`` of answered latencies and
    ``queued_buckets`` of proofs' queue waits, both over ``LATENCY_SECONDS_BUCKETS``;
    ``estimate_error_buckets`` over ``ESTIMATE_ERROR_BUCKETS``; ``store_latency_buckets``
    of store lookups over ``LATENCY_SECONDS_BUCKETS``. ``proving_cpu_seconds``:
    process CPU time while proofs ran (with ``proving_wall_seconds``, what
    ``proving_cpu_utilization`` is computed from). ``restart_actors``: the supervised
    actors' names.
    """

    uptime: float
    requests: int
    accepted: int
    rejected: int
    hits: int
    misses: int
    coalesced: int
    would_be_hits: int
    receipts: int
    failures: Mapping[str, int] = attrs.field(converter=_frozen_mapping)
    in_flight: int
    proofs: int
    proof_failures: int
    proving_seconds: float
    cache_enabled: bool
    cache_hit_rate: float
    cache_would_be_hit_rate: float
    cache_window: int
    cache_entries: int
    cache_bytes: int
    cache_evictions: int
    cache_switches: int
    queue_depths: Mapping[str, int] = attrs.field(converter=_frozen_mapping)
    peak_queue_depths: Mapping[str, int] = attrs.field(converter=_frozen_mapping)
    latency_p50: float | None
    latency_p95: float | None
    latency_p99: float | None
    throughput: float
    estimate_error: float | None
    estimated_seconds: float
    measured_seconds: float
    restarts: Mapping[str, int] = attrs.field(converter=_frozen_mapping)
    events_dropped: int
    cpu_utilization: float
    estimate_error_p90: float | None = None
    estimate_error_samples: int = 0
    estimate_error_sum: float = 0.0
    estimate_error_count: int = 0
    admission_refusals: Mapping[str, int] = attrs.field(factory=dict, converter=_frozen_mapping)
    proofs_by_threads: Mapping[int, int] = attrs.field(factory=dict, converter=_frozen_mapping)
    proofs_by_air: Mapping[int, int] = attrs.field(factory=dict, converter=_frozen_mapping)
    proof_seconds_buckets: tuple[int, ...] = ()
    queued_p50: float | None = None
    queued_p95: float | None = None
    queued_sum: float = 0.0
    parallelism: str = "adaptive"
    cores: int = 1
    proving_wall_seconds: float = 0.0
    proving_cpu_utilization: float | None = None
    memory_reserved_bytes: int = 0
    memory_peak_reserved_bytes: int = 0
    memory_budget_bytes: int = 0
    latency_sum: float = 0.0
    latency_count: int = 0
    store_hits: int = 0
    store_misses: int = 0
    store_errors: int = 0
    store_rejected: int = 0
    store_skipped: int = 0
    store_writes: int = 0
    store_writes_dropped: int = 0
    store_latency_p50: float | None = None
    store_latency_p95: float | None = None
    store_latency_sum: float = 0.0
    store_latency_count: int = 0
    unserved: int = 0
    unanswered: int | None = None
    latency_buckets: tuple[int, ...] = ()
    queued_buckets: tuple[int, ...] = ()
    estimate_error_buckets: tuple[int, ...] = ()
    proving_cpu_seconds: float = 0.0
    restart_actors: tuple[str, ...] = ()
    store_latency_buckets: tuple[int, ...] = ()
    proofs_cancelled: int = 0
    #: With ``RuntimeConfig(dask_scheduler=...)``: the cluster's figures (proofs per
    #: worker, submit-to-start and transfer seconds, retries, fallbacks; see
    #: ``zkactors.runtime.cluster.ClusterProver.figures``); empty without a cluster.
    cluster: Mapping[str, Any] = attrs.field(factory=dict, converter=_frozen_mapping)

    @property
    def hit_rate(self) -> float:
        """Hits over all lookups since start (the window figure is ``cache_hit_rate``)."""
        lookups = self.hits + self.misses
        return self.hits / lookups if lookups else 0.0

    def to_prometheus(self, prefix: str = "zkactors") -> str:
        """The snapshot in the Prometheus text exposition format, written by
        ``prometheus_client`` from :class:`~.prometheus.RuntimeCollector`'s families
        (see :mod:`zkactors.runtime.prometheus` for the names and conventions).

        :raises MissingExtraError: prometheus_client is not installed
            (``pip install 'zkactors[prometheus]'``).
        """
        from zkactors.runtime.prometheus import exposition

        return exposition(self, prefix)


def _nothing() -> tuple[float, float]:
    return 0.0, 0.0


def _cores() -> int:
    from zkactors.runtime.config import available_cores

    return available_cores()


def _percentile(ordered: list[float], q: float) -> float | None:
    if not ordered:
        return None
    index = min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))
    return ordered[index]


# ---- the actor ----


class MetricsActor:
    """Owns every counter; reads events from its mailbox until all senders are closed."""

    name = "metrics"

    def __init__(
        self,
        mailbox: MemoryObjectReceiveStream[Event],
        sink: MetricsSink,
        queues: Mapping[str, Callable[[], int]],
        *,
        parallelism: str = "adaptive",
        memory_budget_bytes: int = 0,
    ) -> None:
        self._mailbox = mailbox
        self._sink = sink
        self._queues = dict(queues)
        #: Readings taken from other actors at snapshot time (set by the runtime):
        #: ``proving_cpu`` -> (wall, cpu) seconds while proving; ``memory`` -> (reserved,
        #: peak reserved) bytes.
        self.probes: dict[str, Callable[[], tuple[float, float]]] = {}
        #: The cluster's figures, when the runtime proves on one (set by the runtime).
        self.cluster_probe: Callable[[], Mapping[str, Any]] | None = None
        self._parallelism = parallelism
        self._memory_budget = memory_budget_bytes
        self._cores = _cores()
        self._started = time.perf_counter()
        self._cpu_started = time.process_time()
        self._accepted = 0
        self._rejected = 0
        self._hits = 0
        self._misses = 0
        self._coalesced = 0
        self._would_be_hits = 0
        self._receipts = 0
        self._failures: dict[str, int] = {}
        self._latencies: deque[float] = deque(maxlen=LATENCY_SAMPLES)
        self._answers: deque[tuple[float, int]] = deque()
        self._proofs = 0
        self._proof_failures = 0
        self._proofs_cancelled = 0
        self._proving_seconds = 0.0
        self._estimate_errors: deque[float] = deque(maxlen=ESTIMATE_SAMPLES)
        self._estimate_error_sum = 0.0
        self._estimate_error_count = 0
        self._refusals: dict[str, int] = {}
        self._by_threads: dict[int, int] = {}
        # Both AIRs from the start, so a dashboard sees each one begin.
        self._by_air: dict[int, int] = {1: 0, 2: 0}
        self._buckets = [0] * (len(PROOF_SECONDS_BUCKETS) + 1)
        self._queued: deque[float] = deque(maxlen=QUEUE_SAMPLES)
        self._queued_sum = 0.0
        self._latency_sum = 0.0
        self._latency_count = 0
        # Cumulative histograms since start (what an exporter needs; the percentiles
        # above cover recent samples only).
        self._latency_buckets = [0] * (len(LATENCY_SECONDS_BUCKETS) + 1)
        self._queued_buckets = [0] * (len(LATENCY_SECONDS_BUCKETS) + 1)
        self._error_buckets = [0] * (len(ESTIMATE_ERROR_BUCKETS) + 1)
        self._estimated_seconds = 0.0
        self._measured_seconds = 0.0
        self._unserved = 0
        self._cache = CacheReport(
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, (), (), True, 0.0, 0.0, 0, 0, 0, 0, 0
        )
        #: Accepted requests still without an answer, counted on the reply cells (set by
        #: the runtime); None: not known.
        self.unanswered: Callable[[], int] | None = None
        self._peaks: dict[str, int] = {}
        self._restarts: dict[str, int] = {}
        self._store = [0] * 7  # hits, misses, errors, rejected, skipped, writes, dropped
        self._store_latencies: deque[float] = deque(maxlen=LATENCY_SAMPLES)
        self._store_latency_sum = 0.0
        self._store_latency_count = 0
        self._store_buckets = [0] * (len(LATENCY_SECONDS_BUCKETS) + 1)
        #: The supervised actors (set by the runtime), so an exporter can show their
        #: restart counters at zero from the start.
        self._actor_names: list[str] = []

    async def run(self) -> None:
        # Polls instead of waiting in receive(): an event handed straight to a task
        # blocked in receive() sits in that task, invisible to snapshot() until the task
        # runs, so a snapshot taken right after a reply could miss it. Polled, every event
        # waits in the buffer, where snapshot() folds it in. Between visits, emitting is a
        # plain append for the senders, never a task wake-up per event.
        while self._drain():  # noqa: ASYNC110  (polling is the point, see above)
            await anyio.sleep(BATCH_INTERVAL)

    def set_actors(self, names: list[str]) -> None:
        """The names of the supervised actors (for restart counters shown from zero)."""
        self._actor_names = list(names)

    def on_crash(self, error: BaseException) -> None:
        """Nothing to fail: metrics holds no requests."""

    def on_stop(self, error: BaseException) -> None:
        self._drain()

    def drain(self) -> None:
        """Fold in every event already sent (the runtime calls it once more after every
        other actor has stopped, before it closes the mailbox)."""
        self._drain()

    def reset(self) -> None:
        """Counters survive a restart: they describe the runtime, not the actor."""

    def _drain(self) -> bool:
        """Apply every buffered event; False once the mailbox has ended."""
        with contextlib.suppress(anyio.ClosedResourceError):
            # Its own mailbox is deepest now, before the drain.
            self._peak("metrics", self._mailbox.statistics().current_buffer_used)
        while True:
            try:
                event = self._mailbox.receive_nowait()
            except anyio.WouldBlock:
                return True
            except (anyio.EndOfStream, anyio.ClosedResourceError):
                return False
            self._apply(event)

    def _apply(self, event: Event) -> None:
        if isinstance(event, CacheReport):
            self._accepted += event.accepted
            self._unserved += event.unserved
            self._hits += event.hits
            self._misses += event.misses
            self._coalesced += event.coalesced
            self._would_be_hits += event.would_be_hits
            self._peak("intake", event.depth)
            self._peak("completions", event.completions_depth)
            self._peak("proofs_pending", event.pending_peak)
            self._answered(event.receipts, event.failures, event.latencies)
            self._cache = event
        elif isinstance(event, StoreReport):
            store = self._store
            store[0] += event.hits
            store[1] += event.misses
            store[2] += event.errors + event.write_errors
            store[3] += event.rejected
            store[4] += event.skipped
            store[5] += event.writes
            store[6] += event.writes_dropped
            self._store_latencies.extend(event.latencies)
            self._store_latency_sum += sum(event.latencies)
            self._store_latency_count += len(event.latencies)
            for latency in event.latencies:
                self._store_buckets[bisect.bisect_left(LATENCY_SECONDS_BUCKETS, latency)] += 1
        elif isinstance(event, Replies):
            self._answered(event.receipts, event.failures, event.latencies)
        elif isinstance(event, Rejected):
            self._rejected += event.count
            self._failures[event.error_type] = self._failures.get(event.error_type, 0) + event.count
            self._answers.append((time.perf_counter(), event.count))
        elif isinstance(event, ProofMeasured):
            if event.error_type is None:
                self._proofs += 1
                self._by_threads[event.threads] = self._by_threads.get(event.threads, 0) + 1
                self._by_air[event.air] = self._by_air.get(event.air, 0) + 1
            elif event.error_type == "ProofCancelled":
                self._proofs_cancelled += 1
            else:
                self._proof_failures += 1
            self._queued.append(event.queued_seconds)
            self._queued_sum += event.queued_seconds
            self._queued_buckets[
                bisect.bisect_left(LATENCY_SECONDS_BUCKETS, event.queued_seconds)
            ] += 1
            if event.seconds is not None:
                self._proving_seconds += event.seconds
                self._buckets[bisect.bisect_left(PROOF_SECONDS_BUCKETS, event.seconds)] += 1
                if event.error_type is None and event.seconds > 0:
                    self._estimated_seconds += event.estimate
                    self._measured_seconds += event.seconds
                    error = abs(event.estimate - event.seconds) / event.seconds
                    self._estimate_errors.append(error)
                    self._estimate_error_sum += error
                    self._estimate_error_count += 1
                    self._error_buckets[bisect.bisect_left(ESTIMATE_ERROR_BUCKETS, error)] += 1
        elif isinstance(event, AdmissionRefused):
            self._refusals[event.reason] = self._refusals.get(event.reason, 0) + event.count
        elif isinstance(event, QueueDepth):
            self._peak(event.queue, event.depth)
        elif isinstance(event, ActorRestarted):
            self._restarts[event.actor] = self._restarts.get(event.actor, 0) + 1

    def _answered(
        self, receipts: int, failures: tuple[tuple[str, int], ...], latencies: tuple[float, ...]
    ) -> None:
        if not receipts and not failures:
            return
        self._receipts += receipts
        answered = receipts
        for name, count in failures:
            self._failures[name] = self._failures.get(name, 0) + count
            answered += count
        self._latencies.extend(latencies)
        self._latency_sum += sum(latencies)
        self._latency_count += len(latencies)
        buckets = self._latency_buckets
        for latency in latencies:
            buckets[bisect.bisect_left(LATENCY_SECONDS_BUCKETS, latency)] += 1
        self._answers.append((time.perf_counter(), answered))

    def _peak(self, queue: str, depth: int) -> None:
        if depth > self._peaks.get(queue, 0):
            self._peaks[queue] = depth

    def snapshot(self) -> MetricsSnapshot:
        """Fold in every event already sent, then copy the figures."""
        self._drain()
        now = time.perf_counter()
        uptime = now - self._started
        while self._answers and self._answers[0][0] < now - THROUGHPUT_WINDOW:
            self._answers.popleft()
        span = min(THROUGHPUT_WINDOW, uptime)
        throughput = sum(n for _, n in self._answers) / span if span > 0 else 0.0
        ordered = sorted(self._latencies)
        errors = sorted(self._estimate_errors)
        requests = self._accepted + self._rejected
        answered = self._receipts + sum(self._failures.values())
        depths = {name: probe() for name, probe in self._queues.items()}
        # Every queue present from the start, with the peaks its actor recorded when
        # they happened (a snapshot's own reading is not a peak anybody saw).
        peaks = {name: 0 for name in depths}
        peaks.update(self._peaks)
        unanswered = None if self.unanswered is None else self.unanswered()
        cores = self._cores
        cpu = (time.process_time() - self._cpu_started) / (uptime * cores) if uptime > 0 else 0.0
        busy_wall, busy_cpu = self.probes.get("proving_cpu", _nothing)()
        reserved, peak_reserved = self.probes.get("memory", _nothing)()
        queued = sorted(self._queued)
        cache = self._cache
        store = self._store
        store_ordered = sorted(self._store_latencies)
        return MetricsSnapshot(
            uptime=uptime,
            requests=requests,
            accepted=self._accepted,
            rejected=self._rejected,
            hits=self._hits,
            misses=self._misses,
            coalesced=self._coalesced,
            would_be_hits=self._would_be_hits,
            receipts=self._receipts,
            failures=self._failures,
            in_flight=requests - answered,
            proofs=self._proofs,
            proof_failures=self._proof_failures,
            proving_seconds=self._proving_seconds,
            cache_enabled=cache.enabled,
            cache_hit_rate=cache.hit_rate,
            cache_would_be_hit_rate=cache.would_be_hit_rate,
            cache_window=cache.window,
            cache_entries=cache.entries,
            cache_bytes=cache.bytes,
            cache_evictions=cache.evictions,
            cache_switches=cache.switches,
            queue_depths=depths,
            peak_queue_depths=peaks,
            latency_p50=_percentile(ordered, 0.50),
            latency_p95=_percentile(ordered, 0.95),
            latency_p99=_percentile(ordered, 0.99),
            throughput=throughput,
            estimate_error=errors[len(errors) // 2] if errors else None,
            estimated_seconds=self._estimated_seconds,
            measured_seconds=self._measured_seconds,
            restarts=self._restarts,
            events_dropped=self._sink.dropped,
            cpu_utilization=cpu,
            estimate_error_p90=_percentile(errors, 0.90),
            estimate_error_samples=len(errors),
            estimate_error_sum=self._estimate_error_sum,
            estimate_error_count=self._estimate_error_count,
            admission_refusals=self._refusals,
            proofs_by_threads=self._by_threads,
            proofs_by_air=self._by_air,
            proof_seconds_buckets=tuple(self._buckets),
            queued_p50=_percentile(queued, 0.50),
            queued_p95=_percentile(queued, 0.95),
            queued_sum=self._queued_sum,
            parallelism=self._parallelism,
            cores=cores,
            proving_wall_seconds=busy_wall,
            proving_cpu_utilization=busy_cpu / (busy_wall * cores) if busy_wall > 0 else None,
            memory_reserved_bytes=int(reserved),
            memory_peak_reserved_bytes=int(peak_reserved),
            memory_budget_bytes=self._memory_budget,
            latency_sum=self._latency_sum,
            latency_count=self._latency_count,
            store_hits=store[0],
            store_misses=store[1],
            store_errors=store[2],
            store_rejected=store[3],
            store_skipped=store[4],
            store_writes=store[5],
            store_writes_dropped=store[6],
            store_latency_p50=_percentile(store_ordered, 0.50),
            store_latency_p95=_percentile(store_ordered, 0.95),
            store_latency_sum=self._store_latency_sum,
            store_latency_count=self._store_latency_count,
            unserved=self._unserved,
            unanswered=unanswered,
            latency_buckets=tuple(self._latency_buckets),
            queued_buckets=tuple(self._queued_buckets),
            estimate_error_buckets=tuple(self._error_buckets),
            proving_cpu_seconds=busy_cpu,
            restart_actors=tuple(self._actor_names),
            store_latency_buckets=tuple(self._store_buckets),
            proofs_cancelled=self._proofs_cancelled,
            cluster=self.cluster_probe() if self.cluster_probe is not None else {},
        )


__all__ = [
    "ESTIMATE_ERROR_BUCKETS",
    "LATENCY_SECONDS_BUCKETS",
    "PROOF_SECONDS_BUCKETS",
    "ActorRestarted",
    "AdmissionRefused",
    "CacheReport",
    "MetricsActor",
    "MetricsSink",
    "MetricsSnapshot",
    "ProofMeasured",
    "QueueDepth",
    "Rejected",
    "Replies",
    "ReplyTally",
    "StoreReport",
    "depth_before_receive",
]
