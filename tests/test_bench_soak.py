"""``zkactors bench soak`` in a tiny mode: it drives a real runtime, verifies what it gets
back, and reports one row per interval."""

from __future__ import annotations

import json
from pathlib import Path

from zkactors.cli import main


def test_soak_runs_verifies_and_reports(tmp_path: Path) -> None:
    out = tmp_path / "soak.json"
    argv = ["bench", "soak", "--minutes", "0.03", "--interval", "0.5", "--clients", "4"]
    assert main([*argv, "--profile", "test", "--json", str(out)]) == 0
    rows = json.loads(out.read_text())["rows"]
    assert len(rows) >= 2
    assert [row["interval"] for row in rows] == list(range(1, len(rows) + 1))
    assert all(row["failures"] == 0 for row in rows)
    verified = [row["verified"] for row in rows]
    answered = [sum(row["answers"] for row in rows[: i + 1]) for i in range(len(rows))]
    assert verified == sorted(verified) and verified[-1] > 0
    assert all(v <= a for v, a in zip(verified, answered, strict=True))  # only answers
    assert all(row["rss_mb"] > 0 for row in rows)
    assert all(0.0 <= row["hit_rate"] <= 1.0 for row in rows)
