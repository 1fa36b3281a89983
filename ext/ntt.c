/* NTTs over power-of-two subgroups of F_p (see ntt.h).
 *
 * One core transform, a decimation-in-frequency (DIF) NTT that takes natural order and
 * leaves bit-reversed order. Every public function is that core plus cheap linear passes:
 *   ntt(a)          = bitrev(dif(a))
 *   intt(a)         = (1/n) * reverse(ntt(a))      where reverse(z)[j] = z[(n - j) mod n],
 *                                                  because w^-jk = w^((n - j)k)
 *   coset_ntt(a, c) = ntt(a_i * c^i)
 *   coset_intt(a,c) = intt(a)_i * c^-i
 * The DIF is cache-blocked: while a block is larger than L1 two layers (a radix-4 step)
 * are done over it and the four quarters are recursed into; a block that fits is finished
 * in place, radix-4 steps again and the last layers in registers. The
 * bit reversal swaps 32 x 32 tiles, so every memory access is to runs of 256 bytes.
 *
 * The butterflies have three kernels chosen at run time (cpu.h: the CPU's best, capped by
 * ZKACTORS_KERNELS): portable scalar C, AVX2 (4 lanes) and AVX-512F (8 lanes), the vector
 * ones with 64x64-bit products from four 32x32 vpmuludq, behind __attribute__((target)),
 * used only when the CPU and OS support them. All compute exactly the same canonical
 * values.
 */
#include "ntt.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "cpu.h"
#include "field_avx2.h"
#include "parallel.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define ZK_NTT_X86 1
#endif

#define ZK_NTT_MAX_LOG ZK_TWO_ADICITY
#define ZK_LEAF_LOG 12     /* 2^12 elements = 32 KiB: a block this size stays in L1 */
#define ZK_BITREV_TILE 5   /* bit reversal swaps 2^5 x 2^5 tiles */
#define ZK_MT_MIN_LOG 16   /* below this, creating threads costs about what they save */

/* ------------------------------------------------------------------------------------
 * Twiddle tables: table[k][j] = w_{2^k}^j for j < 2^(k-1), k >= 1, with w_{2^k} the root
 * of unity of protocol.md section 1. A published table is never changed or freed, so a
 * reader needs only an acquire load; writers serialise on the mutex. All tables a 2^k
 * transform reads (these and the cube tables below) hold 1.5 * 2^k elements. */

static fe *twiddle_tables[ZK_NTT_MAX_LOG + 1];
static pthread_mutex_t twiddle_lock = PTHREAD_MUTEX_INITIALIZER;

static const fe *twiddle_table(unsigned k) {
    fe *t = __atomic_load_n(&twiddle_tables[k], __ATOMIC_ACQUIRE);
    if (t) return t;
    pthread_mutex_lock(&twiddle_lock);
    t = twiddle_tables[k];
    if (!t) {
        size_t half = (size_t)1 << (k - 1);
        t = (fe *)malloc(half * sizeof(fe));
        if (t) {
            const fe *finer = k < ZK_NTT_MAX_LOG ? twiddle_tables[k + 1] : NULL;
            if (finer) {
                for (size_t j = 0; j < half; j++) t[j] = finer[2 * j]; /* w_{2^k} = w_{2^(k+1)}^2 */
            } else {
                fe w = f_root_of_unity(k), acc = 1;
                for (size_t j = 0; j < half; j++) {
                    t[j] = acc;
                    acc = f_mul(acc, w);
                }
            }
            __atomic_store_n(&twiddle_tables[k], t, __ATOMIC_RELEASE);
        }
    }
    pthread_mutex_unlock(&twiddle_lock);
    return t;
}

/* cube_tables[k][j] = w_{2^k}^(3j) for j < 2^(k-2), k >= 2: the third twiddle of a
 * radix-4 step. Taken from table[k] with w^(2^(k-1)) = -1, so no products. Same
 * publication rules as above. */
static fe *cube_tables[ZK_NTT_MAX_LOG + 1];

static const fe *cube_table(unsigned k, const fe *w) {
    fe *t = __atomic_load_n(&cube_tables[k], __ATOMIC_ACQUIRE);
    if (t) return t;
    pthread_mutex_lock(&twiddle_lock);
    t = cube_tables[k];
    if (!t) {
        size_t quarter = (size_t)1 << (k - 2), half = 2 * quarter;
        t = (fe *)malloc(quarter * sizeof(fe));
        if (t) {
            for (size_t j = 0; j < quarter; j++) t[j] = 3 * j < half ? w[3 * j] : f_neg(w[3 * j - half]);
            __atomic_store_n(&cube_tables[k], t, __ATOMIC_RELEASE);
        }
    }
    pthread_mutex_unlock(&twiddle_lock);
    return t;
}

typedef struct {
    const fe *w[ZK_NTT_MAX_LOG + 1];  /* w[k] = table[k], k >= 1 */
    const fe *w3[ZK_NTT_MAX_LOG + 1]; /* w3[k] = cube_table[k], k >= 2 */
} twiddle_set;

/* Every table a transform of size 2^log_n reads; 0 on success. Largest first, so each
 * smaller table is a stride-2 copy rather than a product chain. */
