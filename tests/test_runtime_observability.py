"""Observability: each request's lifecycle appears as log events (debug; cache switches
at info) delivered through the standard ``logging`` module under ``zkactors``, every event
of a request carries the caller's bound context and the runtime's request id, nothing is
printed unless the application configures logging; the Prometheus text parses line by
line and its counters add up, and the snapshot reports CPU utilization while proving and
the estimator's own error."""

from __future__ import annotations

import contextlib
import json
import logging
import math
import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import anyio
import pytest
import structlog
from log_capture import capture_events
from runtime_doubles import FaultInjectingTestProver, RowsTestCostModel, wait_until

import zkactors
from zkactors import RuntimeConfig, ZkRuntime, programs
from zkactors.errors import DeadlineExceeded, ProvingError

pytestmark = pytest.mark.anyio

FIB = programs.load("fib")
ROOT = Path(zkactors.__file__).resolve().parent.parent
SAMPLE = re.compile(
    r'^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?P<labels>\{([a-zA-Z_][a-zA-Z0-9_]*="[^"]*",?)*\})?'
    r" (?P<value>\S+)$"
)


def config(**overrides: Any) -> RuntimeConfig:
    return RuntimeConfig(**{"profile": "test", "max_parallel": 2, **overrides})


async def test_the_lifecycle_of_requests_is_logged() -> None:
    prover = FaultInjectingTestProver()
    prover.fail_on((7,), ProvingError("injected"))
    with capture_events() as events:
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
        assert event["logger"].startswith("zkactors."), event
        if event["event"].startswith(("request.", "proof.")):
            assert event["log_level"] == "debug", event
    started = next(e for e in events if e["event"] == "proof.started")
    assert started["inputs"] == (5,) and started["threads"] >= 1 and started["estimate_s"] > 0
    proved = next(e for e in events if e["event"] == "proof.proved")
    assert proved["seconds"] > 0 and proved["estimate_error"] >= 0
    replies = [e for e in events if e["event"] == "request.replied"]
    # A failed request is not said to be proved.
    assert [r["source"] for r in replies] == ["proved", "cache", "failed"]
    assert replies[2]["error_type"] == "ProvingError"
    failed = next(e for e in events if e["event"] == "proof.failed")
    assert failed["error_type"] == "ProvingError" and failed["inputs"] == (7,)
    # One accepted event per request, and in order of the lifecycle.
    assert names.count("request.accepted") == 3
    assert names.index("request.accepted") < names.index("proof.started")
    assert names.index("proof.started") < names.index("proof.proved")


async def test_one_event_name_per_fact() -> None:
    """One style (``noun.verb``), and a proof through the runtime is one ``proof.proved``
    (the runtime's, with the request's ids), not also the prover's own."""
    with capture_events() as events:
        async with ZkRuntime(config(calibrate="startup")) as rt:
            await rt.prove(FIB, (3,))
    names = [e["event"] for e in events]
    assert all(re.fullmatch(r"[a-z_]+\.[a-z_]+", name) for name in names), names
    assert names.count("proof.proved") == 1


async def test_every_event_of_a_request_carries_both_ids() -> None:
    """The caller's bound ``request_id`` and the runtime's ``runtime_request_id`` are on
    each event of that request, those emitted in the cache's and the supervisor's tasks
    included, through misses, coalescing, cache hits and failures."""
    prover = FaultInjectingTestProver()
    prover.fail_on((7,), ProvingError("injected"))
    prover.hold()

    async def caller(rt: ZkRuntime, name: str, n: int) -> None:
        # Each task has its own context: what it binds is its own.
        structlog.contextvars.bind_contextvars(request_id=name)
        with contextlib.suppress(ProvingError):
            await rt.prove(FIB, (n,))

    with capture_events() as events:
        async with ZkRuntime(config(), _prover=prover) as rt:
            async with anyio.create_task_group() as tg:
                tg.start_soon(caller, rt, "first", 5)
                await wait_until(lambda: rt.metrics().in_flight == 1)
                tg.start_soon(caller, rt, "joins-first", 5)
                tg.start_soon(caller, rt, "fails", 7)
                await wait_until(lambda: rt.metrics().coalesced == 1)
                prover.release()
            await caller(rt, "hit", 5)
    by_id: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for event in events:
        if event["event"].startswith(("request.", "proof.")):
            assert "runtime_request_id" in event and "request_id" in event, event
            by_id[event["runtime_request_id"]].append(event)
    assert len(by_id) == 4
    stories = {}
    for story in by_id.values():
        callers = {e["request_id"] for e in story}
        assert len(callers) == 1, story  # one runtime id, one caller
        stories[callers.pop()] = [e["event"] for e in story]
    assert stories["first"] == [
        "request.accepted",
        "request.miss",
        "proof.started",
        "proof.proved",
        "request.replied",
    ]
    assert stories["joins-first"] == ["request.accepted", "request.coalesced", "request.replied"]
    assert stories["fails"] == [
        "request.accepted",
        "request.miss",
        "proof.started",
        "proof.failed",
        "request.replied",
    ]
    assert stories["hit"] == ["request.accepted", "request.cache_hit", "request.replied"]
    first = by_id[next(i for i, s in by_id.items() if s[0]["request_id"] == "first")]
    joined = next(e for e in events if e["event"] == "request.coalesced")
    assert joined["joined"] == first[0]["runtime_request_id"]


