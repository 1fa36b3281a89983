"""Which vector kernels the native core runs, and how to choose them.

The C core has three kernel levels for its field arithmetic and NTTs (``ext/cpu.h``):
``scalar`` (portable C), ``avx2`` (4 lanes) and ``avx512`` (8 lanes, and the 16-lane
AVX-512 SHA-256 for many messages). SHA-NI is used at every level where the CPU has it.
By default each process uses the best level its CPU supports. The environment variable
``ZKACTORS_KERNELS=scalar|avx2|avx512`` caps it; it is read once, when the native code
first needs it, and asking for more than the CPU has gives what the CPU has. Every level
computes the same values, so receipts are byte-identical whichever runs; only speed
differs.

:func:`forced` switches every native module at once (each module holds its own copy of
the C state), for tests and benchmarks that compare levels inside one process.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from zkactors._native import field as _field
from zkactors._native import primitives as _primitives
from zkactors._native import prover as _prover
from zkactors._native import verifier as _verifier

LEVELS = ("scalar", "avx2", "avx512")
_MODULES = (_primitives, _prover, _verifier, _field)


def cpu_level() -> str:
    """The best level this CPU supports."""
    return str(_prover.cpu_kernels())


def available() -> tuple[str, ...]:
    """Every level this CPU can run, slowest first."""
    return LEVELS[: LEVELS.index(cpu_level()) + 1]


def in_use() -> str:
    """The level the prover uses now (forced, else ``ZKACTORS_KERNELS``, else the CPU's)."""
    return str(_prover.kernels_in_use())


def sha256_kernel() -> str:
    """The SHA-256 kernels the Merkle trees use now."""
    if _primitives.sha256_has_multibuffer():
        return "avx512-16lane+sha-ni" if _primitives.sha256_has_shani() else "avx512-16lane"
    return "sha-ni" if _primitives.sha256_has_shani() else "portable"


def cpu_features() -> dict[str, Any]:
    """The CPU's model name and the instruction-set extensions the kernels care about
    (from ``/proc/cpuinfo``; empty where that is not available)."""
    model, flags = "", set[str]()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name" and not model:
                model = value.strip()
            elif key.strip() == "flags" and not flags:
                flags = set(value.split())
    except OSError:
        pass
    wanted = ("avx2", "avx512f", "avx512bw", "sha_ni", "bmi2", "adx")
    return {"model": model, "flags": [flag for flag in wanted if flag in flags]}


def describe() -> dict[str, Any]:
    """What a benchmark records beside its figures: the CPU, its features, the best
    level it supports and the kernels in use."""
    return {
        "cpu": cpu_features(),
        "cpu_level": cpu_level(),
        "kernels": in_use(),
        "sha256": sha256_kernel(),
    }


@contextlib.contextmanager
def forced(level: str | None) -> Iterator[str]:
    """Run the block with ``level`` forced in every native module (clamped to the CPU's
    level; ``None`` means the environment's choice); yields the level actually in use.
    Process-wide: not for use while other threads prove."""
    if level is not None and level not in LEVELS:
        raise ValueError(f"unknown kernel level {level!r}; expected one of {LEVELS}")
    previous = [module.force_kernels(level) for module in _MODULES]
    try:
        yield in_use()
    finally:
        for module, before in zip(_MODULES, previous, strict=True):
            module.force_kernels(before)
