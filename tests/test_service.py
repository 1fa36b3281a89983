"""The prover service (zkactors.service), served by uvicorn on 127.0.0.1 and called over
real HTTP with httpx.

uvicorn runs on asyncio only, so each in-process server gets its own thread and event
loop; the clients are ``@pytest.mark.anyio`` tests and run on asyncio and on trio. Every
status the service promises is provoked for real, including 503, 429 and a client that
goes away mid-proof: a prover double that waits at a gate holds proofs in flight for as
long as a test needs. What needs a process of its own (memory under a huge body,
SIGTERM, two processes sharing Redis) is in test_service_process.py.
"""

from __future__ import annotations

import asyncio
import base64
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
import uvicorn

import zkactors
import zkactors.service as service
from zkactors import RuntimeConfig, ZkRuntime
from zkactors.service import ServiceConfig
from zkactors.zkvm.prover import prove as native_prove
from zkactors.zkvm.reference import verify as reference_verify

JSON = {"content-type": "application/json"}


class ServerThread:
    """A uvicorn server for ``app`` on a free port of 127.0.0.1, in its own thread."""

    def __init__(self, app: Any) -> None:
        # proto=IPPROTO_TCP so asyncio sets TCP_NODELAY on accepted connections.
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self._sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        self.app = app
        self._server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self.error: BaseException | None = None
        self.loop: asyncio.AbstractEventLoop | None = None

    def call_soon(self, fn: Callable[[], object]) -> None:
        """Run ``fn`` in the server's event loop thread."""
        assert self.loop is not None
        self.loop.call_soon_threadsafe(fn)

    def _serve(self) -> None:
        async def serve() -> None:
            self.loop = asyncio.get_running_loop()  # uvicorn's loop, for call_soon
            await self._server.serve([self._sock])

        try:
            anyio.run(serve, backend="asyncio")
        except BaseException as exc:  # reported by the fixture, not lost in the thread
            self.error = exc

    def __enter__(self) -> ServerThread:
        self._thread.start()
        deadline = time.monotonic() + 60
        while not self._server.started:
            assert self._thread.is_alive(), f"the server did not start: {self.error!r}"
            assert time.monotonic() < deadline, "the server did not start within 60 s"
            time.sleep(0.01)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.should_exit = True
        self._thread.join(60)
        assert not self._thread.is_alive(), "the server did not stop"
        assert self.error is None, self.error


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    config = ServiceConfig(max_per_client=64)  # the concurrency test is one client
    with ServerThread(service.create_app(config)) as server:
        yield server.url


def _client(url: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=url, timeout=120)


# ---- prove and verify ----


@pytest.mark.anyio
async def test_prove_then_verify_round_trip(url: str) -> None:
    fib = zkactors.programs.load("fib")
    async with _client(url) as client:
        proved = await client.post("/prove", json={"program": "fib", "inputs": [30]})
        assert proved.status_code == 200, proved.text
        body = proved.json()
        assert body["outputs"] == [832040]
        assert body["cycles"] == 6 * 30 + 4  # fib's exact cycles, as docs/service.md says
        assert body["inputs"] == [30]
        assert body["program_hash"] == fib.hash
        assert body["profile"] == "default"
        assert body["cycles"] == zkactors.execute(fib, [30]).cycles
        assert body["source"] in ("proved", "cache")
        raw = base64.b64decode(body["receipt"])
        assert len(raw) == body["receipt_bytes"]
        receipt = zkactors.Receipt.from_bytes(raw)
        assert receipt.trace_length == body["trace_length"]
        # The receipt holds for both verifiers, independently of the service.
        zkactors.verify(receipt, fib)
        reference_verify(receipt, fib)

        verified = await client.post("/verify", json={"program": "fib", "receipt": body["receipt"]})
        assert verified.status_code == 200
        assert verified.json() == {
            "valid": True,
            "program_hash": fib.hash,
            "inputs": [30],
            "outputs": [832040],
            "written": [],
            "air": receipt.air,
            "profile": "default",
            "security_bits": round(receipt.security_bits(fib), 1),
            "min_security_bits": 100.0,
        }


