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

import math
import os
import time
from collections import deque
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

import anyio
import attrs
import structlog
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

log = structlog.get_logger(__name__)

#: Latencies kept for the percentiles (the most recent ones).
LATENCY_SAMPLES = 10_000
#: Proofs kept for the estimator's error figure.
ESTIMATE_SAMPLES = 1_000
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
class Accepted:
    """Requests that passed intake and were enqueued."""

    requests: int


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

    Lookups: ``hits`` (answered from the cache), ``misses`` (a new proof), ``coalesced``
    (joined a proof already running), ``would_be_hits`` (misses that a cache of this
    capacity would have answered); ``depth``: the intake mailbox depth seen at the start
    of the batch. Answers as in :class:`Replies`. State:
    on/off, hit rates over the window of ``window`` lookups, size, evictions, switches.
    """

    hits: int
    misses: int
    coalesced: int
    would_be_hits: int
    depth: int
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
class ProofMeasured:
    """One proof attempt: estimate vs measured seconds (``seconds`` is None when the
    prover crashed); ``error_type`` is None for a receipt."""

    profile: str
    trace_length: int
    threads: int
    estimate: float
    seconds: float | None
    error_type: str | None


@attrs.frozen
class QueueDepth:
    """A depth an actor observed in one of its queues (for the peak figures)."""

    queue: str
    depth: int


@attrs.frozen
class ActorRestarted:
    actor: str
    error_type: str


Event = Rejected | Accepted | CacheReport | Replies | ProofMeasured | QueueDepth | ActorRestarted


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


def _frozen_mapping(value: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(value))


@attrs.frozen(hash=False)
class MetricsSnapshot:
    """The runtime's figures at one moment; immutable.

    Counters are totals since the runtime started. Invariants (checked by the tests):
    ``requests == accepted + rejected``; ``requests == receipts + sum(failures) +
    in_flight``; once every accepted request has reached the cache (no shutdown or crash
    in between), ``accepted == hits + misses + coalesced``.

    Requests: ``requests`` submitted; ``accepted`` (queued) or ``rejected`` at the door
    (invalid, ``Overloaded``, closed); accepted ones were looked up as ``hits`` (answered
    from the cache), ``misses`` (started a proof) or ``coalesced`` (joined one running).
    ``would_be_hits``: misses a cache of this capacity would have answered (it was off,
    or had just come back on empty). Answers: ``receipts``, ``failures`` by error type
    (rejections included), ``in_flight`` still unanswered.

    Proofs: ``proofs`` made, ``proof_failures`` (typed errors and crashes of provers),
    ``proving_seconds`` of wall time in provers; ``estimated_seconds`` and
    ``measured_seconds`` sum the estimate and the measurement of each successful proof,
    and ``estimate_error`` is the median of ``|estimate - measured| / measured`` over
    recent proofs (None before the first).

    Cache: ``cache_enabled``; ``cache_hit_rate`` and ``cache_would_be_hit_rate`` over the
    last ``cache_window`` lookups; ``cache_entries``, ``cache_bytes``, ``cache_evictions``,
    ``cache_switches`` (on/off changes).

    Queues: ``queue_depths`` now and ``peak_queue_depths`` seen, by queue: ``intake``
    (submissions waiting for the cache), ``estimator``, ``supervisor`` (mailboxes),
    ``completions``, ``metrics``; ``proofs_pending`` (distinct proofs past the cache),
    ``proofs_queued`` (waiting for a prover), ``proofs_running``.

    Latencies (seconds, from submission to answer) are percentiles of the last
    ``LATENCY_SAMPLES`` answers; ``throughput`` is answers per second over the last
    ``THROUGHPUT_WINDOW`` seconds. ``restarts`` counts crashes survived, by actor;
    ``events_dropped`` metric events lost to a full metrics mailbox (figures are then
    low by that much); ``cpu_utilization`` the process's CPU time over wall time and
    cores since start.
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

    @property
    def hit_rate(self) -> float:
        """Hits over all lookups since start (the window figure is ``cache_hit_rate``)."""
        lookups = self.hits + self.misses
        return self.hits / lookups if lookups else 0.0

    def to_prometheus(self, prefix: str = "zkactors") -> str:
        """The snapshot in the Prometheus text exposition format (version 0.0.4)."""
        lines: list[str] = []

        def metric(name: str, kind: str, help_text: str, samples: list[tuple[str, float]]) -> None:
            full = f"{prefix}_{name}"
            lines.append(f"# HELP {full} {help_text}")
            lines.append(f"# TYPE {full} {kind}")
            for labels, value in samples:
                lines.append(f"{full}{labels} {_prom_value(value)}")

        metric("requests_total", "counter", "Requests submitted.", [("", self.requests)])
        metric("rejected_total", "counter", "Requests refused at the door.", [("", self.rejected)])
        metric(
            "lookups_total",
            "counter",
            "Cache lookups by result.",
            [
                ('{result="hit"}', self.hits),
                ('{result="miss"}', self.misses),
                ('{result="coalesced"}', self.coalesced),
            ],
        )
        metric(
            "receipts_total", "counter", "Requests answered with a receipt.", [("", self.receipts)]
        )
        metric(
            "failures_total",
            "counter",
            "Requests answered with an error, by error type.",
            [(f'{{type="{name}"}}', count) for name, count in sorted(self.failures.items())],
        )
        metric(
            "in_flight", "gauge", "Requests accepted and not yet answered.", [("", self.in_flight)]
        )
        metric("proofs_total", "counter", "Proofs made.", [("", self.proofs)])
        metric(
            "proof_failures_total",
            "counter",
            "Proof attempts that failed.",
            [("", self.proof_failures)],
        )
        metric(
            "proving_seconds_total",
            "counter",
            "Wall time spent proving.",
            [("", self.proving_seconds)],
        )
        metric(
            "cache_enabled",
            "gauge",
            "1 while the result cache is on.",
            [("", float(self.cache_enabled))],
        )
        metric(
            "cache_hit_rate",
            "gauge",
            "Hit rate over the cache window.",
            [("", self.cache_hit_rate)],
        )
        metric(
            "cache_would_be_hit_rate",
            "gauge",
            "Hit rate a cache of this capacity would have over the window.",
            [("", self.cache_would_be_hit_rate)],
        )
        metric("cache_entries", "gauge", "Receipts in the cache.", [("", self.cache_entries)])
        metric("cache_bytes", "gauge", "Bytes of receipts in the cache.", [("", self.cache_bytes)])
        metric(
            "cache_evictions_total", "counter", "Receipts evicted.", [("", self.cache_evictions)]
        )
        metric(
            "queue_depth",
            "gauge",
            "Messages waiting in each queue.",
            [(f'{{queue="{name}"}}', depth) for name, depth in sorted(self.queue_depths.items())],
        )
        latencies = [
            (q, v)
            for q, v in (
                ("0.5", self.latency_p50),
                ("0.95", self.latency_p95),
                ("0.99", self.latency_p99),
            )
            if v is not None
        ]
        metric(
            "latency_seconds",
            "summary",
            "Submission-to-answer latency.",
            [(f'{{quantile="{q}"}}', v) for q, v in latencies],
        )
        metric("throughput", "gauge", "Answers per second, recent.", [("", self.throughput)])
        if self.estimate_error is not None:
            metric(
                "estimate_error_ratio",
                "gauge",
                "Median relative error of proving-time estimates.",
                [("", self.estimate_error)],
            )
        metric(
            "restarts_total",
            "counter",
            "Actor restarts after crashes.",
            [(f'{{actor="{name}"}}', count) for name, count in sorted(self.restarts.items())],
        )
        metric(
            "events_dropped_total", "counter", "Metric events dropped.", [("", self.events_dropped)]
        )
        metric(
            "cpu_utilization",
            "gauge",
            "Process CPU time over wall time and cores.",
            [("", self.cpu_utilization)],
        )
        return "\n".join(lines) + "\n"


