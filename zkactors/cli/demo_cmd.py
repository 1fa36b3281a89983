"""``zkactors demo``: prove and verify real programs through the actor runtime.

What a new user should see in the first minute: a :class:`~zkactors.ZkRuntime` at the
default security profile proves a mix of the built-in programs, some requests more than
once so the cache answers them, and every receipt is then checked twice, by the native
verifier and by the pure-Python reference verifier (which shares no code with the
prover). The tables at the end show each request and the runtime's own metrics.

The mix includes instruction set v2 programs (read-write memory, input and output
streams), which only the machine AIR (AIR 2, receipt format 3) proves: ``sum_array`` over
a few hundred stored values, ``matvec`` (its outputs are the values it writes) and a
4,096-instruction ``straight_line`` program; the ``AIR`` column says which AIR each
receipt is under (1: the register AIR, 2: the machine AIR).

Nothing is assumed: each request goes through ``rt.prove_detailed``, which says how the
runtime answered it (``cached?``: hit = from the cache, proved = a new proof, coalesced =
joined an identical proof already running) and the run's exact cycles (the estimator
executed it natively; a cached receipt keeps them), in the sequential phase and in the
concurrent one alike; times come from the clock around each call. Receipts are verified
after proving is over, so the verifiers (the reference one holds the GIL) do not slow
the runtime down and the times shown are the runtime's own.

``--quick`` runs a small workload (for the tests); ``--json PATH`` writes the rows and the
metrics. The exit status is 0 only if every receipt passed both verifiers.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import anyio
import attrs

from zkactors import profiles, programs
from zkactors.errors import ConfigError, VerificationError
from zkactors.runtime import MetricsSnapshot, ProofOutcome, RuntimeConfig, ZkRuntime
from zkactors.zkvm.program import Program
from zkactors.zkvm.receipt import Receipt
from zkactors.zkvm.reference import verify as reference_verify
from zkactors.zkvm.verifier import verify as native_verify

Request = tuple[str, tuple[int, ...]]

#: Stream inputs of the v2 requests (sum_array reads n then n values; matvec reads n, the
#: n*n matrix row by row, then the vector).
_SUM_VALUES = tuple((k * 7919 + 13) % 100_000 for k in range(300))
_MATVEC_8 = (8, *((3 * i + 5 * j + 1) % 97 for i in range(8) for j in range(8)), *range(1, 9))

#: Distinct requests of the full demo: every program of the library, small to large.
#: fib(20000) runs 120 004 cycles, a 2^17-row trace: big enough for the runtime to give
#: the proof both cores when nothing else waits.
FULL_REQUESTS: tuple[Request, ...] = (
    ("fib", (20,)),
    ("horner", (5,)),
    ("fib", (1000,)),
    ("factorial", (20,)),
    ("inverse_check", (12345,)),
    ("power", (3, 1000)),
    ("mimc", (1, 100)),
    ("fib", (20000,)),
    ("factorial", (500,)),
    ("horner", (123456789,)),
    ("mimc", (2, 2000)),
    ("fib", (100,)),
    ("sum_array", (len(_SUM_VALUES), *_SUM_VALUES)),
    ("matvec", _MATVEC_8),
    ("straight_line(4096)", (3,)),
)
#: New requests of the concurrent phase, each sent by several clients at once.
FULL_BURST_NEW: tuple[Request, ...] = (("fib", (5000,)), ("power", (7, 3000)), ("mimc", (3, 500)))

QUICK_REQUESTS: tuple[Request, ...] = (
    ("fib", (20,)),
    ("horner", (5,)),
    ("factorial", (20,)),
    ("inverse_check", (12345,)),
    ("power", (3, 50)),
    ("mimc", (1, 20)),
    ("sum_array", (5, 1, 2, 3, 4, 5)),
    ("matvec", (2, 1, 2, 3, 4, 5, 6)),
    ("straight_line(256)", (3,)),
)
QUICK_BURST_NEW: tuple[Request, ...] = (("fib", (100,)),)

#: Clients that send each new request of the concurrent phase at the same time.
CLIENTS_PER_NEW_REQUEST = 4


def load_request_program(name: str) -> Program:
    """The program a request names: a library program, or ``straight_line(N)``, the
    library's generated program of N instructions."""
    if name.startswith("straight_line(") and name.endswith(")"):
        return programs.straight_line(int(name[len("straight_line(") : -1]))
    return programs.load(name)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--quick", action="store_true", help="a small workload (under a second; for tests)"
    )
    parser.add_argument(
        "--json", type=Path, default=None, metavar="PATH", help="also write the rows as JSON"
    )
    parser.add_argument(
        "--dask",
        default=None,
        metavar="ADDRESS|local",
        help="prove on a Dask cluster: a scheduler address (tcp://host:8786), or 'local' for "
        "worker processes on this machine (needs zkactors[dask])",
    )


