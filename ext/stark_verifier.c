/* The native STARK verifier (docs/protocol.md 9 and 10); see verifier.h. (Named
 * stark_verifier.c because Cython claims ext/verifier.c for ext/verifier.pyx.)
 *
 * Three stages, each total over its input:
 *   1. decode: walk the receipt bytes once with a bounds-checked reader, checking every
 *      count against the bound that the profile and T imply *before* it sizes anything,
 *      and every field element for canonicity. The result is a view: pointers into the
 *      receipt plus the few decoded scalars, so decoding allocates nothing.
 *   2. statement: the receipt must name this program (hash, input/output counts, width).
 *   3. replay and check: rebuild the transcript (grinding on the way), then the OOD
 *      check, the trace and composition multiproofs, DEEP at every position and the FRI
 *      folds down to the remainder, in that order; the first failure is the verdict.
 *
 * Opened rows are hashed straight from the receipt bytes: a canonical row's bytes are
 * exactly its Merkle leaf bytes (protocol.md 3), so no re-encoding can diverge.
 */
#include "verifier.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "air.h"
#include "field.h"
#include "hash.h"
#include "merkle.h"
#include "profiles.h"
#include "transcript.h"
#include "vm.h"

#define MAX_QUERIES 64      /* above every profile's q; |P| <= q is checked on decode */
#define MAX_FOLDING 16      /* above every profile's f */

static const uint8_t RECEIPT_MAGIC[4] = {'Z', 'K', 'R', 'C'};
#define EXT ZK_EXT_BYTES /* bytes of an element of K */

typedef struct {
    uint16_t n_leaves;       /* k_l */
    const uint8_t *values;   /* k_l * f * EXT bytes, leaves in ascending index order */
    uint32_t proof_count;
    const uint8_t *proof;    /* proof_count * 32 bytes */
} fri_layer_view;

/* A decoded receipt: scalars copied out, bulk data left in place (already validated). */
typedef struct {
    const zk_profile *prof;
    const uint8_t *program_hash;
    uint16_t n_inputs, n_outputs;
    fe inputs[ZK_MAX_INPUTS], outputs[ZK_MAX_OUTPUTS];
    unsigned log_t;
    uint16_t width;
    const uint8_t *trace_root, *comp_root;
    const uint8_t *ood;      /* (2w + 2) * EXT bytes: t(z), t(zw), C_0(z), C_1(z) */
    unsigned n_layers;
    const uint8_t *layer_roots;
    uint16_t remainder_len;
    const uint8_t *remainder;
    uint64_t nonce;
    uint16_t n_positions;
    const uint8_t *trace_rows;   /* |P| * w * 8 bytes */
    uint32_t trace_proof_count;
    const uint8_t *trace_proof;
    const uint8_t *comp_rows;    /* |P| * 2 * EXT bytes */
    uint32_t comp_proof_count;
    const uint8_t *comp_proof;
    fri_layer_view layers[ZK_MAX_FRI_LAYERS];
} receipt_view;

/* ------------------------------------------------------------------ reasons */

typedef struct {
    char *buf;
    size_t cap;
} reason_sink;

static int fail(reason_sink *sink, int code, const char *fmt, ...) {
    if (sink->buf && sink->cap) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(sink->buf, sink->cap, fmt, ap);
        va_end(ap);
    }
    return code;
}

const char *zk_verify_check_name(int code) {
    switch (code) {
    case ZK_VERIFY_OK: return "ok";
    case ZK_CHECK_FORMAT: return "format";
    case ZK_CHECK_STATEMENT: return "statement";
    case ZK_CHECK_POLICY: return "policy";
    case ZK_CHECK_OOD: return "ood";
    case ZK_CHECK_GRINDING: return "grinding";
    case ZK_CHECK_TRACE_MERKLE: return "trace_merkle";
    case ZK_CHECK_COMPOSITION_MERKLE: return "composition_merkle";
    case ZK_CHECK_FRI_MERKLE: return "fri_merkle";
    case ZK_CHECK_DEEP: return "deep";
    case ZK_CHECK_FRI_FOLD: return "fri_fold";
    case ZK_CHECK_FRI_REMAINDER: return "fri_remainder";
    default: return "";
    }
}

