"""The native modules release the GIL: Python code keeps running during a native call.

The proof is an observation, not a timing: while a native call works through a buffer,
the main thread reads the buffer and sees it in an *intermediate* state. Under a held
GIL the main thread could only ever see it untouched or finished.
"""

from __future__ import annotations

import array
import random
import threading
from collections.abc import Callable

from zkactors._native import field as native_field
from zkactors._native import primitives as prim

P = 2**64 - 2**32 + 1


def test_powers_into_matches_python() -> None:
    out = array.array("Q", bytes(8 * 100))
    native_field.powers_into(3, memoryview(out))
    assert list(out) == [pow(3, i, P) for i in range(100)]


def _observe(call: Callable[[], None], intermediate: Callable[[], bool]) -> bool:
    """Run call on a worker thread; True iff the main thread saw an intermediate state."""
    worker = threading.Thread(target=call)
    worker.start()
    seen = False
    while worker.is_alive():
        if intermediate():
            seen = True
    worker.join()
    return seen


def _powers_partly_filled(n: int) -> bool:
    sentinel = P  # not canonical, so never a value powers_into writes
    out = array.array("Q", [sentinel]) * n
    seen = _observe(
        lambda: native_field.powers_into(5, memoryview(out)),
        lambda: out[0] != sentinel and out[n - 1] == sentinel,
    )
    assert out[n - 1] == pow(5, n - 1, P)
    return seen


def test_field_kernels_release_the_gil() -> None:
    # Several attempts: the OS may not schedule the main thread inside one short call,
    # least of all on a busy machine.
    assert any(_powers_partly_filled(1 << 24) for _ in range(25))


def _leaves_partly_hashed(n_rows: int) -> bool:
    elems = array.array("Q", [1]) * (16 * n_rows)
    out = bytearray(32 * n_rows)
    seen = _observe(
        lambda: prim.hash_rows_into(elems, 16, out),
        lambda: out[:32] != bytes(32) and out[-32:] == bytes(32),
    )
    assert out[-32:] == prim.hash_rows(elems[:16], 16)
    return seen


def test_hashing_releases_the_gil() -> None:
    assert any(_leaves_partly_hashed(1 << 17) for _ in range(25))


def _ntt_seen_midway(log_n: int) -> bool:
    rng = random.Random(log_n)
    coeffs = [rng.randrange(P) for _ in range(1 << log_n)]
    values = array.array("Q", coeffs)
    last = len(values) - 1
    # The last element changes once per layer of the transform; a value that is neither
    # the input nor the output can only be seen while the transform runs.
    expected = array.array("Q", coeffs)
    prim.ntt(expected)
    endpoints = {coeffs[last], expected[last]}
    return _observe(lambda: prim.ntt(values), lambda: values[last] not in endpoints)


def test_ntt_releases_the_gil() -> None:
    assert any(_ntt_seen_midway(20) for _ in range(25))
