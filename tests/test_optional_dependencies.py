"""trio and rich are extras (``zkactors[trio]``, ``zkactors[cli]``): without them the
library still imports and proves, and the commands that need rich say how to get it.

Here they are hidden from the import system (a ``None`` entry in ``sys.modules`` makes
``import`` fail and ``find_spec`` report the module missing); the CI packaging step
(``.ci/package-check``) also checks a real install without them.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from zkactors.cli import main

# Run in a fresh interpreter, so nothing imported by the tests themselves can hide a
# library module that imports trio or rich at import time. (zkactors.testing is left to
# the CI step: here trio is installed, and hypothesis loads trio's plugin on import.)
_WITHOUT_EXTRAS = """
import sys
sys.modules["trio"] = None
sys.modules["rich"] = None
import zkactors
import zkactors.runtime, zkactors.bench, zkactors.cli
fib = zkactors.programs.load("fib")
receipt = zkactors.prove(fib, [20])
zkactors.verify(zkactors.Receipt.from_bytes(receipt.to_bytes()), fib)
print(receipt.outputs[0])
"""


def test_library_imports_and_proves_without_trio_and_rich() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _WITHOUT_EXTRAS], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "6765"  # (after the library's debug log line)


@pytest.mark.parametrize("argv", [["demo", "--quick"], ["bench", "prove", "--quick"]])
def test_rich_commands_say_how_to_install_it(
    argv: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "rich", None)
    assert main(argv) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert (
        captured.err
        == f"zkactors {argv[0]}: needs rich for its tables: pip install 'zkactors[cli]'\n"
    )


def test_run_needs_no_rich(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "rich", None)
    assert main(["run", "fib", "10"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "a = 55"


def test_bench_runtime_without_trio_measures_asyncio_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "trio", None)
    with pytest.raises(SystemExit, match=r"zkactors\[trio\]"):
        main(["bench", "runtime", "--backends", "trio", "--quick"])
