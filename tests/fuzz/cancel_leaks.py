"""Check that cancelled proofs free everything: build tests/fuzz/cancel_leaks.c against
the prover's C sources with AddressSanitizer, UndefinedBehaviorSanitizer and
LeakSanitizer, and cancel proofs at points spread over every step.

Usage, from the repository root (needs a C compiler with the sanitizers)::

    python tests/fuzz/cancel_leaks.py [LOG_ROWS [THREADS [RUNS]]]

The span over which the cancels are spread is one uncancelled proof's time under the
sanitizers, measured first. Exit status: the harness's (non-zero on a leak, a sanitizer
report, or a return code other than OK / CANCELLED).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("stark_prover", "air", "transcript", "hash", "merkle", "ntt", "parallel", "vm")


def main(argv: list[str]) -> int:
    log_rows = int(argv[0]) if argv else 13
    threads = int(argv[1]) if len(argv) > 1 else 2
    runs = int(argv[2]) if len(argv) > 2 else 40
    sys.path.insert(0, str(ROOT))
    from zkactors import profiles, programs

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        program = work / "fib.bin"
        program.write_bytes(programs.load("fib").to_bytes())
        binary = work / "cancel_leaks"
        cc = os.environ.get("CC", "cc")
        subprocess.run(
            [
                cc,
                "-O1",
                "-g",
                "-fsanitize=address,undefined",
                "-fno-omit-frame-pointer",
                f"-I{ROOT / 'ext'}",
                str(ROOT / "tests" / "fuzz" / "cancel_leaks.c"),
                *(str(ROOT / "ext" / f"{name}.c") for name in SOURCES),
                "-o",
                str(binary),
                "-pthread",
                "-lm",
            ],
            check=True,
        )
        env = {**os.environ, "ASAN_OPTIONS": "detect_leaks=1:abort_on_error=1"}
        profile = str(profiles.get("default").id)
        args = [str(binary), str(program), str(log_rows), profile, str(threads)]
        # One uncancelled proof: its time is the span the cancels must cover.
        started = time.perf_counter()
        subprocess.run([*args, "1", "-1"], env=env, check=True)
        span_ms = (time.perf_counter() - started) * 1e3
        done = subprocess.run([*args, str(runs), f"{span_ms:.0f}"], env=env, check=False)
        return done.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