@pytest.mark.anyio
async def test_prove_from_source_and_named_inputs(url: str) -> None:
    source = ".input x, y\n.output z\n        mul z, x, y\n        halt\n"
    async with _client(url) as client:
        proved = await client.post(
            "/prove", json={"source": source, "inputs": {"y": 6, "x": 7}, "profile": "test"}
        )
        assert proved.status_code == 200, proved.text
        body = proved.json()
        assert body["outputs"] == [42]
        assert body["profile"] == "test"
        program = zkactors.assemble(source)
        zkactors.verify(base64.b64decode(body["receipt"]), program, min_security_bits=0)
        # A real proof, but under the insecure profile: the service's policy refuses it.
        verified = await client.post("/verify", json={"source": source, "receipt": body["receipt"]})
        assert verified.json()["valid"] is False
        assert verified.json()["check"] == "policy"


@pytest.mark.anyio
async def test_prove_and_verify_a_v2_program_with_streams(url: str) -> None:
    # sum_array over 300 stored values, on the default profile: the service's policy holds.
    values = [(7 * k + 3) % 1000 for k in range(300)]
    program = zkactors.programs.load("sum_array")
    async with _client(url) as client:
        proved = await client.post(
            "/prove", json={"program": "sum_array", "inputs": [300, *values]}
        )
        assert proved.status_code == 200, proved.text
        body = proved.json()
        assert body["inputs"] == [300, *values]
        assert body["outputs"] == [sum(values)] and body["written"] == []
        assert body["air"] == 2 and body["cycles"] == 11 * 300 + 6
        receipt = zkactors.Receipt.from_bytes(base64.b64decode(body["receipt"]))
        assert receipt.air == 2 and receipt.format_version == 3
        zkactors.verify(receipt, program)
        verified = await client.post(
            "/verify", json={"program": "sum_array", "receipt": body["receipt"]}
        )
        answer = verified.json()
        assert answer["valid"] is True, answer
        assert answer["air"] == 2 and answer["written"] == []
        assert answer["inputs"] == [300, *values] and answer["outputs"] == [sum(values)]
        assert answer["security_bits"] == round(receipt.security_bits(program), 1)


@pytest.mark.anyio
async def test_written_values_come_back_by_themselves(url: str) -> None:
    # matvec writes y = M x; it has no .output registers, so outputs == written.
    async with _client(url) as client:
        proved = await client.post(
            "/prove", json={"program": "matvec", "inputs": [2, 1, 2, 3, 4, 5, 6], "profile": "test"}
        )
        assert proved.status_code == 200, proved.text
        body = proved.json()
        assert body["outputs"] == [17, 39] and body["written"] == [17, 39] and body["air"] == 2
        # Registers first, then the written values: only the tail is "written".
        source = ".input a\n.output s\n  read b\n  add s, a, b\n  write b\n  halt\n"
        proved = await client.post(
            "/prove", json={"source": source, "inputs": [5, 7], "profile": "test"}
        )
        assert proved.status_code == 200, proved.text
        assert proved.json()["outputs"] == [12, 7] and proved.json()["written"] == [7]
        # Stream inputs in the mapping form: a mapping names the .input registers only.
        refused = await client.post(
            "/prove", json={"source": source, "inputs": {"a": 5}, "profile": "test"}
        )
        assert refused.status_code == 422
        wrong = await client.post(
            "/prove", json={"program": "sum_array", "inputs": [3, 1, 2], "profile": "test"}
        )
        assert wrong.status_code == 422 and "read past the end" in wrong.json()["message"]


#: Reads n, then n values, and writes each back: a receipt of ~16 bytes per value.
ECHO = "  read n\nloop: jz n, done\n  read v\n  write v\n  subi n, n, 1\n  jmp loop\ndone: halt\n"