/* ------------------------------------------------------------------ decoding */

typedef struct {
    const uint8_t *p;
    size_t left;
    const uint8_t *start;
} reader;

static size_t offset_of(const reader *r) { return (size_t)(r->p - r->start); }

/* Take n bytes; 0 if fewer remain. n is computed from bounded counts, so no overflow. */
static int take(reader *r, size_t n, const uint8_t **out) {
    if (n > r->left) return 0;
    *out = r->p;
    r->p += n;
    r->left -= n;
    return 1;
}

static int take_u8(reader *r, unsigned *v) {
    const uint8_t *b;
    if (!take(r, 1, &b)) return 0;
    *v = b[0];
    return 1;
}

static int take_le16(reader *r, uint16_t *v) {
    const uint8_t *b;
    if (!take(r, 2, &b)) return 0;
    *v = zk_get_le16(b);
    return 1;
}

static int take_le32(reader *r, uint32_t *v) {
    const uint8_t *b;
    if (!take(r, 4, &b)) return 0;
    *v = zk_get_le32(b);
    return 1;
}

static int take_le64(reader *r, uint64_t *v) {
    const uint8_t *b;
    if (!take(r, 8, &b)) return 0;
    *v = zk_get_le64(b);
    return 1;
}

/* 1 iff every one of the n LE64 values at b is < p. */
static int all_canonical(const uint8_t *b, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (zk_get_le64(b + 8 * i) >= ZK_P) return 0;
    return 1;
}

/* Take n field elements (LE64 each) that must all be canonical. */
static int take_fes(reader *r, size_t n, const uint8_t **out, reason_sink *sink,
                    const char *what, int *code) {
    size_t at = offset_of(r);
    if (!take(r, 8 * n, out)) {
        *code = fail(sink, ZK_CHECK_FORMAT, "receipt truncated in %s (at byte %zu)", what, at);
        return 0;
    }
    if (!all_canonical(*out, n)) {
        *code = fail(sink, ZK_CHECK_FORMAT,
                     "non-canonical field element (>= p) in %s (at byte %zu)", what, at);
        return 0;
    }
    return 1;
}

static unsigned log2_floor(uint64_t n) {
    unsigned l = 0;
    while (n > 1) {
        n >>= 1;
        l++;
    }
    return l;
}

/* A multiproof: LE32 count (<= k * log2(leaves)) then count digests. */
static int take_multiproof(reader *r, size_t k, uint64_t n_leaves, uint32_t *count,
                           const uint8_t **proof, reason_sink *sink, const char *what,
                           int *code) {
    size_t at = offset_of(r);
    if (!take_le32(r, count)) {
        *code = fail(sink, ZK_CHECK_FORMAT, "receipt truncated in the %s multiproof count", what);
        return 0;
    }
    uint64_t bound = (uint64_t)k * log2_floor(n_leaves);
    if (*count > bound) {
        *code = fail(sink, ZK_CHECK_FORMAT,
                     "%s multiproof has %u digests, more than the bound %llu (at byte %zu)",
                     what, (unsigned)*count, (unsigned long long)bound, at);
        return 0;
    }
    if (!take(r, (size_t)*count * 32, proof)) {
        *code = fail(sink, ZK_CHECK_FORMAT, "receipt truncated in the %s multiproof", what);
        return 0;
    }
    return 1;
}

#define TRUNCATED(what) fail(sink, ZK_CHECK_FORMAT, "receipt truncated in " what)

