/* SHA-256 (FIPS 180-4) with two compression kernels: portable C, and the x86 SHA
 * extensions (SHA-NI), chosen at run time from cpuid so the build needs no -march flag.
 * Everything above the compression function (padding, buffering, prefixes) is shared,
 * so the two kernels are interchangeable block for block. */
#include "hash.h"
#include "cpu.h"

#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <cpuid.h>
#include <immintrin.h>
#define ZK_HASH_X86 1
#endif

static const uint32_t K256[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static const uint32_t H0[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                               0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};

/* ---- portable kernel ---- */

static inline uint32_t rotr(uint32_t x, unsigned n) { return (x >> n) | (x << (32 - n)); }

static inline uint32_t load_be32(const uint8_t *p) {
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static void compress_portable(uint32_t state[8], const uint8_t *blocks, size_t n_blocks) {
    for (; n_blocks; n_blocks--, blocks += 64) {
        uint32_t w[64];
        for (int t = 0; t < 16; t++) w[t] = load_be32(blocks + 4 * t);
        for (int t = 16; t < 64; t++) {
            uint32_t s0 = rotr(w[t - 15], 7) ^ rotr(w[t - 15], 18) ^ (w[t - 15] >> 3);
            uint32_t s1 = rotr(w[t - 2], 17) ^ rotr(w[t - 2], 19) ^ (w[t - 2] >> 10);
            w[t] = w[t - 16] + s0 + w[t - 7] + s1;
        }
        uint32_t a = state[0], b = state[1], c = state[2], d = state[3];
        uint32_t e = state[4], f = state[5], g = state[6], h = state[7];
        for (int t = 0; t < 64; t++) {
            uint32_t t1 = h + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K256[t] + w[t];
            uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
            h = g;
            g = f;
            f = e;
            e = d + t1;
            d = c;
            c = b;
            b = a;
            a = t1 + t2;
        }
        state[0] += a;
        state[1] += b;
        state[2] += c;
        state[3] += d;
        state[4] += e;
        state[5] += f;
        state[6] += g;
        state[7] += h;
    }
}

/* ---- SHA-NI kernel ----
 * sha256rnds2 keeps the working variables as two vectors, ABEF and CDGH (lane 3 first),
 * does two rounds per call and leaves the roles of the two vectors swapped. One block
 * is a chain of 32 dependent sha256rnds2, so the x2 variant runs two independent
 * messages' chains interleaved to fill the latency. */

#ifdef ZK_HASH_X86
#define ZK_SHANI __attribute__((target("sha,sse4.1")))

typedef struct {
    __m128i abef, cdgh;
} shani_regs;

ZK_SHANI static inline shani_regs shani_load(const uint32_t state[8]) {
    __m128i dcba = _mm_loadu_si128((const __m128i *)state);
    __m128i hgfe = _mm_loadu_si128((const __m128i *)(state + 4));
    __m128i cdab = _mm_shuffle_epi32(dcba, 0xB1);
    __m128i efgh = _mm_shuffle_epi32(hgfe, 0x1B);
    shani_regs st = {_mm_alignr_epi8(cdab, efgh, 8), _mm_blend_epi16(efgh, cdab, 0xF0)};
    return st;
}

ZK_SHANI static inline void shani_store(shani_regs st, uint32_t state[8]) {
    __m128i feba = _mm_shuffle_epi32(st.abef, 0x1B);
    __m128i dchg = _mm_shuffle_epi32(st.cdgh, 0xB1);
    _mm_storeu_si128((__m128i *)state, _mm_blend_epi16(feba, dchg, 0xF0));
    _mm_storeu_si128((__m128i *)(state + 4), _mm_alignr_epi8(dchg, feba, 8));
}

/* W[4i .. 4i+3] from the previous four groups. */
ZK_SHANI static inline __m128i shani_schedule(__m128i w4, __m128i w3, __m128i w2, __m128i w1) {
    __m128i t = _mm_sha256msg1_epu32(w4, w3);             /* W[t-16] + s0(W[t-15]) */
    t = _mm_add_epi32(t, _mm_alignr_epi8(w1, w2, 4));     /* + W[t-7] */
    return _mm_sha256msg2_epu32(t, w1);                   /* + s1(W[t-2]) */
}

ZK_SHANI static inline void shani_rounds4(shani_regs *st, __m128i w, int i) {
    __m128i wk = _mm_add_epi32(w, _mm_loadu_si128((const __m128i *)(K256 + 4 * i)));
    st->cdgh = _mm_sha256rnds2_epu32(st->cdgh, st->abef, wk);
    st->abef = _mm_sha256rnds2_epu32(st->abef, st->cdgh, _mm_shuffle_epi32(wk, 0x0E));
}

ZK_SHANI static inline __m128i shani_message(const uint8_t *block, int i) {
    const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
    return _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(block + 16 * i)), bswap);
}

