"""The ``zkactors`` command line: ``run``, ``prove``, ``verify``, ``bench``, ``demo``.

Each subcommand lives in its own module and is imported only when used, so
``zkactors run`` does not pay for the runtime or the benchmark code. Errors that come
from the user's input (``ZkActorsError``) are printed as one clear message and exit
non-zero, never as a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from zkactors._version import __version__
from zkactors.errors import ZkActorsError

# name -> (module, one-line help). Each module defines ``add_arguments(parser)`` and
# ``run(args) -> int``.
_COMMANDS: dict[str, tuple[str, str]] = {
    "run": ("zkactors.cli.run_cmd", "execute a program and print its outputs and cycles"),
    "prove": ("zkactors.cli.prove_cmd", "prove a program run and write the receipt"),
    "verify": ("zkactors.cli.verify_cmd", "verify a receipt against a program"),
    "bench": ("zkactors.cli.bench_cmd", "run a benchmark: print a table and write JSON"),
    "demo": ("zkactors.cli.demo_cmd", "prove and verify real programs through the runtime"),
}


def _parser() -> tuple[argparse.ArgumentParser, dict[str, object]]:
    parser = argparse.ArgumentParser(prog="zkactors", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"zkactors {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    modules: dict[str, object] = {}
    for name, (module_name, help_text) in _COMMANDS.items():
        cmd_parser = sub.add_parser(name, help=help_text, description=help_text)
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue  # a command not built yet is simply not offered
        module.add_arguments(cmd_parser)  # type: ignore[attr-defined]
        modules[name] = module
    return parser, modules


def main(argv: Sequence[str] | None = None) -> int:
    parser, modules = _parser()
    args = parser.parse_args(argv)
    module = modules.get(args.command)
    if module is None:
        parser.error(f"the {args.command!r} command is not available in this build")
    try:
        return int(module.run(args))  # type: ignore[attr-defined]
    except ZkActorsError as exc:
        print(f"zkactors {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