static int load_twiddles(unsigned log_n, twiddle_set *tw) {
    memset(tw, 0, sizeof *tw);
    for (unsigned k = log_n; k >= 1; k--) {
        tw->w[k] = twiddle_table(k);
        if (!tw->w[k]) return -1;
        if (k >= 2 && !(tw->w3[k] = cube_table(k, tw->w[k]))) return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------------------------
 * Kernels. A "butterfly range" does x[j], y[j] <- x[j] + y[j], (x[j] - y[j]) * w[j] for
 * j < len: one DIF layer. A radix-4 step does two layers at once on a block of 4q:
 * with x0..x3 = a[j], a[j+q], a[j+2q], a[j+3q] and w = w_{4q}^j,
 *   a[j]    = (x0 + x2) + (x1 + x3)
 *   a[j+q]  = ((x0 + x2) - (x1 + x3)) * w^2
 *   a[j+2q] = ((x0 - x2) + (x1 - x3) w_4) * w
 *   a[j+3q] = ((x0 - x2) - (x1 - x3) w_4) * w^3
 * which is the two radix-2 layers with one product fewer, and w_4 = 2^48 multiplies by
 * shifting. A "leaf" finishes all layers of a block of 2^log_n elements. */

typedef struct {
    void (*butterflies)(fe *x, fe *y, const fe *w, size_t len);
    void (*butterflies4)(fe *a, size_t q, const fe *w1, const fe *w2, const fe *w3);
    void (*leaf)(fe *a, unsigned log_n, const twiddle_set *tw);
    void (*scale_powers)(const fe *src, fe *dst, size_t n, fe start, fe base);
    void (*reverse_scale)(fe *a, size_t n, fe scale);
    size_t vector_width; /* butterfly ranges passed in are multiples of this */
} ntt_kernels;

static void butterflies_scalar(fe *x, fe *y, const fe *w, size_t len) {
    for (size_t j = 0; j < len; j++) {
        fe u = x[j], v = y[j];
        x[j] = f_add(u, v);
        y[j] = f_mul(f_sub(u, v), w[j]);
    }
}

/* x * w_4 with w_4 = 2^48 (protocol.md's 4th root): the product is (x >> 16) * 2^64 +
 * (x << 48), so only the reduction is left. */
static inline fe f_mul_w4(fe x) { return f_reduce128(x << 48, x >> 16); }

static void butterflies4_scalar(fe *a, size_t q, const fe *w1, const fe *w2, const fe *w3) {
    fe *p0 = a, *p1 = a + q, *p2 = a + 2 * q, *p3 = a + 3 * q;
    for (size_t j = 0; j < q; j++) {
        fe x0 = p0[j], x1 = p1[j], x2 = p2[j], x3 = p3[j];
        fe s02 = f_add(x0, x2), d02 = f_sub(x0, x2), s13 = f_add(x1, x3);
        fe t = f_mul_w4(f_sub(x1, x3));
        p0[j] = f_add(s02, s13);
        p1[j] = f_mul(f_sub(s02, s13), w2[j]);
        p2[j] = f_mul(f_add(d02, t), w1[j]);
        p3[j] = f_mul(f_sub(d02, t), w3[j]);
    }
}

/* The last two layers of a DIF block: radix-4 with q = 1, every twiddle 1. */
static void last_layers_scalar(fe *a, size_t n) {
    for (size_t i = 0; i + 4 <= n; i += 4) {
        fe s02 = f_add(a[i], a[i + 2]), d02 = f_sub(a[i], a[i + 2]);
        fe s13 = f_add(a[i + 1], a[i + 3]), t = f_mul_w4(f_sub(a[i + 1], a[i + 3]));
        a[i] = f_add(s02, s13);
        a[i + 1] = f_sub(s02, s13);
        a[i + 2] = f_add(d02, t);
        a[i + 3] = f_sub(d02, t);
    }
}

static void leaf_scalar(fe *a, unsigned log_n, const twiddle_set *tw) {
    size_t n = (size_t)1 << log_n;
    unsigned k = log_n;
    for (; k >= 4; k -= 2) {
        size_t q = (size_t)1 << (k - 2);
        for (size_t base = 0; base < n; base += 4 * q)
            butterflies4_scalar(a + base, q, tw->w[k], tw->w[k - 1], tw->w3[k]);
    }
    if (k == 3) {
        for (size_t base = 0; base < n; base += 8) butterflies_scalar(a + base, a + base + 4, tw->w[3], 4);
        k = 2;
    }
    if (k == 2) {
        last_layers_scalar(a, n);
    } else if (k == 1) {
        fe u = a[0], v = a[1];
        a[0] = f_add(u, v);
        a[1] = f_sub(u, v);
    }
}

/* dst[i] = src[i] * start * base^i; four interleaved chains keep the multiplier busy. */
static void scale_powers_scalar(const fe *src, fe *dst, size_t n, fe start, fe base) {
    fe acc[4];
    acc[0] = start;
    for (int c = 1; c < 4; c++) acc[c] = f_mul(acc[c - 1], base);
    fe step = f_pow(base, 4);
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        for (int c = 0; c < 4; c++) {
            dst[i + c] = f_mul(src[i + c], acc[c]);
            acc[c] = f_mul(acc[c], step);
        }
    }
    for (int c = 0; i < n; i++, c++) dst[i] = f_mul(src[i], acc[c]);
}

/* a[j] <- scale * a[(n - j) mod n] for all j. */
static void reverse_scale_scalar(fe *a, size_t n, fe scale) {
    a[0] = f_mul(a[0], scale);
    for (size_t j = 1; j < n - j; j++) {
        fe lo = a[j], hi = a[n - j];
        a[j] = f_mul(hi, scale);
        a[n - j] = f_mul(lo, scale);
    }
    if (n >= 2) a[n / 2] = f_mul(a[n / 2], scale);
}

#ifdef ZK_NTT_X86
#define ZK_AVX512 __attribute__((target("avx512f")))

ZK_AVX512 static inline __m512i v_add(__m512i a, __m512i b) {
    /* s = a + b + eps (mod 2^64); b + eps < 2^64 as b < p. s wrapped iff a + b >= p, and
     * then s = a + b - p; otherwise the sum is s - eps. */
    const __m512i eps = _mm512_set1_epi64((long long)ZK_EPSILON);
    __m512i s = _mm512_add_epi64(a, _mm512_add_epi64(b, eps));
    __mmask8 no_wrap = _mm512_cmpge_epu64_mask(s, a);
    return _mm512_mask_sub_epi64(s, no_wrap, s, eps);
}

ZK_AVX512 static inline __m512i v_sub(__m512i a, __m512i b) {
    const __m512i eps = _mm512_set1_epi64((long long)ZK_EPSILON);
    __m512i d = _mm512_sub_epi64(a, b);
    __mmask8 borrow = _mm512_cmplt_epu64_mask(a, b);
    return _mm512_mask_sub_epi64(d, borrow, d, eps); /* a - b + 2^64 - eps = a - b + p */
}

/* The same reduction as f_reduce128, lane-wise. */
ZK_AVX512 static inline __m512i v_reduce(__m512i lo, __m512i hi) {
    const __m512i eps = _mm512_set1_epi64((long long)ZK_EPSILON);
    __m512i hi_hi = _mm512_srli_epi64(hi, 32);
    __m512i t0 = _mm512_sub_epi64(lo, hi_hi);
    t0 = _mm512_mask_sub_epi64(t0, _mm512_cmplt_epu64_mask(lo, hi_hi), t0, eps);
    __m512i t1 = _mm512_mul_epu32(hi, eps); /* (hi mod 2^32) * (2^32 - 1) */
    __m512i t2 = _mm512_add_epi64(t0, t1);
    t2 = _mm512_mask_add_epi64(t2, _mm512_cmplt_epu64_mask(t2, t1), t2, eps);
    return _mm512_min_epu64(t2, _mm512_add_epi64(t2, eps)); /* t2 - p iff that wraps below t2 */
}

ZK_AVX512 static inline __m512i v_mul(__m512i a, __m512i b) {
    const __m512i low32 = _mm512_set1_epi64(0xFFFFFFFFLL);
    __m512i a_hi = _mm512_srli_epi64(a, 32), b_hi = _mm512_srli_epi64(b, 32);
    __m512i ll = _mm512_mul_epu32(a, b), lh = _mm512_mul_epu32(a, b_hi);
    __m512i hl = _mm512_mul_epu32(a_hi, b), hh = _mm512_mul_epu32(a_hi, b_hi);
    /* Neither middle sum can carry: (2^32-1)^2 + 2^32 - 1 < 2^64. */
    __m512i mid = _mm512_add_epi64(lh, _mm512_srli_epi64(ll, 32));
    __m512i mid2 = _mm512_add_epi64(hl, _mm512_and_si512(mid, low32));
    __m512i lo = _mm512_mask_blend_epi32(0xAAAA, ll, _mm512_slli_epi64(mid2, 32));
    __m512i hi = _mm512_add_epi64(hh, _mm512_add_epi64(_mm512_srli_epi64(mid, 32),
                                                        _mm512_srli_epi64(mid2, 32)));
    return v_reduce(lo, hi);
}

ZK_AVX512 static void butterflies_avx512(fe *x, fe *y, const fe *w, size_t len) {
    for (size_t j = 0; j < len; j += 8) {
        __m512i u = _mm512_loadu_si512((const void *)(x + j));
        __m512i v = _mm512_loadu_si512((const void *)(y + j));
        __m512i t = _mm512_loadu_si512((const void *)(w + j));
        _mm512_storeu_si512((void *)(x + j), v_add(u, v));
        _mm512_storeu_si512((void *)(y + j), v_mul(v_sub(u, v), t));
    }
}

/* x * 2^48, as in f_mul_w4. */
ZK_AVX512 static inline __m512i v_mul_w4(__m512i x) {
    return v_reduce(_mm512_slli_epi64(x, 48), _mm512_srli_epi64(x, 16));
}

ZK_AVX512 static void butterflies4_avx512(fe *a, size_t q, const fe *w1, const fe *w2, const fe *w3) {
    fe *p0 = a, *p1 = a + q, *p2 = a + 2 * q, *p3 = a + 3 * q;
    for (size_t j = 0; j < q; j += 8) {
        __m512i x0 = _mm512_loadu_si512((const void *)(p0 + j));
        __m512i x1 = _mm512_loadu_si512((const void *)(p1 + j));
        __m512i x2 = _mm512_loadu_si512((const void *)(p2 + j));
        __m512i x3 = _mm512_loadu_si512((const void *)(p3 + j));
        __m512i s02 = v_add(x0, x2), d02 = v_sub(x0, x2), s13 = v_add(x1, x3);
        __m512i t = v_mul_w4(v_sub(x1, x3));
        _mm512_storeu_si512((void *)(p0 + j), v_add(s02, s13));
        _mm512_storeu_si512((void *)(p1 + j),
                            v_mul(v_sub(s02, s13), _mm512_loadu_si512((const void *)(w2 + j))));
        _mm512_storeu_si512((void *)(p2 + j),
                            v_mul(v_add(d02, t), _mm512_loadu_si512((const void *)(w1 + j))));
        _mm512_storeu_si512((void *)(p3 + j),
                            v_mul(v_sub(d02, t), _mm512_loadu_si512((const void *)(w3 + j))));
    }
}

/* One layer of half-size h in {4, 2, 1} on 16 elements held in (a, b): gather the u and v
 * halves of every butterfly with a two-source permute, apply it, and scatter back. */
#define ZK_IDX(...) _mm512_set_epi64(__VA_ARGS__)
ZK_AVX512 static inline void tail_layer(__m512i *a, __m512i *b, __m512i iu, __m512i iv,
                                        __m512i ia, __m512i ib, __m512i w, int multiply) {
    __m512i u = _mm512_permutex2var_epi64(*a, iu, *b);
    __m512i v = _mm512_permutex2var_epi64(*a, iv, *b);
    __m512i s = v_add(u, v), d = v_sub(u, v);
    if (multiply) d = v_mul(d, w);
    *a = _mm512_permutex2var_epi64(s, ia, d);
    *b = _mm512_permutex2var_epi64(s, ib, d);
}

ZK_AVX512 static void leaf_avx512(fe *a, unsigned log_n, const twiddle_set *tw) {
    if (log_n < 4) {
        leaf_scalar(a, log_n, tw);
        return;
    }
    size_t n = (size_t)1 << log_n;
    unsigned k = log_n;
    for (; k >= 5; k -= 2) { /* radix-4 while both layers have at least 8 butterflies */
        size_t q = (size_t)1 << (k - 2);
        for (size_t base = 0; base < n; base += 4 * q)
            butterflies4_avx512(a + base, q, tw->w[k], tw->w[k - 1], tw->w3[k]);
    }
    if (k == 4)
        for (size_t base = 0; base < n; base += 16) butterflies_avx512(a + base, a + base + 8, tw->w[4], 8);
    /* _mm512_set_epi64 lists lanes 7..0. */
    const __m512i i4u = ZK_IDX(11, 10, 9, 8, 3, 2, 1, 0), i4v = ZK_IDX(15, 14, 13, 12, 7, 6, 5, 4);
    const __m512i i2u = ZK_IDX(13, 12, 9, 8, 5, 4, 1, 0), i2v = ZK_IDX(15, 14, 11, 10, 7, 6, 3, 2);
    const __m512i i2a = ZK_IDX(11, 10, 3, 2, 9, 8, 1, 0), i2b = ZK_IDX(15, 14, 7, 6, 13, 12, 5, 4);
    const __m512i i1u = ZK_IDX(14, 12, 10, 8, 6, 4, 2, 0), i1v = ZK_IDX(15, 13, 11, 9, 7, 5, 3, 1);
    const __m512i i1a = ZK_IDX(11, 3, 10, 2, 9, 1, 8, 0), i1b = ZK_IDX(15, 7, 14, 6, 13, 5, 12, 4);
    const fe *w8 = tw->w[3];
    const __m512i tw4 = _mm512_set_epi64((long long)w8[3], (long long)w8[2], (long long)w8[1],
                                         (long long)w8[0], (long long)w8[3], (long long)w8[2],
                                         (long long)w8[1], (long long)w8[0]);
    const long long w4 = (long long)tw->w[2][1];
    const __m512i tw2 = _mm512_set_epi64(w4, 1, w4, 1, w4, 1, w4, 1);
    for (size_t i = 0; i < n; i += 16) {
        __m512i x = _mm512_loadu_si512((const void *)(a + i));
        __m512i y = _mm512_loadu_si512((const void *)(a + i + 8));
        tail_layer(&x, &y, i4u, i4v, i4u, i4v, tw4, 1);
        tail_layer(&x, &y, i2u, i2v, i2a, i2b, tw2, 1);
        tail_layer(&x, &y, i1u, i1v, i1a, i1b, tw2, 0);
        _mm512_storeu_si512((void *)(a + i), x);
        _mm512_storeu_si512((void *)(a + i + 8), y);
    }
}

/* Four independent chains of eight lanes: one chain's multiplier update is a long
 * dependent latency (a product then a reduction), which four chains overlap. */
ZK_AVX512 static void scale_powers_avx512(const fe *src, fe *dst, size_t n, fe start, fe base) {
    fe lanes[32];
    lanes[0] = start;
    for (int c = 1; c < 32; c++) lanes[c] = f_mul(lanes[c - 1], base);
    __m512i acc[4];
    for (int c = 0; c < 4; c++) acc[c] = _mm512_loadu_si512((const void *)(lanes + 8 * c));
    __m512i step = _mm512_set1_epi64((long long)f_pow(base, 32));
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        for (int c = 0; c < 4; c++) {
            __m512i v = _mm512_loadu_si512((const void *)(src + i + 8 * c));
            _mm512_storeu_si512((void *)(dst + i + 8 * c), v_mul(v, acc[c]));
            acc[c] = v_mul(acc[c], step);
        }
    }
    for (int c = 0; c < 4; c++) _mm512_storeu_si512((void *)(lanes + 8 * c), acc[c]);
    for (int c = 0; i < n; i++, c++) dst[i] = f_mul(src[i], lanes[c]);
}

