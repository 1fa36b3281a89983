"""Observability: each request's lifecycle appears as structlog events (debug; cache
switches at info), the Prometheus text parses line by line and its counters add up, and
the snapshot reports CPU utilization while proving and the estimator's own error."""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Iterator
from typing import Any

import pytest
import structlog
from runtime_doubles import FaultInjectingTestProver
from structlog.testing import capture_logs

from zkactors import RuntimeConfig, ZkRuntime, programs
from zkactors.errors import ProvingError

pytestmark = pytest.mark.anyio

FIB = programs.load("fib")
SAMPLE = re.compile(
    r'^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?P<labels>\{([a-zA-Z_][a-zA-Z0-9_]*="[^"]*",?)*\})?'
    r" (?P<value>\S+)$"
)


@pytest.fixture
def debug_logging() -> Iterator[None]:
    """Debug events on, whatever an earlier test configured; restored afterwards."""
    saved = structlog.get_config()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG))
    try:
        yield
    finally:
        structlog.configure(**saved)


def config(**overrides: Any) -> RuntimeConfig:
    return RuntimeConfig(**{"profile": "test", "max_parallel": 2, **overrides})


async def test_the_lifecycle_of_requests_is_logged(debug_logging: None) -> None:
    prover = FaultInjectingTestProver()
    prover.fail_on((7,), ProvingError("injected"))
    with capture_logs() as events:
        async with ZkRuntime(config(), _prover=prover) as rt:
            await rt.prove(FIB, (5,))
            await rt.prove(FIB, (5,))
            with pytest.raises(ProvingError):
                await rt.prove(FIB, (7,))
    names = [event["event"] for event in events]
    for name in (
        "request.accepted",
        "request.miss",
        "proof.started",
        "proof.proved",
        "request.replied",
        "request.cache_hit",
        "proof.failed",
    ):
        assert name in names, name
    for event in events:
        if event["event"].startswith(("request.", "proof.")):
            assert event["log_level"] == "debug", event
    started = next(e for e in events if e["event"] == "proof.started")
    assert started["inputs"] == (5,) and started["threads"] >= 1 and started["estimate_s"] > 0
    proved = next(e for e in events if e["event"] == "proof.proved")
    assert proved["seconds"] > 0 and proved["estimate_error"] >= 0
    replies = [e for e in events if e["event"] == "request.replied"]
    assert [r["source"] for r in replies] == ["proved", "cache", "proved"]
    assert replies[2]["error_type"] == "ProvingError"
    failed = next(e for e in events if e["event"] == "proof.failed")
    assert failed["error_type"] == "ProvingError" and failed["inputs"] == (7,)
    # One accepted event per request, and in order of the lifecycle.
    assert names.count("request.accepted") == 3
    assert names.index("request.accepted") < names.index("proof.started")
    assert names.index("proof.started") < names.index("proof.proved")


async def test_cache_switches_are_logged_at_info(debug_logging: None) -> None:
    cfg = config(cache_window=4, cache_min_requests=4)
    with capture_logs() as events:
        async with ZkRuntime(cfg) as rt:
            await rt.prove_many([(FIB, (n,)) for n in range(6)])
    switches = [e for e in events if e["event"] in ("cache.disabled", "cache.enabled")]
    assert switches and switches[0]["event"] == "cache.disabled"
    assert switches[0]["log_level"] == "info"
    assert switches[0]["would_be_hit_rate"] < 0.5


async def test_no_debug_events_when_debug_is_filtered_out() -> None:
    saved = structlog.get_config()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.INFO))
    try:
        with capture_logs() as events:
            async with ZkRuntime(config()) as rt:
                await rt.prove(FIB, (5,))
                await rt.prove(FIB, (5,))
    finally:
        structlog.configure(**saved)
    assert not [e for e in events if e["log_level"] == "debug"]


