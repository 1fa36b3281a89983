"""Test doubles for the runtime tests. TEST ONLY: never import these from library code.

They are injected through ``ZkRuntime``'s private, test-only ``_prover`` / ``_execute``
parameters. They *wrap* the real native prover and executor: receipts they return are
real and verifiable; what they add is faults on request (typed errors, crashes), a gate
to hold proofs in flight, and counters, so tests can say exactly how many proofs ran.
They are called from worker threads, so their own bookkeeping uses a lock (this is test
code; the runtime itself has none).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

from zkactors.errors import ZkActorsError
from zkactors.runtime.costmodel import ProofShape
from zkactors.zkvm.execute import Execution, execute
from zkactors.zkvm.program import Program
from zkactors.zkvm.prover import CancelToken, prove_with_stats
from zkactors.zkvm.receipt import Receipt


class InjectedCrash(RuntimeError):
    """The exception a test double raises to simulate a crash (an untyped failure)."""


def _runtime_prove(*args: Any, **kwargs: Any) -> Receipt:
    # What the runtime's own prover calls (prove_with_stats): unlike the public prove(),
    # it emits no log event, so the runtime's events are the only ones of a proof.
    return prove_with_stats(*args, **kwargs)[0]


class FaultInjectingTestProver:
    """TEST DOUBLE for ``zkactors.zkvm.prover.prove``: the real prover plus faults.

    - ``fail_on(inputs, error)``: calls with these inputs raise the typed ``error`` (the
      request gets it as its answer; the prover actor survives);
    - ``crash_on(inputs)``: calls with these inputs raise ``InjectedCrash`` (the prover
      actor crashes and is restarted; the request gets ``ActorCrashed``);
    - ``hold()`` / ``release()``: while held, every call waits before proving, so tests
      can keep proofs in flight deterministically. A call whose cancel token is cancelled
      stops waiting and goes on to the real prover, which raises ``ProofCancelled``
      (``cancelled`` counts those calls).

    ``times`` limits how many calls a fault applies to (None: all).
    """

    def __init__(self, real: Callable[..., Receipt] = _runtime_prove) -> None:
        self._real = real
        self._lock = threading.Lock()
        self._faults: dict[tuple[int, ...], list[Any]] = {}
        self._gate = threading.Event()
        self._gate.set()
        self.calls: list[tuple[int, ...]] = []
        self.threads_used: list[int] = []
        self.completed = 0
        self.cancelled = 0
        self.active = 0
        self.max_active = 0
        self.entered = threading.Semaphore(0)

    def fail_on(
        self, inputs: Sequence[int], error: ZkActorsError, *, times: int | None = None
    ) -> None:
        self._faults[tuple(inputs)] = [error, times]

    def crash_on(self, inputs: Sequence[int], *, times: int | None = None) -> None:
        self._faults[tuple(inputs)] = [InjectedCrash(f"injected crash on {tuple(inputs)}"), times]

    def hold(self) -> None:
        self._gate.clear()

    def release(self) -> None:
        self._gate.set()

    def wait_entered(self, count: int = 1, timeout: float = 10.0) -> None:
        """Block (in a thread) until ``count`` more calls have started."""
        for _ in range(count):
            if not self.entered.acquire(timeout=timeout):
                raise TimeoutError("the prover was not called in time")

    def __call__(
        self,
        program: Program,
        inputs: Sequence[int],
        *,
        profile: str,
        threads: int = 1,
        max_cycles: int = 2**22,
        cancel: CancelToken | None = None,
    ) -> Receipt:
        key = tuple(inputs)
        with self._lock:
            self.calls.append(key)
            self.threads_used.append(threads)
            self.active += 1
            self.max_active = max(self.max_active, self.active)
            fault = self._faults.get(key)
            error = None
            if fault is not None and (fault[1] is None or fault[1] > 0):
                error = fault[0]
                if fault[1] is not None:
                    fault[1] -= 1
        self.entered.release()
        try:
            while not self._gate.wait(0.01):
                if cancel is not None and cancel.cancelled:
                    break
            if cancel is not None and cancel.cancelled:
                with self._lock:
                    self.cancelled += 1
            if error is not None:
                raise error
            extra = {} if cancel is None else {"cancel": cancel}
            return self._real(
                program, inputs, profile=profile, threads=threads, max_cycles=max_cycles, **extra
            )
        finally:
            with self._lock:
                self.active -= 1
                self.completed += 1


class CrashingTestExecute:
    """TEST DOUBLE for ``zkactors.zkvm.execute.execute``: the real executor, except that
    calls with the inputs given to ``crash_on`` raise ``InjectedCrash`` (the estimator
    actor crashes)."""

    def __init__(self) -> None:
        self._crash: dict[tuple[int, ...], int | None] = {}
        self.calls = 0

    def crash_on(self, inputs: Sequence[int], *, times: int | None = None) -> None:
        self._crash[tuple(inputs)] = times

    def __call__(self, program: Program, inputs: Sequence[int], *, max_cycles: int) -> Execution:
        self.calls += 1
        key = tuple(inputs)
        if key in self._crash:
            times = self._crash[key]
            if times is None or times > 0:
                if times is not None:
                    self._crash[key] = times - 1
                raise InjectedCrash(f"injected estimator crash on {key}")
        return execute(program, inputs, max_cycles=max_cycles)


async def wait_until(condition: Callable[[], bool], *, limit: float = 20.0) -> None:
    """Poll ``condition`` (between event-loop turns) until it holds; fail after ``limit``
    seconds (a generous bound for a hung test, never a performance assertion). Polling is
    the point: the conditions read metrics snapshots, which signal nothing."""
    import anyio

    with anyio.fail_after(limit):
        while not condition():  # noqa: ASYNC110
            await anyio.sleep(0.001)


class RowsTestCostModel:
    """TEST DOUBLE for the runtime's cost model: a fixed ``per_row`` seconds per trace row,
    divided by ``1 + (threads - 1) * efficiency``, so tests know every estimate exactly.
    Records what it is asked to learn in ``observed``."""

    def __init__(self, per_row: float = 1e-3, efficiency: float = 0.5) -> None:
        self.per_row = per_row
        self.efficiency = efficiency
        self.observed: list[tuple[ProofShape, int, float]] = []

    def predict(self, shape: ProofShape, threads: int = 1, *, shared: bool = False) -> float:
        return self.per_row * shape.trace_length / (1 + (threads - 1) * self.efficiency)

    def observe(
        self,
        shape: ProofShape,
        threads: int,
        seconds: float,
        *,
        grinding_seconds: float | None = None,
        shared: bool = False,
    ) -> None:
        self.observed.append((shape, threads, seconds))