static int decode_receipt(const uint8_t *data, size_t len, receipt_view *v, reason_sink *sink) {
    reader r = {data, len, data};
    const uint8_t *b;
    unsigned u;
    int code = ZK_CHECK_FORMAT;
    memset(v, 0, sizeof *v);

    if (!take(&r, 4, &b)) return TRUNCATED("the magic");
    if (memcmp(b, RECEIPT_MAGIC, 4) != 0)
        return fail(sink, ZK_CHECK_FORMAT, "not a receipt: the magic is not \"ZKRC\"");
    uint16_t version;
    if (!take_le16(&r, &version)) return TRUNCATED("the format version");
    if (version == 1)
        return fail(sink, ZK_CHECK_FORMAT,
                    "receipt format version 1 was made by an earlier version of zkactors "
                    "(challenges from the quadratic extension field) and is no longer "
                    "accepted; prove the statement again to get a version %d receipt",
                    ZK_RECEIPT_VERSION);
    if (version != ZK_RECEIPT_VERSION)
        return fail(sink, ZK_CHECK_FORMAT,
                    "receipt format version %u is not supported (this verifier reads %d)",
                    (unsigned)version, ZK_RECEIPT_VERSION);
    if (!take_u8(&r, &u)) return TRUNCATED("the profile id");
    v->prof = zk_profile_by_id(u);
    if (!v->prof) return fail(sink, ZK_CHECK_FORMAT, "unknown profile id %u", u);
    /* The fixed-size arrays below rely on these; a future profile beyond them must
     * raise the limits, not overflow them. */
    if (v->prof->queries > MAX_QUERIES || (1u << v->prof->log_folding) > MAX_FOLDING)
        return fail(sink, ZK_CHECK_FORMAT, "profile %s exceeds this verifier's limits",
                    v->prof->name);
    if (!take(&r, 32, &v->program_hash)) return TRUNCATED("the program hash");

    if (!take_le16(&r, &v->n_inputs)) return TRUNCATED("the input count");
    if (v->n_inputs > ZK_MAX_INPUTS)
        return fail(sink, ZK_CHECK_FORMAT, "%u inputs, more than the limit %d",
                    (unsigned)v->n_inputs, ZK_MAX_INPUTS);
    if (!take_fes(&r, v->n_inputs, &b, sink, "the inputs", &code)) return code;
    for (unsigned i = 0; i < v->n_inputs; i++) v->inputs[i] = zk_get_le64(b + 8 * i);
    if (!take_le16(&r, &v->n_outputs)) return TRUNCATED("the output count");
    if (v->n_outputs > ZK_MAX_OUTPUTS)
        return fail(sink, ZK_CHECK_FORMAT, "%u outputs, more than the limit %d",
                    (unsigned)v->n_outputs, ZK_MAX_OUTPUTS);
    if (!take_fes(&r, v->n_outputs, &b, sink, "the outputs", &code)) return code;
    for (unsigned i = 0; i < v->n_outputs; i++) v->outputs[i] = zk_get_le64(b + 8 * i);

    if (!take_u8(&r, &v->log_t)) return TRUNCATED("log2 T");
    if (v->log_t < ZK_MIN_LOG_T || v->log_t > ZK_MAX_LOG_T)
        return fail(sink, ZK_CHECK_FORMAT, "log2 T = %u is outside [%d, %d]", v->log_t,
                    ZK_MIN_LOG_T, ZK_MAX_LOG_T);
    if (!take_le16(&r, &v->width)) return TRUNCATED("the trace width");
    if (v->width < 1 || v->width > ZK_AIR_MAX_WIDTH)
        return fail(sink, ZK_CHECK_FORMAT, "trace width %u is outside [1, %d]",
                    (unsigned)v->width, ZK_AIR_MAX_WIDTH);

    const zk_profile *prof = v->prof;
    const unsigned w = v->width;
    const unsigned log_n = v->log_t + prof->log_blowup;
    const unsigned log_f = prof->log_folding;
    const size_t f = (size_t)1 << log_f;
    size_t remainder_size;
    const unsigned n_layers = zk_fri_num_layers(prof, v->log_t, &remainder_size);

    if (!take(&r, 32, &v->trace_root)) return TRUNCATED("the trace root");
    if (!take(&r, 32, &v->comp_root)) return TRUNCATED("the composition root");
    if (!take_fes(&r, ZK_EXT_DEGREE * ((size_t)2 * w + 2), &v->ood, sink, "the OOD frame", &code))
        return code;

    if (!take_u8(&r, &u)) return TRUNCATED("the FRI layer count");
    if (u != n_layers)
        return fail(sink, ZK_CHECK_FORMAT,
                    "%u FRI layers, but T = 2^%u and profile %s imply %u", u, v->log_t,
                    prof->name, n_layers);
    v->n_layers = n_layers;
    if (!take(&r, (size_t)32 * n_layers, &v->layer_roots)) return TRUNCATED("the FRI roots");
    if (!take_le16(&r, &v->remainder_len)) return TRUNCATED("the remainder size");
    if (v->remainder_len != remainder_size)
        return fail(sink, ZK_CHECK_FORMAT,
                    "remainder of %u coefficients, but T = 2^%u and profile %s imply %zu",
                    (unsigned)v->remainder_len, v->log_t, prof->name, remainder_size);
    if (!take_fes(&r, ZK_EXT_DEGREE * (size_t)v->remainder_len, &v->remainder, sink,
                  "the remainder", &code))
        return code;
    if (!take_le64(&r, &v->nonce)) return TRUNCATED("the grinding nonce");

    if (!take_le16(&r, &v->n_positions)) return TRUNCATED("the position count");
    if (v->n_positions < 1 || v->n_positions > prof->queries)
        return fail(sink, ZK_CHECK_FORMAT, "%u opened positions, outside [1, q = %u]",
                    (unsigned)v->n_positions, (unsigned)prof->queries);
    const size_t k = v->n_positions;
    if (!take_fes(&r, k * w, &v->trace_rows, sink, "the trace rows", &code)) return code;
    if (!take_multiproof(&r, k, (uint64_t)1 << log_n, &v->trace_proof_count, &v->trace_proof,
                         sink, "trace", &code))
        return code;
    if (!take_fes(&r, k * 2 * ZK_EXT_DEGREE, &v->comp_rows, sink, "the composition rows", &code))
        return code;
    if (!take_multiproof(&r, k, (uint64_t)1 << log_n, &v->comp_proof_count, &v->comp_proof, sink,
                         "composition", &code))
        return code;

    for (unsigned l = 0; l < n_layers; l++) {
        fri_layer_view *layer = &v->layers[l];
        uint64_t n_leaves = ((uint64_t)1 << (log_n - l * log_f)) >> log_f;
        if (!take_le16(&r, &layer->n_leaves)) return TRUNCATED("an FRI layer's leaf count");
        if (layer->n_leaves < 1 || layer->n_leaves > k)
            return fail(sink, ZK_CHECK_FORMAT,
                        "FRI layer %u opens %u leaves, outside [1, %zu positions]", l,
                        (unsigned)layer->n_leaves, k);
        if (!take_fes(&r, (size_t)layer->n_leaves * f * ZK_EXT_DEGREE, &layer->values, sink,
                      "an FRI layer's values", &code))
            return code;
        if (!take_multiproof(&r, layer->n_leaves, n_leaves, &layer->proof_count, &layer->proof,
                             sink, "FRI layer", &code))
            return code;
    }
    if (r.left != 0)
        return fail(sink, ZK_CHECK_FORMAT, "%zu trailing bytes after the receipt (at byte %zu)",
                    r.left, offset_of(&r));
    return ZK_VERIFY_OK;
}

