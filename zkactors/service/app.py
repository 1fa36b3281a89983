"""The prover service as an ASGI application: :func:`create_app`.

One :class:`~zkactors.ZkRuntime` lives in the app's lifespan. ``POST /prove`` estimates
the request's cost with ``rt.estimate`` (refusing it if over a limit), then hands it to
the runtime with ``try_prove`` (load is shed with 503, never queued without bound) and
waits for the answer while watching the connection: a client that goes away stops the
wait at once, so the runtime knows nobody is waiting for that request any more.
"""

from __future__ import annotations

import base64
import binascii
import collections
import contextlib
import hmac
import math
import time
from collections.abc import AsyncIterator, Callable
from importlib import resources
from typing import Any, TypeVar

import anyio
import anyio.abc
from pydantic import BaseModel, ValidationError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

import zkactors
from zkactors import Program, ZkRuntime
from zkactors._logging import get_logger
from zkactors.errors import (
    AssemblyError,
    CycleLimitExceeded,
    DeadlineExceeded,
    ExecutionError,
    InputError,
    MemoryBudgetExceeded,
    Overloaded,
    ProfileError,
    ProgramFormatError,
    ProvingError,
    RuntimeClosed,
    RuntimeFailed,
    UnknownProgramError,
    VerificationError,
    ZkActorsError,
)
from zkactors.runtime import Estimate, ProofOutcome, RuntimeConfig
from zkactors.service import schemas
from zkactors.service.config import ServiceConfig, token_digest

log = get_logger(__name__)

M = TypeVar("M", bound=BaseModel)

#: Proofs the dashboard lists.
RECENT_PROOFS = 20


