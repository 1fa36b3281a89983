"""Cancellation: a cancelled native proof raises ProofCancelled and leaves its thread as it
found it; the runtime stops a proof once no request waits for it, and only then; Ctrl-C
on ``zkactors prove`` exits 130 without a traceback.

Every assertion is logical (what was cancelled, who got which answer): no test here
measures time. The latency figure is ``zkactors bench cancel``'s.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from array import array
from pathlib import Path
from typing import Any

import anyio
import pytest
from runtime_doubles import FaultInjectingTestProver, wait_until

import zkactors
import zkactors._native.prover as native
from zkactors import RuntimeConfig, ZkRuntime, profiles, programs
from zkactors.errors import ProofCancelled
from zkactors.zkvm.prover import CancelToken, prove_with_stats
from zkactors.zkvm.receipt import Receipt
from zkactors.zkvm.verifier import verify

FIB = programs.load("fib")


def fib_rows(log_rows: int) -> int:
    """The fib input whose run fills a trace of exactly 2^log_rows rows."""
    return (2**log_rows - 5) // 6


def config(**overrides: Any) -> RuntimeConfig:
    return RuntimeConfig(**{"profile": "test", "max_parallel": 2, **overrides})


# ---- the native prover ----


def _cancel_mid_proof(threads: int) -> tuple[int, bytes | None, bytes]:
    """In one worker thread: a proof cancelled once its first step is done, then an
    uncancelled proof of a small run with a fresh flag. Returns the first's code and
    receipt, and the second's receipt."""
    flag, progress = array("i", [0]), array("I", [0])
    profile = profiles.get("default").id
    results: dict[str, Any] = {}

    def work() -> None:
        code, receipt, _ = native.prove(
            FIB.to_bytes(), array("Q", [fib_rows(16)]), profile, threads, 1 << 40, progress, flag
        )
        results["first"] = (code, receipt)
        fresh = CancelToken()
        results["second"] = prove_with_stats(FIB, [30], threads=threads, cancel=fresh)[0]

    worker = threading.Thread(target=work)
    worker.start()
    # Cancel once step 1 (LDE and trace commitment) is done: steps 2-7 of a 2^16-row
    # proof remain, far more than the moment between reading the step and cancelling.
    while progress[0] < 1 and worker.is_alive():
        threading.Event().wait(0.001)
    native.cancel(flag)
    worker.join()
    code, receipt = results["first"]
    return code, receipt, results["second"].to_bytes()


@pytest.mark.parametrize("threads", [1, 2])
def test_a_cancelled_native_proof_stops_and_the_thread_proves_normally_afterwards(
    threads: int,
) -> None:
    code, receipt, later = _cancel_mid_proof(threads)
    assert code == native.CANCELLED
    assert receipt is None
    # The flag binding does not outlive the cancelled call: the next proof on the same
    # thread is the very receipt an uncancelled call makes.
    assert later == zkactors.prove(FIB, [30]).to_bytes()


def test_a_cancelled_token_raises_proof_cancelled() -> None:
    token = CancelToken()
    assert not token.cancelled
    token.cancel()
    token.cancel()  # idempotent
    assert token.cancelled
    with pytest.raises(ProofCancelled):
        zkactors.prove(FIB, [30], cancel=token)
    with pytest.raises(ProofCancelled):
        prove_with_stats(FIB, [30], threads=2, cancel=token)


def test_a_token_cancelled_from_another_thread_raises_proof_cancelled() -> None:
    token = CancelToken()
    errors: list[BaseException] = []

    def work() -> None:
        try:
            zkactors.prove(FIB, [fib_rows(18)], threads=2, cancel=token)
        except BaseException as exc:
            errors.append(exc)

    worker = threading.Thread(target=work)
    worker.start()
    token.cancel()
    worker.join()
    # Cancelled before it started or while it ran: either way the typed error.
    assert len(errors) == 1 and isinstance(errors[0], ProofCancelled)


def test_cancel_must_be_a_token() -> None:
    with pytest.raises(TypeError, match="CancelToken"):
        zkactors.prove(FIB, [30], cancel=object())  # type: ignore[arg-type]
    assert isinstance(zkactors.CancelToken(), CancelToken)


