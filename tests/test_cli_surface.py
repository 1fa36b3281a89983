"""The command line as scripts use it: ``--json`` on every command that prints a result,
``-`` for stdin/stdout, global flags after the command, exit statuses that tell "invalid"
from "could not read", and clear messages (never a traceback) for bad files and values."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from zkactors import programs
from zkactors.cli import main
from zkactors.cli.prove_cmd import available_cores
from zkactors.zkvm.prover import MAX_THREADS
from zkactors.zkvm.receipt import MAX_RECEIPT3_BYTES, Receipt
from zkactors.zkvm.verifier import verify

ROOT = Path(__file__).resolve().parents[1]
DOUBLE = ".input v\n.output w\n  add w, v, v\n  halt\n"
#: What verifying a "test"-profile receipt needs: that profile is insecure, so the default
#: policy refuses it.
TEST_OK = ("--min-security-bits", "0")


def _zkactors(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "zkactors", *args],
        input=stdin,
        capture_output=True,
        cwd=ROOT,  # this checkout's zkactors, whatever is installed
        timeout=120,
        check=False,
    )


def _stdin(monkeypatch: pytest.MonkeyPatch, data: bytes) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))


@pytest.fixture
def fib_receipt(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    path = tmp_path / "fib.receipt"
    assert main(["prove", "fib", "10", "-o", str(path), "--profile", "test"]) == 0
    capsys.readouterr()
    return path


# ---- --json ----


def test_prove_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "p.receipt"
    assert main(["prove", "power", "3", "4", "-o", str(path), "--profile", "test", "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["outputs"] == {"r": 81} and payload["inputs"] == {"x": 3, "e": 4}
    assert payload["receipt_bytes"] == path.stat().st_size and payload["profile"] == "test"
    assert payload["program_hash"] == programs.load("power").hash
    assert payload["cycles"] == 15 and payload["trace_length"] == 16


def test_verify_json_valid_and_invalid(
    fib_receipt: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # --min-security-bits 0: "test" receipts are insecure and refused by default.
    assert main(["verify", str(fib_receipt), "--program", "fib", "--json", *TEST_OK]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["valid"] is True and payload["outputs"] == {"a": 55}
    assert payload["min_security_bits"] == 0 and 0 < payload["security_bits"] < 100
    assert main(["verify", str(fib_receipt), "--program", "fib", "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["check"] == "policy"
    assert main(["verify", str(fib_receipt), "--program", "power", "--json"]) == 1
    captured = capsys.readouterr()
    payload = json.loads(captured.out)
    assert payload["valid"] is False and payload["check"] == "statement"
    assert "INVALID" in captured.err


def test_bench_json_on_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "execute", "--quick", "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)  # the JSON alone: no table around it
    assert payload["benchmark"] == "execute" and payload["rows"]


def test_bench_json_path_still_writes_a_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "execute.json"
    assert main(["bench", "execute", "--quick", "--json", str(out)]) == 0
    assert json.loads(out.read_text())["benchmark"] == "execute"


# ---- - for stdin and stdout ----


def test_receipt_to_stdout_and_back_from_stdin() -> None:
    proved = _zkactors("prove", "fib", "10", "-o", "-", "--profile", "test")
    assert proved.returncode == 0, proved.stderr
    receipt = Receipt.from_bytes(proved.stdout)  # stdout holds the receipt and nothing else
    verify(receipt, programs.load("fib"), min_security_bits=0)
    assert b"proved fib" in proved.stderr
    checked = _zkactors("verify", "-", "--program", "fib", *TEST_OK, stdin=proved.stdout)
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout.startswith(b"valid:")


def test_program_from_stdin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _stdin(monkeypatch, DOUBLE.encode())
    assert main(["run", "-", "21"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "w = 42"
    receipt = tmp_path / "double.receipt"
    _stdin(monkeypatch, DOUBLE.encode())
    assert main(["prove", "-", "21", "-o", str(receipt), "--profile", "test"]) == 0
    _stdin(monkeypatch, DOUBLE.encode())
    assert main(["verify", str(receipt), "--program", "-", *TEST_OK]) == 0
    assert "valid: <stdin>" in capsys.readouterr().out


def test_receipt_and_program_cannot_both_be_stdin(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify", "-", "--program", "-"]) == 2
    assert "cannot both come from stdin" in capsys.readouterr().err


# ---- global flags after the command ----


@pytest.mark.parametrize("where", ["before", "after"])
def test_verbose_before_or_after_the_command(where: str, fib_receipt: Path) -> None:
    # A "test" receipt under the default policy: the verifier logs its rejection at debug.
    command = ["verify", str(fib_receipt), "--program", "fib"]
    argv = ["-v", *command] if where == "before" else [*command, "-v"]
    done = _zkactors(*argv)
    assert done.returncode == 1, done.stderr
    assert b"receipt.rejected" in done.stderr and b"debug" in done.stderr
    quiet = _zkactors(*command)
    assert b"receipt.rejected" not in quiet.stderr  # without -v, no debug events


def test_verbose_after_a_benchmark_name() -> None:
    done = _zkactors("bench", "execute", "--quick", "--json", "-v")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["benchmark"] == "execute"


# ---- exit statuses ----


def test_help_states_the_exit_statuses() -> None:
    for argv in ([], ["verify"], ["prove"], ["run"]):
        done = _zkactors(*argv, "--help")
        assert done.returncode == 0
        text = done.stdout.decode()
        assert "exit status:" in text
        assert "1  invalid" in text and "3  a file could not be read" in text


def test_invalid_and_unreadable_have_different_statuses(
    tmp_path: Path, fib_receipt: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["verify", str(fib_receipt), "--program", "power"]) == 1  # rejected
    assert main(["verify", str(tmp_path / "none.receipt"), "--program", "fib"]) == 3
    assert main(["verify", str(tmp_path), "--program", "fib"]) == 3  # a directory
    bad = tmp_path / "bad.zkasm"
    bad.write_text("frobnicate a\n")
    assert main(["run", str(bad)]) == 1  # does not assemble
    assert main(["run", str(tmp_path / "none.zkasm")]) == 3
    assert main(["run", "nosuchprogram"]) == 1  # no such built-in name
    unwritable = tmp_path / "no" / "such" / "dir" / "x.receipt"
    assert main(["prove", "fib", "3", "-o", str(unwritable), "--profile", "test"]) == 3
    err = capsys.readouterr().err
    assert "Traceback" not in err and "cannot write" in err and "cannot read" in err


def test_exit_statuses_through_a_process(tmp_path: Path) -> None:
    assert _zkactors("verify", str(tmp_path / "none"), "--program", "fib").returncode == 3
    assert _zkactors("run", "fib", "x").returncode == 1
    assert _zkactors("run", "fib", "1", "--no-such-option").returncode == 2


# ---- files that are not what they should be ----


def test_non_utf8_source_is_an_error_at_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "latin1.zkasm"
    path.write_bytes(b".input v\n.output w\n  add w, v, v ; caf\xe9\n  halt\n")
    assert main(["run", str(path), "1"]) == 1
    err = capsys.readouterr().err
    assert f"{path}:3:20: error: not UTF-8 text (byte 0xe9); save the file as UTF-8" in err
    assert "Traceback" not in err
    done = _zkactors("run", str(path), "1")
    assert done.returncode == 1 and b"Traceback" not in done.stderr
    # Behind a byte-order mark the position is the same.
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert main(["run", str(path), "1"]) == 1
    assert f"{path}:3:20: error: not UTF-8 text" in capsys.readouterr().err


def test_a_byte_order_mark_is_not_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bom.zkasm"
    path.write_bytes(b"\xef\xbb\xbf" + DOUBLE.encode())
    assert main(["run", str(path), "4"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "w = 8"


def test_oversized_receipt_is_reported_with_its_real_size(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Past format 3's 2 MiB: refused before decoding (a format-3 receipt may exceed 512 KiB).
    size = MAX_RECEIPT3_BYTES + 123_457
    path = tmp_path / "huge.receipt"
    path.write_bytes(bytes(size))
    assert main(["verify", str(path), "--program", "fib"]) == 1
    err = capsys.readouterr().err
    assert f"{size} bytes is larger than any receipt" in err and "(format)" in err
    # From a pipe, which has no size to ask for, too.
    done = _zkactors("verify", "-", "--program", "fib", stdin=bytes(size))
    assert done.returncode == 1
    assert f"{size} bytes is larger".encode() in done.stderr


# ---- --threads ----


@pytest.mark.parametrize("value", ["0", "-1", str(MAX_THREADS + 1), "two"])
def test_threads_out_of_range_is_refused(
    value: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "x.receipt"
    with pytest.raises(SystemExit) as exited:
        main(["prove", "fib", "3", "-o", str(out), "--threads", value])
    assert exited.value.code == 2
    assert "--threads" in capsys.readouterr().err
    assert not out.exists()


def test_prove_uses_every_available_core_by_default(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # What the README's command-line section promises.
    out = tmp_path / "x.receipt"
    assert main(["prove", "fib", "3", "-o", str(out), "--profile", "test", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["threads"] == available_cores()
    readme = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    assert "`prove` uses every core available to the process" in readme
