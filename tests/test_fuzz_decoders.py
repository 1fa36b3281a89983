"""Hostile input for every decoder zkactors exposes: receipts, program bytes, assembly text.

The promise under test (receipt.py, program.py, assembler.py, the README: "the
decoder is strict"): whatever the bytes or text,

- ``Receipt.from_bytes`` returns a receipt or raises ``ReceiptFormatError``;
- ``zkactors.verify`` and ``zkactors.zkvm.reference.verify`` return or raise
  ``VerificationError``, and name the *same* failed check;
- ``Program.from_bytes`` returns a program or raises ``ProgramFormatError``, and the native
  decoder (``ext/vm.c``) accepts exactly the same bytes;
- ``assemble`` returns a program or raises ``AssemblyError``;

never another exception and never a hang (each test carries a timeout). Inputs are random
bytes and text, and mutations of valid receipts, programs and sources: bit flips, byte
and word overwrites with boundary values, insertions, deletions, truncations, and, for
receipts, sections overwritten or spliced from another receipt.

The documented bounds (protocol.md 4 and 10) are checked exactly at and one past each
limit. The last section keeps regression tests for the bugs this file found.
"""

from __future__ import annotations

import functools
import itertools
import struct
import tracemalloc

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from oracle_prover import Section, layout, set_section

import zkactors
import zkactors._native.executor as native_executor
import zkactors._native.verifier as native_verifier
from zkactors import programs
from zkactors.errors import (
    AssemblyError,
    InputError,
    ProgramFormatError,
    ReceiptFormatError,
    VerificationError,
)
from zkactors.testing import program_sources
from zkactors.testing import programs as program_strategy
from zkactors.zkvm import reference
from zkactors.zkvm.assembler import assemble
from zkactors.zkvm.isa import MAX_INPUTS, MAX_INSTRUCTIONS, MAX_NAME, MAX_OUTPUTS, MAX_REGISTERS
from zkactors.zkvm.program import Program
from zkactors.zkvm.receipt import MAX_TRACE_WIDTH, Receipt
from zkactors.zkvm.verifier import CHECKS

P = 2**64 - 2**32 + 1

pytestmark = pytest.mark.timeout(120)

FUZZ = settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# ---------------------------------------------------------------- valid material


@functools.cache
def _valid_receipts() -> tuple[tuple[bytes, Program], ...]:
    """Receipts of every shape the format has: no FRI layer (T = 8), one and two layers
    (test profile), and the default profile (folding 8, grinding)."""
    fib, power = programs.load("fib"), programs.load("power")
    cases = [
        (fib, [2], "test"),
        (power, [3, 4], "test"),
        (fib, [40], "test"),
        (fib, [5], "default"),
    ]
    return tuple(
        (zkactors.prove(program, inputs, profile=profile).to_bytes(), program)
        for program, inputs, profile in cases
    )


@functools.cache
def _library_programs() -> tuple[Program, ...]:
    return tuple(programs.load(name) for name in programs.names())


def _verdicts(data: bytes, program: Program) -> tuple[str | None, str | None]:
    """(native, reference) check names; None means accepted. Any other exception fails."""
    verdicts: list[str | None] = []
    for verify in (zkactors.verify, reference.verify):
        try:
            verify(data, program, min_security_bits=0)
        except VerificationError as exc:
            assert exc.check in CHECKS, exc
            verdicts.append(exc.check)
        else:
            verdicts.append(None)
    return verdicts[0], verdicts[1]


def _check_receipt_bytes(data: bytes, program: Program, original: bytes | None = None) -> None:
    """The whole promise for one hostile receipt."""
    try:
        decoded: Receipt | None = Receipt.from_bytes(data)
    except ReceiptFormatError:
        decoded = None
    native, ref = _verdicts(data, program)
    assert native == ref, f"native says {native}, reference says {ref}"
    if decoded is None:
        assert native == "format"
    else:
        assert decoded.to_bytes() == data  # strict decoding: one encoding per receipt
        try:
            zkactors.verify(decoded, program, min_security_bits=0)
            from_object: str | None = None
        except VerificationError as exc:
            from_object = exc.check
        assert from_object == native
    if native is None:
        # Every byte of a receipt is bound by a commitment or the transcript: a changed
        # receipt that still verifies would be a forgery.
        assert original is None or data == original


