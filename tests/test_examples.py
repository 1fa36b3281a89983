"""Every example runs (quick mode, as a user would run it: ``python examples/NAME.py``) and
the JSON it writes holds together: every receipt verified, rates within [0, 1], counts
that add up, and the runtime's counters consistent with what the workload implies."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import zkactors

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def run_example(name: str, tmp_path: Path, *, env_quick: bool = False) -> dict[str, Any]:
    out = tmp_path / f"{name}.json"
    env = dict(os.environ)
    # The examples run against the zkactors under test, not whichever one is installed.
    checkout = str(Path(zkactors.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [checkout, env.get("PYTHONPATH")]))
    args = [sys.executable, str(EXAMPLES / f"{name}.py"), "--out", str(out)]
    if env_quick:
        env["ZKACTORS_EXAMPLES_QUICK"] = "1"
    else:
        args.append("--quick")
    completed = subprocess.run(
        args, capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    data = json.loads(out.read_text())
    assert data["example"] == name
    assert data["quick"] is True
    assert data["machine"]["cpus"] >= 1
    if "wrote" in completed.stdout and out.with_suffix(".png").exists():
        assert out.with_suffix(".png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    return data


def test_every_example_is_tested() -> None:
    scripts = {path.stem for path in EXAMPLES.glob("*.py") if not path.stem.startswith("_")}
    tested = {name.removeprefix("test_") for name in globals() if name.startswith("test_")}
    assert scripts <= tested, f"examples without a test: {sorted(scripts - tested)}"


def test_quickstart(tmp_path: Path) -> None:
    data = run_example("quickstart", tmp_path, env_quick=True)
    fib = zkactors.programs.load("fib")
    rows = data["rows"]
    assert rows and all(row["verified"] for row in rows)
    for row in rows:
        assert row["output"] == zkactors.execute(fib, [row["n"]]).outputs[0]
        assert row["program_hash"] == fib.hash
        assert row["receipt_bytes"] > 0
    # The last n is asked twice: both answers are the same receipt.
    assert rows[-1]["n"] == rows[-2]["n"]
    assert rows[-1]["receipt_bytes"] == rows[-2]["receipt_bytes"]


def test_memory_and_streams(tmp_path: Path) -> None:
    data = run_example("memory_and_streams", tmp_path)
    rows = data["rows"]
    assert [row["program"] for row in rows] == ["sum_array", "dot_product", "matvec"]
    for row in rows:
        program = zkactors.programs.load(row["program"])
        assert row["verified"] is True
        # Only the machine AIR has memory and streams: format-3 receipts.
        assert (row["air"], row["receipt_format"]) == (2, 3)
        assert row["air_name"] == "machine AIR (AIR 2)"
        # The outputs printed are what the program computes on the inputs proved.
        outputs = list(zkactors.execute(program, row["inputs"]).outputs)
        assert row["all_outputs"] == outputs
        assert row["outputs"] == dict(zip(program.outputs, outputs, strict=False))
        assert row["written"] == outputs[len(program.outputs) :]
        assert row["stream_inputs"] == len(row["inputs"]) > 1
    by_name = {row["program"]: row for row in rows}
    n, *values = by_name["sum_array"]["inputs"]
    assert len(values) == n and by_name["sum_array"]["outputs"] == {"s": sum(values)}
    # matvec writes its result: n values, no .output registers.
    matvec = by_name["matvec"]
    m = matvec["inputs"][0]
    assert matvec["outputs"] == {} and len(matvec["written"]) == m


def test_trio_embed(tmp_path: Path) -> None:
    data = run_example("trio_embed", tmp_path)
    rows = data["rows"]
    assert len(rows) == 6
    assert all(row["verified"] for row in rows)
    metrics = data["metrics"]
    # 7 requests, 5 distinct: the duplicate joined a proof or hit the cache. The caller
    # that gave up answered its own request (ProofCancelled) and its proof was stopped
    # (or, if the cache had not taken the request yet, never started), so the retried
    # large request was proved anew: as a miss, or by joining the stopped proof's flight
    # before its cancellation came back (counted as coalesced, then proved again).
    gave_up = data["gave_up"]
    assert metrics["requests"] == 7
    assert metrics["proofs"] == 5
    assert metrics["hits"] + metrics["coalesced"] in ((1, 2) if gave_up else (2,))
    assert metrics["failures"] == ({"ProofCancelled": 1} if gave_up else {})


def test_cache_benefit(tmp_path: Path) -> None:
    data = run_example("cache_benefit", tmp_path)
    rows = data["rows"]
    assert {(row["repeat_rate"], row["mode"]) for row in rows} == {
        (rate, mode) for rate in (0.1, 0.5, 0.9) for mode in ("off", "on", "auto")
    }
    for row in rows:
        requests, repeats = row["requests"], row["repeats"]
        assert row["verified"] == requests == row["requests"]
        assert 0 <= row["hits"] <= repeats
        # One request at a time: each is either a hit or a new proof.
        assert row["hits"] + row["proofs"] == requests
        assert row["speedup"] > 0 and row["ideal"] >= 1.0
        if row["mode"] == "off":
            assert row["proofs"] == requests and row["hits"] == 0
        if row["mode"] == "on":
            assert row["hits"] == repeats and row["switches"] == 0
    assert data["original_report"]["0.5"]["speedup"] == 1.57


def test_estimator_error(tmp_path: Path) -> None:
    data = run_example("estimator_error", tmp_path)
    rows = data["rows"]
    assert {row["model"] for row in rows} == {"cold", "warm"}
    cold = [row["request"] for row in rows if row["model"] == "cold"]
    assert cold == [row["request"] for row in rows if row["model"] == "warm"]
    for row in rows:
        assert row["verified"] is True
        assert row["predicted_ms"] > 0 and row["actual_ms"] > 0
        assert row["error_pct"] >= 0
        rows_needed = row["cycles"] + 1
        assert row["trace_rows"] >= rows_needed and row["trace_rows"] & (row["trace_rows"] - 1) == 0
    fib300 = next(row for row in rows if row["request"] == "fib(300)")
    assert fib300["cycles"] == 6 * 300 + 4
    assert fib300["report_linear_pct"] == 156.0


def test_parallelism(tmp_path: Path) -> None:
    data = run_example("parallelism", tmp_path)
    rows = data["rows"]
    modes = {row["mode"] for row in rows}
    assert {"sequential", "parallel", "default"} <= modes
    assert ("adaptive" in modes) == data["adaptive_available"]
    for row in rows:
        count = int(row["batch"].split(" x ")[1])
        assert row["verified"] == count
        # Identical requests are proved once, in every mode; distinct ones each once.
        assert row["proofs"] == (1 if row["kind"] == "identical" else count)
        assert row["speedup"] > 0
        assert 0.0 <= row["cpu_utilization"] <= 1.0 + 1e-9
        if row["mode"] == "sequential":
            assert row["speedup"] == 1.0


def test_throughput(tmp_path: Path) -> None:
    data = run_example("throughput", tmp_path)
    rows = data["rows"]
    assert {row["setting"] for row in rows} == {"default", "cache on"}
    for row in rows:
        assert row["verified"] == row["requests"]
        assert row["hits"] + row["misses"] + row["coalesced"] == row["requests"]
        assert row["proofs"] == row["misses"]
        assert row["proofs"] >= row["distinct"]
        assert 0.0 <= row["hit_rate"] <= 1.0
        assert 0.0 <= row["answered_without_proof"] <= 1.0
        assert 0 < row["p50_ms"] <= row["p95_ms"] <= row["p99_ms"]
        assert row["throughput"] > 0


def test_cache_capacity(tmp_path: Path) -> None:
    data = run_example("cache_capacity", tmp_path)
    rows = data["rows"]
    assert {row["scenario"] for row in rows} == {"A", "B", "C"}
    for row in rows:
        assert row["verified"] == row["requests"]
        assert row["hits"] + row["misses"] + row["coalesced"] == row["requests"]
        assert row["proofs"] == row["misses"]
        assert 0.0 <= row["hit_rate"] <= 1.0
        assert row["entries"] <= row["capacity"]
        if row["capacity"] >= row["distinct"]:
            # Everything fits: nothing is evicted and no program is proved twice.
            assert row["evictions"] == 0
            assert row["proofs"] <= row["distinct"]
        if row["scenario"] == "A" and row["capacity"] >= row["distinct"]:
            assert row["proofs"] == row["distinct"]
        if row["scenario"] == "B":  # every program once: nothing to hit, ever
            assert row["hits"] == 0 and row["proofs"] == row["distinct"] == row["requests"]
            assert row["evictions"] == max(0, row["distinct"] - row["capacity"])


def test_service(tmp_path: Path) -> None:
    data = run_example("service", tmp_path)
    rows = {row["call"]: row for row in data["rows"]}
    assert [row["status"] for row in data["rows"]] == [200, 200]
    assert rows["first"]["fib"] == 12586269025  # fib(50)
    assert rows["first"]["answered_by"] == "proved"
    assert rows["again"]["answered_by"] == "cache"
    assert rows["again"]["cycles"] == rows["first"]["cycles"] > 0


def test_readme_python_blocks_run() -> None:
    """The README's code is the first thing users copy: every ```python block runs."""
    readme = (EXAMPLES.parent / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"^```python\n(.*?)^```", readme, re.MULTILINE | re.DOTALL)
    assert len(blocks) >= 2
    for block in blocks:
        exec(compile(block, "README.md", "exec"), {"__name__": "readme"})
