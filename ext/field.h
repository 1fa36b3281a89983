/* Goldilocks field F_p, p = 2^64 - 2^32 + 1, and its cubic extension K = F[X]/(X^3 - 7).
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
#define ZK_EXT_W 7ULL            /* cubic non-residue: K = F[X]/(X^3 - 7) */
#define ZK_EXT_DEGREE 3          /* [K : F]; an element of K is 3 base coordinates */
#define ZK_EXT_BYTES 24          /* its encoding LE64(c0) || LE64(c1) || LE64(c2) */
#define ZK_GENERATOR 7ULL        /* generator of the multiplicative group F_p^* */
#define ZK_TWO_ADICITY 32        /* 2^32 divides p - 1 */

typedef uint64_t fe;
typedef struct { fe c0, c1, c2; } fe3; /* c0 + c1 X + c2 X^2 */

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

/* ---- cubic extension K = F[X]/(X^3 - W), W = 7 ----
 *
 * 3 divides p - 1, so X^3 - W is irreducible over F exactly when W is not a cube in F,
 * i.e. W^((p-1)/3) != 1; for W = 7 it is ZK_EXT_GAMMA below (checked in the tests).
 * K has p^3 elements (log2 |K| ~ 192), which keeps the field term of the conjectured
 * security above the query term of every profile. An element is c0 + c1 X + c2 X^2. */

/* 7^((p-1)/3) = -2^32 mod p, a primitive cube root of unity: the Frobenius map of K is
 * X^p = X * (X^3)^((p-1)/3) = GAMMA * X, so (c0 + c1 X + c2 X^2)^p =
 * c0 + GAMMA c1 X + GAMMA^2 c2 X^2. */
#define ZK_EXT_GAMMA 0xFFFFFFFE00000001ULL

static const fe3 E_ZERO = {0, 0, 0}, E_ONE = {1, 0, 0};

static inline fe3 e_from(fe a) { fe3 r = {a, 0, 0}; return r; }
static inline fe3 e_add(fe3 a, fe3 b) {
    fe3 r = {f_add(a.c0, b.c0), f_add(a.c1, b.c1), f_add(a.c2, b.c2)};
    return r;
}
static inline fe3 e_sub(fe3 a, fe3 b) {
    fe3 r = {f_sub(a.c0, b.c0), f_sub(a.c1, b.c1), f_sub(a.c2, b.c2)};
    return r;
}
static inline fe3 e_neg(fe3 a) { fe3 r = {f_neg(a.c0), f_neg(a.c1), f_neg(a.c2)}; return r; }
static inline int e_eq(fe3 a, fe3 b) { return a.c0 == b.c0 && a.c1 == b.c1 && a.c2 == b.c2; }
static inline int e_is_zero(fe3 a) { return (a.c0 | a.c1 | a.c2) == 0; }
/* In F exactly when the X and X^2 coordinates vanish. */
static inline int e_in_base(fe3 a) { return (a.c1 | a.c2) == 0; }

/* Multiply by a base-field element: three base multiplications. */
static inline fe3 e_mul_base(fe3 a, fe b) {
    fe3 r = {f_mul(a.c0, b), f_mul(a.c1, b), f_mul(a.c2, b)};
    return r;
}

/* ---- wide accumulators: a value s + top * 2^128 with top small ----
 * Products of canonical elements are below p^2 < 2^128, so a few of them (and their
 * multiple by W) are summed exactly in 128 bits plus a small count of 2^128 overflows,
 * and reduced once at the end. 2^128 = 2^96 * 2^32 = -2^32 (mod p). */
typedef struct {
    unsigned __int128 s;
    uint64_t top; /* < 2^32 for every use here (at most a few dozen overflows) */
} zk_wide;

static inline void wide_mac(zk_wide *a, fe x, fe y) {
    unsigned __int128 prod = (unsigned __int128)x * y;
    a->s += prod;
    a->top += a->s < prod;
}

static inline void wide_add(zk_wide *a, zk_wide b) {
    a->s += b.s;
    a->top += b.top + (a->s < b.s);
}

/* a *= W, exactly: W * (lo + hi 2^64) = (W lo) + (W hi) 2^64 with W lo, W hi < 2^67. */
static inline void wide_mul_w(zk_wide *a) {
    unsigned __int128 lo = (unsigned __int128)(uint64_t)a->s * ZK_EXT_W;
    unsigned __int128 hi = (unsigned __int128)(uint64_t)(a->s >> 64) * ZK_EXT_W + (lo >> 64);
    a->s = (hi << 64) | (uint64_t)lo;
    a->top = a->top * ZK_EXT_W + (uint64_t)(hi >> 64);
}

static inline fe wide_reduce(const zk_wide *a) {
    fe r = f_reduce128((uint64_t)a->s, (uint64_t)(a->s >> 64));
    /* top * 2^128 = -(top << 32); top < 2^32 makes top << 32 < p, a canonical element */
    return f_sub(r, a->top << 32);
}

