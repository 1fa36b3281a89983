# distutils: sources = ext/field_kernels.c
# cython: language_level=3
"""Goldilocks field arithmetic (``zkactors._native.field``).

Scalar functions take and return Python ints in [0, p); the caller (``zkactors.field``)
has already checked the range, so these trust their arguments. Array kernels take
writable uint64 buffers and release the GIL for the whole computation.
"""

from libc.stdint cimport uint64_t

cdef extern from "field.h":
    ctypedef uint64_t fe
    ctypedef struct fe2:
        fe c0
        fe c1
    fe f_add(fe a, fe b) nogil
    fe f_sub(fe a, fe b) nogil
    fe f_mul(fe a, fe b) nogil
    fe f_pow(fe a, uint64_t e) nogil
    fe f_inv(fe a) nogil
    fe ZK_P

cdef extern from "field_kernels.h":
    void zk_powers(fe base, fe *out, size_t n) nogil

P = ZK_P


def add(fe a, fe b):
    return f_add(a, b)


def sub(fe a, fe b):
    return f_sub(a, b)


def mul(fe a, fe b):
    return f_mul(a, b)


def pow(fe a, uint64_t e):
    return f_pow(a, e)


def inv(fe a):
    return f_inv(a)


def powers_into(fe base, fe[::1] out):
    """Fill ``out`` with base^0, base^1, ... in order, without the GIL."""
    cdef size_t n = out.shape[0]
    if n == 0:
        return
    with nogil:
        zk_powers(base, &out[0], n)
