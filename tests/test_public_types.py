"""A user's ``mypy --strict`` sees the real types of the public API.

The lazy ``zkactors.__getattr__`` keeps ``import zkactors`` cheap, but it must not hide the
API from type checkers: this runs mypy over a small user-style file and checks both what
it infers (``reveal_type``) and that the wrong calls are reported, on the lines marked
``# error:``. A stale or ``Any``-typed signature fails here.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("mypy")

ROOT = Path(__file__).resolve().parents[1]

USER_FILE = """\
from typing import reveal_type

import anyio

import zkactors
from zkactors import Receipt, RuntimeConfig, ZkRuntime

fib = zkactors.programs.load("fib")
receipt = zkactors.prove(fib, [10])
reveal_type(receipt)  # reveal: zkactors.zkvm.receipt.Receipt
reveal_type(zkactors.prove(fib, {"n": 3}))  # reveal: zkactors.zkvm.receipt.Receipt
reveal_type(zkactors.execute(fib.to_bytes(), [3]).outputs)  # reveal: tuple[int, ...]
reveal_type(zkactors.verify(receipt, fib))  # reveal: None
reveal_type(ZkRuntime(RuntimeConfig()))  # reveal: zkactors.runtime.runtime.ZkRuntime
zkactors.prove(fib, "5")  # error: Argument 2 to "prove" has incompatible type "str"
zkactors.prove("fib", [5])  # error: Argument 1 to "prove" has incompatible type "str"
zkactors.verify(receipt, "fib")  # error: Argument 2 to "verify" has incompatible type "str"


async def main() -> list[Receipt]:
    async with ZkRuntime(RuntimeConfig()) as rt:
        reveal_type(rt)  # reveal: zkactors.runtime.runtime.ZkRuntime
        reveal_type(await rt.prove(fib, [1]))  # reveal: zkactors.zkvm.receipt.Receipt
        many = await rt.prove_many([(fib, [1]), (fib.to_bytes(), {"n": 2})])
        reveal_type(many)  # reveal: list[zkactors.zkvm.receipt.Receipt]
        detailed = await rt.prove_many([(fib, [1])], detailed=True)
        reveal_type(detailed)  # reveal: list[zkactors.runtime.outcomes.ProofOutcome]
        mixed = await rt.prove_many([(fib, [1])], return_exceptions=True)
        reveal_type(mixed)  # reveal: list[zkactors.zkvm.receipt.Receipt | zkactors.errors.ZkActorsError]
        reveal_type(rt.try_prove(fib, [2]))  # reveal: zkactors.runtime.runtime.ProofHandle
        reveal_type(await rt.estimate(fib, [2]))  # reveal: zkactors.runtime.outcomes.Estimate
        reveal_type(rt.metrics())  # reveal: zkactors.runtime.metrics.MetricsSnapshot
        await rt.prove("fib", "oops")  # error: Argument 1 to "prove" of "ZkRuntime" has incompatible type "str"; Argument 2 to "prove" of "ZkRuntime" has incompatible type "str"
        await rt.prove_many([("fib", [1])])  # error: List item 0 has incompatible type "tuple[str, list[int]]"
        return many


anyio.run(main)
"""  # noqa: E501  (the expected messages are long; the file is mypy's input, not code)


def _expected() -> tuple[dict[int, str], dict[int, list[str]]]:
    reveals: dict[int, str] = {}
    errors: dict[int, list[str]] = {}
    for number, line in enumerate(USER_FILE.splitlines(), start=1):
        if "# reveal: " in line:
            reveals[number] = line.split("# reveal: ", 1)[1]
        if "# error: " in line:
            errors[number] = line.split("# error: ", 1)[1].split("; ")
    return reveals, errors


def test_mypy_strict_sees_the_public_api(tmp_path: Path) -> None:
    user = tmp_path / "user_code.py"
    user.write_text(USER_FILE, encoding="utf-8")
    # MYPYPATH makes mypy analyse this checkout of zkactors, not whichever one is installed.
    env = {**os.environ, "MYPYPATH": str(ROOT)}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--no-incremental",
            "--follow-imports=silent",
            "--show-error-codes",
            "--no-error-summary",
            "--hide-error-context",
            "--no-pretty",
            "--cache-dir",
            str(tmp_path / "mypy_cache"),
            str(user),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        check=False,
    )
    reveals, errors = _expected()
    seen_reveals: dict[int, str] = {}
    seen_errors: dict[int, list[str]] = {}
    for line in result.stdout.splitlines():
        match = re.match(r".*user_code\.py:(\d+): (note|error): (.*)", line)
        if match is None:
            continue
        number, kind, message = int(match[1]), match[2], match[3]
        if kind == "note" and message.startswith("Revealed type is "):
            # mypy versions differ in spelling builtins ("builtins.list" or "list").
            revealed = message.removeprefix("Revealed type is ").strip('"')
            seen_reveals[number] = revealed.replace("builtins.", "")
        elif kind == "error":
            seen_errors.setdefault(number, []).append(message)
    assert seen_reveals == reveals, result.stdout + result.stderr
    assert sorted(seen_errors) == sorted(errors), result.stdout + result.stderr
    for number, wanted in errors.items():
        for fragment in wanted:
            assert any(fragment in message for message in seen_errors[number]), (
                f"line {number}: expected {fragment!r} in {seen_errors[number]}"
            )