/* ------------------------------------------------------------------ helpers */

static fe3 load_fe3(const uint8_t *b) {
    fe3 r = {zk_get_le64(b), zk_get_le64(b + 8), zk_get_le64(b + 16)};
    return r;
}

static void sort_unique(uint64_t *a, size_t *n) {
    for (size_t i = 1; i < *n; i++) {
        uint64_t x = a[i];
        size_t j = i;
        while (j > 0 && a[j - 1] > x) {
            a[j] = a[j - 1];
            j--;
        }
        a[j] = x;
    }
    size_t m = 0;
    for (size_t i = 0; i < *n; i++)
        if (m == 0 || a[m - 1] != a[i]) a[m++] = a[i];
    *n = m;
}

/* Index of x in the sorted a[0..n); a contains x by construction. */
static size_t find_sorted(const uint64_t *a, size_t n, uint64_t x) {
    size_t lo = 0, hi = n;
    while (hi - lo > 1) {
        size_t mid = (lo + hi) / 2;
        if (a[mid] <= x) lo = mid;
        else hi = mid;
    }
    return lo;
}

/* Check a multiproof over leaves whose bytes lie contiguously at `leaf_bytes`
 * (`leaf_len` bytes each), opened at the sorted, distinct `indices`. */
static int check_multiproof(const uint8_t *root, uint64_t n_leaves, const uint64_t *indices,
                            size_t k, const uint8_t *leaf_bytes, size_t leaf_len,
                            const uint8_t *proof, uint32_t proof_count) {
    zk_digest leaves[MAX_QUERIES];
    size_t idx[MAX_QUERIES];
    for (size_t i = 0; i < k; i++) {
        zk_sha256_prefixed(ZK_DS_LEAF, leaf_bytes + i * leaf_len, leaf_len, leaves[i].b);
        idx[i] = (size_t)indices[i];
    }
    return zk_merkle_verify((const zk_digest *)root, (size_t)n_leaves, idx, leaves, k,
                            (const zk_digest *)proof, proof_count);
}

