"""Check an installed zkactors (run by .ci/package-check from outside the checkout).

    python installed_check.py EXT_DIR [--without MODULE ...] [--trio]

Every ``EXT_DIR/*.pyx`` must be importable as a compiled ``zkactors._native`` module of
the installed package; a program is proved and its receipt verified (after a round trip
through bytes) with the synchronous API; ``--without`` names modules that must not be
installed (the optional extras); ``--trio`` also proves through the runtime on trio.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys
from pathlib import Path

import zkactors


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("ext", type=Path)
    parser.add_argument("--without", nargs="*", default=[])
    parser.add_argument("--trio", action="store_true")
    args = parser.parse_args()

    package = Path(zkactors.__file__).parent
    if "site-packages" not in package.parts:
        sys.exit(f"installed_check: zkactors comes from {package}, not an installed package")
    for name in args.without:
        if importlib.util.find_spec(name) is not None:
            sys.exit(f"installed_check: {name} is installed; this check needs it absent")
    names = sorted(p.stem for p in args.ext.glob("*.pyx"))
    if not names:
        sys.exit(f"installed_check: no .pyx in {args.ext}")
    for name in names:
        module = importlib.import_module(f"zkactors._native.{name}")
        origin = Path(module.__file__ or "")
        if origin.parent != package / "_native" or origin.suffix not in (".so", ".pyd"):
            sys.exit(f"installed_check: zkactors._native.{name} loaded from {origin}")
        print(f"native module: {origin.name}")

    fib = zkactors.programs.load("fib")
    receipt = zkactors.prove(fib, [30])
    assert receipt.outputs == (832040,), receipt.outputs
    zkactors.verify(zkactors.Receipt.from_bytes(receipt.to_bytes()), fib)
    print(f"fib(30) = {receipt.outputs[0]}: proved and verified ({len(receipt.to_bytes())} bytes)")

    if args.trio:
        import trio

        async def on_trio() -> None:
            async with zkactors.ZkRuntime(zkactors.RuntimeConfig()) as runtime:
                on_runtime = await runtime.prove(fib, [40])
            zkactors.verify(on_runtime, fib)

        trio.run(on_trio)
        print("fib(40) proved through the runtime on trio and verified")
    return 0


if __name__ == "__main__":
    sys.exit(main())