class HTTPError(Exception):
    """A request the service refuses: ``{"error", "message", **details}`` with ``status``."""

    def __init__(
        self,
        status: int,
        error: str,
        message: str,
        *,
        headers: dict[str, str] | None = None,
        **details: Any,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error = error
        self.message = message
        self.headers = headers
        self.details = details

    def response(self) -> JSONResponse:
        headers = dict(self.headers or {})
        if self.status == 503:
            headers.setdefault("Retry-After", "1")
        body = {"error": self.error, "message": self.message, **self.details}
        return JSONResponse(body, status_code=self.status, headers=headers or None)


def _from_library_error(exc: ZkActorsError) -> HTTPError:
    """The status a typed zkactors error deserves."""
    name = type(exc).__name__
    if isinstance(exc, UnknownProgramError):
        return HTTPError(404, name, str(exc))
    if isinstance(exc, AssemblyError):
        return HTTPError(
            422, name, exc.message, line=exc.line, column=exc.column, source_line=exc.source_line
        )
    if isinstance(exc, ExecutionError):
        return HTTPError(422, name, str(exc), pc=exc.pc, source_line=exc.source_line)
    if isinstance(exc, MemoryBudgetExceeded):
        return HTTPError(422, name, str(exc))
    if isinstance(exc, InputError | ProfileError | ProgramFormatError | ProvingError):
        return HTTPError(422, name, str(exc))
    if isinstance(exc, Overloaded | RuntimeClosed | RuntimeFailed):
        return HTTPError(503, name, str(exc))
    if isinstance(exc, DeadlineExceeded):
        return HTTPError(504, name, str(exc))
    return HTTPError(500, name, str(exc))


class ServiceState:
    """The service's own bookkeeping, next to the runtime's metrics."""

    def __init__(self, config: ServiceConfig) -> None:
        self.config = config
        self.runtime: ZkRuntime | None = None
        self.phase = "starting"  # -> ready -> draining -> stopped
        self.in_flight = 0
        self.per_client: collections.Counter[str] = collections.Counter()
        self.counters: collections.Counter[str] = collections.Counter()
        self.recent: collections.deque[dict[str, Any]] = collections.deque(maxlen=RECENT_PROOFS)
        self.drain_deadline = math.inf
        self._draining: anyio.Event | None = None

    def reset(self) -> None:
        """A fresh start (an app may be served again after it stopped); in the event loop
        that serves it, where its event must be made."""
        self.phase = "starting"
        self.drain_deadline = math.inf
        self._draining = anyio.Event()

    def draining_event(self) -> anyio.Event:
        if self._draining is None:
            self._draining = anyio.Event()
        return self._draining

    def begin_drain(self) -> None:
        """Stop taking proof requests; those in flight get ``drain_seconds`` to finish.
        Idempotent: the server may call it when its shutdown starts, the lifespan again."""
        if self.phase in ("draining", "stopped"):
            return
        self.phase = "draining"
        self.drain_deadline = time.monotonic() + self.config.drain_seconds
        self.draining_event().set()
        log.info("service.draining", in_flight=self.in_flight, seconds=self.config.drain_seconds)

    def rt(self) -> ZkRuntime:
        if self.runtime is None or self.phase != "ready":
            raise HTTPError(
                503,
                "ShuttingDown" if self.phase != "starting" else "Starting",
                f"the service is {self.phase}; retry on another instance",
            )
        return self.runtime


def _state(request: Request) -> ServiceState:
    state: ServiceState = request.app.state.service
    return state


# ---- authentication ----


def _client_id(request: Request) -> str:
    """Who the per-client limit counts: the token's digest when authenticated, the peer
    address otherwise."""
    header = request.headers.get("authorization", "")
    if _state(request).config.auth and header:
        # Authenticated already: the header is "Bearer <token>".
        return "token:" + token_digest(header.partition(" ")[2].strip()).hex()[:16]
    return "peer:" + (request.client.host if request.client else "unknown")


def _authenticate(request: Request) -> None:
    tokens = _state(request).config.tokens
    if tokens is None:
        return
    header = request.headers.get("authorization", "")
    scheme, _, presented = header.partition(" ")
    digest = token_digest(presented.strip())
    # Compare with every token, without stopping at a match, digests of equal length:
    # the time taken says nothing about which token, or which part of one, was close.
    matched = False
    for known in tokens:
        matched |= hmac.compare_digest(digest, known)
    if not (matched and scheme.lower() == "bearer"):
        _state(request).counters["unauthorized"] += 1
        # One message for a missing header, a wrong scheme and a wrong token alike.
        raise HTTPError(
            401,
            "Unauthorized",
            "a valid bearer token is required",
            headers={"WWW-Authenticate": 'Bearer realm="zkactors"'},
        )


# ---- bodies ----


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


async def _read_body(request: Request) -> bytes:
    """The body, refused (413) from its declared length before reading any of it, or as
    soon as the bytes streamed in pass the limit: never more than the limit is held."""
    limit = _state(request).config.max_body_bytes
    if not _is_json(request.headers.get("content-type", "")):
        raise HTTPError(415, "UnsupportedMediaType", "send the body as application/json")
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            size = int(declared)
        except ValueError:
            raise HTTPError(400, "BadRequest", "Content-Length is not a number") from None
        if size > limit:
            raise HTTPError(
                413,
                "PayloadTooLarge",
                f"the body is {size} bytes; the limit is {limit}",
                limit=limit,
            )
    chunks: list[bytes] = []
    received = 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > limit:
            raise HTTPError(
                413,
                "PayloadTooLarge",
                f"the body is over the limit of {limit} bytes",
                limit=limit,
            )
        chunks.append(chunk)
    return b"".join(chunks)


async def _parse(request: Request, model: type[M]) -> M:
    body = await _read_body(request)
    try:
        return model.model_validate_json(body)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_context=False, include_input=False)
        if any(e["type"] == "json_invalid" for e in errors):
            raise HTTPError(400, "MalformedJSON", "the body is not valid JSON") from None
        messages = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in errors
        )
        raise HTTPError(422, "InvalidRequest", messages, errors=errors) from None


def _program(data: schemas.ProveRequest | schemas.VerifyRequest) -> Program:
    if data.program is not None:
        return zkactors.programs.load(data.program)  # UnknownProgramError -> 404
    assert data.source is not None
    return zkactors.assemble(data.source)  # AssemblyError -> 422 with line and column


# ---- cost limits ----


def _check_cost(config: ServiceConfig, estimate: Estimate) -> None:
    figures = {
        "cycles": estimate.cycles,
        "trace_rows": estimate.trace_length,
        "seconds": estimate.seconds,
        "memory_bytes": estimate.peak_bytes,
    }
    limits = config.limits()
    over = [name for name, limit in limits.items() if limit is not None and figures[name] > limit]
    if over:
        said = ", ".join(f"{name} {figures[name]:.4g} > {limits[name]}" for name in over)
        raise HTTPError(
            422,
            "CostLimitExceeded",
            f"the request is over this service's limits ({said}); nothing was proved",
            over=over,
            limits=limits,
            estimate={
                "cycles": estimate.cycles,
                "trace_rows": estimate.trace_length,
                "seconds": estimate.seconds,
                "memory_bytes": estimate.peak_bytes,
                "threads": estimate.threads,
                "queue_seconds": estimate.queue_seconds,
                "profile": estimate.profile,
            },
        )