def sequential_order(count: int) -> list[int]:
    """Indices of ``count`` distinct requests, each new one followed by repeats of the
    three before it: 0 | 1 0 | 2 1 0 | 3 2 1 0 | 4 3 2 1 | ...

    Three repeats per new request keep the share of repeats at 50 % or more from the
    tenth lookup on (75 % in the long run), so the self-switching cache, which turns off
    below 50 %, stays on and answers the repeats (a workload of mostly new requests
    would, rightly, switch it off)."""
    order: list[int] = []
    for new in range(count):
        order.append(new)
        order.extend(range(new - 1, max(new - 4, -1), -1))
    return order


def lookup_source(before: MetricsSnapshot, after: MetricsSnapshot) -> str:
    """How the cache answered the one request made between two snapshots: ``hit``,
    ``proved`` (a miss) or ``coalesced``; ``unknown`` unless exactly one lookup happened.

    The counters' view of what ``ProofOutcome.source`` says directly; the demo checks
    the two against each other in its sequential phase."""
    hits = after.hits - before.hits
    misses = after.misses - before.misses
    coalesced = after.coalesced - before.coalesced
    if hits + misses + coalesced != 1:
        return "unknown"
    return "hit" if hits else "proved" if misses else "coalesced"


def snapshot_dict(snapshot: MetricsSnapshot) -> dict[str, Any]:
    """The snapshot as plain JSON-ready values (its mappings are read-only proxies)."""
    out: dict[str, Any] = {}
    for field in attrs.fields(MetricsSnapshot):
        value = getattr(snapshot, field.name)
        out[field.name] = dict(value) if isinstance(value, Mapping) else value
    out["hit_rate"] = snapshot.hit_rate
    return out


@attrs.frozen
class Row:
    """One request: what was asked, what came back, and both verifiers' verdicts."""

    phase: str
    program: str
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    cycles: int
    trace_length: int
    prove_seconds: float
    cached: str
    receipt_bytes: int
    air: int = 1
    verified_native: bool | None = None
    verified_reference: bool | None = None
    verify_error: str | None = None
    threads: int | None = None
    native_verify_seconds: float | None = None
    reference_verify_seconds: float | None = None

    @property
    def verified(self) -> bool:
        return bool(self.verified_native and self.verified_reference)


