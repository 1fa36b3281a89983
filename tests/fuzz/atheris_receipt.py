"""Coverage-guided fuzzing (atheris / libFuzzer) of the decoders that take untrusted bytes.

Not part of the test suite (pytest does not collect this file, CI does not run it): it
runs for as long as you let it. It checks the promise ``tests/test_fuzz_decoders.py``
checks with hypothesis, on inputs libFuzzer evolves with coverage feedback from the
Python code (the native code is not instrumented, but its verdicts are compared):

- first input byte % 3 == 0, receipt: ``Receipt.from_bytes`` raises only
  ``ReceiptFormatError``; ``zkactors.verify`` (native) and
  ``zkactors.zkvm.reference.verify`` raise only ``VerificationError`` and name the same
  check; a decoded receipt re-encodes to the same bytes;
- == 1, program bytes: ``Program.from_bytes`` raises only ``ProgramFormatError``, the
  native decoder accepts exactly the same inputs, and the native verifier given these
  program bytes beside a valid receipt returns a verdict;
- == 2, assembly text (UTF-8 decoded with replacement): ``assemble`` raises only
  ``AssemblyError``.

Anything else raises, and libFuzzer saves the input as ``crash-<sha1>`` (reproduce with
``python tests/fuzz/atheris_receipt.py crash-<sha1>``).

How to run (from the repository root, with the native modules built)::

    pip install atheris        # only for this; not a dependency of zkactors
    mkdir -p /tmp/zkfuzz
    python tests/fuzz/atheris_receipt.py /tmp/zkfuzz -max_total_time=300 -timeout=10 \\
        -rss_limit_mb=4096 -artifact_prefix=/tmp/zkfuzz-

The corpus directory is seeded with valid receipts, programs and sources (each behind its
mode byte) when it is empty; libFuzzer options (``-jobs``, ``-dict`` ...) pass through.
``-timeout=10`` turns a hang (an input that makes a decoder loop) into a reported crash.
Run it against a sanitizer build (``ZKACTORS_SANITIZE=1``, see ``tox -e sanitize``) with
``LD_PRELOAD=$(gcc -print-file-name=libasan.so)`` to catch native memory errors too.
"""

from __future__ import annotations

import logging
import os
import sys

import atheris  # type: ignore[import-untyped,import-not-found,unused-ignore]  # this script only

with atheris.instrument_imports():
    import structlog

    import zkactors
    import zkactors._native.executor as native_executor
    import zkactors._native.verifier as native_verifier
    from zkactors import programs
    from zkactors.errors import (
        AssemblyError,
        ProgramFormatError,
        ReceiptFormatError,
        VerificationError,
    )
    from zkactors.zkvm import reference
    from zkactors.zkvm.assembler import assemble
    from zkactors.zkvm.program import Program
    from zkactors.zkvm.receipt import Receipt
    from zkactors.zkvm.verifier import CHECKS

# The verifiers log every rejection at debug level; a fuzzer makes millions of them.
structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))

RECEIPT, PROGRAM, SOURCE = 0, 1, 2
FIB = programs.load("fib")
FIB_RECEIPT = zkactors.prove(FIB, [5], profile="test").to_bytes()
#: The only receipts of FIB that may verify: the seeds (a mutant that verifies is a forgery).
VALID = {FIB_RECEIPT, zkactors.prove(FIB, [40], profile="test").to_bytes()}


def _verdict(verify: object, data: bytes, program: Program) -> str | None:
    try:
        verify(data, program)  # type: ignore[operator]
    except VerificationError as exc:
        if exc.check not in CHECKS:
            raise AssertionError(f"unknown check name {exc.check!r}") from exc
        return exc.check
    return None


def _receipt(data: bytes) -> None:
    try:
        decoded = Receipt.from_bytes(data)
    except ReceiptFormatError:
        decoded = None
    if decoded is not None and decoded.to_bytes() != data:
        raise AssertionError("a receipt decoded from bytes it does not re-encode to")
    native = _verdict(zkactors.verify, data, FIB)
    ref = _verdict(reference.verify, data, FIB)
    if native != ref:
        raise AssertionError(f"verifiers disagree: native {native}, reference {ref}")
    if decoded is None and native != "format":
        raise AssertionError(f"undecodable receipt failed {native}, not format")
    if native is None and data not in VALID:
        raise AssertionError("a changed receipt verifies")


def _program(data: bytes) -> None:
    try:
        program: Program | None = Program.from_bytes(data)
    except ProgramFormatError:
        program = None
    try:
        native_executor.NativeProgram(data)
        native_accepts = True
    except ValueError:
        native_accepts = False
    if native_accepts != (program is not None):
        raise AssertionError(f"decoders disagree: Python {program is not None}, C {native_accepts}")
    if program is not None and program.to_bytes() != data:
        raise AssertionError("a program decoded from non-canonical bytes")
    verdict = native_verifier.verify(FIB_RECEIPT, data)
    if (verdict is None) != (data == FIB.to_bytes()):
        raise AssertionError(f"native verifier verdict {verdict} for program bytes {data!r}")


def _source(data: bytes) -> None:
    try:
        program = assemble(data.decode("utf-8", "replace"))
    except AssemblyError:
        return
    if assemble(str(program)) != program:
        raise AssertionError("disassembly does not reassemble to the same program")


def test_one_input(raw: bytes) -> None:
    if not raw:
        return
    mode, data = raw[0] % 3, raw[1:]
    if mode == RECEIPT:
        _receipt(data)
    elif mode == PROGRAM:
        _program(data)
    else:
        _source(data)


def _seed(corpus: str) -> None:
    if not os.path.isdir(corpus) or os.listdir(corpus):
        return
    seeds = [bytes([RECEIPT]) + receipt for receipt in sorted(VALID)]
    for name in programs.names():
        program = programs.load(name)
        seeds.append(bytes([PROGRAM]) + program.to_bytes())
        seeds.append(bytes([SOURCE]) + str(program).encode())
    for index, seed in enumerate(seeds):
        with open(os.path.join(corpus, f"seed-{index:03d}"), "wb") as out:
            out.write(seed)


def main() -> None:
    directories = [arg for arg in sys.argv[1:] if not arg.startswith("-")]
    if directories:
        _seed(directories[0])
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