ZK_AVX512 static void reverse_scale_avx512(fe *a, size_t n, fe scale) {
    if (n < 32) {
        reverse_scale_scalar(a, n, scale);
        return;
    }
    const __m512i rev = ZK_IDX(0, 1, 2, 3, 4, 5, 6, 7);
    const __m512i s = _mm512_set1_epi64((long long)scale);
    a[0] = f_mul(a[0], scale);
    size_t j = 1;
    /* Swap a[j..j+8) with a[n-j-7..n-j], each reversed; stop before the blocks meet. */
    for (; j + 8 <= n - j - 7; j += 8) {
        __m512i lo = _mm512_loadu_si512((const void *)(a + j));
        __m512i hi = _mm512_loadu_si512((const void *)(a + n - j - 7));
        _mm512_storeu_si512((void *)(a + j), v_mul(_mm512_permutexvar_epi64(rev, hi), s));
        _mm512_storeu_si512((void *)(a + n - j - 7), v_mul(_mm512_permutexvar_epi64(rev, lo), s));
    }
    for (; j < n - j; j++) {
        fe lo = a[j], hi = a[n - j];
        a[j] = f_mul(hi, scale);
        a[n - j] = f_mul(lo, scale);
    }
    a[n / 2] = f_mul(a[n / 2], scale);
}
#endif /* ZK_NTT_X86 */