# ---- waiting for a proof ----


async def _wait_for_client_or_proof(
    request: Request, state: ServiceState, wait: Callable[[], Any]
) -> ProofOutcome | None:
    """``await wait()`` unless the client disconnects (None) or the drain time runs out
    (503). Leaving stops this request's wait only: identical requests joined to the same
    proof keep waiting for it."""
    result: list[ProofOutcome] = []
    gone = False
    expired = False

    async with anyio.create_task_group() as tg:

        async def proof() -> None:
            result.append(await wait())
            tg.cancel_scope.cancel()

        async def disconnect() -> None:
            nonlocal gone
            # The body is read, so the server's next message is the disconnect (it does
            # not come while the response is pending unless the client went away).
            while (await request.receive())["type"] != "http.disconnect":
                pass
            gone = True
            tg.cancel_scope.cancel()

        async def drain() -> None:
            nonlocal expired
            await state.draining_event().wait()
            await anyio.sleep(max(0.0, state.drain_deadline - time.monotonic()))
            expired = True
            tg.cancel_scope.cancel()

        tg.start_soon(proof)
        tg.start_soon(disconnect)
        tg.start_soon(drain)
    if result:
        return result[0]
    if gone:
        return None
    assert expired
    raise HTTPError(503, "ShuttingDown", "the service shut down before the proof finished")


# ---- endpoints ----


async def prove(request: Request) -> Response:
    state = _state(request)
    _authenticate(request)
    client = _client_id(request)
    data = await _parse(request, schemas.ProveRequest)
    rt = state.rt()
    config = state.config
    if state.in_flight >= config.max_in_flight:
        state.counters["shed"] += 1
        raise HTTPError(
            503, "Overloaded", f"{state.in_flight} proofs in flight, the service's limit"
        )
    if state.per_client[client] >= config.max_per_client:
        state.counters["client_limited"] += 1
        raise HTTPError(
            429,
            "TooManyRequests",
            f"this client already has {config.max_per_client} requests in flight",
            headers={"Retry-After": "1"},
        )
    started = time.monotonic()
    state.in_flight += 1
    state.per_client[client] += 1
    try:
        program = _program(data)
        try:
            estimate = await rt.estimate(program, data.inputs, profile=data.profile)
        except CycleLimitExceeded:
            if config.max_cycles is None or rt.config.max_cycles > config.max_cycles + 1:
                raise
            # The runtime's cap sits just past the service's limit, so a long run stops
            # being executed as soon as it is known to be over it.
            state.counters["cost_refused"] += 1
            raise HTTPError(
                422,
                "CostLimitExceeded",
                f"the run did not halt within {config.max_cycles} cycles, this service's "
                "limit; nothing was proved",
                over=["cycles"],
                limits=config.limits(),
                estimate={"cycles_at_least": config.max_cycles + 1},
            ) from None
        try:
            _check_cost(config, estimate)
        except HTTPError:
            state.counters["cost_refused"] += 1
            raise
        try:
            # try_prove never waits for mailbox room: a full runtime is a 503 now.
            handle = rt.try_prove(program, data.inputs, profile=data.profile)
        except Overloaded:
            state.counters["shed"] += 1
            raise
        outcome = await _wait_for_client_or_proof(request, state, handle.wait_detailed)
    finally:
        state.in_flight -= 1
        state.per_client[client] -= 1
        if not state.per_client[client]:
            del state.per_client[client]
    if outcome is None:
        state.counters["disconnected"] += 1
        log.info("service.client_gone", program=program.hash[:12])
        return Response(status_code=499)  # nobody reads it; the connection is gone
    receipt = outcome.receipt
    state.recent.appendleft(
        {
            "at": time.time(),
            "program": data.program or f"source {program.hash[:8]}",
            "inputs": list(receipt.inputs)[:4],
            "outputs": list(receipt.outputs)[:4],
            "source": outcome.source,
            "cycles": outcome.cycles,
            "profile": receipt.profile,
            "latency_ms": round((time.monotonic() - started) * 1e3, 1),
            "estimated_s": outcome.estimated_seconds,
            "proved_s": outcome.prove_seconds,
        }
    )
    body = schemas.ProveResponse(
        program_hash=receipt.program_hash,
        inputs=list(receipt.inputs),
        outputs=list(receipt.outputs),
        written=list(receipt.outputs[len(program.outputs) :]),
        air=receipt.air,
        cycles=outcome.cycles,
        trace_length=receipt.trace_length,
        profile=receipt.profile,
        source=outcome.source,
        receipt=base64.b64encode(receipt.to_bytes()).decode("ascii"),
        receipt_bytes=receipt.size,
    )
    return JSONResponse(body.model_dump())


