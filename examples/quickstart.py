"""Quick start: the smallest useful embedding of zkactors in an async (anyio) program.

It starts a runtime, proves fib(n) for a few n (the last one twice: the second answer
comes from the cache), turns each receipt into bytes as if sending it over the wire,
decodes it on the other side and verifies it there against the program, which is all a
verifier needs.

    python examples/quickstart.py            # or --quick; --out PATH for the JSON
"""

from __future__ import annotations

import time

import anyio
from _support import parse_args, print_table, say, write_json

import zkactors
from zkactors import Receipt, RuntimeConfig, ZkRuntime
from zkactors.errors import VerificationError


async def main(quick: bool) -> list[dict[str, object]]:
    fib = zkactors.programs.load("fib")  # or zkactors.assemble(your .zkasm text)
    sizes = [10, 100, 100] if quick else [10, 100, 1000, 10000, 10000]
    rows = []
    async with ZkRuntime(RuntimeConfig()) as rt:
        for n in sizes:
            started = time.perf_counter()
            receipt = await rt.prove(fib, [n])
            prove_seconds = time.perf_counter() - started

            wire = receipt.to_bytes()  # what you would store or send
            received = Receipt.from_bytes(wire)  # strict: malformed bytes raise
            started = time.perf_counter()
            try:
                zkactors.verify(received, fib)  # returns None when the receipt holds
                verified = True
            except VerificationError as exc:
                say(f"[red]fib({n}): {exc}[/red]")
                verified = False
            verify_seconds = time.perf_counter() - started

            rows.append(
                {
                    "n": n,
                    "output": received.outputs[0],
                    "trace_rows": received.trace_length,
                    "prove_ms": prove_seconds * 1e3,
                    "receipt_bytes": len(wire),
                    "verify_ms": verify_seconds * 1e3,
                    "verified": verified,
                    "program_hash": received.program_hash,
                }
            )
        metrics = rt.metrics()
    say(
        f"{metrics.proofs} proofs for {metrics.requests} requests "
        f"({metrics.hits} answered from the cache)"
    )
    return rows


if __name__ == "__main__":
    args = parse_args("quickstart", __doc__.splitlines()[0])
    rows = anyio.run(main, args.quick)
    print_table(
        "fib(n) mod p, proved by a ZkRuntime and verified from its bytes",
        ["n", "output", "trace_rows", "prove_ms", "receipt_bytes", "verify_ms", "verified"],
        rows,
        caption="the repeated n comes from the cache: the same receipt, no new proof",
    )
    write_json(args.out, "quickstart", args.quick, rows=rows)
