/* The Fiat-Shamir transcript of docs/protocol.md section 7, shared by prover and verifier.
 *
 * State s (32 bytes) and a squeeze counter. absorb(data): s = H(0x02 || s || data),
 * counter = 0. squeeze(): H(0x03 || s || LE64(counter)), counter += 1. Challenges are
 * drawn by rejection (base field; an element of K is three such draws, c0, c1, c2) or by reduction mod a power of two (indices), exactly
 * as protocol.md 7 says, so every implementation draws the same values.
 *
 * Typical use (prover and verifier alike):
 *     zk_transcript t; zk_transcript_init(&t);
 *     zk_transcript_absorb_statement(&t, prof, program_hash, inputs, n_in, outputs, n_out, log_t);
 *     zk_transcript_absorb(&t, trace_root, 32);
 *     fe3 alpha = zk_transcript_draw_ext(&t); ...
 */
#ifndef ZK_TRANSCRIPT_H
#define ZK_TRANSCRIPT_H

#include <stddef.h>
#include <stdint.h>

#include "field.h"
#include "hash.h"
#include "profiles.h"

typedef struct {
    uint8_t state[32];
    uint64_t counter;
} zk_transcript;

/* A streamed absorb: one absorb of the concatenation of every part. */
typedef struct {
    zk_transcript *t;
    zk_sha256_ctx ctx;
} zk_absorber;

void zk_transcript_init(zk_transcript *t);
void zk_transcript_absorb(zk_transcript *t, const void *data, size_t len);

/* absorb(part_1 || part_2 || ...) without building the concatenation. */
void zk_absorber_begin(zk_absorber *a, zk_transcript *t);
void zk_absorber_bytes(zk_absorber *a, const void *data, size_t len);
void zk_absorber_fe(zk_absorber *a, fe v);     /* LE64(v) */
void zk_absorber_fe3(zk_absorber *a, fe3 v);   /* LE64(c0) || LE64(c1) || LE64(c2) */
void zk_absorber_end(zk_absorber *a);

void zk_transcript_squeeze(zk_transcript *t, uint8_t out[32]);
fe zk_transcript_draw_base(zk_transcript *t);
fe3 zk_transcript_draw_ext(zk_transcript *t);
/* n must be a power of two (>= 1). */
uint64_t zk_transcript_draw_index(zk_transcript *t, uint64_t n);

/* Absorb the statement of protocol.md 7 as one absorb. inputs/outputs canonical,
 * n_inputs, n_outputs <= 16. */
void zk_transcript_absorb_statement(zk_transcript *t, const zk_profile *prof,
                                    const uint8_t program_hash[32], const fe *inputs,
                                    size_t n_inputs, const fe *outputs, size_t n_outputs,
                                    unsigned log_t);

/* Grinding (protocol.md 8.6) against the current state: 1 iff the low `bits` bits of
 * LE64(H(0x04 || s || LE64(nonce))[0:8]) are zero. bits = 0 accepts every nonce. */
int zk_transcript_check_pow(const zk_transcript *t, uint64_t nonce, unsigned bits);
/* The smallest nonce >= 0 that passes zk_transcript_check_pow. bits <= 32. */
uint64_t zk_transcript_grind(const zk_transcript *t, unsigned bits);
/* The smallest passing nonce in [start, start + count), or UINT64_MAX if none does (for
 * a search split over threads). */
uint64_t zk_transcript_grind_range(const zk_transcript *t, unsigned bits, uint64_t start,
                                   uint64_t count);

/* Little-endian helpers shared by the receipt writer and reader. */
static inline void zk_put_le16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static inline void zk_put_le32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static inline void zk_put_le64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static inline uint16_t zk_get_le16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static inline uint32_t zk_get_le32(const uint8_t *p) {
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}
static inline uint64_t zk_get_le64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

#endif
