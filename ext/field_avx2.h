/* Goldilocks arithmetic on four lanes of AVX2 (__m256i of canonical field elements).
 *
 * The same values as field.h's scalar functions, lane by lane: every function takes and
 * returns canonical elements (< p), and the reduction mirrors f_reduce128 step by step, so
 * a kernel built from these gives bit-identical results to its scalar twin.
 *
 * AVX2 has no unsigned 64-bit compare and no 64x64-bit multiply. Unsigned a > b is the
 * signed compare of a ^ 2^63 and b ^ 2^63 (flipping the top bit maps unsigned order onto
 * signed order); a 64x64 -> 128-bit product is four 32x32 vpmuludq. Carries and borrows
 * become all-ones masks, and "add EPSILON if carried" is an AND and an add: branch-free.
 *
 * Only compiled on x86-64 with GCC or Clang; every function carries
 * __attribute__((target("avx2"))), so the file is built without -mavx2 and callers must
 * check the CPU (zk_kernel_level() >= ZK_KERNELS_AVX2) before calling into it.
 */
#ifndef ZK_FIELD_AVX2_H
#define ZK_FIELD_AVX2_H

#include "field.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define ZK_HAVE_AVX2_KERNELS 1
#define ZK_AVX2 __attribute__((target("avx2")))

/* Unsigned a > b, lane-wise, as an all-ones mask. */
ZK_AVX2 static inline __m256i v4_gt_u(__m256i a, __m256i b) {
    const __m256i sign = _mm256_set1_epi64x((long long)0x8000000000000000ULL);
    return _mm256_cmpgt_epi64(_mm256_xor_si256(a, sign), _mm256_xor_si256(b, sign));
}

ZK_AVX2 static inline __m256i v4_eps(void) { return _mm256_set1_epi64x((long long)ZK_EPSILON); }

/* a + b for canonical a, b: s = a + (b + eps) wraps iff a + b >= p, and then s is
 * a + b - p; otherwise the sum is s - eps (b + eps < 2^64 because b < p). */
ZK_AVX2 static inline __m256i v4_add(__m256i a, __m256i b) {
    const __m256i eps = v4_eps();
    __m256i s = _mm256_add_epi64(a, _mm256_add_epi64(b, eps));
    __m256i wrapped = v4_gt_u(a, s);
    return _mm256_sub_epi64(s, _mm256_andnot_si256(wrapped, eps));
}

/* a - b: a borrow means the wrapped difference is a - b + 2^64; subtracting eps more
 * gives a - b + p, canonical. */
ZK_AVX2 static inline __m256i v4_sub(__m256i a, __m256i b) {
    __m256i d = _mm256_sub_epi64(a, b);
    __m256i borrow = v4_gt_u(b, a);
    return _mm256_sub_epi64(d, _mm256_and_si256(borrow, v4_eps()));
}

/* hi * 2^64 + lo mod p for any hi, lo: f_reduce128 lane-wise (2^96 = -1, 2^64 = eps). */
ZK_AVX2 static inline __m256i v4_reduce(__m256i lo, __m256i hi) {
    const __m256i eps = v4_eps();
    __m256i hi_hi = _mm256_srli_epi64(hi, 32);
    __m256i t0 = _mm256_sub_epi64(lo, hi_hi);
    t0 = _mm256_sub_epi64(t0, _mm256_and_si256(v4_gt_u(hi_hi, lo), eps));
    __m256i t1 = _mm256_mul_epu32(hi, eps); /* (hi mod 2^32) * (2^32 - 1) < p */
    __m256i t2 = _mm256_add_epi64(t0, t1);
    t2 = _mm256_add_epi64(t2, _mm256_and_si256(v4_gt_u(t1, t2), eps));
    /* t2 >= p iff t2 > p - 1; then t2 - p = t2 + eps (mod 2^64). */
    const __m256i p_minus_1 = _mm256_set1_epi64x((long long)(ZK_P - 1));
    return _mm256_add_epi64(t2, _mm256_and_si256(v4_gt_u(t2, p_minus_1), eps));
}

/* The full 128-bit product of a and b, lane-wise, from four 32x32-bit products. */
ZK_AVX2 static inline void v4_mul_wide(__m256i a, __m256i b, __m256i *lo, __m256i *hi) {
    const __m256i low32 = _mm256_set1_epi64x(0xFFFFFFFFLL);
    __m256i a_hi = _mm256_srli_epi64(a, 32), b_hi = _mm256_srli_epi64(b, 32);
    __m256i ll = _mm256_mul_epu32(a, b), lh = _mm256_mul_epu32(a, b_hi);
    __m256i hl = _mm256_mul_epu32(a_hi, b), hh = _mm256_mul_epu32(a_hi, b_hi);
    /* Neither middle sum can carry: (2^32-1)^2 + 2^32 - 1 < 2^64. */
    __m256i mid = _mm256_add_epi64(lh, _mm256_srli_epi64(ll, 32));
    __m256i mid2 = _mm256_add_epi64(hl, _mm256_and_si256(mid, low32));
    *lo = _mm256_blend_epi32(ll, _mm256_slli_epi64(mid2, 32), 0xAA);
    *hi = _mm256_add_epi64(hh, _mm256_add_epi64(_mm256_srli_epi64(mid, 32), _mm256_srli_epi64(mid2, 32)));
}

ZK_AVX2 static inline __m256i v4_mul(__m256i a, __m256i b) {
    __m256i lo, hi;
    v4_mul_wide(a, b, &lo, &hi);
    return v4_reduce(lo, hi);
}

/* x * 2^48 (the 4th root of unity of protocol.md): the product is (x >> 16) * 2^64 +
 * (x << 48), so only the reduction is left. */
ZK_AVX2 static inline __m256i v4_mul_w4(__m256i x) {
    return v4_reduce(_mm256_slli_epi64(x, 48), _mm256_srli_epi64(x, 16));
}

ZK_AVX2 static inline __m256i v4_load(const fe *p) { return _mm256_loadu_si256((const __m256i *)p); }
ZK_AVX2 static inline void v4_store(fe *p, __m256i v) { _mm256_storeu_si256((__m256i *)p, v); }

#endif
#endif