class Demo:
    """One run of the demo: the workload, the runtime, the verifications and the rows."""

    def __init__(self, quick: bool, dask: str | None = None) -> None:
        self.quick = quick
        self.dask = dask
        self.requests = QUICK_REQUESTS if quick else FULL_REQUESTS
        self.burst_new = QUICK_BURST_NEW if quick else FULL_BURST_NEW
        self.order = sequential_order(len(self.requests))
        self.burst: list[Request] = list(self.requests)
        for new in self.burst_new:
            self.burst += [new] * CLIENTS_PER_NEW_REQUEST
        self.rows: list[Row] = []
        self.burst_accounting: dict[str, int] = {}
        self.metrics: MetricsSnapshot | None = None
        self.distinct = len(self.requests) + len(self.burst_new)
        self._receipts: list[Receipt] = []
        self._programs: dict[str, Program] = {
            name: load_request_program(name) for name, _ in (*self.requests, *self.burst_new)
        }

    @property
    def total_requests(self) -> int:
        return len(self.order) + len(self.burst)

    async def run(self, progress: Any) -> None:
        proving = progress.add_task("proving", total=self.total_requests)
        verifying = progress.add_task("verifying (native + reference)", total=self.total_requests)
        await self._prove_all(progress, proving)
        # One thread for the reference verifier: it holds the GIL while it works, so more
        # threads would only take turns, and the event loop keeps its share.
        limiter = anyio.CapacityLimiter(1)
        async with anyio.create_task_group() as verifiers:
            for index in range(len(self.rows)):
                verifiers.start_soon(self._verify, index, limiter, progress, verifying)

    async def _prove_all(self, progress: Any, task: Any) -> None:
        async with ZkRuntime(RuntimeConfig(dask_scheduler=self.dask)) as rt:
            # Phase 1: one request at a time; each answer's source is cross-checked
            # against the runtime's counters (exact, since nothing else is in flight).
            for index in self.order:
                request = self.requests[index]
                before = rt.metrics()
                started = time.perf_counter()
                outcome = await rt.prove_detailed(self._programs[request[0]], request[1])
                seconds = time.perf_counter() - started
                counted = lookup_source(before, rt.metrics())
                source = _source(outcome)
                if counted != source:
                    raise AssertionError(
                        f"{request}: the runtime said {source!r}, its counters {counted!r}"
                    )
                self._add_row("sequential", request, outcome, seconds)
                progress.advance(task)

            # Phase 2: every request again plus a few new ones, all at once from
            # concurrent clients; identical requests in flight together share one proof.
            async def client(request: Request) -> None:
                started = time.perf_counter()
                outcome = await rt.prove_detailed(self._programs[request[0]], request[1])
                seconds = time.perf_counter() - started
                self._add_row("concurrent", request, outcome, seconds)
                progress.advance(task)

            async with anyio.create_task_group() as clients:
                for request in self.burst:
                    clients.start_soon(client, request)
            concurrent = [row.cached for row in self.rows if row.phase == "concurrent"]
            self.burst_accounting = {
                "requests": len(self.burst),
                "hits": concurrent.count("hit"),
                "coalesced": concurrent.count("coalesced"),
                "proved": concurrent.count("proved"),
            }
        self.metrics = rt.metrics()

    def _add_row(self, phase: str, request: Request, outcome: ProofOutcome, seconds: float) -> None:
        name, inputs = request
        receipt = outcome.receipt
        self.rows.append(
            Row(
                phase=phase,
                program=name,
                inputs=inputs,
                outputs=receipt.outputs,
                cycles=outcome.cycles,
                trace_length=outcome.trace_length,
                prove_seconds=seconds,
                cached=_source(outcome),
                receipt_bytes=receipt.size,
                air=receipt.air,
                threads=outcome.threads,
            )
        )
        self._receipts.append(receipt)

    async def _verify(
        self, index: int, limiter: anyio.CapacityLimiter, progress: Any, task: Any
    ) -> None:
        row, receipt = self.rows[index], self._receipts[index]
        program = self._programs[row.program]
        problems: list[str] = []
        started = time.perf_counter()
        try:
            native_verify(receipt, program)
        except VerificationError as exc:
            problems.append(f"native: {exc}")
        native_seconds = time.perf_counter() - started
        reference_seconds: float | None = None
        try:
            # Timed inside the worker thread: waiting for the limiter is not verifying.
            reference_seconds = await anyio.to_thread.run_sync(
                _timed_reference_verify, receipt, program, limiter=limiter
            )
        except VerificationError as exc:
            problems.append(f"reference: {exc}")
        self.rows[index] = attrs.evolve(
            row,
            verified_native=not any(p.startswith("native") for p in problems),
            verified_reference=not any(p.startswith("reference") for p in problems),
            verify_error="; ".join(problems) or None,
            native_verify_seconds=native_seconds,
            reference_verify_seconds=reference_seconds,
        )
        progress.advance(task)


def _source(outcome: ProofOutcome) -> str:
    """The demo's name for how a request was answered."""
    return "hit" if outcome.source == "cache" else outcome.source


