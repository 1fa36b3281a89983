"""The native module releases the GIL: Python code keeps running during a native call.

The proof is an observation, not a timing: while ``powers_into`` fills a buffer in
order, the main thread reads the buffer and sees it *partly* filled. Under a held GIL
the main thread could only ever see it untouched or complete.
"""

from __future__ import annotations

import array
import threading

from zkactors._native import field as native_field

P = 2**64 - 2**32 + 1


def test_powers_into_matches_python() -> None:
    out = array.array("Q", bytes(8 * 100))
    native_field.powers_into(3, memoryview(out))
    assert list(out) == [pow(3, i, P) for i in range(100)]


def _observes_partial_fill(n: int) -> bool:
    sentinel = P  # not canonical, so never a value powers_into writes
    out = array.array("Q", [sentinel]) * n
    view = memoryview(out)
    worker = threading.Thread(target=native_field.powers_into, args=(5, view))
    worker.start()
    seen_partial = False
    while worker.is_alive():
        if out[0] != sentinel and out[n - 1] == sentinel:
            seen_partial = True
    worker.join()
    assert out[n - 1] == pow(5, n - 1, P)
    return seen_partial


def test_other_threads_run_during_native_call() -> None:
    # A few attempts: the OS may not schedule the main thread inside one short call.
    assert any(_observes_partial_fill(1 << 24) for _ in range(5))
