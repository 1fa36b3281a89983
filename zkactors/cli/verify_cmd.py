"""``zkactors verify FILE --program PROGRAM``: check a receipt file against a program.

Exit status 0 and a one-line summary when the receipt proves its statement; otherwise
status 1 and one line naming the failed check (protocol.md 9.5: ``format``,
``statement``, ``policy``, ``ood``, ...) and why, never a traceback; status 3 if a file
cannot be read. FILE ``-`` reads the receipt from stdin. PROGRAM is a built-in program
name, a ``.zkasm`` file or ``-``, as for ``zkactors run``; the receipt names its program
only by hash, so the program must be given. With ``--json`` the verdict is one JSON
object on stdout, valid or not (``{"valid": false, "check": ..., "error": ...}``).

``--min-security-bits N`` is the verifier's policy (default 100): a receipt whose
conjectured security, computed here from the receipt's profile, trace length and the
program, is below N is refused (check ``policy``) whatever else it proves. The summary
line prints the receipt's figure.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from zkactors import profiles
from zkactors.cli._shared import (
    AIR_NAMES,
    EXIT_INVALID,
    EXIT_OK,
    EXIT_USAGE,
    STDIO,
    describe_inputs,
    describe_outputs,
    load_program,
    print_json,
    read_input_file,
    report_assembly_error,
    source_name,
    split_inputs,
    split_outputs,
)
from zkactors.errors import AssemblyError, ReceiptFormatError, VerificationError
from zkactors.zkvm.receipt import MAX_RECEIPT3_BYTES, Receipt
from zkactors.zkvm.verifier import verify


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", help="the receipt to check (- for stdin)")
    parser.add_argument(
        "--program",
        required=True,
        metavar="PROGRAM",
        help="the program the receipt is about: a built-in name, a .zkasm file, or - for stdin",
    )
    parser.add_argument(
        "--min-security-bits",
        type=_bits,
        default=profiles.DEFAULT_MIN_SECURITY_BITS,
        metavar="N",
        help="refuse receipts below N conjectured bits of security (default: %(default)g; "
        "'test'-profile receipts have about 16 and are accepted only with 0)",
    )
    parser.add_argument("--json", action="store_true", help="print the verdict as one JSON object")


def _bits(text: str) -> float:
    try:
        return profiles.check_min_security_bits(float(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of bits >= 0, got {text!r}") from None


def _invalid(args: argparse.Namespace, check: str, message: str) -> int:
    name = source_name(args.file)
    print(
        f"zkactors verify: {name} is INVALID: receipt rejected ({check}): {message}",
        file=sys.stderr,
    )
    if args.json:
        print_json({"valid": False, "receipt": name, "check": check, "error": message})
    return EXIT_INVALID


def run(args: argparse.Namespace) -> int:
    if args.file == STDIO and args.program == STDIO:
        print(
            "zkactors verify: error: the receipt and the program cannot both come from "
            "stdin (-); give one of them as a file",
            file=sys.stderr,
        )
        return EXIT_USAGE
    try:
        program = load_program(args.program)
    except AssemblyError as exc:
        return report_assembly_error("verify", args.program, exc)
    data, size = read_input_file(args.file, limit=MAX_RECEIPT3_BYTES)
    if size > MAX_RECEIPT3_BYTES:
        # Refused before decoding, with the real size (only the first bytes were kept).
        return _invalid(
            args,
            "format",
            f"{size} bytes is larger than any receipt ({MAX_RECEIPT3_BYTES} bytes at most)",
        )
    started = time.perf_counter()
    try:
        receipt = Receipt.from_bytes(data)
        verify(receipt, program, min_security_bits=args.min_security_bits)
    except ReceiptFormatError as exc:
        return _invalid(args, "format", str(exc))
    except VerificationError as exc:
        return _invalid(args, exc.check, _reason(exc))
    seconds = time.perf_counter() - started
    if args.json:
        named_inputs, stream = split_inputs(program, receipt.inputs)
        named_outputs, written = split_outputs(program, receipt.outputs)
        payload: dict[str, Any] = {
            "valid": True,
            "receipt": source_name(args.file),
            "program": source_name(args.program),
            "program_hash": program.hash,
            "inputs": named_inputs,
            "outputs": named_outputs,
            "trace_length": receipt.trace_length,
            "profile": receipt.profile,
            "air": receipt.air,
            "security_bits": receipt.security_bits(program),
            "min_security_bits": args.min_security_bits,
            "receipt_bytes": len(data),
            "seconds": seconds,
        }
        if program.format == 2:
            payload["stream_inputs"] = stream
            payload["written"] = written
        print_json(payload)
        return EXIT_OK
    outputs = describe_outputs(program, receipt.outputs)
    inputs = describe_inputs(program, receipt.inputs)
    print(
        f"valid: {source_name(args.program)} ({program.hash[:16]}) with inputs {inputs} "
        f"gives outputs {outputs}; {AIR_NAMES[receipt.air]} (receipt format "
        f"{receipt.format_version}), trace length {receipt.trace_length}, "
        f"profile {receipt.profile} ({receipt.security_bits(program):.1f} conjectured bits, "
        f"at least {args.min_security_bits:g} required), {len(data)} bytes; "
        f"verified in {seconds * 1e3:.2f} ms"
    )
    return EXIT_OK


def _reason(exc: VerificationError) -> str:
    """The message without the verifier's ``receipt rejected (check): `` prefix."""
    text = str(exc)
    prefix = f"receipt rejected ({exc.check}): "
    return text.removeprefix(prefix)
