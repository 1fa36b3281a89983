"""The fields of the protocol (protocol.md 1): F, the Goldilocks prime field, and K, its
cubic extension.

Elements of F are Python ints in ``[0, p)``; every function here returns them reduced.
Elements of K are :class:`Ext` values ``c0 + c1·X + c2·X²`` with ``X³ = 7``. The verifier
draws its challenges from K because F has only 2^64 elements: a random point of F would
meet a cheating prover's polynomial identity with probability near ``degree / 2^64``, too
much for 100-bit security. K has about 2^192 elements, so after the union bounds over the
evaluation domain and the constraints the field still leaves far more than the 130 bits
of the strongest profile's queries (a quadratic extension, about 2^128, would not).

``p = 2^64 − 2^32 + 1`` has ``2^32 | p − 1``, so F has multiplicative subgroups of every
power-of-two order up to 2^32: the trace domain H = ⟨ω_T⟩ and the evaluation domain
D = c·⟨ω_N⟩ are such subgroups (D shifted by ``c = 7`` so that it misses H).
"""

from __future__ import annotations

P = 2**64 - 2**32 + 1
#: A generator of F* (protocol.md 1); also the LDE coset offset c (protocol.md 6).
GENERATOR = 7
TWO_ADICITY = 32
#: K = F[X]/(X³ − NONRESIDUE). 3 divides p − 1, so X³ − a is irreducible over F exactly
#: when a is not a cube, i.e. a^((p−1)/3) ≠ 1; for a = 7 that power is −2^32 mod p.
NONRESIDUE = 7
#: [K : F]: an element of K is this many base-field coordinates.
EXTENSION_DEGREE = 3

_ROOT_2_32 = pow(GENERATOR, (P - 1) >> TWO_ADICITY, P)


def inv(a: int) -> int:
    """1/a in F (Fermat: a^(p−2)); a must be nonzero."""
    if a % P == 0:
        raise ZeroDivisionError("0 has no inverse in F")
    return pow(a, P - 2, P)


def root_of_unity(n: int) -> int:
    """ω_n, the primitive n-th root of unity of protocol.md 1 (n a power of two ≤ 2^32).

    All ω_n are powers of one fixed ω_{2^32}, so ω_n^(n/m) = ω_m: the successor of row i
    on the LDE domain is ``B`` steps ahead, because ω_N^B = ω_T.
    """
    log_n = n.bit_length() - 1
    if n != 1 << log_n or log_n > TWO_ADICITY:
        raise ValueError(f"no root of unity of order {n} in F")
    return pow(_ROOT_2_32, 1 << (TWO_ADICITY - log_n), P)


class Ext:
    """An element ``c0 + c1·X + c2·X²`` of K. Arithmetic mixes freely with ints (elements
    of F).

    With ``X³ = 7``: ``(a0 + a1X + a2X²)(b0 + b1X + b2X²) =
    (a0b0 + 7(a1b2 + a2b1)) + (a0b1 + a1b0 + 7a2b2)X + (a0b2 + a1b1 + a2b0)X²``.
    The inverse is ``t / N(a)`` where ``t = a^p · a^(p²)`` (the product of the two other
    Frobenius conjugates, expanded in :meth:`inverse`) and ``N(a) = a · t`` lies in F;
    it vanishes only at 0 because X³ − 7 is irreducible.
    """

    __slots__ = ("c0", "c1", "c2")

    def __init__(self, c0: int, c1: int = 0, c2: int = 0) -> None:
        self.c0 = c0 % P
        self.c1 = c1 % P
        self.c2 = c2 % P

    @staticmethod
    def lift(value: Ext | int) -> Ext:
        return value if isinstance(value, Ext) else Ext(value)

    def __add__(self, other: Ext | int) -> Ext:
        if isinstance(other, Ext):
            return Ext(self.c0 + other.c0, self.c1 + other.c1, self.c2 + other.c2)
        return Ext(self.c0 + other, self.c1, self.c2)

    __radd__ = __add__

    def __sub__(self, other: Ext | int) -> Ext:
        if isinstance(other, Ext):
            return Ext(self.c0 - other.c0, self.c1 - other.c1, self.c2 - other.c2)
        return Ext(self.c0 - other, self.c1, self.c2)

    def __rsub__(self, other: int) -> Ext:
        return Ext(other - self.c0, -self.c1, -self.c2)

    def __neg__(self) -> Ext:
        return Ext(-self.c0, -self.c1, -self.c2)

    def __mul__(self, other: Ext | int) -> Ext:
        if isinstance(other, Ext):
            a0, a1, a2 = self.c0, self.c1, self.c2
            b0, b1, b2 = other.c0, other.c1, other.c2
            return Ext(
                a0 * b0 + NONRESIDUE * (a1 * b2 + a2 * b1),
                a0 * b1 + a1 * b0 + NONRESIDUE * a2 * b2,
                a0 * b2 + a1 * b1 + a2 * b0,
            )
        return Ext(self.c0 * other, self.c1 * other, self.c2 * other)

    __rmul__ = __mul__

    def in_base_field(self) -> bool:
        """Whether this element lies in F (its X and X² coordinates are zero)."""
        return self.c1 == 0 and self.c2 == 0

    def inverse(self) -> Ext:
        a0, a1, a2 = self.c0, self.c1, self.c2
        t0 = a0 * a0 - NONRESIDUE * a1 * a2
        t1 = NONRESIDUE * a2 * a2 - a0 * a1
        t2 = a1 * a1 - a0 * a2
        norm = (a0 * t0 + NONRESIDUE * (a2 * t1 + a1 * t2)) % P
        if norm == 0:
            raise ZeroDivisionError("0 has no inverse in K")
        n_inv = pow(norm, P - 2, P)
        return Ext(t0 * n_inv, t1 * n_inv, t2 * n_inv)

    def __truediv__(self, other: Ext | int) -> Ext:
        if isinstance(other, Ext):
            return self * other.inverse()
        return self * inv(other)

    def __rtruediv__(self, other: int) -> Ext:
        return self.inverse() * other

    def __pow__(self, exponent: int) -> Ext:
        result, base = Ext(1), self
        while exponent:
            if exponent & 1:
                result = result * base
            base = base * base
            exponent >>= 1
        return result

    def __eq__(self, other: object) -> bool:
        if isinstance(other, int):
            other = Ext(other)
        return (
            isinstance(other, Ext)
            and self.c0 == other.c0
            and self.c1 == other.c1
            and self.c2 == other.c2
        )

    def __hash__(self) -> int:
        return hash((self.c0, self.c1, self.c2))

    def __repr__(self) -> str:
        return f"Ext({self.c0}, {self.c1}, {self.c2})"

    def to_bytes(self) -> bytes:
        """The canonical encoding ``LE64(c0) ‖ LE64(c1) ‖ LE64(c2)``."""
        return b"".join(c.to_bytes(8, "little") for c in (self.c0, self.c1, self.c2))
