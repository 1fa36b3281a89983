"""The Goldilocks field F_p and its cubic extension K, at the Python level.

The constants of protocol.md section 1 and small pure helpers: the canonical byte
encodings (decoders reject values ≥ p, because two encodings of one element would give
two transcripts for one proof), roots of unity, and extension arithmetic for code that
handles a few elements at a time. Bulk arithmetic belongs to the native core
(``zkactors._native.field`` and ``zkactors._native.primitives``).

An extension element c0 + c1·X + c2·X² of K = F[X]/(X³ − W) is the tuple
``(c0, c1, c2)``.
"""

from __future__ import annotations

from zkactors.errors import NonCanonicalElement

P = 2**64 - 2**32 + 1
"""The Goldilocks prime p = 2^64 − 2^32 + 1."""
W = 7
"""K = F[X]/(X³ − W). 3 divides p − 1, so X³ − W is irreducible exactly when W is not a
cube in F, i.e. W^((p−1)/3) ≠ 1; for W = 7 that power is :data:`GAMMA`."""
EXTENSION_DEGREE = 3
"""[K : F]: an element of K has three coordinates, 24 bytes encoded."""
GAMMA = P - 2**32
"""7^((p−1)/3) = −2^32 mod p, a primitive cube root of unity: the Frobenius map of K
sends X to GAMMA·X."""
GENERATOR = 7
"""A generator of the multiplicative group F_p^*."""
TWO_ADICITY = 32
"""2^32 divides p − 1, so F_p has subgroups of every size 2^k, k ≤ 32."""

Ext = tuple[int, int, int]


def is_canonical(value: int) -> bool:
    return 0 <= value < P


def check_canonical(value: int, what: str = "value") -> int:
    """``value`` itself if it is an int in [0, p); NonCanonicalElement otherwise."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise NonCanonicalElement(f"{what} must be an int, not {type(value).__name__}")
    if not 0 <= value < P:
        raise NonCanonicalElement(
            f"{what} = {value} is not a field element: it must be in [0, p), "
            f"p = 2^64 - 2^32 + 1; reduce it mod p first"
        )
    return value


def encode(value: int) -> bytes:
    """LE64 of a canonical element."""
    return check_canonical(value).to_bytes(8, "little")


def decode(data: bytes) -> int:
    """The element of an 8-byte LE64 encoding; rejects v ≥ p."""
    if len(data) != 8:
        raise NonCanonicalElement(f"a field element is 8 bytes, got {len(data)}")
    value = int.from_bytes(data, "little")
    if value >= P:
        raise NonCanonicalElement(
            f"non-canonical field element encoding {bytes(data).hex()}: {value} ≥ p"
        )
    return value


def encode_ext(value: Ext) -> bytes:
    """LE64(c0) ‖ LE64(c1) ‖ LE64(c2)."""
    c0, c1, c2 = value
    return encode(c0) + encode(c1) + encode(c2)


def decode_ext(data: bytes) -> Ext:
    """The extension element of a 24-byte encoding; every coordinate must be canonical."""
    if len(data) != 24:
        raise NonCanonicalElement(f"an extension element is 24 bytes, got {len(data)}")
    return decode(data[:8]), decode(data[8:16]), decode(data[16:])


def inv(value: int) -> int:
    """1/value in F_p; ZeroDivisionError for 0."""
    if check_canonical(value) == 0:
        raise ZeroDivisionError("0 has no inverse in the field")
    return pow(value, P - 2, P)


def root_of_unity(log_n: int) -> int:
    """The primitive 2^log_n-th root of unity of protocol.md section 1:
    (g^((p−1)/2^32))^(2^(32−log_n))."""
    if not 0 <= log_n <= TWO_ADICITY:
        raise ValueError(f"log_n must be in [0, {TWO_ADICITY}], got {log_n}")
    return pow(pow(GENERATOR, (P - 1) >> TWO_ADICITY, P), 1 << (TWO_ADICITY - log_n), P)


def ext_add(a: Ext, b: Ext) -> Ext:
    return (a[0] + b[0]) % P, (a[1] + b[1]) % P, (a[2] + b[2]) % P


def ext_sub(a: Ext, b: Ext) -> Ext:
    return (a[0] - b[0]) % P, (a[1] - b[1]) % P, (a[2] - b[2]) % P


def ext_mul(a: Ext, b: Ext) -> Ext:
    """The product in K, reducing X³ to W."""
    a0, a1, a2 = a
    b0, b1, b2 = b
    return (
        (a0 * b0 + W * (a1 * b2 + a2 * b1)) % P,
        (a0 * b1 + a1 * b0 + W * a2 * b2) % P,
        (a0 * b2 + a1 * b1 + a2 * b0) % P,
    )


def ext_frobenius(a: Ext) -> Ext:
    """a^p: c0 + c1·GAMMA·X + c2·GAMMA²·X², because X^p = GAMMA·X."""
    return a[0], a[1] * GAMMA % P, a[2] * GAMMA * GAMMA % P


def ext_inv(a: Ext) -> Ext:
    """1/a in K: a^p·a^(p²) / N(a), where the norm N(a) = a·a^p·a^(p²) lies in F and
    vanishes only at 0 because X³ − W is irreducible. ZeroDivisionError for (0, 0, 0)."""
    c = tuple(check_canonical(v, f"c{i}") for i, v in enumerate(a))
    x: Ext = (c[0], c[1], c[2])
    frob = ext_frobenius(x)
    conjugates = ext_mul(frob, ext_frobenius(frob))
    norm = ext_mul(x, conjugates)[0]
    if norm == 0:
        raise ZeroDivisionError("0 has no inverse in the extension field")
    n_inv = pow(norm, P - 2, P)
    return conjugates[0] * n_inv % P, conjugates[1] * n_inv % P, conjugates[2] * n_inv % P
