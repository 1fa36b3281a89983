"""The Goldilocks field F_p and its quadratic extension K, at the Python level.

The constants of protocol.md section 1 and small pure helpers: the canonical byte
encodings (decoders reject values ≥ p, because two encodings of one element would give
two transcripts for one proof), roots of unity, and extension arithmetic for code that
handles a few elements at a time. Bulk arithmetic belongs to the native core
(``zkactors._native.field`` and ``zkactors._native.primitives``).

An extension element c0 + c1·X of K = F[X]/(X² − W) is the tuple ``(c0, c1)``.
"""

from __future__ import annotations

from zkactors.errors import NonCanonicalElement

P = 2**64 - 2**32 + 1
"""The Goldilocks prime p = 2^64 − 2^32 + 1."""
W = 7
"""K = F[X]/(X² − W); 7 is a quadratic non-residue mod p."""
GENERATOR = 7
"""A generator of the multiplicative group F_p^*."""
TWO_ADICITY = 32
"""2^32 divides p − 1, so F_p has subgroups of every size 2^k, k ≤ 32."""

Ext = tuple[int, int]


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
    """LE64(c0) ‖ LE64(c1)."""
    c0, c1 = value
    return encode(c0) + encode(c1)


def decode_ext(data: bytes) -> Ext:
    """The extension element of a 16-byte encoding; both halves must be canonical."""
    if len(data) != 16:
        raise NonCanonicalElement(f"an extension element is 16 bytes, got {len(data)}")
    return decode(data[:8]), decode(data[8:])


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
    return (a[0] + b[0]) % P, (a[1] + b[1]) % P


def ext_sub(a: Ext, b: Ext) -> Ext:
    return (a[0] - b[0]) % P, (a[1] - b[1]) % P


def ext_mul(a: Ext, b: Ext) -> Ext:
    return (a[0] * b[0] + W * a[1] * b[1]) % P, (a[0] * b[1] + a[1] * b[0]) % P


def ext_inv(a: Ext) -> Ext:
    """1/a in K: (c0 − c1·X)/(c0² − W·c1²); the norm is nonzero for a ≠ 0 because W is a
    non-residue. ZeroDivisionError for (0, 0)."""
    c0, c1 = check_canonical(a[0], "c0"), check_canonical(a[1], "c1")
    norm = (c0 * c0 - W * c1 * c1) % P
    if norm == 0:
        raise ZeroDivisionError("0 has no inverse in the extension field")
    n_inv = pow(norm, P - 2, P)
    return c0 * n_inv % P, (P - c1) * n_inv % P