async def verify(request: Request) -> Response:
    state = _state(request)
    _authenticate(request)
    data = await _parse(request, schemas.VerifyRequest)
    program = _program(data)
    try:
        receipt_bytes = base64.b64decode(data.receipt, validate=True)
    except (binascii.Error, ValueError):
        raise HTTPError(422, "InvalidRequest", '"receipt" is not valid base64') from None
    required = state.config.min_security_bits
    if data.min_security_bits is not None:
        try:
            asked = zkactors.profiles.check_min_security_bits(data.min_security_bits)
        except (TypeError, ValueError):
            raise HTTPError(
                422, "InvalidRequest", '"min_security_bits" must be a finite number >= 0'
            ) from None
        # A client may demand more than the service's policy, never less.
        required = max(required, asked)
    try:
        # Native, GIL released, well under a millisecond: no need to leave the loop.
        zkactors.verify(receipt_bytes, program, min_security_bits=required)
    except VerificationError as exc:
        rejected = schemas.VerifyRejected(valid=False, check=exc.check, reason=str(exc))
        return JSONResponse(rejected.model_dump())
    receipt = zkactors.Receipt.from_bytes(receipt_bytes)
    accepted = schemas.VerifyAccepted(
        valid=True,
        program_hash=receipt.program_hash,
        inputs=list(receipt.inputs),
        outputs=list(receipt.outputs),
        written=list(receipt.outputs[len(program.outputs) :]),
        air=receipt.air,
        profile=receipt.profile,
        security_bits=round(receipt.security_bits(program), 1),
        min_security_bits=required,
    )
    return JSONResponse(accepted.model_dump())


def _service_lines(state: ServiceState) -> str:
    def metric(name: str, kind: str, help_text: str, value: float) -> str:
        full = f"zkactors_service_{name}"
        return f"# HELP {full} {help_text}\n# TYPE {full} {kind}\n{full} {value}\n"

    c = state.counters
    return "".join(
        [
            metric(
                "in_flight", "gauge", "Proof requests this service is waiting on.", state.in_flight
            ),
            metric(
                "shed_total",
                "counter",
                "Requests answered 503 (service or runtime full).",
                c["shed"],
            ),
            metric(
                "client_limited_total",
                "counter",
                "Requests answered 429 (a client's limit).",
                c["client_limited"],
            ),
            metric(
                "cost_refused_total",
                "counter",
                "Requests over a cost limit (nothing proved).",
                c["cost_refused"],
            ),
            metric(
                "disconnected_total",
                "counter",
                "Proof requests whose client went away.",
                c["disconnected"],
            ),
            metric("unauthorized_total", "counter", "Requests answered 401.", c["unauthorized"]),
            metric(
                "draining",
                "gauge",
                "1 while the service drains for shutdown.",
                int(state.phase == "draining"),
            ),
        ]
    )


async def metrics(request: Request) -> Response:
    state = _state(request)
    if state.runtime is None:
        raise HTTPError(503, "Starting", "the runtime has not started yet")
    text = state.runtime.metrics().to_prometheus() + _service_lines(state)
    return PlainTextResponse(text, media_type="text/plain; version=0.0.4; charset=utf-8")


