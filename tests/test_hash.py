"""SHA-256 against hashlib, on both kernels (SHA-NI where the CPU has it, and portable).

The lengths around 55/56 and 63/64/65 bytes are where padding spills into a second
block; 119/120 and 128 do the same one block later.
"""

from __future__ import annotations

import array
import hashlib
import random
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zkactors._native import primitives as prim

BOUNDARIES = [0, 1, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 129, 191, 192, 4096]


@pytest.fixture(params=["multibuffer", "shani", "portable"], autouse=True)
def kernel(request: pytest.FixtureRequest) -> Iterator[str]:
    """Each path in turn: AVX-512 16-lane (many-message calls) with SHA-NI for single
    messages, SHA-NI alone, and portable C."""
    previous_portable = prim.sha256_force_portable(request.param == "portable")
    previous_mb = prim.sha256_force_no_multibuffer(request.param != "multibuffer")
    try:
        if request.param == "multibuffer" and not prim.sha256_has_multibuffer():
            pytest.skip("this CPU has no AVX-512BW")
        if request.param == "shani" and not prim.sha256_has_shani():
            pytest.skip("this CPU has no SHA extensions")
        yield str(request.param)
    finally:
        prim.sha256_force_portable(previous_portable)
        prim.sha256_force_no_multibuffer(previous_mb)


def message(length: int) -> bytes:
    return bytes((7 * i + 3) % 256 for i in range(length))


@pytest.mark.parametrize("length", BOUNDARIES)
def test_boundaries(length: int) -> None:
    data = message(length)
    assert prim.sha256(data) == hashlib.sha256(data).digest()


@pytest.mark.parametrize("length", BOUNDARIES)
@pytest.mark.parametrize("prefix", [0, 1, 4, 255])
def test_prefixed_boundaries(length: int, prefix: int) -> None:
    data = message(length)
    assert prim.sha256_prefixed(prefix, data) == hashlib.sha256(bytes([prefix]) + data).digest()


@given(st.binary(max_size=700))
def test_random_messages(data: bytes) -> None:
    assert prim.sha256(data) == hashlib.sha256(data).digest()
    assert prim.sha256_prefixed(2, data) == hashlib.sha256(b"\x02" + data).digest()


@given(st.integers(1, 200), st.integers(0, 40), st.integers(0, 2**32))
def test_many_messages(length: int, count: int, seed: int) -> None:
    data = random.Random(seed).randbytes(length * count)
    digests = prim.sha256_many(data, length)
    expected = b"".join(
        hashlib.sha256(data[i * length : (i + 1) * length]).digest() for i in range(count)
    )
    assert digests == expected


def test_accepts_any_buffer() -> None:
    data = message(100)
    assert prim.sha256(bytearray(data)) == prim.sha256(memoryview(data)) == prim.sha256(data)


def test_kernel_switch(kernel: str) -> None:
    assert prim.sha256_has_shani() == (kernel != "portable")
    assert prim.sha256_has_multibuffer() == (kernel == "multibuffer")
    previous = prim.sha256_force_portable(True)
    assert previous == (kernel == "portable")
    assert not prim.sha256_has_shani() and not prim.sha256_has_multibuffer()
    prim.sha256_force_portable(previous)


@pytest.mark.parametrize("length", [1, 55, 56, 63, 64, 65, 127, 128, 129, 300])
def test_many_at_boundaries(length: int) -> None:
    """33 messages: two 16-lane groups and one left over."""
    data = message(33 * length)
    expected = b"".join(
        hashlib.sha256(data[i * length : (i + 1) * length]).digest() for i in range(33)
    )
    assert prim.sha256_many(data, length) == expected


@pytest.mark.parametrize("row_len", [1, 6, 7, 8, 15, 16, 17])
def test_prefixed_many_at_boundaries(row_len: int) -> None:
    """Merkle leaves, 0x00 || 8*row_len bytes: the prefix shifts every block by one byte."""
    n_rows = 33
    rows = array.array("Q", [(2**61 + 977 * i) for i in range(row_len * n_rows)])
    expected = b"".join(
        hashlib.sha256(b"\x00" + rows[i * row_len : (i + 1) * row_len].tobytes()).digest()
        for i in range(n_rows)
    )
    assert prim.hash_rows(rows, row_len) == expected


def test_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="prefix"):
        prim.sha256_prefixed(256, b"")
    with pytest.raises(TypeError):
        prim.sha256("text")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="multiple"):
        prim.sha256_many(bytes(10), 3)
