/* Fiat-Shamir transcript (docs/protocol.md 7); see transcript.h. */
#include "transcript.h"

#include <string.h>

void zk_transcript_init(zk_transcript *t) {
    memset(t->state, 0, sizeof t->state);
    t->counter = 0;
}

void zk_absorber_begin(zk_absorber *a, zk_transcript *t) {
    static const uint8_t prefix = ZK_DS_ABSORB;
    a->t = t;
    zk_sha256_init(&a->ctx);
    zk_sha256_update(&a->ctx, &prefix, 1);
    zk_sha256_update(&a->ctx, t->state, 32);
}

void zk_absorber_bytes(zk_absorber *a, const void *data, size_t len) {
    zk_sha256_update(&a->ctx, data, len);
}

void zk_absorber_fe(zk_absorber *a, fe v) {
    uint8_t b[8];
    zk_put_le64(b, v);
    zk_sha256_update(&a->ctx, b, 8);
}

void zk_absorber_fe3(zk_absorber *a, fe3 v) {
    uint8_t b[24];
    zk_put_le64(b, v.c0);
    zk_put_le64(b + 8, v.c1);
    zk_put_le64(b + 16, v.c2);
    zk_sha256_update(&a->ctx, b, 24);
}

void zk_absorber_end(zk_absorber *a) {
    zk_sha256_final(&a->ctx, a->t->state);
    a->t->counter = 0;
}

void zk_transcript_absorb(zk_transcript *t, const void *data, size_t len) {
    zk_absorber a;
    zk_absorber_begin(&a, t);
    zk_absorber_bytes(&a, data, len);
    zk_absorber_end(&a);
}

void zk_transcript_squeeze(zk_transcript *t, uint8_t out[32]) {
    uint8_t buf[1 + 32 + 8];
    buf[0] = ZK_DS_SQUEEZE;
    memcpy(buf + 1, t->state, 32);
    zk_put_le64(buf + 33, t->counter);
    zk_sha256(buf, sizeof buf, out);
    t->counter++;
}

fe zk_transcript_draw_base(zk_transcript *t) {
    uint8_t out[32];
    for (;;) {
        zk_transcript_squeeze(t, out);
        uint64_t v = zk_get_le64(out);
        if (v < ZK_P) return v;
    }
}

fe3 zk_transcript_draw_ext(zk_transcript *t) {
    fe3 r;
    r.c0 = zk_transcript_draw_base(t);
    r.c1 = zk_transcript_draw_base(t);
    r.c2 = zk_transcript_draw_base(t);
    return r;
}

uint64_t zk_transcript_draw_index(zk_transcript *t, uint64_t n) {
    uint8_t out[32];
    zk_transcript_squeeze(t, out);
    return zk_get_le64(out) & (n - 1);
}

void zk_transcript_absorb_statement(zk_transcript *t, const zk_profile *prof,
                                    const uint8_t program_hash[32], const fe *inputs,
                                    size_t n_inputs, const fe *outputs, size_t n_outputs,
                                    unsigned log_t) {
    uint8_t head[14 + 2 + 1 + 1 + 2 + 1 + 1 + 2];
    uint8_t *p = head;
    memcpy(p, "zkactors-stark", 14);
    p += 14;
    zk_put_le16(p, ZK_PROTOCOL_VERSION);
    p += 2;
    *p++ = prof->id;
    *p++ = prof->log_blowup;
    zk_put_le16(p, prof->queries);
    p += 2;
    *p++ = prof->grinding_bits;
    *p++ = prof->log_folding;
    zk_put_le16(p, prof->max_remainder);

    zk_absorber a;
    uint8_t b2[2], b1 = (uint8_t)log_t;
    zk_absorber_begin(&a, t);
    zk_absorber_bytes(&a, head, sizeof head);
    zk_absorber_bytes(&a, program_hash, 32);
    zk_put_le16(b2, (uint16_t)n_inputs);
    zk_absorber_bytes(&a, b2, 2);
    for (size_t i = 0; i < n_inputs; i++) zk_absorber_fe(&a, inputs[i]);
    zk_put_le16(b2, (uint16_t)n_outputs);
    zk_absorber_bytes(&a, b2, 2);
    for (size_t i = 0; i < n_outputs; i++) zk_absorber_fe(&a, outputs[i]);
    zk_absorber_bytes(&a, &b1, 1);
    zk_absorber_end(&a);
}

int zk_transcript_check_pow(const zk_transcript *t, uint64_t nonce, unsigned bits) {
    uint8_t buf[1 + 32 + 8], out[32];
    if (bits == 0) return 1;
    buf[0] = ZK_DS_POW;
    memcpy(buf + 1, t->state, 32);
    zk_put_le64(buf + 33, nonce);
    zk_sha256(buf, sizeof buf, out);
    uint64_t mask = bits >= 64 ? ~0ULL : ((1ULL << bits) - 1);
    return (zk_get_le64(out) & mask) == 0;
}

/* Messages s || LE64(nonce) hashed GRIND_BATCH at a time by the many-message kernel. */
#define GRIND_BATCH 256

uint64_t zk_transcript_grind_range(const zk_transcript *t, unsigned bits, uint64_t start,
                                   uint64_t count) {
    if (bits == 0) return count ? start : UINT64_MAX;
    uint64_t mask = bits >= 64 ? ~0ULL : ((1ULL << bits) - 1);
    uint8_t msgs[GRIND_BATCH * 40], out[GRIND_BATCH * 32];
    for (size_t i = 0; i < GRIND_BATCH; i++) memcpy(msgs + 40 * i, t->state, 32);
    for (uint64_t done = 0; done < count;) {
        uint64_t n = count - done < GRIND_BATCH ? count - done : GRIND_BATCH;
        for (uint64_t i = 0; i < n; i++) zk_put_le64(msgs + 40 * i + 32, start + done + i);
        zk_sha256_many_prefixed(ZK_DS_POW, msgs, 40, 40, n, out);
        for (uint64_t i = 0; i < n; i++)
            if ((zk_get_le64(out + 32 * i) & mask) == 0) return start + done + i;
        done += n;
    }
    return UINT64_MAX;
}

uint64_t zk_transcript_grind(const zk_transcript *t, unsigned bits) {
    for (uint64_t start = 0;; start += 1u << 16) {
        uint64_t nonce = zk_transcript_grind_range(t, bits, start, 1u << 16);
        if (nonce != UINT64_MAX) return nonce;
    }
}