async def stats(request: Request) -> Response:
    """What the dashboard shows, as JSON."""
    state = _state(request)
    if state.runtime is None:
        raise HTTPError(503, "Starting", "the runtime has not started yet")
    m = state.runtime.metrics()
    store_lookups = m.store_hits + m.store_misses
    return JSONResponse(
        {
            "phase": state.phase,
            "uptime_s": m.uptime,
            "requests": m.requests,
            "receipts": m.receipts,
            "failures": dict(m.failures),
            "in_flight": state.in_flight,
            "throughput": m.throughput,
            "proofs": m.proofs,
            "memory_hit_rate": m.hit_rate,
            "store_hit_rate": m.store_hits / store_lookups if store_lookups else None,
            "store": state.runtime.config.store is not None,
            "cache": {
                "enabled": m.cache_enabled,
                "entries": m.cache_entries,
                "bytes": m.cache_bytes,
                "window_hit_rate": m.cache_hit_rate,
                "evictions": m.cache_evictions,
            },
            "latency": {"p50": m.latency_p50, "p95": m.latency_p95, "p99": m.latency_p99},
            "estimate_error": {"p50": m.estimate_error, "p90": m.estimate_error_p90},
            "service": dict(state.counters),
            "recent": list(state.recent),
        }
    )


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "alive"})


async def readyz(request: Request) -> Response:
    state = _state(request)
    store = await _store_health(state)
    status = state.phase
    if status == "ready" and (state.runtime is None or not state.runtime.running):
        status = "stopped"  # the runtime failed under a live server
    body = schemas.Readiness(status=status, store=store)  # type: ignore[arg-type]
    return JSONResponse(body.model_dump(), status_code=200 if status == "ready" else 503)


async def _store_health(state: ServiceState) -> str:
    """``ok``, ``degraded`` (unreachable: the runtime proves instead, so still ready),
    ``none``, or ``unknown`` before the runtime starts."""
    runtime = state.runtime
    if runtime is None:
        return "unknown"
    if runtime.config.store is None:
        return "none"
    # The runtime's store front owns the connection; a lookup of a key no request can
    # have is a round trip under the store's own timeout, and never raises a StoreError
    # out of here.
    front = getattr(runtime, "_store_front", None)
    if front is None:
        return "unknown"
    try:
        await front.store.get(b"zkactors:readyz:probe")
    except Exception:  # any failure means the same here: not reachable now
        return "degraded"
    return "ok"


async def programs(request: Request) -> Response:
    return JSONResponse(schemas.Programs(programs=list(zkactors.programs.names())).model_dump())


async def dashboard(request: Request) -> Response:
    page = resources.files("zkactors.service").joinpath("static/dashboard.html")
    return HTMLResponse(page.read_text(encoding="utf-8"))


async def openapi(request: Request) -> Response:
    return JSONResponse(request.app.state.openapi)


# ---- errors ----


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPError)
    return exc.response()


async def _library_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ZkActorsError)
    if isinstance(exc, Overloaded):
        _state(request).counters["shed"] += 1
    return _from_library_error(exc).response()


async def _starlette_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    names = {404: "NotFound", 405: "MethodNotAllowed"}
    error = HTTPError(
        exc.status_code,
        names.get(exc.status_code, "HTTPError"),
        exc.detail or "",
        headers=dict(exc.headers or {}),
    )
    if exc.status_code == 404:
        error.message = f"no endpoint {request.url.path}; see /openapi.json"
    elif exc.status_code == 405:
        error.message = f"{request.method} is not allowed on {request.url.path}"
    return error.response()


async def _unexpected(request: Request, exc: Exception) -> Response:
    log.error("service.error", error=repr(exc), path=request.url.path)
    return JSONResponse(
        {"error": "InternalError", "message": "the service failed on this request"},
        status_code=500,
    )


# ---- the app ----


