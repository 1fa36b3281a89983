"""What every example shares: its command line, quiet logs, tables, JSON, plots, and the
bookkeeping of one request (how the cache answered it, what the estimator said, as the
runtime reports it through ``prove_detailed``).

Not part of the zkactors API; the examples import it so each script can stay short and
about the one thing it shows. The tables need rich: ``pip install "zkactors[cli]"``.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from zkactors import Program, Receipt, ZkRuntime
from zkactors.bench import machine
from zkactors.runtime import MetricsSnapshot

EXAMPLES = Path(__file__).resolve().parent
OUT = EXAMPLES / "out"


def parse_args(
    name: str, description: str, add: Callable[[argparse.ArgumentParser], None] | None = None
) -> argparse.Namespace:
    """``--quick`` (or ``ZKACTORS_EXAMPLES_QUICK=1``) and ``--out`` (default
    ``examples/out/NAME.json``), plus whatever ``add`` declares."""
    parser = argparse.ArgumentParser(prog=f"examples/{name}.py", description=description)
    parser.add_argument(
        "--quick",
        action="store_true",
        default=os.environ.get("ZKACTORS_EXAMPLES_QUICK") == "1",
        help="a small, fast run (also ZKACTORS_EXAMPLES_QUICK=1)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=OUT / f"{name}.json",
        help=f"where to write the JSON results (default examples/out/{name}.json)",
    )
    if add is not None:
        add(parser)
    args = parser.parse_args()
    quiet_logs()
    return args


def quiet_logs() -> None:
    """The library logs through the standard ``logging`` module and never configures it;
    an application does. These scripts show their own tables, so only the library's
    warnings and errors get through, on stderr."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")


def print_table(
    title: str,
    columns: Sequence[str | tuple[str, str]],
    rows: Sequence[Mapping[str, Any]],
    caption: str = "",
) -> None:
    """A rich table of ``rows``; a column is a row key, or ``(key, header)``."""
    from rich import box
    from rich.table import Table

    table = Table(title=title, caption=caption or None, box=box.SIMPLE_HEAD, pad_edge=False)
    keys = []
    for column in columns:
        key, header = (column, column.replace("_", " ")) if isinstance(column, str) else column
        numeric = any(isinstance(row.get(key), int | float) for row in rows)
        table.add_column(header, justify="right" if numeric else "left", overflow="fold")
        keys.append(key)
    for row in rows:
        table.add_row(*(fmt(row.get(key)) for key in keys))
    console().print(table)


def console() -> Any:
    """A terminal's own width; when the output goes to a file or a pipe, room for the
    widest table rather than rich's default of 80 columns."""
    from rich.console import Console

    plain = Console()
    return plain if plain.is_terminal else Console(width=160)


def say(text: str, *, markup: bool = True) -> None:
    from rich.console import Console

    Console().print(text, markup=markup)


def fmt(value: object) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if value == 0:
            return "0"
        if abs(value) >= 100:
            return f"{value:,.0f}"
        return f"{value:.3g}"
    if isinstance(value, int):
        if abs(value) >= 10**12:  # a field element: its ends are enough to compare
            text = str(value)
            return f"{text[:4]}…{text[-4:]}"
        return f"{value:,}"
    return str(value)


def write_json(path: Path, example: str, quick: bool, **payload: Any) -> None:
    """The results, the machine they were measured on and when."""
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "example": example,
        "quick": quick,
        "machine": machine(),
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        **payload,
    }
    path.write_text(json.dumps(document, indent=2, default=_json_default) + "\n")
    say(f"wrote {path}")


def _json_default(value: object) -> object:
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, tuple | set | frozenset):
        return list(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


def snapshot_dict(snapshot: MetricsSnapshot) -> dict[str, Any]:
    """The metrics snapshot as plain values, plus its derived overall hit rate."""
    out: dict[str, Any] = {}
    for field in attrs.fields(MetricsSnapshot):
        value = getattr(snapshot, field.name)
        out[field.name] = dict(value) if isinstance(value, Mapping) else value
    out["hit_rate"] = snapshot.hit_rate
    return out


def plot(path: Path, draw: Callable[[Any], None]) -> Path | None:
    """Draw a figure with matplotlib and save it as PNG; without matplotlib (the optional
    ``zkactors[plot]`` extra), say how to get it and go on."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        say(
            f"(no plot: matplotlib is not installed; pip install 'zkactors[plot]' for {path.name})",
            markup=False,
        )
        return None
    figure, axes = plt.subplots(figsize=(7, 4.2), layout="constrained")
    draw(axes)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)
    plt.close(figure)
    say(f"wrote {path}")
    return path


@attrs.frozen
class Observed:
    """One request as the runtime answered it (``ZkRuntime.prove_detailed``).

    ``source`` is ``hit`` (the cache answered), ``proved`` or ``coalesced`` (joined an
    identical proof already running); ``estimate`` and ``measured`` are the estimator's
    prediction and the prover's time for the proof this request made (None for a hit or
    a coalesced request); ``cycles`` the run's exact cycle count (known for hits too)."""

    receipt: Receipt
    seconds: float
    source: str
    estimate: float | None
    measured: float | None
    cycles: int = 0
    threads: int | None = None


async def warm_up() -> None:
    """One throwaway proof through a throwaway runtime before measuring: the first proof
    of a process also pays for starting worker threads and first-touching the prover's
    memory, which would otherwise be charged to whichever configuration runs first."""
    from zkactors import programs

    async with ZkRuntime() as rt:
        await rt.prove(programs.load("fib"), [2000])


async def prove_observed(
    rt: ZkRuntime, program: Program, inputs: Sequence[int], **options: Any
) -> Observed:
    """``rt.prove_detailed`` one request, timed around the call."""
    started = time.perf_counter()
    outcome = await rt.prove_detailed(program, inputs, **options)
    seconds = time.perf_counter() - started
    source = "hit" if outcome.source == "cache" else outcome.source
    proved = outcome.source == "proved"
    return Observed(
        outcome.receipt,
        seconds,
        source,
        outcome.estimated_seconds if proved else None,
        outcome.prove_seconds if proved else None,
        outcome.cycles,
        outcome.threads,
    )


def percentile(values: Sequence[float], q: float) -> float | None:
    """The nearest-rank percentile (as the runtime's metrics compute theirs)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]
