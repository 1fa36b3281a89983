"""The ``zkactors`` command line: ``run``, ``prove``, ``verify``, ``bench``, ``demo``, ``serve``.

Each subcommand lives in its own module and is imported only when used, so
``zkactors run`` does not pay for the runtime or the benchmark code. Errors that come
from the user's input (``ZkActorsError``) are printed as one clear message, never as a
traceback, with an exit status that says what kind of failure it was
(:data:`~zkactors.cli._shared.EXIT_STATUS_HELP`, also shown by ``--help``).
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import logging
import sys
from collections.abc import Sequence
from typing import Any

import structlog

from zkactors._version import __version__
from zkactors.cli._shared import (
    EXIT_INVALID,
    EXIT_STATUS_HELP,
    EXIT_UNREADABLE,
    FileAccessError,
)
from zkactors.errors import CycleLimitExceeded, ZkActorsError

# name -> (module, one-line help). Each module defines ``add_arguments(parser)`` and
# ``run(args) -> int``; only the module of the command being run is imported.
_COMMANDS: dict[str, tuple[str, str]] = {
    "run": ("zkactors.cli.run_cmd", "execute a program and print its outputs and cycles"),
    "prove": ("zkactors.cli.prove_cmd", "prove a program run and write the receipt"),
    "verify": ("zkactors.cli.verify_cmd", "verify a receipt against a program"),
    "bench": ("zkactors.cli.bench_cmd", "run a benchmark: print a table and write JSON"),
    "demo": ("zkactors.cli.demo_cmd", "prove and verify real programs through the runtime"),
    "serve": ("zkactors.cli.serve_cmd", "run the prover service over HTTP (uvicorn)"),
}

# Commands that print rich tables. rich is the ``cli`` extra, not a dependency of the
# library, so these check for it first and say how to get it, instead of a traceback.
_NEEDS_RICH = frozenset({"demo", "bench"})


def add_global_options(parser: argparse.ArgumentParser, *, default: object) -> None:
    """Options accepted before and after the command (``zkactors -v run ...`` and
    ``zkactors run ... -v``). After the command the default is SUPPRESS, so a flag given
    only before it is not reset by the subcommand's parser."""
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=default,
        help="show the library's debug log events on stderr",
    )


def _parser(command: str | None) -> tuple[argparse.ArgumentParser, object | None]:
    """Build the parser; import and configure only the module of ``command``."""
    parser = argparse.ArgumentParser(
        prog="zkactors",
        description="Prove and verify zkVM programs with STARK receipts.",
        epilog=EXIT_STATUS_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"zkactors {__version__}")
    add_global_options(parser, default=False)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    chosen = None
    for name, (module_name, help_text) in _COMMANDS.items():
        cmd_parser = sub.add_parser(
            name,
            help=help_text,
            description=help_text,
            epilog=EXIT_STATUS_HELP,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        add_global_options(cmd_parser, default=argparse.SUPPRESS)
        if name == command:
            chosen = importlib.import_module(module_name)
            chosen.add_arguments(cmd_parser)
    return parser, chosen


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at the time of the event: it may be replaced
    after the handler is installed (by a test's capture, say)."""

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


_handler: logging.Handler | None = None


def _configure_logging(verbose: bool) -> None:
    """The CLI is an application, so it (not the library) decides what is shown: warnings
    and errors by default, every event with ``--verbose``, always on stderr so that
    stdout carries only the command's own output. The library's events arrive through
    the standard ``logging`` module under ``zkactors``; structlog's ProcessorFormatter
    renders them with their fields."""
    global _handler
    root = logging.getLogger("zkactors")
    if _handler is not None:  # main() called again in one process (tests)
        root.removeHandler(_handler)
    _handler = _StderrHandler()
    _handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[
                structlog.stdlib.add_log_level,
                structlog.stdlib.add_logger_name,
                structlog.processors.TimeStamper(fmt="%Y-%m-%d %H:%M:%S", utc=False),
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.dev.ConsoleRenderer(colors=False),
            ]
        )
    )
    root.addHandler(_handler)
    root.setLevel(logging.DEBUG if verbose else logging.WARNING)


def _hint(exc: ZkActorsError, args: argparse.Namespace) -> str:
    """What to change on this command line: the library's messages name its parameters,
    never flags, and only a command that has the flag may suggest it."""
    if isinstance(exc, CycleLimitExceeded) and hasattr(args, "max_cycles"):
        return f"; on this command line: --max-cycles N (now {args.max_cycles})"
    return ""


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    command = next((arg for arg in args_list if not arg.startswith("-")), None)
    parser, module = _parser(command)
    args = parser.parse_args(args_list)
    assert module is not None  # parse_args exits on an unknown or missing command
    if args.command in _NEEDS_RICH and importlib.util.find_spec("rich") is None:
        print(
            f"zkactors {args.command}: needs rich for its tables: pip install 'zkactors[cli]'",
            file=sys.stderr,
        )
        return 1
    _configure_logging(args.verbose)
    try:
        return int(module.run(args))  # type: ignore[attr-defined]
    except FileAccessError as exc:
        print(f"zkactors {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_UNREADABLE
    except ZkActorsError as exc:
        print(f"zkactors {args.command}: error: {exc}{_hint(exc, args)}", file=sys.stderr)
        return EXIT_INVALID
    except KeyboardInterrupt:
        # The shell's convention for SIGINT (128 + 2); a line, not a traceback.
        print(f"zkactors {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
