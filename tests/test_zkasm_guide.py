"""docs/zkasm.md cannot rot: every ``zkasm`` block in it is assembled and run, and must
do what the ``<!-- run: {...} -->`` line above it says (inputs, outputs, cycles, or the
error and its message); blocks that succeed are also proved and verified.

Each block runs in the Python interpreter (the oracle) and natively, and is proved and
verified: under the register AIR if the program fits it, else (instruction set v2:
memory, streams) under the machine AIR, whose receipts are format 3.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

import zkactors
from zkactors import errors
from zkactors.zkvm import interpreter
from zkactors.zkvm.isa import Op

GUIDE = Path(__file__).resolve().parents[1] / "docs" / "zkasm.md"
_BLOCK = re.compile(r"```zkasm\n(.*?)```", re.DOTALL)
_RUN = re.compile(r"<!-- run: (\{.*\}) -->\Z")


def _examples() -> list[tuple[int, str, dict[str, Any]]]:
    text = GUIDE.read_text(encoding="utf-8")
    examples = []
    for match in _BLOCK.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        before = text[: match.start()].rstrip("\n").rsplit("\n", 1)[-1]
        spec = _RUN.match(before)
        # Every block needs its expectation, so a new example cannot skip the test.
        assert spec is not None, f"docs/zkasm.md:{line}: no '<!-- run: {{...}} -->' line above"
        examples.append((line, match.group(1), json.loads(spec.group(1))))
    return examples


EXAMPLES = _examples()


def test_the_guide_has_examples_for_every_instruction() -> None:
    sources = " ".join(source for _, source, _ in EXAMPLES)
    for op in Op:
        assert re.search(rf"^\s*(\w+:\s*)*{op.mnemonic}\b", sources, re.MULTILINE | re.I), op


@pytest.mark.parametrize(
    ("line", "source", "spec"), EXAMPLES, ids=[f"line{e[0]}" for e in EXAMPLES]
)
def test_example(line: int, source: str, spec: dict[str, Any]) -> None:
    error = getattr(errors, spec["error"]) if "error" in spec else None
    if error is errors.AssemblyError:
        with pytest.raises(errors.AssemblyError) as raised:
            zkactors.assemble(source)
        assert spec["message"] in str(raised.value)
        return
    program = zkactors.assemble(source)
    options = {"max_cycles": spec["max_cycles"]} if "max_cycles" in spec else {}
    if error is not None:
        with pytest.raises(error, match=re.escape(spec["message"])):
            interpreter.run(program, spec["inputs"], **options)
        with pytest.raises(error, match=re.escape(spec["message"])):
            zkactors.execute(program, spec["inputs"], **options)
        return
    outputs, cycles = interpreter.run(program, spec["inputs"], **options)
    assert (list(outputs), cycles) == (spec["outputs"], spec["cycles"])
    run = zkactors.execute(program, spec["inputs"], **options)
    assert list(run.outputs) == spec["outputs"]
    assert run.cycles == spec["cycles"]
    receipt = zkactors.prove(program, spec["inputs"], profile="test", **options)
    assert list(receipt.outputs) == spec["outputs"]
    assert list(receipt.inputs) == spec["inputs"]
    if not program.fits_register_air:  # only the machine AIR expresses it
        assert (receipt.air, receipt.format_version) == (2, 3)
    zkactors.verify(receipt, program, min_security_bits=0)  # "test" receipts are insecure
