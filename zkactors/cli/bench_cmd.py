"""``zkactors bench NAME``: run one benchmark, print its table, write its JSON."""

from __future__ import annotations

import argparse
import importlib
from pathlib import Path

from zkactors.bench import BENCHMARKS, report


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
            type=Path,
            default=None,
            help="where to write JSON (default bench-results/NAME.json)",
        )
        module.add_arguments(bench_parser)
        bench_parser.set_defaults(_bench_module=module)


def run(args: argparse.Namespace) -> int:
    result = args._bench_module.run(args)
    report(result, args.json)
    return 0
