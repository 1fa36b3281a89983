"""Embedding the runtime in your own web app: Starlette + uvicorn (`zkactors[service]`).

For a ready prover service (schemas, limits, auth, health checks, dashboard) run
``zkactors serve``, or mount ``zkactors.service.create_app(config)``; see docs/service.md.
This example is the other road: an app of your own whose endpoints happen to prove.

One ``ZkRuntime`` lives in the app's lifespan (started with the app, drained when it
stops) and every request shares it, so repeats come from its cache and identical
requests in flight are proved once:

- ``GET /fib/{n}`` -> ``{"n", "fib", "cycles", "answered_by", "receipt_bytes"}``.

    python examples/service.py --port 8000   # serve until Ctrl-C
    python examples/service.py --quick       # start on a free port, call it over HTTP,
                                             # print a table, write JSON, stop
"""

from __future__ import annotations

import argparse
import contextlib
import socket
import time
from collections.abc import AsyncIterator
from typing import Any

import anyio
from _support import parse_args, print_table, say, write_json
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

import zkactors
from zkactors import RuntimeConfig, ZkRuntime

FIB = zkactors.programs.load("fib")


async def fib(request: Request) -> Response:
    n = int(request.path_params["n"])
    rt: ZkRuntime = request.app.state.runtime
    try:
        outcome = await rt.prove_detailed(FIB, [n])
    except zkactors.errors.ZkActorsError as exc:  # the runtime's errors are typed
        return JSONResponse({"error": type(exc).__name__, "message": str(exc)}, 422)
    return JSONResponse(
        {
            "n": n,
            "fib": outcome.outputs[0],
            "cycles": outcome.cycles,
            "answered_by": outcome.source,
            "receipt_bytes": outcome.receipt.size,
        }
    )


def create_app(config: RuntimeConfig | None = None) -> Starlette:
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with ZkRuntime(config) as rt:
            app.state.runtime = rt
            yield

    return Starlette(routes=[Route("/fib/{n:int}", fib)], lifespan=lifespan)


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
    async with anyio.create_task_group() as tg:
        tg.start_soon(server.serve, [sock])
        while not server.started:  # noqa: ASYNC110  (uvicorn offers a flag, not an event)
            await anyio.sleep(0.01)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            for label, n in [("first", 50 if quick else 1000), ("again", 50 if quick else 1000)]:
                started = time.perf_counter()
                response = await client.get(f"/fib/{n}")
                rows.append(
                    {
                        "call": label,
                        "status": response.status_code,
                        "ms": (time.perf_counter() - started) * 1e3,
                        **response.json(),
                    }
                )
        server.should_exit = True
    return rows


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)


if __name__ == "__main__":
    args = parse_args("service", __doc__.splitlines()[0], add_arguments)
    if args.quick:
        rows = anyio.run(session, args.quick)
        columns = ["call", "status", "ms", "n", "fib", "cycles", "answered_by", "receipt_bytes"]
        print_table("your own app, called over HTTP", columns, rows)
        write_json(args.out, "service", args.quick, rows=rows)
    else:
        import uvicorn

        say(f"serving on http://{args.host}:{args.port} (GET /fib/N)")
        uvicorn.run(create_app(), host=args.host, port=args.port, log_level="info")
