"""The native verifier on format-3 receipts (AIR 2, protocol.md 16-17), held to the
reference verifier: honest oracle receipts are accepted by every path, and a change to
any section of a receipt is rejected by every path with the same check."""

from __future__ import annotations

import math

import attrs
import pytest
from oracle_prover import prove_machine, section
from verifier_agreement import (
    assert_accepted,
    assert_rejected,
    native_verdict,
    tampered_sections,
)

from zkactors import profiles, programs
from zkactors._native import verifier as native
from zkactors.zkvm.receipt import Receipt
from zkactors.zkvm.verifier import CHECKS

FIB = programs.load("fib")


@pytest.fixture(scope="module")
def fib_receipt() -> bytes:
    return prove_machine(FIB, (5,))


def test_aux_merkle_is_a_check() -> None:
    assert native.check_name(13) == "aux_merkle"
    assert CHECKS.index("aux_merkle") == CHECKS.index("trace_merkle") + 1


def test_honest_receipts_are_accepted(fib_receipt: bytes) -> None:
    assert_accepted(fib_receipt, FIB)
    program = programs.load("horner")
    assert_accepted(prove_machine(program, (11,)), program)


def test_policy(fib_receipt: bytes) -> None:
    """AIR 2's figure (with the LogUp term) against the caller's minimum."""
    bits = profiles.security_bits("test", 256, 47, air=2)
    above = math.nextafter(bits, math.inf)
    assert assert_rejected(fib_receipt, FIB, min_security_bits=above) == "policy"
    assert_accepted(fib_receipt, FIB, min_security_bits=bits)


def test_default_profile_meets_the_default_minimum() -> None:
    program = programs.load("inverse_check")
    data = prove_machine(program, (7,), profile="default")
    assert native_verdict(data, program, min_security_bits=100) is None


def test_every_tampered_section_is_rejected_alike(fib_receipt: bytes) -> None:
    seen = {}
    for name, data in tampered_sections(fib_receipt):
        seen[name] = assert_rejected(data, FIB)
    assert seen["aux rows"] == seen["aux multiproof"] == "aux_merkle"
    assert seen["trace rows"] == "trace_merkle"
    assert seen["ood aux"] == "ood"


def test_statement(fib_receipt: bytes) -> None:
    assert assert_rejected(fib_receipt, programs.load("power")) == "statement"
    receipt = Receipt.from_bytes(fib_receipt)
    for changed in (
        attrs.evolve(receipt, inputs=()),
        attrs.evolve(receipt, outputs=()),
        attrs.evolve(receipt, inputs=receipt.inputs + (0,) * 256),
    ):
        assert assert_rejected(changed.to_bytes(), FIB) == "statement"
    extra = attrs.evolve(receipt, inputs=(*receipt.inputs, 1))
    assert assert_rejected(extra.to_bytes(), FIB) == "ood"


def test_cheats_and_bounds(fib_receipt: bytes) -> None:
    for cheat, check in (("deep", "deep"), ("fold", "fri_fold"), ("remainder", "fri_remainder")):
        assert assert_rejected(prove_machine(FIB, (5,), cheat=cheat), FIB) == check
    for name, value in (("air id", 1), ("w", 55), ("w_aux", 11), ("log2 T", 7), ("|P|", 0)):
        s = section(fib_receipt, name)
        bad = (
            fib_receipt[: s.offset]
            + value.to_bytes(s.length, "little")
            + fib_receipt[s.offset + s.length :]
        )
        assert assert_rejected(bad, FIB) == "format"
    assert native_verdict(fib_receipt[:-1], FIB) == "format"
    assert native_verdict(fib_receipt + b"\0", FIB) == "format"
    too_long = fib_receipt[:4] + b"\x03\x00" + bytes(2 * 1024 * 1024)
    assert native_verdict(too_long, FIB) == "format"
    format2_too_long = fib_receipt[:4] + b"\x02\x00" + bytes(512 * 1024)
    assert native_verdict(format2_too_long, FIB) == "format"
