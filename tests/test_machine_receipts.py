"""Format-3 receipts (AIR 2, protocol.md 15-17): the oracle prover's receipts verify in
the reference verifier, decode and re-encode exactly, and every section of the receipt is
covered by the check the specification's order names."""

from __future__ import annotations

import attrs
import pytest
from machine_programs import ALL_OPS_SOURCE, MACHINE_SOURCE
from oracle_prover import bump_element, layout, prove, prove_machine, section, set_section

from zkactors import profiles, programs
from zkactors.errors import ReceiptFormatError, VerificationError
from zkactors.zkvm import interpreter
from zkactors.zkvm.assembler import assemble
from zkactors.zkvm.receipt import Receipt
from zkactors.zkvm.reference import air2, verify
from zkactors.zkvm.reference.field import P


@pytest.fixture(scope="module")
def fib_receipt() -> bytes:
    return prove_machine(programs.load("fib"), (5,))


def _rejected(data: bytes | Receipt, program, **kwargs) -> str:
    with pytest.raises(VerificationError) as info:
        verify(data, program, min_security_bits=kwargs.pop("min_security_bits", 0), **kwargs)
    return info.value.check


def test_oracle_receipts_verify(fib_receipt):
    fib = programs.load("fib")
    receipt = Receipt.from_bytes(fib_receipt)
    assert receipt.air == 2 and receipt.format_version == 3
    assert receipt.trace_length == 256 and receipt.trace_width == air2.WIDTH
    assert receipt.outputs == interpreter.run(fib, (5,))[0]
    assert receipt.to_bytes() == fib_receipt and receipt.size == len(fib_receipt)
    assert receipt.header_size == section(fib_receipt, "trace root").offset
    assert sum(s.length for s in layout(fib_receipt)) == len(fib_receipt)
    verify(fib_receipt, fib, min_security_bits=0)
    assert receipt.security_bits(fib) == profiles.security_bits("test", 256, 47, air=2) == 16.0
    # below the default minimum: the test profile is insecure
    assert _rejected(fib_receipt, fib, min_security_bits=100) == "policy"


def test_every_v1_instruction_and_the_default_profile():
    program = assemble(ALL_OPS_SOURCE)
    data = prove_machine(program, (3, 3))
    verify(data, program, min_security_bits=0)
    program = programs.load("inverse_check")
    data = prove_machine(program, (7,), profile="default")
    verify(data, program)  # 100 bits: the default minimum
    assert Receipt.from_bytes(data).security_bits(program) == 100.0


def test_a_receipt_for_another_program_or_statement(fib_receipt):
    assert _rejected(fib_receipt, programs.load("power")) == "statement"
    receipt = Receipt.from_bytes(fib_receipt)
    fib = programs.load("fib")
    # too few inputs for the .input registers
    assert _rejected(attrs.evolve(receipt, inputs=()), fib) == "statement"
    assert _rejected(attrs.evolve(receipt, outputs=()), fib) == "statement"
    # as many stream inputs as the trace has rows
    many = attrs.evolve(receipt, inputs=receipt.inputs + (0,) * 256)
    assert _rejected(many, fib) == "statement"
    # one extra stream input is a statement the proof does not prove
    assert _rejected(attrs.evolve(receipt, inputs=(*receipt.inputs, 1)), fib) == "ood"
    assert _rejected(attrs.evolve(receipt, outputs=(*receipt.outputs, 1)), fib) == "ood"


def test_outputs_naming_one_register_must_agree():
    program = assemble(".input x\n.output y, y\naddi y, x, 1\nhalt\n")
    data = prove_machine(program, (4,))
    verify(data, program, min_security_bits=0)
    receipt = Receipt.from_bytes(data)
    assert receipt.outputs == (5, 5)
    assert _rejected(attrs.evolve(receipt, outputs=(5, 6)), program) == "statement"


# Bumping one field element of a section (still canonical) -> the check that must fail.
ELEMENT_TAMPERING = {
    "inputs": "ood",
    "outputs": "ood",
    "ood main": "ood",
    "ood aux": "ood",
    "ood composition": "ood",
    "remainder": "format",  # other positions are drawn, so the FRI layers' counts differ
    "trace rows": "trace_merkle",
    "aux rows": "aux_merkle",
    "composition rows": "composition_merkle",
    "fri layer 0 leaves": "fri_merkle",
    "fri layer 1 leaves": "fri_merkle",
}
DIGEST_TAMPERING = {
    "program hash": "statement",
    "trace root": "ood",
    "aux root": "ood",
    "composition root": "ood",
    "trace multiproof": "trace_merkle",
    "aux multiproof": "aux_merkle",
    "composition multiproof": "composition_merkle",
    "fri layer 0 multiproof": "fri_merkle",
}


@pytest.mark.parametrize(("name", "check"), ELEMENT_TAMPERING.items())
def test_tampered_elements(fib_receipt, name, check):
    s = section(fib_receipt, name)
    assert s.kind in ("base", "ext") and s.length
    assert _rejected(bump_element(fib_receipt, s.offset), programs.load("fib")) == check


@pytest.mark.parametrize(("name", "check"), DIGEST_TAMPERING.items())
def test_tampered_digests(fib_receipt, name, check):
    s = section(fib_receipt, name)
    assert s.kind == "bytes" and s.length
    bad = fib_receipt[: s.offset] + bytes([fib_receipt[s.offset] ^ 1]) + fib_receipt[s.offset + 1 :]
    assert _rejected(bad, programs.load("fib")) == check


