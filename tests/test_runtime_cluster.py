"""Proving on a Dask cluster (``RuntimeConfig(dask_scheduler=...)``): a LocalCluster of two
worker processes, the runtime's own ``"local"`` cluster, a scheduler and two workers
started with the ``dask`` command as a user deploys them, a worker killed mid-proof, the
scheduler going away mid-workload, an unreachable scheduler, and the receipt check that
keeps a worker from being trusted more than a store. Every test runs on asyncio and trio.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import attrs
import distributed
import pytest

import zkactors
from zkactors import RuntimeConfig, ZkRuntime, programs
from zkactors.errors import ClusterError, ConfigError, ProofCancelled, RuntimeClosed
from zkactors.runtime.cluster import ClusterProver, _checked_receipt
from zkactors.zkvm.prover import CancelToken, prove, prove_with_stats
from zkactors.zkvm.receipt import Receipt
from zkactors.zkvm.verifier import verify

pytestmark = pytest.mark.anyio

FIB = programs.load("fib")
#: A proof of about a second or more here: long enough to kill its worker mid-proof.
LONG = 25_000
#: The directory that holds the zkactors being tested (for the workers' PYTHONPATH).
SOURCE_ROOT = str(Path(zkactors.__file__).resolve().parents[1])
#: A scheduler's HTTP server on any free port (its default, 8787, may be taken).
QUIET_SCHEDULER = {"dashboard": False, "dashboard_address": ":0"}


def config(address: str, **overrides: Any) -> RuntimeConfig:
    return RuntimeConfig(
        **{
            "profile": "test",
            "max_parallel": 2,
            "calibrate": "off",
            "dask_scheduler": address,
            "dask_connect_timeout": 2.0,
            **overrides,
        }
    )


def check(receipt: object, inputs: tuple[int, ...]) -> None:
    assert isinstance(receipt, Receipt)
    assert receipt.inputs == inputs
    verify(receipt, FIB, min_security_bits=0)


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# ---- clusters ----


@pytest.fixture(scope="module")
def local_cluster() -> Iterator[str]:
    """Two worker processes of one thread each, shared by the tests that do not harm it."""
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        silence_logs=logging.CRITICAL,
        scheduler_kwargs=QUIET_SCHEDULER,
    ) as cluster:
        yield cluster.scheduler_address


class DeployedCluster:
    """``dask scheduler`` and two ``dask worker`` processes on loopback, started as a user
    would (the workers import the zkactors under test through PYTHONPATH); ``stop`` kills
    whatever is still running."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.scheduler: subprocess.Popen[bytes] | None = None
        self.workers: list[subprocess.Popen[bytes]] = []
        self.address = ""
        found = shutil.which("dask")
        self.command = [found] if found else [sys.executable, "-m", "dask"]
        self.env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(
                [SOURCE_ROOT, *filter(None, [os.environ.get("PYTHONPATH")])]
            ),
        }

    def _spawn(self, name: str, args: list[str]) -> subprocess.Popen[bytes]:
        with open(self.directory / f"{name}.log", "wb") as log_file:
            return subprocess.Popen(
                [*self.command, *args], stdout=log_file, stderr=log_file, env=self.env
            )

    def start(self) -> None:
        port = _free_port()
        self.scheduler = self._spawn(
            "scheduler",
            [
                "scheduler",
                "--host", "127.0.0.1",
                "--port", str(port),
                "--no-dashboard",
            ],
        )  # fmt: skip
        self.address = f"tcp://127.0.0.1:{port}"
        for index in range(2):
            self.workers.append(
                self._spawn(
                    f"worker-{index}",
                    [
                        "worker",
                        self.address,
                        "--nthreads",
                        "1",
                        "--no-nanny",
                        "--no-dashboard",
                        "--host",
                        "127.0.0.1",
                        "--name",
                        f"worker-{index}",
                        # Without a scheduler a worker exits by itself (stop() kills it anyway).
                        "--death-timeout",
                        "30",
                    ],
                )
            )
        with distributed.Client(self.address, timeout=60, set_as_default=False) as client:
            client.wait_for_workers(2, timeout=60)

    def worker_pids(self) -> dict[str, int]:
        """Worker address -> process id (every worker is one of ours: no nanny)."""
        with distributed.Client(self.address, timeout=10, set_as_default=False) as client:
            return dict(client.run(os.getpid))

    def processing(self) -> dict[str, tuple[str, ...]]:
        with distributed.Client(self.address, timeout=10, set_as_default=False) as client:
            return {w: tuple(keys) for w, keys in client.processing().items()}

    def kill_scheduler(self) -> None:
        if self.scheduler is not None and self.scheduler.poll() is None:
            self.scheduler.send_signal(signal.SIGKILL)
            self.scheduler.wait(timeout=30)

    def stop(self) -> None:
        for process in [*self.workers, *filter(None, [self.scheduler])]:
            if process.poll() is None:
                process.kill()
            process.wait(timeout=30)


