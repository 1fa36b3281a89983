"""zkactors embedded in a web service: Starlette + uvicorn (``pip install 'zkactors[service]'``).

One ZkRuntime lives in the app's lifespan and serves every request:

- ``POST /prove`` ``{"program": "fib" | "source": "<zkasm>", "inputs": [...], "profile": ...}``
  -> ``{"outputs", "program_hash", "receipt" (base64), "trace_length", "cycles", ...}``;
- ``POST /verify`` ``{"receipt": "<base64>", "program" | "source", "min_security_bits"?}``
  -> ``{"valid": true, "security_bits", ...}`` or ``{"valid": false, "check", "reason"}``.
  The service's own minimum (``--min-security-bits``, default 100) is the policy: a
  request may ask for more, never for less, so a receipt made under a weak profile is
  ``{"valid": false, "check": "policy"}``;
- ``GET /metrics``: the runtime's metrics in the Prometheus text format, through
  ``prometheus_client`` (a registry holding ``RuntimeCollector`` and the service's own
  figures);
- ``GET /programs``: the built-in program names.

Bad requests get a JSON error and the right status: malformed JSON 400, an unknown
built-in program 404, bad inputs / assembly errors (with line and column) / a program
that fails on its inputs 422, a body over 1 MiB 413, and 503 when the service is at its
limit of proofs in flight or the runtime's mailbox is full (``try_prove``: shed load,
don't queue it).

``cycles`` is the run's exact cycle count, as the runtime measured it
(``ProofHandle.wait_detailed``); a receipt itself states only the trace length.

    python examples/service.py --port 8000   # serve until Ctrl-C
    python examples/service.py --quick       # start on a free port, call every endpoint
                                             # over HTTP, print a table, write JSON, stop
"""

from __future__ import annotations

import argparse
import base64
import binascii
import contextlib
import json
import socket
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio
from _support import parse_args, print_table, say, write_json
from prometheus_client import CollectorRegistry
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

import zkactors
from zkactors import Program, RuntimeConfig, ZkRuntime
from zkactors.errors import (
    AssemblyError,
    DeadlineExceeded,
    ExecutionError,
    InputError,
    Overloaded,
    ProfileError,
    ProvingError,
    RuntimeClosed,
    UnknownProgramError,
    VerificationError,
    ZkActorsError,
)
from zkactors.runtime.prometheus import RuntimeCollector

MAX_BODY_BYTES = 1 << 20
DEFAULT_MAX_IN_FLIGHT = 256


class BadRequest(Exception):
    """A request the service refuses; becomes ``{"error", "message", ...}`` with ``status``."""

    def __init__(self, status: int, error: str, message: str, **details: Any) -> None:
        super().__init__(message)
        self.status = status
        self.error = error
        self.message = message
        self.details = details


def _error_response(exc: BadRequest) -> JSONResponse:
    headers = {"Retry-After": "1"} if exc.status == 503 else None
    body = {"error": exc.error, "message": exc.message, **exc.details}
    return JSONResponse(body, status_code=exc.status, headers=headers)


def _from_library_error(exc: ZkActorsError) -> BadRequest:
    """The status a typed zkactors error deserves."""
    name = type(exc).__name__
    if isinstance(exc, UnknownProgramError):
        return BadRequest(404, name, str(exc))
    if isinstance(exc, AssemblyError):
        return BadRequest(
            422, name, exc.message, line=exc.line, column=exc.column, source_line=exc.source_line
        )
    if isinstance(exc, ExecutionError):
        return BadRequest(422, name, str(exc), pc=exc.pc, source_line=exc.source_line)
    if isinstance(exc, InputError | ProfileError | ProvingError | ValueError):
        return BadRequest(422, name, str(exc))
    if isinstance(exc, Overloaded | RuntimeClosed):
        return BadRequest(503, name, str(exc))
    if isinstance(exc, DeadlineExceeded):
        return BadRequest(504, name, str(exc))
    return BadRequest(500, name, str(exc))


