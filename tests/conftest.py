"""Shared test configuration.

Async tests use anyio's pytest plugin; the ``anyio_backend`` fixture below makes every
one of them run twice, once on asyncio and once on trio.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import structlog
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", max_examples=15, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(autouse=True)
def _logging_defaults() -> Iterator[None]:
    """Undo any logging configuration a test made (the CLI's main() configures the
    ``zkactors`` logger, as an application should; the README's snippet configures the
    root logger and binds context), so later tests see the library's unconfigured
    defaults."""
    loggers = [logging.getLogger(), logging.getLogger("zkactors")]
    saved = [(list(lg.handlers), lg.level, lg.propagate) for lg in loggers]
    yield
    for logger, (handlers, level, propagate) in zip(loggers, saved, strict=True):
        logger.handlers[:] = handlers
        logger.setLevel(level)
        logger.propagate = propagate
    structlog.contextvars.clear_contextvars()
    structlog.reset_defaults()


# ---- a real redis-server for the store tests ----


def find_or_install(names: tuple[str, ...], package: str, purpose: str) -> str:
    """The path of the first of ``names`` on PATH, or install Debian's ``package`` with apt
    (as root) and look again.

    Fails the requesting test with the reason when neither works: tests that need a real
    server or browser must run, never skip silently. ``purpose`` says who needs it.
    """

    def find() -> str | None:
        for name in names:
            found = shutil.which(name) or (
                f"/usr/bin/{name}" if os.path.exists(f"/usr/bin/{name}") else None
            )
            if found:
                return found
        return None

    found = find()
    if found:
        return found
    if not shutil.which("apt-get"):
        pytest.fail(
            f"{purpose} need {names[0]}: it is not on PATH and apt-get is not available to "
            f"install it; install {package} and rerun",
            pytrace=False,
        )
    if hasattr(os, "geteuid") and os.geteuid() != 0:
        pytest.fail(
            f"{purpose} need {names[0]}: it is not on PATH and installing it needs root "
            f"(apt-get install -y {package}); install it and rerun",
            pytrace=False,
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    log = []
    # Install first (the package lists may be there already); update and retry if not.
    for step in (
        ["apt-get", "install", "-y", "-q", package],
        ["apt-get", "update", "-q"],
        ["apt-get", "install", "-y", "-q", package],
    ):
        done = subprocess.run(step, env=env, capture_output=True, text=True, timeout=900)
        log.append(f"$ {' '.join(step)} -> {done.returncode}\n{done.stderr[-2000:]}")
        if step[1] == "install" and done.returncode == 0:
            break
    found = find()
    if not found:
        pytest.fail(
            f"{purpose} need {names[0]} and installing it failed:\n" + "\n".join(log),
            pytrace=False,
        )
    return found


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class RedisServer:
    """A ``redis-server`` on a free loopback port, no persistence; ``stop`` (SIGKILL)
    and ``start`` again on the same port to simulate a crash and a restart."""

    def __init__(self, binary: str, directory: str) -> None:
        self.binary = binary
        self.directory = directory
        self.port = _free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                self.binary,
                "--port", str(self.port),
                "--bind", "127.0.0.1",
                "--save", "",
                "--appendonly", "no",
                "--dir", self.directory,
                "--loglevel", "warning",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )  # fmt: skip
        import redis

        client = redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=1.0)
        try:
            for _ in range(500):
                if self.process.poll() is not None:
                    assert self.process.stderr is not None
                    pytest.fail(
                        f"redis-server exited at start: {self.process.stderr.read().decode()}",
                        pytrace=False,
                    )
                try:
                    if client.ping():
                        return
                except redis.ConnectionError:
                    time.sleep(0.01)
            pytest.fail(f"redis-server did not answer on port {self.port}", pytrace=False)
        finally:
            client.close()

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.process = None

    def client(self) -> Any:
        import redis

        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=2.0)


@pytest.fixture(scope="session")
def redis_server_binary() -> str:
    try:
        import redis  # noqa: F401
    except ImportError:
        pytest.fail(
            "the Redis store tests need the redis client: "
            'python -m pip install -e ".[test]" installs it',
            pytrace=False,
        )
    return find_or_install(("redis-server",), "redis-server", "the Redis store tests")


@pytest.fixture
def redis_server(redis_server_binary: str, tmp_path: Path) -> Iterator[RedisServer]:
    """A fresh redis-server for one test (killed at its end)."""
    server = RedisServer(redis_server_binary, str(tmp_path))
    server.start()
    try:
        yield server
    finally:
        server.kill()
