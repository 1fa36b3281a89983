"""The same runtime inside a trio program: ``trio.run``, a nursery of clients, trio's
own cancellation scopes.

zkactors is written against anyio, so nothing changes but the event loop: here trio
drives it. Several clients in a nursery prove different library programs at once (two
of them ask for the same thing, and share one proof), one client gives up on a large
proof with ``trio.move_on_after`` (nobody else waits for it, so the runtime stops that
proof at once and counts it in ``proofs_cancelled``; the next caller who asks has it
proved anew), and every receipt is verified.

    python examples/trio_embed.py            # or --quick; --out PATH for the JSON

trio and rich (the tables) are extras: ``pip install "zkactors[trio,cli]"``.
"""

from __future__ import annotations

import trio
from _support import parse_args, print_table, say, snapshot_dict, write_json

import zkactors
from zkactors import RuntimeConfig, ZkRuntime
from zkactors.errors import VerificationError


def verified(receipt: zkactors.Receipt, program: zkactors.Program) -> bool:
    try:
        zkactors.verify(receipt, program)
    except VerificationError:
        return False
    return True


def call(name: str, inputs: list[int]) -> str:
    return f"{name}({', '.join(map(str, inputs))})"


async def main(quick: bool) -> dict[str, object]:
    jobs = [
        ("fib", [300 if quick else 3000]),
        ("factorial", [50]),
        ("power", [3, 100]),
        ("mimc", [5, 40]),
        ("fib", [300 if quick else 3000]),  # the same request as the first: one proof
    ]
    large_name, large_inputs = "fib", [2000 if quick else 30000]
    rows: list[dict[str, object]] = []

    async with ZkRuntime(RuntimeConfig()) as rt:

        async def client(number: int, name: str, inputs: list[int]) -> None:
            program = zkactors.programs.load(name)
            started = trio.current_time()
            receipt = await rt.prove(program, inputs)
            seconds = trio.current_time() - started
            rows.append(
                {
                    "client": number,
                    "request": call(name, inputs),
                    "output": receipt.outputs[0],
                    "seconds": seconds,
                    "verified": verified(receipt, program),
                }
            )

        async with trio.open_nursery() as nursery:
            for number, (name, inputs) in enumerate(jobs, 1):
                nursery.start_soon(client, number, name, inputs)

        # A caller that will not wait: trio cancels its wait and, as no other caller
        # waits for the same proof, the runtime stops the proof too (within ~0.1 s).
        patience = 0.002
        with trio.move_on_after(patience) as scope:
            await rt.prove(zkactors.programs.load(large_name), large_inputs)
        say(
            f"the impatient client {'gave up' if scope.cancelled_caught else 'did not need to'}"
            f" after {patience * 1e3:.0f} ms on {call(large_name, large_inputs)}"
        )
        await client(len(jobs) + 1, large_name, large_inputs)
        metrics = rt.metrics()

    return {"rows": rows, "gave_up": scope.cancelled_caught, "metrics": snapshot_dict(metrics)}


if __name__ == "__main__":
    args = parse_args("trio_embed", __doc__.splitlines()[0])
    result = trio.run(main, args.quick)
    metrics = result["metrics"]
    assert isinstance(metrics, dict)
    print_table(
        "clients in a trio nursery, one runtime",
        ["client", "request", "output", "seconds", "verified"],
        result["rows"],  # type: ignore[arg-type]
        caption=f"{metrics['proofs']} proofs for {metrics['requests']} requests: "
        f"{metrics['hits']} cache hits, {metrics['coalesced']} joined a proof in flight",
    )
    write_json(args.out, "trio_embed", args.quick, **result)
