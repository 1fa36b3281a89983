"""SHA-256 against hashlib, on both kernels (SHA-NI where the CPU has it, and portable).

The lengths around 55/56 and 63/64/65 bytes are where padding spills into a second
block; 119/120 and 128 do the same one block later.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zkactors._native import primitives as prim

BOUNDARIES = [0, 1, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 129, 191, 192, 4096]


@pytest.fixture(params=["shani", "portable"], autouse=True)
def kernel(request: pytest.FixtureRequest) -> Iterator[str]:
    previous = prim.sha256_force_portable(request.param == "portable")
    if request.param == "shani" and not prim.sha256_has_shani():
        prim.sha256_force_portable(previous)
        pytest.skip("this CPU has no SHA extensions")
    yield str(request.param)
    prim.sha256_force_portable(previous)


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


@given(st.integers(1, 200), st.integers(0, 5), st.randoms(use_true_random=False))
def test_many_messages(length: int, count: int, rng: object) -> None:
    data = bytes(rng.getrandbits(8) for _ in range(length * count))  # type: ignore[attr-defined]
    digests = prim.sha256_many(data, length)
    expected = b"".join(
        hashlib.sha256(data[i * length : (i + 1) * length]).digest() for i in range(count)
    )
    assert digests == expected


def test_accepts_any_buffer() -> None:
    data = message(100)
    assert prim.sha256(bytearray(data)) == prim.sha256(memoryview(data)) == prim.sha256(data)


def test_kernel_switch(kernel: str) -> None:
    assert prim.sha256_has_shani() == (kernel == "shani")
    previous = prim.sha256_force_portable(True)
    assert previous == (kernel == "portable")
    assert not prim.sha256_has_shani()
    prim.sha256_force_portable(previous)


def test_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="prefix"):
        prim.sha256_prefixed(256, b"")
    with pytest.raises(TypeError):
        prim.sha256("text")
    with pytest.raises(ValueError, match="multiple"):
        prim.sha256_many(bytes(10), 3)
