"""Review of the machine AIR merge (issue #14): findings turned into tests.

1. The CLI's ``verify`` refused every receipt longer than 512 KiB (format 2's cap) with
   ``format``, before decoding: an honest format-3 receipt may be up to 2 MiB
   (protocol.md 16: its I/O alone can be 1 MiB), and ``zkactors.verify`` accepts it.
2. The CLI's ``prove``, ``verify`` and ``run`` paired the program's ``.input`` / ``.output``
   names with the statement's values with ``zip(..., strict=True)``: for a program with
   stream I/O (``read``/``write``) every summary raised ValueError after the work was done,
   so ``zkactors verify`` exited with status 1 (INVALID) on a valid receipt.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from zkactors.cli import main
from zkactors.zkvm.assembler import assemble
from zkactors.zkvm.prover import prove
from zkactors.zkvm.receipt import MAX_RECEIPT3_BYTES, MAX_RECEIPT_BYTES
from zkactors.zkvm.verifier import verify

# 500 rounds of 64 stream values read and written back: 32,001 inputs and 32,000
# outputs (512,008 bytes of I/O) in 65,001 cycles, so T = 2^16 and the receipt is
# about 549 KB under the test profile.
ECHO = (
    ".input n\nloop:\n"
    + "        read x\n        write x\n" * 64
    + "        subi n, n, 1\n        jnz n, loop\n        halt\n"
)


def test_cli_verifies_an_honest_format_3_receipt_over_512_kib(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    program = assemble(ECHO)
    rounds = 500
    stream = [(7 * i + 1) % 1_000_003 for i in range(64 * rounds)]
    receipt = prove(program, [rounds, *stream], profile="test", threads=2)
    assert receipt.air == 2 and MAX_RECEIPT_BYTES < receipt.size <= MAX_RECEIPT3_BYTES
    verify(receipt, program, min_security_bits=0)  # the library accepts it
    path = tmp_path / "echo.receipt"
    path.write_bytes(receipt.to_bytes())
    source = tmp_path / "echo.zkasm"
    source.write_text(ECHO)
    status = main(["verify", str(path), "--program", str(source), "--min-security-bits", "0"])
    captured = capsys.readouterr()
    assert status == 0, captured.err


WRITER = (
    ".input a\n.output b\n        addi b, a, 1\n        write a\n        write b\n        halt\n"
)


@pytest.mark.parametrize("as_json", [False, True])
def test_cli_summaries_of_a_program_with_stream_outputs(
    as_json: bool, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "writer.zkasm"
    source.write_text(WRITER)
    path = tmp_path / "writer.receipt"
    flags = ["--json"] if as_json else []
    assert main(["run", str(source), "5", *flags]) == 0
    ran = capsys.readouterr().out
    prove_args = ["prove", str(source), "5", "-o", str(path), "--profile", "test"]
    assert main([*prove_args, *flags]) == 0
    proved = capsys.readouterr().out
    status = main(
        ["verify", str(path), "--program", str(source), "--min-security-bits", "0", *flags]
    )
    verified = capsys.readouterr()
    assert status == 0, verified.err
    if as_json:
        for text in (ran, proved, verified.out):
            payload = json.loads(text)
            assert payload["outputs"] == {"b": 6} and payload["written"] == [5, 6]
    else:
        assert "b = 6" in ran and "written = [5, 6]" in ran
        for text in (proved, verified.out):
            assert "b=6" in text and "[5, 6]" in text
