/* The STARK core shared by the provers of the two AIRs (internal to the prover, not an
 * interface of the library).
 *
 * One core, two AIRs: ext/stark_prover.c holds the core steps (commitments, the
 * composition's interpolation and segments, the out-of-domain frame, DEEP, FRI,
 * grinding, queries and the receipt bytes) and the register AIR (AIR 1, protocol.md
 * 8); ext/prover_machine.c holds what is particular to the machine AIR (AIR 2,
 * protocol.md 15): its statement, the auxiliary segment and the constraint evaluation
 * on the composition coset. The core is general in the number of composition segments
 * (n_seg), an optional auxiliary segment of w_aux columns in K, and the receipt format;
 * AIR 1 sets n_seg = 2, w_aux = 0, format 2, and its receipts are those of Part I.
 */
#ifndef ZK_PROVER_CORE_H
#define ZK_PROVER_CORE_H

#include <stddef.h>
#include <stdint.h>

#include "air.h"
#include "field.h"
#include "merkle.h"
#include "ntt.h"
#include "profiles.h"
#include "prover.h"
#include "transcript.h"

#define ZKC_DEG ZK_EXT_DEGREE
/* The most base columns one commitment holds: AIR 1's widest trace (320); AIR 2's 56
 * main columns, its 10 x 3 auxiliary planes and every FRI leaf (3 x f <= 48) fit. */
#define ZKC_MAX_COLS ZK_AIR_MAX_WIDTH
/* The most composition segments (AIR 2: 3). */
#define ZKC_MAX_SEGMENTS 4
/* The air id a format-3 receipt carries (protocol.md 16; air2.h's ZK_AIR2_ID). */
#define ZKC_AIR2_ID 2
/* Rows per block in the composition loops: the batch inversion's unit of work. */
#define ZKC_COMP_BLOCK 256

/* 2^128 mod p: a carry out of a 128-bit lazy sum is worth this much. */
#define ZKC_2POW128 0xFFFFFFFE00000001ULL

/* ---- lazy sums of products: reduce once per sum, not once per term ---- */

typedef struct {
    unsigned __int128 s;
    uint64_t carry; /* number of 2^128 wraparounds */
} lazy;

static inline void lazy_mac(lazy *a, fe x, fe y) {
    unsigned __int128 prod = (unsigned __int128)x * y;
    a->s += prod;
    a->carry += a->s < prod;
}

static inline fe lazy_done(const lazy *a) {
    fe r = f_reduce128((uint64_t)a->s, (uint64_t)(a->s >> 64));
    return f_add(r, f_mul(a->carry, ZKC_2POW128));
}

/* s[0..3) += c (u0 + u1 X + u2 X^2) =
 *     (c0 u0 + W c1 u2 + W c2 u1) + (c0 u1 + c1 u0 + W c2 u2) X + (c0 u2 + c1 u1 + c2 u0) X^2,
 * with wc1 = W c1, wc2 = W c2 at hand, so every term is one product in the lazy sums. */
static inline void ext_mac(lazy *s, fe3 c, fe wc1, fe wc2, fe u0, fe u1, fe u2) {
    lazy_mac(&s[0], c.c0, u0);
    lazy_mac(&s[0], wc1, u2);
    lazy_mac(&s[0], wc2, u1);
    lazy_mac(&s[1], c.c0, u1);
    lazy_mac(&s[1], c.c1, u0);
    lazy_mac(&s[1], wc2, u2);
    lazy_mac(&s[2], c.c0, u2);
    lazy_mac(&s[2], c.c1, u1);
    lazy_mac(&s[2], c.c2, u0);
}

/* A Merkle commitment without its leaf level (stark_prover.c, "commitments"). */
typedef struct {
    zk_digest *nodes; /* n_leaves entries; nodes[1] is the root */
    size_t n_leaves, n_cols;
    const fe *cols[ZKC_MAX_COLS]; /* leaf i = (cols[0][i], ..., cols[n_cols-1][i]) */
} zkc_commitment;

typedef struct zkc_prover zkc_prover;

/* Fill out[c][j] (c < 3, j < M) with coordinate c of the composition C at the j-th point
 * of the coset c_D * <w_M> (M = 2^log_m), from the trace (and auxiliary) LDEs on D and
 * pv->alphas. Sets pv->failed on an allocation failure; polls the cancel flag. */
typedef void (*zkc_composition_fn)(zkc_prover *pv, fe *const *out);

struct zkc_prover {
    const zk_profile *prof;
    zk_air air; /* AIR 1 only */
    unsigned threads, log_t, log_b, log_n, log_f, log_m;
    unsigned grind_threads; /* the caller's count: grinding pays for threads at any size */
    size_t T, N, w;
    unsigned format;        /* receipt format: 2 (AIR 1) or 3 (AIR 2) */
    unsigned n_seg;         /* composition segments C_0 .. C_{n_seg-1} */
    size_t w_aux;           /* auxiliary columns in K (0: no auxiliary segment) */
    uint32_t n_constraints; /* composition coefficients alpha_k */
    uint8_t program_hash[32];
    const fe *inputs, *outputs;
    size_t n_inputs, n_outputs;
    zk_transcript tr;
    volatile int failed; /* an allocation inside a parallel job failed */
    zkc_composition_fn composition;
    void *air_ctx; /* the composition function's own state */