ZK_SHANI static inline void shani_block(shani_regs *st, const uint8_t *block) {
    shani_regs in = *st;
    __m128i w[16];
#pragma GCC unroll 16
    for (int i = 0; i < 16; i++) {
        w[i] = i < 4 ? shani_message(block, i) : shani_schedule(w[i - 4], w[i - 3], w[i - 2], w[i - 1]);
        shani_rounds4(st, w[i], i);
    }
    st->abef = _mm_add_epi32(st->abef, in.abef);
    st->cdgh = _mm_add_epi32(st->cdgh, in.cdgh);
}

ZK_SHANI static inline void shani_block_x2(shani_regs *s0, const uint8_t *b0, shani_regs *s1,
                                           const uint8_t *b1) {
    shani_regs in0 = *s0, in1 = *s1;
    __m128i w0[16], w1[16];
#pragma GCC unroll 16
    for (int i = 0; i < 16; i++) {
        if (i < 4) {
            w0[i] = shani_message(b0, i);
            w1[i] = shani_message(b1, i);
        } else {
            w0[i] = shani_schedule(w0[i - 4], w0[i - 3], w0[i - 2], w0[i - 1]);
            w1[i] = shani_schedule(w1[i - 4], w1[i - 3], w1[i - 2], w1[i - 1]);
        }
        shani_rounds4(s0, w0[i], i);
        shani_rounds4(s1, w1[i], i);
    }
    s0->abef = _mm_add_epi32(s0->abef, in0.abef);
    s0->cdgh = _mm_add_epi32(s0->cdgh, in0.cdgh);
    s1->abef = _mm_add_epi32(s1->abef, in1.abef);
    s1->cdgh = _mm_add_epi32(s1->cdgh, in1.cdgh);
}

ZK_SHANI static void compress_shani(uint32_t state[8], const uint8_t *blocks, size_t n_blocks) {
    shani_regs st = shani_load(state);
    for (; n_blocks; n_blocks--, blocks += 64) shani_block(&st, blocks);
    shani_store(st, state);
}

/* SHA-NI, SSSE3 (pshufb) and SSE4.1 (pblendw), and the OS need not save more than the
 * SSE state these use. */
static int cpu_has_shani(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    if (!(c & (1u << 9)) || !(c & (1u << 19))) return 0;
    if (__get_cpuid_max(0, 0) < 7) return 0;
    __cpuid_count(7, 0, a, b, c, d);
    return (b >> 29) & 1;
}
#endif

/* ---- dispatch ---- */

typedef void (*compress_fn)(uint32_t state[8], const uint8_t *blocks, size_t n_blocks);

static int shani_probe; /* 0 not probed yet, 1 absent, 2 present */
static int portable_forced;

int zk_sha256_has_shani(void) {
#ifdef ZK_HASH_X86
    int s = __atomic_load_n(&shani_probe, __ATOMIC_RELAXED);
    if (!s) {
        s = cpu_has_shani() ? 2 : 1; /* idempotent, so a race only repeats the probe */
        __atomic_store_n(&shani_probe, s, __ATOMIC_RELAXED);
    }
    /* Not tied to the kernel level (cpu.h): SHA-NI is one instruction per round, not a
     * vector width, and CPUs without AVX-512 commonly have it. */
    return s == 2 && !__atomic_load_n(&portable_forced, __ATOMIC_RELAXED);
#else
    return 0;
#endif
}

int zk_sha256_force_portable(int force) {
    return __atomic_exchange_n(&portable_forced, force ? 1 : 0, __ATOMIC_RELAXED);
}

