"""``zkactors bench cluster``: the thread pool against a Dask cluster of two worker
processes on this machine, Dask's own per-task overhead, and the smallest proof for which
sending it to a cluster pays.

- ``batch``: N distinct mid-size proofs (``fib``, profile ``test``, 2^15 rows) through a
  :class:`~zkactors.ZkRuntime` with ``max_parallel=2``: once in the runtime's worker
  threads, once on a ``LocalCluster`` of two single-thread worker processes (both use
  two cores; the cluster's work crosses process boundaries, the threads' does not);
- ``dask round trip``: a task that does nothing, submitted and awaited one at a time
  from a synchronous client (what every proof pays before and after proving), and the
  runtime's own split of its proofs' overhead (submit-to-start, transfer back);
- ``size 2^k``: for traces of 2^10 to 2^16 rows, a small batch both ways; the cluster
  *pays* from the smallest size at which its throughput is within 10 % of the threads'
  on the same cores: past it, a remote machine's proof costs the runtime less than a
  tenth of what proving it here would, so every worker added is capacity gained.

Numbers are measured on the spot (the machine may be shared: compare rows of one run).
``docs/scaling.md`` models 1, 10 and 100 worker machines from these figures.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import time
from typing import Any

import anyio

from zkactors import programs
from zkactors.bench import BenchResult
from zkactors.runtime import RuntimeConfig, ZkRuntime

DESCRIPTION = "Dask cluster: thread pool vs two worker processes, task overhead, break-even size"

COLUMNS = (
    "phase",
    "backend",
    "proofs",
    "trace",
    "seconds",
    "proofs_per_s",
    "per_proof_ms",
    "vs_threads",
    "note",
)

#: fib inputs whose runs fill traces of 2^10 ... 2^16 rows (6 cycles per step).
FIB_FOR_LOG_T = {10: 150, 12: 600, 14: 2500, 15: 5000, 16: 10000}
#: "Pays": the cluster's throughput within this share of the threads' on the same cores.
PAYS_AT = 0.9


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quick", action="store_true", help="smaller batches (for tests)")
    parser.add_argument("--proofs", type=int, default=None, help="proofs in the main batch")
    parser.add_argument("--backend", default="asyncio", choices=("asyncio", "trio"))


def run(args: argparse.Namespace) -> BenchResult:
    import distributed

    from zkactors.runtime.cluster import _import_distributed

    _import_distributed()  # Dask as quiet as the library
    count = args.proofs or (6 if args.quick else 24)
    per_size = 4 if args.quick else 8
    sizes = (10, 14) if args.quick else (10, 12, 14, 16)
    rows: list[dict[str, Any]] = []
    started = time.perf_counter()
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        silence_logs=logging.CRITICAL,
        scheduler_kwargs={"dashboard": False, "dashboard_address": ":0"},
    ) as cluster:
        startup = time.perf_counter() - started
        address = cluster.scheduler_address
        backend = args.backend
        threads, figures = anyio.run(_batch, None, 15, count, backend=backend)
        rows.append(_row("batch", "threads", count, 15, threads))
        remote, figures = anyio.run(_batch, address, 15, count, backend=backend)
        rows.append(_row("batch", "2 processes", count, 15, remote, threads))
        rows.append(_round_trip(distributed, address))
        rows.append(
            {
                "phase": "runtime overhead",
                "backend": "2 processes",
                "proofs": figures["proofs"],
                "per_proof_ms": _ms(figures["overhead_seconds"] / max(1, figures["proofs"])),
                "note": f"submit-to-start p50 {_ms(figures['submit_to_start_p50']):.2f} ms, "
                f"transfer back p50 {_ms(figures['transfer_p50']):.2f} ms, retries "
                f"{figures['retries']}, fallbacks {figures['fallbacks']}",
            }
        )
        pays: int | None = None
        for log_t in sizes:
            local, _ = anyio.run(_batch, None, log_t, per_size, backend=backend)
            rows.append(_row(f"size 2^{log_t}", "threads", per_size, log_t, local))
            far, _ = anyio.run(_batch, address, log_t, per_size, backend=backend)
            row = _row(f"size 2^{log_t}", "2 processes", per_size, log_t, far, local)
            if pays is None and far > 0 and local / far >= PAYS_AT:
                pays = log_t
                row["note"] = "smallest size that pays"
            rows.append(row)
    notes = (
        f"LocalCluster of 2 single-thread worker processes started in {startup:.1f} s; "
        "profile 'test'; fib inputs distinct within each batch; max_parallel=2 both ways.",
        "pays: cluster throughput >= "
        f"{PAYS_AT:.0%} of the threads' on the same cores; smallest such trace here: "
        + (f"2^{pays} rows." if pays is not None else "none of the sizes measured."),
    )
    return BenchResult("cluster", COLUMNS, tuple(rows), notes)


async def _batch(address: str | None, log_t: int, count: int) -> tuple[float, dict[str, Any]]:
    """Seconds to prove ``count`` distinct fib runs of 2^log_t rows (after one warm-up
    proof), and the runtime's cluster figures."""
    fib = programs.load("fib")
    base = FIB_FOR_LOG_T[log_t]
    config = RuntimeConfig(profile="test", max_parallel=2, calibrate="off", dask_scheduler=address)
    async with ZkRuntime(config) as rt:
        await rt.prove(fib, (base - 1,))  # warm-up: threads, worker imports, the estimator
        requests = [(fib, (base + i,)) for i in range(count)]
        started = time.perf_counter()
        await rt.prove_many(requests)
        seconds = time.perf_counter() - started
        snapshot = rt.metrics()
    assert snapshot.proofs == count + 1, "every request must be a real proof"
    if address is not None:
        assert snapshot.cluster["fallbacks"] == 0, "a proof fell back to the threads"
    return seconds, dict(snapshot.cluster)


def _round_trip(distributed: Any, address: str, rounds: int = 100) -> dict[str, Any]:
    with distributed.Client(address, timeout=30, set_as_default=False) as client:
        client.submit(_nothing, -1, pure=False).result(timeout=30)
        times = []
        for i in range(rounds):
            t0 = time.perf_counter()
            client.submit(_nothing, i, pure=False).result(timeout=30)
            times.append(time.perf_counter() - t0)
    return {
        "phase": "dask round trip",
        "backend": "2 processes",
        "proofs": rounds,
        "seconds": sum(times),
        "per_proof_ms": _ms(statistics.median(times)),
        "note": f"empty task, median; p90 {_ms(sorted(times)[int(0.9 * rounds)]):.2f} ms",
    }


def _nothing(value: int) -> int:
    return value


def _ms(seconds: float | None) -> float:
    return 0.0 if seconds is None else seconds * 1e3


def _row(
    phase: str,
    backend: str,
    proofs: int,
    log_t: int,
    seconds: float,
    threads_seconds: float | None = None,
) -> dict[str, Any]:
    return {
        "phase": phase,
        "backend": backend,
        "proofs": proofs,
        "trace": f"2^{log_t}",
        "seconds": seconds,
        "proofs_per_s": proofs / seconds if seconds > 0 else None,
        "per_proof_ms": seconds / proofs * 1e3,
        # Throughput relative to the threads: 1.0 = as fast, below = slower.
        "vs_threads": threads_seconds / seconds if threads_seconds and seconds > 0 else None,
        "note": "",
    }
