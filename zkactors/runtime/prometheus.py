"""The runtime's metrics for Prometheus, through ``prometheus_client`` (the optional
``zkactors[prometheus]`` extra).

:class:`RuntimeCollector` is a custom collector: an application registers it into its
own registry and serves that registry however it serves metrics; every scrape takes one
:class:`~.metrics.MetricsSnapshot` and turns it into metric families::

    from prometheus_client import CollectorRegistry, generate_latest
    from zkactors.runtime.prometheus import RuntimeCollector

    registry = CollectorRegistry()
    registry.register(RuntimeCollector(rt))       # rt: a ZkRuntime (or a snapshot source)
    text = generate_latest(registry)

Conventions: everything that only grows is a counter (``*_total``), so dashboards take
``rate()`` of it rather than reading an in-process rate; durations are histograms in
seconds (histograms, unlike summaries, add up across instances); every series a runtime
can have is present at zero from the first scrape, so ``rate()`` and alerts see it
begin; names are ``<namespace>_<what>_<unit>``; ``<namespace>_build_info`` carries the
version. Figures that prometheus_client's own collectors already give (process CPU,
memory) are not repeated: register ``ProcessCollector`` for those. CPU use while proving
is ``rate(proving_cpu_seconds_total) / rate(proving_wall_seconds_total) / cores``.
"""

from __future__ import annotations

import math
import platform
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from zkactors.errors import MissingExtraError
from zkactors.runtime.metrics import (
    ESTIMATE_ERROR_BUCKETS,
    LATENCY_SECONDS_BUCKETS,
    PROOF_SECONDS_BUCKETS,
    MetricsSnapshot,
)

if TYPE_CHECKING:
    from prometheus_client.metrics_core import Metric

#: Error types a request can be answered with, each shown from zero.
ERROR_TYPES = (
    "ProgramFormatError",
    "InputError",
    "ProfileError",
    "ExecutionError",
    "CycleLimitExceeded",
    "ProvingError",
    "MemoryBudgetExceeded",
    "DeadlineExceeded",
    "Overloaded",
    "ActorCrashed",
    "RuntimeClosed",
    "RuntimeFailed",
)
#: Why admission refuses a proof.
REFUSAL_REASONS = ("deadline", "memory")
#: The AIRs a proof can be under, each shown from zero.
AIRS = (1, 2)
#: Queues and counts in ``MetricsSnapshot.queue_depths``.
PARALLELISM_MODES = ("adaptive", "sequential", "inter", "intra")


def require_prometheus_client() -> Any:
    """``prometheus_client``, or a :class:`MissingExtraError` naming the extra."""
    try:
        import prometheus_client
    except ImportError as exc:
        raise MissingExtraError(
            "exporting metrics to Prometheus needs prometheus_client: "
            "pip install 'zkactors[prometheus]'"
        ) from exc
    return prometheus_client


class RuntimeCollector:
    """A ``prometheus_client`` collector of one runtime's metrics.

    :param source: a ``ZkRuntime`` (its ``metrics()`` is read at every scrape), or any
        callable returning a :class:`MetricsSnapshot`.
    :param namespace: the prefix of every metric name.
    :raises MissingExtraError: prometheus_client is not installed.
    """

    def __init__(
        self,
        source: Callable[[], MetricsSnapshot] | Any,
        *,
        namespace: str = "zkactors",
    ) -> None:
        require_prometheus_client()
        read = getattr(source, "metrics", source)
        if not callable(read):
            raise TypeError("source must be a ZkRuntime or a callable returning a snapshot")
        self._read: Callable[[], MetricsSnapshot] = read
        self._namespace = namespace

    def collect(self) -> Iterator[Metric]:
        yield from families(self._read(), self._namespace)

    def describe(self) -> Iterator[Metric]:
        # The families of a snapshot, whose names are fixed: what registration checks
        # for clashes.
        return self.collect()


