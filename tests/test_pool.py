"""The prover's buffer pool (ext/pool.h): large buffers are kept across proofs and handed
out again, every buffer a proof takes comes back, and ZKACTORS_POOL_MB bounds what is
kept. Each case runs in a fresh process, so the pool starts empty and the variable (read
once) applies.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from zkactors import programs
from zkactors._native import prover as native
from zkactors.zkvm.prover import prove

_PROBE = """
import json
from zkactors import programs
from zkactors._native import prover
from zkactors.zkvm.prover import prove
seen = []
for n in (400, 400, 30, 400):  # T = 4096 twice, a small proof, T = 4096 again
    receipt = prove(programs.load("fib"), [n], threads=2)
    seen.append(prover.pool_stats())
prover.pool_trim()
seen.append(prover.pool_stats())
print(json.dumps(seen))
"""


def _run(pool_mb: str | None) -> list[dict[str, int]]:
    env = {k: v for k, v in os.environ.items() if k != "ZKACTORS_POOL_MB"}
    if pool_mb is not None:
        env["ZKACTORS_POOL_MB"] = pool_mb
    done = subprocess.run(
        [sys.executable, "-c", _PROBE], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    result: list[dict[str, int]] = json.loads(done.stdout)
    return result


def test_buffers_are_reused_and_all_come_back() -> None:
    first, second, small, again, trimmed = _run(None)
    assert first["cap_bytes"] == 512 << 20
    # every buffer mapped for the first proof is idle again once it returns
    assert first["misses"] > 0 and first["idle_buffers"] == first["misses"]
    # the same proof again maps nothing new: every large request is a hit
    assert second["misses"] == first["misses"]
    assert second["hits"] - first["hits"] >= first["misses"]
    assert second["idle_buffers"] == first["idle_buffers"]
    assert again["misses"] == small["misses"]
    for stats in (first, second, small, again):
        assert stats["idle_bytes"] <= stats["cap_bytes"]
    assert trimmed["idle_buffers"] == 0 and trimmed["idle_bytes"] == 0


def test_the_cap_bounds_what_is_kept() -> None:
    for stats in _run("0")[:-1]:
        assert stats["idle_buffers"] == 0 and stats["idle_bytes"] == 0
        assert stats["hits"] == 0  # nothing kept, nothing reused
    for stats in _run("1")[:-1]:
        assert stats["idle_bytes"] <= 1 << 20


def test_receipts_do_not_depend_on_the_pool() -> None:
    """Reused buffers hold the previous proof's values; every step writes before it
    reads, so a proof after others equals a proof on fresh memory."""
    program = programs.load("fib")
    native.pool_trim()
    fresh = prove(program, [400], threads=2)
    prove(program, [777], threads=2)  # leaves other values in the same buffers
    assert prove(program, [400], threads=2) == fresh