def _openapi_document() -> dict[str, Any]:
    models: list[type[BaseModel]] = [
        schemas.ProveRequest,
        schemas.VerifyRequest,
        schemas.ProveResponse,
        schemas.VerifyAccepted,
        schemas.VerifyRejected,
        schemas.ErrorBody,
        schemas.Programs,
        schemas.Health,
        schemas.Readiness,
    ]
    components: dict[str, Any] = {}
    for model in models:
        schema = schemas.schema_of(model)
        components.update(schema.pop("$defs", {}))
        components[model.__name__] = schema

    def ref(name: str) -> dict[str, Any]:
        return {"$ref": f"#/components/schemas/{name}"}

    def json_body(schema: dict[str, Any], description: str) -> dict[str, Any]:
        return {"description": description, "content": {"application/json": {"schema": schema}}}

    error = json_body(ref("ErrorBody"), "an error")
    common = {"413": error, "415": error, "400": error, "422": error, "401": error, "404": error}
    return {
        "openapi": "3.1.0",
        "info": {"title": "zkactors prover service", "version": zkactors.__version__},
        "paths": {
            "/prove": {
                "post": {
                    "summary": "Prove one run of a program",
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": ref("ProveRequest")}},
                    },
                    "responses": {
                        "200": json_body(ref("ProveResponse"), "the receipt"),
                        **common,
                        "429": error,
                        "503": error,
                        "504": error,
                    },
                }
            },
            "/verify": {
                "post": {
                    "summary": "Verify a receipt against a program under the service's policy",
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": ref("VerifyRequest")}},
                    },
                    "responses": {
                        "200": json_body(
                            {"oneOf": [ref("VerifyAccepted"), ref("VerifyRejected")]},
                            "the verdict",
                        ),
                        **common,
                    },
                }
            },
            "/programs": {"get": {"responses": {"200": json_body(ref("Programs"), "names")}}},
            "/healthz": {"get": {"responses": {"200": json_body(ref("Health"), "alive")}}},
            "/readyz": {
                "get": {
                    "responses": {
                        "200": json_body(ref("Readiness"), "serving"),
                        "503": json_body(ref("Readiness"), "not serving"),
                    }
                }
            },
            "/metrics": {
                "get": {
                    "responses": {
                        "200": {
                            "description": "Prometheus text format 0.0.4",
                            "content": {"text/plain": {"schema": {"type": "string"}}},
                        }
                    }
                }
            },
            "/stats": {"get": {"responses": {"200": {"description": "the dashboard's figures"}}}},
            "/": {"get": {"responses": {"200": {"description": "the live dashboard (HTML)"}}}},
        },
        "components": {"schemas": components},
    }


def create_app(
    config: ServiceConfig | RuntimeConfig | None = None,
    *,
    runtime_factory: Callable[[], ZkRuntime] | None = None,
) -> Starlette:
    """The prover service; its runtime starts with the app and drains (for at most
    ``config.drain_seconds``) when it stops. Serve it with any ASGI server on asyncio
    (``zkactors serve`` uses uvicorn), or mount it in a larger app.

    :param config: a :class:`ServiceConfig`, or a :class:`RuntimeConfig` for a service
        with the default limits.
    :param runtime_factory: builds the runtime instead of ``ZkRuntime(config.runtime)``
        (tests use it to hold proofs at a gate).
    """
    if config is None:
        config = ServiceConfig()
    elif isinstance(config, RuntimeConfig):
        config = ServiceConfig(runtime=config)
    service_config = config
    state = ServiceState(service_config)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        state.reset()
        runtime = (
            runtime_factory() if runtime_factory is not None else ZkRuntime(service_config.runtime)
        )
        stop = anyio.Event()
        stopped = anyio.Event()

        async def run_runtime(*, task_status: anyio.abc.TaskStatus[None]) -> None:
            # The runtime lives in a task of its own, so that the drain deadline can
            # cancel it as a whole (its task group cannot be left from another scope).
            try:
                async with runtime:
                    task_status.started()
                    await stop.wait()
            finally:
                stopped.set()

        async with anyio.create_task_group() as tg:
            await tg.start(run_runtime)
            state.runtime = runtime
            state.phase = "ready"
            log.info("service.ready", store=service_config.runtime.store is not None)
            try:
                yield
            finally:
                state.begin_drain()
                stop.set()
                # The runtime finishes accepted work until the drain deadline; then it is
                # cancelled, and the requests left are answered.
                with anyio.move_on_after(max(0.0, state.drain_deadline - time.monotonic())):
                    await stopped.wait()
                if not stopped.is_set():
                    log.warning("service.drain_expired", seconds=service_config.drain_seconds)
                    tg.cancel_scope.cancel()
        state.phase = "stopped"

    app = Starlette(
        routes=[
            Route("/prove", prove, methods=["POST"]),
            Route("/verify", verify, methods=["POST"]),
            Route("/programs", programs, methods=["GET"]),
            Route("/metrics", metrics, methods=["GET"]),
            Route("/stats", stats, methods=["GET"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            Route("/openapi.json", openapi, methods=["GET"]),
            Route("/", dashboard, methods=["GET"]),
        ],
        exception_handlers={
            HTTPError: _http_error,
            ZkActorsError: _library_error,
            HTTPException: _starlette_error,
            Exception: _unexpected,
        },
        lifespan=lifespan,
    )
    app.state.service = state
    app.state.openapi = _openapi_document()
    return app


__all__ = ["HTTPError", "ServiceState", "create_app"]
