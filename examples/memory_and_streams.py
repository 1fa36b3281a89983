"""Memory and streams: prove instruction set v2 programs through a ZkRuntime.

Programs with ``load``/``store`` (read-write memory) and ``read``/``write`` (public input
and output streams) take any number of values, decided while they run: their stream
inputs follow the ``.input`` values, their written values follow the ``.output``
registers. Only the machine AIR (AIR 2, receipt format 3) expresses them; the runtime
chooses it by itself. This proves ``sum_array`` (n values stored, then summed from
memory), ``dot_product`` and ``matvec`` (whose result is the vector it writes), checks
each receipt from its bytes, and prints the outputs and the AIR each receipt is under.

    python examples/memory_and_streams.py     # or --quick; --out PATH for the JSON
"""

from __future__ import annotations

import time

import anyio
from _support import parse_args, print_table, say, write_json

import zkactors
from zkactors import Receipt, RuntimeConfig, ZkRuntime
from zkactors.errors import VerificationError

AIR_NAMES = {1: "register AIR (AIR 1)", 2: "machine AIR (AIR 2)"}


def requests(quick: bool) -> list[tuple[str, list[int]]]:
    """(program, inputs): each reads n first, then its data."""
    n = 20 if quick else 300
    values = [(k * 7919 + 13) % 100_000 for k in range(n)]
    m = 3 if quick else 8
    matrix = [(3 * i + 5 * j + 1) % 97 for i in range(m) for j in range(m)]
    vector = list(range(1, m + 1))
    return [
        ("sum_array", [n, *values]),
        ("dot_product", [n, *values, *reversed(values)]),
        ("matvec", [m, *matrix, *vector]),
    ]


async def main(quick: bool) -> list[dict[str, object]]:
    rows = []
    async with ZkRuntime(RuntimeConfig()) as rt:
        for name, inputs in requests(quick):
            program = zkactors.programs.load(name)
            started = time.perf_counter()
            receipt = await rt.prove(program, inputs)
            prove_seconds = time.perf_counter() - started

            received = Receipt.from_bytes(receipt.to_bytes())  # as a verifier gets it
            try:
                zkactors.verify(received, program)
                verified = True
            except VerificationError as exc:
                say(f"[red]{name}: {exc}[/red]")
                verified = False
            # The statement's outputs: the .output registers, then what the run wrote.
            registers = dict(zip(program.outputs, received.outputs, strict=False))
            written = list(received.outputs[len(program.outputs) :])
            rows.append(
                {
                    "program": name,
                    "stream_inputs": len(received.inputs) - program.n_inputs,
                    "outputs": registers,
                    "written": written,
                    "air": received.air,
                    "air_name": AIR_NAMES[received.air],
                    "receipt_format": received.format_version,
                    "trace_rows": received.trace_length,
                    "prove_ms": prove_seconds * 1e3,
                    "receipt_bytes": received.size,
                    "verified": verified,
                    "inputs": list(received.inputs),
                    "all_outputs": list(received.outputs),
                }
            )
    for row in rows:
        say(
            f"{row['program']}: outputs {row['outputs']}, written {row['written']} "
            f"under the {row['air_name']}",
            markup=False,
        )
    return rows


if __name__ == "__main__":
    args = parse_args("memory_and_streams", __doc__.splitlines()[0])
    rows = anyio.run(main, args.quick)
    print_table(
        "v2 programs (memory, streams) proved by a ZkRuntime and verified from their bytes",
        [
            "program",
            "stream_inputs",
            "outputs",
            "written",
            ("air_name", "AIR"),
            "trace_rows",
            "prove_ms",
            "verified",
        ],
        rows,
        caption="air 2: the machine AIR (receipt format 3), the only one with memory and streams",
    )
    write_json(args.out, "memory_and_streams", args.quick, rows=rows)
