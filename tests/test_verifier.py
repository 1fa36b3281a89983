"""The native verifier (ext/stark_verifier.c via zkactors.verify): honest receipts pass,
the wrong program or a malformed receipt fails with the right check, and no byte string
whatsoever makes it do anything but return a verdict.

The adversarial side (tampering, forged traces, agreement with the reference verifier on
all of it) is tests/test_soundness.py.
"""

from __future__ import annotations

import pathlib
import struct
import threading

import attrs
import oracle_prover
import pytest
from hypothesis import given
from hypothesis import strategies as st
from verifier_agreement import assert_accepted, native_verdict, verdicts

import zkactors
import zkactors._native.verifier as native
from zkactors import programs
from zkactors.errors import ReceiptFormatError, VerificationError
from zkactors.zkvm import reference
from zkactors.zkvm.assembler import assemble
from zkactors.zkvm.receipt import OLD_FORMAT_MESSAGE, Receipt
from zkactors.zkvm.verifier import CHECKS, verify, verify_bytes

LIBRARY_RUNS = [
    ("fib", [10]),
    ("factorial", [6]),
    ("horner", [3]),
    ("inverse_check", [12345]),
    ("mimc", [5, 3]),
    ("power", [3, 5]),
]


@pytest.fixture(scope="module")
def fib_receipt() -> Receipt:
    return zkactors.prove(programs.load("fib"), [7], profile="test")


def test_check_names_are_the_protocol_vocabulary() -> None:
    # 11 is not a verdict (the verifier could not allocate); 12 is the policy check, 13
    # the auxiliary tree of format 3.
    names = [native.check_name(code) for code in [*range(1, 11), 12, 13]]
    assert sorted(names) == sorted(CHECKS)
    assert native.check_name(11) == ""
    assert native.check_name(0) == "ok"
    assert native.check_name(99) == ""


@pytest.mark.parametrize(("name", "inputs"), LIBRARY_RUNS)
def test_library_receipts_verify(name: str, inputs: list[int]) -> None:
    program = programs.load(name)
    receipt = zkactors.prove(program, inputs, profile="test")
    verify(receipt, program, min_security_bits=0)
    assert_accepted(receipt.to_bytes(), program)


@pytest.mark.parametrize("profile", ["default", "high"])
def test_secure_profiles_verify(profile: str) -> None:
    program = programs.load("fib")
    receipt = zkactors.prove(program, [12], profile=profile)
    assert receipt.profile == profile
    zkactors.verify(receipt, program)  # the default policy
    assert_accepted(receipt.to_bytes(), program)


def test_bytes_and_receipt_are_checked_alike(fib_receipt: Receipt) -> None:
    program = programs.load("fib")
    verify(fib_receipt.to_bytes(), program, min_security_bits=0)
    verify(bytearray(fib_receipt.to_bytes()), program, min_security_bits=0)
    verify(memoryview(fib_receipt.to_bytes()), program, min_security_bits=0)
    assert verify_bytes(fib_receipt.to_bytes(), program, min_security_bits=0) == fib_receipt


def test_wrong_program_is_a_statement_failure(fib_receipt: Receipt) -> None:
    other = programs.load("factorial")  # same shape: one input, one output
    for receipt in (fib_receipt, fib_receipt.to_bytes()):
        with pytest.raises(VerificationError) as info:
            verify(receipt, other, min_security_bits=0)
        assert info.value.check == "statement"
        assert "another program" in str(info.value) or "is for program" in str(info.value)


def test_relabelled_receipt_is_rejected(fib_receipt: Receipt) -> None:
    """A receipt of fib claimed for a program of the same shape (fib from 2, 1): the
    statement then matches, but the transcript changes with the program hash, so the
    proof no longer holds."""
    other = _lucas()
    relabelled = attrs.evolve(fib_receipt, program_hash=other.hash)
    with pytest.raises(VerificationError) as info:
        verify(relabelled, other, min_security_bits=0)
    assert info.value.check not in ("format", "statement")


def _lucas() -> zkactors.Program:
    """fib's twin: same registers, instructions and width, another starting pair."""
    source = programs.source("fib").replace("set  a, 0", "set  a, 2")
    program = assemble(source)
    assert program.trace_width == programs.load("fib").trace_width
    return program


def test_input_and_output_counts_must_match_the_program(fib_receipt: Receipt) -> None:
    program = programs.load("fib")
    for changed in (
        attrs.evolve(fib_receipt, inputs=(*fib_receipt.inputs, 1)),
        attrs.evolve(fib_receipt, inputs=()),
        attrs.evolve(fib_receipt, outputs=(*fib_receipt.outputs, 1)),
    ):
        with pytest.raises(VerificationError) as info:
            verify(changed.to_bytes(), program, min_security_bits=0)
        assert info.value.check == "statement"


def test_trace_width_must_match_the_program() -> None:
    """The same proof bytes under a program of another width: the C side must notice
    the statement mismatch before it interprets the proof with the wrong width."""
    program = assemble(".input n\n.output n\nhalt\n")
    wider = assemble(".input n\n.output n\nset t, 1\nhalt\n")
    receipt = zkactors.prove(program, [4], profile="test")
    forged = attrs.evolve(receipt, program_hash=wider.hash)
    with pytest.raises(VerificationError) as info:
        verify(forged, wider, min_security_bits=0)
    assert info.value.check == "statement"
    assert "width" in str(info.value)


#: A genuine receipt of format version 1 (quadratic-extension challenges), made by the
#: prover of that version for fib(5) with the ``test`` profile and accepted by its
#: verifier; kept as bytes so the refusal is tested on what old code really produced.
FORMAT_1_RECEIPT = pathlib.Path(__file__).parent / "data" / "fib5_test_profile_format1.receipt"


