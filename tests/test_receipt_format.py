"""The receipt codec (protocol.md 10): exact round trips, and strictness.

Receipts come from outside, so ``Receipt.from_bytes`` must turn every malformed input into
a ``ReceiptFormatError``, never another exception, a hang or a large allocation. The
valid receipts here come from the test-only oracle prover.
"""

from __future__ import annotations

import contextlib
import functools
import struct
import tracemalloc

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from oracle_prover import P, layout, prove, section, set_section

from zkactors import programs
from zkactors.errors import ReceiptFormatError
from zkactors.zkvm.assembler import assemble
from zkactors.zkvm.receipt import MAX_TRACE_WIDTH, Receipt

# T = 8 (L = 0), 16 (L = 1) and 64 (L = 2) with the test profile; T = 64 default (L = 1).
CASES = {
    "inverse_check/test": ("inverse_check", (5,), "test"),
    "power/test": ("power", (3, 4), "test"),
    "fib/test": ("fib", (5,), "test"),
    "fib/default": ("fib", (5,), "default"),
}


@pytest.fixture(scope="module")
def receipts() -> dict[str, bytes]:
    return {
        key: prove(programs.load(name), inputs, profile=profile)
        for key, (name, inputs, profile) in CASES.items()
    }


@pytest.fixture(scope="module")
def fib_bytes(receipts: dict[str, bytes]) -> bytes:
    return receipts["fib/test"]


def _set(data: bytes, offset: int, value: bytes) -> bytes:
    return data[:offset] + value + data[offset + len(value) :]


def _set_count(data: bytes, name: str, value: int) -> bytes:
    return set_section(data, section(data, name), value)


def _rejected(data: bytes | bytearray | memoryview) -> ReceiptFormatError:
    with pytest.raises(ReceiptFormatError) as info:
        Receipt.from_bytes(data)
    return info.value


# ------------------------------------------------------------------ round trips


@pytest.mark.parametrize("key", list(CASES))
def test_round_trip(receipts: dict[str, bytes], key: str) -> None:
    data = receipts[key]
    receipt = Receipt.from_bytes(data)
    assert receipt.to_bytes() == data
    assert receipt.size == len(data)
    assert Receipt.from_bytes(bytearray(data)) == receipt
    assert Receipt.from_bytes(memoryview(data)) == receipt
    name, inputs, profile = CASES[key]
    program = programs.load(name)
    assert receipt.program_hash == program.hash
    assert receipt.inputs == inputs
    assert receipt.profile == profile
    assert receipt.trace_width == program.trace_width
    assert receipt.header_size + len(receipt.proof) == len(data)
    assert data.endswith(receipt.proof)


def test_receipt_does_not_claim_a_cycle_count(fib_bytes: bytes) -> None:
    receipt = Receipt.from_bytes(fib_bytes)
    assert not hasattr(receipt, "cycles")
    assert "bytes>" in repr(receipt)  # the proof is summarized, not dumped


def test_constructor_validates_the_statement(fib_bytes: bytes) -> None:
    receipt = Receipt.from_bytes(fib_bytes)
    bad = [
        {"program_hash": "AB" * 32},
        {"program_hash": "ab" * 31},
        {"inputs": (P,)},
        {"inputs": (True,)},
        {"outputs": tuple(range(17))},
        {"trace_length": 12},
        {"trace_length": 4},
        {"trace_length": 2**27},
        {"profile": "fast"},
        {"trace_width": 0},
        {"trace_width": MAX_TRACE_WIDTH + 1},
        {"proof": bytearray(b"x")},
        {"inputs": 5},
    ]
    for changes in bad:
        with pytest.raises(ReceiptFormatError):
            attrs.evolve(receipt, **changes)


def test_receipt_is_hashable_and_compares_by_value(fib_bytes: bytes) -> None:
    a, b = Receipt.from_bytes(fib_bytes), Receipt.from_bytes(bytes(fib_bytes))
    assert a == b and hash(a) == hash(b)
    assert a != attrs.evolve(a, outputs=(1,))


# ------------------------------------------------------------------ strictness


def test_not_bytes() -> None:
    for value in ("ZKRC", 5, None, [1, 2]):
        with pytest.raises(ReceiptFormatError):
            Receipt.from_bytes(value)  # type: ignore[arg-type]


