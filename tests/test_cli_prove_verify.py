"""``zkactors prove`` and ``zkactors verify``: files in, one-line summaries out, a named
check and a non-zero status (never a traceback) for every bad receipt."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from zkactors import programs
from zkactors.cli import main
from zkactors.zkvm.receipt import Receipt
from zkactors.zkvm.verifier import verify

LUCAS = """\
; like fib, from (2, 1)
.input  n
.output a
        set  a, 2
        set  b, 1
loop:   jz   n, done
        add  t, a, b
        mov  a, b
        mov  b, t
        subi n, n, 1
        jmp  loop
done:   halt
"""


@pytest.fixture
def fib_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    path = tmp_path / "fib.receipt"
    assert main(["prove", "fib", "10", "-o", str(path), "--profile", "test"]) == 0
    capsys.readouterr()
    return path


def test_prove_writes_a_verifiable_receipt(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "fib.receipt"
    assert main(["prove", "fib", "10", "-o", str(path), "--profile", "test"]) == 0
    out = capsys.readouterr().out.strip().splitlines()[-1]
    receipt = Receipt.from_bytes(path.read_bytes())
    assert receipt.outputs == (55,) and receipt.profile == "test"
    verify(receipt, programs.load("fib"), min_security_bits=0)
    assert "a=55" in out
    assert "64 cycles" in out  # 6n + 4
    assert f"trace length {receipt.trace_length}" in out
    assert f"{receipt.size} bytes" in out


def test_threads_do_not_change_the_receipt(
    tmp_path: Path, fib_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    again = tmp_path / "again.receipt"
    args = ["prove", "fib", "10", "-o", str(again), "--profile", "test", "--threads", "2"]
    assert main(args) == 0
    assert again.read_bytes() == fib_file.read_bytes()


def test_verify_accepts_with_a_summary(fib_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify", str(fib_file), "--program", "fib", "--min-security-bits", "0"]) == 0
    out = capsys.readouterr().out.strip().splitlines()[-1]
    assert out.startswith("valid:")
    assert "n=10" in out and "a=55" in out and "profile test" in out


def _rejected(capsys: pytest.CaptureFixture[str], args: list[str]) -> str:
    assert main(args) == 1
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err + captured.out
    assert "valid:" not in captured.out
    return captured.err


def test_verify_names_the_failed_check(
    tmp_path: Path, fib_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    err = _rejected(
        capsys, ["verify", str(fib_file), "--program", "factorial", "--min-security-bits", "0"]
    )
    assert "INVALID" in err and "(statement)" in err

    data = bytearray(fib_file.read_bytes())
    data[-5] ^= 0x40  # inside the last FRI multiproof
    tampered = tmp_path / "tampered.receipt"
    tampered.write_bytes(bytes(data))
    err = _rejected(
        capsys, ["verify", str(tampered), "--program", "fib", "--min-security-bits", "0"]
    )
    assert "(fri_merkle)" in err

    truncated = tmp_path / "truncated.receipt"
    truncated.write_bytes(bytes(data[:100]))
    err = _rejected(
        capsys, ["verify", str(truncated), "--program", "fib", "--min-security-bits", "0"]
    )
    assert "(format)" in err and "truncated" in err


def test_verify_reports_unreadable_inputs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["verify", str(tmp_path / "missing"), "--program", "fib"]) == 3
    assert "cannot read" in capsys.readouterr().err
    bad = tmp_path / "bad.zkasm"
    bad.write_text("halt\nfrobnicate a\n")
    err = _rejected(
        capsys,
        ["verify", str(tmp_path / "missing"), "--program", str(bad), "--min-security-bits", "0"],
    )
    assert "frobnicate" in err


def test_zkasm_files_prove_and_verify(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "lucas.zkasm"
    source.write_text(LUCAS)
    path = tmp_path / "lucas.receipt"
    assert main(["prove", str(source), "5", "-o", str(path), "--profile", "test"]) == 0
    assert "a=11" in capsys.readouterr().out
    assert main(["verify", str(path), "--program", str(source), "--min-security-bits", "0"]) == 0
    assert capsys.readouterr().out.startswith("valid:")
    err = _rejected(capsys, ["verify", str(path), "--program", "fib", "--min-security-bits", "0"])
    assert "(statement)" in err


def test_prove_rejects_bad_arguments(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "x.receipt"
    err = _rejected(capsys, ["prove", "fib", "-o", str(out)])
    assert "takes 1 input" in err
    err = _rejected(capsys, ["prove", "nosuchprogram", "-o", str(out)])
    assert "nosuchprogram" in err
    err = _rejected(capsys, ["prove", "inverse_check", "0", "-o", str(out), "--profile", "test"])
    assert "inv of zero" in err
    assert not out.exists()
    with pytest.raises(SystemExit):
        main(["prove", "fib", "3", "-o", str(out), "--profile", "nope"])
    assert (
        main(["prove", "fib", "3", "-o", str(tmp_path / "no" / "dir" / "x"), "--profile", "test"])
        == 3
    )
    assert "cannot write" in capsys.readouterr().err


def test_command_line_exit_status(fib_file: Path) -> None:
    """Through a real process: the status code is what scripts see."""

    def verify_as(program: str) -> subprocess.CompletedProcess[str]:
        # The receipt is a test-profile one: the policy is opened explicitly.
        argv = ["verify", str(fib_file), "--program", program, "--min-security-bits", "0"]
        return subprocess.run(
            [sys.executable, "-m", "zkactors", *argv], capture_output=True, text=True, check=False
        )

    ok = verify_as("fib")
    assert ok.returncode == 0, ok.stderr
    bad = verify_as("power")
    assert bad.returncode == 1
    assert "statement" in bad.stderr and "Traceback" not in bad.stderr


def test_verbose_shows_the_library_events_on_stderr(
    tmp_path: Path, fib_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = bytearray(fib_file.read_bytes())
    data[-5] ^= 0x40
    tampered = tmp_path / "tampered.receipt"
    tampered.write_bytes(bytes(data))
    args = ["verify", str(tampered), "--program", "fib", "--min-security-bits", "0"]
    assert main(["-v", *args]) == 1
    captured = capsys.readouterr()
    assert "receipt.rejected" in captured.err and "check=fri_merkle" in captured.err
    assert "receipt.rejected" not in captured.out
    # Without -v the CLI shows warnings and errors only.
    assert main(args) == 1
    assert "receipt.rejected" not in capsys.readouterr().err