def test_format_1_receipts_are_refused_with_a_clear_message() -> None:
    data = FORMAT_1_RECEIPT.read_bytes()
    assert data[:6] == b"ZKRC\x01\x00"
    program = programs.load("fib")
    # every path (native and reference verifiers, on bytes and through the decoder)
    # names the same check
    assert set(verdicts(data, program).values()) == {"format"}
    for check in (lambda: verify(data, program), lambda: reference.verify(data, program)):
        with pytest.raises(VerificationError) as info:
            check()
        message = str(info.value)
        assert "version 1" in message and "earlier version" in message
        assert "quadratic" in message and "prove the statement again" in message
    with pytest.raises(ReceiptFormatError, match="earlier version") as decoded:
        Receipt.from_bytes(data)
    assert str(decoded.value) == OLD_FORMAT_MESSAGE


def _header_fields(receipt: Receipt) -> dict[str, int]:
    n_in, n_out = len(receipt.inputs), len(receipt.outputs)
    log_t_at = 4 + 2 + 1 + 32 + 2 + 8 * n_in + 2 + 8 * n_out
    return {"version": 4, "profile": 6, "log_t": log_t_at, "width": log_t_at + 1}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("version", b"\x01\x00"),
        ("version", b"\x03\x00"),
        ("version", b"\x00\x00"),
        ("profile", b"\x03"),
        ("profile", b"\xff"),
        ("log_t", b"\x02"),
        ("log_t", b"\x1b"),
        ("width", b"\x00\x00"),
        ("width", struct.pack("<H", 321)),
        ("width", b"\xff\xff"),
    ],
)
def test_out_of_range_header_fields_are_format_errors(
    fib_receipt: Receipt, field: str, value: bytes
) -> None:
    data = bytearray(fib_receipt.to_bytes())
    at = _header_fields(fib_receipt)[field]
    data[at : at + len(value)] = value
    assert native_verdict(bytes(data), programs.load("fib")) == "format"
    with pytest.raises(ReceiptFormatError):
        Receipt.from_bytes(bytes(data))


def test_every_truncation_and_extension_is_a_format_error(fib_receipt: Receipt) -> None:
    program = programs.load("fib")
    data = fib_receipt.to_bytes()
    for length in range(len(data)):
        assert native_verdict(data[:length], program) == "format", length
    for extra in (b"\x00", b"\x01" * 7, bytes(32)):
        assert native_verdict(data + extra, program) == "format"


def test_non_canonical_elements_are_format_errors(fib_receipt: Receipt) -> None:
    """p itself (and 2^64 - 1) in place of the first element of every section of field
    elements: both decoders reject it as non-canonical."""
    program = programs.load("fib")
    data = fib_receipt.to_bytes()
    p = 2**64 - 2**32 + 1
    sections = [s for s in oracle_prover.layout(data) if s.kind in ("base", "ext") and s.length]
    assert len(sections) >= 8
    for section in sections:
        for bad in (p, 2**64 - 1):
            at = section.offset
            forged = data[:at] + struct.pack("<Q", bad) + data[at + 8 :]
            assert native_verdict(forged, program) == "format", section.name
            with pytest.raises(ReceiptFormatError):
                Receipt.from_bytes(forged)


@given(st.binary(max_size=600))
def test_random_bytes_only_ever_fail_a_check(data: bytes) -> None:
    assert native_verdict(data, programs.load("fib")) in CHECKS


@given(st.binary(min_size=4, max_size=600))
def test_random_bytes_with_a_receipt_prefix_fail_format(tail: bytes) -> None:
    assert native_verdict(b"ZKRC\x01\x00" + tail, programs.load("fib")) in CHECKS


@given(data=st.data())
def test_random_corruptions_only_ever_fail_a_check(
    fib_receipt: Receipt, data: st.DataObject
) -> None:
    receipt = bytearray(fib_receipt.to_bytes())
    for _ in range(data.draw(st.integers(1, 8))):
        at = data.draw(st.integers(0, len(receipt) - 1))
        receipt[at] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(receipt)))
    corrupted = bytes(receipt[:cut])
    verdict = native_verdict(corrupted, programs.load("fib"))
    if corrupted != fib_receipt.to_bytes():
        assert verdict in CHECKS
    else:
        assert verdict is None


def test_arguments_are_type_checked(fib_receipt: Receipt) -> None:
    with pytest.raises(TypeError):
        verify(fib_receipt, "fib", min_security_bits=0)  # type: ignore[arg-type]
    # Canonical bytes are a program.
    verify(fib_receipt, programs.load("fib").to_bytes(), min_security_bits=0)
    with pytest.raises(TypeError):
        verify("not a receipt", programs.load("fib"), min_security_bits=0)  # type: ignore[arg-type]


def test_verify_bytes_reports_malformed_bytes_as_format() -> None:
    with pytest.raises(VerificationError) as info:
        verify_bytes(b"ZKRC", programs.load("fib"), min_security_bits=0)
    assert info.value.check == "format"


def test_concurrent_verification_from_threads(fib_receipt: Receipt) -> None:
    """The C verifier keeps no global state: many threads at once (the GIL released
    inside) all reach the right verdicts."""
    program = programs.load("fib")
    good = fib_receipt.to_bytes()
    bad = bytearray(good)
    bad[200] ^= 1
    results: list[tuple[str | None, str | None]] = []

    def work() -> None:
        for _ in range(50):
            results.append((native_verdict(good, program), native_verdict(bytes(bad), program)))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 200
    assert {good_v for good_v, _ in results} == {None}
    assert len({bad_v for _, bad_v in results}) == 1
    assert results[0][1] is not None
