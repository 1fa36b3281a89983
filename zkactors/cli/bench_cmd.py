"""``zkactors bench NAME``: run one benchmark, print its table, write its JSON.

By default the table goes to stdout and the JSON to ``bench-results/NAME.json``;
``--json PATH`` writes the JSON there instead, and ``--json`` alone (or ``--json -``)
prints the JSON object on stdout in place of the table, for scripts.
"""

from __future__ import annotations

import argparse
import importlib
import json
from pathlib import Path

from zkactors.bench import BENCHMARKS, payload, report
from zkactors.cli import add_global_options
from zkactors.cli._shared import EXIT_OK, STDIO, FileAccessError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="benchmark", required=True, metavar="BENCHMARK")
    for name in BENCHMARKS:
        try:
            module = importlib.import_module(f"zkactors.bench.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"zkactors.bench.{name}":
                raise
            continue
        bench_parser = sub.add_parser(name, help=module.DESCRIPTION, description=module.DESCRIPTION)
        bench_parser.add_argument(
            "--json",
            nargs="?",
            const=STDIO,
            default=None,
            metavar="PATH",
            help="write the JSON to PATH (default bench-results/NAME.json); "
            "without PATH, or with -, print it on stdout instead of the table",
        )
        add_global_options(bench_parser, default=argparse.SUPPRESS)
        module.add_arguments(bench_parser)
        bench_parser.set_defaults(_bench_module=module)


def run(args: argparse.Namespace) -> int:
    result = args._bench_module.run(args)
    if args.json == STDIO:
        print(json.dumps(payload(result)))
        return EXIT_OK
    try:
        report(result, None if args.json is None else Path(args.json))
    except OSError as exc:
        raise FileAccessError(f"cannot write {args.json}: {exc.strerror or exc}") from None
    return EXIT_OK
