/* Security profiles of docs/protocol.md section 6, and the FRI shape they imply.
 *
 * The table is the single C copy of protocol.md 6; zkactors/profiles.py holds the Python
 * copy and tests hold the two to the same values. Everything here is a constant or a
 * pure function of (profile, T), so the prover and the verifier derive the same FRI
 * layer count and remainder size without either trusting the receipt for them.
 */
#ifndef ZK_PROFILES_H
#define ZK_PROFILES_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "field.h"

#define ZK_PROFILE_TEST 0
#define ZK_PROFILE_DEFAULT 1
#define ZK_PROFILE_HIGH 2
#define ZK_N_PROFILES 3

/* Version 2 of the protocol and of the receipt format: challenges in the cubic extension
 * (protocol.md 1, 7, 10). Version-1 receipts drew them from a quadratic extension and
 * are refused, never verified under the old rules. */
#define ZK_PROTOCOL_VERSION 2
#define ZK_RECEIPT_VERSION 2

/* The LDE coset offset c of protocol.md 6 (D = c * <w_N>). */
#define ZK_LDE_OFFSET 7ULL
/* log2 T bounds of protocol.md 9/10. */
#define ZK_MIN_LOG_T 3
#define ZK_MAX_LOG_T 26
/* Most FRI layers any profile/T can need (f >= 4, T <= 2^26: fewer than 13). */
#define ZK_MAX_FRI_LAYERS 16

typedef struct {
    uint8_t id;
    const char *name;
    uint8_t log_blowup;    /* B = 2^log_blowup */
    uint16_t queries;      /* q */
    uint8_t grinding_bits; /* g */
    uint8_t log_folding;   /* f = 2^log_folding */
    uint16_t max_remainder;/* the remainder's degree bound d_L is <= this */
    uint8_t extension_degree; /* challenges live in K = F_p^extension_degree */
} zk_profile;

/* Every profile draws its challenges from the one extension the code implements (fe3,
 * K = F[X]/(X^3 - 7)): the column is the figure the policy uses, not a switch. */
static const zk_profile ZK_PROFILES[ZK_N_PROFILES] = {
    {ZK_PROFILE_TEST, "test", 2, 8, 0, 2, 8, ZK_EXT_DEGREE},
    {ZK_PROFILE_DEFAULT, "default", 3, 28, 16, 3, 32, ZK_EXT_DEGREE},
    {ZK_PROFILE_HIGH, "high", 3, 38, 16, 3, 32, ZK_EXT_DEGREE},
};

/* The profile with this id, or NULL for an unknown id. */
static inline const zk_profile *zk_profile_by_id(unsigned id) {
    return id < ZK_N_PROFILES ? &ZK_PROFILES[id] : NULL;
}

/* FRI layers L for a trace of 2^log_t rows (protocol.md 8.5: d_0 = T, fold while
 * d_l > max remainder), and the remainder size d_L through *remainder_size. */
static inline unsigned zk_fri_num_layers(const zk_profile *prof, unsigned log_t,
                                         size_t *remainder_size) {
    size_t d = (size_t)1 << log_t;
    unsigned layers = 0;
    while (d > prof->max_remainder) {
        d >>= prof->log_folding;
        layers++;
    }
    if (remainder_size) *remainder_size = d;
    return layers;
}

/* Conjectured security bits of a receipt (protocol.md 11): the smaller of the query
 * term q * log2(B) + g and the field term ext * log2(p) - log2(B * T * constraints).
 * The verifier computes it from its own profile table, the receipt's T and the
 * program's constraint count, and holds it against the caller's minimum; it is written
 * operation for operation like zkactors.profiles.security_bits, so the native and the
 * reference verifier reach the same verdict at the same minimum. */
static inline double zk_security_bits(const zk_profile *prof, unsigned log_t,
                                      uint32_t n_constraints) {
    double query = (double)prof->queries * (double)prof->log_blowup + (double)prof->grinding_bits;
    double field = (double)prof->extension_degree * log2((double)0xFFFFFFFF00000001ULL) -
                   ((double)(prof->log_blowup + log_t) + log2((double)n_constraints));
    return query < field ? query : field;
}

/* AIR 2's LogUp term (protocol.md 17): at most 28 T fractions (25 a row, V's at most 3T),
 * each tuple compressed with beta to at most 22 positions, checked at one random alpha. */
#define ZK_LOGUP_FRACTION_BOUND (28 * 22)

/* Conjectured security bits of an AIR 2 receipt (protocol.md 17): the AIR 1 figure with
 * AIR 2's constraint count, then the smaller of it and the LogUp term
 * e * log2(p) - (log2 T + log2 616), in the order zkactors.profiles computes it. */
static inline double zk_security_bits_air2(const zk_profile *prof, unsigned log_t,
                                           uint32_t n_constraints) {
    double bits = zk_security_bits(prof, log_t, n_constraints);
    double logup = (double)prof->extension_degree * log2((double)0xFFFFFFFF00000001ULL) -
                   ((double)log_t + log2((double)ZK_LOGUP_FRACTION_BOUND));
    return bits < logup ? bits : logup;
}

#endif