def test_fri_roots_and_nonce(fib_receipt):
    fib = programs.load("fib")
    s = section(fib_receipt, "fri roots")
    bad = fib_receipt[: s.offset] + bytes([fib_receipt[s.offset] ^ 1]) + fib_receipt[s.offset + 1 :]
    # other positions are drawn: the openings no longer match the roots
    assert _rejected(bad, fib) in ("format", "trace_merkle")
    s = section(fib_receipt, "nonce")
    bad = fib_receipt[: s.offset] + bytes([fib_receipt[s.offset] ^ 1]) + fib_receipt[s.offset + 1 :]
    assert _rejected(bad, fib) in ("format", "trace_merkle")


@pytest.mark.parametrize(
    ("cheat", "check"), [("deep", "deep"), ("fold", "fri_fold"), ("remainder", "fri_remainder")]
)
def test_cheats(cheat, check):
    fib = programs.load("fib")
    assert _rejected(prove_machine(fib, (5,), cheat=cheat), fib) == check


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("air id", 1),
        ("w", 55),
        ("w_aux", 11),
        ("log2 T", 7),
        ("log2 T", 27),
        ("n_inputs", (1 << 16) + 1),
        ("n_outputs", (1 << 16) + 1),
        ("|P|", 0),
        ("|P|", 9),
        ("L", 2),
        ("d_L", 5),
    ],
)
def test_format_3_bounds(fib_receipt, name, value):
    s = section(fib_receipt, name)
    bad = set_section(fib_receipt, s, value)
    with pytest.raises(ReceiptFormatError):
        Receipt.from_bytes(bad)
    assert _rejected(bad, programs.load("fib")) == "format"


def test_format_3_non_canonical_and_truncated(fib_receipt):
    s = section(fib_receipt, "ood aux")
    bad = fib_receipt[: s.offset] + P.to_bytes(8, "little") + fib_receipt[s.offset + 8 :]
    with pytest.raises(ReceiptFormatError):
        Receipt.from_bytes(bad)
    for data in (fib_receipt[:-1], fib_receipt + b"\0"):
        with pytest.raises(ReceiptFormatError):
            Receipt.from_bytes(data)
    with pytest.raises(ReceiptFormatError, match="larger than any receipt"):
        Receipt.from_bytes(fib_receipt[:4] + b"\x03\x00" + bytes(2 * 1024 * 1024))


def test_receipt_constructor_bounds(fib_receipt):
    receipt = Receipt.from_bytes(fib_receipt)
    for changes in ({"trace_width": 55}, {"trace_length": 128}, {"air": 3}):
        with pytest.raises(ReceiptFormatError):
            attrs.evolve(receipt, **changes)
    # 2^16 stream inputs are a valid format-3 statement, not a format-2 one
    big = attrs.evolve(receipt, inputs=(0,) * (1 << 16))
    assert Receipt.from_bytes(big.to_bytes()) == big
    with pytest.raises(ReceiptFormatError):
        attrs.evolve(receipt, inputs=(0,) * ((1 << 16) + 1))


def test_alpha_equal_to_one_of_vs_tuples_is_ood(fib_receipt, monkeypatch):
    # The verifier's own fraction 1/(α − v) has no value when α = v: protocol.md 17 names
    # the rejection `ood` (the chance is about 3T/|K|; the test forces it).
    fib = programs.load("fib")

    def colliding(st, ch):
        return (ch.alpha - ch.alpha).inverse()

    monkeypatch.setattr(air2, "verifier_sum", colliding)
    assert _rejected(fib_receipt, fib) == "ood"


def test_a_machine_program_with_memory_and_streams():
    program = assemble(MACHINE_SOURCE)
    data = prove_machine(program, (3, 10, 20))
    receipt = Receipt.from_bytes(data)
    assert receipt.inputs == (3, 10, 20) and receipt.outputs == (13, 13, 0, 20)
    verify(data, program, min_security_bits=0)
    # the stream, in another order, or cut short, is another statement
    assert _rejected(attrs.evolve(receipt, inputs=(3, 20, 10)), program) == "ood"
    assert _rejected(attrs.evolve(receipt, outputs=(13, 13, 0)), program) == "ood"


def test_a_format_2_receipt_for_a_program_air_1_cannot_express():
    program = assemble(MACHINE_SOURCE)
    fib = programs.load("fib")
    v1_receipt = Receipt.from_bytes(prove(fib, (5,)))
    claimed = attrs.evolve(v1_receipt, program_hash=program.hash)
    with pytest.raises(VerificationError, match="register AIR") as info:
        verify(claimed, program, min_security_bits=0)
    assert info.value.check == "statement"


def test_trace_shorter_than_the_program_is_a_statement_failure(fib_receipt):
    from zkactors.zkvm.reference import verifier as reference

    body = "\n".join("addi x, x, 1" for _ in range(300))
    program = assemble(f".input x\n.output x\n{body}\nhalt\n")
    receipt = attrs.evolve(Receipt.from_bytes(fib_receipt), program_hash=program.hash)
    with pytest.raises(VerificationError, match="trace length") as info:
        reference._check_machine_statement(receipt, program, 8)
    assert info.value.check == "statement"