@pytest.fixture
def deployed(tmp_path: Path) -> Iterator[DeployedCluster]:
    cluster = DeployedCluster(tmp_path)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


async def wait_for(predicate: Any, what: str) -> None:
    """Poll ``predicate`` (it reads state other threads write) for at most a minute."""
    with anyio.fail_after(60):
        while not predicate():  # noqa: ASYNC110  (no event to wait on across threads)
            await anyio.sleep(0.02)


# ---- configuration ----


@pytest.mark.parametrize("bad", ["localhost:8786", "tcp://", "http://host:1", "", 8786, "Local"])
def test_a_bad_scheduler_address_is_a_config_error(bad: object) -> None:
    with pytest.raises(ConfigError, match="dask_scheduler"):
        RuntimeConfig(dask_scheduler=bad)  # type: ignore[arg-type]


def test_fallback_is_local_or_fail() -> None:
    assert RuntimeConfig().fallback == "local"
    with pytest.raises(ConfigError, match="fallback"):
        RuntimeConfig(fallback="retry")  # type: ignore[arg-type]


# ---- proving on a cluster ----


async def test_proofs_run_on_a_local_cluster_of_two_worker_processes(local_cluster: str) -> None:
    requests = [(FIB, (n,)) for n in range(200, 206)]
    async with ZkRuntime(config(local_cluster)) as rt:
        receipts = await rt.prove_many(requests)
        again = await rt.prove_detailed(FIB, (200,))
        snapshot = rt.metrics()
    for (_, inputs), receipt in zip(requests, receipts, strict=True):
        check(receipt, inputs)
    assert again.source == "cache"
    cluster = snapshot.cluster
    assert cluster["scheduler"] == local_cluster and cluster["workers_at_connect"] == 2
    assert cluster["proofs"] == 6 and snapshot.proofs == 6
    # Two in flight at once (max_parallel=2) go to the two idle workers.
    assert len(cluster["proofs_by_worker"]) == 2
    assert sum(cluster["proofs_by_worker"].values()) == 6
    assert cluster["fallbacks"] == 0 and cluster["retries"] == 0
    assert cluster["submit_to_start_p50"] is not None and cluster["transfer_p50"] is not None
    assert snapshot.receipts == 7 and snapshot.in_flight == 0
    text = snapshot.to_prometheus()
    assert "zkactors_cluster_proofs_total{worker=" in text
    assert "zkactors_cluster_fallbacks_total 0.0" in text


async def test_the_runtime_starts_owns_and_stops_a_local_cluster(
    capfd: pytest.CaptureFixture[str],
) -> None:
    async with ZkRuntime(config("local")) as rt:
        receipt = await rt.prove(FIB, (300,))
        address = rt.metrics().cluster["scheduler"]
        snapshot = rt.metrics()
    check(receipt, (300,))
    assert snapshot.cluster["proofs"] == 1 and snapshot.cluster["fallbacks"] == 0
    assert snapshot.cluster["workers_at_connect"] == zkactors.runtime.config.available_cores()
    # Its scheduler is gone with the runtime.
    with pytest.raises((OSError, TimeoutError)):
        distributed.Client(address, timeout=1, set_as_default=False)
    # Dask stays as quiet as the library when the application configured no logging.
    out, err = capfd.readouterr()
    assert out == "" and err == ""


async def test_a_scheduler_and_workers_deployed_with_the_dask_command(
    deployed: DeployedCluster,
) -> None:
    requests = [(FIB, (n,)) for n in range(400, 404)]
    async with ZkRuntime(config(deployed.address)) as rt:
        receipts = await rt.prove_many(requests)
        snapshot = rt.metrics()
    for (_, inputs), receipt in zip(requests, receipts, strict=True):
        check(receipt, inputs)
    assert snapshot.cluster["proofs"] == 4 and snapshot.cluster["fallbacks"] == 0
    assert set(snapshot.cluster["proofs_by_worker"]) <= set(deployed.worker_pids())


# ---- faults ----


