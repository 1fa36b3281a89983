"""Goldilocks arithmetic, native and Python, against Python big-int oracles.

The oracles are the definitions: integers mod p, and polynomials of degree < 3 multiplied
as big-int polynomials and then reduced modulo X³ − 7.
Edge values (0, 1, p − 1, around 2^32 and 2^63) are drawn often, because the branchless
reduction is where a carry could be mishandled.
"""

from __future__ import annotations

import array

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zkactors import field
from zkactors._native import field as native

P = 2**64 - 2**32 + 1
EDGES = [0, 1, 2, P - 1, P - 2, 2**32 - 1, 2**32, 2**32 + 1, 2**63 - 1, 2**63, 2**64 - 2**33]

elements = st.one_of(
    st.sampled_from(EDGES),
    st.integers(0, P - 1),
    st.integers(P - 2**33, P - 1),
    st.integers(0, 2**33),
)
ext_elements = st.tuples(elements, elements, elements)
Ext = tuple[int, int, int]
ZERO: Ext = (0, 0, 0)
ONE: Ext = (1, 0, 0)


def ext_mul_oracle(a: Ext, b: Ext) -> Ext:
    """The product as big-int polynomials, then long division by X³ − 7 from the top."""
    prod = [0] * 5
    for i in range(3):
        for j in range(3):
            prod[i + j] += a[i] * b[j]
    for k in (4, 3):  # X^k = 7 X^(k-3)
        prod[k - 3] += 7 * prod[k]
        prod[k] = 0
    return prod[0] % P, prod[1] % P, prod[2] % P


def ext_pow_oracle(a: Ext, e: int) -> Ext:
    result, base = ONE, a
    while e:
        if e & 1:
            result = ext_mul_oracle(result, base)
        base = ext_mul_oracle(base, base)
        e >>= 1
    return result


def test_constants_match_the_protocol() -> None:
    assert native.P == field.P == P
    assert native.W == field.W == 7
    assert native.GENERATOR == field.GENERATOR == 7
    assert native.TWO_ADICITY == field.TWO_ADICITY == 32
    assert (P - 1) % 2**32 == 0 and ((P - 1) >> 32) % 2 == 1