def _parse(text: str) -> dict[str, dict[str, float]]:
    """Samples by metric name and label string; every line must be a sample or a
    ``# HELP`` / ``# TYPE`` comment, and every sample's family must be declared."""
    samples: dict[str, dict[str, float]] = {}
    declared: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("# HELP "):
            assert len(line.split(" ", 3)) == 4, line
            continue
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            assert kind in ("counter", "gauge", "summary", "histogram"), line
            declared[name] = kind
            continue
        match = SAMPLE.match(line)
        assert match is not None, f"not a sample line: {line!r}"
        name = match["name"]
        family = re.sub(r"_(bucket|sum|count)$", "", name)
        assert name in declared or family in declared, f"undeclared: {name}"
        if declared.get(name) == "counter" or declared.get(family) == "counter":
            assert name.endswith("_total"), name
        value = float(match["value"])
        assert not math.isnan(value), line
        samples.setdefault(name, {})[match["labels"] or ""] = value
    return samples


async def test_prometheus_text_parses_and_adds_up() -> None:
    prover = FaultInjectingTestProver()
    prover.fail_on((13,), ProvingError("injected"))
    async with ZkRuntime(config(), _prover=prover) as rt:
        await rt.prove_many([(FIB, (n % 8,)) for n in range(24)])
        with pytest.raises(ProvingError):
            await rt.prove(FIB, (13,))
        with pytest.raises(ValueError):
            await rt.prove(FIB, (1, 2))
        snapshot = rt.metrics()
    samples = _parse(snapshot.to_prometheus())

    def value(name: str, labels: str = "") -> float:
        return samples[f"zkactors_{name}"][labels]

    requests = value("requests_total")
    assert requests == 26
    assert requests == value("accepted_total") + value("rejected_total")
    lookups = sum(samples["zkactors_lookups_total"].values())
    assert lookups == value("accepted_total")
    failures = sum(samples["zkactors_failures_total"].values())
    assert requests == value("receipts_total") + failures + value("in_flight")
    assert value("proofs_total") + value("proof_failures_total") == len(prover.calls)
    assert sum(samples["zkactors_proofs_by_threads_total"].values()) == value("proofs_total")
    buckets = samples["zkactors_proof_duration_seconds_bucket"]
    counts = list(buckets.values())
    assert counts == sorted(counts), "histogram buckets are cumulative"
    assert buckets['{le="+Inf"}'] == value("proof_duration_seconds_count") == len(prover.calls)
    assert value("proof_duration_seconds_sum") == pytest.approx(value("proving_seconds_total"))
    assert value("latency_seconds_count") == value("receipts_total") + failures - 1
    assert value("estimate_relative_error_count") == value("proofs_total")
    assert '{quantile="0.9"}' in samples["zkactors_estimate_relative_error"]
    assert value("parallelism_mode", '{mode="adaptive"}') == 1
    assert value("memory_budget_bytes") == snapshot.memory_budget_bytes > 0
    assert value("cores") >= 1


async def test_snapshot_reports_cpu_while_proving_and_the_estimators_error() -> None:
    async with ZkRuntime(config()) as rt:
        assert rt.metrics().proving_cpu_utilization is None
        await rt.prove_many([(FIB, (500 + n,)) for n in range(8)])
        snapshot = rt.metrics()
    assert snapshot.proofs == 8
    assert snapshot.proving_wall_seconds > 0
    assert snapshot.proving_cpu_utilization is not None
    assert 0 < snapshot.proving_cpu_utilization <= 1.0 + 1e-6
    assert snapshot.proving_wall_seconds <= snapshot.uptime
    assert snapshot.estimate_error is not None and snapshot.estimate_error_p90 is not None
    assert 0 <= snapshot.estimate_error <= snapshot.estimate_error_p90
    assert snapshot.estimate_error_samples == 8 == snapshot.estimate_error_count
    assert sum(snapshot.proof_seconds_buckets) == 8
    assert snapshot.queued_p50 is not None and snapshot.queued_p95 is not None
    assert snapshot.queued_p50 <= snapshot.queued_p95
