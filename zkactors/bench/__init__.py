"""Benchmarks behind ``zkactors bench NAME``: each prints a table and writes JSON.

A benchmark is a module ``zkactors.bench.<name>`` with ``DESCRIPTION`` (one line),
``add_arguments(parser)`` and ``run(args) -> BenchResult``. Numbers are measured on the
spot, never stored or assumed; the JSON carries the machine description so results from
different machines are not mixed up.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import attrs

BENCHMARKS = (
    "primitives",
    "execute",
    "prove",
    "runtime",
    "estimator",
    "adaptive",
    "soak",
    "store",
    "fairness",
    "cancel",
    "cluster",
)


@attrs.frozen
class BenchResult:
    """One benchmark's measurements: rows of a table, in column order."""

    name: str
    columns: tuple[str, ...]
    rows: tuple[dict[str, Any], ...]
    notes: tuple[str, ...] = ()
    #: What the figures depend on beyond the machine (e.g. the kernels in use): shown
    #: under the table's title and written to the JSON as "context".
    context: dict[str, Any] = attrs.field(factory=dict)


def int_list(text: str) -> tuple[int, ...]:
    """An argparse type for ``--sizes 10,14,18``-style options."""
    try:
        return tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers, got {text!r}"
        ) from None


def machine() -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "processor": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
    }


def best_of(fn: Callable[[], object], *, repeat: int = 3, min_time: float = 0.0) -> float:
    """Smallest wall time of ``repeat`` calls (and at least ``min_time`` total), in seconds.

    The minimum is the figure least disturbed by whatever else the machine is doing.
    """
    best = float("inf")
    started = time.perf_counter()
    runs = 0
    while runs < repeat or time.perf_counter() - started < min_time:
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
        runs += 1
    return best


def payload(result: BenchResult) -> dict[str, Any]:
    """``result`` as the JSON object the benchmarks write (with the machine and time)."""
    return {
        "benchmark": result.name,
        "machine": machine(),
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "context": result.context,
        "rows": list(result.rows),
        "notes": list(result.notes),
    }


def report(result: BenchResult, json_path: Path | None) -> Path:
    """Print ``result`` as a rich table and write it as JSON; return the JSON path."""
    from rich.console import Console
    from rich.table import Table

    caption = "; ".join(f"{key}: {_fmt_context(value)}" for key, value in result.context.items())
    table = Table(title=f"zkactors bench {result.name}" + (f"\n{caption}" if caption else ""))
    for column in result.columns:
        table.add_column(column, justify="right" if _numeric(result.rows, column) else "left")
    for row in result.rows:
        table.add_row(*(_fmt(row.get(column)) for column in result.columns))
    console = Console()
    console.print(table)
    for note in result.notes:
        console.print(note)
    path = json_path or Path("bench-results") / f"{result.name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload(result), indent=2) + "\n")
    console.print(f"wrote {path}")
    return path


def _fmt_context(value: object) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k} {_fmt_context(v)}" for k, v in value.items() if v not in ("", []))
    if isinstance(value, list | tuple):
        return " ".join(str(v) for v in value)
    return str(value)


def _numeric(rows: Sequence[dict[str, Any]], column: str) -> bool:
    return any(isinstance(row.get(column), int | float) for row in rows)


def _fmt(value: object) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        if value == 0 or 0.01 <= abs(value) < 1e6:
            return f"{value:,.3f}".rstrip("0").rstrip(".")
        return f"{value:.3g}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)
