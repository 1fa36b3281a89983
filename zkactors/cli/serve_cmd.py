"""``zkactors serve``: run the prover service (``zkactors.service``) with uvicorn.

Receipts persist in a SQLite file in the user's data directory unless ``--store`` names
another store (``redis://…`` for a fleet, ``none`` for the in-memory cache only). SIGTERM
or Ctrl-C drains: no new proof requests, those in flight get ``--drain-seconds`` to
finish, then are answered 503 and the process exits 0.
"""

from __future__ import annotations

import argparse
import importlib.util
import logging
import signal
import socket
import sys
from pathlib import Path
from types import FrameType
from typing import Any

from zkactors import profiles
from zkactors.errors import MissingExtraError

#: What the service extra installs (checked before anything is imported from it).
_SERVICE_MODULES = ("starlette", "uvicorn", "pydantic", "platformdirs", "prometheus_client")

#: Per-request limits a public deployment gets unless told otherwise.
DEFAULT_MAX_CYCLES = 1 << 20
DEFAULT_MAX_SECONDS = 30.0


def default_store() -> str:
    import platformdirs

    directory = Path(platformdirs.user_data_dir("zkactors", appauthor=False))
    return f"sqlite:///{directory / 'receipts.db'}"


def _none_or(kind: Any) -> Any:
    def parse(text: str) -> Any:
        return None if text.lower() in ("none", "off", "0") else kind(text)

    return parse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from zkactors.service.config import (
        DEFAULT_DRAIN_SECONDS,
        DEFAULT_MAX_BODY_BYTES,
        DEFAULT_MAX_IN_FLIGHT,
        DEFAULT_MAX_PER_CLIENT,
    )

    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8000, help="port (0: any free one)")
    parser.add_argument(
        "--store",
        default=None,
        help="receipt store URL: sqlite:///path.db, redis://host:port/db, or none "
        "(default: receipts.db in the user's data directory)",
    )
    parser.add_argument("--profile", default=None, help="security profile of requests")
    parser.add_argument(
        "--max-cycles",
        type=_none_or(int),
        default=DEFAULT_MAX_CYCLES,
        help=f"refuse runs over this many cycles (default {DEFAULT_MAX_CYCLES}; none: no limit)",
    )
    parser.add_argument("--max-trace-rows", type=_none_or(int), default=None)
    parser.add_argument(
        "--max-seconds",
        type=_none_or(float),
        default=DEFAULT_MAX_SECONDS,
        help="refuse proofs estimated to take longer (default %(default)s; none: no limit)",
    )
    parser.add_argument(
        "--max-memory",
        type=_none_or(int),
        default=None,
        help="refuse proofs whose estimated peak memory is over this many bytes",
    )
    parser.add_argument("--max-body-bytes", type=int, default=DEFAULT_MAX_BODY_BYTES)
    parser.add_argument("--max-in-flight", type=int, default=DEFAULT_MAX_IN_FLIGHT)
    parser.add_argument(
        "--max-per-client",
        type=int,
        default=DEFAULT_MAX_PER_CLIENT,
        help="proof requests one client (token, or address) may have in flight",
    )
    parser.add_argument(
        "--token-file",
        type=Path,
        default=None,
        help="require a bearer token from this file (one a line) on POST /prove and /verify",
    )
    parser.add_argument(
        "--min-security-bits",
        type=float,
        default=profiles.DEFAULT_MIN_SECURITY_BITS,
        help="POST /verify refuses receipts below this many conjectured bits",
    )
    parser.add_argument(
        "--drain-seconds",
        type=float,
        default=DEFAULT_DRAIN_SECONDS,
        help="on SIGTERM, how long proofs in flight may still finish",
    )
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning"])


def build_config(args: argparse.Namespace) -> Any:
    from zkactors.runtime import RuntimeConfig
    from zkactors.service import ServiceConfig, load_tokens

    store = args.store if args.store is not None else default_store()
    if store.lower() == "none":
        store = None
    elif store.startswith("sqlite:///"):
        Path(store[len("sqlite://") :]).parent.mkdir(parents=True, exist_ok=True)
    runtime: dict[str, Any] = {"store": store}
    if args.profile is not None:
        runtime["profile"] = args.profile
    if args.max_cycles is not None:
        # Executing a run stops one cycle past the service's limit: a request for a run
        # that never halts costs the limit, not the runtime's default cap.
        runtime["max_cycles"] = args.max_cycles + 1
    tokens = load_tokens(args.token_file) if args.token_file is not None else None
    return ServiceConfig(
        runtime=RuntimeConfig(**runtime),
        max_body_bytes=args.max_body_bytes,
        max_cycles=args.max_cycles,
        max_trace_rows=args.max_trace_rows,
        max_seconds=args.max_seconds,
        max_memory_bytes=args.max_memory,
        max_in_flight=args.max_in_flight,
        max_per_client=args.max_per_client,
        tokens=tokens,
        min_security_bits=args.min_security_bits,
        drain_seconds=args.drain_seconds,
    )


def _redacted(store: str | None) -> str:
    from zkactors.runtime.store import parse_store_url

    return "none" if store is None else parse_store_url(store).redacted()


def run(args: argparse.Namespace) -> int:
    missing = [m for m in _SERVICE_MODULES if importlib.util.find_spec(m) is None]
    if missing:
        raise MissingExtraError(
            f"zkactors serve needs {', '.join(missing)}: pip install 'zkactors[service]'"
        )
    import uvicorn

    from zkactors.service import create_app

    config = build_config(args)
    app = create_app(config)
    # The server is an application: it shows the service's own events (ready, draining,
    # clients gone) at --log-level; the rest of the library stays at the CLI's level.
    logging.getLogger("zkactors.service").setLevel(args.log_level.upper())

    class Server(uvicorn.Server):
        async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
            # Stop taking proof requests before uvicorn waits for the connections:
            # those in flight get the drain time, new ones a 503.
            app.state.service.begin_drain()
            await super().shutdown(sockets)

        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            # SIGTERM is how a service is stopped; once drained it exits 0 (uvicorn would
            # raise the signal again after shutting down, and the process would die of it).
            # A second Ctrl-C still forces the exit.
            if self.should_exit and sig == signal.SIGINT:
                self.force_exit = True
            self.should_exit = True

    server = Server(
        uvicorn.Config(
            app,
            host=args.host,
            port=args.port,
            log_level=args.log_level,
            lifespan="on",
            # uvicorn's own bound is a backstop behind the service's drain deadline.
            timeout_graceful_shutdown=int(config.drain_seconds) + 2,
        )
    )
    print(
        f"zkactors serve: http://{args.host}:{args.port} (dashboard at /, API at "
        f"/openapi.json), store {_redacted(config.runtime.store)}",
        file=sys.stderr,
    )
    server.run()
    # uvicorn returns without raising when the app fails to start (a bad store, say).
    return 0 if server.started else 3
