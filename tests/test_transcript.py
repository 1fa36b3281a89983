"""The native transcript (ext/transcript.c) against protocol.md 7 written with hashlib.

The model below is the specification transcribed; the native code must agree with it on
every absorb, squeeze and draw, because prover and verifiers derive every challenge from
these bytes.
"""

from __future__ import annotations

import hashlib
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zkactors import profiles
from zkactors._native import prover as native

P = 2**64 - 2**32 + 1


class ModelTranscript:
    """protocol.md 7, verbatim."""

    def __init__(self) -> None:
        self.state = bytes(32)
        self.counter = 0

    def absorb(self, data: bytes) -> None:
        self.state = hashlib.sha256(b"\x02" + self.state + data).digest()
        self.counter = 0

    def squeeze(self) -> bytes:
        out = hashlib.sha256(b"\x03" + self.state + struct.pack("<Q", self.counter)).digest()
        self.counter += 1
        return out

    def draw_base(self) -> int:
        while True:
            v = int.from_bytes(self.squeeze()[:8], "little")
            if v < P:
                return v

    def draw_ext(self) -> tuple[int, int, int]:
        c0 = self.draw_base()
        c1 = self.draw_base()
        return c0, c1, self.draw_base()

    def draw_index(self, n: int) -> int:
        return int.from_bytes(self.squeeze()[:8], "little") % n


def statement_bytes(
    profile: profiles.Profile,
    program_hash: bytes,
    inputs: list[int],
    outputs: list[int],
    log_t: int,
) -> bytes:
    return (
        b"zkactors-stark"
        + struct.pack("<H", 2)  # protocol version 2: challenges in the cubic extension
        + struct.pack(
            "<BBHBBH",
            profile.id,
            profile.log_blowup,
            profile.queries,
            profile.grinding_bits,
            profile.log_folding_factor,
            profile.max_remainder_size,
        )
        + program_hash
        + struct.pack(f"<H{len(inputs)}Q", len(inputs), *inputs)
        + struct.pack(f"<H{len(outputs)}Q", len(outputs), *outputs)
        + bytes([log_t])
    )


ops = st.lists(
    st.one_of(
        st.tuples(st.just("absorb"), st.binary(max_size=200)),
        st.tuples(st.just("squeeze"), st.none()),
        st.tuples(st.just("draw_base"), st.none()),
        st.tuples(st.just("draw_ext"), st.none()),
        st.tuples(st.just("draw_index"), st.integers(0, 30).map(lambda k: 1 << k)),
    ),
    max_size=25,
)


@given(ops)
def test_every_operation_matches_the_specification(sequence: list[tuple[str, object]]) -> None:
    t, model = native.Transcript(), ModelTranscript()
    for name, arg in sequence:
        if name == "absorb":
            assert isinstance(arg, bytes)
            t.absorb(arg)
            model.absorb(arg)
        elif name == "draw_index":
            assert t.draw_index(arg) == model.draw_index(arg)
        else:
            assert getattr(t, name)() == getattr(model, name)()
        assert t.state == model.state
        assert t.counter == model.counter


def test_start_state_is_zero() -> None:
    t = native.Transcript()
    assert t.state == bytes(32)
    assert t.counter == 0


def test_squeeze_counter_resets_on_absorb() -> None:
    t = native.Transcript()
    first = t.squeeze()
    second = t.squeeze()
    assert first != second
    t.absorb(b"")
    assert t.counter == 0
    assert t.squeeze() == hashlib.sha256(b"\x03" + t.state + bytes(8)).digest()


def test_draw_index_rejects_non_powers_of_two() -> None:
    with pytest.raises(ValueError):
        native.Transcript().draw_index(12)


@given(
    st.sampled_from(list(profiles.PROFILES.values())),
    st.binary(min_size=32, max_size=32),
    st.lists(st.integers(0, P - 1), max_size=16),
    st.lists(st.integers(0, P - 1), max_size=16),
    st.integers(3, 26),
)
def test_statement_absorb_is_one_absorb_of_the_statement_bytes(
    profile: profiles.Profile,
    program_hash: bytes,
    inputs: list[int],
    outputs: list[int],
    log_t: int,
) -> None:
    from array import array

    t, model = native.Transcript(), ModelTranscript()
    t.absorb_statement(profile.id, program_hash, array("Q", inputs), array("Q", outputs), log_t)
    model.absorb(statement_bytes(profile, program_hash, inputs, outputs, log_t))
    assert t.state == model.state


@pytest.mark.parametrize("bits", [0, 1, 4, 10])
def test_grinding_finds_the_smallest_nonce(bits: int) -> None:
    t = native.Transcript()
    t.absorb(b"grind me %d" % bits)
    nonce = t.grind(bits)

    def passes(n: int) -> bool:
        h = hashlib.sha256(b"\x04" + t.state + struct.pack("<Q", n)).digest()
        return int.from_bytes(h[:8], "little") % (1 << bits) == 0

    assert passes(nonce)
    assert not any(passes(n) for n in range(nonce))
    assert t.check_pow(nonce, bits)
    if bits:
        assert not t.check_pow(nonce + 1, bits) or passes(nonce + 1)


def test_c_profile_table_matches_python() -> None:
    for profile in profiles.PROFILES.values():
        assert native.profile_row(profile.id) == (
            profile.log_blowup,
            profile.queries,
            profile.grinding_bits,
            profile.log_folding_factor,
            profile.max_remainder_size,
        )
        for log_t in range(3, 27):
            assert native.fri_shape(profile.id, log_t) == profile.fri_shape(1 << log_t)
    with pytest.raises(ValueError):
        native.profile_row(3)