static compress_fn compressor(void) {
#ifdef ZK_HASH_X86
    if (zk_sha256_has_shani()) return compress_shani;
#endif
    return compress_portable;
}

/* ---- padding and buffering ---- */

static inline void store_be32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static inline void store_be64(uint8_t *p, uint64_t v) {
    store_be32(p, (uint32_t)(v >> 32));
    store_be32(p + 4, (uint32_t)v);
}

void zk_sha256_init(zk_sha256_ctx *ctx) {
    memcpy(ctx->state, H0, sizeof H0);
    ctx->length = 0;
    ctx->buffered = 0;
}

void zk_sha256_update(zk_sha256_ctx *ctx, const void *data, size_t len) {
    const uint8_t *p = (const uint8_t *)data;
    compress_fn compress = compressor();
    ctx->length += len;
    if (ctx->buffered) {
        size_t take = 64 - ctx->buffered < len ? 64 - ctx->buffered : len;
        memcpy(ctx->buffer + ctx->buffered, p, take);
        ctx->buffered += take;
        p += take;
        len -= take;
        if (ctx->buffered < 64) return;
        compress(ctx->state, ctx->buffer, 1);
        ctx->buffered = 0;
    }
    if (len >= 64) {
        compress(ctx->state, p, len / 64);
        p += len & ~(size_t)63;
        len &= 63;
    }
    memcpy(ctx->buffer, p, len);
    ctx->buffered = len;
}

void zk_sha256_final(zk_sha256_ctx *ctx, uint8_t out[32]) {
    compress_fn compress = compressor();
    uint64_t bits = ctx->length * 8;
    size_t n = ctx->buffered;
    ctx->buffer[n++] = 0x80;
    if (n > 56) {
        memset(ctx->buffer + n, 0, 64 - n);
        compress(ctx->state, ctx->buffer, 1);
        n = 0;
    }
    memset(ctx->buffer + n, 0, 56 - n);
    store_be64(ctx->buffer + 56, bits);
    compress(ctx->state, ctx->buffer, 1);
    for (int i = 0; i < 8; i++) store_be32(out + 4 * i, ctx->state[i]);
}

/* ---- one-shot messages ----
 * A message M = P || D, with P empty or one prefix byte, seen as blocks without copying
 * D: block j < n_full is D itself at offset 64j - |P| (unaligned loads are fine for
 * both kernels), except block 0 with a prefix, which is copied into head; the last one
 * or two blocks, with the padding and the bit length, are built in tail. */
typedef struct {
    const uint8_t *data;
    size_t plen, n_full, n_tail;
    uint8_t head[64];
    uint8_t tail[128];
} zk_message;

static void message_plan(zk_message *m, size_t plen, uint8_t prefix, const uint8_t *data, size_t len) {
    size_t total = plen + len, rem = total % 64;
    m->data = data;
    m->plen = plen;
    m->n_full = total / 64;
    if (plen && m->n_full == 0) {
        m->tail[0] = prefix;
        if (len) memcpy(m->tail + 1, data, len);
    } else if (rem) {
        memcpy(m->tail, data + 64 * m->n_full - plen, rem);
    }
    if (plen && m->n_full) {
        m->head[0] = prefix;
        memcpy(m->head + 1, data, 63);
    }
    m->n_tail = rem + 9 > 64 ? 2 : 1;
    m->tail[rem] = 0x80;
    memset(m->tail + rem + 1, 0, 64 * m->n_tail - rem - 9);
    store_be64(m->tail + 64 * m->n_tail - 8, (uint64_t)total * 8);
}

static inline size_t message_blocks(const zk_message *m) { return m->n_full + m->n_tail; }

static inline const uint8_t *message_block(const zk_message *m, size_t j) {
    if (j >= m->n_full) return m->tail + 64 * (j - m->n_full);
    if (m->plen && j == 0) return m->head;
    return m->data + 64 * j - m->plen;
}

static void digest_out(const uint32_t state[8], uint8_t out[32]) {
    for (int i = 0; i < 8; i++) store_be32(out + 4 * i, state[i]);
}

