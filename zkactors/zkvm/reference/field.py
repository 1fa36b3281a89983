"""The fields of the protocol (protocol.md 1): F, the Goldilocks prime field, and K, its
quadratic extension.

Elements of F are Python ints in ``[0, p)``; every function here returns them reduced.
Elements of K are :class:`Ext` values ``c0 + c1·X`` with ``X² = 7``. The verifier draws
its challenges from K because F has only 2^64 elements: a random point of F would meet a
cheating prover's polynomial identity with probability near ``degree / 2^64``, too much
for 100-bit security, while K has about 2^128 elements.

``p = 2^64 − 2^32 + 1`` has ``2^32 | p − 1``, so F has multiplicative subgroups of every
power-of-two order up to 2^32: the trace domain H = ⟨ω_T⟩ and the evaluation domain
D = c·⟨ω_N⟩ are such subgroups (D shifted by ``c = 7`` so that it misses H).
"""

from __future__ import annotations

P = 2**64 - 2**32 + 1
#: A generator of F* (protocol.md 1); also the LDE coset offset c (protocol.md 6).
GENERATOR = 7
TWO_ADICITY = 32
#: K = F[X]/(X² − NONRESIDUE); 7 is not a square mod p, so X² − 7 is irreducible.
NONRESIDUE = 7

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
    """An element ``c0 + c1·X`` of K. Arithmetic mixes freely with ints (elements of F).

    ``(a0 + a1X)(b0 + b1X) = a0b0 + 7·a1b1 + (a0b1 + a1b0)X`` and
    ``1/(a0 + a1X) = (a0 − a1X)/(a0² − 7·a1²)``; the norm ``a0² − 7a1²`` vanishes only at
    0 because 7 is a non-residue.
    """

    __slots__ = ("c0", "c1")

    def __init__(self, c0: int, c1: int = 0) -> None:
        self.c0 = c0 % P
        self.c1 = c1 % P

    @staticmethod
    def lift(value: Ext | int) -> Ext:
        return value if isinstance(value, Ext) else Ext(value)

    def __add__(self, other: Ext | int) -> Ext:
        if isinstance(other, Ext):
            return Ext(self.c0 + other.c0, self.c1 + other.c1)
        return Ext(self.c0 + other, self.c1)

    __radd__ = __add__

    def __sub__(self, other: Ext | int) -> Ext:
        if isinstance(other, Ext):
            return Ext(self.c0 - other.c0, self.c1 - other.c1)
        return Ext(self.c0 - other, self.c1)

    def __rsub__(self, other: int) -> Ext:
        return Ext(other - self.c0, -self.c1)

    def __neg__(self) -> Ext:
        return Ext(-self.c0, -self.c1)

    def __mul__(self, other: Ext | int) -> Ext:
        if isinstance(other, Ext):
            a0, a1, b0, b1 = self.c0, self.c1, other.c0, other.c1
            return Ext(a0 * b0 + NONRESIDUE * a1 * b1, a0 * b1 + a1 * b0)
        return Ext(self.c0 * other, self.c1 * other)

    __rmul__ = __mul__

    def inverse(self) -> Ext:
        norm = (self.c0 * self.c0 - NONRESIDUE * self.c1 * self.c1) % P
        if norm == 0:
            raise ZeroDivisionError("0 has no inverse in K")
        n_inv = pow(norm, P - 2, P)
        return Ext(self.c0 * n_inv, -self.c1 * n_inv)

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
        return isinstance(other, Ext) and self.c0 == other.c0 and self.c1 == other.c1

    def __hash__(self) -> int:
        return hash((self.c0, self.c1))

    def __repr__(self) -> str:
        return f"Ext({self.c0}, {self.c1})"

    def to_bytes(self) -> bytes:
        """The canonical encoding ``LE64(c0) ‖ LE64(c1)``."""
        return self.c0.to_bytes(8, "little") + self.c1.to_bytes(8, "little")
