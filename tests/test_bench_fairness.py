"""``zkactors bench fairness`` in a tiny mode: every policy sees the same stream and the
table has one row per policy and size class."""

from __future__ import annotations

import json
from pathlib import Path

from zkactors.bench import fairness
from zkactors.cli import main


def test_fairness_bench_reports_every_policy_and_class(tmp_path: Path) -> None:
    out = tmp_path / "fairness.json"
    argv = ["bench", "fairness", "--seconds", "0.3", "--clients", "3", "--json", str(out)]
    assert main(argv) == 0
    rows = json.loads(out.read_text())["rows"]
    classes = [name for name, _, _ in fairness.CLASSES] + ["all"]
    assert [(row["policy"], row["class"]) for row in rows] == [
        (label, name) for label, _ in fairness.POLICIES for name in classes
    ]
    for row in rows:
        if row["requests"]:
            assert row["mean_s"] <= row["max_s"] and row["p99_s"] <= row["max_s"]


def test_every_policy_sees_the_same_stream_with_no_close_repeats() -> None:
    draws = fairness._draws(2000)
    assert draws == fairness._draws(2000)
    last: dict[int, int] = {}
    for index, (_, n) in enumerate(draws):
        assert index - last.get(n, -1000) > 100  # never two alike in flight together
        last[n] = index
