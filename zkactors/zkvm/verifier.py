"""``verify(receipt, program)``: check a STARK receipt with the native verifier.

The work happens in C (``ext/verifier.c``, protocol.md 9) on the receipt's raw bytes and
the program's canonical bytes, with the GIL released: the native side decodes everything
itself rather than trusting this wrapper's objects, so a receipt built by hand (or one
whose bytes were tampered with after decoding) gets the same scrutiny as bytes off the
wire. Checking a receipt costs a few hundred hashes and field operations whatever the
trace length, i.e. well under a millisecond for the programs of the library.

The pure-Python verifier in :mod:`zkactors.zkvm.reference` implements the same checks in
the same order and is held to the same verdicts by the tests; this one is the fast path.
"""

from __future__ import annotations

import zkactors._native.verifier as _native
from zkactors import profiles
from zkactors._logging import get_logger
from zkactors.errors import ReceiptFormatError, VerificationError
from zkactors.zkvm.arguments import ProgramLike, as_program
from zkactors.zkvm.receipt import Receipt

log = get_logger(__name__)

#: The check names of protocol.md 9.5, in the order the verifier applies them.
CHECKS = (
    "format",
    "statement",
    "policy",
    "grinding",
    "ood",
    "trace_merkle",
    "aux_merkle",
    "composition_merkle",
    "fri_merkle",
    "deep",
    "fri_fold",
    "fri_remainder",
)


def _reject(check: str, message: str) -> VerificationError:
    return VerificationError(f"receipt rejected ({check}): {message}", check=check)


def verify(
    receipt: Receipt | bytes | bytearray | memoryview,
    program: ProgramLike,
    *,
    min_security_bits: float = profiles.DEFAULT_MIN_SECURITY_BITS,
) -> None:
    """Check that ``receipt`` proves that ``program`` maps its inputs to its outputs with
    at least ``min_security_bits`` bits of conjectured security.

    ``receipt`` is a :class:`Receipt` or its bytes (``Receipt.to_bytes()``); bytes are
    checked exactly as they are, malformed ones failing the ``format`` check. Returns
    ``None`` when the receipt holds.

    The security figure is computed by the verifier from its own profile table, the
    receipt's trace length and the program's constraint count
    (:func:`zkactors.profiles.security_bits`; ``receipt.security_bits(program)`` shows
    it): the prover chose the profile and the trace length, so the receipt's word for
    them only selects a row; whether that row is secure enough is this call's policy. The
    default, 100 bits, accepts honest ``default`` and ``high`` receipts at every trace
    length and refuses ``test`` receipts, which anyone can forge; pass
    ``min_security_bits=0`` to accept those knowingly (in tests).

    :raises VerificationError: if it does not; ``check`` names the first failed check of
        protocol.md 9.5 (``statement`` when the receipt is for another program,
        ``policy`` when it is below ``min_security_bits``).
    :raises NotAProgramError: if ``program`` is neither a :class:`Program` nor its
        canonical bytes (``ProgramFormatError`` if the bytes are not a valid program).
    :raises TypeError: if ``receipt`` is neither a :class:`Receipt` nor bytes.
    :raises ValueError: if ``min_security_bits`` is negative or not finite.
    """
    min_security_bits = profiles.check_min_security_bits(min_security_bits)
    program = as_program(program)
    if isinstance(receipt, Receipt):
        if receipt.program_hash != program.hash:
            raise _reject(
                "statement",
                f"the receipt is for program {receipt.program_hash[:16]}…, not "
                f"{program.hash[:16]}…; verify it against the program it names",
            )
        data = receipt.to_bytes()
    elif isinstance(receipt, bytes | bytearray | memoryview):
        data = bytes(receipt)
    else:
        raise TypeError(f"receipt must be a Receipt or its bytes, got {type(receipt).__name__}")
    verdict = _native.verify(data, program.to_bytes(), min_security_bits)
    if verdict is None:
        return
    check, reason = verdict
    log.debug("receipt.rejected", check=check, reason=reason, program=program.hash[:16])
    raise _reject(check, reason)


def verify_bytes(
    data: bytes,
    program: ProgramLike,
    *,
    min_security_bits: float = profiles.DEFAULT_MIN_SECURITY_BITS,
) -> Receipt:
    """Decode ``data`` strictly, verify it (as :func:`verify`, with the same policy), and
    return the :class:`Receipt`.

    The one call for receipts that arrive from outside (a file, the network).

    :raises VerificationError: if the bytes are malformed (check ``format``), the
        receipt does not prove its statement, or it is below ``min_security_bits``
        (check ``policy``).
    """
    min_security_bits = profiles.check_min_security_bits(min_security_bits)
    try:
        receipt = Receipt.from_bytes(data)
    except ReceiptFormatError as exc:
        raise _reject("format", str(exc)) from None
    verify(receipt, program, min_security_bits=min_security_bits)
    return receipt