static void message_digest(const zk_message *m, uint8_t out[32]) {
    compress_fn compress = compressor();
    uint32_t state[8];
    memcpy(state, H0, sizeof H0);
    size_t j = 0;
    if (m->plen && m->n_full) {
        compress(state, m->head, 1);
        j = 1;
    }
    if (m->n_full > j) compress(state, m->data + 64 * j - m->plen, m->n_full - j);
    compress(state, m->tail, m->n_tail);
    digest_out(state, out);
}

void zk_sha256(const void *data, size_t len, uint8_t out[32]) {
    zk_message m;
    message_plan(&m, 0, 0, (const uint8_t *)data, len);
    message_digest(&m, out);
}

void zk_sha256_prefixed(uint8_t prefix, const void *data, size_t len, uint8_t out[32]) {
    zk_message m;
    message_plan(&m, 1, prefix, (const uint8_t *)data, len);
    message_digest(&m, out);
}

#ifdef ZK_HASH_X86
/* ---- AVX-512 multi-buffer kernel ----
 * Sixteen messages of equal length at once, one per 32-bit lane: the round function is
 * plain SIMD (rotates, ternary logic, adds), so all sixteen share each instruction. On
 * CPUs whose SHA unit is slow to issue (about one sha256rnds2 per 3-4 cycles) this beats
 * SHA-NI on bulk hashing; single messages still go to SHA-NI. */
#define ZK_MB __attribute__((target("avx512f,avx512bw")))

ZK_MB static inline __m512i mb_xor3(__m512i a, __m512i b, __m512i c) {
    return _mm512_ternarylogic_epi32(a, b, c, 0x96);
}

/* Rows r[i] = the 16 words of message i's block -> r[t] = word t of every message. */
ZK_MB static inline void mb_transpose(__m512i r[16]) {
    __m512i t[16], u[16];
    for (int k = 0; k < 8; k++) {
        t[2 * k] = _mm512_unpacklo_epi32(r[2 * k], r[2 * k + 1]);
        t[2 * k + 1] = _mm512_unpackhi_epi32(r[2 * k], r[2 * k + 1]);
    }
    for (int k = 0; k < 4; k++) {
        u[4 * k] = _mm512_unpacklo_epi64(t[4 * k], t[4 * k + 2]);
        u[4 * k + 1] = _mm512_unpackhi_epi64(t[4 * k], t[4 * k + 2]);
        u[4 * k + 2] = _mm512_unpacklo_epi64(t[4 * k + 1], t[4 * k + 3]);
        u[4 * k + 3] = _mm512_unpackhi_epi64(t[4 * k + 1], t[4 * k + 3]);
    }
    /* u[4k + m], 128-bit lane L = word 4L + m of messages 4k .. 4k+3: a 4 x 4 transpose of
     * 128-bit lanes for each m. */
    for (int m = 0; m < 4; m++) {
        __m512i v0 = _mm512_shuffle_i32x4(u[m], u[4 + m], 0x44);
        __m512i v1 = _mm512_shuffle_i32x4(u[m], u[4 + m], 0xEE);
        __m512i v2 = _mm512_shuffle_i32x4(u[8 + m], u[12 + m], 0x44);
        __m512i v3 = _mm512_shuffle_i32x4(u[8 + m], u[12 + m], 0xEE);
        r[m] = _mm512_shuffle_i32x4(v0, v2, 0x88);
        r[4 + m] = _mm512_shuffle_i32x4(v0, v2, 0xDD);
        r[8 + m] = _mm512_shuffle_i32x4(v1, v3, 0x88);
        r[12 + m] = _mm512_shuffle_i32x4(v1, v3, 0xDD);
    }
}