/* The fold of protocol.md 8.5: from the f values of one leaf (points x * zeta^j) to the
 * value at x^f of the next layer, sum_k beta^k x^-k (1/f) sum_j v_j zeta^-jk. */
static fe3 fold_leaf(const uint8_t *leaf, size_t f, fe3 beta, fe x_inv, fe zeta_inv,
                     fe f_inv_scalar) {
    fe3 v[MAX_FOLDING];
    for (size_t j = 0; j < f; j++) v[j] = load_fe3(leaf + EXT * j);
    fe3 acc = E_ZERO;
    fe3 beta_over_x = e_mul_base(beta, x_inv);
    fe3 weight = E_ONE;
    fe zk = 1; /* zeta^-k */
    for (size_t kk = 0; kk < f; kk++) {
        fe3 u = E_ZERO;
        fe zjk = 1; /* zeta^-jk */
        for (size_t j = 0; j < f; j++) {
            u = e_add(u, e_mul_base(v[j], zjk));
            zjk = f_mul(zjk, zk);
        }
        acc = e_add(acc, e_mul(weight, u));
        weight = e_mul(weight, beta_over_x);
        zk = f_mul(zk, zeta_inv);
    }
    return e_mul_base(acc, f_inv_scalar);
}

/* ------------------------------------------------------------------ verification */

typedef struct {
    zk_air air;
    fe3 alphas[ZK_AIR_MAX_CONSTRAINTS];
    fe3 tz[ZK_AIR_MAX_WIDTH], tzw[ZK_AIR_MAX_WIDTH];
    fe3 deep_a[ZK_AIR_MAX_WIDTH], deep_b[ZK_AIR_MAX_WIDTH];
    /* per FRI layer: the opened leaf indices, ascending */
    uint64_t leaf_idx[ZK_MAX_FRI_LAYERS][MAX_QUERIES];
    size_t n_leaf_idx[ZK_MAX_FRI_LAYERS];
} verifier_scratch;

/* The remainder polynomial (d_L coefficients in K, constant term first) at x in F. */
static fe3 eval_remainder(const receipt_view *v, fe x) {
    fe3 acc = E_ZERO;
    for (size_t i = v->remainder_len; i-- > 0;)
        acc = e_add(e_mul_base(acc, x), load_fe3(v->remainder + EXT * i));
    return acc;
}

