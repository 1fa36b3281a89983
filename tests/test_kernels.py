"""The kernel switch (zkactors.kernels, ext/cpu.h): ZKACTORS_KERNELS picks the level in
every native module of a fresh process, never above what the CPU has, and receipts are
byte-identical on every level. Levels are forced in subprocesses here (the variable is
read once per process), so the AVX2 path runs on an AVX-512 machine too.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys

import pytest

from zkactors import kernels, programs
from zkactors.zkvm.prover import prove

_PROBE = """
import hashlib, json
from zkactors import kernels, programs
from zkactors._native import field, primitives, prover, verifier
from zkactors.zkvm.prover import prove
receipt = prove(programs.load("fib"), [400], threads=2)
print(json.dumps({
    "modules": [m.kernels_in_use() for m in (field, primitives, prover, verifier)],
    "describe": kernels.describe(),
    "receipt": hashlib.sha256(receipt.to_bytes()).hexdigest(),
}))
"""


def _probe(value: str | None) -> dict[str, object]:
    env = {k: v for k, v in os.environ.items() if k != "ZKACTORS_KERNELS"}
    if value is not None:
        env["ZKACTORS_KERNELS"] = value
    done = subprocess.run(
        [sys.executable, "-c", _PROBE], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout)
    return result


def test_environment_selects_the_level_and_receipts_do_not_change() -> None:
    """fib(400) on the default profile: T = 4096, so the threaded LDE, the radix-4
    passes and the leaves all run on each level."""
    with kernels.forced(None):
        expected = hashlib.sha256(prove(programs.load("fib"), [400]).to_bytes()).hexdigest()
    for level in kernels.available():
        got = _probe(level)
        assert got["modules"] == [level] * 4
        describe = got["describe"]
        assert isinstance(describe, dict) and describe["kernels"] == level
        assert describe["cpu_level"] == kernels.cpu_level()
        if level != "avx512":  # the 16-lane SHA-256 belongs to the AVX-512 level
            assert describe["sha256"] in ("sha-ni", "portable")
        assert got["receipt"] == expected, level


def test_unknown_or_absent_value_means_the_best_level() -> None:
    for value in (None, "auto", "sse9"):
        assert _probe(value)["modules"] == [kernels.cpu_level()] * 4


def test_forcing_is_clamped_to_the_cpu_and_undone() -> None:
    before = kernels.in_use()
    with kernels.forced("avx512") as level:
        assert level == kernels.cpu_level()
    with kernels.forced("scalar") as level:
        assert level == "scalar" and "avx512" not in kernels.sha256_kernel()
    assert kernels.in_use() == before
    with pytest.raises(ValueError, match="unknown kernel level"), kernels.forced("neon"):
        pass
