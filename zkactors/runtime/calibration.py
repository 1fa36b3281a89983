"""Start-up calibration: a few tiny real proofs tell the cost model what this machine does.

The cost model's coefficients are properties of the machine (cores, caches, clock, the
native build), so they are measured, not shipped. :func:`calibrate` proves a handful of
small runs of the built-in programs (under the register AIR: widths 9 to 19 columns,
traces of 2^7 to 2^13 rows; under the machine AIR, which the cost model fits apart:
``sum_array`` at 2^8 and 2^10 rows) with one thread and with the intra-proof thread
count the runtime may use, and times the grinding hash on its own. At the ``default``
profile that is about 0.2-0.3 s; at ``test`` well under 0.1 s. The result primes
:class:`~.costmodel.CalibratedCostModel`, which then refines itself from every real
proof.

Calibration runs once per process and profile (later runtimes reuse it), and a runtime
that stops hands the proofs it measured back (:func:`learn`), so the next runtime of the
process starts from them too, not from tiny proofs alone. With
``RuntimeConfig(calibration_cache=True)`` it is also stored on disk, under the user's
cache directory (``$XDG_CACHE_HOME/zkactors`` or ``~/.cache/zkactors``), in a file named
by the zkactors version and a fingerprint of the machine and the native build, so a new
machine, a new CPU or a rebuilt prover is never served stale figures. Opt-in, because a
library should not write to a user's home directory unasked.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import attrs

from zkactors import profiles, programs
from zkactors._logging import get_logger
from zkactors._version import __version__
from zkactors.runtime.costmodel import ProofShape, Sample

log = get_logger(__name__)

#: (program, log2 T) pairs proved by a calibration, about cheapest first: under AIR 1,
#: widths 9, 11, 14, 19; ``sum_array`` (program format 2) under AIR 2, whose proofs cost
#: about as much as AIR 1's at 4 times the rows (so they sit among those).
POINTS: tuple[tuple[str, int], ...] = (
    ("fib", 7),
    ("factorial", 9),
    ("mimc", 8),
    ("fib", 9),
    ("sum_array", 8),
    ("power", 10),
    ("mimc", 10),
    ("fib", 11),
    ("factorial", 11),
    ("sum_array", 10),
    ("mimc", 12),
    ("fib", 13),
)
#: Seconds a calibration may spend proving before it stops adding points.
BUDGET_SECONDS = 0.35
#: Grinding hashes timed to measure the hash rate.
HASHES = 1 << 16

_INPUTS: dict[str, Callable[[int], list[int]]] = {
    # Inputs whose runs need exactly 2^k rows (cycles + 1 <= 2^k), from each program's
    # documented cycle count.
    "fib": lambda k: [((1 << k) - 5) // 6],  # 6n + 4
    "mimc": lambda k: [1, ((1 << k) - 4) // 10],  # 10n + 3
    "power": lambda k: [3, ((1 << k) - 4) // 3],  # 3e + 3
    "factorial": lambda k: [((1 << k) - 4) // 4],  # 4n + 3
    # 11n + 6, reading n and then n values (AIR 2: T >= 256).
    "sum_array": lambda k: _sum_array_inputs(((1 << k) - 7) // 11),
}


def _sum_array_inputs(n: int) -> list[int]:
    return [n, *range(1, n + 1)]


@attrs.frozen
class Calibration:
    """What a calibration measured: proofs (one :class:`~.costmodel.Sample` each), the
    seconds per grinding hash on one thread, and how long it all took."""

    profile: str
    threads: tuple[int, ...]
    samples: tuple[Sample, ...]
    hash_seconds: float
    seconds: float
    source: str = "measured"


_memo: dict[tuple[str, tuple[int, ...]], Calibration] = {}
#: Proofs measured by runtimes of this process, most recent last (see :func:`learn`).
LEARNED = 256
_learned: deque[Sample] = deque(maxlen=LEARNED)


def measure_hash_seconds(hashes: int = HASHES) -> float:
    """Seconds per proof-of-work hash on one thread, from timed nonce searches (each
    search's nonce says how many hashes it took, so the figure is exact, not a draw)."""
    from zkactors._native.prover import Transcript

    done = 0
    elapsed = 0.0
    seed = 0
    while done < hashes:
        transcript = Transcript()
        transcript.absorb(seed.to_bytes(8, "little"))
        seed += 1
        started = time.perf_counter()
        nonce = transcript.grind(12)
        elapsed += time.perf_counter() - started
        # The kernel hashes 256 nonces per call.
        done += (nonce // 256 + 1) * 256
    return elapsed / done


def calibrate(
    profile: str,
    threads: Sequence[int] = (1,),
    *,
    budget: float = BUDGET_SECONDS,
    points: Sequence[tuple[str, int]] = POINTS,
    prove: Callable[..., Any] | None = None,
) -> Calibration:
    """Prove ``points`` under ``profile`` with each of ``threads`` and time them.

    Blocking (call it in a worker thread): the proofs release the GIL but take up to
    ``budget`` seconds, after which no further point is started. A first, unrecorded
    proof warms up the prover's threads and memory.

    :param prove: ``zkactors.zkvm.prover.prove_with_stats`` unless given (tests).
    """
    if prove is None:
        from zkactors.zkvm.prover import prove_with_stats

        prove = prove_with_stats
    profiles.get(profile)
    counts = tuple(sorted({max(1, t) for t in threads}))
    started = time.perf_counter()
    hash_seconds = measure_hash_seconds() if profiles.get(profile).grinding_bits else 0.0
    fib = programs.load("fib")
    prove(fib, [1], profile=profile, threads=counts[-1])
    samples: list[Sample] = []
    proving = 0.0
    for name, log_t in points:
        if proving > budget:
            break
        program = programs.load(name)
        inputs = _INPUTS[name](log_t)
        for count in counts:
            t0 = time.perf_counter()
            _, stats = prove(program, inputs, profile=profile, threads=count)
            seconds = time.perf_counter() - t0
            proving += seconds
            # The AIR and T the prover used (ProveStats names both).
            shape = ProofShape.of(program, stats, profile)
            samples.append(Sample(shape, count, seconds, stats.timings.get("grinding")))
    return Calibration(
        profile=profile,
        threads=counts,
        samples=tuple(samples),
        hash_seconds=hash_seconds,
        seconds=time.perf_counter() - started,
    )


def calibration_for(
    profile: str, threads: Sequence[int], *, cache_dir: Path | None = None
) -> Calibration:
    """The calibration of ``profile`` with ``threads`` for this process: measured once,
    then reused; read from and written to ``cache_dir`` when one is given."""
    counts = tuple(sorted({max(1, t) for t in threads}))
    key = (profile, counts)
    known = _memo.get(key)
    if known is not None:
        return known
    path = None
    if cache_dir is not None:
        path = cache_file(cache_dir)
        known = _load(path, profile, counts)
        if known is not None:
            _memo[key] = known
            log.debug("calibration.loaded", path=str(path), profile=profile, threads=counts)
            return known
    result = calibrate(profile, counts)
    _memo[key] = result
    log.info(
        "calibration.measured",
        profile=profile,
        threads=counts,
        proofs=len(result.samples),
        seconds=round(result.seconds, 3),
        hash_ns=round(result.hash_seconds * 1e9, 2),
    )
    if path is not None:
        _store(path, result)
    return result


def learn(samples: Iterable[Sample]) -> None:
    """Keep proofs a runtime measured, for later runtimes of this process (the most
    recent :data:`LEARNED`)."""
    _learned.extend(samples)


def learned() -> list[Sample]:
    """The proofs kept by :func:`learn`, oldest first."""
    return list(_learned)


def forget() -> None:
    """Drop this process's calibrations and learnt proofs (the next runtime measures
    afresh)."""
    _memo.clear()
    _learned.clear()


# ---- the on-disk cache ----


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/zkactors``, or ``~/.cache/zkactors``."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "zkactors"


def machine_fingerprint() -> str:
    """A digest of what the coefficients depend on: CPU model and count, architecture,
    Python version and the native prover's build (its file's size and mtime)."""
    parts = [platform.machine(), platform.processor(), str(os.cpu_count())]
    parts.append(platform.python_version())
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as cpuinfo:
            parts += sorted({line for line in cpuinfo if line.startswith("model name")})
    except OSError:
        pass
    try:
        import zkactors._native.prover as native

        stat = os.stat(native.__file__ or "")
        parts.append(f"{stat.st_size}:{stat.st_mtime_ns}")
    except (OSError, TypeError):
        pass
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def cache_file(cache_dir: Path) -> Path:
    return Path(cache_dir) / f"calibration-{__version__}-{machine_fingerprint()}.json"


def _entry_key(profile: str, counts: tuple[int, ...]) -> str:
    return f"{profile}/{','.join(map(str, counts))}"


def _load(path: Path, profile: str, counts: tuple[int, ...]) -> Calibration | None:
    try:
        document = json.loads(path.read_text())
        entry = document["calibrations"][_entry_key(profile, counts)]
        samples = tuple(
            Sample(
                ProofShape(profile, int(s["T"]), int(s["w"]), int(s["C"]), int(s.get("air", 1))),
                int(s["threads"]),
                float(s["seconds"]),
                None if s.get("grinding") is None else float(s["grinding"]),
            )
            for s in entry["samples"]
        )
        return Calibration(
            profile,
            counts,
            samples,
            float(entry["hash_seconds"]),
            float(entry["seconds"]),
            source=str(path),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _store(path: Path, result: Calibration) -> None:
    try:
        document: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
    except (OSError, ValueError):
        document = {}
    entries = document.setdefault("calibrations", {})
    entries[_entry_key(result.profile, result.threads)] = {
        "hash_seconds": result.hash_seconds,
        "seconds": result.seconds,
        "measured": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "samples": [
            {
                "T": s.shape.trace_length,
                "w": s.shape.trace_width,
                "C": s.shape.constraints,
                "air": s.shape.air,
                "threads": s.threads,
                "seconds": s.seconds,
                "grinding": s.grinding_seconds,
            }
            for s in result.samples
        ],
    }
    document["version"] = __version__
    document["fingerprint"] = machine_fingerprint()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_text(json.dumps(document, indent=1) + "\n")
        temporary.replace(path)
    except OSError as exc:
        log.warning("calibration.not_stored", path=str(path), error=str(exc))


__all__ = [
    "Calibration",
    "calibrate",
    "calibration_for",
    "default_cache_dir",
    "forget",
    "learn",
    "learned",
    "machine_fingerprint",
    "measure_hash_seconds",
]