/* ------------------------------------------------------------------------------------
 * AVX2 kernels: four lanes, field arithmetic from field_avx2.h. Same structure as the
 * AVX-512 ones; the tail of a leaf (the last two layers, whose butterflies pair
 * neighbouring elements) transposes 4 x 4 tiles so that each register holds one
 * position of four radix-4 groups, and the butterfly becomes lane-wise. */
#ifdef ZK_HAVE_AVX2_KERNELS

ZK_AVX2 static void butterflies_avx2(fe *x, fe *y, const fe *w, size_t len) {
    for (size_t j = 0; j < len; j += 4) {
        __m256i u = v4_load(x + j), v = v4_load(y + j);
        v4_store(x + j, v4_add(u, v));
        v4_store(y + j, v4_mul(v4_sub(u, v), v4_load(w + j)));
    }
}

ZK_AVX2 static void butterflies4_avx2(fe *a, size_t q, const fe *w1, const fe *w2, const fe *w3) {
    fe *p0 = a, *p1 = a + q, *p2 = a + 2 * q, *p3 = a + 3 * q;
    for (size_t j = 0; j < q; j += 4) {
        __m256i x0 = v4_load(p0 + j), x1 = v4_load(p1 + j);
        __m256i x2 = v4_load(p2 + j), x3 = v4_load(p3 + j);
        __m256i s02 = v4_add(x0, x2), d02 = v4_sub(x0, x2), s13 = v4_add(x1, x3);
        __m256i t = v4_mul_w4(v4_sub(x1, x3));
        v4_store(p0 + j, v4_add(s02, s13));
        v4_store(p1 + j, v4_mul(v4_sub(s02, s13), v4_load(w2 + j)));
        v4_store(p2 + j, v4_mul(v4_add(d02, t), v4_load(w1 + j)));
        v4_store(p3 + j, v4_mul(v4_sub(d02, t), v4_load(w3 + j)));
    }
}

/* Transpose the 4 x 4 matrix of 64-bit elements whose rows are r[0..4) (an involution). */
ZK_AVX2 static inline void transpose4(__m256i r[4]) {
    __m256i t0 = _mm256_unpacklo_epi64(r[0], r[1]), t1 = _mm256_unpackhi_epi64(r[0], r[1]);
    __m256i t2 = _mm256_unpacklo_epi64(r[2], r[3]), t3 = _mm256_unpackhi_epi64(r[2], r[3]);
    r[0] = _mm256_permute2x128_si256(t0, t2, 0x20);
    r[1] = _mm256_permute2x128_si256(t1, t3, 0x20);
    r[2] = _mm256_permute2x128_si256(t0, t2, 0x31);
    r[3] = _mm256_permute2x128_si256(t1, t3, 0x31);
}