async def _json_body(request: Request) -> dict[str, Any]:
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        raise BadRequest(413, "PayloadTooLarge", f"the body is over {MAX_BODY_BYTES} bytes")
    try:
        data = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BadRequest(400, "MalformedJSON", f"the body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise BadRequest(422, "InvalidRequest", "the body must be a JSON object")
    return data


def _program(data: dict[str, Any]) -> Program:
    """The program a request names: a built-in ``program`` or assembly ``source``."""
    name, source = data.get("program"), data.get("source")
    if (name is None) == (source is None):
        raise BadRequest(
            422, "InvalidRequest", 'give exactly one of "program" (a name) and "source"'
        )
    if name is not None:
        if not isinstance(name, str):
            raise BadRequest(422, "InvalidRequest", '"program" must be a string')
        return zkactors.programs.load(name)  # UnknownProgramError -> 404
    if not isinstance(source, str):
        raise BadRequest(422, "InvalidRequest", '"source" must be a string of zkasm')
    return zkactors.assemble(source)  # AssemblyError -> 422 with line and column


async def prove(request: Request) -> Response:
    state = request.app.state
    try:
        data = await _json_body(request)
        program = _program(data)
        profile = data.get("profile")
        if profile is not None and not isinstance(profile, str):
            raise BadRequest(422, "InvalidRequest", '"profile" must be a string')
        if state.in_flight >= state.max_in_flight:
            state.shed += 1
            raise BadRequest(
                503, "Overloaded", f"{state.in_flight} proofs in flight, the service's limit"
            )
        # try_prove validates (inputs, profile) here and never waits for mailbox room.
        handle = state.runtime.try_prove(program, data.get("inputs", []), profile=profile)
        state.in_flight += 1
        try:
            outcome = await handle.wait_detailed()
        finally:
            state.in_flight -= 1
    except BadRequest as exc:
        return _error_response(exc)
    except ZkActorsError as exc:
        if isinstance(exc, Overloaded):
            state.shed += 1
        return _error_response(_from_library_error(exc))
    receipt = outcome.receipt
    return JSONResponse(
        {
            "program_hash": receipt.program_hash,
            "inputs": list(receipt.inputs),
            "outputs": list(receipt.outputs),
            "cycles": outcome.cycles,
            "trace_length": receipt.trace_length,
            "profile": receipt.profile,
            "receipt": base64.b64encode(receipt.to_bytes()).decode("ascii"),
            "receipt_bytes": receipt.size,
        }
    )


async def verify(request: Request) -> Response:
    try:
        data = await _json_body(request)
        program = _program(data)
        encoded = data.get("receipt")
        if not isinstance(encoded, str):
            raise BadRequest(422, "InvalidRequest", '"receipt" must be a base64 string')
        try:
            receipt_bytes = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise BadRequest(422, "InvalidRequest", '"receipt" is not valid base64') from None
        if len(receipt_bytes) > MAX_BODY_BYTES:
            raise BadRequest(413, "PayloadTooLarge", "the receipt is too large")
        required = request.app.state.min_security_bits
        asked = data.get("min_security_bits", required)
        try:
            # A client may demand more than the service's policy, never less.
            required = max(required, zkactors.profiles.check_min_security_bits(asked))
        except (TypeError, ValueError):
            raise BadRequest(
                422, "InvalidRequest", '"min_security_bits" must be a finite number >= 0'
            ) from None
    except BadRequest as exc:
        return _error_response(exc)
    except ZkActorsError as exc:
        return _error_response(_from_library_error(exc))
    try:
        # Native, GIL released, well under a millisecond: no need to leave the loop.
        zkactors.verify(receipt_bytes, program, min_security_bits=required)
    except VerificationError as exc:
        return JSONResponse({"valid": False, "check": exc.check, "reason": str(exc)})
    receipt = zkactors.Receipt.from_bytes(receipt_bytes)
    return JSONResponse(
        {
            "valid": True,
            "program_hash": receipt.program_hash,
            "inputs": list(receipt.inputs),
            "outputs": list(receipt.outputs),
            "profile": receipt.profile,
            "security_bits": round(receipt.security_bits(program), 1),
            "min_security_bits": required,
        }
    )


class _ServiceCollector:
    """The service's own figures, read from the app's state at every scrape."""

    def __init__(self, state: Any) -> None:
        self._state = state

    def collect(self) -> Any:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        yield GaugeMetricFamily(
            "zkactors_service_in_flight",
            "Proof requests this service is waiting on.",
            value=self._state.in_flight,
        )
        yield CounterMetricFamily(
            "zkactors_service_shed",
            "Requests answered 503 (service or runtime full).",
            value=self._state.shed,
        )


async def metrics(request: Request) -> Response:
    from prometheus_client import generate_latest

    # generate_latest writes the text format 0.0.4, which every Prometheus reads.
    body = generate_latest(request.app.state.registry)
    return Response(body, media_type="text/plain; version=0.0.4; charset=utf-8")


async def list_programs(request: Request) -> Response:
    return JSONResponse({"programs": list(zkactors.programs.names())})


def create_app(
    config: RuntimeConfig | None = None,
    *,
    max_in_flight: int = DEFAULT_MAX_IN_FLIGHT,
    min_security_bits: float = zkactors.profiles.DEFAULT_MIN_SECURITY_BITS,
    runtime_factory: Callable[[], ZkRuntime] | None = None,
) -> Starlette:
    """The app; its runtime starts with the app and stops (draining) with it.

    :param min_security_bits: ``POST /verify`` refuses receipts below this many
        conjectured bits (the service's policy; requests may only raise it).
    :param runtime_factory: builds the runtime instead of ``ZkRuntime(config)`` (tests use
        it to slow the prover down).
    """

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        runtime = runtime_factory() if runtime_factory is not None else ZkRuntime(config)
        async with runtime as rt:
            app.state.runtime = rt
            app.state.in_flight = 0
            app.state.shed = 0
            app.state.max_in_flight = max_in_flight
            app.state.min_security_bits = zkactors.profiles.check_min_security_bits(
                min_security_bits
            )
            # The app's own registry: the runtime's collector and the service's figures
            # (an application would add its other collectors here).
            registry = CollectorRegistry()
            registry.register(RuntimeCollector(rt))
            registry.register(_ServiceCollector(app.state))
            app.state.registry = registry
            yield

    return Starlette(
        routes=[
            Route("/prove", prove, methods=["POST"]),
            Route("/verify", verify, methods=["POST"]),
            Route("/metrics", metrics, methods=["GET"]),
            Route("/programs", list_programs, methods=["GET"]),
        ],
        lifespan=lifespan,
    )


# ---- the --quick session: a client talking to the service over real HTTP ----


async def session(quick: bool) -> list[dict[str, Any]]:
    import httpx
    import uvicorn

    # proto=IPPROTO_TCP, or asyncio does not set TCP_NODELAY on the accepted connections
    # and every response waits 40 ms for the client's delayed ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(), log_level="warning", lifespan="on"))
    rows: list[dict[str, Any]] = []

    async def call(label: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
        started = time.perf_counter()
        response = await client.request(method, path, **kwargs)
        rows.append(
            {
                "call": label,
                "endpoint": f"{method} {path}",
                "status": response.status_code,
                "ms": (time.perf_counter() - started) * 1e3,
                "answer": _summary(response),
            }
        )
        return response

    async with anyio.create_task_group() as tg:
        tg.start_soon(server.serve, [sock])
        while not server.started:  # noqa: ASYNC110  (uvicorn offers a flag, not an event)
            await anyio.sleep(0.01)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            n = 50 if quick else 1000
            proved = await call(
                "prove fib", "POST", "/prove", json={"program": "fib", "inputs": [n]}
            )
            await call(
                "same again (cache)", "POST", "/prove", json={"program": "fib", "inputs": [n]}
            )
            receipt = proved.json()["receipt"]
            await call("verify it", "POST", "/verify", json={"program": "fib", "receipt": receipt})
            await call(
                "verify vs another program",
                "POST",
                "/verify",
                json={"program": "factorial", "receipt": receipt},
            )
            source = ".input x\n.output y\n  mul y, x, x\n  halt\n"
            await call(
                "prove from source", "POST", "/prove", json={"source": source, "inputs": [12]}
            )
            await call("bad JSON", "POST", "/prove", content=b"{not json")
            await call("unknown program", "POST", "/prove", json={"program": "nope", "inputs": []})
            await call("wrong inputs", "POST", "/prove", json={"program": "fib", "inputs": [1, 2]})
            await call("assembly error", "POST", "/prove", json={"source": ".input x\n  bogus y\n"})
            text = (await call("metrics", "GET", "/metrics")).text
            rows[-1]["answer"] = f"{len(text.splitlines())} lines of Prometheus text"
        server.should_exit = True
    return rows


def _summary(response: Any) -> str:
    if not response.headers.get("content-type", "").startswith("application/json"):
        return response.text[:60]
    body = response.json()
    if "error" in body:
        where = f" at line {body['line']}, column {body['column']}" if "line" in body else ""
        return f"{body['error']}{where}"
    if "valid" in body:
        return "valid" if body["valid"] else f"invalid ({body['check']})"
    if "outputs" in body:
        return f"outputs {body['outputs']}, receipt {body['receipt_bytes']} bytes"
    return json.dumps(body)[:60]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--profile", default=None, help="default security profile")
    parser.add_argument(
        "--min-security-bits",
        type=float,
        default=zkactors.profiles.DEFAULT_MIN_SECURITY_BITS,
        help="POST /verify refuses receipts below this many conjectured bits",
    )


if __name__ == "__main__":
    args = parse_args("service", __doc__.splitlines()[0], add_arguments)
    if args.quick:
        rows = anyio.run(session, args.quick)
        print_table(
            "the service, called over HTTP", ["call", "endpoint", "status", "ms", "answer"], rows
        )
        write_json(args.out, "service", args.quick, rows=rows)
    else:
        import uvicorn

        config = RuntimeConfig() if args.profile is None else RuntimeConfig(profile=args.profile)
        say(f"serving on http://{args.host}:{args.port} (POST /prove, POST /verify, GET /metrics)")
        app = create_app(config, min_security_bits=args.min_security_bits)
        uvicorn.run(app, host=args.host, port=args.port, log_level="info")