def test_an_uncancelled_token_changes_nothing() -> None:
    with_token = zkactors.prove(FIB, [40], cancel=CancelToken(), profile="test")
    assert with_token.to_bytes() == zkactors.prove(FIB, [40], profile="test").to_bytes()


# ---- the runtime ----


@pytest.mark.anyio
async def test_the_runtime_cancels_a_proof_when_its_only_caller_leaves() -> None:
    prover = FaultInjectingTestProver()
    prover.hold()
    async with ZkRuntime(config(), _prover=prover) as rt:
        with anyio.move_on_after(0.05) as scope:
            await rt.prove(FIB, (50,))
        assert scope.cancelled_caught
        await wait_until(lambda: rt.metrics().proofs_cancelled == 1)
        snapshot = rt.metrics()
        assert prover.cancelled == 1
        assert snapshot.proofs == 0 and snapshot.proof_failures == 0
        # The caller that left was answered once, by itself; nothing is in flight.
        assert snapshot.failures == {"ProofCancelled": 1}
        assert snapshot.in_flight == 0
        prover.release()
        receipt = await rt.prove(FIB, (50,))  # the same proof, asked for again: made anew
    verify(receipt, FIB, min_security_bits=0)
    assert prover.calls == [(50,), (50,)]


@pytest.mark.anyio
async def test_a_coalesced_waiter_keeps_the_proof_alive() -> None:
    prover = FaultInjectingTestProver()
    prover.hold()
    receipts: list[Receipt] = []

    async def stays(rt: ZkRuntime) -> None:
        receipts.append(await rt.prove(FIB, (51,)))

    async with ZkRuntime(config(), _prover=prover) as rt:
        async with anyio.create_task_group() as tg:
            tg.start_soon(stays, rt)
            await wait_until(lambda: rt.metrics().misses == 1)
            with anyio.move_on_after(0.05):
                await rt.prove(FIB, (51,))  # coalesced with the first, then leaves
            assert rt.metrics().coalesced == 1
            prover.release()
        snapshot = rt.metrics()
    assert len(receipts) == 1
    verify(receipts[0], FIB, min_security_bits=0)
    assert prover.cancelled == 0
    assert snapshot.proofs_cancelled == 0
    assert snapshot.proofs == 1
    assert snapshot.failures == {"ProofCancelled": 1}  # the caller that left


@pytest.mark.anyio
async def test_a_queued_proof_nobody_waits_for_never_runs() -> None:
    # One prover: a proof someone waits for holds it, and the second request's caller
    # leaves while its job is still queued behind it.
    prover = FaultInjectingTestProver()
    prover.hold()
    receipts: list[Receipt] = []

    async def stays(rt: ZkRuntime) -> None:
        receipts.append(await rt.prove(FIB, (52,)))

    async with ZkRuntime(config(max_parallel=1), _prover=prover) as rt:
        async with anyio.create_task_group() as tg:
            tg.start_soon(stays, rt)
            await wait_until(lambda: rt.metrics().queue_depths["proofs_running"] == 1)
            with anyio.CancelScope() as scope:
                tg.start_soon(_leave_when_queued, rt, scope)
                await rt.prove(FIB, (53,))
            prover.release()
        await wait_until(lambda: rt.metrics().proofs_cancelled == 1)
        snapshot = rt.metrics()
    assert prover.calls == [(52,)]
    assert len(receipts) == 1
    assert snapshot.proofs == 1


async def _leave_when_queued(rt: ZkRuntime, scope: anyio.CancelScope) -> None:
    await wait_until(lambda: rt.metrics().queue_depths["proofs_queued"] == 1)
    scope.cancel()


@pytest.mark.anyio
async def test_prove_many_and_handles_give_their_proofs_up() -> None:
    prover = FaultInjectingTestProver()
    prover.hold()
    async with ZkRuntime(config(), _prover=prover) as rt:
        with anyio.move_on_after(0.05):
            await rt.prove_many([(FIB, (60,)), (FIB, (61,))])
        handle = rt.try_prove(FIB, (62,))
        with anyio.move_on_after(0.05):
            await handle  # a cancelled await keeps the request: the handle may wait again
        assert not handle.done()
        handle.cancel()
        with pytest.raises(ProofCancelled):
            await handle
        await wait_until(lambda: rt.metrics().proofs_cancelled == 3)
        assert rt.metrics().in_flight == 0
    assert prover.cancelled == 3