ZK_AVX2 static void leaf_avx2(fe *a, unsigned log_n, const twiddle_set *tw) {
    if (log_n < 4) {
        leaf_scalar(a, log_n, tw);
        return;
    }
    size_t n = (size_t)1 << log_n;
    unsigned k = log_n;
    for (; k >= 4; k -= 2) { /* radix-4 while a quarter holds at least one vector */
        size_t q = (size_t)1 << (k - 2);
        for (size_t base = 0; base < n; base += 4 * q)
            butterflies4_avx2(a + base, q, tw->w[k], tw->w[k - 1], tw->w3[k]);
    }
    if (k == 3) {
        __m256i w8 = v4_load(tw->w[3]);
        for (size_t base = 0; base < n; base += 8) {
            __m256i u = v4_load(a + base), v = v4_load(a + base + 4);
            v4_store(a + base, v4_add(u, v));
            v4_store(a + base + 4, v4_mul(v4_sub(u, v), w8));
        }
    }
    /* The last two layers (radix-4, q = 1, twiddles 1 and w_4), four groups at a time:
     * after the transpose r[i] holds element i of each group. n >= 16 here. */
    for (size_t base = 0; base < n; base += 16) {
        __m256i r[4];
        for (int i = 0; i < 4; i++) r[i] = v4_load(a + base + 4 * i);
        transpose4(r);
        __m256i s02 = v4_add(r[0], r[2]), d02 = v4_sub(r[0], r[2]);
        __m256i s13 = v4_add(r[1], r[3]), t = v4_mul_w4(v4_sub(r[1], r[3]));
        r[0] = v4_add(s02, s13);
        r[1] = v4_sub(s02, s13);
        r[2] = v4_add(d02, t);
        r[3] = v4_sub(d02, t);
        transpose4(r);
        for (int i = 0; i < 4; i++) v4_store(a + base + 4 * i, r[i]);
    }
}

/* Four independent chains of four lanes, as in scale_powers_avx512. */
ZK_AVX2 static void scale_powers_avx2(const fe *src, fe *dst, size_t n, fe start, fe base) {
    fe lanes[16];
    lanes[0] = start;
    for (int c = 1; c < 16; c++) lanes[c] = f_mul(lanes[c - 1], base);
    __m256i acc[4];
    for (int c = 0; c < 4; c++) acc[c] = v4_load(lanes + 4 * c);
    __m256i step = _mm256_set1_epi64x((long long)f_pow(base, 16));
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        for (int c = 0; c < 4; c++) {
            v4_store(dst + i + 4 * c, v4_mul(v4_load(src + i + 4 * c), acc[c]));
            acc[c] = v4_mul(acc[c], step);
        }
    }
    for (int c = 0; c < 4; c++) v4_store(lanes + 4 * c, acc[c]);
    for (int c = 0; i < n; i++, c++) dst[i] = f_mul(src[i], lanes[c]);
}

ZK_AVX2 static void reverse_scale_avx2(fe *a, size_t n, fe scale) {
    if (n < 16) {
        reverse_scale_scalar(a, n, scale);
        return;
    }
    const __m256i s = _mm256_set1_epi64x((long long)scale);
    a[0] = f_mul(a[0], scale);
    size_t j = 1;
    /* Swap a[j..j+4) with a[n-j-3..n-j], each reversed (permute 0x1B = lanes 3,2,1,0);
     * stop before the blocks meet. */
    for (; j + 4 <= n - j - 3; j += 4) {
        __m256i lo = v4_load(a + j), hi = v4_load(a + n - j - 3);
        v4_store(a + j, v4_mul(_mm256_permute4x64_epi64(hi, 0x1B), s));
        v4_store(a + n - j - 3, v4_mul(_mm256_permute4x64_epi64(lo, 0x1B), s));
    }
    for (; j < n - j; j++) {
        fe lo = a[j], hi = a[n - j];
        a[j] = f_mul(hi, scale);
        a[n - j] = f_mul(lo, scale);
    }
    a[n / 2] = f_mul(a[n / 2], scale);
}
#endif /* ZK_HAVE_AVX2_KERNELS */

static const ntt_kernels scalar_kernels = {butterflies_scalar, butterflies4_scalar, leaf_scalar,
                                           scale_powers_scalar, reverse_scale_scalar, 1};
#ifdef ZK_NTT_X86
static const ntt_kernels avx512_kernels = {butterflies_avx512, butterflies4_avx512, leaf_avx512,
                                           scale_powers_avx512, reverse_scale_avx512, 8};
#endif
#ifdef ZK_HAVE_AVX2_KERNELS
static const ntt_kernels avx2_kernels = {butterflies_avx2, butterflies4_avx2, leaf_avx2,
                                         scale_powers_avx2, reverse_scale_avx2, 4};
#endif

/* The kernels of the level in use (cpu.h): chosen per transform, so a forced level takes
 * effect at the next call. */
static const ntt_kernels *kernels(void) {
    switch (zk_kernel_level()) {
#ifdef ZK_NTT_X86
    case ZK_KERNELS_AVX512: return &avx512_kernels;
#endif
#ifdef ZK_HAVE_AVX2_KERNELS
    case ZK_KERNELS_AVX2: return &avx2_kernels;
#endif
    default: return &scalar_kernels;
    }
}

/* Kept for callers of the two-path API: "not scalar" means the best level the CPU has. */
int zk_ntt_force_scalar(int force) {
    int previous = zk_kernels_force(force ? ZK_KERNELS_SCALAR : -1);
    return previous == ZK_KERNELS_SCALAR;
}

int zk_ntt_has_avx512(void) { return zk_cpu_level() >= ZK_KERNELS_AVX512; }

int zk_ntt_has_avx2(void) { return zk_cpu_level() >= ZK_KERNELS_AVX2; }

/* ------------------------------------------------------------------------------------
 * The DIF core, optionally spread over threads. */

/* Transforms from 2^ZK_CANCEL_LOG elements up poll the cancel flag (parallel.h) before
 * starting: about a millisecond of work apart, and one load per 2^16 elements. */
