"""``zkactors verify FILE --program PROGRAM``: check a receipt file against a program.

Exit status 0 and a one-line summary when the receipt proves its statement; otherwise
status 1 and one line naming the failed check (protocol.md 9.5: ``format``,
``statement``, ``policy``, ``ood``, ...) and why, never a traceback. PROGRAM is a
built-in program name or a ``.zkasm`` file, as for ``zkactors run``; the receipt names its
program only by hash, so the program must be given.

``--min-security-bits N`` is the verifier's policy (default 100): a receipt whose
conjectured security, computed here from the receipt's profile, trace length and the
program, is below N is refused (check ``policy``) whatever else it proves. The summary
line prints the receipt's figure.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from zkactors import profiles
from zkactors.cli._shared import assignments, load_program, report_assembly_error
from zkactors.errors import AssemblyError, ReceiptFormatError, VerificationError
from zkactors.zkvm.receipt import MAX_RECEIPT_BYTES, Receipt
from zkactors.zkvm.verifier import verify


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", type=Path, help="the receipt to check")
    parser.add_argument(
        "--program",
        required=True,
        metavar="PROGRAM",
        help="the program the receipt is about: a built-in name or a .zkasm file",
    )
    parser.add_argument(
        "--min-security-bits",
        type=_bits,
        default=profiles.DEFAULT_MIN_SECURITY_BITS,
        metavar="N",
        help="refuse receipts below N conjectured bits of security (default: %(default)g; "
        "'test'-profile receipts have about 16 and are accepted only with 0)",
    )


def _bits(text: str) -> float:
    try:
        return profiles.check_min_security_bits(float(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of bits >= 0, got {text!r}") from None


def _error(message: str) -> int:
    print(f"zkactors verify: {message}", file=sys.stderr)
    return 1


def run(args: argparse.Namespace) -> int:
    try:
        program = load_program(args.program)
    except AssemblyError as exc:
        return report_assembly_error("verify", args.program, exc)
    try:
        with args.file.open("rb") as file:
            data = file.read(MAX_RECEIPT_BYTES + 1)  # one byte more is enough to refuse it
    except OSError as exc:
        return _error(f"cannot read {args.file}: {exc.strerror or exc}")
    started = time.perf_counter()
    try:
        receipt = Receipt.from_bytes(data)
        verify(receipt, program, min_security_bits=args.min_security_bits)
    except ReceiptFormatError as exc:
        return _error(f"{args.file} is INVALID: receipt rejected (format): {exc}")
    except VerificationError as exc:
        return _error(f"{args.file} is INVALID: {exc}")
    seconds = time.perf_counter() - started
    outputs = assignments(program.outputs, receipt.outputs)
    inputs = assignments(program.inputs, receipt.inputs)
    print(
        f"valid: {args.program} ({program.hash[:16]}) with inputs {inputs} "
        f"gives outputs {outputs}; trace length {receipt.trace_length}, "
        f"profile {receipt.profile} ({receipt.security_bits(program):.1f} conjectured bits, "
        f"at least {args.min_security_bits:g} required), {len(data)} bytes; "
        f"verified in {seconds * 1e3:.2f} ms"
    )
    return 0
