"""``zkactors serve`` as a process of its own, called over real HTTP.

What only a separate process can show: the server's memory while a 300 MB body is
refused (its RSS, read from /proc), SIGTERM during a proof (the service drains within
its bound and exits 0), two processes sharing one Redis store, and the default SQLite
store in the user's data directory. Clients run on asyncio and trio.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from test_service import _samples

import zkactors
from zkactors.service.config import DEFAULT_MAX_BODY_BYTES

ROOT = Path(__file__).resolve().parent.parent
MiB = 1 << 20


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class ServiceProcess:
    """``python -m zkactors serve`` on a free loopback port, its data directory and log
    under ``directory``; this checkout's zkactors comes first on its path."""

    def __init__(self, directory: Path, *args: str) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = directory / f"serve-{self.port}.log"
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
            "XDG_DATA_HOME": str(directory / "data"),
        }
        command = [sys.executable, "-m", "zkactors", "serve", "--port", str(self.port), *args]
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                command, cwd=directory, env=env, stdout=log, stderr=subprocess.STDOUT
            )
        self._wait_ready()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def _wait_ready(self) -> None:
        with httpx.Client(base_url=self.url, timeout=5) as client:
            for _ in range(3000):
                if self.process.poll() is not None:
                    pytest.fail(f"zkactors serve exited at start:\n{self.log()}", pytrace=False)
                try:
                    if client.get("/readyz").status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                threading.Event().wait(0.02)
        pytest.fail(f"zkactors serve was not ready:\n{self.log()}", pytrace=False)

    def rss_bytes(self) -> int:
        """The server's resident set size now."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise AssertionError("no VmRSS in /proc/PID/status")

    def terminate(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(120)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Any]:
    started: list[ServiceProcess] = []

    def start(*args: str) -> ServiceProcess:
        started.append(ServiceProcess(tmp_path, *args))
        return started[-1]

    try:
        yield start
    finally:
        for process in started:
            process.kill()


# ---- a 300 MB body ----


def _send_huge_body(port: int, total: int, *, chunked: bool) -> tuple[int, int]:
    """POST ``total`` bytes to /prove (declared in Content-Length, or chunked without a
    length) while reading the answer; stop sending once it arrives. Returns the status
    and the bytes sent. The client never holds more than one MiB either."""
    sock = socket.create_connection(("127.0.0.1", port))
    length = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {total}"
    sock.sendall(
        f"POST /prove HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"{length}\r\n\r\n".encode()
    )
    answer = bytearray()
    answered = threading.Event()

    def read() -> None:
        # Read until the whole response is in: headers, then Content-Length bytes.
        try:
            while True:
                data = sock.recv(65536)
                if not data:
                    break
                answer.extend(data)
                head, sep, body = bytes(answer).partition(b"\r\n\r\n")
                if sep:
                    fields = dict(
                        line.split(b":", 1) for line in head.split(b"\r\n")[1:] if b":" in line
                    )
                    size = int(fields.get(b"content-length", b"0").strip() or 0)
                    if len(body) >= size:
                        break
        except OSError:
            pass
        finally:
            answered.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    piece = b" " * MiB
    frame = b"%x\r\n%b\r\n" % (len(piece), piece) if chunked else piece
    sent = 0
    try:
        while sent < total and not answered.is_set():
            sock.sendall(frame)
            sent += len(piece)
    except OSError:  # the server closed the connection: it is not reading any more
        pass
    assert answered.wait(120), "no answer to the oversized body"
    sock.close()
    status_line = bytes(answer).split(b"\r\n", 1)[0]
    assert status_line.startswith(b"HTTP/1.1 "), bytes(answer[:200])
    return int(status_line.split()[1]), sent


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_300_mb_body_is_refused_without_the_server_growing(serve: Any, chunked: bool) -> None:
    server = serve("--store", "none")
    with httpx.Client(base_url=server.url, timeout=60) as client:
        # Warm the paths the refusal takes (and a proof) before measuring: a body twice the
        # default limit (4 MiB, which a 2 MiB format-3 receipt in base64 needs).
        assert client.post("/prove", json={"program": "fib", "inputs": [10]}).status_code == 200
        warm = 2 * DEFAULT_MAX_BODY_BYTES
        assert _send_huge_body(server.port, warm, chunked=chunked)[0] == 413
        before = server.rss_bytes()
        status, sent = _send_huge_body(server.port, 300 * MiB, chunked=chunked)
        after = server.rss_bytes()
        # The server keeps serving.
        assert client.post("/prove", json={"program": "fib", "inputs": [11]}).status_code == 200
    print(
        f"\n{'chunked' if chunked else 'Content-Length'}: sent {sent / MiB:.0f} MiB of 300; "
        f"server RSS {before / MiB:.1f} MiB before, {after / MiB:.1f} MiB after "
        f"({(after - before) / MiB:+.1f} MiB)"
    )
    assert status == 413
    assert after - before < 4 * MiB, (before, after)


# ---- SIGTERM ----

# About two seconds of proving on one core: long enough to be in flight at SIGTERM.
LONG = {"program": "fib", "inputs": [20000]}


async def _until_in_flight(client: httpx.AsyncClient) -> None:
    with anyio.fail_after(60):
        while True:
            if _samples((await client.get("/metrics")).text)["zkactors_service_in_flight"] == 1:
                return
            await anyio.sleep(0.02)


async def _sigterm_during_a_long_proof(server: Any) -> httpx.Response:
    """Start a long proof, send the server SIGTERM once it is in flight, return its answer."""
    answers: list[httpx.Response] = []
    async with (
        httpx.AsyncClient(base_url=server.url, timeout=120) as client,
        anyio.create_task_group() as tg,
    ):

        async def long_proof() -> None:
            answers.append(await client.post("/prove", json=LONG))

        tg.start_soon(long_proof)
        await _until_in_flight(client)
        server.process.send_signal(signal.SIGTERM)
    return answers[0]


@pytest.mark.anyio
async def test_sigterm_during_a_proof_drains_it_and_exits_0(anyio_backend: str, serve: Any) -> None:
    server = serve("--store", "none", "--max-seconds", "none", "--drain-seconds", "60")
    answer = await _sigterm_during_a_long_proof(server)
    assert answer.status_code == 200, answer.text
    assert answer.json()["outputs"]
    # Within the drain bound (and uvicorn's backstop just past it).
    assert await anyio.to_thread.run_sync(server.process.wait, 70) == 0, server.log()


@pytest.mark.anyio
async def test_a_proof_past_the_drain_time_is_answered_503_and_the_server_exits_0(
    anyio_backend: str, serve: Any
) -> None:
    server = serve("--store", "none", "--max-seconds", "none", "--drain-seconds", "0.2")
    answer = await _sigterm_during_a_long_proof(server)
    assert answer.status_code == 503, answer.text
    assert answer.json()["error"] == "ShuttingDown"
    assert await anyio.to_thread.run_sync(server.process.wait, 70) == 0, server.log()


# ---- stores ----


@pytest.mark.anyio
async def test_two_services_share_one_redis_store(
    anyio_backend: str, serve: Any, redis_server: Any
) -> None:
    first = serve("--store", redis_server.url)
    second = serve("--store", redis_server.url)
    request = {"program": "factorial", "inputs": [12]}
    async with (
        httpx.AsyncClient(base_url=first.url, timeout=60) as a,
        httpx.AsyncClient(base_url=second.url, timeout=60) as b,
    ):
        proved = await a.post("/prove", json=request)
        assert proved.json()["source"] == "proved"
        # The first service writes its receipts in the background: wait for this one.
        with anyio.fail_after(30):
            while True:
                samples = _samples((await a.get("/metrics")).text)
                if samples['zkactors_store_writes_total{result="written"}']:
                    break
                await anyio.sleep(0.02)
        shared = await b.post("/prove", json=request)
        stats = (await b.get("/stats")).json()
    assert shared.status_code == 200
    assert shared.json()["source"] == "store"  # proved by the other process, not this one
    assert shared.json()["receipt"] == proved.json()["receipt"]
    assert stats["store_hit_rate"] == 1.0 and stats["proofs"] == 0
    assert first.terminate() == 0 and second.terminate() == 0


@pytest.mark.anyio
async def test_the_default_store_is_sqlite_in_the_users_data_directory(
    anyio_backend: str, serve: Any, tmp_path: Path
) -> None:
    request = {"program": "power", "inputs": [3, 7]}
    server = serve()
    async with httpx.AsyncClient(base_url=server.url, timeout=60) as client:
        assert (await client.get("/readyz")).json()["store"] == "ok"
        assert (await client.post("/prove", json=request)).json()["source"] == "proved"
    assert server.terminate() == 0  # drains the store's pending writes
    assert (tmp_path / "data" / "zkactors" / "receipts.db").is_file()
    again = serve()
    async with httpx.AsyncClient(base_url=again.url, timeout=60) as client:
        assert (await client.post("/prove", json=request)).json()["source"] == "store"
    assert again.terminate() == 0


# ---- the command line's configuration ----


def _serve_args(*argv: str) -> Any:
    from zkactors.cli import _parser

    parser, _ = _parser("serve")
    return parser.parse_args(["serve", *argv])


def test_serve_flags_make_the_service_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from zkactors.cli.serve_cmd import build_config

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    config = build_config(_serve_args())
    assert config.runtime.store == f"sqlite:///{tmp_path / 'data' / 'zkactors' / 'receipts.db'}"
    assert (tmp_path / "data" / "zkactors").is_dir()
    assert (config.max_cycles, config.runtime.max_cycles) == (1 << 20, (1 << 20) + 1)
    assert config.max_seconds == 30.0 and not config.auth

    tokens = tmp_path / "tokens"
    tokens.write_text("alpha\n")
    config = build_config(
        _serve_args(
            "--store", "none", "--max-cycles", "none", "--max-seconds", "2.5",
            "--max-memory", "1000000", "--token-file", str(tokens),
            "--min-security-bits", "120", "--drain-seconds", "5",
        )
    )  # fmt: skip
    assert config.runtime.store is None and config.max_cycles is None
    assert config.runtime.max_cycles == zkactors.RuntimeConfig().max_cycles
    assert (config.max_seconds, config.max_memory_bytes) == (2.5, 1_000_000)
    assert config.auth and config.min_security_bits == 120 and config.drain_seconds == 5


@pytest.mark.parametrize("module", ["uvicorn", "pydantic"])
def test_serve_without_the_service_extra_says_how_to_get_it(
    module: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from zkactors.cli import main

    monkeypatch.setitem(sys.modules, module, None)  # hidden from the import system
    assert main(["serve", "--store", "none"]) == 1
    err = capsys.readouterr().err
    assert f"needs {module}" in err and "pip install 'zkactors[service]'" in err
