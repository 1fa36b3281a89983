"""The command line with instruction set v2 programs: stream inputs after the ``.input``
values (on the command line or from ``--inputs FILE``), the written outputs after the
``.output`` registers (human and ``--json`` forms), format-3 receipts up to 2 MiB, and
the AIR each summary names."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from zkactors import assemble, programs
from zkactors.cli import main
from zkactors.zkvm.receipt import MAX_RECEIPT_BYTES, Receipt
from zkactors.zkvm.verifier import verify

TEST_OK = ("--min-security-bits", "0")
#: Reads k, then k values, and writes each back: its receipt carries 2k + 1 field
#: elements of statement, so a few tens of thousands make a receipt past 512 KiB.
ECHO = """\
        read  n
loop:   jz    n, done
        read  v
        write v
        subi  n, n, 1
        jmp   loop
done:   halt
"""
#: A program with both kinds of input and both kinds of output.
MIXED = """\
.input  a
.output s
        read  b
        add   s, a, b
        write b
        write s
        halt
"""


# ---- run ----


def test_run_takes_stream_inputs_after_the_registers(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "sum_array", "3", "10", "20", "30"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[:2] == ["s = 60", "written = []"]
    assert lines[2] == "cycles = 39"  # 11n + 6


def test_run_prints_written_values_by_themselves(capsys: pytest.CaptureFixture[str]) -> None:
    # y = M x for M = [[1, 2], [3, 4]], x = (5, 6): (17, 39).
    assert main(["run", "matvec", "2", "1", "2", "3", "4", "5", "6"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "written = [17, 39]"
    assert main(["run", "matvec", "2", "1", "2", "3", "4", "5", "6", "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["outputs"] == {} and payload["written"] == [17, 39]
    assert payload["cycles"] == 15 * 4 + 14 * 2 + 11


def test_run_json_of_a_program_with_registers_and_stream(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "mixed.zkasm"
    source.write_text(MIXED)
    assert main(["run", str(source), "5", "7", "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["outputs"] == {"s": 12} and payload["written"] == [7, 12]


def test_v1_json_keys_are_unchanged(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "fib", "10", "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert set(payload) == {"program", "outputs", "cycles", "trace_length"}
    assert payload["outputs"] == {"a": 55}


@pytest.mark.parametrize("form", ["json", "text"])
def test_inputs_file_gives_the_stream(
    form: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    values = [4, 1, 2, 3, 0x10]
    path = tmp_path / "inputs"
    path.write_text(json.dumps(values) if form == "json" else "4\n1, 2 3\n0x10\n")
    assert main(["run", "sum_array", "--inputs", str(path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["outputs"] == {"s": 22}


def test_inputs_file_follows_positional_values(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "mixed.zkasm"
    source.write_text(MIXED)
    stream = tmp_path / "stream.json"
    stream.write_text("[7]")
    assert main(["run", str(source), "5", "--inputs", str(stream), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["written"] == [7, 12]


def test_stream_mistakes_are_errors_not_tracebacks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Fewer stream values than the program reads: an execution error, status 1.
    assert main(["run", "sum_array", "3", "1", "2"]) == 1
    assert "read past the end of the stream" in capsys.readouterr().err
    # More than it reads.
    assert main(["run", "sum_array", "1", "1", "2"]) == 1
    assert "stream" in capsys.readouterr().err
    # A stream value that is not a number names its stream position.
    assert main(["run", "sum_array", "2", "1", "x"]) == 1
    assert "stream input 2" in capsys.readouterr().err
    # A program without read still takes exactly its .input values.
    assert main(["run", "fib", "10", "1"]) == 1
    assert "takes 1 input (n), got 2" in capsys.readouterr().err
    # A program with .input registers and read needs the registers first.
    source = tmp_path / "mixed.zkasm"
    source.write_text(MIXED)
    assert main(["run", str(source)]) == 1
    assert "before its stream inputs, got 0" in capsys.readouterr().err
    bad = tmp_path / "bad.json"
    bad.write_text("[1, true]")
    assert main(["run", "sum_array", "--inputs", str(bad)]) == 1
    assert "JSON array of integers" in capsys.readouterr().err
    assert main(["run", "sum_array", "--inputs", str(tmp_path / "missing")]) == 3
    # The program and the inputs cannot both be read from stdin: a usage error.
    for command in (["run"], ["prove", "-o", str(tmp_path / "r")]):
        assert main([*command, "-", "--inputs", "-"]) == 2
        assert "cannot both come from stdin" in capsys.readouterr().err


def test_more_than_two_to_the_sixteen_inputs_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "many.txt"
    path.write_text(" ".join(["1"] * ((1 << 16) + 1)))
    assert main(["run", "sum_array", "--inputs", str(path)]) == 1
    assert "at most 65536 in all" in capsys.readouterr().err


# ---- prove and verify ----


def test_prove_and_verify_a_stream_program(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "dot.receipt"
    # (1, 2, 3) . (4, 5, 6) = 32
    args = ["prove", "dot_product", "3", "1", "2", "3", "4", "5", "6", "-o", str(path)]
    assert main([*args, "--profile", "test"]) == 0
    out = capsys.readouterr().out
    assert "outputs s=32; written []" in out and "machine AIR (AIR 2)" in out
    receipt = Receipt.from_bytes(path.read_bytes())
    assert receipt.air == 2 and receipt.format_version == 3
    assert receipt.inputs == (3, 1, 2, 3, 4, 5, 6) and receipt.outputs == (32,)
    verify(receipt, programs.load("dot_product"), min_security_bits=0)

    assert main(["verify", str(path), "--program", "dot_product", *TEST_OK]) == 0
    out = capsys.readouterr().out
    assert out.startswith("valid: dot_product")
    assert "stream [3, 1, 2, 3, 4, 5, 6]" in out and "s=32" in out
    assert "machine AIR (AIR 2) (receipt format 3)" in out
    assert f"({receipt.security_bits(programs.load('dot_product')):.1f} conjectured bits" in out
    # The default policy still refuses the test profile, whatever the AIR.
    assert main(["verify", str(path), "--program", "dot_product"]) == 1
    assert "(policy)" in capsys.readouterr().err


def test_prove_and_verify_json_carry_the_streams(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "matvec.receipt"
    inputs = ["2", "1", "2", "3", "4", "5", "6"]
    assert main(["prove", "matvec", *inputs, "-o", str(path), "--profile", "test", "--json"]) == 0
    proved = json.loads(capsys.readouterr().out)
    assert proved["air"] == 2 and proved["written"] == [17, 39]
    assert proved["stream_inputs"] == [2, 1, 2, 3, 4, 5, 6] and proved["inputs"] == {}
    assert main(["verify", str(path), "--program", "matvec", "--json", *TEST_OK]) == 0
    checked = json.loads(capsys.readouterr().out)
    assert checked["valid"] and checked["air"] == 2
    assert checked["outputs"] == {} and checked["written"] == [17, 39]
    assert checked["stream_inputs"] == [2, 1, 2, 3, 4, 5, 6]
    assert checked["security_bits"] == Receipt.from_bytes(path.read_bytes()).security_bits(
        programs.load("matvec")
    )


def test_v1_receipts_name_the_register_air(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "fib.receipt"
    assert main(["prove", "fib", "10", "-o", str(path), "--profile", "test", "--json"]) == 0
    proved = json.loads(capsys.readouterr().out)
    assert proved["air"] == 1 and "written" not in proved and "stream_inputs" not in proved
    assert main(["verify", str(path), "--program", "fib", *TEST_OK]) == 0
    assert "register AIR (AIR 1) (receipt format 2)" in capsys.readouterr().out


def test_verify_reads_a_format_3_receipt_past_512_kib(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    count = 34_000
    source = tmp_path / "echo.zkasm"
    source.write_text(ECHO)
    stream = tmp_path / "stream.txt"
    stream.write_text("\n".join(map(str, [count, *range(count)])))
    path = tmp_path / "echo.receipt"
    assert (
        main(["prove", str(source), "--inputs", str(stream), "-o", str(path), "--profile", "test"])
        == 0
    )
    out = capsys.readouterr().out
    assert f"written [0, 1, 2, 3, 4, 5, 6, 7, ... ({count} values)]" in out
    size = path.stat().st_size
    assert size > MAX_RECEIPT_BYTES  # larger than any format-2 receipt: the old cap
    assert main(["verify", str(path), "--program", str(source), "--json", *TEST_OK]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["valid"] and payload["receipt_bytes"] == size
    assert payload["written"] == list(range(count))
    # The same bytes, one flipped near the end (in the proof): a named check, status 1.
    data = bytearray(path.read_bytes())
    data[-100] ^= 1
    path.write_bytes(bytes(data))
    assert main(["verify", str(path), "--program", str(source), *TEST_OK]) == 1
    assert "is INVALID: receipt rejected" in capsys.readouterr().err


def test_a_mixed_program_proves_under_the_machine_air(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "mixed.zkasm"
    source.write_text(MIXED)
    path = tmp_path / "mixed.receipt"
    assert main(["prove", str(source), "5", "7", "-o", str(path), "--profile", "test"]) == 0
    assert "outputs s=12; written [7, 12]" in capsys.readouterr().out
    assert main(["verify", str(path), "--program", str(source), *TEST_OK]) == 0
    out = capsys.readouterr().out
    assert "inputs a=5; stream [7]" in out and "outputs s=12; written [7, 12]" in out
    receipt = Receipt.from_bytes(path.read_bytes())
    verify(receipt, assemble(MIXED), min_security_bits=0)