    const fe *const *trace; /* w columns of T values: the main trace over H */
    fe *lde;                /* w x N trace LDE, column-major */
    zkc_commitment trace_tree;
    fe *aux_h;              /* 3 w_aux x T: aux column j's coordinate c is plane 3j + c */
    fe *aux_lde;            /* 3 w_aux x N, same plane order (the leaf order) */
    zkc_commitment aux_tree;
    fe3 *alphas;
    fe *comp_h;             /* 3 n_seg x T over H: C_0.c0, C_0.c1, C_0.c2, C_1.c0, ... */
    fe *comp_lde;           /* 3 n_seg x N, same order (the leaf order) */
    zkc_commitment comp_tree;
    fe3 *frame;             /* t(z)[w] || t(zw)[w] || a(z)[w_aux] || a(zw)[w_aux] || C_i(z) */
    fe3 *inv_h;             /* T: 1/(w_T^i - z) */
    fe *deep_h;             /* 3 x T: DEEP over H, one plane per coordinate */
    unsigned n_layers;
    size_t rem_size;
    fe *layer_vals[ZK_MAX_FRI_LAYERS]; /* 3 x n_l, one plane per coordinate */
    zkc_commitment layer_tree[ZK_MAX_FRI_LAYERS];
    fe *fri_poly;           /* 3 x T: the current FRI polynomial's coefficients */
    uint64_t nonce;
};

double zkc_now(void);
void zkc_mark_failed(zkc_prover *pv);

/* Fill the shape of pv from the profile and T (threads, log sizes, FRI shape). */
void zkc_prover_setup(zkc_prover *pv, const zk_profile *prof, unsigned log_t, unsigned threads,
                      unsigned log_m);
void zkc_prover_free(zkc_prover *pv);

/* LDE of n_cols columns given over H (2^log_t values each) onto offset * <w_n>, n =
 * 2^(log_t + log_blowup): column c at out + c * out_stride. 0, or -1 out of memory. */
int zkc_lde_columns(zkc_prover *pv, const fe *const *in, fe *out, size_t out_stride,
                    size_t n_cols, unsigned log_t, unsigned log_blowup, fe offset);

/* Commit n_cols columns stored one after another (column c at block + c * n) and absorb
 * the root. */
int zkc_commit_block(zkc_prover *pv, zkc_commitment *cm, const fe *block, size_t n_cols,
                     size_t n);

/* 1/(x^T - 1) on the coset c_D * <w_M>: it depends on j mod (M/T) only; table[M/T]. */
void zkc_vanishing_inverses(const zkc_prover *pv, fe *table);

/* Protocol steps: the trace's LDE and commitment (step 1), the composition (draw the
 * alphas, pv->composition, interpolate, split into n_seg segments, commit), and
 * everything from the out-of-domain point to the receipt bytes. */
int zkc_trace_step(zkc_prover *pv, zk_prove_timings *tm);
int zkc_composition_step(zkc_prover *pv, zk_prove_timings *tm);
/* progress: the step number reported before the composition (1 + the steps before). */
int zkc_prove_tail(zkc_prover *pv, zk_prove_result *res, uint32_t progress);

void zkc_report_step(zk_prove_result *res, uint32_t step);
void zkc_result_init(zk_prove_result *res);
int zkc_fits_in_memory(size_t bytes);
int zkc_cancel_code(int rc);
/* Bytes of the FRI layers, OOD tables, DEEP over H and FRI coefficients. */
size_t zkc_memory_tail(const zk_profile *prof, unsigned log_t);

/* ---- the composition's points, a block at a time ----
 *
 * Both AIRs evaluate their constraints on the coset c*<w_m> in blocks of n points from
 * index blk: xs[i] = c*w_m^(blk+i), and the two boundary divisors' inverses,
 * inv[i] = 1/(x_i - 1) and inv[n + i] = 1/(x_i - g_last) (g_last = w_T^(T-1)), by one
 * batch inversion. den is scratch of 2n values. */
static inline void zkc_block_points(fe w_m, fe g_last, size_t blk, size_t n, fe *xs, fe *den,
                                    fe *inv) {
    fe x = f_mul(ZK_LDE_OFFSET, f_pow(w_m, blk));
    for (size_t i = 0; i < n; i++) {
        xs[i] = x;
        den[i] = f_sub(x, 1);
        den[n + i] = f_sub(x, g_last);
        x = f_mul(x, w_m);
    }
    zk_batch_inverse(den, inv, 2 * n);
}

#endif
