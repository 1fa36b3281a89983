"""``zkactors bench primitives``: throughput of the native math core.

Measures what a proof's cost is made of — field multiplications, NTTs, the trace LDE,
SHA-256 and Merkle leaf hashing — on this machine, each as the best of a few runs (the
figure least disturbed by other load). Both SHA-256 kernels are measured; the NTT and
the LDE run on every kernel level the CPU has (scalar, AVX2, AVX-512; see
``zkactors.kernels``), the levels taking turns within each repetition so that load from
elsewhere falls on all of them alike, with the CPU seconds of the best run beside its
wall time.
"""

from __future__ import annotations

import argparse
import array
import os
import random
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from zkactors import kernels
from zkactors._native import field as native_field
from zkactors._native import primitives as prim
from zkactors.bench import BenchResult, best_of

DESCRIPTION = "field, NTT, LDE, SHA-256 and Merkle throughput of the native core"

COLUMNS = ("benchmark", "size", "threads", "kernel", "ms", "cpu_ms", "rate", "unit")

P = 2**64 - 2**32 + 1


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--quick", action="store_true", help="small sizes: a smoke run in a few seconds"
    )
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs per measurement; the best is reported"
    )


def _random_elements(n: int, seed: int) -> array.array[int]:
    rng = random.Random(seed)
    return array.array("Q", [rng.randrange(P) for _ in range(min(n, 4096))]) * ((n + 4095) // 4096)


def _row(
    benchmark: str, size: str, threads: int, kernel: str, seconds: float, rate: float, unit: str
) -> dict[str, Any]:
    return {
        "benchmark": benchmark,
        "size": size,
        "threads": threads,
        "kernel": kernel,
        "ms": seconds * 1e3,
        "rate": rate,
        "unit": unit,
    }


def _per_level(fn: Callable[[], object], repeat: int) -> dict[str, tuple[float, float]]:
    """(wall, CPU) seconds of the fastest of ``repeat`` calls on each kernel level; the
    levels take turns within each repetition."""
    best: dict[str, tuple[float, float]] = {}
    for _ in range(repeat):
        for level in kernels.available():
            with kernels.forced(level):
                cpu0, t0 = time.process_time(), time.perf_counter()
                fn()
                wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
            if level not in best or wall < best[level][0]:
                best[level] = (wall, cpu)
    return best


def _thread_counts() -> list[int]:
    return [1, 2] if (os.cpu_count() or 1) >= 2 else [1]


def _field(quick: bool, repeat: int) -> list[dict[str, Any]]:
    n = 1 << (16 if quick else 20)
    a, b = _random_elements(n, 1), _random_elements(n, 2)
    out = array.array("Q", bytes(8 * n))
    seconds = best_of(lambda: native_field.mul_into(a, b, out), repeat=repeat)
    chain = best_of(lambda: native_field.powers_into(3, out), repeat=repeat)
    return [
        _row("field mul (independent)", f"{n:,}", 1, "scalar", seconds, n / seconds / 1e6, "M/s"),
        _row("field mul (dependent chain)", f"{n:,}", 1, "scalar", chain, n / chain / 1e6, "M/s"),
    ]


def _ntt(quick: bool, repeat: int) -> list[dict[str, Any]]:
    rows = []
    for log_n in range(12, (16 if quick else 22) + 1, 2):
        values = _random_elements(1 << log_n, log_n)
        for threads in _thread_counts():
            fn = partial(prim.ntt, values, threads=threads)
            for level, (wall, cpu) in _per_level(fn, repeat).items():
                row = _row(
                    "NTT forward",
                    f"2^{log_n}",
                    threads,
                    level,
                    wall,
                    (1 << log_n) / wall / 1e6,
                    "M elem/s",
                )
                rows.append({**row, "cpu_ms": cpu * 1e3})
    return rows


def _lde(quick: bool, repeat: int) -> list[dict[str, Any]]:
    log_t, log_blowup, n_cols = (12 if quick else 16), 3, 16
    columns = [_random_elements(1 << log_t, c) for c in range(n_cols)]
    rows = []
    for threads in _thread_counts():
        fn = partial(prim.lde, columns, log_blowup, 7, threads=threads)
        out_elements = n_cols << (log_t + log_blowup)
        for level, (wall, cpu) in _per_level(fn, repeat).items():
            row = _row(
                "LDE (blowup 8)",
                f"{n_cols} x 2^{log_t}",
                threads,
                level,
                wall,
                out_elements / wall / 1e6,
                "M out elem/s",
            )
            rows.append({**row, "cpu_ms": cpu * 1e3})
    return rows


def _hash_kernel() -> str:
    if prim.sha256_has_multibuffer():
        return "AVX-512 x16"
    return "SHA-NI" if prim.sha256_has_shani() else "portable"


def _sha256_kernels() -> list[tuple[str, bool, bool]]:
    """(name, force portable, switch the 16-lane kernel off) for each kernel available."""
    kernels = []
    if prim.sha256_has_multibuffer():
        kernels.append(("AVX-512 x16", False, False))
    previous = prim.sha256_force_no_multibuffer(True)
    if prim.sha256_has_shani():
        kernels.append(("SHA-NI x2", False, True))
    prim.sha256_force_no_multibuffer(previous)
    kernels.append(("portable", True, True))
    return kernels


def _sha256(quick: bool, repeat: int) -> list[dict[str, Any]]:
    total = 1 << (20 if quick else 24)
    data = bytes(random.Random(3).getrandbits(8) for _ in range(4096)) * (total // 4096)
    rows = []
    for name, portable, no_multibuffer in _sha256_kernels():
        previous = (
            prim.sha256_force_portable(portable),
            prim.sha256_force_no_multibuffer(no_multibuffer),
        )
        try:
            for length in (64, 4096):
                part = data if not portable else data[: total // 4]
                seconds = best_of(partial(prim.sha256_many, part, length), repeat=repeat)
                rows.append(
                    _row(
                        "SHA-256",
                        f"{length} B msgs",
                        1,
                        name,
                        seconds,
                        len(part) / seconds / 1e6,
                        "MB/s",
                    )
                )
        finally:
            prim.sha256_force_portable(previous[0])
            prim.sha256_force_no_multibuffer(previous[1])
    return rows


def _merkle(quick: bool, repeat: int) -> list[dict[str, Any]]:
    log_rows, width = (12 if quick else 18), 16
    n = 1 << log_rows
    elems = _random_elements(n * width, 4)
    out = bytearray(32 * n)
    kernel = _hash_kernel()
    rows = []
    for threads in _thread_counts():
        leaves = best_of(
            partial(prim.hash_rows_into, elems, width, out, threads=threads), repeat=repeat
        )
        rows.append(
            _row(
                "Merkle leaves (16 elem rows)",
                f"2^{log_rows}",
                threads,
                kernel,
                leaves,
                n / leaves / 1e6,
                "M leaves/s",
            )
        )
        rows.append(
            _row(
                "Merkle leaf bytes",
                f"2^{log_rows}",
                threads,
                kernel,
                leaves,
                n * (1 + 8 * width) / leaves / 1e6,
                "MB/s",
            )
        )
        tree = best_of(
            partial(prim.MerkleTree.from_rows, elems, width, threads=threads), repeat=repeat
        )
        rows.append(
            _row(
                "Merkle tree (leaves + nodes)",
                f"2^{log_rows}",
                threads,
                kernel,
                tree,
                n / tree / 1e6,
                "M leaves/s",
            )
        )
    return rows


def run(args: argparse.Namespace) -> BenchResult:
    quick, repeat = bool(args.quick), max(1, int(args.repeat))
    rows = [
        *_field(quick, repeat),
        *_ntt(quick, repeat),
        *_lde(quick, repeat),
        *_sha256(quick, repeat),
        *_merkle(quick, repeat),
    ]
    notes = (
        f"NTT/LDE kernels: every level this CPU has ({', '.join(kernels.available())}); "
        f"SHA-256 kernel for bulk hashing: {_hash_kernel()}; cores: {os.cpu_count()}; "
        f"load average {os.getloadavg()[0]:.2f}",
        "Times are the best of --repeat runs; field mul (independent) includes the "
        "binding's canonical-range check of both inputs.",
    )
    return BenchResult(
        name="primitives",
        columns=COLUMNS,
        rows=tuple(rows),
        notes=notes,
        context=kernels.describe(),
    )