def families(snapshot: MetricsSnapshot, namespace: str = "zkactors") -> Iterator[Metric]:
    """The metric families of ``snapshot``."""
    from prometheus_client.core import (
        CounterMetricFamily,
        GaugeMetricFamily,
        HistogramMetricFamily,
        InfoMetricFamily,
    )

    from zkactors._version import __version__

    s = snapshot

    def name(what: str) -> str:
        return f"{namespace}_{what}"

    def counter(
        what: str, help_text: str, value: float | None = None, **labelled: Any
    ) -> CounterMetricFamily:
        if value is not None:
            return CounterMetricFamily(name(what), help_text, value=value)
        ((label, values),) = labelled.items()
        family = CounterMetricFamily(name(what), help_text, labels=[label])
        for key, count in values.items():
            family.add_metric([str(key)], count)
        return family

    def gauge(what: str, help_text: str, value: float) -> GaugeMetricFamily:
        return GaugeMetricFamily(name(what), help_text, value=value)

    def histogram(
        what: str, help_text: str, bounds: Sequence[float], counts: Sequence[int], total: float
    ) -> HistogramMetricFamily:
        per_bucket = list(counts) or [0] * (len(bounds) + 1)
        cumulative = 0
        buckets = []
        for bound, count in zip((*bounds, math.inf), per_bucket, strict=True):
            cumulative += count
            buckets.append(("+Inf" if math.isinf(bound) else repr(float(bound)), cumulative))
        return HistogramMetricFamily(name(what), help_text, buckets=buckets, sum_value=total)

    def zeros(keys: Sequence[Any], seen: Any) -> dict[Any, Any]:
        values = dict.fromkeys(keys, 0)
        values.update(seen)
        return values

    info = InfoMetricFamily(name("build"), "The zkactors build.")
    info.add_metric(
        [],
        {
            "version": __version__,
            "python": platform.python_version(),
            "implementation": platform.python_implementation(),
        },
    )
    yield info

    # Requests and their answers.
    yield counter("requests", "Requests submitted.", s.requests)
    yield counter("accepted", "Requests accepted (taken by the cache).", s.accepted)
    yield counter("rejected", "Requests refused at the door.", s.rejected)
    yield counter(
        "lookups",
        "Cache lookups of accepted requests, by result.",
        result={"hit": s.hits, "miss": s.misses, "coalesced": s.coalesced},
    )
    yield counter(
        "unserved", "Accepted requests answered without a lookup (crash, stop).", s.unserved
    )
    yield counter(
        "would_be_hits", "Misses a cache of this capacity would have answered.", s.would_be_hits
    )
    yield counter("receipts", "Requests answered with a receipt.", s.receipts)
    yield counter(
        "failures",
        "Requests answered with an error (door rejections included), by error type.",
        type=zeros(ERROR_TYPES, s.failures),
    )
    yield gauge("in_flight", "Requests accepted and not yet answered.", s.in_flight)
    yield histogram(
        "request_latency_seconds",
        "Submission-to-answer latency of accepted requests.",
        LATENCY_SECONDS_BUCKETS,
        s.latency_buckets,
        s.latency_sum,
    )

    # Proofs.
    yield counter("proofs", "Proofs made.", s.proofs)
    yield counter("proof_failures", "Proof attempts that failed.", s.proof_failures)
    yield counter(
        "proofs_cancelled",
        "Proofs stopped because no request waited for them any more.",
        s.proofs_cancelled,
    )
    threads = range(1, max([s.cores, *s.proofs_by_threads]) + 1)
    yield counter(
        "proofs_by_threads",
        "Proofs made, by intra-proof thread count.",
        threads=zeros(list(threads), s.proofs_by_threads),
    )
    yield counter(
        "proofs_by_air",
        "Proofs made, by the AIR they are under (1: register AIR, receipt format 2; "
        "2: machine AIR, format 3).",
        air=zeros(sorted({*AIRS, *s.proofs_by_air}), s.proofs_by_air),
    )
    yield counter(
        "admission_refusals",
        "Proofs refused before queueing, by reason.",
        reason=zeros(REFUSAL_REASONS, s.admission_refusals),
    )
    yield histogram(
        "proof_duration_seconds",
        "Wall time of proof attempts in the prover.",
        PROOF_SECONDS_BUCKETS,
        s.proof_seconds_buckets,
        s.proving_seconds,
    )
    yield counter("proving_seconds", "Wall time in provers, summed over proofs.", s.proving_seconds)
    yield histogram(
        "queue_wait_seconds",
        "Seconds proofs waited for a prover.",
        LATENCY_SECONDS_BUCKETS,
        s.queued_buckets,
        s.queued_sum,
    )
    yield histogram(
        "estimate_relative_error",
        "|estimate - measured| / measured of proving times (a ratio).",
        ESTIMATE_ERROR_BUCKETS,
        s.estimate_error_buckets,
        s.estimate_error_sum,
    )
    yield counter(
        "proving_wall_seconds",
        "Wall time with at least one proof running.",
        s.proving_wall_seconds,
    )
    yield counter(
        "proving_cpu_seconds",
        "Process CPU time while at least one proof ran.",
        s.proving_cpu_seconds,
    )

    # Resources and configuration.
    yield gauge("cores", "Cores the process may use.", s.cores)
    mode = GaugeMetricFamily(
        name("parallelism_mode"),
        "The supervisor's parallelism policy (1: active).",
        labels=["mode"],
    )
    for candidate in PARALLELISM_MODES:
        mode.add_metric([candidate], float(candidate == s.parallelism))
    yield mode
    yield gauge(
        "memory_reserved_bytes",
        "Estimated peak memory of the proofs running now.",
        s.memory_reserved_bytes,
    )
    yield gauge(
        "memory_reserved_peak_bytes",
        "The most memory reserved by running proofs at once.",
        s.memory_peak_reserved_bytes,
    )
    yield gauge("memory_budget_bytes", "Memory running proofs may reserve.", s.memory_budget_bytes)

    # Cache.
    yield gauge("cache_enabled", "1 while the result cache is on.", float(s.cache_enabled))
    yield gauge("cache_hit_ratio", "Hit rate over the cache's window of lookups.", s.cache_hit_rate)
    yield gauge(
        "cache_would_be_hit_ratio",
        "Hit rate a cache of this capacity would have over the window.",
        s.cache_would_be_hit_rate,
    )
    yield gauge("cache_entries", "Receipts in the cache.", s.cache_entries)
    yield gauge("cache_bytes", "Bytes of receipts in the cache.", s.cache_bytes)
    yield counter("cache_evictions", "Receipts evicted.", s.cache_evictions)
    yield counter("cache_switches", "Times the cache switched itself on or off.", s.cache_switches)

    # The receipt store (all zero without one).
    yield counter(
        "store_lookups",
        "Receipt store lookups, by result.",
        result={
            "hit": s.store_hits,
            "miss": s.store_misses,
            "rejected": s.store_rejected,
            "skipped": s.store_skipped,
        },
    )
    yield counter("store_errors", "Failed receipt store calls.", s.store_errors)
    yield counter(
        "store_writes",
        "Receipts written to the store, by result.",
        result={"written": s.store_writes, "dropped": s.store_writes_dropped},
    )
    yield histogram(
        "store_lookup_seconds",
        "Receipt store lookup latency, verification included.",
        LATENCY_SECONDS_BUCKETS,
        s.store_latency_buckets,
        s.store_latency_sum,
    )

    # The Dask cluster (all zero without one; see zkactors.runtime.cluster).
    c = s.cluster
    yield gauge(
        "cluster_connected", "1 while connected to the Dask scheduler.", c.get("connected", False)
    )
    yield counter(
        "cluster_proofs",
        "Proofs made on the Dask cluster, by worker.",
        worker=dict(c.get("proofs_by_worker", {})),
    )
    yield counter(
        "cluster_retries", "Proofs Dask started again after a worker died.", c.get("retries", 0)
    )
    yield counter(
        "cluster_fallbacks",
        "Proofs made locally because the cluster could not be used.",
        c.get("fallbacks", 0),
    )
    yield counter(
        "cluster_rejected_receipts",
        "Receipts from workers that failed the runtime's checks.",
        c.get("rejected_receipts", 0),
    )
    yield counter(
        "cluster_worker_seconds", "Seconds proving on workers.", c.get("worker_seconds", 0.0)
    )
    yield counter(
        "cluster_overhead_seconds",
        "Seconds of remote proofs not spent proving (scheduling, transfer).",
        c.get("overhead_seconds", 0.0),
    )

    # Queues and the actors.
    depth = GaugeMetricFamily(name("queue_depth"), "Items waiting, by queue.", labels=["queue"])
    peak = GaugeMetricFamily(
        name("queue_depth_peak"), "The deepest each queue has been.", labels=["queue"]
    )
    for queue in sorted({*s.queue_depths, *s.peak_queue_depths}):
        depth.add_metric([queue], s.queue_depths.get(queue, 0))
        peak.add_metric([queue], s.peak_queue_depths.get(queue, 0))
    yield depth
    yield peak
    yield counter(
        "restarts",
        "Actor restarts after crashes, by actor.",
        actor=zeros(s.restart_actors, s.restarts),
    )
    yield counter(
        "events_dropped", "Metric events lost to a full metrics mailbox.", s.events_dropped
    )


def exposition(snapshot: MetricsSnapshot, namespace: str = "zkactors") -> str:
    """``snapshot`` in the Prometheus text format, as ``prometheus_client`` writes it.

    :raises MissingExtraError: prometheus_client is not installed.
    """
    client = require_prometheus_client()
    registry = client.CollectorRegistry()
    registry.register(RuntimeCollector(lambda: snapshot, namespace=namespace))
    return str(client.generate_latest(registry).decode("utf-8"))


__all__ = [
    "ERROR_TYPES",
    "MissingExtraError",
    "RuntimeCollector",
    "exposition",
    "families",
    "require_prometheus_client",
]