# ---------------------------------------------------------------- mutations

_WORDS = (0, 1, 2, 0x7F, 0x80, 0xFF, 0xFFFF, 0x8000, 0xFFFFFFFF, P - 1, P, 2**64 - 1)


@st.composite
def _mutated(draw: st.DrawFn, data: bytes, sections: list[Section] | None = None) -> bytes:
    """``data`` after 1-4 random edits; with ``sections``, some edits target whole fields
    (a count set to a boundary value, an element made non-canonical)."""
    buf = bytearray(data)
    kinds = ["flip", "byte", "word", "delete", "insert", "truncate", "extend", "duplicate"]
    if sections:
        kinds += ["field", "field"]
    for _ in range(draw(st.integers(1, 4), label="edits")):
        kind = draw(st.sampled_from(kinds), label="edit")
        at = draw(st.integers(0, max(len(buf) - 1, 0)), label="at")
        if kind == "flip" and buf:
            buf[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "byte" and buf:
            buf[at] = draw(st.integers(0, 255))
        elif kind == "word":
            width = draw(st.sampled_from((1, 2, 4, 8)))
            value = draw(st.sampled_from(_WORDS)) % (1 << (8 * width))
            buf[at : at + width] = value.to_bytes(width, "little")
        elif kind == "delete":
            del buf[at : at + draw(st.integers(1, 64))]
        elif kind == "insert":
            buf[at:at] = draw(st.binary(min_size=1, max_size=64))
        elif kind == "truncate":
            del buf[at:]
        elif kind == "extend":
            buf += draw(st.binary(min_size=1, max_size=64))
        elif kind == "duplicate":
            buf[at:at] = buf[at : at + draw(st.integers(1, 256))]
        elif kind == "field" and sections:
            field = draw(st.sampled_from(sections))
            if field.kind == "count":
                value = draw(st.sampled_from(_WORDS)) % (1 << (8 * field.length))
                buf[field.offset : field.offset + field.length] = value.to_bytes(
                    field.length, "little"
                )
            elif field.length >= 8:
                slot = field.offset + 8 * draw(st.integers(0, field.length // 8 - 1))
                value = draw(st.sampled_from((P, P + 1, 2**64 - 1, P - 1, 0)))
                buf[slot : slot + 8] = value.to_bytes(8, "little")
    return bytes(buf)


# ---------------------------------------------------------------- receipts


@FUZZ
@given(st.binary(max_size=4096))
@example(b"")
@example(b"ZKRC")
def test_random_bytes_are_rejected_cleanly(data: bytes) -> None:
    for receipt, program in _valid_receipts()[:2]:
        del receipt
        _check_receipt_bytes(data, program)


@FUZZ
@given(st.integers(0, 3), st.data())
def test_random_bytes_after_a_valid_statement(case: int, data: st.DataObject) -> None:
    """A real header (so decoding gets past the statement) followed by random proof bytes."""
    receipt, program = _valid_receipts()[case]
    header = Receipt.from_bytes(receipt).header_size
    tail = data.draw(st.binary(max_size=3 * len(receipt) // 2), label="proof")
    _check_receipt_bytes(receipt[:header] + tail, program)


@FUZZ
@given(st.integers(0, 3), st.data())
def test_mutated_receipts_are_rejected_cleanly(case: int, data: st.DataObject) -> None:
    receipt, program = _valid_receipts()[case]
    mutated = data.draw(_mutated(receipt, layout(receipt)), label="mutated")
    _check_receipt_bytes(mutated, program, original=receipt)


@FUZZ
@given(st.integers(0, 3), st.integers(0, 3), st.data())
def test_sections_spliced_from_another_receipt(a: int, b: int, data: st.DataObject) -> None:
    """A field of one receipt replaced by the same field of another (different shapes:
    counts and lengths that disagree with the rest)."""
    (first, program), (second, _) = _valid_receipts()[a], _valid_receipts()[b]
    names = [s.name for s in layout(first) if s.name in {t.name for t in layout(second)}]
    name = data.draw(st.sampled_from(names), label="section")
    mine = next(s for s in layout(first) if s.name == name)
    theirs = next(s for s in layout(second) if s.name == name)
    spliced = (
        first[: mine.offset]
        + second[theirs.offset : theirs.offset + theirs.length]
        + first[mine.offset + mine.length :]
    )
    _check_receipt_bytes(spliced, program, original=first)


@settings(FUZZ, max_examples=10)
@given(zkactors.testing.receipts(), st.data())
def test_mutated_receipts_of_random_programs(case: tuple[Receipt, Program], data: object) -> None:
    receipt, program = case
    original = receipt.to_bytes()
    assert _verdicts(original, program) == (None, None)
    assert isinstance(data, st.DataObject)
    mutated = data.draw(_mutated(original, layout(original)), label="mutated")
    _check_receipt_bytes(mutated, program, original=original)


@FUZZ
@given(st.integers(0, 3), st.data())
def test_mutated_program_bytes_against_a_receipt(case: int, data: st.DataObject) -> None:
    """The native verifier also decodes the program's bytes itself: hostile program bytes
    beside a valid receipt give a verdict, never a crash."""
    receipt, program = _valid_receipts()[case]
    raw = data.draw(_mutated(program.to_bytes()), label="program bytes")
    verdict = native_verifier.verify(receipt, raw, 0.0)
    if raw == program.to_bytes():
        assert verdict is None
    else:
        assert verdict is not None and verdict[0] in CHECKS


# ---------------------------------------------------------------- program bytes


def _decode_program(data: bytes) -> Program | None:
    """Program.from_bytes, and the native decoder's agreement on the same bytes. The
    native decoder here is the register AIR's, which reads format 1 only: format-2
    programs (protocol.md 12) are refused by it."""
    try:
        program: Program | None = Program.from_bytes(data)
    except ProgramFormatError:
        program = None
    try:
        native_executor.NativeProgram(data)
        native_accepts = True
    except ValueError:
        native_accepts = False
    fits = program is not None and program.format == 1
    assert native_accepts == fits, "Python and C program decoders disagree"
    if program is not None:
        assert program.to_bytes() == data  # only the canonical encoding decodes
    return program


@FUZZ
@given(st.binary(max_size=3000))
@example(b"ZKVM\x01")
def test_random_program_bytes(data: bytes) -> None:
    _decode_program(data)
    _decode_program(b"ZKVM\x01" + data)


@FUZZ
@given(st.data())
def test_mutated_program_bytes(data: st.DataObject) -> None:
    base = data.draw(
        st.one_of(st.sampled_from(_library_programs()), program_strategy(may_fail=True)),
        label="program",
    )
    _decode_program(data.draw(_mutated(base.to_bytes()), label="mutated"))


# ---------------------------------------------------------------- assembly text

_ASM_ALPHABET = st.sampled_from(
    [*"abcxyz_019 \t\n,:;#.-", "0x", "set", "add", "jz", "jnz", "jmp", "inv", "halt"]
)
_TOKENS = st.sampled_from(
    [
        "set",
        "mov",
        "add",
        "sub",
        "mul",
        "addi",
        "subi",
        "muli",
        "inv",
        "assert_zero",
        "assert_eq",
        "jmp",
        "jz",
        "jnz",
        "halt",
        ".input",
        ".output",
        ".registers",
        "a",
        "b",
        "L1",
        "L1:",
        ",",
        ":",
        ";",
        "#",
        "0",
        "-1",
        "0x10",
        str(P),
        str(P - 1),
        f"-{P}",
        "0x" + "f" * 40,
        "9" * 200,
        "x" * (MAX_NAME + 1),
        "\n",
        "\t",
        "\x00",
        "é",
        "\u2028",
    ]
)


def _assemble(source: str) -> Program | None:
    try:
        program = assemble(source)
    except AssemblyError as exc:
        assert exc.line >= 1 and exc.column >= 0
        str(exc)  # the message renders (caret line included)
        return None
    assert assemble(str(program)) == program
    return program


@FUZZ
@given(st.text(max_size=400))
def test_random_text(source: str) -> None:
    _assemble(source)


@FUZZ
@given(st.lists(_TOKENS, max_size=60).map(" ".join))
def test_random_token_soup(source: str) -> None:
    _assemble(source)


@FUZZ
@given(st.lists(_ASM_ALPHABET, max_size=200).map("".join))
def test_random_assembly_like_characters(source: str) -> None:
    _assemble(source)


@FUZZ
@given(program_sources(max_cycles=60, may_fail=True), st.data())
def test_mutated_valid_sources(source: str, data: st.DataObject) -> None:
    lines = source.splitlines()
    for _ in range(data.draw(st.integers(1, 4), label="edits")):
        kind = data.draw(st.sampled_from(["delete", "duplicate", "swap", "token", "char"]))
        at = data.draw(st.integers(0, len(lines) - 1)) if lines else 0
        if not lines:
            lines = [data.draw(_TOKENS)]
        elif kind == "delete":
            del lines[at]
        elif kind == "duplicate":
            lines.insert(at, lines[at])
        elif kind == "swap":
            other = data.draw(st.integers(0, len(lines) - 1))
            lines[at], lines[other] = lines[other], lines[at]
        elif kind == "token":
            words = lines[at].split(" ")
            spot = data.draw(st.integers(0, len(words) - 1))
            words[spot] = data.draw(_TOKENS)
            lines[at] = " ".join(words)
        else:
            spot = data.draw(st.integers(0, len(lines[at])))
            char = data.draw(st.characters(codec="utf-8"))
            lines[at] = lines[at][:spot] + char + lines[at][spot:]
    _assemble("\n".join(lines))


# ---------------------------------------------------------------- documented bounds


def _program_bytes(
    n_registers: int,
    n_inputs: int,
    outputs: list[int],
    n_instructions: int,
    name_length: int = 1,
) -> bytes:
    """Canonical bytes (protocol.md 4) of ``set r0, 1`` x (n-1) then ``halt``, with
    ``n_registers`` registers, names padded with '_' to ``name_length`` characters."""
    names = [f"r{i}".ljust(name_length, "_") for i in range(n_registers)]
    parts = [
        struct.pack("<4sBBBBH", b"ZKVM", 1, n_registers, n_inputs, len(outputs), n_instructions)
    ]
    parts += [bytes([len(name)]) + name.encode() for name in names]
    parts.append(bytes(outputs))
    parts += [struct.pack("<BBBBHHQ", 1, 0, 0, 0, 0, 0, 1)] * (n_instructions - 1)
    parts.append(struct.pack("<BBBBHHQ", 15, 0, 0, 0, 0, 0, 0))
    return b"".join(parts)


@pytest.mark.parametrize(
    ("what", "at_limit", "past_limit"),
    [
        ("registers", (MAX_REGISTERS, 0, [], 2), (MAX_REGISTERS + 1, 0, [], 2)),
        ("inputs", (MAX_INPUTS, MAX_INPUTS, [], 2), (MAX_INPUTS + 1, MAX_INPUTS + 1, [], 2)),
        ("outputs", (1, 0, [0] * MAX_OUTPUTS, 2), (1, 0, [0] * (MAX_OUTPUTS + 1), 2)),
        ("instructions", (1, 0, [], MAX_INSTRUCTIONS), (1, 0, [], MAX_INSTRUCTIONS + 1)),
        ("name length", (1, 0, [], 2, MAX_NAME), (1, 0, [], 2, MAX_NAME + 1)),
    ],
)
def test_program_limits_hold_exactly(
    what: str, at_limit: tuple[int, ...], past_limit: tuple[int, ...]
) -> None:
    """protocol.md 4: 64 registers, 16 inputs, 16 outputs, 128 instructions, names of
    32 characters, in format-1 bytes (both decoders); in assembly text, a program past
    a count limit of format 1 is a format-2 program (protocol.md 12), and a name past
    32 characters is an error in both formats."""
    program = _decode_program(_program_bytes(*at_limit))  # type: ignore[arg-type]
    assert program is not None, what
    assert _decode_program(_program_bytes(*past_limit)) is None, what  # type: ignore[arg-type]
    assert assemble(str(program)) == program
    source = str(program)
    bigger = {
        "registers": source.replace(".registers ", ".registers extra, "),
        "inputs": source.replace(".input ", ".input extra, "),
        "outputs": source.replace(".output ", ".output r0, "),
        "instructions": source.replace("halt", "set r0, 1\nhalt"),
        "name length": source.replace("r0_", "r0__"),
    }[what]
    assert bigger != source
    if what == "name length":
        with pytest.raises(AssemblyError):
            assemble(bigger)
    else:
        assert assemble(bigger).format == 2


@pytest.mark.parametrize("case", range(4))
def test_receipt_counts_past_their_bounds_fail_format_everywhere(case: int) -> None:
    """protocol.md 10: every count one past its bound is a ``format`` rejection by the
    decoder and both verifiers (the bound is checked before anything is read)."""
    receipt, program = _valid_receipts()[case]
    sections = {s.name: s for s in layout(receipt)}
    decoded = Receipt.from_bytes(receipt)
    positions = int.from_bytes(receipt[sections["|P|"].offset :][:2], "little")
    bounds = {
        "n_inputs": MAX_INPUTS + 1,
        "n_outputs": MAX_OUTPUTS + 1,
        "w": MAX_TRACE_WIDTH + 1,
        "log2 T": 27,
        "L": 255,
        "d_L": 0xFFFF,
        "|P|": zkactors.profiles.get(decoded.profile).queries + 1,
    }
    edits = [(sections[name], value) for name, value in bounds.items()]
    edits += [(sections["w"], 0), (sections["log2 T"], 2), (sections["|P|"], 0)]
    for s in layout(receipt):
        if s.name.endswith(" k"):
            edits.append((s, positions + 1))  # k_l <= |P|
        elif s.name.endswith("multiproof count"):
            edits.append((s, 0xFFFFFF))  # <= k * log2(leaves), far less than this
    assert len(edits) > 10
    for field, value in edits:
        forged = set_section(receipt, field, value)
        with pytest.raises(ReceiptFormatError):
            Receipt.from_bytes(forged)
        assert _verdicts(forged, program) == ("format", "format"), field.name


def test_receipt_decoding_allocates_nothing_the_input_does_not_justify() -> None:
    """A receipt whose counts claim the maximum (and whose bytes stop right after) costs
    the decoder no more memory than a few times the input."""
    receipt, program = _valid_receipts()[3]
    header = Receipt.from_bytes(receipt).header_size
    for cut in (header, header + 100, len(receipt) // 2):
        tracemalloc.start()
        try:
            with pytest.raises(ReceiptFormatError):
                Receipt.from_bytes(receipt[:cut])
            _verdicts(receipt[:cut], program)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert peak < 64 * 1024 + 4 * cut


def test_input_counts_are_checked() -> None:
    fib = programs.load("fib")
    for wrong in ([], [1, 2], [0] * (MAX_INPUTS + 1)):
        with pytest.raises(InputError):
            zkactors.execute(fib, wrong)
        with pytest.raises(InputError):
            zkactors.prove(fib, wrong, profile="test")


# ---------------------------------------------------------------- bugs this file found


def test_a_huge_decimal_immediate_is_an_assembly_error() -> None:
    with pytest.raises(AssemblyError, match="out of range"):
        assemble("set a, " + "1" * 4301 + "\nhalt")


def test_input_count_is_checked_before_the_inputs_are_materialized() -> None:
    fib = programs.load("fib")
    tracemalloc.start()
    try:
        with pytest.raises(InputError, match="expected 1 input"):
            fib.check_inputs(itertools.repeat(1, 1_000_000))
        with pytest.raises(InputError, match="got 2 or more"):
            fib.check_inputs(itertools.repeat(1))  # endless: must not hang
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 100_000


def test_oversized_source_is_refused_before_parsing() -> None:
    from zkactors.zkvm.assembler import MAX_SOURCE_CHARS

    with pytest.raises(AssemblyError, match="the limit is") as info:
        assemble("halt\n" + ";" * MAX_SOURCE_CHARS)
    assert (info.value.line, info.value.column) == (1, 1)
