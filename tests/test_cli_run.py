"""``zkactors run``: outputs and cycles on stdout, clear errors and status 1 on mistakes."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

import zkactors
from zkactors.cli import main


def test_subprocess_fib() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "zkactors", "run", "fib", "10"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["a = 55", "cycles = 64", "trace_length = 128"]


def test_subprocess_error_has_no_traceback() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "zkactors", "run", "inverse_check", "0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert "inv of zero at pc 0 (inv y, x)" in done.stderr


def test_main_prints_outputs(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "power", "3", "0x4"]) == 0
    assert capsys.readouterr().out.splitlines() == ["r = 81", "cycles = 15", "trace_length = 16"]


def test_main_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "mimc", "1", "2", "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["cycles"] == 23 and payload["trace_length"] == 32
    assert set(payload["outputs"]) == {"x"} and len(payload["program"]) == 64


def test_file_program(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "double.zkasm"
    path.write_text(".input v\n.output w\n  add w, v, v\n  halt\n")
    assert main(["run", str(path), "21"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "w = 42"


def test_file_with_assembly_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.zkasm"
    path.write_text(".input v\n.output w\n  adx w, v, v\n  halt\n")
    assert main(["run", str(path), "1"]) == 1
    err = capsys.readouterr().err
    assert f"{path}:3:3: error: unknown instruction 'adx'; did you mean 'add'?" in err
    assert "  adx w, v, v" in err and err.rstrip().endswith("^")


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["run", "fib"], "takes 1 input (n), got 0"),
        (["run", "fib", "ten"], "input 'n' must be an integer"),
        (["run", "fib", str(2**64)], "input 'n' must be an int in [0, p)"),
        (["run", "fob", "1"], "no built-in program named 'fob'"),
        (["run", "fib", "100", "--max-cycles", "10"], "did not halt within 10 cycles"),
        (["run", "fib", "100", "--max-cycles", "10"], "--max-cycles N (now 10)"),
        (["prove", "fib", "100", "-o", "x", "--max-cycles", "10"], "--max-cycles N (now 10)"),
    ],
)
def test_errors_exit_1(argv: list[str], fragment: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 1
    assert fragment in capsys.readouterr().err


def test_library_messages_name_no_command_line_flags() -> None:
    """The library's own strings (not the CLI's, nor the bench commands') name parameters,
    never flags: the command line adds its own hint (tested above, with a flag that
    exists on that command)."""
    root = Path(zkactors.__file__).parent
    flag = re.compile(r"(^|[\s(`'\"])--[a-z]")
    found = []
    for path in sorted(root.rglob("*.py")):
        if path.relative_to(root).parts[0] in ("cli", "bench"):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = {
            id(node.body[0].value)
            for node in ast.walk(tree)
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
            and node.body
            and isinstance(node.body[0], ast.Expr)
            and isinstance(node.body[0].value, ast.Constant)
        }
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and id(node) not in docstrings
                and flag.search(node.value)
            ):
                found.append(f"{path.relative_to(root)}:{node.lineno}: {node.value!r}")
    assert not found, found


def test_missing_program_file_exits_3(capsys: pytest.CaptureFixture[str]) -> None:
    # "Could not read" is told apart from "invalid" by the status (see --help).
    assert main(["run", "missing/file.zkasm"]) == 3
    assert "cannot read missing/file.zkasm: No such file or directory" in capsys.readouterr().err
