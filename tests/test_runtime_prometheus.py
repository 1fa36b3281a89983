"""The Prometheus export: a prometheus_client collector an application registers into
its own registry; counters for what grows, histograms for durations, every series
present from the first scrape, and a typed error naming the extra when
prometheus_client is missing."""

from __future__ import annotations

import sys

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from zkactors import RuntimeConfig, ZkRuntime, programs
from zkactors.errors import MissingExtraError
from zkactors.runtime.prometheus import ERROR_TYPES, RuntimeCollector

FIB = programs.load("fib")


def _scrape(registry: CollectorRegistry) -> dict[str, object]:
    text = generate_latest(registry).decode()
    return {family.name: family for family in text_string_to_metric_families(text)}


def _value(registry: CollectorRegistry, sample: str, **labels: str) -> float:
    value = registry.get_sample_value(sample, labels or None)
    assert value is not None, (sample, labels)
    return value


@pytest.mark.anyio
async def test_a_registered_collector_exports_counters_and_histograms() -> None:
    rt = ZkRuntime(RuntimeConfig(profile="test", calibrate="off"))
    registry = CollectorRegistry()
    registry.register(RuntimeCollector(rt))
    # Before the runtime starts: every series already there, at zero.
    before = _scrape(registry)
    assert _value(registry, "zkactors_requests_total") == 0
    for error in ERROR_TYPES:
        assert _value(registry, "zkactors_failures_total", type=error) == 0
    assert _value(registry, "zkactors_request_latency_seconds_count") == 0
    async with rt:
        await rt.prove(FIB, (3,))
        await rt.prove(FIB, (3,))
        families = _scrape(registry)
    assert set(families) == set(before)
    kinds = {family.type for family in families.values()}  # type: ignore[attr-defined]
    assert "summary" not in kinds  # summaries cannot be aggregated across instances
    for name, family in families.items():
        if family.type == "counter":  # type: ignore[attr-defined]
            for sample in family.samples:  # type: ignore[attr-defined]
                assert sample.name == f"{name}_total"
    assert families["zkactors_request_latency_seconds"].type == "histogram"  # type: ignore[attr-defined]
    assert _value(registry, "zkactors_requests_total") == 2
    assert _value(registry, "zkactors_lookups_total", result="hit") == 1
    assert _value(registry, "zkactors_request_latency_seconds_count") == 2
    assert _value(registry, "zkactors_request_latency_seconds_bucket", le="+Inf") == 2
    assert _value(registry, "zkactors_proofs_total") == 1
    assert _value(registry, "zkactors_proving_cpu_seconds_total") >= 0
    assert _value(registry, "zkactors_build_info", version=_version(), **_python()) == 1
    # One naming scheme: no in-process rates or utilizations left to read 0.0.
    assert not any("utilization" in name or "throughput" in name for name in families)


def _version() -> str:
    from zkactors._version import __version__

    return __version__


def _python() -> dict[str, str]:
    import platform

    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
    }


def test_a_custom_namespace_and_a_snapshot_source() -> None:
    rt = ZkRuntime(RuntimeConfig(profile="test", calibrate="off"))
    registry = CollectorRegistry()
    registry.register(RuntimeCollector(rt.metrics, namespace="prover"))
    assert _value(registry, "prover_requests_total") == 0


def test_without_prometheus_client_the_error_names_the_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    snapshot = ZkRuntime(RuntimeConfig(profile="test", calibrate="off")).metrics()
    monkeypatch.setitem(sys.modules, "prometheus_client", None)
    with pytest.raises(MissingExtraError, match=r"zkactors\[prometheus\]"):
        snapshot.to_prometheus()
    with pytest.raises(ImportError):  # it is an ImportError too
        RuntimeCollector(snapshot)