#define ZK_CANCEL_LOG 16

static void dif_rec(const ntt_kernels *k, fe *a, unsigned log_n, const twiddle_set *tw) {
    if (log_n >= ZK_CANCEL_LOG && zk_cancelled()) return;
    if (log_n <= ZK_LEAF_LOG) {
        k->leaf(a, log_n, tw);
        return;
    }
    if (log_n == ZK_LEAF_LOG + 1) {
        size_t h = (size_t)1 << (log_n - 1);
        k->butterflies(a, a + h, tw->w[log_n], h);
        dif_rec(k, a, log_n - 1, tw);
        dif_rec(k, a + h, log_n - 1, tw);
        return;
    }
    size_t q = (size_t)1 << (log_n - 2);
    k->butterflies4(a, q, tw->w[log_n], tw->w[log_n - 1], tw->w3[log_n]);
    for (int i = 0; i < 4; i++) dif_rec(k, a + i * q, log_n - 2, tw);
}

typedef struct {
    const ntt_kernels *k;
    fe *a;
    unsigned log_n;    /* size of the blocks of the current layer */
    size_t n_blocks;   /* blocks of 2^log_n elements in the current layer */
    const twiddle_set *tw;
} dif_job;

/* One layer over every block, split by butterfly index in vector-width units. */
static void dif_layer_chunk(void *ctx, size_t begin, size_t end) {
    const dif_job *job = (const dif_job *)ctx;
    size_t h = (size_t)1 << (job->log_n - 1), vw = job->k->vector_width, per_block = h / vw;
    for (size_t i = begin; i < end;) {
        if (zk_cancelled()) return;
        size_t block = i / per_block, j0 = i % per_block;
        size_t j1 = end - block * per_block < per_block ? end - block * per_block : per_block;
        fe *x = job->a + (block << job->log_n);
        job->k->butterflies(x + j0 * vw, x + h + j0 * vw, job->tw->w[job->log_n] + j0 * vw,
                            (j1 - j0) * vw);
        i += j1 - j0;
    }
}

static void dif_block_chunk(void *ctx, size_t begin, size_t end) {
    const dif_job *job = (const dif_job *)ctx;
    for (size_t b = begin; b < end; b++) dif_rec(job->k, job->a + (b << job->log_n), job->log_n, job->tw);
}

static void dif(const ntt_kernels *k, fe *a, unsigned log_n, const twiddle_set *tw, unsigned threads) {
    if (threads <= 1 || log_n < ZK_MT_MIN_LOG) {
        dif_rec(k, a, log_n, tw);
        return;
    }
    /* Breadth-first until there are at least as many blocks as threads, then one block
     * per work item. */
    dif_job job = {k, a, log_n, 1, tw};
    while (job.n_blocks < threads && job.log_n > ZK_LEAF_LOG) {
        size_t units = job.n_blocks * (((size_t)1 << (job.log_n - 1)) / k->vector_width);
        zk_parallel_for(threads, units, dif_layer_chunk, &job);
        job.log_n--;
        job.n_blocks *= 2;
    }
    zk_parallel_for(threads, job.n_blocks, dif_block_chunk, &job);
}

/* ------------------------------------------------------------------------------------
 * Bit reversal in place. Index bits split as hi | mid | lo with hi and lo of TILE bits;
 * i = hi|mid|lo and rev(i) = rev(lo)|rev(mid)|rev(hi), so the 2^TILE x 2^TILE tile of a
 * given mid maps onto the tile of rev(mid) transposed. Each pair of tiles is read into
 * a buffer and written back swapped; every access touches runs of 2^TILE elements. */

static inline size_t reverse_bits(size_t x, unsigned bits) {
    uint64_t v = (uint64_t)x;
    v = ((v & 0x5555555555555555ULL) << 1) | ((v >> 1) & 0x5555555555555555ULL);
    v = ((v & 0x3333333333333333ULL) << 2) | ((v >> 2) & 0x3333333333333333ULL);
    v = ((v & 0x0F0F0F0F0F0F0F0FULL) << 4) | ((v >> 4) & 0x0F0F0F0F0F0F0F0FULL);
    v = __builtin_bswap64(v);
    return bits ? (size_t)(v >> (64 - bits)) : 0;
}

typedef struct {
    fe *a;
    unsigned log_n;
} bitrev_job;

#define ZK_TILE ((size_t)1 << ZK_BITREV_TILE)

static void bitrev_tiles(void *ctx, size_t begin, size_t end) {
    const bitrev_job *job = (const bitrev_job *)ctx;
    fe *a = job->a;
    unsigned mid_bits = job->log_n - 2 * ZK_BITREV_TILE, hi_shift = mid_bits + ZK_BITREV_TILE;
    fe t1[ZK_TILE * ZK_TILE], t2[ZK_TILE * ZK_TILE];
    unsigned char rv[ZK_TILE];
    for (size_t i = 0; i < ZK_TILE; i++) rv[i] = (unsigned char)reverse_bits(i, ZK_BITREV_TILE);
    for (size_t m = begin; m < end; m++) {
        if ((m & 63) == 0 && zk_cancelled()) return;
        size_t mr = reverse_bits(m, mid_bits);
        if (mr < m) continue; /* the pair was handled at mr */
        for (size_t hi = 0; hi < ZK_TILE; hi++) {
            memcpy(t1 + hi * ZK_TILE, a + (hi << hi_shift) + (m << ZK_BITREV_TILE), sizeof(fe) * ZK_TILE);
            if (mr != m)
                memcpy(t2 + hi * ZK_TILE, a + (hi << hi_shift) + (mr << ZK_BITREV_TILE),
                       sizeof(fe) * ZK_TILE);
        }
        for (size_t x = 0; x < ZK_TILE; x++) {
            fe *d = a + (x << hi_shift) + (mr << ZK_BITREV_TILE);
            for (size_t y = 0; y < ZK_TILE; y++) d[y] = t1[rv[y] * ZK_TILE + rv[x]];
        }
        if (mr == m) continue;
        for (size_t x = 0; x < ZK_TILE; x++) {
            fe *d = a + (x << hi_shift) + (m << ZK_BITREV_TILE);
            for (size_t y = 0; y < ZK_TILE; y++) d[y] = t2[rv[y] * ZK_TILE + rv[x]];
        }
    }
}