async def test_after_a_refusal_the_proof_is_the_remaining_waiters() -> None:
    """A hurried request is refused at admission; the patient one that had joined it is
    proved anew, and the proof's events and the ``proved`` reply are the patient's."""
    model = RowsTestCostModel(per_row=1.0)
    with capture_events() as events:
        async with ZkRuntime(config(), cost_model=model, _prover=FaultInjectingTestProver()) as rt:
            structlog.contextvars.bind_contextvars(request_id="hurried")
            hurried = rt.try_prove(FIB, (12,), timeout=30)
            structlog.contextvars.bind_contextvars(request_id="patient")
            patient = rt.try_prove(FIB, (12,))
            with pytest.raises(DeadlineExceeded):
                await hurried
            await patient
    story = [
        (e["event"], e["request_id"], e.get("source"))
        for e in events
        if e["event"].startswith(("proof.", "request.replied"))
    ]
    assert story == [
        ("proof.refused", "hurried", None),
        ("request.replied", "hurried", "refused"),
        ("proof.started", "patient", None),
        ("proof.proved", "patient", None),
        ("request.replied", "patient", "proved"),
    ]


async def test_cache_switches_are_logged_at_info() -> None:
    cfg = config(cache_window=4, cache_min_requests=4)
    with capture_events() as events:
        async with ZkRuntime(cfg) as rt:
            await rt.prove_many([(FIB, (n,)) for n in range(6)])
    switches = [e for e in events if e["event"] in ("cache.disabled", "cache.enabled")]
    assert switches and switches[0]["event"] == "cache.disabled"
    assert switches[0]["log_level"] == "info"
    assert switches[0]["would_be_hit_rate"] < 0.5


async def test_no_debug_events_when_the_level_filters_them_out() -> None:
    with capture_events(logging.INFO) as events:
        async with ZkRuntime(config()) as rt:
            await rt.prove(FIB, (5,))
            await rt.prove(FIB, (5,))
    assert not [e for e in events if e["log_level"] == "debug"]


def test_structlog_formatters_get_the_event_fields() -> None:
    """An application that formats with structlog's ProcessorFormatter receives the
    library's events as structured events, not as strings."""
    lines: list[str] = []

    class Lines(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(self.format(record))

    handler = Lines()
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[
                structlog.stdlib.add_log_level,
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.JSONRenderer(),
            ]
        )
    )
    logger = logging.getLogger("zkactors")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    structlog.contextvars.bind_contextvars(request_id="r-1")
    try:
        zkactors.prove(FIB, [4], profile="test")
    finally:
        structlog.contextvars.clear_contextvars()
        logger.removeHandler(handler)
    (event,) = [json.loads(line) for line in lines]
    assert event["event"] == "proof.proved" and event["level"] == "debug"
    assert event["request_id"] == "r-1" and event["cycles"] > 0


def test_records_point_at_the_library_call_site() -> None:
    """File, line and function of a record are where the library logged, not structlog's
    internals (for ``%(filename)s:%(lineno)d`` formats)."""
    records: list[logging.LogRecord] = []

    class Records(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Records()
    logger = logging.getLogger("zkactors")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        zkactors.prove(FIB, [4], profile="test")
    finally:
        logger.removeHandler(handler)
    (record,) = records
    assert record.name == "zkactors.zkvm.prover"
    assert Path(record.pathname).name == "prover.py" and record.funcName == "prove"


def _readme_runtime_quick_start() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"^```python\n(.*?)^```", readme, re.MULTILINE | re.DOTALL)
    return next(block for block in blocks if "ZkRuntime(" in block and "anyio.run" in block)


def _run_python(code: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def test_the_quick_start_prints_only_its_own_output() -> None:
    """A library is silent until the application configures logging."""
    done = _run_python(_readme_runtime_quick_start())
    assert done.stderr == ""
    assert len(done.stdout.splitlines()) == 1, done.stdout  # its own print()


def test_basic_config_shows_the_events_under_the_zkactors_logger() -> None:
    setup = (
        "import logging\n"
        "logging.basicConfig(level=logging.DEBUG, format='%(name)s|%(levelname)s|%(message)s')\n"
    )
    done = _run_python(setup + _readme_runtime_quick_start())
    records = [line.split("|", 2) for line in done.stderr.splitlines() if line.count("|") >= 2]
    ours = [(name, level, message) for name, level, message in records if name != "asyncio"]
    assert ours and all(name.startswith("zkactors.") for name, _, _ in ours), ours
    messages = [message for _, _, message in ours]
    assert any(m.startswith("request.miss runtime_request_id=") for m in messages), messages
    assert any(m.startswith("proof.proved ") for m in messages)
    assert any(m.startswith("request.replied ") and "source=proved" in m for m in messages)


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
    latency = samples["zkactors_request_latency_seconds_bucket"]
    assert list(latency.values()) == sorted(latency.values())
    assert value("request_latency_seconds_count") == value("receipts_total") + failures - 1
    assert latency['{le="+Inf"}'] == value("request_latency_seconds_count")
    assert value("estimate_relative_error_count") == value("proofs_total")
    assert value("queue_wait_seconds_count") == len(prover.calls)
    # Series present at zero, so rate() sees them begin.
    assert value("failures_total", '{type="RuntimeFailed"}') == 0
    assert value("restarts_total", '{actor="cache"}') == 0
    assert value("admission_refusals_total", '{reason="memory"}') == 0
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
