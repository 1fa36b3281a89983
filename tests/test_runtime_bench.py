"""``zkactors bench prove``, ``estimator``, ``adaptive`` and ``store`` run end to end on tiny
workloads and report what they claim (the figures themselves are the machine's, never
asserted)."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import RedisServer

from zkactors.bench import adaptive, estimator
from zkactors.bench import prove as prove_bench


def _args(module: object, *argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    module.add_arguments(parser)  # type: ignore[attr-defined]
    return parser.parse_args(list(argv))


def test_estimator_bench_reports_each_size_and_thread_count() -> None:
    args = _args(
        estimator, "--sizes", "6,9", "--threads", "1,2", "--repeat", "2", "--profile", "test"
    )
    result = estimator.run(args)
    assert [(r["size"], r["threads"]) for r in result.rows] == [
        ("2^6", 1),
        ("2^6", 2),
        ("2^9", 1),
        ("2^9", 2),
    ]
    for row in result.rows:
        assert row["T"] == 1 << int(row["size"][2:])
        assert row["proofs"] == 2
        assert row["measured_ms"] > 0 and row["predicted_ms"] > 0
        assert 0 <= row["err_med"] <= row["err_p90"]
        assert row["grind_ms"] == 0  # profile test does not grind
    assert any("load average" in note for note in result.notes)


def test_adaptive_bench_runs_every_mode_with_real_proofs(tmp_path: Path) -> None:
    out = tmp_path / "adaptive.json"
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "zkactors",
            "bench",
            "adaptive",
            "--quick",
            "--json",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    rows = json.loads(out.read_text())["rows"]
    modes = {row["mode"] for row in rows}
    assert modes == set(adaptive.MODES)
    batches = [row for row in rows if row["workload"].startswith("fib(")]
    for row in batches:
        count = int(row["workload"].split(" x ")[1])
        assert row["proofs"] == count  # distinct inputs: every request a real proof
        assert row["best_s"] > 0 and row["best_s"] <= row["median_s"]
        if row["mode"] in ("sequential", "inter"):
            assert row["threads"] == f"1x{count}"
        if row["mode"] == "intra":
            assert row["threads"] == f"2x{count}" or row["threads"] == f"1x{count}"
    burst = [row for row in rows if row["workload"].startswith("burst")]
    assert len(burst) == 1 and 0 < burst[0]["cpu"] <= 1.0 + 1e-6


def test_store_bench_reports_every_store(redis_server: RedisServer) -> None:
    from zkactors.bench import store

    args = _args(
        store,
        "--lookups",
        "40",
        "--requests",
        "3",
        "--profile",
        "test",
        "--redis-url",
        redis_server.url,
    )
    result = store.run(args)
    assert [row["store"] for row in result.rows] == ["memory", "sqlite", "redis"]
    for row in result.rows:
        assert row["lookups_per_s"] > 0 and 0 < row["hit_p50_ms"] <= row["hit_p95_ms"]
        assert row["warm_sources"] == "store"  # the warm run proved nothing
        assert row["saved_s"] == row["cold_s"] - row["warm_s"]


def test_prove_bench_puts_profiles_side_by_side_with_their_figures() -> None:
    args = _args(
        prove_bench,
        *("--fib", "20", "--sizes", "6", "--threads", "1", "--repeat", "1"),
        *("--profile", "test,default"),
    )
    result = prove_bench.run(args)
    assert [(r["workload"], r["profile"]) for r in result.rows] == [
        ("fib(20)", "test"),
        ("fib(20)", "default"),
        ("fib 2^6", "test"),
        ("fib 2^6", "default"),
    ]
    for row in result.rows:
        assert row["bits"] == (16.0 if row["profile"] == "test" else 100.0)
        assert row["verify_ms"] > 0 and row["receipt_bytes"] > 0
    sizes = {r["profile"]: r["receipt_bytes"] for r in result.rows if r["workload"] == "fib(20)"}
    assert sizes["default"] > sizes["test"]  # 28 queries against 8


def test_prove_bench_refuses_an_unknown_profile() -> None:
    with pytest.raises(SystemExit):
        _args(prove_bench, "--profile", "default,nonsense")