def _prom_value(value: float) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if math.isnan(value):
        return "NaN"
    return repr(float(value))


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
    ) -> None:
        self._mailbox = mailbox
        self._sink = sink
        self._queues = dict(queues)
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
        self._proving_seconds = 0.0
        self._estimate_errors: deque[float] = deque(maxlen=ESTIMATE_SAMPLES)
        self._estimated_seconds = 0.0
        self._measured_seconds = 0.0
        self._cache = CacheReport(0, 0, 0, 0, 0, 0, (), (), True, 0.0, 0.0, 0, 0, 0, 0, 0)
        self._peaks: dict[str, int] = {}
        self._restarts: dict[str, int] = {}

    async def run(self) -> None:
        # Polls instead of waiting in receive(): an event handed straight to a task
        # blocked in receive() sits in that task, invisible to snapshot() until the task
        # runs, so a snapshot taken right after a reply could miss it. Polled, every event
        # waits in the buffer, where snapshot() folds it in. Between visits, emitting is a
        # plain append for the senders, never a task wake-up per event.
        while self._drain():  # noqa: ASYNC110  (polling is the point, see above)
            await anyio.sleep(BATCH_INTERVAL)

    def on_crash(self, error: BaseException) -> None:
        """Nothing to fail: metrics holds no requests."""

    def on_stop(self, error: BaseException) -> None:
        self._drain()

    def reset(self) -> None:
        """Counters survive a restart: they describe the runtime, not the actor."""

    def _drain(self) -> bool:
        """Apply every buffered event; False once the mailbox has ended."""
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
            self._hits += event.hits
            self._misses += event.misses
            self._coalesced += event.coalesced
            self._would_be_hits += event.would_be_hits
            self._peak("intake", event.depth)
            self._answered(event.receipts, event.failures, event.latencies)
            self._cache = event
        elif isinstance(event, Replies):
            self._answered(event.receipts, event.failures, event.latencies)
        elif isinstance(event, Accepted):
            self._accepted += event.requests
        elif isinstance(event, Rejected):
            self._rejected += event.count
            self._failures[event.error_type] = self._failures.get(event.error_type, 0) + event.count
            self._answers.append((time.perf_counter(), event.count))
        elif isinstance(event, ProofMeasured):
            if event.error_type is None:
                self._proofs += 1
            else:
                self._proof_failures += 1
            if event.seconds is not None:
                self._proving_seconds += event.seconds
                if event.error_type is None and event.seconds > 0:
                    self._estimated_seconds += event.estimate
                    self._measured_seconds += event.seconds
                    self._estimate_errors.append(
                        abs(event.estimate - event.seconds) / event.seconds
                    )
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
        peaks = dict(self._peaks)
        for name, depth in depths.items():
            peaks[name] = max(peaks.get(name, 0), depth)
        cores = os.cpu_count() or 1
        cpu = (time.process_time() - self._cpu_started) / (uptime * cores) if uptime > 0 else 0.0
        cache = self._cache
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
        )


__all__ = [
    "Accepted",
    "ActorRestarted",
    "CacheReport",
    "MetricsActor",
    "MetricsSink",
    "MetricsSnapshot",
    "ProofMeasured",
    "QueueDepth",
    "Rejected",
    "Replies",
    "ReplyTally",
]
