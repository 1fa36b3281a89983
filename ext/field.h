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

/* The arithmetic below is branchless: on random field elements a branch on a carry
 * mispredicts half the time, which costs more than the whole operation. On x86-64 the
 * carry selects with cmov, in inline asm: compilers turn a C carry mask into sbb, whose
 * false dependency on its output register chains successive operations together (a
 * butterfly loop ran 4x slower that way). Elsewhere, masks in C.
 * Adding EPSILON to s carries out of 64 bits iff s >= p, and then the wrapped sum is
 * exactly s - p; zk_canon_lt2p uses that to reduce s < 2p (any uint64_t) to [0, p). */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(ZK_FIELD_NO_ASM)
#define ZK_FIELD_ASM 1 /* define ZK_FIELD_NO_ASM to build (and test) the C fallback */
#endif

static inline fe zk_canon_lt2p(uint64_t s) {
#ifdef ZK_FIELD_ASM
    uint64_t t = s;
    __asm__("add %2, %1\n\tcmovc %1, %0" : "+r"(s), "+&r"(t) : "r"(ZK_EPSILON) : "cc");
    return s;
#else
    uint64_t r;
    uint64_t over = __builtin_add_overflow(s, ZK_EPSILON, &r);
    return s + (ZK_EPSILON & (0 - over));
#endif
}

/* a + b mod 2^64, plus EPSILON when the sum wrapped (then a + b - 2^64 + EPSILON is the
 * true sum minus p, and stays below 2^64 whenever a or b is below p). */
static inline uint64_t zk_add_wrap(uint64_t a, uint64_t b) {
#ifdef ZK_FIELD_ASM
    uint64_t t;
    __asm__("add %2, %0\n\tlea (%0,%3), %1\n\tcmovc %1, %0"
            : "+&r"(a), "=&r"(t)
            : "r"(b), "r"(ZK_EPSILON)
            : "cc");
    return a;
#else
    uint64_t s;
    uint64_t carry = __builtin_add_overflow(a, b, &s);
    return s + (ZK_EPSILON & (0 - carry));
#endif
}

/* a - b mod 2^64, minus EPSILON when it borrowed (a - b + 2^64 - EPSILON = a - b + p). */
static inline uint64_t zk_sub_wrap(uint64_t a, uint64_t b) {
#ifdef ZK_FIELD_ASM
    uint64_t t;
    /* lea adds p, which is -EPSILON mod 2^64, without touching the borrow flag */
    __asm__("sub %2, %0\n\tlea (%0,%3), %1\n\tcmovc %1, %0"
            : "+&r"(a), "=&r"(t)
            : "r"(b), "r"(ZK_P)
            : "cc");
    return a;
#else
    uint64_t d;
    uint64_t borrow = __builtin_sub_overflow(a, b, &d);
    return d - (ZK_EPSILON & (0 - borrow));
#endif
}

static inline fe f_add(fe a, fe b) { return zk_canon_lt2p(zk_add_wrap(a, b)); }

static inline fe f_sub(fe a, fe b) { return zk_sub_wrap(a, b); }

static inline fe f_neg(fe a) { return a ? ZK_P - a : 0; }

/* Reduce a 128-bit value hi * 2^64 + lo modulo p (any hi, lo). */
static inline fe f_reduce128(uint64_t lo, uint64_t hi) {
    uint64_t hi_hi = hi >> 32, hi_lo = hi & ZK_EPSILON;
    uint64_t t0 = zk_sub_wrap(lo, hi_hi);      /* lo - hi_hi * 2^96, as 2^96 = -1 */
    uint64_t t1 = (hi_lo << 32) - hi_lo;       /* hi_lo * 2^64 = hi_lo * (2^32 - 1); fits */
    uint64_t t2 = zk_add_wrap(t0, t1);         /* t1 < p, so the wrapped sum fits */
    return zk_canon_lt2p(t2);
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