async def test_a_worker_killed_mid_proof_is_retried_on_the_other(
    deployed: DeployedCluster,
) -> None:
    pids = deployed.worker_pids()
    answers: list[Any] = []
    async with ZkRuntime(config(deployed.address)) as rt:
        prover = rt._cluster
        assert prover is not None
        async with anyio.create_task_group() as tg:

            async def one() -> None:
                answers.append(await rt.prove(FIB, (LONG,)))

            tg.start_soon(one)
            # The worker told the runtime it started the proof: kill it now, mid-proof.
            await wait_for(lambda: prover.started >= 1, "the proof to start")
            busy = await anyio.to_thread.run_sync(deployed.processing)
            victim = next(address for address, keys in busy.items() if keys)
            os.kill(pids[victim], signal.SIGKILL)
        snapshot = rt.metrics()
    assert len(answers) == 1
    check(answers[0], (LONG,))
    cluster = snapshot.cluster
    assert cluster["retries"] >= 1 and cluster["fallbacks"] == 0
    assert victim not in cluster["proofs_by_worker"]
    assert snapshot.receipts == 1 and snapshot.failures == {}


@pytest.mark.parametrize("fallback", ["local", "fail"])
async def test_the_scheduler_going_away_mid_workload(
    deployed: DeployedCluster, fallback: str, capfd: pytest.CaptureFixture[str]
) -> None:
    inputs = [(n,) for n in range(2000, 2008)]
    async with ZkRuntime(config(deployed.address, fallback=fallback)) as rt:
        prover = rt._cluster
        assert prover is not None
        async with anyio.create_task_group() as tg:
            answers: list[Any] = []

            async def batch() -> None:
                answers.extend(
                    await rt.prove_many([(FIB, i) for i in inputs], return_exceptions=True)
                )

            tg.start_soon(batch)
            await wait_for(lambda: prover.started >= 1, "a proof to start")
            deployed.kill_scheduler()
        snapshot = rt.metrics()
    # Exactly one answer per request: a valid receipt, or (fallback="fail") ClusterError.
    assert len(answers) == len(inputs)
    for i, answer in zip(inputs, answers, strict=True):
        if isinstance(answer, ClusterError):
            assert fallback == "fail"
        else:
            check(answer, i)
    assert snapshot.receipts + sum(snapshot.failures.values()) == len(inputs)
    assert snapshot.in_flight == 0
    cluster = snapshot.cluster
    lost = len(inputs) - cluster["proofs"]
    assert lost >= 1  # the scheduler died before the batch was done
    if fallback == "local":
        assert cluster["fallbacks"] == lost and snapshot.failures == {}
    else:
        assert cluster["fallbacks"] == 0
        assert snapshot.failures == {"ClusterError": lost}
    # Losing the scheduler is logged, not printed (the application configured no logging).
    assert capfd.readouterr().err == ""


async def test_an_unreachable_scheduler_falls_back_to_local_proofs() -> None:
    address = f"tcp://127.0.0.1:{_free_port()}"
    async with ZkRuntime(config(address, dask_connect_timeout=0.5)) as rt:
        receipts = await rt.prove_many([(FIB, (n,)) for n in (11, 12)])
        snapshot = rt.metrics()
    for n, receipt in zip((11, 12), receipts, strict=True):
        check(receipt, (n,))
    cluster = snapshot.cluster
    assert cluster["connected"] is False and cluster["proofs"] == 0
    assert cluster["fallbacks"] == 2 and cluster["faults"] == {"unreachable": 1}


async def test_an_unreachable_scheduler_with_fallback_fail_refuses_to_start() -> None:
    address = f"tcp://127.0.0.1:{_free_port()}"
    runtime = ZkRuntime(config(address, fallback="fail", dask_connect_timeout=0.5))
    with pytest.raises(ClusterError, match="unreachable"):
        async with runtime:
            pass  # pragma: no cover
    assert not runtime.running


async def test_the_cluster_is_tried_again_and_used_once_it_is_up() -> None:
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    async with ZkRuntime(config(address, dask_connect_timeout=0.5)) as rt:
        check(await rt.prove(FIB, (31,)), (31,))  # proved locally: nothing listens yet
        with distributed.LocalCluster(
            n_workers=1,
            threads_per_worker=1,
            processes=True,
            scheduler_port=port,
            host="127.0.0.1",
            dashboard_address=None,
            silence_logs=logging.CRITICAL,
            scheduler_kwargs=QUIET_SCHEDULER,
        ):
            n = 32
            with anyio.fail_after(120):
                while rt.metrics().cluster["proofs"] == 0:
                    check(await rt.prove(FIB, (n,)), (n,))
                    n += 1
                    await anyio.sleep(0.1)
            snapshot = rt.metrics()
    cluster = snapshot.cluster
    assert cluster["connected"] and cluster["fallbacks"] >= 1
    assert snapshot.failures == {}