@pytest.mark.anyio
async def test_a_request_arriving_while_its_proof_is_cancelled_still_gets_a_receipt() -> None:
    prover = FaultInjectingTestProver()
    prover.hold()
    async with ZkRuntime(config(), _prover=prover) as rt:
        with anyio.move_on_after(0.05):
            await rt.prove(FIB, (70,))
        # Joins the cancelled flight (proved anew when its cancellation comes back) or
        # starts a new one: either way, a receipt.
        prover.release()
        receipt = await rt.prove(FIB, (70,))
    verify(receipt, FIB, min_security_bits=0)


@pytest.mark.anyio
async def test_a_drain_shutdown_does_not_wait_for_proofs_nobody_waits_for() -> None:
    # The gate is never released: draining would wait forever for a proof that was not
    # cancelled. fail_after only turns such a hang into a failure.
    prover = FaultInjectingTestProver()
    prover.hold()
    with anyio.fail_after(60):
        async with ZkRuntime(config(shutdown="drain"), _prover=prover) as rt:
            with anyio.move_on_after(0.05):
                await rt.prove(FIB, (80,))
            await wait_until(lambda: prover.calls == [(80,)])
    assert rt.metrics().proofs_cancelled == 1
    assert rt._open_channels() == 0


@pytest.mark.anyio
async def test_a_running_native_proof_stops_when_its_caller_leaves() -> None:
    async with ZkRuntime(config(profile="default", calibrate="off")) as rt:
        with anyio.CancelScope() as scope:

            async def leave_once_running() -> None:
                await wait_until(lambda: rt.metrics().queue_depths["proofs_running"] == 1)
                scope.cancel()

            async with anyio.create_task_group() as tg:
                tg.start_soon(leave_once_running)
                await rt.prove(FIB, (fib_rows(18),))
        await wait_until(lambda: rt.metrics().proofs_cancelled == 1)
        snapshot = rt.metrics()
    assert snapshot.proofs == 0
    assert snapshot.proof_failures == 0


# ---- the CLI ----


def test_ctrl_c_on_zkactors_prove_exits_130_without_a_traceback(tmp_path: Path) -> None:
    out = tmp_path / "fib.rcpt"
    env = {**os.environ, "PYTHONPATH": str(Path(zkactors.__file__).parent.parent)}
    # The signal is sent once the proving thread runs, so it lands in the proof.
    proc = subprocess.Popen(
        [sys.executable, "-m", "zkactors", "prove", "fib", str(fib_rows(20)), "-o", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        _wait_for_prover_thread(proc.pid)
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert "interrupted" in stderr
    assert stdout == ""
    assert not out.exists()


def _wait_for_prover_thread(pid: int) -> None:
    """Wait until the CLI runs its proving thread: a second thread in /proc on Linux
    (the command starts no other); elsewhere, give the interpreter time to start."""
    task_dir = Path(f"/proc/{pid}/task")
    if not task_dir.is_dir():  # pragma: no cover - not Linux
        threading.Event().wait(5.0)
        return
    for _ in range(12000):
        try:
            if len(list(task_dir.iterdir())) >= 2:
                return
        except OSError:
            pass
        threading.Event().wait(0.01)
    raise AssertionError("the prove command never started its proving thread")


@pytest.mark.anyio
async def test_a_cancel_shutdown_stops_running_proofs_instead_of_waiting_for_them() -> None:
    # shutdown="cancel" answers every request itself, so the running proof is stopped:
    # with the gate never released, waiting for it would hang (fail_after only turns
    # such a hang into a failure).
    prover = FaultInjectingTestProver()
    prover.hold()
    outcomes: list[BaseException] = []

    async def caller(rt: ZkRuntime) -> None:
        try:
            await rt.prove(FIB, (90,))
        except zkactors.errors.ZkActorsError as exc:
            outcomes.append(exc)

    with anyio.fail_after(60):
        async with (
            anyio.create_task_group() as tg,
            ZkRuntime(config(shutdown="cancel"), _prover=prover) as rt,
        ):
            tg.start_soon(caller, rt)
            await wait_until(lambda: prover.calls == [(90,)])
    assert prover.cancelled == 1
    assert len(outcomes) == 1 and isinstance(outcomes[0], zkactors.errors.RuntimeClosed)
    assert rt._open_channels() == 0
