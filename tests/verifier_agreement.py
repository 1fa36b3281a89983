"""Run every verifier path on the same receipt bytes and insist they agree.

A receipt's verdict is ``None`` (accepted) or the name of the failed check. Four paths
see the bytes:

- the native verifier on the raw bytes (it decodes everything itself);
- ``Receipt.from_bytes`` then the native verifier on the object;
- ``Receipt.from_bytes`` then the reference verifier on the object;
- the reference verifier on the raw bytes.

A ``ReceiptFormatError`` from ``from_bytes`` is the ``format`` verdict. Any other
exception escapes and fails the calling test: "never crashes, only typed rejections" is
part of what is being tested. The reference verifier's documented check order is part
of the specification, so the paths must agree on the *name* of the failed check, not just
on accept/reject.

Policy. Most receipts here are made under the insecure ``test`` profile, because the
checks after the policy are what these helpers examine; so they verify with
``min_security_bits=OPEN_POLICY`` (0) unless the caller passes a minimum, and the policy
itself is exercised by tests that do pass one (tests/test_policy.py).
"""

from __future__ import annotations

from zkactors.errors import ReceiptFormatError, VerificationError
from zkactors.zkvm import reference
from zkactors.zkvm.program import Program
from zkactors.zkvm.receipt import Receipt
from zkactors.zkvm.verifier import verify as native_verify

Verdict = str | None

#: The minimum these helpers verify with by default: none (see the module docstring).
OPEN_POLICY = 0.0


def _run(fn: object, receipt: object, program: Program, min_security_bits: float) -> Verdict:
    try:
        fn(receipt, program, min_security_bits=min_security_bits)  # type: ignore[operator]
    except VerificationError as exc:
        assert exc.check, f"a VerificationError without a check name: {exc}"
        return exc.check
    return None


def native_verdict(
    data: bytes, program: Program, *, min_security_bits: float = OPEN_POLICY
) -> Verdict:
    """The native verifier's verdict on raw bytes."""
    return _run(native_verify, data, program, min_security_bits)


def verdicts(
    data: bytes,
    program: Program,
    *,
    reference_too: bool = True,
    min_security_bits: float = OPEN_POLICY,
) -> dict[str, Verdict]:
    """Every path's verdict, by path name."""
    bits = min_security_bits
    out: dict[str, Verdict] = {
        "native(bytes)": native_verdict(data, program, min_security_bits=bits)
    }
    try:
        receipt = Receipt.from_bytes(data)
    except ReceiptFormatError:
        out["native(Receipt)"] = "format"
        if reference_too:
            out["reference(Receipt)"] = "format"
    else:
        assert receipt.to_bytes() == data, "from_bytes/to_bytes do not round-trip"
        out["native(Receipt)"] = _run(native_verify, receipt, program, bits)
        if reference_too:
            out["reference(Receipt)"] = _run(reference.verify, receipt, program, bits)
    if reference_too:
        out["reference(bytes)"] = _run(reference.verify, data, program, bits)
    return out


def agreed_verdict(
    data: bytes,
    program: Program,
    *,
    reference_too: bool = True,
    min_security_bits: float = OPEN_POLICY,
) -> Verdict:
    """The verdict every path reaches; fails the test if two paths differ."""
    seen = verdicts(data, program, reference_too=reference_too, min_security_bits=min_security_bits)
    assert len(set(seen.values())) == 1, f"verifiers disagree: {seen}"
    return next(iter(seen.values()))


def assert_rejected(
    data: bytes,
    program: Program,
    *,
    reference_too: bool = True,
    min_security_bits: float = OPEN_POLICY,
) -> str:
    """Every path rejects ``data`` with the same check; returns its name."""
    verdict = agreed_verdict(
        data, program, reference_too=reference_too, min_security_bits=min_security_bits
    )
    assert verdict is not None, "a bad receipt was accepted"
    return verdict


def assert_accepted(
    data: bytes,
    program: Program,
    *,
    reference_too: bool = True,
    min_security_bits: float = OPEN_POLICY,
) -> None:
    verdict = agreed_verdict(
        data, program, reference_too=reference_too, min_security_bits=min_security_bits
    )
    assert verdict is None, f"an honest receipt was rejected ({verdict})"


def tampered_sections(data: bytes) -> list[tuple[str, bytes]]:
    """One changed copy of ``data`` per non-empty section of its layout (format 2 or 3,
    tests/oracle_prover.py's ``layout``): a field element bumped by one (still canonical)
    in element sections, one bit flipped in the first byte of every other section."""
    from oracle_prover import bump_element, layout

    out = []
    for s in layout(data):
        if not s.length:
            continue
        if s.kind in ("base", "ext"):
            out.append((s.name, bump_element(data, s.offset)))
        else:
            flipped = bytes([data[s.offset] ^ 1])
            out.append((s.name, data[: s.offset] + flipped + data[s.offset + 1 :]))
    return out