def test_x3_minus_7_is_irreducible() -> None:
    # A cubic is irreducible over F iff it has no root in F. 3 | p - 1, so the cubes form
    # the subgroup of index 3 of F*, and 7 is a cube iff 7^((p-1)/3) = 1.
    assert (P - 1) % 3 == 0
    gamma = pow(7, (P - 1) // 3, P)
    assert gamma != 1
    # gamma is a primitive cube root of unity, the Frobenius constant X^p = gamma X
    assert gamma == field.GAMMA == native.GAMMA == P - 2**32
    assert pow(gamma, 3, P) == 1 and (1 + gamma + gamma * gamma) % P == 0
    assert native.EXT_DEGREE == field.EXTENSION_DEGREE == 3
    # no cube root of 7 exists: x -> x^3 is 3-to-1 on F*, and an element is a cube
    # exactly when its ((p-1)/3)-th power is 1; check the criterion on known cubes too
    for x in (2, 3, 5, 2**32 + 7, P - 2):
        assert pow(pow(x, 3, P), (P - 1) // 3, P) == 1


def test_generator_generates_the_multiplicative_group() -> None:
    # p - 1 = 2^32 * 3 * 5 * 17 * 257 * 65537
    factors = [2, 3, 5, 17, 257, 65537]
    product = 2**32 * 3 * 5 * 17 * 257 * 65537
    assert product == P - 1
    assert all(pow(7, (P - 1) // q, P) != 1 for q in factors)


@pytest.mark.parametrize("log_n", [0, 1, 2, 5, 16, 31, 32])
def test_roots_of_unity_are_primitive(log_n: int) -> None:
    w = native.root_of_unity(log_n)
    assert w == field.root_of_unity(log_n)
    assert pow(w, 2**log_n, P) == 1
    if log_n:
        assert pow(w, 2 ** (log_n - 1), P) == P - 1


@given(elements, elements)
def test_base_ops_match_big_ints(a: int, b: int) -> None:
    assert native.add(a, b) == (a + b) % P
    assert native.sub(a, b) == (a - b) % P
    assert native.mul(a, b) == a * b % P
    assert native.neg(a) == -a % P


@given(elements, st.integers(0, 2**64 - 1))
def test_pow_matches_big_ints(a: int, e: int) -> None:
    assert native.pow(a, e) == pow(a, e, P)


@given(elements, elements, elements)
def test_field_laws(a: int, b: int, c: int) -> None:
    add, mul = native.add, native.mul
    assert add(a, b) == add(b, a) and mul(a, b) == mul(b, a)
    assert add(add(a, b), c) == add(a, add(b, c))
    assert mul(mul(a, b), c) == mul(a, mul(b, c))
    assert mul(a, add(b, c)) == add(mul(a, b), mul(a, c))
    assert native.sub(add(a, b), b) == a


@given(elements)
def test_inverse(a: int) -> None:
    if a == 0:
        with pytest.raises(ZeroDivisionError):
            native.inv(0)
        with pytest.raises(ZeroDivisionError):
            field.inv(0)
        return
    assert native.inv(a) == field.inv(a) == pow(a, P - 2, P)
    assert native.mul(a, native.inv(a)) == 1


@given(ext_elements, ext_elements)
def test_ext_ops_match_oracle(a: Ext, b: Ext) -> None:
    add = tuple((x + y) % P for x, y in zip(a, b, strict=True))
    sub = tuple((x - y) % P for x, y in zip(a, b, strict=True))
    assert native.ext_add(a, b) == add == field.ext_add(a, b)
    assert native.ext_sub(a, b) == sub == field.ext_sub(a, b)
    assert native.ext_mul(a, b) == ext_mul_oracle(a, b) == field.ext_mul(a, b)
    assert native.ext_neg(a) == tuple(-x % P for x in a)


@given(ext_elements, ext_elements, ext_elements)
def test_ext_field_axioms(a: Ext, b: Ext, c: Ext) -> None:
    add, mul = native.ext_add, native.ext_mul
    assert mul(a, b) == mul(b, a)
    assert mul(mul(a, b), c) == mul(a, mul(b, c))
    assert mul(a, add(b, c)) == add(mul(a, b), mul(a, c))
    assert mul(a, ONE) == a and add(a, ZERO) == a
    assert add(a, native.ext_neg(a)) == ZERO


@given(ext_elements, st.integers(0, 2**64 - 1))
def test_ext_pow_matches_square_and_multiply(a: Ext, e: int) -> None:
    assert native.ext_pow(a, e) == ext_pow_oracle(a, e)


@given(ext_elements)
def test_frobenius_is_the_p_th_power(a: Ext) -> None:
    # X^p = gamma X: the p-th power only scales the coordinates, and three of them
    # come back to a (the Galois group of K over F has order 3)
    gamma = field.GAMMA
    frob = (a[0], a[1] * gamma % P, a[2] * gamma * gamma % P)
    assert native.ext_pow(a, P) == frob == field.ext_frobenius(a)
    assert native.ext_pow(native.ext_pow(frob, P), P) == a


@given(ext_elements)
def test_ext_inverse(a: Ext) -> None:
    if a == ZERO:
        with pytest.raises(ZeroDivisionError):
            native.ext_inv(a)
        with pytest.raises(ZeroDivisionError):
            field.ext_inv(a)
        return
    inverse = native.ext_inv(a)
    assert inverse == field.ext_inv(a)
    assert ext_mul_oracle(a, inverse) == ONE
    # Lagrange: the multiplicative group of K has order p^3 - 1
    assert inverse == ext_pow_oracle(a, P**3 - 2)


@pytest.mark.parametrize(
    "a",
    [
        (P - 1, P - 1, P - 1),
        (0, P - 1, P - 1),
        (P - 1, 0, P - 1),
        (2**63, 2**63 + 1, P - 2),
        (0, 0, 1),
        (0, 1, 0),
    ],
)
def test_ext_extremes_do_not_overflow(a: Ext) -> None:
    # the lazy 128-bit sums (W times a sum of two products near p^2) are largest here
    assert native.ext_mul(a, a) == ext_mul_oracle(a, a)
    assert native.ext_mul(a, (P - 1, P - 1, P - 1)) == ext_mul_oracle(a, (P - 1, P - 1, P - 1))
    assert ext_mul_oracle(a, native.ext_inv(a)) == ONE


@pytest.mark.parametrize("bad", [P, P + 1, 2**64 - 1])
def test_native_rejects_non_canonical(bad: int) -> None:
    with pytest.raises(ValueError, match="canonical"):
        native.add(bad, 0)
    with pytest.raises(ValueError, match="canonical"):
        native.mul(1, bad)
    with pytest.raises(ValueError, match="canonical"):
        native.ext_mul((0, 0, bad), ONE)


def test_native_rejects_wrong_types() -> None:
    with pytest.raises(TypeError):
        native.add(1.0, 2)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        native.ext_add((1, 2), ZERO)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        native.add(-1, 0)


@given(st.integers(P, 2**64 - 1))
def test_decode_rejects_non_canonical(value: int) -> None:
    with pytest.raises(field.NonCanonicalElement):
        field.decode(value.to_bytes(8, "little"))
    with pytest.raises(field.NonCanonicalElement):
        field.decode_ext(bytes(16) + value.to_bytes(8, "little"))
    with pytest.raises(field.NonCanonicalElement):
        field.encode(value)


@given(ext_elements)
def test_encodings_round_trip(a: Ext) -> None:
    assert field.decode(field.encode(a[0])) == a[0]
    assert field.encode(a[0]) == a[0].to_bytes(8, "little")
    assert field.encode_ext(a) == b"".join(c.to_bytes(8, "little") for c in a)
    assert field.decode_ext(field.encode_ext(a)) == a


def test_decode_rejects_wrong_lengths() -> None:
    with pytest.raises(field.NonCanonicalElement):
        field.decode(bytes(7))
    with pytest.raises(field.NonCanonicalElement):
        field.decode_ext(bytes(16))


@given(st.lists(elements, max_size=50), st.lists(elements, max_size=50))
def test_mul_into_matches_big_ints(xs: list[int], ys: list[int]) -> None:
    n = min(len(xs), len(ys))
    a, b = array.array("Q", xs[:n]), array.array("Q", ys[:n])
    out = array.array("Q", bytes(8 * n))
    native.mul_into(a, b, out)
    assert list(out) == [x * y % P for x, y in zip(xs[:n], ys[:n], strict=True)]


@given(elements, st.integers(0, 100))
def test_powers_into_matches_big_ints(base: int, n: int) -> None:
    out = array.array("Q", bytes(8 * n))
    native.powers_into(base, out)
    assert list(out) == [pow(base, i, P) for i in range(n)]


def test_mul_into_rejects_non_canonical() -> None:
    out = array.array("Q", bytes(16))
    with pytest.raises(ValueError, match="canonical"):
        native.mul_into(array.array("Q", [1, P]), array.array("Q", [1, 1]), out)


EXT_EDGES = [
    (0, 0, 0),
    (1, 0, 0),
    (P - 1, P - 1, P - 1),
    (0, P - 1, P - 1),
    (P - 1, 0, P - 1),
    (2**63, 2**63 + 1, P - 2),
    (2**64 - 2**32, 2**63, 1),
    (0, 0, 1),
    (0, 1, 0),
]


def _ext_mul_acc_matches_e_mul(a: Ext, b: Ext, c: Ext, d: Ext) -> None:
    ab, cd = ext_mul_oracle(a, b), ext_mul_oracle(c, d)
    expected = tuple((x + y) % P for x, y in zip(ab, cd, strict=True))
    assert native.ext_mul_acc(a, b, c, d) == expected
    assert native.ext_add(native.ext_mul(a, b), native.ext_mul(c, d)) == expected
    assert native.ext_mul_acc(a, b, ZERO, d) == native.ext_mul(a, b)


@given(ext_elements, ext_elements, ext_elements, ext_elements)
def test_ext_mul_acc_matches_e_mul(a: Ext, b: Ext, c: Ext, d: Ext) -> None:
    # e_mul_acc: unreduced K products (one reduction per coordinate), e_mul's core
    _ext_mul_acc_matches_e_mul(a, b, c, d)


@pytest.mark.parametrize("a", EXT_EDGES)
@pytest.mark.parametrize("b", EXT_EDGES)
def test_ext_mul_acc_edges(a: Ext, b: Ext) -> None:
    # two sums near their largest (every product near p^2, W times) in one accumulator
    _ext_mul_acc_matches_e_mul(a, b, a, b)
    _ext_mul_acc_matches_e_mul(a, b, b, (P - 1, P - 1, P - 1))