async def test_cancel_shutdown_answers_proofs_running_on_the_cluster(local_cluster: str) -> None:
    answers: list[Any] = []

    async def one(rt: ZkRuntime) -> None:
        try:
            answers.append(await rt.prove(FIB, (LONG + 1,)))
        except Exception as exc:
            answers.append(exc)

    with anyio.fail_after(60):
        async with (
            anyio.create_task_group() as tg,
            ZkRuntime(config(local_cluster, shutdown="cancel")) as rt,
        ):
            prover = rt._cluster
            assert prover is not None
            tg.start_soon(one, rt)
            await wait_for(lambda: prover.started >= 1, "the proof to start")
            # Left mid-proof: the request is answered at once, the task cancelled.
    assert len(answers) == 1 and isinstance(answers[0], RuntimeClosed)


async def test_a_cancelled_proof_stops_waiting_for_the_cluster(local_cluster: str) -> None:
    token = CancelToken()
    prover = ClusterProver(
        local_cluster, fallback="fail", prove=prove_with_stats, local_parallel=1, max_parallel=2
    )
    await prover.start()
    try:

        async def one() -> None:
            with pytest.raises(ProofCancelled):
                await prover(
                    FIB, (LONG + 2,), profile="test", threads=1, max_cycles=2**22, cancel=token
                )

        with anyio.fail_after(60):
            async with anyio.create_task_group() as tg:
                tg.start_soon(one)
                await wait_for(lambda: prover.started >= 1, "the proof to start")
                token.cancel()
    finally:
        await prover.close()
    # The prover's own answer to a cancelled token; not a cluster fault (no ClusterError
    # with fallback="fail", no fallback counted).
    assert prover.fallbacks == 0 and prover.proofs == 0


# ---- trust ----


def test_a_workers_receipt_is_checked_against_the_request() -> None:
    receipt = prove(FIB, (21,), profile="test")
    data = receipt.to_bytes()
    assert _checked_receipt(data, FIB, (21,), "test") == receipt
    assert "another statement" in str(_checked_receipt(data, FIB, (22,), "test"))
    assert "another statement" in str(_checked_receipt(data, FIB, (21,), "default"))
    other = programs.load("factorial")
    assert "another statement" in str(_checked_receipt(data, other, (21,), "test"))
    tampered = bytearray(data)
    tampered[-40] ^= 1
    assert isinstance(_checked_receipt(bytes(tampered), FIB, (21,), "test"), str)
    # A valid test-profile proof of a false statement is caught by running the program.
    forged = attrs.evolve(receipt, outputs=(receipt.outputs[0] + 1,))
    assert isinstance(_checked_receipt(forged.to_bytes(), FIB, (21,), "test"), str)
    assert "not bytes" in str(_checked_receipt("x", FIB, (21,), "test"))


def test_the_demo_runs_on_a_cluster(tmp_path: Path) -> None:
    import json

    path = tmp_path / "demo.json"
    command = [sys.executable, "-m", "zkactors", "demo", "--quick", "--dask", "local"]
    completed = subprocess.run(
        [*command, "--json", str(path)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": SOURCE_ROOT},
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "receipts verified by both verifiers" in completed.stdout
    metrics = json.loads(path.read_text())["metrics"]
    assert metrics["cluster"]["proofs"] == metrics["proofs"] > 0
    assert metrics["cluster"]["fallbacks"] == 0


def test_bench_cluster_quick(tmp_path: Path) -> None:
    import argparse

    from zkactors.bench import cluster

    result = cluster.run(argparse.Namespace(quick=True, proofs=2, backend="trio"))
    phases = [(row["phase"], row["backend"]) for row in result.rows]
    assert ("batch", "threads") in phases and ("batch", "2 processes") in phases
    assert ("dask round trip", "2 processes") in phases
    assert ("size 2^10", "2 processes") in phases and ("size 2^14", "2 processes") in phases
    assert any("smallest" in note for note in result.notes)


def test_without_distributed_the_error_names_the_extra() -> None:
    script = """
import sys
sys.modules["distributed"] = None
import anyio
from zkactors import RuntimeConfig, ZkRuntime
from zkactors.errors import MissingExtraError

async def main():
    try:
        async with ZkRuntime(RuntimeConfig(dask_scheduler="local", calibrate="off")):
            pass
    except MissingExtraError as exc:
        print(exc)

anyio.run(main)
"""
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": SOURCE_ROOT},
    )
    assert done.returncode == 0, done.stderr
    assert "zkactors[dask]" in done.stdout