def test_header_fields(fib_bytes: bytes) -> None:
    assert "magic" in str(_rejected(_set(fib_bytes, 0, b"ZKRX")))
    assert "version" in str(_rejected(_set_count(fib_bytes, "version", 3)))
    assert "earlier version" in str(_rejected(_set_count(fib_bytes, "version", 1)))
    assert "profile" in str(_rejected(_set_count(fib_bytes, "profile id", 3)))
    assert "inputs" in str(_rejected(_set_count(fib_bytes, "n_inputs", 17)))
    assert "outputs" in str(_rejected(_set_count(fib_bytes, "n_outputs", 17)))
    for log_t in (0, 2, 27, 255):
        _rejected(_set_count(fib_bytes, "log2 T", log_t))
    for width in (0, MAX_TRACE_WIDTH + 1, 0xFFFF):
        _rejected(_set_count(fib_bytes, "w", width))


@pytest.mark.parametrize("key", list(CASES))
def test_every_count_out_of_its_bound(receipts: dict[str, bytes], key: str) -> None:
    data = receipts[key]
    receipt = Receipt.from_bytes(data)
    n_positions = int.from_bytes(data[section(data, "|P|").offset :][:2], "little")
    queries = {"test": 8, "default": 28}[receipt.profile]
    bad = {"|P|": [0, queries + 1, 0xFFFF], "L": [0, 1, 2, 3, 255], "d_L": [0, 1, 0xFFFF]}
    for s in layout(data):
        if s.name.endswith("multiproof count"):
            bad[s.name] = [0xFFFFFFFF, 2**31]
        if s.name.endswith(" k"):
            bad[s.name] = [0, n_positions + 1, 0xFFFF]
    for name, values in bad.items():
        current = int.from_bytes(
            data[section(data, name).offset :][: section(data, name).length], "little"
        )
        for value in values:
            if value != current:
                _rejected(_set_count(data, name, value))


@pytest.mark.parametrize("key", list(CASES))
def test_non_canonical_elements(receipts: dict[str, bytes], key: str) -> None:
    data = receipts[key]
    for s in layout(data):
        if s.kind in ("base", "ext") and s.length:
            for offset in (s.offset, s.offset + s.length - 8):
                for value in (P, 2**64 - 1):
                    error = _rejected(_set(data, offset, value.to_bytes(8, "little")))
                    assert "canonical" in str(error)


@pytest.mark.parametrize("key", list(CASES))
def test_truncated_and_extended(receipts: dict[str, bytes], key: str) -> None:
    data = receipts[key]
    cuts = {s.offset for s in layout(data)} | {s.offset + s.length // 2 for s in layout(data)}
    for cut in sorted(cuts | set(range(0, len(data), 97))):
        if cut < len(data):
            assert "truncated" in str(_rejected(data[:cut]))
    assert "trailing" in str(_rejected(data + b"\x00"))
    assert "trailing" in str(_rejected(data + data))


def test_multiproof_count_within_bound_but_beyond_the_data(fib_bytes: bytes) -> None:
    s = section(fib_bytes, "trace multiproof count")
    count = int.from_bytes(fib_bytes[s.offset : s.offset + 4], "little")
    _rejected(_set_count(fib_bytes, "trace multiproof count", count + 1))
    _rejected(_set_count(fib_bytes, "trace multiproof count", count - 1))


def test_decoding_allocates_only_what_the_input_justifies(fib_bytes: bytes) -> None:
    # Small inputs whose counts claim huge sections must fail before any big allocation.
    head = fib_bytes[: section(fib_bytes, "trace multiproof count").offset]
    claims = [
        head + struct.pack("<I", 0xFFFFFFFF),
        head + struct.pack("<I", 100),
        fib_bytes[: section(fib_bytes, "|P|").offset] + struct.pack("<H", 0xFFFF),
        fib_bytes[: section(fib_bytes, "d_L").offset] + struct.pack("<H", 0xFFFF),
    ]
    tracemalloc.start()
    try:
        for data in claims:
            tracemalloc.reset_peak()
            _rejected(data)
            _, peak = tracemalloc.get_traced_memory()
            assert peak < 4 * len(data) + 64 * 1024
    finally:
        tracemalloc.stop()


@settings(max_examples=200)
@given(st.binary(max_size=600))
def test_random_bytes_raise_only_receipt_format_error(data: bytes) -> None:
    with contextlib.suppress(ReceiptFormatError):
        Receipt.from_bytes(data)


@settings(max_examples=200)
@given(st.binary(max_size=200))
def test_random_bytes_after_a_valid_header(data: bytes) -> None:
    header = bytes.fromhex("5a4b5243010000") + bytes(32) + b"\x00\x00\x00\x00\x03\x05\x00"
    with contextlib.suppress(ReceiptFormatError):
        Receipt.from_bytes(header + data)


@st.composite
def mutations(draw: st.DrawFn, data: bytes) -> bytes:
    mutated = bytearray(data)
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "set", "insert", "delete", "truncate"]))
        position = draw(st.integers(0, max(len(mutated) - 1, 0)))
        if kind == "flip" and mutated:
            mutated[position] ^= 1 << draw(st.integers(0, 7))
        elif kind == "set" and mutated:
            mutated[position] = draw(st.integers(0, 255))
        elif kind == "insert":
            mutated[position:position] = draw(st.binary(min_size=1, max_size=40))
        elif kind == "delete":
            del mutated[position : position + draw(st.integers(1, 40))]
        else:
            del mutated[position:]
    return bytes(mutated)


