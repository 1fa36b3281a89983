/* The native STARK verifier (docs/protocol.md 9 and 10, and 16 and 17 for format 3);
 * see verifier.h. (Named stark_verifier.c because Cython claims ext/verifier.c for
 * ext/verifier.pyx.)
 *
 * Both AIRs share the STARK core: a format-2 receipt (AIR 1) has the trace and
 * composition trees and two segments; a format-3 receipt (AIR 2) adds the auxiliary tree
 * of K columns between them and has three segments. Only the statement, the policy, the
 * transcript's first messages and the OOD check depend on the AIR; everything after the
 * OOD check (counts, Merkle openings, DEEP, FRI) is one code path over the view.
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
#include "air2.h"
#include "field.h"
#include "hash.h"
#include "merkle.h"
#include "profiles.h"
#include "transcript.h"
#include "machine.h"
#include "vm.h"

#define MAX_QUERIES 64      /* above every profile's q; |P| <= q is checked on decode */
#define MAX_FOLDING 16      /* above every profile's f */

static const uint8_t RECEIPT_MAGIC[4] = {'Z', 'K', 'R', 'C'};
#define EXT ZK_EXT_BYTES /* bytes of an element of K */

#define RECEIPT_V3 3                     /* format 3: AIR 2 (protocol.md 16) */
#define MAX_RECEIPT_BYTES (512u * 1024)   /* format 2 (protocol.md 10) */
#define MAX_RECEIPT3_BYTES (2u * 1024 * 1024) /* format 3, and any input at all */
#define MAX_SEGMENTS 3

typedef struct {
    uint16_t n_leaves;       /* k_l */
    const uint8_t *values;   /* k_l * f * EXT bytes, leaves in ascending index order */
    uint32_t proof_count;
    const uint8_t *proof;    /* proof_count * 32 bytes */
} fri_layer_view;