static void bitrev_permute(fe *a, unsigned log_n, unsigned threads) {
    if (log_n < 2 * ZK_BITREV_TILE + 2) {
        size_t n = (size_t)1 << log_n;
        for (size_t i = 0; i < n; i++) {
            size_t j = reverse_bits(i, log_n);
            if (i < j) {
                fe t = a[i];
                a[i] = a[j];
                a[j] = t;
            }
        }
        return;
    }
    bitrev_job job = {a, log_n};
    size_t mids = (size_t)1 << (log_n - 2 * ZK_BITREV_TILE);
    zk_parallel_for(log_n >= ZK_MT_MIN_LOG ? threads : 1, mids, bitrev_tiles, &job);
}

/* ------------------------------------------------------------------------------------
 * Public transforms. */

static int forward(fe *values, unsigned log_n, unsigned threads) {
    twiddle_set tw;
    if (log_n > ZK_NTT_MAX_LOG) return -1;
    if (load_twiddles(log_n, &tw)) return -1;
    dif(kernels(), values, log_n, &tw, threads);
    bitrev_permute(values, log_n, threads);
    return 0;
}

int zk_ntt_threaded(fe *values, unsigned log_n, unsigned threads) {
    if (log_n == 0) return 0;
    return forward(values, log_n, threads);
}

int zk_intt_threaded(fe *values, unsigned log_n, unsigned threads) {
    if (log_n == 0) return 0;
    if (forward(values, log_n, threads)) return -1;
    kernels()->reverse_scale(values, (size_t)1 << log_n, f_inv((fe)1 << log_n));
    return 0;
}

int zk_coset_ntt_threaded(fe *values, unsigned log_n, fe offset, unsigned threads) {
    if (log_n > ZK_NTT_MAX_LOG) return -1;
    size_t n = (size_t)1 << log_n;
    kernels()->scale_powers(values, values, n, 1, offset);
    if (log_n == 0) return 0;
    return forward(values, log_n, threads);
}

int zk_coset_intt_threaded(fe *values, unsigned log_n, fe offset, unsigned threads) {
    if (log_n > ZK_NTT_MAX_LOG) return -1;
    size_t n = (size_t)1 << log_n;
    const ntt_kernels *k = kernels();
    if (log_n > 0) {
        if (forward(values, log_n, threads)) return -1;
        k->reverse_scale(values, n, 1);
    }
    k->scale_powers(values, values, n, f_inv((fe)n), f_inv(offset));
    return 0;
}

int zk_ntt(fe *values, unsigned log_n) { return zk_ntt_threaded(values, log_n, 1); }
int zk_intt(fe *values, unsigned log_n) { return zk_intt_threaded(values, log_n, 1); }
int zk_coset_ntt(fe *values, unsigned log_n, fe offset) {
    return zk_coset_ntt_threaded(values, log_n, offset, 1);
}
int zk_coset_intt(fe *values, unsigned log_n, fe offset) {
    return zk_coset_intt_threaded(values, log_n, offset, 1);
}

/* ------------------------------------------------------------------------------------
 * Low-degree extension.
 *
 * With N = B*T, a size-N DIF of the zero-padded coefficients c'_j = c_j * offset^j leaves
 * at memory block q (of B blocks of T) the size-T DIF of c'_j * w_N^(j * rev_B(q)):
 * position q*T + i holds the evaluation at index rev_T(i)*B + rev_B(q) = rev_N(q*T + i).
 * So: interpolate once (size T), write B scaled copies of the coefficients, run B
 * size-T DIFs, and one size-N bit reversal puts everything in natural order. The first
 * log2(B) layers of the size-N transform, which act on zeros, are never done.
 */

typedef struct {
    const ntt_kernels *k;
    const fe *const *in;
    fe *const *out;
    size_t n_cols;
    unsigned log_t, log_blowup;
    fe offset;
    const twiddle_set *tw;
    fe inv_t;
    fe *block_base; /* B entries: offset * w_N^rev_B(q) */
    unsigned threads_per_item;
    int from_coeffs; /* in[c] holds coefficients already: no interpolation, inv_t = 1 */
} lde_job;

/* out[c][0..T) <- T * coefficients of column c, by ntt + index reversal (1/T comes later). */
static void lde_interpolate(void *ctx, size_t begin, size_t end) {
    const lde_job *job = (const lde_job *)ctx;
    size_t t = (size_t)1 << job->log_t;
    for (size_t c = begin; c < end; c++) {
        fe *o = job->out[c];
        memcpy(o, job->in[c], t * sizeof(fe));
        if (job->from_coeffs) continue;
        dif(job->k, o, job->log_t, job->tw, job->threads_per_item);
        bitrev_permute(o, job->log_t, job->threads_per_item);
        job->k->reverse_scale(o, t, 1);
    }
}

/* Blocks q >= 1 of each column: scaled copy of block 0, then a size-T DIF. */
static void lde_blocks(void *ctx, size_t begin, size_t end) {
    const lde_job *job = (const lde_job *)ctx;
    size_t t = (size_t)1 << job->log_t, per_col = ((size_t)1 << job->log_blowup) - 1;
    for (size_t item = begin; item < end; item++) {
        if (zk_cancelled()) return;
        size_t c = item / per_col, q = 1 + item % per_col;
        fe *o = job->out[c];
        job->k->scale_powers(o, o + q * t, t, job->inv_t, job->block_base[q]);
        dif(job->k, o + q * t, job->log_t, job->tw, 1);
    }
}

static void lde_first_block(void *ctx, size_t begin, size_t end) {
    const lde_job *job = (const lde_job *)ctx;
    size_t t = (size_t)1 << job->log_t;
    for (size_t c = begin; c < end; c++) {
        fe *o = job->out[c];
        job->k->scale_powers(o, o, t, job->inv_t, job->block_base[0]);
        dif(job->k, o, job->log_t, job->tw, job->threads_per_item);
    }
}

static void lde_reorder(void *ctx, size_t begin, size_t end) {
    const lde_job *job = (const lde_job *)ctx;
    for (size_t c = begin; c < end; c++)
        bitrev_permute(job->out[c], job->log_t + job->log_blowup, job->threads_per_item);
}