/* W a for a canonical a: W a = hi 2^64 + lo with hi < W, and 2^64 = EPSILON. */
static inline fe f_mul_w(fe a) {
    unsigned __int128 x = (unsigned __int128)a * ZK_EXT_W;
    return zk_canon_lt2p(zk_add_wrap((uint64_t)x, (uint64_t)(x >> 64) * ZK_EPSILON));
}

/* r[0..3) += a b, unreduced: the nine products of e_mul below (W folded into b's
 * coordinates first) summed into the caller's accumulators, so a sum of products in K
 * (a b + c d, or a b - m with the caller's initial value) costs one reduction per
 * coordinate in all. Each call raises a top by at most 3. */
static inline void e_mul_acc(zk_wide *r, fe3 a, fe3 b) {
    fe wb1 = f_mul_w(b.c1), wb2 = f_mul_w(b.c2);
    wide_mac(&r[0], a.c0, b.c0);
    wide_mac(&r[0], a.c1, wb2);
    wide_mac(&r[0], a.c2, wb1);
    wide_mac(&r[1], a.c0, b.c1);
    wide_mac(&r[1], a.c1, b.c0);
    wide_mac(&r[1], a.c2, wb2);
    wide_mac(&r[2], a.c0, b.c2);
    wide_mac(&r[2], a.c1, b.c1);
    wide_mac(&r[2], a.c2, b.c0);
}

static inline fe3 e_wide_reduce(const zk_wide *r) {
    fe3 v = {wide_reduce(&r[0]), wide_reduce(&r[1]), wide_reduce(&r[2])};
    return v;
}

/* (a0 + a1 X + a2 X^2)(b0 + b1 X + b2 X^2) with X^3 = W:
 *   r0 = a0 b0 + W (a1 b2 + a2 b1) = a0 b0 + a1 (W b2) + a2 (W b1)
 *   r1 = a0 b1 + a1 b0 + W a2 b2   = a0 b1 + a1 b0 + a2 (W b2)
 *   r2 = a0 b2 + a1 b1 + a2 b0
 * Nine 64x64 products summed in 128 bits and one reduction per coordinate. */
static inline fe3 e_mul(fe3 a, fe3 b) {
    zk_wide r[3] = {{0, 0}, {0, 0}, {0, 0}};
    e_mul_acc(r, a, b);
    return e_wide_reduce(r);
}

static inline fe3 e_sqr(fe3 a) { return e_mul(a, a); }

static inline fe3 e_pow(fe3 a, uint64_t e) {
    fe3 r = E_ONE;
    while (e) {
        if (e & 1) r = e_mul(r, a);
        a = e_sqr(a);
        e >>= 1;
    }
    return r;
}

/* X * (u0 + u1 X + u2 X^2) = W u2 + u0 X + u1 X^2 */
static inline fe3 e_mul_x(fe3 u) {
    fe3 r = {f_mul(ZK_EXT_W, u.c2), u.c0, u.c1};
    return r;
}

/* 1/a through the norm. With a' = a^p and a'' = a^(p^2) (the Frobenius conjugates),
 * t = a' a'' and N(a) = a t = a a' a'' is fixed by Frobenius, so it lies in F, and
 * 1/a = t / N(a). Expanding the conjugates (GAMMA^3 = 1, 1 + GAMMA + GAMMA^2 = 0) gives
 * the adjugate without any power of GAMMA:
 *   t0 = a0^2 - W a1 a2,   t1 = W a2^2 - a0 a1,   t2 = a1^2 - a0 a2,
 *   N  = a0 t0 + W (a2 t1 + a1 t2).
 * N = 0 only for a = 0 because K is a field (X^3 - W irreducible). e_inv(0) = 0. */
static inline fe3 e_inv(fe3 a) {
    fe a12 = f_mul(a.c1, a.c2);
    fe t0 = f_sub(f_sqr(a.c0), f_mul(ZK_EXT_W, a12));
    fe t1 = f_sub(f_mul(ZK_EXT_W, f_sqr(a.c2)), f_mul(a.c0, a.c1));
    fe t2 = f_sub(f_sqr(a.c1), f_mul(a.c0, a.c2));
    zk_wide s = {0, 0}, n = {0, 0};
    wide_mac(&s, a.c2, t1);
    wide_mac(&s, a.c1, t2);
    wide_mul_w(&s);
    wide_mac(&n, a.c0, t0);
    wide_add(&n, s);
    fe ninv = f_inv(wide_reduce(&n));
    fe3 r = {f_mul(t0, ninv), f_mul(t1, ninv), f_mul(t2, ninv)};
    return r;
}

/* A primitive 2^log_n-th root of unity (log_n <= 32). */
static inline fe f_root_of_unity(unsigned log_n) {
    return f_pow(f_pow(ZK_GENERATOR, (ZK_P - 1) >> ZK_TWO_ADICITY), 1ULL << (ZK_TWO_ADICITY - log_n));
}

#endif