@pytest.mark.anyio
async def test_a_receipt_over_one_mib_goes_through_both_endpoints(anyio_backend: str) -> None:
    # 52,000 stream values in and out: a format-3 receipt of ~850 KB, ~1.1 MB in base64,
    # over the body limit the service had before format 3 (1 MiB).
    count = 52_000
    config = ServiceConfig(min_security_bits=0)
    with ServerThread(service.create_app(config)) as server:
        async with _client(server.url) as client:
            proved = await client.post(
                "/prove", json={"source": ECHO, "inputs": [count, *range(count)], "profile": "test"}
            )
            assert proved.status_code == 200, proved.text
            body = proved.json()
            assert body["written"] == list(range(count)) and body["air"] == 2
            assert body["receipt_bytes"] > 800_000 and len(body["receipt"]) > 1 << 20
            verified = await client.post(
                "/verify", json={"source": ECHO, "receipt": body["receipt"]}
            )
            assert verified.status_code == 200, verified.text
            assert verified.json()["valid"] is True
            assert verified.json()["written"] == list(range(count))


@pytest.mark.anyio
async def test_verify_rejects_a_tampered_receipt_and_another_program(url: str) -> None:
    async with _client(url) as client:
        body = (await client.post("/prove", json={"program": "fib", "inputs": [12]})).json()
        raw = bytearray(base64.b64decode(body["receipt"]))
        raw[-40] ^= 1  # inside the proof's query openings
        tampered = base64.b64encode(bytes(raw)).decode()
        answer = (await client.post("/verify", json={"program": "fib", "receipt": tampered})).json()
        assert answer["valid"] is False
        assert answer["check"] and answer["reason"]

        other = await client.post("/verify", json={"program": "power", "receipt": body["receipt"]})
        assert other.status_code == 200
        assert other.json()["valid"] is False
        assert other.json()["check"] == "statement"

        garbage = base64.b64encode(b"not a receipt").decode()
        answer = (await client.post("/verify", json={"program": "fib", "receipt": garbage})).json()
        assert answer == {"valid": False, "check": "format", "reason": answer["reason"]}


# ---- bad requests ----

FIB = "fib"
BAD_REQUESTS = [
    pytest.param(
        "/prove",
        {"content": b'{"program": "fib",', "headers": JSON},
        400,
        "MalformedJSON",
        id="malformed",
    ),
    pytest.param(
        "/prove", {"content": b"\xff\xfe", "headers": JSON}, 400, "MalformedJSON", id="not-utf8"
    ),
    pytest.param(
        "/prove", {"content": b'{"program": "fib"}'}, 415, "UnsupportedMediaType", id="no-type"
    ),
    pytest.param(
        "/prove",
        {"content": b'{"program": "fib"}', "headers": {"content-type": "text/plain"}},
        415,
        "UnsupportedMediaType",
        id="text-plain",
    ),
    pytest.param("/prove", {"json": [1, 2]}, 422, "InvalidRequest", id="not-an-object"),
    pytest.param(
        "/prove", {"json": {"program": FIB, "extra": 1}}, 422, "InvalidRequest", id="unknown-key"
    ),
    pytest.param(
        "/prove",
        {"content": b" " * (5 << 20), "headers": JSON},
        413,
        "PayloadTooLarge",
        id="too-big",
    ),
    pytest.param(
        "/prove", {"json": {"program": "nope"}}, 404, "UnknownProgramError", id="unknown-program"
    ),
    pytest.param(
        "/prove", {"json": {"program": FIB, "source": "halt"}}, 422, "InvalidRequest", id="both"
    ),
    pytest.param("/prove", {"json": {"inputs": [1]}}, 422, "InvalidRequest", id="neither"),
    pytest.param(
        "/prove", {"json": {"program": FIB, "inputs": [1, 2]}}, 422, "InputError", id="too-many"
    ),
    pytest.param(
        "/prove", {"json": {"program": FIB, "inputs": [2**64]}}, 422, "InputError", id="range"
    ),
    pytest.param(
        "/prove", {"json": {"program": FIB, "inputs": ["7"]}}, 422, "InvalidRequest", id="not-int"
    ),
    pytest.param(
        "/prove", {"json": {"program": FIB, "inputs": 7}}, 422, "InvalidRequest", id="not-a-list"
    ),
    pytest.param(
        "/prove",
        {"json": {"program": FIB, "inputs": [3], "profile": "max"}},
        422,
        "ProfileError",
        id="unknown-profile",
    ),
    pytest.param(
        "/prove",
        {"json": {"program": "inverse_check", "inputs": [0]}},
        422,
        "ExecutionError",
        id="fails-when-run",
    ),
    pytest.param(
        "/verify", {"json": {"program": FIB, "receipt": "@@@"}}, 422, "InvalidRequest", id="b64"
    ),
    pytest.param("/verify", {"json": {"program": FIB}}, 422, "InvalidRequest", id="no-receipt"),
    pytest.param(
        "/verify",
        {"json": {"program": "nope", "receipt": ""}},
        404,
        "UnknownProgramError",
        id="verify-unknown-program",
    ),
]