@functools.cache
def _small_receipt() -> bytes:
    program = assemble(".input n\n.output n\n  jz n, end\n  subi n, n, 1\nend: halt\n")
    return prove(program, [1])


@settings(max_examples=300)
@given(st.deferred(lambda: mutations(_small_receipt())))
def test_mutated_receipts_raise_only_receipt_format_error(data: bytes) -> None:
    try:
        receipt = Receipt.from_bytes(data)
    except ReceiptFormatError:
        return
    assert receipt.to_bytes() == data  # whatever decodes re-encodes to the same bytes


def test_input_larger_than_any_receipt_is_refused_before_it_is_read() -> None:
    from zkactors.zkvm.receipt import MAX_RECEIPT_BYTES

    with pytest.raises(ReceiptFormatError, match="larger than any v2 receipt"):
        Receipt.from_bytes(b"ZKRC" + bytes(MAX_RECEIPT_BYTES))


def _largest_receipt_bytes(profile_name: str, log_t: int, width: int) -> int:
    """The longest receipt the decoder accepts for a statement (protocol.md 10): 16 inputs
    and outputs, q distinct positions, every FRI layer opening q leaves and every
    multiproof count at its bound k * log2(leaves); K elements are 24 bytes."""
    from zkactors import profiles

    profile = profiles.get(profile_name)
    ext, q, f = 24, profile.queries, profile.folding_factor
    layers, remainder = profile.fri_shape(1 << log_t)
    log_n = log_t + profile.log_blowup
    size = 4 + 2 + 1 + 32 + 2 + 8 * 16 + 2 + 8 * 16 + 1 + 2
    size += 2 * 32 + (2 * width + 2) * ext + 1 + 32 * layers + 2 + ext * remainder + 8 + 2
    size += q * width * 8 + 4 + 32 * q * log_n
    size += q * 2 * ext + 4 + 32 * q * log_n
    log_leaves = log_n
    for _ in range(layers):
        log_leaves -= profile.log_folding_factor
        size += 2 + q * f * ext + 4 + 32 * q * log_leaves
    return size


def test_the_largest_statement_fits_under_the_receipt_cap() -> None:
    from zkactors.zkvm.receipt import MAX_LOG_TRACE_LENGTH, MAX_RECEIPT_BYTES

    largest = max(
        _largest_receipt_bytes(name, log_t, MAX_TRACE_WIDTH)
        for name in ("test", "default", "high")
        for log_t in range(3, MAX_LOG_TRACE_LENGTH + 1)
    )
    # the figure stated in protocol.md 10 and receipt.py: high, T = 2^26, w = 320
    assert largest == _largest_receipt_bytes("high", 26, MAX_TRACE_WIDTH) == 382_237
    assert largest < MAX_RECEIPT_BYTES