/* Whole columns, one after another: each column's passes run while it is in cache. */
static void lde_columns(void *ctx, size_t begin, size_t end) {
    const lde_job *job = (const lde_job *)ctx;
    size_t per_col = ((size_t)1 << job->log_blowup) - 1;
    for (size_t c = begin; c < end; c++) {
        if (zk_cancelled()) return;
        lde_interpolate(ctx, c, c + 1);
        lde_blocks(ctx, c * per_col, (c + 1) * per_col);
        lde_first_block(ctx, c, c + 1);
        lde_reorder(ctx, c, c + 1);
    }
}

static int lde(const fe *const *in, fe *const *out, size_t n_cols, unsigned log_t,
               unsigned log_blowup, fe offset, unsigned threads, int from_coeffs) {
    if (n_cols == 0) return 0;
    unsigned log_n = log_t + log_blowup;
    if (log_n > ZK_NTT_MAX_LOG) return -1;
    twiddle_set tw;
    if (load_twiddles(log_t, &tw)) return -1;
    size_t blowup = (size_t)1 << log_blowup;
    fe *block_base = (fe *)malloc(blowup * sizeof(fe));
    if (!block_base) return -1;
    fe w_n = f_root_of_unity(log_n);
    for (size_t q = 0; q < blowup; q++)
        block_base[q] = f_mul(offset, f_pow(w_n, reverse_bits(q, log_blowup)));
    if (threads < 1) threads = 1;
    lde_job job = {kernels(), in, out, n_cols, log_t, log_blowup, offset, &tw,
                   from_coeffs ? 1 : f_inv((fe)1 << log_t), block_base, 1, from_coeffs};
    if (threads == 1 || n_cols % threads == 0 || n_cols >= 4 * (size_t)threads) {
        /* Columns split evenly (or nearly: at most one column of imbalance in four). */
        zk_parallel_for(threads, n_cols, lde_columns, &job);
    } else {
        /* Too few columns to share out: every pass is split within the columns. */
        job.threads_per_item = threads;
        zk_parallel_for(1, n_cols, lde_interpolate, &job);
        if (blowup > 1) zk_parallel_for(threads, n_cols * (blowup - 1), lde_blocks, &job);
        zk_parallel_for(1, n_cols, lde_first_block, &job);
        zk_parallel_for(1, n_cols, lde_reorder, &job);
    }
    free(block_base);
    return 0;
}

int zk_lde(const fe *const *in, fe *const *out, size_t n_cols, unsigned log_t,
           unsigned log_blowup, fe offset, unsigned threads) {
    return lde(in, out, n_cols, log_t, log_blowup, offset, threads, 0);
}

int zk_lde_coeffs(const fe *const *in, fe *const *out, size_t n_cols, unsigned log_t,
                  unsigned log_blowup, fe offset, unsigned threads) {
    return lde(in, out, n_cols, log_t, log_blowup, offset, threads, 1);
}

/* ------------------------------------------------------------------------------------
 * Polynomial evaluation and batch inversion. */

fe3 zk_eval_base_poly_at_ext(const fe *coeffs, size_t n, fe3 x) {
    fe3 acc = E_ZERO;
    for (size_t i = n; i-- > 0;) {
        acc = e_mul(acc, x);
        acc.c0 = f_add(acc.c0, coeffs[i]);
    }
    return acc;
}

fe3 zk_eval_ext_poly_at_ext(const fe3 *coeffs, size_t n, fe3 x) {
    fe3 acc = E_ZERO;
    for (size_t i = n; i-- > 0;) acc = e_add(e_mul(acc, x), coeffs[i]);
    return acc;
}

/* Montgomery's trick in chunks: the running prefix products live in a stack buffer, so
 * out may alias values, and one inversion per chunk costs about 5% extra. Zeros are
 * skipped in the products and come out as zero. */
#define ZK_INV_CHUNK 2048

void zk_batch_inverse(const fe *values, fe *out, size_t n) {
    fe prefix[ZK_INV_CHUNK];
    for (size_t start = 0; start < n; start += ZK_INV_CHUNK) {
        size_t len = n - start < ZK_INV_CHUNK ? n - start : ZK_INV_CHUNK;
        const fe *v = values + start;
        fe acc = 1;
        for (size_t i = 0; i < len; i++) {
            prefix[i] = acc; /* product of the nonzero v[0..i) */
            if (v[i]) acc = f_mul(acc, v[i]);
        }
        fe inv = f_inv(acc); /* inverse of the product of every nonzero v */
        for (size_t i = len; i-- > 0;) {
            fe x = v[i];
            if (x) {
                out[start + i] = f_mul(inv, prefix[i]);
                inv = f_mul(inv, x);
            } else {
                out[start + i] = 0;
            }
        }
    }
}

void zk_batch_inverse_ext(const fe3 *values, fe3 *out, size_t n) {
    fe3 prefix[ZK_INV_CHUNK];
    for (size_t start = 0; start < n; start += ZK_INV_CHUNK) {
        size_t len = n - start < ZK_INV_CHUNK ? n - start : ZK_INV_CHUNK;
        const fe3 *v = values + start;
        fe3 acc = E_ONE;
        for (size_t i = 0; i < len; i++) {
            prefix[i] = acc;
            if (!e_is_zero(v[i])) acc = e_mul(acc, v[i]);
        }
        fe3 inv = e_inv(acc);
        for (size_t i = len; i-- > 0;) {
            fe3 x = v[i];
            if (!e_is_zero(x)) {
                out[start + i] = e_mul(inv, prefix[i]);
                inv = e_mul(inv, x);
            } else {
                out[start + i] = E_ZERO;
            }
        }
    }
}

/* out[i] = 1/values[i], and 0 where values[i] = 0 (Montgomery's trick: one field
 * inversion and three multiplications per element). out may not alias values. */
void zk_batch_inverse_or_zero(const fe *values, fe *out, size_t n) {
    fe acc = 1;
    for (size_t i = 0; i < n; i++) {
        out[i] = acc; /* product of the nonzero values before i */
        if (values[i]) acc = f_mul(acc, values[i]);
    }
    fe inv = f_inv(acc); /* inverse of the product of all nonzero values */
    for (size_t i = n; i-- > 0;) {
        if (values[i]) {
            fe v = values[i];
            out[i] = f_mul(out[i], inv);
            inv = f_mul(inv, v);
        } else {
            out[i] = 0;
        }
    }
}
