# cython: language_level=3
"""Goldilocks field arithmetic (``zkactors._native.field``).

Scalar functions take and return Python ints in [0, p); extension elements
c0 + c1·X + c2·X² of K = F[X]/(X³ − 7) are ``(c0, c1, c2)`` tuples. Every argument is
checked to be canonical (a ``ValueError`` otherwise), because the C arithmetic silently
gives wrong answers on values ≥ p and a check costs nothing next to a Python call. Array
kernels take writable uint64 buffers and release the GIL for the whole computation.
"""

from libc.stdint cimport uint64_t
from libc.string cimport memset

cdef extern from "field.h":
    ctypedef uint64_t fe
    ctypedef struct fe3:
        fe c0
        fe c1
        fe c2
    fe f_add(fe a, fe b) nogil
    fe f_sub(fe a, fe b) nogil
    fe f_neg(fe a) nogil
    fe f_mul(fe a, fe b) nogil
    fe f_pow(fe a, uint64_t e) nogil
    fe f_inv(fe a) nogil
    fe f_root_of_unity(unsigned log_n) nogil
    fe3 e_add(fe3 a, fe3 b) nogil
    fe3 e_sub(fe3 a, fe3 b) nogil
    fe3 e_neg(fe3 a) nogil
    fe3 e_mul(fe3 a, fe3 b) nogil
    ctypedef struct zk_wide:  # and a 128-bit sum s, which Cython cannot name
        uint64_t top
    void e_mul_acc(zk_wide *r, fe3 a, fe3 b) nogil
    fe3 e_wide_reduce(const zk_wide *r) nogil
    fe3 e_pow(fe3 a, uint64_t e) nogil
    fe3 e_inv(fe3 a) nogil
    fe ZK_P
    fe ZK_EXT_W
    fe ZK_EXT_GAMMA
    int ZK_EXT_DEGREE
    fe ZK_GENERATOR
    int ZK_TWO_ADICITY

cdef extern from "field_kernels.h":
    void zk_powers(fe base, fe *out, size_t n) nogil
    void zk_vec_mul(const fe *a, const fe *b, fe *out, size_t n) nogil

P = ZK_P
W = ZK_EXT_W
EXT_DEGREE = ZK_EXT_DEGREE
GAMMA = ZK_EXT_GAMMA
GENERATOR = ZK_GENERATOR
TWO_ADICITY = ZK_TWO_ADICITY


cdef inline fe _base(object value) except? 0:
    """A canonical base element from a Python int, or ValueError/TypeError."""
    if not isinstance(value, int):
        raise TypeError(f"a field element must be an int, not {type(value).__name__}")
    if value < 0 or value >= ZK_P:
        raise ValueError(
            f"{value} is not a canonical field element: it must be in [0, p), "
            f"p = 2^64 - 2^32 + 1; reduce it mod p first"
        )
    return <fe>value


cdef inline fe3 _ext(object value) except *:
    cdef fe3 r
    try:
        c0, c1, c2 = value
    except (TypeError, ValueError):
        raise TypeError(
            f"an extension element must be a (c0, c1, c2) triple of ints, not {value!r}"
        ) from None
    r.c0 = _base(c0)
    r.c1 = _base(c1)
    r.c2 = _base(c2)
    return r


cdef inline tuple _triple(fe3 a):
    return (a.c0, a.c1, a.c2)


def add(a, b):
    return f_add(_base(a), _base(b))


def sub(a, b):
    return f_sub(_base(a), _base(b))


def neg(a):
    return f_neg(_base(a))


def mul(a, b):
    return f_mul(_base(a), _base(b))


def pow(a, uint64_t e):
    """a^e for 0 <= e < 2^64 (0^0 = 1)."""
    return f_pow(_base(a), e)


def inv(a):
    """1/a; raises ZeroDivisionError for 0, which has no inverse."""
    cdef fe x = _base(a)
    if x == 0:
        raise ZeroDivisionError("0 has no inverse in the field")
    return f_inv(x)


def root_of_unity(unsigned log_n):
    """The primitive 2^log_n-th root of unity of protocol.md section 1 (log_n <= 32)."""
    if log_n > <unsigned>ZK_TWO_ADICITY:
        raise ValueError(f"no 2^{log_n}-th roots of unity: the two-adicity of p is 32")
    return f_root_of_unity(log_n)


def ext_add(a, b):
    return _triple(e_add(_ext(a), _ext(b)))


def ext_sub(a, b):
    return _triple(e_sub(_ext(a), _ext(b)))


def ext_neg(a):
    return _triple(e_neg(_ext(a)))


def ext_mul(a, b):
    return _triple(e_mul(_ext(a), _ext(b)))


def ext_mul_acc(a, b, c, d):
    """a b + c d through e_mul_acc (two products summed unreduced, one reduction per
    coordinate); the prover's AIR 2 LogUp groups use it. For the tests."""
    cdef zk_wide r[3]
    cdef fe3 x = _ext(a), y = _ext(b), z = _ext(c), w = _ext(d)
    memset(r, 0, sizeof(r))
    e_mul_acc(r, x, y)
    e_mul_acc(r, z, w)
    return _triple(e_wide_reduce(r))


def ext_pow(a, uint64_t e):
    return _triple(e_pow(_ext(a), e))


def ext_inv(a):
    """1/a in K; raises ZeroDivisionError for (0, 0, 0)."""
    cdef fe3 x = _ext(a)
    if x.c0 == 0 and x.c1 == 0 and x.c2 == 0:
        raise ZeroDivisionError("0 has no inverse in the extension field")
    return _triple(e_inv(x))


def powers_into(base, fe[::1] out):
    """Fill ``out`` with base^0, base^1, ... in order, without the GIL."""
    cdef fe b = _base(base)
    cdef size_t n = out.shape[0]
    if n == 0:
        return
    with nogil:
        zk_powers(b, &out[0], n)


cdef size_t _first_noncanonical(const fe *values, size_t n) noexcept nogil:
    cdef size_t i
    for i in range(n):
        if values[i] >= ZK_P:
            return i
    return n


def mul_into(const fe[::1] a, const fe[::1] b, fe[::1] out):
    """out[i] = a[i] * b[i] without the GIL; a and b must hold canonical elements."""
    cdef size_t n = a.shape[0], bad_a, bad_b
    if b.shape[0] != n or out.shape[0] != n:
        raise ValueError(f"lengths differ: {a.shape[0]}, {b.shape[0]}, {out.shape[0]}")
    if n == 0:
        return
    with nogil:
        bad_a = _first_noncanonical(&a[0], n)
        bad_b = _first_noncanonical(&b[0], n)
    if bad_a != n or bad_b != n:
        which, i = ("a", bad_a) if bad_a != n else ("b", bad_b)
        raise ValueError(f"{which}[{i}] is not a canonical field element (must be < p)")
    with nogil:
        zk_vec_mul(&a[0], &b[0], &out[0], n)


# ---- kernel level (ext/cpu.h) ----------------------------------------------------------

include "kernels.pxi"