/* One block of each lane's message; w[i] holds message i's 16 big-endian-decoded words. */
ZK_MB static inline void mb_compress(__m512i st[8], __m512i w[16]) {
    mb_transpose(w);
    __m512i a = st[0], b = st[1], c = st[2], d = st[3], e = st[4], f = st[5], g = st[6], h = st[7];
#pragma GCC unroll 64
    for (int t = 0; t < 64; t++) {
        if (t >= 16) {
            __m512i w15 = w[(t - 15) & 15], w2 = w[(t - 2) & 15];
            __m512i s0 = mb_xor3(_mm512_ror_epi32(w15, 7), _mm512_ror_epi32(w15, 18), _mm512_srli_epi32(w15, 3));
            __m512i s1 = mb_xor3(_mm512_ror_epi32(w2, 17), _mm512_ror_epi32(w2, 19), _mm512_srli_epi32(w2, 10));
            w[t & 15] = _mm512_add_epi32(_mm512_add_epi32(w[t & 15], s0),
                                         _mm512_add_epi32(w[(t - 7) & 15], s1));
        }
        __m512i t1 = _mm512_add_epi32(h, _mm512_add_epi32(w[t & 15], _mm512_set1_epi32((int)K256[t])));
        t1 = _mm512_add_epi32(t1, mb_xor3(_mm512_ror_epi32(e, 6), _mm512_ror_epi32(e, 11), _mm512_ror_epi32(e, 25)));
        t1 = _mm512_add_epi32(t1, _mm512_ternarylogic_epi32(e, f, g, 0xCA)); /* Ch: e ? f : g */
        __m512i t2 = _mm512_add_epi32(mb_xor3(_mm512_ror_epi32(a, 2), _mm512_ror_epi32(a, 13), _mm512_ror_epi32(a, 22)),
                                      _mm512_ternarylogic_epi32(a, b, c, 0xE8)); /* Maj */
        h = g;
        g = f;
        f = e;
        e = _mm512_add_epi32(d, t1);
        d = c;
        c = b;
        b = a;
        a = _mm512_add_epi32(t1, t2);
    }
    st[0] = _mm512_add_epi32(st[0], a);
    st[1] = _mm512_add_epi32(st[1], b);
    st[2] = _mm512_add_epi32(st[2], c);
    st[3] = _mm512_add_epi32(st[3], d);
    st[4] = _mm512_add_epi32(st[4], e);
    st[5] = _mm512_add_epi32(st[5], f);
    st[6] = _mm512_add_epi32(st[6], g);
    st[7] = _mm512_add_epi32(st[7], h);
}

/* Sixteen messages P || data + i*stride, all of length len, read in place: every block of
 * every message is one masked 64-byte load (bytes outside the message are masked off, and
 * masked-off bytes never fault) ORed with a block constant that holds whatever is not
 * message data there: the prefix, the 0x80 pad byte and the bit length. The lanes share
 * the mask and the constant because the messages have equal lengths. */
ZK_MB static void many_x16(size_t plen, uint8_t prefix, const uint8_t *data, size_t len,
                           size_t stride, uint8_t *out) {
    const __m512i bswap = _mm512_broadcast_i32x4(
        _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL));
    size_t total = plen + len, n_blocks = (total + 9 + 63) / 64;
    __m512i st[8];
    for (int k = 0; k < 8; k++) st[k] = _mm512_set1_epi32((int)H0[k]);
    for (size_t j = 0; j < n_blocks; j++) {
        /* Message data byte d sits at block byte d + plen - 64j. */
        int64_t start = (int64_t)(64 * j) - (int64_t)plen;
        int64_t lo = start < 0 ? -start : 0;
        int64_t hi = (int64_t)len - start < 64 ? (int64_t)len - start : 64;
        __mmask64 mask = 0;
        if (hi > lo) mask = (hi - lo == 64 ? ~(__mmask64)0 : (((__mmask64)1 << (hi - lo)) - 1)) << lo;
        __m512i constant = _mm512_setzero_si512();
        if (j == 0 && plen) constant = _mm512_mask_set1_epi8(constant, 1, (char)prefix);
        if (total >= 64 * j && total < 64 * j + 64)
            constant = _mm512_mask_set1_epi8(constant, (__mmask64)1 << (total - 64 * j), (char)0x80);
        if (j == n_blocks - 1) /* the bit length, big-endian, in bytes 56..63 */
            constant = _mm512_mask_set1_epi64(constant, 0x80,
                                              (long long)__builtin_bswap64((uint64_t)total * 8));
        __m512i w[16];
        for (int i = 0; i < 16; i++) {
            const uint8_t *at = (const uint8_t *)((uintptr_t)(data + (size_t)i * stride) + (uintptr_t)start);
            __m512i bytes = _mm512_maskz_loadu_epi8(mask, (const void *)at);
            w[i] = _mm512_shuffle_epi8(_mm512_or_si512(bytes, constant), bswap);
        }
        mb_compress(st, w);
    }
    /* Lane i of st[k] is word k of digest i: transpose back (rows 8..15 are padding) and
     * store each digest's eight big-endian words. */
    __m512i d[16];
    for (int k = 0; k < 8; k++) {
        d[k] = _mm512_shuffle_epi8(st[k], bswap);
        d[k + 8] = _mm512_setzero_si512();
    }
    mb_transpose(d);
    for (int i = 0; i < 16; i++) _mm256_storeu_si256((__m256i *)(out + 32 * i), _mm512_castsi512_si256(d[i]));
}