static int verify_decoded(const receipt_view *v, const zk_program *prog,
                          double min_security_bits, verifier_scratch *s, reason_sink *sink) {
    const zk_profile *prof = v->prof;
    const unsigned w = v->width;
    const unsigned log_t = v->log_t;
    const unsigned log_n = log_t + prof->log_blowup;
    const uint64_t n = (uint64_t)1 << log_n;
    const unsigned log_f = prof->log_folding;
    const size_t f = (size_t)1 << log_f;
    const size_t k = v->n_positions;

    zk_air_init(&s->air, prog);
    if (s->air.width != w)
        return fail(sink, ZK_CHECK_STATEMENT,
                    "receipt trace width %u does not match the program's %u", w,
                    (unsigned)s->air.width);

    /* ---- policy: the receipt's profile and T are the prover's choices; whether the
     * security they give is enough is the caller's (protocol.md 9.1). */
    const double bits = zk_security_bits(prof, log_t, s->air.n_constraints);
    if (!(bits >= min_security_bits))
        return fail(sink, ZK_CHECK_POLICY,
                    "the receipt's security is %.1f conjectured bits (profile %s, T = 2^%u, "
                    "%u constraints), below the required %.1f",
                    bits, prof->name, log_t, (unsigned)s->air.n_constraints, min_security_bits);

    /* ---- transcript replay (protocol.md 9.1) */
    zk_transcript t;
    zk_transcript_init(&t);
    zk_transcript_absorb_statement(&t, prof, v->program_hash, v->inputs, v->n_inputs,
                                   v->outputs, v->n_outputs, log_t);
    zk_transcript_absorb(&t, v->trace_root, 32);
    for (uint32_t i = 0; i < s->air.n_constraints; i++) s->alphas[i] = zk_transcript_draw_ext(&t);
    zk_transcript_absorb(&t, v->comp_root, 32);
    fe3 z;
    do {
        z = zk_transcript_draw_ext(&t);
    } while (e_in_base(z));
    zk_transcript_absorb(&t, v->ood, ((size_t)2 * w + 2) * EXT);
    for (unsigned j = 0; j < w; j++) s->deep_a[j] = zk_transcript_draw_ext(&t);
    for (unsigned j = 0; j < w; j++) s->deep_b[j] = zk_transcript_draw_ext(&t);
    fe3 deep_c[2];
    deep_c[0] = zk_transcript_draw_ext(&t);
    deep_c[1] = zk_transcript_draw_ext(&t);
    fe3 betas[ZK_MAX_FRI_LAYERS];
    for (unsigned l = 0; l < v->n_layers; l++) {
        zk_transcript_absorb(&t, v->layer_roots + 32 * l, 32);
        betas[l] = zk_transcript_draw_ext(&t);
    }
    {
        zk_absorber a;
        uint8_t len_bytes[2];
        zk_put_le16(len_bytes, v->remainder_len);
        zk_absorber_begin(&a, &t);
        zk_absorber_bytes(&a, len_bytes, 2);
        zk_absorber_bytes(&a, v->remainder, (size_t)EXT * v->remainder_len);
        zk_absorber_end(&a);
    }
    if (!zk_transcript_check_pow(&t, v->nonce, prof->grinding_bits))
        return fail(sink, ZK_CHECK_GRINDING,
                    "nonce %llu does not have %u zero low bits of proof of work",
                    (unsigned long long)v->nonce, (unsigned)prof->grinding_bits);
    {
        uint8_t nonce_bytes[8];
        zk_put_le64(nonce_bytes, v->nonce);
        zk_transcript_absorb(&t, nonce_bytes, 8);
    }
    uint64_t positions[MAX_QUERIES];
    size_t n_positions = prof->queries;
    for (size_t i = 0; i < n_positions; i++) positions[i] = zk_transcript_draw_index(&t, n);
    sort_unique(positions, &n_positions);

    /* ---- OOD check (protocol.md 9.2) */
    for (unsigned j = 0; j < w; j++) {
        s->tz[j] = load_fe3(v->ood + EXT * j);
        s->tzw[j] = load_fe3(v->ood + EXT * (w + j));
    }
    fe3 c0_z = load_fe3(v->ood + 2 * EXT * w), c1_z = load_fe3(v->ood + 2 * EXT * w + EXT);
    fe3 lhs = zk_air_composition_at(&s->air, s->tz, s->tzw, v->inputs, v->outputs, s->alphas,
                                    z, log_t);
    fe3 rhs = e_add(c0_z, e_mul(e_pow(z, (uint64_t)1 << log_t), c1_z));
    if (!e_eq(lhs, rhs))
        return fail(sink, ZK_CHECK_OOD,
                    "the constraints at the out-of-domain point do not match the composition "
                    "polynomial's segments");

    /* ---- the receipt opens exactly what the replay selects (counts; "format") */
    if (k != n_positions)
        return fail(sink, ZK_CHECK_FORMAT,
                    "the receipt opens %zu positions, the transcript selects %zu", k,
                    n_positions);
    const uint64_t leaves_0 = n >> log_f; /* layer 0's leaf count, n_1 */
    for (unsigned l = 0; l < v->n_layers; l++) {
        const uint64_t m = leaves_0 >> (l * log_f); /* layer l's leaves, = n_{l+1} */
        size_t count = k;
        for (size_t p = 0; p < k; p++) s->leaf_idx[l][p] = positions[p] & (m - 1);
        sort_unique(s->leaf_idx[l], &count);
        s->n_leaf_idx[l] = count;
        if (v->layers[l].n_leaves != count)
            return fail(sink, ZK_CHECK_FORMAT,
                        "FRI layer %u opens %u leaves, the positions select %zu", l,
                        (unsigned)v->layers[l].n_leaves, count);
    }

    /* ---- every Merkle opening (protocol.md 9.3, 9.4) */
    if (!check_multiproof(v->trace_root, n, positions, k, v->trace_rows, (size_t)8 * w,
                          v->trace_proof, v->trace_proof_count))
        return fail(sink, ZK_CHECK_TRACE_MERKLE,
                    "the opened trace rows do not hash to the trace root");
    if (!check_multiproof(v->comp_root, n, positions, k, v->comp_rows, 2 * EXT, v->comp_proof,
                          v->comp_proof_count))
        return fail(sink, ZK_CHECK_COMPOSITION_MERKLE,
                    "the opened composition rows do not hash to the composition root");
    for (unsigned l = 0; l < v->n_layers; l++) {
        const fri_layer_view *layer = &v->layers[l];
        if (!check_multiproof(v->layer_roots + 32 * l, leaves_0 >> (l * log_f), s->leaf_idx[l],
                              s->n_leaf_idx[l], layer->values, f * EXT, layer->proof,
                              layer->proof_count))
            return fail(sink, ZK_CHECK_FRI_MERKLE,
                        "the opened leaves of FRI layer %u do not hash to its root", l);
    }

    /* ---- DEEP(x_i) from the opened rows (protocol.md 8.4) against FRI layer 0 */
    const fe omega_n = f_root_of_unity(log_n);
    const fe omega_t = f_root_of_unity(log_t);
    const fe3 zw = e_mul_base(z, omega_t);
    fe3 deep_values[MAX_QUERIES];
    for (size_t p = 0; p < k; p++) {
        fe x = f_mul(ZK_LDE_OFFSET, f_pow(omega_n, positions[p]));
        /* x is in F and z, zw are not (z.c1 or z.c2 != 0), so neither difference is zero. */
        fe3 inv_xz = e_inv(e_sub(e_from(x), z));
        fe3 inv_xzw = e_inv(e_sub(e_from(x), zw));
        const uint8_t *row = v->trace_rows + (size_t)8 * w * p;
        fe3 sum_z = E_ZERO, sum_zw = E_ZERO;
        for (unsigned j = 0; j < w; j++) {
            fe3 tx = e_from(zk_get_le64(row + 8 * j));
            sum_z = e_add(sum_z, e_mul(s->deep_a[j], e_sub(tx, s->tz[j])));
            sum_zw = e_add(sum_zw, e_mul(s->deep_b[j], e_sub(tx, s->tzw[j])));
        }
        const uint8_t *comp = v->comp_rows + (size_t)2 * EXT * p;
        sum_z = e_add(sum_z, e_mul(deep_c[0], e_sub(load_fe3(comp), c0_z)));
        sum_z = e_add(sum_z, e_mul(deep_c[1], e_sub(load_fe3(comp + EXT), c1_z)));
        deep_values[p] = e_add(e_mul(sum_z, inv_xz), e_mul(sum_zw, inv_xzw));
        if (v->n_layers) {
            /* index i of layer 0 is slot i div n_1 of leaf i mod n_1 */
            uint64_t i = positions[p];
            const uint8_t *leaf = v->layers[0].values +
                                  f * EXT * find_sorted(s->leaf_idx[0], s->n_leaf_idx[0],
                                                        i & (leaves_0 - 1));
            if (!e_eq(load_fe3(leaf + EXT * (i >> (log_n - log_f))), deep_values[p]))
                return fail(sink, ZK_CHECK_DEEP,
                            "DEEP(x) at position %llu differs from FRI layer 0",
                            (unsigned long long)i);
        }
    }

    /* ---- FRI folds down to the remainder (protocol.md 9.4). Folding leaf i of layer l
     * gives layer l+1's value at index i: slot i div n_{l+2} of its leaf i mod n_{l+2},
     * or, after the last layer, the remainder polynomial at c^(f^L) * w_{n_L}^i. */
    const fe zeta_inv = f_inv(f_root_of_unity(log_f));
    const fe f_inv_scalar = f_inv((fe)f);
    const unsigned log_nl_last = log_n - v->n_layers * log_f;
    fe offset = ZK_LDE_OFFSET; /* c^(f^l) */
    for (unsigned l = 0; l < v->n_layers; l++) {
        const unsigned log_nl = log_n - l * log_f;
        const fe omega_nl = f_root_of_unity(log_nl);
        const fe next_offset = f_pow(offset, f);
        const int last = l + 1 == v->n_layers;
        const unsigned log_stride = log_nl - 2 * log_f; /* n_{l+2}, when l+1 < L */
        for (size_t o = 0; o < s->n_leaf_idx[l]; o++) {
            uint64_t i = s->leaf_idx[l][o];
            fe x = f_mul(offset, f_pow(omega_nl, i));
            fe3 folded = fold_leaf(v->layers[l].values + f * EXT * o, f, betas[l], f_inv(x),
                                   zeta_inv, f_inv_scalar);
            if (!last) {
                uint64_t stride = (uint64_t)1 << log_stride;
                const uint8_t *leaf =
                    v->layers[l + 1].values +
                    f * EXT * find_sorted(s->leaf_idx[l + 1], s->n_leaf_idx[l + 1], i & (stride - 1));
                if (!e_eq(load_fe3(leaf + EXT * (i >> log_stride)), folded))
                    return fail(sink, ZK_CHECK_FRI_FOLD,
                                "folding FRI layer %u at leaf %llu disagrees with layer %u", l,
                                (unsigned long long)i, l + 1);
            } else {
                fe xl = f_mul(next_offset, f_pow(f_root_of_unity(log_nl_last), i));
                if (!e_eq(eval_remainder(v, xl), folded))
                    return fail(sink, ZK_CHECK_FRI_REMAINDER,
                                "the last FRI layer at index %llu is not the remainder "
                                "polynomial",
                                (unsigned long long)i);
            }
        }
        offset = next_offset;
    }
    if (!v->n_layers) {
        for (size_t p = 0; p < k; p++) {
            fe x = f_mul(ZK_LDE_OFFSET, f_pow(omega_n, positions[p]));
            if (!e_eq(eval_remainder(v, x), deep_values[p]))
                return fail(sink, ZK_CHECK_FRI_REMAINDER,
                            "DEEP(x) at position %llu is not the remainder polynomial",
                            (unsigned long long)positions[p]);
        }
    }
    return ZK_VERIFY_OK;
}

