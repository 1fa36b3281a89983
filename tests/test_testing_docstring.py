"""The example in ``zkactors.testing``'s docstring works when copied verbatim: it is cut
out of the docstring, written to a file of its own and run by a separate pytest, as a
user who pasted it into their project would."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import zkactors.testing

ROOT = Path(__file__).resolve().parents[1]
MARKER = "Example (two pytest tests)::"


def docstring_example() -> str:
    doc = zkactors.testing.__doc__ or ""
    assert MARKER in doc, "the docstring's example moved; update this test's marker"
    block: list[str] = []
    for line in doc.split(MARKER, 1)[1].splitlines()[1:]:
        if line.strip() and not line.startswith("    "):
            break  # the first unindented line ends the literal block
        block.append(line)
    return textwrap.dedent("\n".join(block)).strip() + "\n"


def test_the_docstring_example_passes_verbatim(tmp_path: Path) -> None:
    source = docstring_example()
    assert "def test_" in source
    (tmp_path / "test_copied_example.py").write_text(source, encoding="utf-8")
    # PYTHONPATH: this checkout's zkactors, whatever is installed.
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_copied_example.py"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 passed" in done.stdout, done.stdout