static int mb_probe; /* 0 not probed yet, 1 absent, 2 present */
static int multibuffer_off;

int zk_sha256_has_multibuffer(void) {
    int s = __atomic_load_n(&mb_probe, __ATOMIC_RELAXED);
    if (!s) {
        s = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") ? 2 : 1;
        __atomic_store_n(&mb_probe, s, __ATOMIC_RELAXED);
    }
    return s == 2 && !__atomic_load_n(&portable_forced, __ATOMIC_RELAXED) &&
           !__atomic_load_n(&multibuffer_off, __ATOMIC_RELAXED) &&
           zk_kernel_level() >= ZK_KERNELS_AVX512; /* 16 lanes: the AVX-512 level only */
}

/* Messages two at a time through the interleaved kernel; equal lengths, so equal plans. */
ZK_SHANI static void many_shani(size_t plen, uint8_t prefix, const uint8_t *data, size_t len,
                                size_t stride, size_t count, uint8_t *out) {
    zk_message m0, m1;
    uint32_t h0[8], h1[8];
    size_t i = 0;
    for (; i + 2 <= count; i += 2) {
        message_plan(&m0, plen, prefix, data + i * stride, len);
        message_plan(&m1, plen, prefix, data + (i + 1) * stride, len);
        shani_regs s0 = shani_load(H0), s1 = s0;
        size_t n = message_blocks(&m0);
        for (size_t j = 0; j < n; j++)
            shani_block_x2(&s0, message_block(&m0, j), &s1, message_block(&m1, j));
        shani_store(s0, h0);
        shani_store(s1, h1);
        digest_out(h0, out + 32 * i);
        digest_out(h1, out + 32 * (i + 1));
    }
    if (i < count) {
        message_plan(&m0, plen, prefix, data + i * stride, len);
        message_digest(&m0, out + 32 * i);
    }
}
#else
int zk_sha256_has_multibuffer(void) { return 0; }
#endif

int zk_sha256_force_no_multibuffer(int force) {
#ifdef ZK_HASH_X86
    return __atomic_exchange_n(&multibuffer_off, force ? 1 : 0, __ATOMIC_RELAXED);
#else
    (void)force;
    return 0;
#endif
}

static void many(size_t plen, uint8_t prefix, const void *data, size_t len, size_t stride,
                 size_t count, uint8_t *out) {
    const uint8_t *p = (const uint8_t *)data;
#ifdef ZK_HASH_X86
    if (count >= 16 && zk_sha256_has_multibuffer()) {
        size_t groups = count / 16;
        for (size_t g = 0; g < groups; g++) many_x16(plen, prefix, p + 16 * g * stride, len, stride, out + 512 * g);
        p += 16 * groups * stride;
        out += 512 * groups;
        count -= 16 * groups;
    }
    if (zk_sha256_has_shani()) {
        many_shani(plen, prefix, p, len, stride, count, out);
        return;
    }
#endif
    zk_message m;
    for (size_t i = 0; i < count; i++) {
        message_plan(&m, plen, prefix, p + i * stride, len);
        message_digest(&m, out + 32 * i);
    }
}

void zk_sha256_many_prefixed(uint8_t prefix, const void *data, size_t len, size_t stride,
                             size_t count, uint8_t *out) {
    many(1, prefix, data, len, stride, count, out);
}

void zk_sha256_many(const void *data, size_t len, size_t stride, size_t count, uint8_t *out) {
    many(0, 0, data, len, stride, count, out);
}