int zk_verify(const uint8_t *receipt, size_t receipt_len, const uint8_t *program,
              size_t program_len, double min_security_bits, char *reason, size_t reason_cap) {
    reason_sink sink = {reason, reason_cap};
    if (reason && reason_cap) reason[0] = '\0';
    if (!receipt && receipt_len) return fail(&sink, ZK_CHECK_FORMAT, "no receipt bytes");
    if (!program && program_len) return fail(&sink, ZK_CHECK_STATEMENT, "no program bytes");

    receipt_view v;
    int rc = decode_receipt(receipt, receipt_len, &v, &sink);
    if (rc != ZK_VERIFY_OK) return rc;

    zk_program prog;
    if (zk_program_decode(program, program_len, &prog) != 0)
        return fail(&sink, ZK_CHECK_STATEMENT, "the program bytes are not a canonical program");
    uint8_t digest[32];
    zk_sha256(program, program_len, digest);
    if (memcmp(digest, v.program_hash, 32) != 0)
        return fail(&sink, ZK_CHECK_STATEMENT,
                    "the receipt is for another program (its program hash differs)");
    if (v.n_inputs != prog.n_inputs)
        return fail(&sink, ZK_CHECK_STATEMENT, "the receipt has %u inputs, the program takes %u",
                    (unsigned)v.n_inputs, (unsigned)prog.n_inputs);
    if (v.n_outputs != prog.n_outputs)
        return fail(&sink, ZK_CHECK_STATEMENT, "the receipt has %u outputs, the program has %u",
                    (unsigned)v.n_outputs, (unsigned)prog.n_outputs);

    verifier_scratch *s = malloc(sizeof *s);
    if (!s) return fail(&sink, ZK_VERIFY_NO_MEMORY, "out of memory");
    rc = verify_decoded(&v, &prog, min_security_bits, s, &sink);
    free(s);
    return rc;
}