@pytest.mark.anyio
@pytest.mark.parametrize(("path", "kwargs", "status", "error"), BAD_REQUESTS)
async def test_bad_requests_get_a_json_error_and_status(
    url: str, path: str, kwargs: dict[str, Any], status: int, error: str
) -> None:
    async with _client(url) as client:
        response = await client.post(path, **kwargs)
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == error
    assert body["message"]


@pytest.mark.anyio
async def test_assembly_errors_say_where(url: str) -> None:
    source = ".input x\n.output y\n        mul y, x, x\n        frobnicate y\n        halt\n"
    async with _client(url) as client:
        response = await client.post("/prove", json={"source": source, "inputs": [3]})
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "AssemblyError"
    assert (body["line"], body["column"]) == (4, 9)
    assert "frobnicate" in body["source_line"]


@pytest.mark.anyio
async def test_the_service_keeps_serving_after_bad_requests(url: str) -> None:
    async with _client(url) as client:
        for _ in range(3):
            assert (await client.post("/prove", content=b"{", headers=JSON)).status_code == 400
        response = await client.post("/prove", json={"program": "factorial", "inputs": [10]})
    assert response.status_code == 200
    assert response.json()["outputs"] == [3628800]


@pytest.mark.anyio
async def test_wrong_method_is_405(url: str) -> None:
    async with _client(url) as client:
        assert (await client.get("/prove")).status_code == 405


# ---- concurrency and load shedding ----


@pytest.mark.anyio
async def test_twenty_concurrent_clients(url: str) -> None:
    # 15 distinct requests and 5 repeats of them, all at once.
    requests = [("power", [2, 10 + i]) for i in range(15)] + [
        ("power", [2, 10 + i]) for i in range(5)
    ]
    answers: list[tuple[list[int], httpx.Response]] = []
    async with _client(url) as client:
        before = _samples((await client.get("/metrics")).text)

        async def one(inputs: list[int]) -> None:
            answers.append(
                (inputs, await client.post("/prove", json={"program": "power", "inputs": inputs}))
            )

        async with anyio.create_task_group() as tg:
            for _, inputs in requests:
                tg.start_soon(one, inputs)
        after = _samples((await client.get("/metrics")).text)

    power = zkactors.programs.load("power")
    assert len(answers) == 20
    for inputs, response in answers:
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["outputs"] == [2 ** inputs[1]]
        zkactors.verify(base64.b64decode(body["receipt"]), power, min_security_bits=0)

    def delta(name: str) -> float:
        return after[name] - before[name]

    assert delta("zkactors_requests_total") == 20
    assert delta("zkactors_receipts_total") == 20
    lookups = [f'zkactors_lookups_total{{result="{r}"}}' for r in ("hit", "miss", "coalesced")]
    assert sum(delta(name) for name in lookups) == 20
    # Every distinct request was proved; a repeat was proved again only if the cache
    # (which switches itself off when most lookups miss) did not answer it.
    assert 15 <= delta("zkactors_proofs_total") <= 20