def _timed_reference_verify(receipt: Receipt, program: Program) -> float:
    started = time.perf_counter()
    reference_verify(receipt, program)
    return time.perf_counter() - started


# ---- output ----


def _seconds(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds >= 1:
        return f"{seconds:.2f} s"
    return f"{seconds * 1e3:.1f} ms" if seconds >= 1e-3 else f"{seconds * 1e6:.0f} µs"


def _value(value: int) -> str:
    text = str(value)
    return text if len(text) <= 9 else f"{text[:3]}…{text[-3:]}"


#: Values shown of a long list of inputs or outputs (the JSON has them all).
_SHOWN = 2


def _values(values: Sequence[int]) -> str:
    if len(values) <= _SHOWN:
        return ", ".join(_value(v) for v in values)
    return f"{', '.join(_value(v) for v in values[: _SHOWN - 1])}, …+{len(values) - _SHOWN + 1}"


def _call(name: str, values: Sequence[int]) -> str:
    # straight_line(N) is already a call: its input follows as a second one.
    return f"{name}({_values(values)})"


def _render(console: Any, demo: Demo, wall: float) -> None:
    from rich import box
    from rich.table import Table

    table = Table(
        title=f"zkactors demo: {demo.total_requests} requests at profile '{profiles.DEFAULT}'",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        caption="cached?: hit = from the cache, proved = a new proof (threads: the "
        "intra-proof threads it got), coalesced = joined an identical proof already "
        "running. AIR: 1 = the register AIR, 2 = the machine AIR (memory and streams; "
        "receipt format 3). KiB: receipt size. ✓✓ = accepted by the native and the "
        "reference verifier.",
    )
    for column, justify in (
        ("request", "left"),
        ("outputs", "left"),
        ("cycles", "right"),
        ("time", "right"),
        ("cached?", "left"),
        ("AIR", "right"),
        ("KiB", "right"),
        ("verified", "left"),
    ):
        table.add_column(column, justify=justify, no_wrap=column != "verified")  # type: ignore[arg-type]
    phase = demo.rows[0].phase if demo.rows else ""
    for row in demo.rows:
        if row.phase != phase:
            table.add_section()
            phase = row.phase
        table.add_row(
            _call(row.program, row.inputs),
            _values(row.outputs),
            f"{row.cycles:,}",
            _seconds(row.prove_seconds),
            row.cached if row.cached != "proved" or not row.threads else f"proved ({row.threads})",
            str(row.air),
            f"{row.receipt_bytes / 1024:.1f}",
            "✓✓" if row.verified else f"✗ {row.verify_error}",
        )
    console.print(table)

    burst = demo.burst_accounting
    console.print(
        f"[bold]concurrent phase[/bold]: {burst['requests']} requests sent at once: "
        f"{burst['hits']} answered from the cache, {burst['coalesced']} joined a proof "
        f"already running, {burst['proved']} proved."
    )
    m = demo.metrics
    assert m is not None
    lookups = m.hits + m.misses + m.coalesced
    native = [r.native_verify_seconds for r in demo.rows if r.native_verify_seconds is not None]
    reference = [
        r.reference_verify_seconds for r in demo.rows if r.reference_verify_seconds is not None
    ]
    biggest = max(demo.rows, key=lambda r: r.trace_length)
    metrics = Table(
        title="runtime metrics (rt.metrics()) and verification", box=box.SIMPLE, show_header=False
    )
    metrics.add_column("figure")
    metrics.add_column("value", justify="right")
    for label, value in (
        (
            "requests / receipts / failures",
            f"{m.requests} / {m.receipts} / {sum(m.failures.values())}",
        ),
        ("proofs made, proving time", f"{m.proofs}, {m.proving_seconds:.2f} s"),
        ("lookups: hits / misses / coalesced", f"{m.hits} / {m.misses} / {m.coalesced}"),
        ("hit rate: hits / (hits + misses)", f"{m.hit_rate:.1%}"),
        (
            "answered without a new proof",
            f"{(m.hits + m.coalesced) / lookups:.1%}" if lookups else "—",
        ),
        (
            "cache",
            f"{'on' if m.cache_enabled else 'off'}, {m.cache_entries} receipts, "
            f"{m.cache_bytes / 1024:.0f} KiB, {m.cache_evictions} evicted, "
            f"{m.cache_switches} switches",
        ),
        (
            "latency p50 / p95 / p99",
            " / ".join(_seconds(v) for v in (m.latency_p50, m.latency_p95, m.latency_p99)),
        ),
        (
            "estimator error (median / p90)",
            "—"
            if m.estimate_error is None or m.estimate_error_p90 is None
            else f"{m.estimate_error:.0%} / {m.estimate_error_p90:.0%}",
        ),
        (
            "proofs by intra-proof threads",
            ", ".join(f"{k}: {v}" for k, v in sorted(m.proofs_by_threads.items())) or "—",
        ),
        ("CPU utilization (all cores)", f"{m.cpu_utilization:.0%}"),
        (
            "CPU utilization while proving",
            "—" if m.proving_cpu_utilization is None else f"{m.proving_cpu_utilization:.0%}",
        ),
        (
            "verify, median: native / reference",
            f"{_seconds(statistics.median(native))} / {_seconds(statistics.median(reference))}"
            if native and reference
            else "—",
        ),
        (
            "largest trace",
            f"2^{biggest.trace_length.bit_length() - 1} rows, receipt "
            f"{biggest.receipt_bytes / 1024:.1f} KiB",
        ),
    ):
        metrics.add_row(label, value)
    console.print(metrics)
    if m.cluster:
        c = m.cluster
        workers = ", ".join(f"{w}: {n}" for w, n in sorted(c["proofs_by_worker"].items()))
        console.print(
            f"Dask cluster {c['scheduler']}: {c['proofs']} proofs ({workers or 'none'}), "
            f"{c['retries']} retried, {c['fallbacks']} proved locally instead; task "
            f"overhead median: submit-to-start {_seconds(c['submit_to_start_p50'])}, "
            f"transfer {_seconds(c['transfer_p50'])}"
        )
    verified = sum(row.verified for row in demo.rows)
    colour = "green" if verified == len(demo.rows) else "red"
    console.print(
        f"[{colour}]{verified}/{len(demo.rows)} receipts verified by both verifiers[/{colour}]"
        f" in {wall:.1f} s wall time"
    )


def _write_json(path: Path, demo: Demo, wall: float) -> None:
    from zkactors.bench import machine

    assert demo.metrics is not None
    rows = []
    for row in demo.rows:
        data = attrs.asdict(row)
        data["inputs"], data["outputs"] = list(row.inputs), list(row.outputs)
        data["verified"] = row.verified
        rows.append(data)
    payload = {
        "command": "zkactors demo"
        + (" --quick" if demo.quick else "")
        + (f" --dask {demo.dask}" if demo.dask else ""),
        "profile": profiles.DEFAULT,
        "machine": machine(),
        "wall_seconds": wall,
        "distinct_requests": demo.distinct,
        "rows": rows,
        "concurrent_phase": demo.burst_accounting,
        "metrics": snapshot_dict(demo.metrics),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2) + "\n")


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    console = Console()
    dask = getattr(args, "dask", None)
    try:
        RuntimeConfig(dask_scheduler=dask)
    except ConfigError as exc:
        console.print(f"[red]{exc}[/red]")
        return 2
    demo = Demo(quick=args.quick, dask=dask)
    where = "" if dask is None else f" on the Dask cluster {dask!r}"
    console.print(
        f"Proving {demo.total_requests} requests ({demo.distinct} distinct) with a "
        f"ZkRuntime{where} at profile '{profiles.DEFAULT}', then checking every receipt with "
        "the native and the pure-Python reference verifier."
    )
    started = time.perf_counter()
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        anyio.run(demo.run, progress)
    wall = time.perf_counter() - started
    _render(console, demo, wall)
    if args.json is not None:
        _write_json(args.json, demo, wall)
        console.print(f"wrote {args.json}")
    return 0 if all(row.verified for row in demo.rows) else 1