/* A decoded receipt: scalars copied out, bulk data left in place (already validated). */
typedef struct {
    uint16_t version;        /* 2 (AIR 1) or 3 (AIR 2) */
    const zk_profile *prof;
    const uint8_t *program_hash;
    uint32_t n_inputs, n_outputs;
    fe inputs[ZK_MAX_INPUTS], outputs[ZK_MAX_OUTPUTS]; /* format 2 */
    const uint8_t *input_bytes, *output_bytes; /* format 3: n LE64 each, canonical */
    unsigned log_t;
    uint16_t width, aux_width; /* aux_width 0 for format 2 */
    unsigned n_seg;          /* composition segments: 2, or 3 for format 3 */
    const uint8_t *trace_root, *aux_root, *comp_root;
    /* (2 w + 2 w_aux + n_seg) * EXT bytes: t(z), t(zw), a(z), a(zw), C_i(z) */
    const uint8_t *ood;
    unsigned n_layers;
    const uint8_t *layer_roots;
    uint16_t remainder_len;
    const uint8_t *remainder;
    uint64_t nonce;
    uint16_t n_positions;
    const uint8_t *trace_rows;   /* |P| * w * 8 bytes */
    uint32_t trace_proof_count;
    const uint8_t *trace_proof;
    const uint8_t *aux_rows;     /* |P| * w_aux * EXT bytes */
    uint32_t aux_proof_count;
    const uint8_t *aux_proof;
    const uint8_t *comp_rows;    /* |P| * n_seg * EXT bytes */
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
    case ZK_CHECK_AUX_MERKLE: return "aux_merkle";
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

/* The profile id (and the limits the fixed-size arrays below rely on). */
static int take_profile(reader *r, receipt_view *v, reason_sink *sink) {
    unsigned u;
    if (!take_u8(r, &u)) return TRUNCATED("the profile id");
    v->prof = zk_profile_by_id(u);
    if (!v->prof) return fail(sink, ZK_CHECK_FORMAT, "unknown profile id %u", u);
    /* A future profile beyond these limits must raise them, not overflow them. */
    if (v->prof->queries > MAX_QUERIES || (1u << v->prof->log_folding) > MAX_FOLDING)
        return fail(sink, ZK_CHECK_FORMAT, "profile %s exceeds this verifier's limits",
                    v->prof->name);
    return ZK_VERIFY_OK;
}

/* Format 2 (protocol.md 10): profile id to trace width. */
static int decode_header_v2(reader *r, receipt_view *v, reason_sink *sink) {
    const uint8_t *b;
    unsigned u;
    uint16_t n16;
    int code = take_profile(r, v, sink);
    if (code != ZK_VERIFY_OK) return code;
    if (!take(r, 32, &v->program_hash)) return TRUNCATED("the program hash");

    if (!take_le16(r, &n16)) return TRUNCATED("the input count");
    v->n_inputs = n16;
    if (v->n_inputs > ZK_MAX_INPUTS)
        return fail(sink, ZK_CHECK_FORMAT, "%u inputs, more than the limit %d",
                    (unsigned)v->n_inputs, ZK_MAX_INPUTS);
    if (!take_fes(r, v->n_inputs, &b, sink, "the inputs", &code)) return code;
    for (unsigned i = 0; i < v->n_inputs; i++) v->inputs[i] = zk_get_le64(b + 8 * i);
    if (!take_le16(r, &n16)) return TRUNCATED("the output count");
    v->n_outputs = n16;
    if (v->n_outputs > ZK_MAX_OUTPUTS)
        return fail(sink, ZK_CHECK_FORMAT, "%u outputs, more than the limit %d",
                    (unsigned)v->n_outputs, ZK_MAX_OUTPUTS);
    if (!take_fes(r, v->n_outputs, &b, sink, "the outputs", &code)) return code;
    for (unsigned i = 0; i < v->n_outputs; i++) v->outputs[i] = zk_get_le64(b + 8 * i);

    if (!take_u8(r, &u)) return TRUNCATED("log2 T");
    v->log_t = u;
    if (v->log_t < ZK_MIN_LOG_T || v->log_t > ZK_MAX_LOG_T)
        return fail(sink, ZK_CHECK_FORMAT, "log2 T = %u is outside [%d, %d]", v->log_t,
                    ZK_MIN_LOG_T, ZK_MAX_LOG_T);
    if (!take_le16(r, &v->width)) return TRUNCATED("the trace width");
    if (v->width < 1 || v->width > ZK_AIR_MAX_WIDTH)
        return fail(sink, ZK_CHECK_FORMAT, "trace width %u is outside [1, %d]",
                    (unsigned)v->width, ZK_AIR_MAX_WIDTH);
    v->aux_width = 0;
    v->n_seg = 2;
    return ZK_VERIFY_OK;
}

/* LE32 count (at most ZK_MACHINE_MAX_IO) then that many canonical field elements. */
static int take_io(reader *r, uint32_t *n, const uint8_t **values, reason_sink *sink,
                   const char *what) {
    int code = ZK_CHECK_FORMAT;
    if (!take_le32(r, n))
        return fail(sink, ZK_CHECK_FORMAT, "receipt truncated in the %s count", what);
    if (*n > ZK_MACHINE_MAX_IO)
        return fail(sink, ZK_CHECK_FORMAT, "%u %s, more than the limit %d", (unsigned)*n, what,
                    ZK_MACHINE_MAX_IO);
    if (!take_fes(r, *n, values, sink, what, &code)) return code;
    return ZK_VERIFY_OK;
}

/* Format 3 (protocol.md 16): profile id to w_aux. */
static int decode_header_v3(reader *r, receipt_view *v, reason_sink *sink) {
    unsigned u;
    int code = take_profile(r, v, sink);
    if (code != ZK_VERIFY_OK) return code;
    if (!take_u8(r, &u)) return TRUNCATED("the air id");
    if (u != ZK_AIR2_ID)
        return fail(sink, ZK_CHECK_FORMAT, "air id %u in a format-3 receipt (it must be %d)", u,
                    ZK_AIR2_ID);
    if (!take(r, 32, &v->program_hash)) return TRUNCATED("the program hash");
    code = take_io(r, &v->n_inputs, &v->input_bytes, sink, "inputs");
    if (code != ZK_VERIFY_OK) return code;
    code = take_io(r, &v->n_outputs, &v->output_bytes, sink, "outputs");
    if (code != ZK_VERIFY_OK) return code;
    if (!take_u8(r, &u)) return TRUNCATED("log2 T");
    v->log_t = u;
    if (v->log_t < ZK_AIR2_MIN_LOG_T || v->log_t > ZK_MAX_LOG_T)
        return fail(sink, ZK_CHECK_FORMAT, "log2 T = %u is outside [%d, %d]", v->log_t,
                    ZK_AIR2_MIN_LOG_T, ZK_MAX_LOG_T);
    if (!take_le16(r, &v->width)) return TRUNCATED("the trace width");
    if (v->width != ZK_AIR2_WIDTH)
        return fail(sink, ZK_CHECK_FORMAT, "main trace width %u (AIR 2's is %d)",
                    (unsigned)v->width, ZK_AIR2_WIDTH);
    if (!take_le16(r, &v->aux_width)) return TRUNCATED("the auxiliary width");
    if (v->aux_width != ZK_AIR2_AUX_WIDTH)
        return fail(sink, ZK_CHECK_FORMAT, "auxiliary width %u (AIR 2's is %d)",
                    (unsigned)v->aux_width, ZK_AIR2_AUX_WIDTH);
    v->n_seg = ZK_AIR2_SEGMENTS;
    return ZK_VERIFY_OK;
}

/* The proof, from the trace root on: the same layout for both formats, with the
 * auxiliary root, OOD values and rows present only when w_aux > 0. */
static int decode_proof(reader *r, receipt_view *v, reason_sink *sink) {
    unsigned u;
    int code = ZK_CHECK_FORMAT;
    const zk_profile *prof = v->prof;
    const unsigned w = v->width, wa = v->aux_width, n_seg = v->n_seg;
    const unsigned log_n = v->log_t + prof->log_blowup;
    const unsigned log_f = prof->log_folding;
    const size_t f = (size_t)1 << log_f;
    size_t remainder_size;
    const unsigned n_layers = zk_fri_num_layers(prof, v->log_t, &remainder_size);

    if (!take(r, 32, &v->trace_root)) return TRUNCATED("the trace root");
    if (wa && !take(r, 32, &v->aux_root)) return TRUNCATED("the auxiliary root");
    if (!take(r, 32, &v->comp_root)) return TRUNCATED("the composition root");
    size_t n_ood = (size_t)2 * w + (size_t)2 * wa + n_seg;
    if (!take_fes(r, ZK_EXT_DEGREE * n_ood, &v->ood, sink, "the OOD frame", &code)) return code;

    if (!take_u8(r, &u)) return TRUNCATED("the FRI layer count");
    if (u != n_layers)
        return fail(sink, ZK_CHECK_FORMAT,
                    "%u FRI layers, but T = 2^%u and profile %s imply %u", u, v->log_t,
                    prof->name, n_layers);
    v->n_layers = n_layers;
    if (!take(r, (size_t)32 * n_layers, &v->layer_roots)) return TRUNCATED("the FRI roots");
    if (!take_le16(r, &v->remainder_len)) return TRUNCATED("the remainder size");
    if (v->remainder_len != remainder_size)
        return fail(sink, ZK_CHECK_FORMAT,
                    "remainder of %u coefficients, but T = 2^%u and profile %s imply %zu",
                    (unsigned)v->remainder_len, v->log_t, prof->name, remainder_size);
    if (!take_fes(r, ZK_EXT_DEGREE * (size_t)v->remainder_len, &v->remainder, sink,
                  "the remainder", &code))
        return code;
    if (!take_le64(r, &v->nonce)) return TRUNCATED("the grinding nonce");

    if (!take_le16(r, &v->n_positions)) return TRUNCATED("the position count");
    if (v->n_positions < 1 || v->n_positions > prof->queries)
        return fail(sink, ZK_CHECK_FORMAT, "%u opened positions, outside [1, q = %u]",
                    (unsigned)v->n_positions, (unsigned)prof->queries);
    const size_t k = v->n_positions;
    if (!take_fes(r, k * w, &v->trace_rows, sink, "the trace rows", &code)) return code;
    if (!take_multiproof(r, k, (uint64_t)1 << log_n, &v->trace_proof_count, &v->trace_proof,
                         sink, "trace", &code))
        return code;
    if (wa) {
        if (!take_fes(r, k * wa * ZK_EXT_DEGREE, &v->aux_rows, sink, "the auxiliary rows",
                      &code))
            return code;
        if (!take_multiproof(r, k, (uint64_t)1 << log_n, &v->aux_proof_count, &v->aux_proof,
                             sink, "auxiliary", &code))
            return code;
    }
    if (!take_fes(r, k * n_seg * ZK_EXT_DEGREE, &v->comp_rows, sink, "the composition rows",
                  &code))
        return code;
    if (!take_multiproof(r, k, (uint64_t)1 << log_n, &v->comp_proof_count, &v->comp_proof, sink,
                         "composition", &code))
        return code;

    for (unsigned l = 0; l < n_layers; l++) {
        fri_layer_view *layer = &v->layers[l];
        uint64_t n_leaves = ((uint64_t)1 << (log_n - l * log_f)) >> log_f;
        if (!take_le16(r, &layer->n_leaves)) return TRUNCATED("an FRI layer's leaf count");
        if (layer->n_leaves < 1 || layer->n_leaves > k)
            return fail(sink, ZK_CHECK_FORMAT,
                        "FRI layer %u opens %u leaves, outside [1, %zu positions]", l,
                        (unsigned)layer->n_leaves, k);
        if (!take_fes(r, (size_t)layer->n_leaves * f * ZK_EXT_DEGREE, &layer->values, sink,
                      "an FRI layer's values", &code))
            return code;
        if (!take_multiproof(r, layer->n_leaves, n_leaves, &layer->proof_count, &layer->proof,
                             sink, "FRI layer", &code))
            return code;
    }
    if (r->left != 0)
        return fail(sink, ZK_CHECK_FORMAT, "%zu trailing bytes after the receipt (at byte %zu)",
                    r->left, offset_of(r));
    return ZK_VERIFY_OK;
}

static int decode_receipt(const uint8_t *data, size_t len, receipt_view *v, reason_sink *sink) {
    reader r = {data, len, data};
    const uint8_t *b;
    memset(v, 0, sizeof *v);

    if (len > MAX_RECEIPT3_BYTES)
        return fail(sink, ZK_CHECK_FORMAT, "%zu bytes is longer than any receipt (%u at most)",
                    len, MAX_RECEIPT3_BYTES);
    if (!take(&r, 4, &b)) return TRUNCATED("the magic");
    if (memcmp(b, RECEIPT_MAGIC, 4) != 0)
        return fail(sink, ZK_CHECK_FORMAT, "not a receipt: the magic is not \"ZKRC\"");
    if (!take_le16(&r, &v->version)) return TRUNCATED("the format version");
    if (v->version == 1)
        return fail(sink, ZK_CHECK_FORMAT,
                    "receipt format version 1 was made by an earlier version of zkactors "
                    "(challenges from the quadratic extension field) and is no longer "
                    "accepted; prove the statement again to get a version %d receipt",
                    ZK_RECEIPT_VERSION);
    int code;
    if (v->version == ZK_RECEIPT_VERSION) {
        if (len > MAX_RECEIPT_BYTES)
            return fail(sink, ZK_CHECK_FORMAT,
                        "%zu bytes is longer than any format-2 receipt (%u at most)", len,
                        MAX_RECEIPT_BYTES);
        code = decode_header_v2(&r, v, sink);
    } else if (v->version == RECEIPT_V3) {
        code = decode_header_v3(&r, v, sink);
    } else {
        return fail(sink, ZK_CHECK_FORMAT,
                    "receipt format version %u is not supported (this verifier reads %d and %d)",
                    (unsigned)v->version, ZK_RECEIPT_VERSION, RECEIPT_V3);
    }
    if (code != ZK_VERIFY_OK) return code;
    return decode_proof(&r, v, sink);
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
    /* the OOD frame: t(z), t(zw), a(z), a(zw), C_i(z) */
    fe3 tz[ZK_AIR_MAX_WIDTH], tzw[ZK_AIR_MAX_WIDTH];
    fe3 az[ZK_AIR2_AUX_WIDTH], azw[ZK_AIR2_AUX_WIDTH], cz[MAX_SEGMENTS];
    /* the DEEP coefficients, drawn in this order */
    fe3 deep_a[ZK_AIR_MAX_WIDTH], deep_b[ZK_AIR_MAX_WIDTH];
    fe3 deep_aa[ZK_AIR2_AUX_WIDTH], deep_ab[ZK_AIR2_AUX_WIDTH], deep_c[MAX_SEGMENTS];
    fe3 z;
    fe3 betas[ZK_MAX_FRI_LAYERS];
    /* the positions the replay selects, ascending, distinct */
    uint64_t positions[MAX_QUERIES];
    size_t n_positions;
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

/* The transcript from z on, the same for both AIRs (protocol.md 9.1, 15.5-15.7): z, the
 * OOD frame, the DEEP coefficients, the FRI roots and betas, the remainder, the grinding
 * check and the nonce, the positions. Also loads the OOD frame into s. */
static int replay_tail(zk_transcript *t, const receipt_view *v, verifier_scratch *s,
                       reason_sink *sink) {
    const zk_profile *prof = v->prof;
    const unsigned w = v->width, wa = v->aux_width, n_seg = v->n_seg;
    do {
        s->z = zk_transcript_draw_ext(t);
    } while (e_in_base(s->z));
    size_t n_ood = (size_t)2 * w + (size_t)2 * wa + n_seg;
    zk_transcript_absorb(t, v->ood, n_ood * EXT);
    for (unsigned j = 0; j < w; j++) s->deep_a[j] = zk_transcript_draw_ext(t);
    for (unsigned j = 0; j < w; j++) s->deep_b[j] = zk_transcript_draw_ext(t);
    for (unsigned j = 0; j < wa; j++) s->deep_aa[j] = zk_transcript_draw_ext(t);
    for (unsigned j = 0; j < wa; j++) s->deep_ab[j] = zk_transcript_draw_ext(t);
    for (unsigned i = 0; i < n_seg; i++) s->deep_c[i] = zk_transcript_draw_ext(t);
    for (unsigned l = 0; l < v->n_layers; l++) {
        zk_transcript_absorb(t, v->layer_roots + 32 * l, 32);
        s->betas[l] = zk_transcript_draw_ext(t);
    }
    {
        zk_absorber a;
        uint8_t len_bytes[2];
        zk_put_le16(len_bytes, v->remainder_len);
        zk_absorber_begin(&a, t);
        zk_absorber_bytes(&a, len_bytes, 2);
        zk_absorber_bytes(&a, v->remainder, (size_t)EXT * v->remainder_len);
        zk_absorber_end(&a);
    }
    if (!zk_transcript_check_pow(t, v->nonce, prof->grinding_bits))
        return fail(sink, ZK_CHECK_GRINDING,
                    "nonce %llu does not have %u zero low bits of proof of work",
                    (unsigned long long)v->nonce, (unsigned)prof->grinding_bits);
    {
        uint8_t nonce_bytes[8];
        zk_put_le64(nonce_bytes, v->nonce);
        zk_transcript_absorb(t, nonce_bytes, 8);
    }
    const uint64_t n = (uint64_t)1 << (v->log_t + prof->log_blowup);
    s->n_positions = prof->queries;
    for (size_t i = 0; i < s->n_positions; i++) s->positions[i] = zk_transcript_draw_index(t, n);
    sort_unique(s->positions, &s->n_positions);

    const uint8_t *o = v->ood;
    for (unsigned j = 0; j < w; j++) s->tz[j] = load_fe3(o + EXT * j);
    o += (size_t)EXT * w;
    for (unsigned j = 0; j < w; j++) s->tzw[j] = load_fe3(o + EXT * j);
    o += (size_t)EXT * w;
    for (unsigned j = 0; j < wa; j++) s->az[j] = load_fe3(o + EXT * j);
    o += (size_t)EXT * wa;
    for (unsigned j = 0; j < wa; j++) s->azw[j] = load_fe3(o + EXT * j);
    o += (size_t)EXT * wa;
    for (unsigned i = 0; i < n_seg; i++) s->cz[i] = load_fe3(o + EXT * i);
    return ZK_VERIFY_OK;
}

/* C_0(z) + z^T C_1(z) (+ z^2T C_2(z)): the committed segments at z. */
static fe3 segments_at_z(const receipt_view *v, const verifier_scratch *s) {
    fe3 zt = e_pow(s->z, (uint64_t)1 << v->log_t), acc = E_ZERO;
    for (unsigned i = v->n_seg; i-- > 0;) acc = e_add(e_mul(acc, zt), s->cz[i]);
    return acc;
}

/* The receipt's counts against the replay ("format"), then every Merkle opening in the
 * order of protocol.md 9.5 and 17: trace, auxiliary, composition, FRI layers. */
static int check_openings(const receipt_view *v, verifier_scratch *s, reason_sink *sink) {
    const zk_profile *prof = v->prof;
    const unsigned log_n = v->log_t + prof->log_blowup, log_f = prof->log_folding;
    const uint64_t n = (uint64_t)1 << log_n;
    const size_t f = (size_t)1 << log_f, k = v->n_positions;
    if (k != s->n_positions)
        return fail(sink, ZK_CHECK_FORMAT,
                    "the receipt opens %zu positions, the transcript selects %zu", k,
                    s->n_positions);
    const uint64_t leaves_0 = n >> log_f; /* layer 0's leaf count, n_1 */
    for (unsigned l = 0; l < v->n_layers; l++) {
        const uint64_t m = leaves_0 >> (l * log_f); /* layer l's leaves, = n_{l+1} */
        size_t count = k;
        for (size_t p = 0; p < k; p++) s->leaf_idx[l][p] = s->positions[p] & (m - 1);
        sort_unique(s->leaf_idx[l], &count);
        s->n_leaf_idx[l] = count;
        if (v->layers[l].n_leaves != count)
            return fail(sink, ZK_CHECK_FORMAT,
                        "FRI layer %u opens %u leaves, the positions select %zu", l,
                        (unsigned)v->layers[l].n_leaves, count);
    }

    if (!check_multiproof(v->trace_root, n, s->positions, k, v->trace_rows,
                          (size_t)8 * v->width, v->trace_proof, v->trace_proof_count))
        return fail(sink, ZK_CHECK_TRACE_MERKLE,
                    "the opened trace rows do not hash to the trace root");
    if (v->aux_width &&
        !check_multiproof(v->aux_root, n, s->positions, k, v->aux_rows,
                          (size_t)EXT * v->aux_width, v->aux_proof, v->aux_proof_count))
        return fail(sink, ZK_CHECK_AUX_MERKLE,
                    "the opened auxiliary rows do not hash to the auxiliary root");
    if (!check_multiproof(v->comp_root, n, s->positions, k, v->comp_rows,
                          (size_t)EXT * v->n_seg, v->comp_proof, v->comp_proof_count))
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
    return ZK_VERIFY_OK;
}

/* DEEP(x) of protocol.md 8.4 / 15.6 at the p-th opened position (point x). */
static fe3 deep_at(const receipt_view *v, const verifier_scratch *s, size_t p, fe x, fe3 zw) {
    const unsigned w = v->width, wa = v->aux_width;
    /* x is in F and z, zw are not (z.c1 or z.c2 != 0), so neither difference is zero. */
    fe3 inv_xz = e_inv(e_sub(e_from(x), s->z));
    fe3 inv_xzw = e_inv(e_sub(e_from(x), zw));
    const uint8_t *row = v->trace_rows + (size_t)8 * w * p;
    fe3 sum_z = E_ZERO, sum_zw = E_ZERO;
    for (unsigned j = 0; j < w; j++) {
        fe3 tx = e_from(zk_get_le64(row + 8 * j));
        sum_z = e_add(sum_z, e_mul(s->deep_a[j], e_sub(tx, s->tz[j])));
        sum_zw = e_add(sum_zw, e_mul(s->deep_b[j], e_sub(tx, s->tzw[j])));
    }
    const uint8_t *aux = wa ? v->aux_rows + (size_t)EXT * wa * p : NULL;
    for (unsigned j = 0; j < wa; j++) {
        fe3 ax = load_fe3(aux + EXT * j);
        sum_z = e_add(sum_z, e_mul(s->deep_aa[j], e_sub(ax, s->az[j])));
        sum_zw = e_add(sum_zw, e_mul(s->deep_ab[j], e_sub(ax, s->azw[j])));
    }
    const uint8_t *comp = v->comp_rows + (size_t)EXT * v->n_seg * p;
    for (unsigned i = 0; i < v->n_seg; i++)
        sum_z = e_add(sum_z, e_mul(s->deep_c[i], e_sub(load_fe3(comp + EXT * i), s->cz[i])));
    return e_add(e_mul(sum_z, inv_xz), e_mul(sum_zw, inv_xzw));
}

/* DEEP at every position against FRI layer 0, then the folds down to the remainder
 * (protocol.md 9.4). */
static int check_deep_and_fri(const receipt_view *v, const verifier_scratch *s,
                              reason_sink *sink) {
    const zk_profile *prof = v->prof;
    const unsigned log_t = v->log_t, log_n = log_t + prof->log_blowup;
    const unsigned log_f = prof->log_folding;
    const size_t f = (size_t)1 << log_f, k = v->n_positions;
    const uint64_t leaves_0 = ((uint64_t)1 << log_n) >> log_f;
    const fe omega_n = f_root_of_unity(log_n);
    const fe3 zw = e_mul_base(s->z, f_root_of_unity(log_t));
    fe3 deep_values[MAX_QUERIES];
    for (size_t p = 0; p < k; p++) {
        fe x = f_mul(ZK_LDE_OFFSET, f_pow(omega_n, s->positions[p]));
        deep_values[p] = deep_at(v, s, p, x, zw);
        if (v->n_layers) {
            /* index i of layer 0 is slot i div n_1 of leaf i mod n_1 */
            uint64_t i = s->positions[p];
            const uint8_t *leaf = v->layers[0].values +
                                  f * EXT * find_sorted(s->leaf_idx[0], s->n_leaf_idx[0],
                                                        i & (leaves_0 - 1));
            if (!e_eq(load_fe3(leaf + EXT * (i >> (log_n - log_f))), deep_values[p]))
                return fail(sink, ZK_CHECK_DEEP,
                            "DEEP(x) at position %llu differs from FRI layer 0",
                            (unsigned long long)i);
        }
    }

    /* Folding leaf i of layer l gives layer l+1's value at index i: slot i div n_{l+2} of
     * its leaf i mod n_{l+2}, or, after the last layer, the remainder polynomial at
     * c^(f^L) * w_{n_L}^i. */
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
            fe3 folded = fold_leaf(v->layers[l].values + f * EXT * o, f, s->betas[l], f_inv(x),
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
            fe x = f_mul(ZK_LDE_OFFSET, f_pow(omega_n, s->positions[p]));
            if (!e_eq(eval_remainder(v, x), deep_values[p]))
                return fail(sink, ZK_CHECK_FRI_REMAINDER,
                            "DEEP(x) at position %llu is not the remainder polynomial",
                            (unsigned long long)s->positions[p]);
        }
    }
    return ZK_VERIFY_OK;
}

/* Everything after the AIR's own transcript head and OOD check: the same for both. */
static int check_after_ood(const receipt_view *v, verifier_scratch *s, reason_sink *sink) {
    int rc = check_openings(v, s, sink);
    return rc != ZK_VERIFY_OK ? rc : check_deep_and_fri(v, s, sink);
}

/* ---- AIR 1 (format 2) ---- */

static int verify_air1(const receipt_view *v, const zk_program *prog, double min_security_bits,
                       verifier_scratch *s, reason_sink *sink) {
    const zk_profile *prof = v->prof;
    const unsigned w = v->width;
    const unsigned log_t = v->log_t;

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
    int rc = replay_tail(&t, v, s, sink);
    if (rc != ZK_VERIFY_OK) return rc;

    /* ---- OOD check (protocol.md 9.2) */
    fe3 lhs = zk_air_composition_at(&s->air, s->tz, s->tzw, v->inputs, v->outputs, s->alphas,
                                    s->z, log_t);
    if (!e_eq(lhs, segments_at_z(v, s)))
        return fail(sink, ZK_CHECK_OOD,
                    "the constraints at the out-of-domain point do not match the composition "
                    "polynomial's segments");
    return check_after_ood(v, s, sink);
}

/* ---- AIR 2 (format 3) ---- */

/* The statement of protocol.md 15, absorbed as one message. */
static void absorb_statement_air2(zk_transcript *t, const receipt_view *v) {
    const zk_profile *prof = v->prof;
    uint8_t head[14 + 2 + 1 + 1 + 1 + 2 + 1 + 1 + 2];
    uint8_t *p = head;
    memcpy(p, "zkactors-stark", 14);
    p += 14;
    zk_put_le16(p, RECEIPT_V3);
    p += 2;
    *p++ = ZK_AIR2_ID;
    *p++ = prof->id;
    *p++ = prof->log_blowup;
    zk_put_le16(p, prof->queries);
    p += 2;
    *p++ = prof->grinding_bits;
    *p++ = prof->log_folding;
    zk_put_le16(p, prof->max_remainder);

    zk_absorber a;
    uint8_t b4[4], b1 = (uint8_t)v->log_t;
    zk_absorber_begin(&a, t);
    zk_absorber_bytes(&a, head, sizeof head);
    zk_absorber_bytes(&a, v->program_hash, 32);
    zk_put_le32(b4, v->n_inputs);
    zk_absorber_bytes(&a, b4, 4);
    zk_absorber_bytes(&a, v->input_bytes, (size_t)8 * v->n_inputs);
    zk_put_le32(b4, v->n_outputs);
    zk_absorber_bytes(&a, b4, 4);
    zk_absorber_bytes(&a, v->output_bytes, (size_t)8 * v->n_outputs);
    zk_absorber_bytes(&a, &b1, 1);
    zk_absorber_end(&a);
}

/* Statement checks of protocol.md 17 after the program hash, in its order (the counts;
 * canonical values were checked on decoding). */
static int check_statement_air2(const receipt_view *v, const zk_machine_program *p,
                                const fe *outputs, reason_sink *sink) {
    if (v->n_inputs < p->n_inputs)
        return fail(sink, ZK_CHECK_STATEMENT, "the receipt has %u inputs, the program takes %u",
                    (unsigned)v->n_inputs, (unsigned)p->n_inputs);
    if (v->n_outputs < p->n_outputs)
        return fail(sink, ZK_CHECK_STATEMENT, "the receipt has %u outputs, the program has %u",
                    (unsigned)v->n_outputs, (unsigned)p->n_outputs);
    for (uint32_t i = 0; i < p->n_outputs; i++)
        for (uint32_t j = 0; j < i; j++)
            if (p->outputs[i] == p->outputs[j] && outputs[i] != outputs[j])
                return fail(sink, ZK_CHECK_STATEMENT,
                            "outputs %u and %u name one register with different values", j, i);
    const uint64_t T = (uint64_t)1 << v->log_t;
    if (v->log_t < zk_air2_log_t(p, 0))
        return fail(sink, ZK_CHECK_STATEMENT,
                    "trace length 2^%u is too short for the program (%u instructions, %u "
                    "registers)",
                    v->log_t, (unsigned)p->n_instructions, (unsigned)p->n_registers);
    if (v->n_inputs - p->n_inputs >= T || v->n_outputs - p->n_outputs >= T)
        return fail(sink, ZK_CHECK_STATEMENT,
                    "more stream inputs or outputs than the trace has rows (T = 2^%u)",
                    v->log_t);
    return ZK_VERIFY_OK;
}

static int verify_air2(const receipt_view *v, const zk_machine_program *prog,
                       const fe *inputs, const fe *outputs, double min_security_bits,
                       verifier_scratch *s, reason_sink *sink) {
    const zk_profile *prof = v->prof;
    int rc = check_statement_air2(v, prog, outputs, sink);
    if (rc != ZK_VERIFY_OK) return rc;

    const double bits = zk_security_bits_air2(prof, v->log_t, ZK_AIR2_N_CONSTRAINTS);
    if (!(bits >= min_security_bits))
        return fail(sink, ZK_CHECK_POLICY,
                    "the receipt's security is %.1f conjectured bits (profile %s, T = 2^%u, "
                    "AIR 2), below the required %.1f",
                    bits, prof->name, v->log_t, min_security_bits);

    /* ---- transcript replay (protocol.md 15) */
    zk_transcript t;
    zk_transcript_init(&t);
    absorb_statement_air2(&t, v);
    zk_transcript_absorb(&t, v->trace_root, 32);
    fe3 alpha = zk_transcript_draw_ext(&t);
    fe3 beta = zk_transcript_draw_ext(&t);
    zk_transcript_absorb(&t, v->aux_root, 32);
    for (unsigned i = 0; i < ZK_AIR2_N_CONSTRAINTS; i++) s->alphas[i] = zk_transcript_draw_ext(&t);
    zk_transcript_absorb(&t, v->comp_root, 32);
    rc = replay_tail(&t, v, s, sink);
    if (rc != ZK_VERIFY_OK) return rc;

    /* ---- OOD check: every constraint of protocol.md 14 at z, with the fixed columns at
     * z and V. */
    zk_air2_statement st = {prog, inputs, v->n_inputs, outputs, v->n_outputs, v->log_t};
    zk_air2_challenges ch;
    zk_air2_challenges_init(&ch, &st, alpha, beta);
    if (!ch.v_defined)
        return fail(sink, ZK_CHECK_OOD,
                    "alpha equals one of the verifier's own LogUp tuples (V is undefined)");
    fe3 lhs = zk_air2_composition_at(&st, &ch, s->tz, s->tzw, s->az, s->azw, s->alphas, s->z);
    if (!e_eq(lhs, segments_at_z(v, s)))
        return fail(sink, ZK_CHECK_OOD,
                    "the constraints at the out-of-domain point do not match the composition "
                    "polynomial's segments");
    return check_after_ood(v, s, sink);
}

/* ---- entry point ---- */

static int program_hash_matches(const uint8_t *program, size_t program_len,
                                const receipt_view *v) {
    uint8_t digest[32];
    zk_sha256(program, program_len, digest);
    return memcmp(digest, v->program_hash, 32) == 0;
}

static int verify_format2(const receipt_view *v, const uint8_t *program, size_t program_len,
                          double min_security_bits, reason_sink *sink) {
    zk_program prog;
    if (zk_program_decode(program, program_len, &prog) != 0) {
        zk_machine_program mp;
        int machine = zk_machine_decode(program, program_len, &mp) == 0;
        zk_machine_free(&mp);
        if (machine && !program_hash_matches(program, program_len, v))
            return fail(sink, ZK_CHECK_STATEMENT,
                        "the receipt is for another program (its program hash differs)");
        return fail(sink, ZK_CHECK_STATEMENT,
                    machine ? "a format-2 receipt proves the register AIR, which cannot express "
                              "this program (program format 2); it needs a format-3 receipt"
                            : "the program bytes are not a canonical program");
    }
    if (!program_hash_matches(program, program_len, v))
        return fail(sink, ZK_CHECK_STATEMENT,
                    "the receipt is for another program (its program hash differs)");
    if (v->n_inputs != prog.n_inputs)
        return fail(sink, ZK_CHECK_STATEMENT, "the receipt has %u inputs, the program takes %u",
                    (unsigned)v->n_inputs, (unsigned)prog.n_inputs);
    if (v->n_outputs != prog.n_outputs)
        return fail(sink, ZK_CHECK_STATEMENT, "the receipt has %u outputs, the program has %u",
                    (unsigned)v->n_outputs, (unsigned)prog.n_outputs);

    verifier_scratch *s = malloc(sizeof *s);
    if (!s) return fail(sink, ZK_VERIFY_NO_MEMORY, "out of memory");
    int rc = verify_air1(v, &prog, min_security_bits, s, sink);
    free(s);
    return rc;
}

static fe *load_fes(const uint8_t *b, size_t n) {
    fe *out = malloc((n ? n : 1) * sizeof(fe));
    if (out)
        for (size_t i = 0; i < n; i++) out[i] = zk_get_le64(b + 8 * i);
    return out;
}

static int verify_format3(const receipt_view *v, const uint8_t *program, size_t program_len,
                          double min_security_bits, reason_sink *sink) {
    zk_machine_program prog;
    int rc = zk_machine_decode(program, program_len, &prog);
    if (rc == -2) return fail(sink, ZK_VERIFY_NO_MEMORY, "out of memory");
    if (rc != 0)
        return fail(sink, ZK_CHECK_STATEMENT, "the program bytes are not a canonical program");
    fe *inputs = NULL, *outputs = NULL;
    verifier_scratch *s = NULL;
    if (!program_hash_matches(program, program_len, v)) {
        rc = fail(sink, ZK_CHECK_STATEMENT,
                  "the receipt is for another program (its program hash differs)");
    } else if (!(inputs = load_fes(v->input_bytes, v->n_inputs)) ||
               !(outputs = load_fes(v->output_bytes, v->n_outputs)) ||
               !(s = malloc(sizeof *s))) {
        rc = fail(sink, ZK_VERIFY_NO_MEMORY, "out of memory");
    } else {
        rc = verify_air2(v, &prog, inputs, outputs, min_security_bits, s, sink);
    }
    free(s);
    free(inputs);
    free(outputs);
    zk_machine_free(&prog);
    return rc;
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
    if (v.version == RECEIPT_V3)
        return verify_format3(&v, program, program_len, min_security_bits, &sink);
    return verify_format2(&v, program, program_len, min_security_bits, &sink);
}
