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
"""

from __future__ import annotations

from zkactors.errors import ReceiptFormatError, VerificationError
from zkactors.zkvm import reference
from zkactors.zkvm.program import Program
from zkactors.zkvm.receipt import Receipt
from zkactors.zkvm.verifier import verify as native_verify

Verdict = str | None


def _run(fn: object, receipt: object, program: Program) -> Verdict:
    try:
        fn(receipt, program)  # type: ignore[operator]
    except VerificationError as exc:
        assert exc.check, f"a VerificationError without a check name: {exc}"
        return exc.check
    return None


def native_verdict(data: bytes, program: Program) -> Verdict:
    """The native verifier's verdict on raw bytes."""
    return _run(native_verify, data, program)


def verdicts(data: bytes, program: Program, *, reference_too: bool = True) -> dict[str, Verdict]:
    """Every path's verdict, by path name."""
    out: dict[str, Verdict] = {"native(bytes)": native_verdict(data, program)}
    try:
        receipt = Receipt.from_bytes(data)
    except ReceiptFormatError:
        out["native(Receipt)"] = "format"
        if reference_too:
            out["reference(Receipt)"] = "format"
    else:
        assert receipt.to_bytes() == data, "from_bytes/to_bytes do not round-trip"
        out["native(Receipt)"] = _run(native_verify, receipt, program)
        if reference_too:
            out["reference(Receipt)"] = _run(reference.verify, receipt, program)
    if reference_too:
        out["reference(bytes)"] = _run(reference.verify, data, program)
    return out


def agreed_verdict(data: bytes, program: Program, *, reference_too: bool = True) -> Verdict:
    """The verdict every path reaches; fails the test if two paths differ."""
    seen = verdicts(data, program, reference_too=reference_too)
    assert len(set(seen.values())) == 1, f"verifiers disagree: {seen}"
    return next(iter(seen.values()))


def assert_rejected(data: bytes, program: Program, *, reference_too: bool = True) -> str:
    """Every path rejects ``data`` with the same check; returns its name."""
    verdict = agreed_verdict(data, program, reference_too=reference_too)
    assert verdict is not None, "a bad receipt was accepted"
    return verdict


def assert_accepted(data: bytes, program: Program, *, reference_too: bool = True) -> None:
    verdict = agreed_verdict(data, program, reference_too=reference_too)
    assert verdict is None, f"an honest receipt was rejected ({verdict})"