class GatedProverDouble:
    """TEST DOUBLE: the real prover, but each proof first waits until ``release`` is set,
    so a test can hold a proof in flight for as long as it needs."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()

    def __call__(self, *args: Any, **kwargs: Any) -> zkactors.Receipt:
        self.entered.set()
        assert self.release.wait(120), "the test never released the gate"
        return native_prove(*args, **kwargs)


@pytest.mark.anyio
async def test_over_the_in_flight_limit_is_503(anyio_backend: str) -> None:
    gate = GatedProverDouble()
    factory: Callable[[], ZkRuntime] = lambda: ZkRuntime(RuntimeConfig(), _prover=gate)  # noqa: E731
    app = service.create_app(ServiceConfig(max_in_flight=1), runtime_factory=factory)
    with ServerThread(app) as server:
        async with _client(server.url) as client, anyio.create_task_group() as tg:
            first: list[httpx.Response] = []

            async def held() -> None:
                first.append(await client.post("/prove", json={"program": "fib", "inputs": [40]}))

            tg.start_soon(held)
            assert await anyio.to_thread.run_sync(gate.entered.wait, 60)
            shed = await client.post("/prove", json={"program": "fib", "inputs": [41]})
            assert shed.status_code == 503
            assert shed.json()["error"] == "Overloaded"
            assert shed.headers["retry-after"] == "1"
            metrics = _samples((await client.get("/metrics")).text)
            assert metrics["zkactors_service_in_flight"] == 1
            assert metrics["zkactors_service_shed_total"] == 1
            gate.release.set()
        assert first[0].status_code == 200
        assert first[0].json()["outputs"] == [102334155]


# ---- metrics ----

_SAMPLE = re.compile(
    r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[a-zA-Z_]+="[^"]*"(,[a-zA-Z_]+="[^"]*")*\})? (\S+)$'
)


def _samples(text: str) -> dict[str, float]:
    """name{labels} -> value of every sample; every line must be well-formed."""
    samples: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("# HELP ") or line.startswith("# TYPE "):
            continue
        match = _SAMPLE.match(line)
        assert match, f"not a Prometheus sample line: {line!r}"
        samples[match.group(1) + (match.group(2) or "")] = float(match.group(4))
    return samples


@pytest.mark.anyio
async def test_metrics_is_prometheus_text(url: str) -> None:
    async with _client(url) as client:
        await client.post("/prove", json={"program": "horner", "inputs": [3]})
        await client.post("/prove", json={"program": "horner", "inputs": [3]})
        response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    samples = _samples(response.text)
    assert samples["zkactors_requests_total"] >= 2
    assert samples['zkactors_lookups_total{result="hit"}'] >= 1
    assert 0.0 <= samples["zkactors_cache_hit_ratio"] <= 1.0
    assert samples["zkactors_service_in_flight"] == 0
    types = dict(re.findall(r"^# TYPE (\S+) (\S+)$", response.text, re.MULTILINE))
    assert types["zkactors_requests_total"] == "counter"
    assert types["zkactors_request_latency_seconds"] == "histogram"
    assert types["zkactors_service_shed_total"] == "counter"
    assert "summary" not in types.values()


@pytest.mark.anyio
async def test_programs_lists_the_library(url: str) -> None:
    async with _client(url) as client:
        response = await client.get("/programs")
    assert response.json() == {"programs": list(zkactors.programs.names())}


# ---- the service's own endpoints and JSON errors ----


@pytest.mark.anyio
async def test_unknown_paths_and_methods_get_json_errors(url: str) -> None:
    async with _client(url) as client:
        missing = await client.get("/nowhere")
        wrong = await client.delete("/verify")
    assert missing.status_code == 404
    assert missing.json()["error"] == "NotFound" and missing.json()["message"]
    assert wrong.status_code == 405
    assert wrong.json()["error"] == "MethodNotAllowed"
    assert wrong.headers["allow"] == "POST"


@pytest.mark.anyio
async def test_openapi_document_describes_the_bodies(url: str) -> None:
    async with _client(url) as client:
        response = await client.get("/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.")
    assert {"/prove", "/verify", "/healthz", "/readyz", "/metrics"} <= set(document["paths"])
    schemas = document["components"]["schemas"]
    assert {"program", "source", "inputs", "profile"} <= set(schemas["ProveRequest"]["properties"])
    assert "cycles" in schemas["ProveResponse"]["required"]
    for name in ("ProveResponse", "VerifyAccepted"):
        assert {"written", "air"} <= set(schemas[name]["required"])
        assert "machine AIR" in schemas[name]["properties"]["air"]["description"]
    prove_responses = document["paths"]["/prove"]["post"]["responses"]
    assert {"200", "400", "401", "413", "415", "422", "429", "503"} <= set(prove_responses)


@pytest.mark.anyio
async def test_health_and_readiness(url: str) -> None:
    async with _client(url) as client:
        alive = await client.get("/healthz")
        ready = await client.get("/readyz")
    assert (alive.status_code, alive.json()) == (200, {"status": "alive"})
    assert (ready.status_code, ready.json()) == (200, {"status": "ready", "store": "none"})


@pytest.mark.anyio
async def test_stats_feeds_the_dashboard(url: str) -> None:
    async with _client(url) as client:
        await client.post("/prove", json={"program": "power", "inputs": [3, 5]})
        stats = (await client.get("/stats")).json()
        page = await client.get("/")
    assert stats["phase"] == "ready"
    assert stats["requests"] >= 1 and stats["store"] is False
    latest = stats["recent"][0]
    assert latest["program"] == "power" and latest["outputs"] == [243]
    assert set(stats["latency"]) == {"p50", "p95", "p99"}
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert 'fetch("stats"' in page.text


def _quick_runtime() -> RuntimeConfig:
    # No start-up calibration: these servers prove little and start often.
    return RuntimeConfig(calibrate="off")


@pytest.mark.anyio
async def test_readiness_reports_a_store_that_fails_as_degraded(
    anyio_backend: str, redis_server: Any
) -> None:
    config = ServiceConfig(runtime=RuntimeConfig(calibrate="off", store=redis_server.url))
    with ServerThread(service.create_app(config)) as server:
        async with _client(server.url) as client:
            assert (await client.get("/readyz")).json() == {"status": "ready", "store": "ok"}
            redis_server.kill()
            ready = await client.get("/readyz")
            # Degraded but serving: the runtime proves what the store cannot answer.
            assert (ready.status_code, ready.json()["store"]) == (200, "degraded")
            proved = await client.post("/prove", json={"program": "fib", "inputs": [9]})
            assert proved.status_code == 200


# ---- cost limits ----

COST_LIMITS = [
    pytest.param({"max_cycles": 100}, "cycles", id="cycles"),
    pytest.param({"max_trace_rows": 64}, "trace_rows", id="trace-rows"),
    pytest.param({"max_seconds": 1e-9}, "seconds", id="seconds"),
    pytest.param({"max_memory_bytes": 1}, "memory_bytes", id="memory"),
]


@pytest.mark.anyio
@pytest.mark.parametrize(("limit", "name"), COST_LIMITS)
async def test_over_a_cost_limit_is_refused_with_the_estimate_before_proving(
    anyio_backend: str, limit: dict[str, Any], name: str
) -> None:
    config = ServiceConfig(runtime=_quick_runtime(), **limit)
    with ServerThread(service.create_app(config)) as server:
        async with _client(server.url) as client:
            refused = await client.post("/prove", json={"program": "fib", "inputs": [300]})
            assert refused.status_code == 422, refused.text
            body = refused.json()
            assert body["error"] == "CostLimitExceeded"
            assert body["over"] == [name]
            assert body["limits"][name] == limit[f"max_{name}"]
            estimate = body["estimate"]
            assert (
                estimate["cycles"] == zkactors.execute(zkactors.programs.load("fib"), [300]).cycles
            )
            assert estimate[name] > limit[f"max_{name}"]
            metrics = _samples((await client.get("/metrics")).text)
    assert metrics["zkactors_proofs_total"] == 0  # refused before any proving
    assert metrics["zkactors_requests_total"] == 0
    assert metrics["zkactors_service_cost_refused_total"] == 1


@pytest.mark.anyio
async def test_a_run_past_the_cycle_limit_stops_being_executed_there(anyio_backend: str) -> None:
    # What `zkactors serve --max-cycles N` configures: the runtime's cap one past N.
    config = ServiceConfig(runtime=RuntimeConfig(calibrate="off", max_cycles=1001), max_cycles=1000)
    with ServerThread(service.create_app(config)) as server:
        async with _client(server.url) as client:
            refused = await client.post("/prove", json={"program": "fib", "inputs": [10**6]})
            within = await client.post("/prove", json={"program": "fib", "inputs": [10]})
    assert refused.status_code == 422
    assert refused.json()["error"] == "CostLimitExceeded"
    assert refused.json()["estimate"] == {"cycles_at_least": 1001}
    assert within.status_code == 200


# ---- authentication ----


@pytest.mark.anyio
async def test_bearer_tokens_guard_proving_and_say_nothing_about_why(anyio_backend: str) -> None:
    config = ServiceConfig(runtime=_quick_runtime(), tokens=["alpha-token-1", "beta-token-2"])
    request = {"program": "fib", "inputs": [7]}
    with ServerThread(service.create_app(config)) as server:
        async with _client(server.url) as client:
            refusals = [
                await client.post("/prove", json=request),
                await client.post("/prove", json=request, headers={"authorization": "Bearer x"}),
                await client.post(
                    "/prove", json=request, headers={"authorization": "Bearer alpha-token-"}
                ),
                await client.post(
                    "/prove", json=request, headers={"authorization": "Basic alpha-token-1"}
                ),
                await client.post("/verify", json={"program": "fib", "receipt": ""}),
            ]
            for refused in refusals:
                assert refused.status_code == 401
                assert refused.headers["www-authenticate"].startswith("Bearer")
            # One body for every kind of wrong: no hint which part was.
            assert len({r.content for r in refusals}) == 1
            assert refusals[0].json()["error"] == "Unauthorized"
            for token in ("alpha-token-1", "beta-token-2"):
                ok = await client.post(
                    "/prove", json=request, headers={"authorization": f"Bearer {token}"}
                )
                assert ok.status_code == 200, ok.text
            # Probes and figures stay open to the platform running the service.
            for path in ("/healthz", "/readyz", "/metrics", "/", "/stats"):
                assert (await client.get(path)).status_code == 200, path


def test_tokens_come_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "tokens"
    path.write_text("# deploy tokens\n\nalpha\n  beta  \n")
    assert service.load_tokens(path) == ["alpha", "beta"]
    path.write_text("# none\n")
    with pytest.raises(zkactors.errors.ConfigError, match="no token"):
        service.load_tokens(path)
    with pytest.raises(zkactors.errors.ConfigError, match="cannot read"):
        service.load_tokens(tmp_path / "missing")
    assert "alpha" not in repr(ServiceConfig(tokens=["alpha"]))


# ---- held proofs: per-client limit, disconnects ----


async def _until(client: httpx.AsyncClient, check: Callable[[dict[str, float]], bool]) -> None:
    """Poll /metrics until ``check`` holds (a bounded wait, not a timing assertion)."""
    with anyio.fail_after(60):
        while True:
            if check(_samples((await client.get("/metrics")).text)):
                return
            await anyio.sleep(0.02)


def _gated_app(gate: GatedProverDouble, **service_config: Any) -> Any:
    factory: Callable[[], ZkRuntime] = lambda: ZkRuntime(_quick_runtime(), _prover=gate)  # noqa: E731
    return service.create_app(
        ServiceConfig(runtime=_quick_runtime(), **service_config), runtime_factory=factory
    )


@pytest.mark.anyio
async def test_a_client_over_its_concurrency_limit_gets_429(anyio_backend: str) -> None:
    gate = GatedProverDouble()
    app = _gated_app(gate, max_per_client=1, tokens=["alpha", "beta"])
    alpha = {"authorization": "Bearer alpha"}
    beta = {"authorization": "Bearer beta"}
    answers: list[httpx.Response] = []
    with ServerThread(app) as server:
        async with _client(server.url) as client, anyio.create_task_group() as tg:

            async def held(headers: dict[str, str], n: int) -> None:
                answers.append(
                    await client.post(
                        "/prove", json={"program": "fib", "inputs": [n]}, headers=headers
                    )
                )

            tg.start_soon(held, alpha, 40)
            await _until(client, lambda m: m["zkactors_service_in_flight"] == 1)
            limited = await client.post(
                "/prove", json={"program": "fib", "inputs": [41]}, headers=alpha
            )
            assert limited.status_code == 429
            assert limited.json()["error"] == "TooManyRequests"
            assert limited.headers["retry-after"] == "1"
            # Another token is another client.
            tg.start_soon(held, beta, 42)
            await _until(client, lambda m: m["zkactors_service_in_flight"] == 2)
            gate.release.set()
    assert sorted(a.status_code for a in answers) == [200, 200]


@pytest.mark.anyio
async def test_a_client_that_goes_away_stops_its_wait(anyio_backend: str) -> None:
    gate = GatedProverDouble()
    with ServerThread(_gated_app(gate)) as server:
        try:
            async with _client(server.url) as client:
                async with anyio.create_task_group() as tg:
                    tg.start_soon(
                        lambda: client.post("/prove", json={"program": "fib", "inputs": [40]})
                    )
                    assert await anyio.to_thread.run_sync(gate.entered.wait, 60)
                    tg.cancel_scope.cancel()  # the client hangs up mid-proof
                async with _client(server.url) as watcher:
                    # The service stops waiting while the proof is still held at the gate.
                    await _until(
                        watcher,
                        lambda m: (
                            m["zkactors_service_disconnected_total"] == 1
                            and m["zkactors_service_in_flight"] == 0
                        ),
                    )
                    assert not gate.release.is_set()
        finally:
            gate.release.set()


@pytest.mark.anyio
async def test_a_proof_others_wait_for_survives_one_client_leaving(anyio_backend: str) -> None:
    gate = GatedProverDouble()
    request = {"program": "fib", "inputs": [40]}
    kept: list[httpx.Response] = []
    with ServerThread(_gated_app(gate)) as server:
        try:
            async with _client(server.url) as leaving, _client(server.url) as staying:
                async with anyio.create_task_group() as outer:

                    async def stay() -> None:
                        kept.append(await staying.post("/prove", json=request))

                    outer.start_soon(stay)
                    async with anyio.create_task_group() as tg:
                        tg.start_soon(lambda: leaving.post("/prove", json=request))
                        await _until(staying, lambda m: m["zkactors_service_in_flight"] == 2)
                        tg.cancel_scope.cancel()
                    await _until(staying, lambda m: m["zkactors_service_disconnected_total"] == 1)
                    gate.release.set()
                metrics = _samples((await staying.get("/metrics")).text)
        finally:
            gate.release.set()
    assert kept[0].status_code == 200
    assert kept[0].json()["outputs"] == [102334155]
    assert metrics["zkactors_proofs_total"] == 1


# ---- draining ----


@pytest.mark.anyio
async def test_a_draining_service_finishes_what_it_holds_and_takes_nothing_new(
    anyio_backend: str,
) -> None:
    gate = GatedProverDouble()
    app = _gated_app(gate, drain_seconds=600)
    held: list[httpx.Response] = []
    with ServerThread(app) as server:
        try:
            async with _client(server.url) as client, anyio.create_task_group() as tg:

                async def hold() -> None:
                    held.append(
                        await client.post("/prove", json={"program": "fib", "inputs": [40]})
                    )

                tg.start_soon(hold)
                assert await anyio.to_thread.run_sync(gate.entered.wait, 60)
                server.call_soon(app.state.service.begin_drain)  # what SIGTERM starts
                await _until(client, lambda m: m["zkactors_service_draining"] == 1)
                ready = await client.get("/readyz")
                assert (ready.status_code, ready.json()["status"]) == (503, "draining")
                refused = await client.post("/prove", json={"program": "fib", "inputs": [41]})
                assert refused.status_code == 503
                assert refused.json()["error"] == "ShuttingDown"
                gate.release.set()
        finally:
            gate.release.set()
    assert held[0].status_code == 200
    assert held[0].json()["outputs"] == [102334155]


@pytest.mark.anyio
async def test_past_the_drain_time_a_held_request_is_answered_503(anyio_backend: str) -> None:
    gate = GatedProverDouble()
    app = _gated_app(gate, drain_seconds=0.05)
    with ServerThread(app) as server:
        try:
            async with _client(server.url) as client, anyio.create_task_group() as tg:
                held: list[httpx.Response] = []

                async def hold() -> None:
                    held.append(
                        await client.post("/prove", json={"program": "fib", "inputs": [40]})
                    )

                tg.start_soon(hold)
                assert await anyio.to_thread.run_sync(gate.entered.wait, 60)
                server.call_soon(app.state.service.begin_drain)
            # The proof is still held at the gate: the answer came from the drain deadline.
            assert not gate.release.is_set()
            assert held[0].status_code == 503
            assert held[0].json()["error"] == "ShuttingDown"
        finally:
            gate.release.set()
