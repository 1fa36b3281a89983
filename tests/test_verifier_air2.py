"""The native verifier on format-3 receipts (AIR 2, protocol.md 16-17), held to the
reference verifier: honest oracle receipts are accepted by every path, and a change to
any section of a receipt is rejected by every path with the same check."""

from __future__ import annotations

import functools
import math

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from oracle_prover import prove_machine, section, set_section
from verifier_agreement import (
    agreed_verdict,
    assert_accepted,
    assert_rejected,
    native_verdict,
    tampered_sections,
)

from zkactors import profiles, programs
from zkactors._native import verifier as native
from zkactors.zkvm.isa import P
from zkactors.zkvm.receipt import Receipt
from zkactors.zkvm.verifier import CHECKS

FIB = programs.load("fib")


@functools.cache
def _fib_receipt() -> bytes:
    return prove_machine(FIB, (5,))


@pytest.fixture(scope="module")
def fib_receipt() -> bytes:
    return _fib_receipt()


def test_aux_merkle_is_a_check() -> None:
    assert native.check_name(13) == "aux_merkle"
    assert CHECKS.index("aux_merkle") == CHECKS.index("trace_merkle") + 1


def test_honest_receipts_are_accepted(fib_receipt: bytes) -> None:
    assert_accepted(fib_receipt, FIB)
    program = programs.load("horner")
    assert_accepted(prove_machine(program, (11,)), program)
    program = programs.load("matvec")  # memory and both streams
    data = prove_machine(program, (2, 1, 2, 3, 4, 5, 6))
    assert_accepted(data, program)
    assert Receipt.from_bytes(data).outputs == (17, 39)


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
        bad = set_section(fib_receipt, s, value)
        assert assert_rejected(bad, FIB) == "format"
    for name in ("inputs", "ood aux", "aux rows"):  # a value >= p anywhere: format
        s = section(fib_receipt, name)
        bad = fib_receipt[: s.offset] + P.to_bytes(8, "little") + fib_receipt[s.offset + 8 :]
        assert assert_rejected(bad, FIB) == "format"
    s = section(fib_receipt, "n_inputs")
    bad = (
        fib_receipt[: s.offset]
        + ((1 << 16) + 1).to_bytes(4, "little")
        + fib_receipt[s.offset + 4 :]
    )
    assert assert_rejected(bad, FIB) == "format"
    assert native_verdict(fib_receipt[:-1], FIB) == "format"
    assert native_verdict(fib_receipt + b"\0", FIB) == "format"
    too_long = fib_receipt[:4] + b"\x03\x00" + bytes(2 * 1024 * 1024)
    assert native_verdict(too_long, FIB) == "format"
    format2_too_long = fib_receipt[:4] + b"\x02\x00" + bytes(512 * 1024)
    assert native_verdict(format2_too_long, FIB) == "format"


# ---- the soundness forgeries of tests/test_soundness_machine.py, every path agreeing ----


@pytest.fixture
def every_verifier(monkeypatch: pytest.MonkeyPatch) -> None:
    """test_soundness_machine's ``verify`` replaced by all four paths, which must agree
    (and raise the agreed check, as the reference verifier alone would)."""
    import test_soundness_machine as soundness

    from zkactors.errors import VerificationError

    def verify(data: bytes, program: object, *, min_security_bits: float = 100.0) -> None:
        verdict = agreed_verdict(data, program, min_security_bits=min_security_bits)  # type: ignore[arg-type]
        if verdict is not None:
            raise VerificationError(f"receipt rejected ({verdict})", check=verdict)

    monkeypatch.setattr(soundness, "verify", verify)


def _soundness_tests() -> list[str]:
    import test_soundness_machine as soundness

    return sorted(name for name in vars(soundness) if name.startswith("test_"))


@pytest.mark.parametrize("name", _soundness_tests())
def test_soundness_forgeries_every_verifier(every_verifier: None, name: str) -> None:
    import test_soundness_machine as soundness

    getattr(soundness, name)()


def test_a_format_2_receipt_cannot_claim_a_machine_program() -> None:
    """Protocol.md 17: a format-2 receipt (AIR 1) naming a program AIR 1 cannot express
    fails statement, on every path, even with that program's hash."""
    from zkactors.zkvm.assembler import assemble
    from zkactors.zkvm.prover import prove

    machine = assemble(".input x\n.output x\nstore [x], x\nhalt")
    assert not machine.fits_register_air
    data = prove(FIB, (5,), profile="test").to_bytes()
    assert data[4:6] == b"\x02\x00"
    at = 7  # magic, version, profile id: then the program hash
    forged = data[:at] + machine.digest + data[at + 32 :]
    assert assert_rejected(forged, machine) == "statement"
    assert "cannot express" in native.verify(forged, machine.to_bytes(), 0.0)[1]


@pytest.mark.parametrize("air", [1, 2])
def test_the_native_security_figure_is_the_python_one(air: int) -> None:
    """ext/profiles.h and zkactors.profiles compute the policy's figure alike, bit for
    bit, for both AIRs (AIR 2 with its 47 constraints and the LogUp term)."""
    for profile in profiles.PROFILES.values():
        for log_t in range(3 if air == 1 else 8, 27):
            for n_constraints in (1, 47, 300, 657, 10**6) if air == 1 else (47,):
                expected = profiles.security_bits(profile, 1 << log_t, n_constraints, air=air)
                got = native.security_bits(profile.id, log_t, n_constraints, air)
                assert got == expected, (profile.name, log_t, n_constraints)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), min_size=1, max_size=3),
    st.integers(0, 10**6) | st.none(),
)
def test_random_changes_every_verifier_alike(edits: list[tuple[int, int]], cut: int | None) -> None:
    """Random byte changes (and truncations) of a format-3 receipt: every path reaches the
    same verdict, and only the unchanged bytes are accepted."""
    data = _fib_receipt()
    changed = bytearray(data)
    for position, value in edits:
        changed[position % len(changed)] = value
    if cut is not None:
        del changed[cut % len(changed) :]
    verdict = agreed_verdict(bytes(changed), FIB)
    assert (verdict is None) == (bytes(changed) == data)
