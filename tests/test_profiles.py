"""The profile table of protocol.md 6 and the security figures the docs state."""

from __future__ import annotations

import math

import pytest

from zkactors import profiles
from zkactors.errors import ProfileError

P = 2**64 - 2**32 + 1


def test_table_matches_protocol() -> None:
    rows = {
        name: (p.id, p.blowup, p.queries, p.grinding_bits, p.folding_factor, p.max_remainder_size)
        for name, p in profiles.PROFILES.items()
    }
    assert rows == {
        "test": (0, 4, 8, 0, 4, 8),
        "default": (1, 8, 28, 16, 8, 32),
        "high": (2, 8, 38, 16, 8, 32),
    }
    assert profiles.get("test").insecure
    assert not profiles.get("default").insecure and not profiles.get("high").insecure


def test_lookup_by_name_and_id() -> None:
    for profile in profiles.PROFILES.values():
        assert profiles.get(profile.name) is profile
        assert profiles.by_id(profile.id) is profile


@pytest.mark.parametrize("bad", ["", "DEFAULT", "fast", None])
def test_unknown_name_lists_valid_ones(bad: object) -> None:
    with pytest.raises(ProfileError) as info:
        profiles.get(bad)  # type: ignore[arg-type]
    for name in ("test", "default", "high"):
        assert name in str(info.value)


@pytest.mark.parametrize("bad", [3, -1, 255])
def test_unknown_id(bad: int) -> None:
    with pytest.raises(ProfileError):
        profiles.by_id(bad)


def test_query_security_bits() -> None:
    assert profiles.get("test").query_security_bits == 8 * 2 + 0
    assert profiles.get("default").query_security_bits == 28 * 3 + 16 == 100
    assert profiles.get("high").query_security_bits == 38 * 3 + 16 == 130


#: The AIR's bound on the constraint count of any valid program (ext/air.h):
#: registers + 3 per instruction (succession, branch test, check) + row-0 selectors and
#: registers + the halt sum + the outputs.
MAX_CONSTRAINTS = 64 + 3 * 128 + 128 + 64 + 1 + 16


def test_every_profile_uses_the_cubic_extension() -> None:
    for profile in profiles.PROFILES.values():
        assert profile.extension_degree == 3
        assert profile.log2_extension_field == pytest.approx(3 * math.log2(P), abs=1e-12)
    assert 191.99 < profiles.get("high").log2_extension_field < 192


def test_field_security_bits_uses_exact_logs() -> None:
    high = profiles.get("high")
    t, constraints = 2**18, 40  # N = 2^21
    expected = math.log2(P**3) - math.log2(8 * t * constraints)
    assert high.field_security_bits(t, constraints) == pytest.approx(expected, abs=1e-9)
    # log2|K| is just below 192: the term is about 192 - 21 - log2(40), roughly 165 bits.
    assert 165 < high.field_security_bits(t, constraints) < 166


@pytest.mark.parametrize("log_t", [3, 10, 16, 20, 26])
def test_query_term_binds_at_every_size(log_t: int) -> None:
    # even the largest statement (T = 2^26 and the most constraints any program has)
    # leaves a field term above the query term: high really reaches 130 bits and
    # default 100, at every trace length
    for name, bits in (("default", 100), ("high", 130)):
        profile = profiles.get(name)
        assert profile.field_security_bits(2**log_t, MAX_CONSTRAINTS) > 150
        assert profile.conjectured_security_bits(2**log_t, MAX_CONSTRAINTS) == bits


def test_test_profile_is_insecure() -> None:
    assert profiles.get("test").conjectured_security_bits(64, 30) == 16


@pytest.mark.parametrize(
    ("name", "log_t", "shape"),
    [
        ("test", 3, (0, 8)),
        ("test", 4, (1, 4)),
        ("test", 5, (1, 8)),
        ("test", 6, (2, 4)),
        ("default", 5, (0, 32)),
        ("default", 6, (1, 8)),
        ("default", 10, (2, 16)),
        ("high", 26, (7, 32)),
    ],
)
def test_fri_shape(name: str, log_t: int, shape: tuple[int, int]) -> None:
    assert profiles.get(name).fri_shape(2**log_t) == shape


def test_bad_security_arguments() -> None:
    with pytest.raises(ValueError):
        profiles.get("default").field_security_bits(0, 3)


def test_air2_security_figure_follows_protocol_17():
    import math

    from zkactors import profiles

    for name in ("test", "default", "high"):
        prof = profiles.get(name)
        for log_t in (8, 12, 26):
            e_log_p = 3 * math.log2(float(2**64 - 2**32 + 1))
            expected = min(
                prof.queries * float(prof.log_blowup) + prof.grinding_bits,
                e_log_p - (float(prof.log_blowup + log_t) + math.log2(47.0)),
                e_log_p - (float(log_t) + math.log2(616.0)),
            )
            got = profiles.security_bits(name, 1 << log_t, 47, air=2)
            assert got == expected
    assert profiles.security_bits("default", 1 << 20, 47, air=2) == 100.0
    with pytest.raises(ValueError):
        profiles.security_bits("default", 1 << 20, 47, air=3)
