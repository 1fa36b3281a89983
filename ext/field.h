/* Goldilocks field F_p, p = 2^64 - 2^32 + 1, and its quadratic extension K = F[X]/(X^2 - 7).
 *
 * Invariant: every uint64_t that holds a field element is canonical (< p). All
 * functions here take and return canonical values; the reduction below relies on it.
 * The identities that make p fast: 2^64 = 2^32 - 1 (mod p) and 2^96 = -1 (mod p).
 */
#ifndef ZK_FIELD_H
#define ZK_FIELD_H

#include <stddef.h>
#include <stdint.h>

#define ZK_P 0xFFFFFFFF00000001ULL
#define ZK_EPSILON 0xFFFFFFFFULL /* 2^64 mod p */
#define ZK_EXT_W 7ULL            /* quadratic non-residue: K = F[X]/(X^2 - 7) */
#define ZK_GENERATOR 7ULL        /* generator of the multiplicative group F_p^* */
#define ZK_TWO_ADICITY 32        /* 2^32 divides p - 1 */

typedef uint64_t fe;
typedef struct { fe c0, c1; } fe2; /* c0 + c1 * X */

static inline fe f_add(fe a, fe b) {
    fe s = a + b;
    if (s < a) return s + ZK_EPSILON; /* wrapped: a + b - 2^64 + (2^32 - 1) = a + b - p */
    return s >= ZK_P ? s - ZK_P : s;
}

static inline fe f_sub(fe a, fe b) {
    fe d = a - b;
    return a < b ? d - ZK_EPSILON : d; /* borrowed: a - b + 2^64 - (2^32 - 1) = a - b + p */
}

static inline fe f_neg(fe a) { return a ? ZK_P - a : 0; }

/* Reduce a 128-bit value hi * 2^64 + lo modulo p. */
static inline fe f_reduce128(uint64_t lo, uint64_t hi) {
    uint64_t hi_hi = hi >> 32, hi_lo = hi & ZK_EPSILON;
    uint64_t t0 = lo - hi_hi; /* lo - hi_hi * 2^96 */
    if (lo < hi_hi) t0 -= ZK_EPSILON;
    uint64_t t1 = hi_lo * ZK_EPSILON; /* hi_lo * 2^64; fits in 64 bits */
    uint64_t t2 = t0 + t1;
    if (t2 < t0) t2 += ZK_EPSILON;
    return t2 >= ZK_P ? t2 - ZK_P : t2;
}

static inline fe f_mul(fe a, fe b) {
    unsigned __int128 x = (unsigned __int128)a * b;
    return f_reduce128((uint64_t)x, (uint64_t)(x >> 64));
}

static inline fe f_sqr(fe a) { return f_mul(a, a); }

static inline fe f_pow(fe a, uint64_t e) {
    fe r = 1;
    while (e) {
        if (e & 1) r = f_mul(r, a);
        a = f_sqr(a);
        e >>= 1;
    }
    return r;
}

/* Inverse by Fermat; f_inv(0) = 0, callers that care must check for zero first. */
static inline fe f_inv(fe a) { return f_pow(a, ZK_P - 2); }

/* ---- quadratic extension ---- */

static inline fe2 e_from(fe a) { fe2 r = {a, 0}; return r; }
static inline fe2 e_add(fe2 a, fe2 b) { fe2 r = {f_add(a.c0, b.c0), f_add(a.c1, b.c1)}; return r; }
static inline fe2 e_sub(fe2 a, fe2 b) { fe2 r = {f_sub(a.c0, b.c0), f_sub(a.c1, b.c1)}; return r; }
static inline fe2 e_neg(fe2 a) { fe2 r = {f_neg(a.c0), f_neg(a.c1)}; return r; }
static inline int e_eq(fe2 a, fe2 b) { return a.c0 == b.c0 && a.c1 == b.c1; }
static inline int e_is_zero(fe2 a) { return (a.c0 | a.c1) == 0; }

/* Multiply by a base-field element: two base multiplications. */
static inline fe2 e_mul_base(fe2 a, fe b) { fe2 r = {f_mul(a.c0, b), f_mul(a.c1, b)}; return r; }

static inline fe2 e_mul(fe2 a, fe2 b) {
    /* (a0 + a1 X)(b0 + b1 X) = a0 b0 + W a1 b1 + (a0 b1 + a1 b0) X */
    fe a0b0 = f_mul(a.c0, b.c0), a1b1 = f_mul(a.c1, b.c1);
    fe cross = f_sub(f_sub(f_mul(f_add(a.c0, a.c1), f_add(b.c0, b.c1)), a0b0), a1b1);
    fe2 r = {f_add(a0b0, f_mul(ZK_EXT_W, a1b1)), cross};
    return r;
}

static inline fe2 e_sqr(fe2 a) { return e_mul(a, a); }

static inline fe2 e_pow(fe2 a, uint64_t e) {
    fe2 r = {1, 0};
    while (e) {
        if (e & 1) r = e_mul(r, a);
        a = e_sqr(a);
        e >>= 1;
    }
    return r;
}

/* 1 / (a0 + a1 X) = (a0 - a1 X) / (a0^2 - W a1^2); the norm is nonzero for a != 0
 * because W is a non-residue. e_inv(0) = 0. */
static inline fe2 e_inv(fe2 a) {
    fe norm = f_sub(f_sqr(a.c0), f_mul(ZK_EXT_W, f_sqr(a.c1)));
    fe ninv = f_inv(norm);
    fe2 r = {f_mul(a.c0, ninv), f_mul(f_neg(a.c1), ninv)};
    return r;
}

/* A primitive 2^log_n-th root of unity (log_n <= 32). */
static inline fe f_root_of_unity(unsigned log_n) {
    return f_pow(f_pow(ZK_GENERATOR, (ZK_P - 1) >> ZK_TWO_ADICITY), 1ULL << (ZK_TWO_ADICITY - log_n));
}

#endif
