/* The STARK prover of docs/protocol.md section 8; see prover.h.
 *
 * Layout of the work (each step names its protocol.md 8 item):
 *   1. trace columns (evaluations over H) -> LDE on D (zk_lde); Merkle tree over the
 *      N rows.
 *   2. the composition C on a coset of size M (M = 2T suffices: deg C < 2T for a trace
 *      that satisfies the AIR, and a polynomial of degree < M is fixed by M values; the
 *      test hook uses M = N, the protocol's literal recipe, so forged traces give the
 *      same bytes as any other implementation), interpolated, split into C_0, C_1, which
 *      are evaluated over H and extended to D like the trace, then committed.
 *   3. t_j(z), t_j(z w), C_i(z) by the barycentric formula over H.
 *   4.-5. DEEP(X) = (P1(X) - P1(z))/(X - z) + (P2(X) - P2(z w))/(X - z w) with
 *      P1 = sum a_j t_j + sum c_i C_i, P2 = sum b_j t_j is a polynomial of degree < T
 *      (t(z), C_i(z) are the polynomials' own values), so it is computed on H, where its
 *      inputs are known, and extended to D as FRI layer 0. FRI's fold of
 *      P(X) = sum_k X^k P_k(X^f) is sum_k beta^k P_k, done on coefficients; a layer's
 *      values are its polynomial on the layer's coset. These are exact identities over
 *      the field, so the bytes equal those of the pointwise formulas of 8.4 and 8.5.
 *   6.-7. grinding, positions, openings, receipt bytes (section 10).
 * Merkle trees are kept without their leaf level (see "commitment" below).
 * A K-valued array is stored as ZK_EXT_DEGREE (= 3) planes of base-field values, one per
 * coordinate (c0 plane, then c1, then c2), so the NTTs and the LDE, which are F-linear,
 * run on each plane as on any base-field column. DEG = ZK_EXT_DEGREE below.
 *
 * Memory: see zk_prove_memory_bytes; everything is freed before returning.
 *
 * Cancellation (prover.h, res->cancel): the flag is bound to the proving thread for the
 * whole call (parallel.h), so the transforms, the hashing and every loop below poll it,
 * in worker threads too. A loop that sees it set stops where it is; each step checks
 * after its parallel loops and returns ZK_PROVE_CANCELLED before using what they left
 * half done, and prove_trace checks between steps. Every buffer lives in `prover` (or
 * is freed on the step's return path), so prover_free releases it on that path too.
 */
#include "prover.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "air.h"
#include "hash.h"
#include "merkle.h"
#include "ntt.h"
#include "parallel.h"
#include "pool.h"
#include "profiles.h"
#include "transcript.h"
#include "prover_core.h"
#include "vm.h"

/* Every buffer here comes from the pool that outlives proofs (pool.h: flat memory in a
 * long-running runtime). The one exception is the receipt, which the caller frees with
 * free(): it is allocated with (malloc), which this function-like macro leaves alone. */
#define malloc(n) zk_pool_alloc(n)
#define free(p) zk_pool_free(p)

#define COMP_BLOCK ZKC_COMP_BLOCK
#define DEG ZK_EXT_DEGREE
/* Rows between two polls of the cancel flag in the row loops (DEEP, FRI folds, the
 * OOD inverse table): well under a millisecond of work each. */
#define CANCEL_ROWS 4096

/* After a parallel loop: stop before reading what a cancelled loop left half done. */
#define RETURN_IF_CANCELLED()                                  \
    do {                                                       \
        if (zk_cancelled()) return ZK_PROVE_CANCELLED;         \
    } while (0)

#define now zkc_now
double zkc_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- Merkle commitments without the leaf level ----
 *
 * A committed tree keeps nodes[1 .. n) only: the n leaf digests (half of a tree's
 * memory) are hashed a chunk at a time and folded straight into their parents. An
 * opening needs a leaf digest only for the siblings of opened leaves, which are rehashed
 * from the rows; above the leaves the walk is an ordinary multiproof of the parents. */

/* ---- the prover's state (prover_core.h) ---- */

typedef zkc_prover prover;
typedef zkc_commitment commitment;

void zkc_prover_free(prover *pv) {
    free(pv->lde);
    free(pv->trace_tree.nodes);
    free(pv->aux_h);
    free(pv->aux_lde);
    free(pv->aux_tree.nodes);
    free(pv->alphas);
    free(pv->comp_h);
    free(pv->comp_lde);
    free(pv->comp_tree.nodes);
    free(pv->frame);
    free(pv->inv_h);
    free(pv->deep_h);
    for (unsigned l = 0; l < ZK_MAX_FRI_LAYERS; l++) {
        free(pv->layer_vals[l]);
        free(pv->layer_tree[l].nodes);
    }
    free(pv->fri_poly);
}

void zkc_mark_failed(prover *pv) { __atomic_store_n(&pv->failed, 1, __ATOMIC_RELAXED); }
#define mark_failed zkc_mark_failed

/* ---- low-degree extension of a polynomial given by coefficients ---- */

/* out (2^log_n values) = poly (n_coeffs coefficients) evaluated on offset * <w_{2^log_n}>. */
static int extend(const fe *poly, size_t n_coeffs, fe *out, unsigned log_n, fe offset) {
    size_t n = (size_t)1 << log_n;
    memcpy(out, poly, n_coeffs * sizeof(fe));
    memset(out + n_coeffs, 0, (n - n_coeffs) * sizeof(fe));
    return zk_coset_ntt(out, log_n, offset);
}

/* 1 if the 2^log_t values of col are all equal (its interpolant is then that constant).
 * Stops at the first difference, so a typical column costs a few reads. */
static int column_is_constant(const fe *col, unsigned log_t) {
    size_t T = (size_t)1 << log_t;
    for (size_t i = 1; i < T; i++)
        if (col[i] != col[0]) return 0;
    return 1;
}

typedef struct {
    fe *const *outs;
    const fe *values;
    size_t n;
} fill_job;

static void fill_range(void *vctx, size_t begin, size_t end) {
    fill_job *job = vctx;
    for (size_t c = begin; c < end; c++) {
        fe v = job->values[c], *o = job->outs[c];
        if (v == 0) {
            memset(o, 0, job->n * sizeof(fe));
        } else {
            for (size_t i = 0; i < job->n; i++) o[i] = v;
        }
    }
}

typedef int (*lde_fn)(const fe *const *in, fe *const *out, size_t n_cols, unsigned log_t,
                      unsigned log_blowup, fe offset, unsigned threads);

/* fn (zk_lde or zk_lde_coeffs) over n columns: whole columns per thread for the multiple
 * of the thread count, then the rest with each column's work split, so no thread idles
 * while another does one more column. */
static int lde_balanced(prover *pv, const fe *const *in, fe *const *out, size_t n,
                        unsigned log_t, unsigned log_blowup, fe offset, lde_fn fn) {
    if (n == 0) return 0;
    size_t even = n - n % pv->threads;
    if (even == 0 || even == n) return fn(in, out, n, log_t, log_blowup, offset, pv->threads);
    if (fn(in, out, even, log_t, log_blowup, offset, pv->threads) != 0) return -1;
    return fn(in + even, out + even, n - even, log_t, log_blowup, offset, pv->threads);
}

/* LDE of n_cols columns given over H (2^log_t values each) onto offset * <w_n>.
 * A constant column (unused opcodes' flags, an unused port, an empty RAM table: a third
 * of AIR 2's main columns on small programs) extends to the same constant on any coset,
 * so it is filled instead of transformed; the output is the same either way. */
int zkc_lde_columns(prover *pv, const fe *const *in, fe *out, size_t out_stride,
                    size_t n_cols, unsigned log_t, unsigned log_blowup, fe offset) {
    const fe *vin[ZKC_MAX_COLS];
    fe *vout[ZKC_MAX_COLS], *couts[ZKC_MAX_COLS], cvals[ZKC_MAX_COLS];
    size_t nv = 0, nc = 0;
    for (size_t c = 0; c < n_cols; c++) {
        if (column_is_constant(in[c], log_t)) {
            cvals[nc] = in[c][0];
            couts[nc++] = out + c * out_stride;
        } else {
            vin[nv] = in[c];
            vout[nv++] = out + c * out_stride;
        }
    }
    if (nc) {
        fill_job fj = {couts, cvals, (size_t)1 << (log_t + log_blowup)};
        zk_parallel_for(pv->threads, nc, fill_range, &fj);
    }
    return lde_balanced(pv, vin, vout, nv, log_t, log_blowup, offset, zk_lde);
}

/* Extend n_polys polynomials of deg < n_coeffs, stored at polys + k * poly_stride, into
 * out + k * N, one thread per polynomial. */
typedef struct {
    prover *pv;
    const fe *polys;
    size_t poly_stride, n_coeffs;
    fe *out;
    size_t out_stride;
    unsigned log_n;
    fe offset;
} extend_job;

static void extend_range(void *vctx, size_t begin, size_t end) {
    extend_job *job = vctx;
    for (size_t k = begin; k < end && !zk_cancelled(); k++)
        if (extend(job->polys + k * job->poly_stride, job->n_coeffs,
                   job->out + k * job->out_stride, job->log_n, job->offset) != 0)
            mark_failed(job->pv);
}

static void extend_all(prover *pv, const fe *polys, size_t poly_stride, size_t n_coeffs,
                       size_t n_polys, fe *out, size_t out_stride, unsigned log_n, fe offset) {
    if (n_polys >= pv->threads) {
        extend_job job = {pv, polys, poly_stride, n_coeffs, out, out_stride, log_n, offset};
        zk_parallel_for(pv->threads, n_polys, extend_range, &job);
        return;
    }
    /* fewer polynomials than threads: split each transform instead */
    size_t n = (size_t)1 << log_n;
    for (size_t k = 0; k < n_polys; k++) {
        fe *o = out + k * out_stride;
        memcpy(o, polys + k * poly_stride, n_coeffs * sizeof(fe));
        memset(o + n_coeffs, 0, (n - n_coeffs) * sizeof(fe));
        if (zk_coset_ntt_threaded(o, log_n, offset, pv->threads) != 0) mark_failed(pv);
    }
}

/* ---- Merkle commitments ---- */

/* Rows per chunk when hashing leaves into their parents (even; 64 KiB of digests). */
#define COMMIT_CHUNK 2048

static void commit_range(void *vctx, size_t begin, size_t end) {
    commitment *cm = vctx;
    zk_digest leaves[COMMIT_CHUNK];
    const fe *cols[ZKC_MAX_COLS];
    for (size_t chunk = begin; chunk < end; chunk++) {
        if (zk_cancelled()) return;
        size_t start = chunk * COMMIT_CHUNK, count = cm->n_leaves - start;
        if (count > COMMIT_CHUNK) count = COMMIT_CHUNK;
        for (size_t c = 0; c < cm->n_cols; c++) cols[c] = cm->cols[c] + start;
        zk_hash_rows_from_columns(cols, cm->n_cols, count, leaves, 1);
        zk_sha256_many_prefixed(ZK_DS_NODE, leaves, 64, 64, count / 2,
                                cm->nodes[(cm->n_leaves + start) / 2].b);
    }
}

/* Commit to n_rows >= 2 (a power of two) rows given by columns. */
static int commit_columns(prover *pv, commitment *cm, const fe *const *cols, size_t n_cols,
                          size_t n_rows) {
    cm->n_leaves = n_rows;
    cm->n_cols = n_cols;
    for (size_t c = 0; c < n_cols; c++) cm->cols[c] = cols[c];
    cm->nodes = malloc(n_rows * sizeof(zk_digest));
    if (!cm->nodes) return ZK_PROVE_NO_MEMORY;
    size_t chunks = (n_rows + COMMIT_CHUNK - 1) / COMMIT_CHUNK;
    zk_parallel_for(pv->threads, chunks, commit_range, cm);
    RETURN_IF_CANCELLED();
    zk_merkle_build(cm->nodes, n_rows / 2, pv->threads); /* parents are the "leaves" now */
    RETURN_IF_CANCELLED();
    return ZK_PROVE_OK;
}

/* The protocol.md 3 multiproof of the sorted, distinct leaf indices idx[0..k): the
 * leaf-level siblings (rehashed), then the parents' multiproof. parents: k scratch. */
static size_t open_commitment(const commitment *cm, const size_t *idx, size_t k,
                              size_t *parents, zk_digest *proof) {
    size_t count = 0, n_parents = 0;
    for (size_t j = 0; j < k; j++) {
        size_t sibling = idx[j] ^ 1;
        int known = (j > 0 && idx[j - 1] == sibling) || (j + 1 < k && idx[j + 1] == sibling);
        if (!known) {
            const fe *cols[ZKC_MAX_COLS];
            for (size_t c = 0; c < cm->n_cols; c++) cols[c] = cm->cols[c] + sibling;
            zk_hash_rows_from_columns(cols, cm->n_cols, 1, &proof[count++], 1);
        }
        if (n_parents == 0 || parents[n_parents - 1] != idx[j] >> 1)
            parents[n_parents++] = idx[j] >> 1;
    }
    return count + zk_merkle_multiproof(cm->nodes, cm->n_leaves / 2, parents, n_parents,
                                        proof + count);
}

static const uint8_t *tree_root(const commitment *cm) { return cm->nodes[1].b; }

/* Commit n_cols columns stored one after another (column c at block + c*n) and absorb
 * the root: steps 1 and 2 end the same way. */
int zkc_commit_block(prover *pv, commitment *cm, const fe *block, size_t n_cols, size_t n) {
    const fe *cols[ZKC_MAX_COLS];
    for (size_t c = 0; c < n_cols; c++) cols[c] = block + c * n;
    int rc = commit_columns(pv, cm, cols, n_cols, n);
    if (rc != ZK_PROVE_OK) return rc;
    zk_transcript_absorb(&pv->tr, tree_root(cm), 32);
    return ZK_PROVE_OK;
}

/* ---- 1. trace ---- */

int zkc_trace_step(prover *pv, zk_prove_timings *tm) {
    double t0 = now();
    pv->lde = malloc(pv->w * pv->N * sizeof(fe));
    if (!pv->lde) return ZK_PROVE_NO_MEMORY;
    if (zkc_lde_columns(pv, pv->trace, pv->lde, pv->N, pv->w, pv->log_t, pv->log_b, ZK_LDE_OFFSET) != 0)
        return ZK_PROVE_NO_MEMORY;
    RETURN_IF_CANCELLED();
    double t1 = now();
    tm->lde += t1 - t0;

    int rc = zkc_commit_block(pv, &pv->trace_tree, pv->lde, pv->w, pv->N);
    if (rc != ZK_PROVE_OK) return rc;
    tm->trace_commit += now() - t1;
    return ZK_PROVE_OK;
}

/* ---- 2. composition ---- */

void zkc_vanishing_inverses(const prover *pv, fe *table) {
    size_t T = pv->T, cycle = (size_t)1 << (pv->log_m - pv->log_t);
    fe w_m = f_root_of_unity(pv->log_m);
    fe ct = f_pow(ZK_LDE_OFFSET, T), w_cycle = f_pow(w_m, T);
    for (size_t k = 0; k < cycle; k++) table[k] = f_inv(f_sub(f_mul(ct, f_pow(w_cycle, k)), 1));
}

/* AIR 1 (protocol.md 8.2): transition, first-row and last-row constraints. */
typedef struct {
    prover *pv;
    fe *const *out;       /* C on the M-point coset, by coordinate */
    fe w_m;               /* generator of the size-M subgroup */
    fe g_last;            /* w_T^(T-1) */
    const fe *zt_inv;     /* 1/(x^T - 1), which depends on j mod (M/T) only */
} comp_job;

static void comp_range(void *vctx, size_t begin, size_t end) {
    comp_job *job = vctx;
    prover *pv = job->pv;
    const zk_air *air = &pv->air;
    size_t w = pv->w, N = pv->N, stride = pv->N >> pv->log_m, step = (size_t)1 << pv->log_b;
    size_t cycle_mask = ((size_t)1 << (pv->log_m - pv->log_t)) - 1;
    fe xs[COMP_BLOCK], den[2 * COMP_BLOCK], inv[2 * COMP_BLOCK];
    fe3 trans[ZK_AIR_BATCH], first[ZK_AIR_BATCH], last[ZK_AIR_BATCH];
    /* rows of one batch, column by column (zk_air_combine_batch's layout) */
    fe *cur = malloc(2 * w * ZK_AIR_BATCH * sizeof(fe));
    if (!cur) {
        mark_failed(pv);
        return;
    }
    fe *next = cur + w * ZK_AIR_BATCH;

    for (size_t blk = begin; blk < end && !zk_cancelled(); blk += COMP_BLOCK) {
        size_t n = end - blk < COMP_BLOCK ? end - blk : COMP_BLOCK;
        zkc_block_points(job->w_m, job->g_last, blk, n, xs, den, inv);
        for (size_t b0 = 0; b0 < n; b0 += ZK_AIR_BATCH) {
            size_t nb = n - b0 < ZK_AIR_BATCH ? n - b0 : ZK_AIR_BATCH;
            for (size_t c = 0; c < w; c++) {
                const fe *col = pv->lde + c * N;
                fe *cc = cur + c * nb, *nc = next + c * nb;
                for (size_t r = 0; r < nb; r++) {
                    size_t row = (blk + b0 + r) * stride;
                    cc[r] = col[row];
                    nc[r] = col[(row + step) & (N - 1)];
                }
            }
            zk_air_combine_batch(air, cur, next, nb, pv->inputs, pv->outputs, pv->alphas, trans,
                                 first, last);
            for (size_t r = 0; r < nb; r++) {
                size_t i = b0 + r, j = blk + i;
                fe zt = f_mul(f_sub(xs[i], job->g_last), job->zt_inv[j & cycle_mask]);
                fe3 v = e_add(e_add(e_mul_base(trans[r], zt), e_mul_base(first[r], inv[i])),
                              e_mul_base(last[r], inv[n + i]));
                job->out[0][j] = v.c0;
                job->out[1][j] = v.c1;
                job->out[2][j] = v.c2;
            }
        }
    }
    free(cur);
}

typedef struct {
    prover *pv;
    fe *arrays[DEG];
    unsigned log_n;
    fe offset;
    unsigned split; /* threads inside each transform */
} intt_job;

static void intt_range(void *vctx, size_t begin, size_t end) {
    intt_job *job = vctx;
    for (size_t k = begin; k < end && !zk_cancelled(); k++)
        if (zk_coset_intt_threaded(job->arrays[k], job->log_n, job->offset, job->split) != 0)
            mark_failed(job->pv);
}

/* The DEG coordinate planes of C on the coset -> coefficients. Whole planes per thread
 * for the multiple of the thread count below DEG, the rest one at a time with each
 * transform split over the threads (2 threads: two planes side by side, then the third
 * split, instead of one thread doing two planes while the other waits). */
static void intt_planes(prover *pv, fe *evals, size_t M) {
    unsigned threads = pv->threads < 1 ? 1 : pv->threads;
    intt_job ij = {pv, {evals, evals + M, evals + 2 * M}, pv->log_m, ZK_LDE_OFFSET, 1};
    size_t even = threads < DEG ? DEG - DEG % threads : 0;
    if (threads == 1) even = DEG;
    if (even) zk_parallel_for(threads, even, intt_range, &ij);
    ij.split = threads;
    intt_range(&ij, even, DEG);
}

/* In place over the subgroup H, for n_polys arrays of T at stride T: coefficients ->
 * values (forward) or values -> coefficients (inverse), one array per thread at a time. */
typedef struct {
    prover *pv;
    fe *polys;
    size_t T;
    int inverse;
} h_transform_job;

static void h_transform_range(void *vctx, size_t begin, size_t end) {
    h_transform_job *job = vctx;
    for (size_t k = begin; k < end && !zk_cancelled(); k++) {
        fe *poly = job->polys + k * job->T;
        int rc = job->inverse ? zk_intt(poly, job->pv->log_t) : zk_ntt(poly, job->pv->log_t);
        if (rc != 0) mark_failed(job->pv);
    }
}

static void h_transform_all(prover *pv, fe *polys, size_t T, size_t n_polys, int inverse) {
    h_transform_job job = {pv, polys, T, inverse};
    zk_parallel_for(pv->threads, n_polys, h_transform_range, &job);
}

static void air1_composition(prover *pv, fe *const *out) {
    fe zt_inv[1 << 8]; /* M/T <= B <= 2^8 */
    zkc_vanishing_inverses(pv, zt_inv);
    fe w_m = f_root_of_unity(pv->log_m), w_t = f_root_of_unity(pv->log_t);
    comp_job job = {pv, out, w_m, f_pow(w_t, pv->T - 1), zt_inv};
    zk_parallel_for(pv->threads, (size_t)1 << pv->log_m, comp_range, &job);
}

int zkc_composition_step(prover *pv, zk_prove_timings *tm) {
    double t0 = now();
    size_t T = pv->T, N = pv->N, M = (size_t)1 << pv->log_m, S = pv->n_seg;
    uint32_t nc = pv->n_constraints;
    pv->alphas = malloc(nc * sizeof(fe3));
    if (!pv->alphas) return ZK_PROVE_NO_MEMORY;
    for (uint32_t k = 0; k < nc; k++) pv->alphas[k] = zk_transcript_draw_ext(&pv->tr);

    fe *evals = malloc(DEG * M * sizeof(fe));
    if (!evals) return ZK_PROVE_NO_MEMORY;
    fe *const out[DEG] = {evals, evals + M, evals + 2 * M};
    pv->composition(pv, out);

    intt_planes(pv, evals, M);
    if (zk_cancelled()) {
        free(evals);
        return ZK_PROVE_CANCELLED;
    }
    pv->comp_h = malloc(S * DEG * T * sizeof(fe));
    pv->comp_lde = malloc(S * DEG * N * sizeof(fe));
    if (pv->failed || !pv->comp_h || !pv->comp_lde) {
        free(evals);
        return ZK_PROVE_NO_MEMORY;
    }
    /* C = C_0 + X^T C_1 + ...: coefficient blocks [iT, (i+1)T); higher ones are zero for
     * a satisfied AIR and are dropped (protocol.md 8.2, 15.4) otherwise. M >= S T. */
    for (size_t i = 0; i < S; i++)       /* segment C_i */
        for (size_t c = 0; c < DEG; c++) /* coordinate c of its coefficients */
            memcpy(pv->comp_h + (i * DEG + c) * T, evals + c * M + i * T, T * sizeof(fe));
    free(evals);
    /* The LDE straight from the coefficients (no interpolation of values over H that
     * were themselves transformed from these coefficients), then coefficients -> values
     * over H in place, the input of the OOD formula and DEEP. */
    const fe *parts[ZKC_MAX_SEGMENTS * DEG];
    fe *lde_parts[ZKC_MAX_SEGMENTS * DEG];
    for (size_t c = 0; c < S * DEG; c++) {
        parts[c] = pv->comp_h + c * T;
        lde_parts[c] = pv->comp_lde + c * N;
    }
    if (lde_balanced(pv, parts, lde_parts, S * DEG, pv->log_t, pv->log_b, ZK_LDE_OFFSET,
                     zk_lde_coeffs) != 0)
        return ZK_PROVE_NO_MEMORY;
    RETURN_IF_CANCELLED();
    h_transform_all(pv, pv->comp_h, T, S * DEG, 0);
    if (pv->failed) return ZK_PROVE_NO_MEMORY;
    RETURN_IF_CANCELLED();
    double t1 = now();
    tm->composition += t1 - t0;

    int rc = zkc_commit_block(pv, &pv->comp_tree, pv->comp_lde, S * DEG, N);
    if (rc != ZK_PROVE_OK) return rc;
    tm->composition_commit += now() - t1;
    return ZK_PROVE_OK;
}

/* ---- 3. out-of-domain frame ---- */

/* Barycentric evaluation over H. For v of degree < T with values v_i = v(w^i),
 *     v(x) = sum_i v_i L_i(x),   L_i(x) = (w^i / T) (x^T - 1) / (x - w^i).
 * With wt_i = w^i / (w^i - z) and k = -(z^T - 1)/T:  L_i(z) = k wt_i, and, because
 * (z w)^T = z^T and w^i / (z w - w^i) = w^(i-1) / (z - w^(i-1)),  L_i(z w) = k wt_(i-1).
 * So one table serves both points: v(z) = k sum_i v_i wt_i, v(z w) = k sum_i v_(i+1) wt_i. */
typedef struct {
    prover *pv;
    const fe3 *wt;
    /* per polynomial: w trace columns, the 3 w_aux auxiliary planes, then the 3 n_seg
     * composition planes (at_zw for the first two kinds only) */
    fe3 *at_z, *at_zw;
} ood_job;

static void ood_range(void *vctx, size_t begin, size_t end) {
    ood_job *job = vctx;
    prover *pv = job->pv;
    size_t T = pv->T, w = pv->w, wa = w + DEG * pv->w_aux;
    const fe3 *wt = job->wt;
    for (size_t k = begin; k < end && !zk_cancelled(); k++) {
        const fe *v = k < w ? pv->trace[k]
                    : k < wa ? pv->aux_h + (k - w) * T
                             : pv->comp_h + (k - wa) * T;
        lazy a0 = {0, 0}, a1 = {0, 0}, a2 = {0, 0}, b0 = {0, 0}, b1 = {0, 0}, b2 = {0, 0};
        for (size_t i = 0; i < T; i++) {
            lazy_mac(&a0, v[i], wt[i].c0);
            lazy_mac(&a1, v[i], wt[i].c1);
            lazy_mac(&a2, v[i], wt[i].c2);
        }
        job->at_z[k] = (fe3){lazy_done(&a0), lazy_done(&a1), lazy_done(&a2)};
        if (k >= wa) continue; /* C_i(z w) is not part of the frame */
        for (size_t i = 0; i < T; i++) {
            fe next = v[(i + 1) & (T - 1)];
            lazy_mac(&b0, next, wt[i].c0);
            lazy_mac(&b1, next, wt[i].c1);
            lazy_mac(&b2, next, wt[i].c2);
        }
        job->at_zw[k] = (fe3){lazy_done(&b0), lazy_done(&b1), lazy_done(&b2)};
    }
}

/* inv_h[i] = 1/(w^i - z) and wt[i] = w^i * inv_h[i] over chunks of [0, T). */
typedef struct {
    prover *pv;
    fe3 z;
    fe3 *wt;
} inv_job;

static void inv_chunk(inv_job *job, size_t begin, size_t end) {
    prover *pv = job->pv;
    fe w = f_root_of_unity(pv->log_t), x = f_pow(w, begin);
    for (size_t i = begin; i < end; i++) {
        pv->inv_h[i] = e_sub(e_from(x), job->z);
        x = f_mul(x, w);
    }
    zk_batch_inverse_ext(pv->inv_h + begin, pv->inv_h + begin, end - begin);
    x = f_pow(w, begin);
    for (size_t i = begin; i < end; i++) {
        job->wt[i] = e_mul_base(pv->inv_h[i], x);
        x = f_mul(x, w);
    }
}

/* In chunks of CANCEL_ROWS (a batch inversion per chunk gives the same exact inverses). */
static void inv_range(void *vctx, size_t begin, size_t end) {
    for (size_t lo = begin; lo < end && !zk_cancelled(); lo += CANCEL_ROWS)
        inv_chunk(vctx, lo, end - lo < CANCEL_ROWS ? end : lo + CANCEL_ROWS);
}

static void powers_ext(fe3 base, fe3 *out, size_t n) {
    fe3 x = E_ONE;
    for (size_t k = 0; k < n; k++) {
        out[k] = x;
        x = e_mul(x, base);
    }
}

/* k (A + X B + X^2 C) for the three planes' sums at = (A, B, C), each in K. */
static fe3 ext_at(fe3 k, const fe3 *at) {
    fe3 a = e_mul(k, at[0]), b = e_mul(k, at[1]), c = e_mul(k, at[2]);
    return e_add(a, e_mul_x(e_add(b, e_mul_x(c))));
}

static int ood_step(prover *pv, fe3 *z_out, zk_prove_timings *tm) {
    double t0 = now();
    size_t T = pv->T, w = pv->w, wx = pv->w_aux, S = pv->n_seg;
    size_t n_polys = w + DEG * (wx + S), n_frame = 2 * w + 2 * wx + S;
    fe3 z;
    do z = zk_transcript_draw_ext(&pv->tr);
    while (e_in_base(z));

    fe3 *wt = malloc(T * sizeof(fe3));
    fe3 *vals = malloc(2 * n_polys * sizeof(fe3));
    pv->inv_h = malloc(T * sizeof(fe3));
    pv->frame = malloc(n_frame * sizeof(fe3));
    if (!wt || !vals || !pv->inv_h || !pv->frame) {
        free(wt);
        free(vals);
        return ZK_PROVE_NO_MEMORY;
    }
    inv_job ij = {pv, z, wt};
    zk_parallel_for(pv->threads, T, inv_range, &ij);
    ood_job job = {pv, wt, vals, vals + n_polys};
    zk_parallel_for(pv->threads, n_polys, ood_range, &job);
    if (zk_cancelled()) {
        free(wt);
        free(vals);
        return ZK_PROVE_CANCELLED;
    }
    /* -(z^T - 1)/T */
    fe3 k = e_mul_base(e_sub(e_pow(z, T), e_from(1)), f_neg(f_inv((fe)T)));
    for (size_t j = 0; j < w; j++) {
        pv->frame[j] = e_mul(k, job.at_z[j]);
        pv->frame[w + j] = e_mul(k, job.at_zw[j]);
    }
    /* A K column (aux a_j, segment C_i) u = A + X B + X^2 C with A, B, C over F:
     * u(z) = A(z) + X (B(z) + X C(z)) */
    for (size_t j = 0; j < wx; j++) {
        pv->frame[2 * w + j] = ext_at(k, job.at_z + w + j * DEG);
        pv->frame[2 * w + wx + j] = ext_at(k, job.at_zw + w + j * DEG);
    }
    for (size_t i = 0; i < S; i++)
        pv->frame[2 * w + 2 * wx + i] = ext_at(k, job.at_z + w + DEG * wx + i * DEG);
    free(wt);
    free(vals);

    zk_absorber ab;
    zk_absorber_begin(&ab, &pv->tr);
    for (size_t i = 0; i < n_frame; i++) zk_absorber_fe3(&ab, pv->frame[i]);
    zk_absorber_end(&ab);
    *z_out = z;
    tm->ood += now() - t0;
    return ZK_PROVE_OK;
}

/* ---- 4. DEEP ---- */

/* DEEP over H: DEEP(w^i) = (P1_i - P1(z)) / (w^i - z) + (P2_i - P2(z w)) / (w^i - z w),
 * with 1/(w^i - z w) = w^-1 / (w^(i-1) - z) from the same inverse table, where
 *     P1 = sum_j a_j t_j + sum_j a'_j aux_j + sum_i c_i C_i,
 *     P2 = sum_j b_j t_j + sum_j b'_j aux_j
 * (protocol.md 8.4 and 15.6: the aux terms are absent without an auxiliary segment). */
#define DEEP_MAX_EXT 32 /* K polynomials in P1: w_aux + n_seg */

typedef struct {
    prover *pv;
    const fe3 *a, *b;   /* main columns' coefficients: w, w */
    const fe3 *ext1;    /* P1's K polynomials: a'_j (w_aux), then c_i (n_seg) */
    const fe3 *ext2;    /* P2's: b'_j (w_aux) */
    fe3 p1z, p2zw;      /* P1(z), P2(z w) */
    fe w_inv;           /* w_T^-1 */
} deep_job;

static void deep_range(void *vctx, size_t begin, size_t end) {
    deep_job *job = vctx;
    prover *pv = job->pv;
    size_t T = pv->T, w = pv->w, wx = pv->w_aux, n1 = wx + pv->n_seg;
    fe wc1[DEEP_MAX_EXT], wc2[DEEP_MAX_EXT], vc1[DEEP_MAX_EXT], vc2[DEEP_MAX_EXT];
    const fe *src[DEEP_MAX_EXT]; /* P1's K polynomials over H: coordinate c at src + c T */
    for (size_t k = 0; k < n1; k++) {
        wc1[k] = f_mul(ZK_EXT_W, job->ext1[k].c1);
        wc2[k] = f_mul(ZK_EXT_W, job->ext1[k].c2);
        src[k] = k < wx ? pv->aux_h + k * DEG * T : pv->comp_h + (k - wx) * DEG * T;
    }
    for (size_t k = 0; k < wx; k++) {
        vc1[k] = f_mul(ZK_EXT_W, job->ext2[k].c1);
        vc2[k] = f_mul(ZK_EXT_W, job->ext2[k].c2);
    }
    for (size_t i = begin; i < end; i++) {
        if ((i - begin) % CANCEL_ROWS == 0 && zk_cancelled()) return;
        lazy s[2 * DEG] = {{0, 0}}; /* P1's coordinates, then P2's */
        for (size_t j = 0; j < w; j++) {
            fe t = pv->trace[j][i];
            lazy_mac(&s[0], job->a[j].c0, t);
            lazy_mac(&s[1], job->a[j].c1, t);
            lazy_mac(&s[2], job->a[j].c2, t);
            lazy_mac(&s[3], job->b[j].c0, t);
            lazy_mac(&s[4], job->b[j].c1, t);
            lazy_mac(&s[5], job->b[j].c2, t);
        }
        for (size_t k = 0; k < n1; k++) {
            fe u0 = src[k][i], u1 = src[k][T + i], u2 = src[k][2 * T + i];
            ext_mac(s, job->ext1[k], wc1[k], wc2[k], u0, u1, u2);
            if (k < wx) ext_mac(s + DEG, job->ext2[k], vc1[k], vc2[k], u0, u1, u2);
        }
        fe3 p1 = {lazy_done(&s[0]), lazy_done(&s[1]), lazy_done(&s[2])};
        fe3 p2 = {lazy_done(&s[3]), lazy_done(&s[4]), lazy_done(&s[5])};
        fe3 inv2 = e_mul_base(pv->inv_h[(i - 1) & (T - 1)], job->w_inv);
        fe3 d = e_add(e_mul(e_sub(p1, job->p1z), pv->inv_h[i]), e_mul(e_sub(p2, job->p2zw), inv2));
        pv->deep_h[i] = d.c0;
        pv->deep_h[T + i] = d.c1;
        pv->deep_h[2 * T + i] = d.c2;
    }
}

static int deep_step(prover *pv, zk_prove_timings *tm) {
    double t0 = now();
    size_t T = pv->T, w = pv->w, wx = pv->w_aux, S = pv->n_seg;
    size_t n_coef = 2 * w + 2 * wx + S;
    if (wx + S > DEEP_MAX_EXT) return ZK_PROVE_BAD_TRACE; /* unreachable: both AIRs fit */
    /* drawn a_j, b_j, a'_j, b'_j, c_i: the frame's order */
    fe3 coef[2 * ZKC_MAX_COLS + 2 * DEEP_MAX_EXT];
    for (size_t k = 0; k < n_coef; k++) coef[k] = zk_transcript_draw_ext(&pv->tr);
    pv->deep_h = malloc(DEG * T * sizeof(fe));
    if (!pv->deep_h) return ZK_PROVE_NO_MEMORY;
    /* P1's K coefficients a'_j then c_i, contiguous */
    fe3 ext1[DEEP_MAX_EXT];
    for (size_t k = 0; k < wx; k++) ext1[k] = coef[2 * w + k];
    for (size_t i = 0; i < S; i++) ext1[wx + i] = coef[2 * w + 2 * wx + i];
    deep_job job = {pv, coef, coef + w, ext1, coef + 2 * w + wx, E_ZERO, E_ZERO,
                    f_inv(f_root_of_unity(pv->log_t))};
    const fe3 *fr = pv->frame;
    for (size_t j = 0; j < w; j++) {
        job.p1z = e_add(job.p1z, e_mul(job.a[j], fr[j]));
        job.p2zw = e_add(job.p2zw, e_mul(job.b[j], fr[w + j]));
    }
    for (size_t j = 0; j < wx; j++) {
        job.p1z = e_add(job.p1z, e_mul(ext1[j], fr[2 * w + j]));
        job.p2zw = e_add(job.p2zw, e_mul(job.ext2[j], fr[2 * w + wx + j]));
    }
    for (size_t i = 0; i < S; i++)
        job.p1z = e_add(job.p1z, e_mul(ext1[wx + i], fr[2 * w + 2 * wx + i]));
    zk_parallel_for(pv->threads, T, deep_range, &job);
    RETURN_IF_CANCELLED();
    tm->deep += now() - t0;
    return ZK_PROVE_OK;
}

/* ---- 5. FRI ---- */

static int fri_step(prover *pv, zk_prove_timings *tm) {
    double t0 = now();
    size_t f = (size_t)1 << pv->log_f, d = pv->T, stride = pv->T;
    /* the folds work on coefficients: coordinate c of coefficient i at c * stride + i */
    pv->fri_poly = malloc(DEG * pv->T * sizeof(fe));
    if (!pv->fri_poly) return ZK_PROVE_NO_MEMORY;
    fe *poly = pv->fri_poly;
    memcpy(poly, pv->deep_h, DEG * pv->T * sizeof(fe));
    h_transform_all(pv, poly, pv->T, DEG, 1);
    RETURN_IF_CANCELLED();
    if (pv->failed) return ZK_PROVE_NO_MEMORY;
    fe offset = ZK_LDE_OFFSET;
    for (unsigned l = 0; l < pv->n_layers; l++) {
        unsigned log_n = pv->log_n - l * pv->log_f;
        size_t n = (size_t)1 << log_n, m = n / f;
        fe *vals = malloc(DEG * n * sizeof(fe));
        if (!vals) return ZK_PROVE_NO_MEMORY;
        pv->layer_vals[l] = vals;
        if (l == 0) {
            const fe *parts[DEG] = {pv->deep_h, pv->deep_h + pv->T, pv->deep_h + 2 * pv->T};
            if (zkc_lde_columns(pv, parts, vals, n, DEG, pv->log_t, pv->log_b, offset) != 0)
                mark_failed(pv);
        } else {
            extend_all(pv, poly, stride, d, DEG, vals, n, log_n, offset);
        }
        RETURN_IF_CANCELLED();
        if (pv->failed) return ZK_PROVE_NO_MEMORY;
        /* leaf i = values at i + j*m, j < f, each as (c0, c1, c2) */
        const fe *cols[ZKC_MAX_COLS]; /* DEG * f <= 3 * 16 columns */
        for (size_t j = 0; j < f; j++)
            for (size_t c = 0; c < DEG; c++) cols[DEG * j + c] = vals + c * n + j * m;
        int rc = commit_columns(pv, &pv->layer_tree[l], cols, DEG * f, m);
        if (rc != ZK_PROVE_OK) return rc;
        zk_transcript_absorb(&pv->tr, tree_root(&pv->layer_tree[l]), 32);
        fe3 beta = zk_transcript_draw_ext(&pv->tr);
        /* P(X) = sum_k X^k P_k(X^f)  ->  sum_k beta^k P_k, written over the first d/f */
        fe3 bpow[256];
        powers_ext(beta, bpow, f);
        for (size_t i = 0; i < d / f; i++) {
            if (i % CANCEL_ROWS == 0 && zk_cancelled()) return ZK_PROVE_CANCELLED;
            fe3 acc = E_ZERO;
            for (size_t k = 0; k < f; k++) {
                size_t at = i * f + k;
                fe3 v = {poly[at], poly[stride + at], poly[2 * stride + at]};
                acc = e_add(acc, e_mul(bpow[k], v));
            }
            poly[i] = acc.c0;
            poly[stride + i] = acc.c1;
            poly[2 * stride + i] = acc.c2;
        }
        d /= f;
        offset = f_pow(offset, f);
    }
    /* remainder: the first d_L coefficients of the final polynomial */
    zk_absorber ab;
    uint8_t b2[2];
    zk_put_le16(b2, (uint16_t)d);
    zk_absorber_begin(&ab, &pv->tr);
    zk_absorber_bytes(&ab, b2, 2);
    for (size_t k = 0; k < d; k++)
        zk_absorber_fe3(&ab, (fe3){poly[k], poly[stride + k], poly[2 * stride + k]});
    zk_absorber_end(&ab);
    tm->fri += now() - t0;
    return ZK_PROVE_OK;
}

/* ---- 6.-7. grinding, queries, receipt ---- */

/* The smallest nonce passing the proof of work, searched in rounds of `threads` chunks:
 * the answer is the first hit of the lowest chunk that has one, so it does not depend
 * on the thread count. */
#define GRIND_CHUNK 16384

typedef struct {
    const zk_transcript *tr;
    unsigned bits;
    uint64_t base;
    uint64_t found[256];
} grind_job;

static void grind_range(void *vctx, size_t begin, size_t end) {
    grind_job *job = vctx;
    for (size_t c = begin; c < end; c++) {
        job->found[c] = zk_transcript_grind_range(job->tr, job->bits,
                                                  job->base + c * GRIND_CHUNK, GRIND_CHUNK);
    }
}

/* One thread searches the same chunks in the same order, so it finds the same (smallest)
 * nonce as zk_transcript_grind, and polls the cancel flag between chunks. The return
 * value is meaningless once zk_cancelled(): the caller checks. */
static uint64_t grind(const zk_transcript *tr, unsigned bits, unsigned threads) {
    if (bits == 0) return 0;
    if (threads < 1) threads = 1;
    if (threads > 256) threads = 256;
    grind_job job;
    job.tr = tr;
    job.bits = bits;
    for (job.base = 0;; job.base += (uint64_t)threads * GRIND_CHUNK) {
        zk_parallel_for(threads, threads, grind_range, &job);
        if (zk_cancelled()) return 0;
        for (unsigned c = 0; c < threads; c++)
            if (job.found[c] != UINT64_MAX) return job.found[c];
    }
}

static int cmp_size(const void *a, const void *b) {
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? -1 : x > y;
}

/* Sort and deduplicate in place; returns the new length. */
static size_t sort_unique(size_t *v, size_t n) {
    if (n == 0) return 0;
    qsort(v, n, sizeof *v, cmp_size);
    size_t k = 1;
    for (size_t i = 1; i < n; i++)
        if (v[i] != v[k - 1]) v[k++] = v[i];
    return k;
}

typedef struct {
    uint8_t *p;
} writer;

static void put_bytes(writer *wr, const void *b, size_t n) {
    memcpy(wr->p, b, n);
    wr->p += n;
}
static void put8(writer *wr, uint8_t v) { *wr->p++ = v; }
static void put16(writer *wr, uint16_t v) { zk_put_le16(wr->p, v); wr->p += 2; }
static void put32(writer *wr, uint32_t v) { zk_put_le32(wr->p, v); wr->p += 4; }
static void put64(writer *wr, uint64_t v) { zk_put_le64(wr->p, v); wr->p += 8; }
static void put_fe3(writer *wr, fe3 v) { put64(wr, v.c0); put64(wr, v.c1); put64(wr, v.c2); }

/* The trees the queries open at the positions P, in receipt order: trace, auxiliary (if
 * any), composition. */
static size_t opened_trees(prover *pv, const commitment **trees, size_t *row_bytes) {
    size_t n = 0;
    trees[n] = &pv->trace_tree;
    row_bytes[n++] = pv->w * 8;
    if (pv->w_aux) {
        trees[n] = &pv->aux_tree;
        row_bytes[n++] = pv->w_aux * ZK_EXT_BYTES;
    }
    trees[n] = &pv->comp_tree;
    row_bytes[n++] = pv->n_seg * ZK_EXT_BYTES;
    return n;
}

static int query_step(prover *pv, zk_prove_result *res, zk_prove_timings *tm) {
    double t0 = now();
    const zk_profile *prof = pv->prof;
    size_t N = pv->N, w = pv->w, q = prof->queries, f = (size_t)1 << pv->log_f;
    size_t n_frame = 2 * w + 2 * pv->w_aux + pv->n_seg;
    int v3 = pv->format == 3;
    unsigned L = pv->n_layers;
    int rc = ZK_PROVE_NO_MEMORY;
    const commitment *trees[3];
    size_t row_bytes[3], n_trees = opened_trees(pv, trees, row_bytes);

    size_t *pos = malloc(q * sizeof(size_t));
    size_t *idx = malloc((L + 2) * q * sizeof(size_t)); /* per layer leaf indices */
    size_t *scratch = idx ? idx + (L + 1) * q : NULL;     /* parents in an opening */
    size_t n_idx[ZK_MAX_FRI_LAYERS];
    /* multiproofs: the opened trees, then one per layer */
    zk_digest *proofs[ZK_MAX_FRI_LAYERS + 3] = {0};
    size_t n_proof[ZK_MAX_FRI_LAYERS + 3];
    uint8_t *out = NULL;
    if (!pos || !idx) goto done;
    for (size_t i = 0; i < q; i++) pos[i] = (size_t)zk_transcript_draw_index(&pv->tr, N);
    size_t np = sort_unique(pos, q);

    for (size_t t = 0; t < n_trees; t++) {
        proofs[t] = malloc((np * pv->log_n + 1) * sizeof(zk_digest));
        if (!proofs[t]) goto done;
        n_proof[t] = open_commitment(trees[t], pos, np, scratch, proofs[t]);
    }
    for (unsigned l = 0; l < L; l++) {
        size_t m = (N >> (l * pv->log_f)) / f;
        size_t *li = idx + l * q;
        for (size_t i = 0; i < np; i++) li[i] = pos[i] & (m - 1);
        n_idx[l] = sort_unique(li, np);
        unsigned log_m = pv->log_n - (l + 1) * pv->log_f;
        proofs[n_trees + l] = malloc((n_idx[l] * log_m + 1) * sizeof(zk_digest));
        if (!proofs[n_trees + l]) goto done;
        n_proof[n_trees + l] = open_commitment(&pv->layer_tree[l], li, n_idx[l], scratch,
                                               proofs[n_trees + l]);
    }

    /* header: format 2 (protocol.md 10) or 3 (16: air id, 32-bit I/O counts, w_aux) */
    size_t count_bytes = v3 ? 4 : 2;
    size_t size = 4 + 2 + 1 + v3 + 32 + count_bytes + 8 * pv->n_inputs + count_bytes +
                  8 * pv->n_outputs + 1 + 2 + 2 * v3;
    size += 32 * (n_trees) + n_frame * ZK_EXT_BYTES + 1 + 32 * L + 2 +
            ZK_EXT_BYTES * pv->rem_size + 8 + 2;
    for (size_t t = 0; t < n_trees; t++) size += np * row_bytes[t] + 4 + 32 * n_proof[t];
    for (unsigned l = 0; l < L; l++)
        size += 2 + n_idx[l] * f * ZK_EXT_BYTES + 4 + 32 * n_proof[n_trees + l];
    out = (malloc)(size); /* the caller frees the receipt with free() */
    if (!out) goto done;

    writer wr = {out};
    put_bytes(&wr, "ZKRC", 4);
    put16(&wr, (uint16_t)pv->format);
    put8(&wr, prof->id);
    if (v3) put8(&wr, ZKC_AIR2_ID);
    put_bytes(&wr, pv->program_hash, 32);
    if (v3) put32(&wr, (uint32_t)pv->n_inputs);
    else put16(&wr, (uint16_t)pv->n_inputs);
    for (size_t i = 0; i < pv->n_inputs; i++) put64(&wr, pv->inputs[i]);
    if (v3) put32(&wr, (uint32_t)pv->n_outputs);
    else put16(&wr, (uint16_t)pv->n_outputs);
    for (size_t i = 0; i < pv->n_outputs; i++) put64(&wr, pv->outputs[i]);
    put8(&wr, (uint8_t)pv->log_t);
    put16(&wr, (uint16_t)w);
    if (v3) put16(&wr, (uint16_t)pv->w_aux);

    for (size_t t = 0; t < n_trees; t++) put_bytes(&wr, tree_root(trees[t]), 32);
    for (size_t k = 0; k < n_frame; k++) put_fe3(&wr, pv->frame[k]);
    put8(&wr, (uint8_t)L);
    for (unsigned l = 0; l < L; l++) put_bytes(&wr, tree_root(&pv->layer_tree[l]), 32);
    put16(&wr, (uint16_t)pv->rem_size);
    for (size_t k = 0; k < pv->rem_size; k++)
        put_fe3(&wr, (fe3){pv->fri_poly[k], pv->fri_poly[pv->T + k], pv->fri_poly[2 * pv->T + k]});
    put64(&wr, pv->nonce);
    put16(&wr, (uint16_t)np);

    for (size_t t = 0; t < n_trees; t++) {
        /* a row: the committed columns in leaf order (K columns as their 3 planes) */
        const commitment *cm = trees[t];
        for (size_t i = 0; i < np; i++)
            for (size_t c = 0; c < cm->n_cols; c++) put64(&wr, cm->cols[c][pos[i]]);
        put32(&wr, (uint32_t)n_proof[t]);
        put_bytes(&wr, proofs[t], 32 * n_proof[t]);
    }
    for (unsigned l = 0; l < L; l++) {
        size_t n = N >> (l * pv->log_f), m = n / f;
        const fe *vals = pv->layer_vals[l];
        put16(&wr, (uint16_t)n_idx[l]);
        for (size_t i = 0; i < n_idx[l]; i++) {
            size_t leaf = idx[l * q + i];
            for (size_t j = 0; j < f; j++)
                for (size_t c = 0; c < DEG; c++) put64(&wr, vals[c * n + leaf + j * m]);
        }
        put32(&wr, (uint32_t)n_proof[n_trees + l]);
        put_bytes(&wr, proofs[n_trees + l], 32 * n_proof[n_trees + l]);
    }
    if ((size_t)(wr.p - out) != size) goto done; /* unreachable: sizes above are exact */
    res->receipt = out;
    res->receipt_len = size;
    out = NULL;
    rc = ZK_PROVE_OK;
done:
    (free)(out);
    free(pos);
    free(idx);
    for (unsigned t = 0; t < L + n_trees; t++) free(proofs[t]);
    tm->queries += now() - t0;
    return rc;
}

/* ---- the whole protocol on a given trace ---- */

void zkc_report_step(zk_prove_result *res, uint32_t step) {
    if (res->progress) __atomic_store_n(res->progress, step, __ATOMIC_RELAXED);
}

void zkc_prover_setup(prover *pv, const zk_profile *prof, unsigned log_t, unsigned threads,
                      unsigned log_m) {
    pv->prof = prof;
    /* Below 2^14 LDE rows a thread costs more than its share of the work. */
    pv->threads = threads < 1 || log_t + prof->log_blowup < 14 ? 1 : threads;
    pv->grind_threads = threads < 1 ? 1 : threads;
    pv->log_t = log_t;
    pv->log_b = prof->log_blowup;
    pv->log_n = log_t + prof->log_blowup;
    pv->log_f = prof->log_folding;
    pv->log_m = log_m;
    pv->T = (size_t)1 << log_t;
    pv->N = (size_t)1 << pv->log_n;
    pv->n_layers = zk_fri_num_layers(prof, log_t, &pv->rem_size);
}

/* Between steps: a step may have finished just as the flag was set. */
#define STEP_DONE() (rc == ZK_PROVE_OK && (zk_cancelled() ? (rc = ZK_PROVE_CANCELLED, 0) : 1))

int zkc_prove_tail(prover *pv, zk_prove_result *res, uint32_t progress) {
    zk_prove_timings *tm = &res->timings;
    fe3 z;
    int rc = ZK_PROVE_OK;
    if (STEP_DONE()) {
        zkc_report_step(res, progress);
        rc = zkc_composition_step(pv, tm);
    }
    if (STEP_DONE()) {
        zkc_report_step(res, progress + 1);
        rc = ood_step(pv, &z, tm);
    }
    if (STEP_DONE()) {
        zkc_report_step(res, progress + 2);
        rc = deep_step(pv, tm);
    }
    if (STEP_DONE()) {
        zkc_report_step(res, progress + 3);
        rc = fri_step(pv, tm);
    }
    if (STEP_DONE()) {
        zkc_report_step(res, progress + 4);
        double t0 = now();
        pv->nonce = grind(&pv->tr, pv->prof->grinding_bits, pv->grind_threads);
        tm->grinding += now() - t0;
    }
    if (STEP_DONE()) {
        uint8_t nb[8];
        zk_put_le64(nb, pv->nonce);
        zk_transcript_absorb(&pv->tr, nb, 8);
        zkc_report_step(res, progress + 5);
        rc = query_step(pv, res, tm);
    }
    if (rc == ZK_PROVE_OK) zkc_report_step(res, progress + 6);
    return rc;
}

static int prove_trace(const zk_program *prog, const uint8_t *program, size_t program_len,
                       const fe *inputs, const fe *outputs, const fe *const *columns,
                       unsigned log_t, const zk_profile *prof, unsigned threads,
                       int full_composition, zk_prove_result *res) {
    prover pv;
    memset(&pv, 0, sizeof pv);
    zk_air_init(&pv.air, prog);
    zkc_prover_setup(&pv, prof, log_t, threads,
                     full_composition ? log_t + prof->log_blowup : log_t + 1);
    pv.format = ZK_RECEIPT_VERSION;
    pv.n_seg = 2;
    pv.w_aux = 0;
    pv.n_constraints = pv.air.n_constraints;
    pv.composition = air1_composition;
    pv.w = pv.air.width;
    pv.inputs = inputs;
    pv.n_inputs = prog->n_inputs;
    pv.outputs = outputs;
    pv.n_outputs = prog->n_outputs;
    zk_sha256(program, program_len, pv.program_hash);

    zk_transcript_init(&pv.tr);
    zk_transcript_absorb_statement(&pv.tr, prof, pv.program_hash, inputs, pv.n_inputs, outputs,
                                   pv.n_outputs, log_t);
    pv.trace = columns;
    int rc = zk_cancelled() ? ZK_PROVE_CANCELLED : zkc_trace_step(&pv, &res->timings);
    if (STEP_DONE()) rc = zkc_prove_tail(&pv, res, 1);
    res->log_t = log_t;
    res->width = (unsigned)pv.w;
    zkc_prover_free(&pv);
    return rc;
}

#undef STEP_DONE

size_t zk_prove_memory_bytes(size_t width, unsigned log_t, unsigned profile_id) {
    const zk_profile *prof = zk_profile_by_id(profile_id);
    if (!prof || log_t > ZK_MAX_LOG_T) return SIZE_MAX;
    size_t T = (size_t)1 << log_t, N = T << prof->log_blowup;
    size_t bytes = width * T * sizeof(fe);      /* trace columns */
    bytes += width * N * sizeof(fe);             /* trace LDE */
    bytes += 2 * N * sizeof(zk_digest);          /* trace and composition trees */
    bytes += 2 * DEG * (N + T) * sizeof(fe); /* segments: LDE and values over H */
    return bytes + zkc_memory_tail(prof, log_t);
}

size_t zkc_memory_tail(const zk_profile *prof, unsigned log_t) {
    size_t T = (size_t)1 << log_t, N = T << prof->log_blowup, f = (size_t)1 << prof->log_folding;
    size_t layers = 0;
    for (size_t n = N, d = T; d > prof->max_remainder; n /= f, d /= f)
        layers += DEG * n * sizeof(fe) + (n / f) * sizeof(zk_digest);
    /* FRI layers; OOD inverse and weight tables; DEEP over H and its coefficients */
    return layers + 2 * T * sizeof(fe3) + 2 * DEG * T * sizeof(fe);
}

/* Refuse proofs that cannot fit in physical memory before allocating anything: with
 * overcommit a huge malloc can succeed and the process be killed while filling it. */
int zkc_fits_in_memory(size_t bytes) {
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    if (pages <= 0 || page <= 0) return 1;
    return bytes / (size_t)page < (size_t)pages;
}

static int fits_in_memory(size_t width, unsigned log_t, unsigned profile_id) {
    return zkc_fits_in_memory(zk_prove_memory_bytes(width, log_t, profile_id));
}

void zkc_result_init(zk_prove_result *res) {
    volatile uint32_t *progress = res->progress;
    const int *cancel = res->cancel;
    memset(res, 0, sizeof *res);
    res->progress = progress;
    res->cancel = cancel;
    if (progress) *progress = 0;
}

void zk_prove_result_free(zk_prove_result *res) {
    (free)(res->receipt);
    (free)(res->outputs);
    res->receipt = NULL;
    res->outputs = NULL;
}


static int check_inputs(const zk_program *prog, const fe *inputs, size_t n_inputs) {
    if (n_inputs != prog->n_inputs) return 0;
    for (size_t i = 0; i < n_inputs; i++)
        if (inputs[i] >= ZK_P) return 0;
    return 1;
}

static int prove_run(const uint8_t *program, size_t program_len, const fe *inputs,
                     size_t n_inputs, unsigned profile_id, unsigned threads,
                     uint64_t max_cycles, zk_prove_result *res) {
    double t0 = now();
    zkc_result_init(res);
    zk_program prog;
    if (zk_program_decode(program, program_len, &prog) != 0) return ZK_PROVE_BAD_PROGRAM;
    const zk_profile *prof = zk_profile_by_id(profile_id);
    if (!prof) return ZK_PROVE_BAD_PROFILE;
    if (!check_inputs(&prog, inputs, n_inputs)) return ZK_PROVE_BAD_INPUTS;

    uint64_t cycles = 0;
    uint32_t fail_pc = 0;
    res->outputs = (malloc)(ZK_MAX_OUTPUTS * sizeof(fe)); /* zk_prove_result_free frees it */
    if (!res->outputs) return ZK_PROVE_NO_MEMORY;
    int vm = zk_vm_run(&prog, inputs, max_cycles, res->outputs, &cycles, &fail_pc);
    res->n_outputs = prog.n_outputs;
    res->cycles = cycles;
    res->fail_pc = fail_pc;
    if (zk_cancelled()) return ZK_PROVE_CANCELLED;
    if (vm == ZK_VM_CYCLE_LIMIT) return ZK_PROVE_CYCLE_LIMIT;
    if (vm == ZK_VM_INV_ZERO) return ZK_PROVE_INV_ZERO;
    if (vm == ZK_VM_ASSERT_FAILED) return ZK_PROVE_ASSERT_FAILED;
    if (vm != ZK_VM_OK) return ZK_PROVE_BAD_PROGRAM;
    unsigned log_t = zk_trace_log_length(cycles);
    if (log_t > ZK_MAX_LOG_T) return ZK_PROVE_TOO_LARGE;

    size_t T = (size_t)1 << log_t, w = zk_program_trace_width(&prog);
    res->log_t = log_t;
    res->width = (unsigned)w;
    if (!fits_in_memory(w, log_t, profile_id)) return ZK_PROVE_NO_MEMORY;
    fe *trace = malloc(w * T * sizeof(fe));
    fe *cols[ZKC_MAX_COLS];
    if (!trace) return ZK_PROVE_NO_MEMORY;
    for (size_t c = 0; c < w; c++) cols[c] = trace + c * T;
    vm = zk_vm_trace(&prog, inputs, max_cycles, log_t, cols);
    if (vm != ZK_VM_OK) {
        free(trace);
        return ZK_PROVE_BAD_PROGRAM; /* unreachable: the same run succeeded above */
    }
    res->timings.trace = now() - t0;
    int rc = prove_trace(&prog, program, program_len, inputs, res->outputs,
                         (const fe *const *)cols, log_t, prof, threads, 0, res);
    free(trace);
    res->timings.total = now() - t0;
    return rc;
}

static int prove_given_trace(const uint8_t *program, size_t program_len, const fe *inputs,
                             size_t n_inputs, const fe *outputs, size_t n_outputs,
                             const fe *const *columns, size_t width, unsigned log_t,
                             unsigned profile_id, unsigned threads, zk_prove_result *res) {
    double t0 = now();
    zkc_result_init(res);
    zk_program prog;
    if (zk_program_decode(program, program_len, &prog) != 0) return ZK_PROVE_BAD_PROGRAM;
    const zk_profile *prof = zk_profile_by_id(profile_id);
    if (!prof) return ZK_PROVE_BAD_PROFILE;
    if (!check_inputs(&prog, inputs, n_inputs)) return ZK_PROVE_BAD_INPUTS;
    if (n_outputs != prog.n_outputs || width != zk_program_trace_width(&prog) ||
        log_t < ZK_MIN_LOG_T || log_t > ZK_MAX_LOG_T)
        return ZK_PROVE_BAD_TRACE;
    for (size_t j = 0; j < n_outputs; j++)
        if (outputs[j] >= ZK_P) return ZK_PROVE_BAD_TRACE;
    size_t T = (size_t)1 << log_t;
    for (size_t c = 0; c < width; c++)
        for (size_t i = 0; i < T; i++)
            if (columns[c][i] >= ZK_P) return ZK_PROVE_BAD_TRACE;
    if (!fits_in_memory(width, log_t, profile_id)) return ZK_PROVE_NO_MEMORY;
    res->outputs = (malloc)((n_outputs ? n_outputs : 1) * sizeof(fe));
    if (!res->outputs) return ZK_PROVE_NO_MEMORY;
    res->n_outputs = (uint32_t)n_outputs;
    memcpy(res->outputs, outputs, n_outputs * sizeof(fe));
    int rc = prove_trace(&prog, program, program_len, inputs, outputs, columns, log_t, prof,
                         threads, 1, res);
    res->timings.total = now() - t0;
    return rc;
}

/* ---- the entry points: the cancel flag is bound to this thread for the whole call ---- */

void zk_prove_cancel(int *flag) { __atomic_store_n(flag, 1, __ATOMIC_RELAXED); }

/* A step that stopped on the flag may report any failure (a half-done loop can look like
 * a failed allocation): once the flag is set, every failure is the cancellation. A proof
 * that finished is returned even if the flag was set meanwhile. */
int zkc_cancel_code(int rc) {
    return rc != ZK_PROVE_OK && zk_cancelled() ? ZK_PROVE_CANCELLED : rc;
}

int zk_prove(const uint8_t *program, size_t program_len, const fe *inputs, size_t n_inputs,
             unsigned profile_id, unsigned threads, uint64_t max_cycles,
             zk_prove_result *res) {
    const int *previous = zk_cancel_bind(res->cancel);
    int rc = zkc_cancel_code(
        prove_run(program, program_len, inputs, n_inputs, profile_id, threads, max_cycles, res));
    zk_cancel_bind(previous);
    return rc;
}

int zk_prove_with_trace(const uint8_t *program, size_t program_len, const fe *inputs,
                        size_t n_inputs, const fe *outputs, size_t n_outputs,
                        const fe *const *columns, size_t width, unsigned log_t,
                        unsigned profile_id, unsigned threads, zk_prove_result *res) {
    const int *previous = zk_cancel_bind(res->cancel);
    int rc = zkc_cancel_code(prove_given_trace(program, program_len, inputs, n_inputs, outputs,
                                           n_outputs, columns, width, log_t, profile_id,
                                           threads, res));
    zk_cancel_bind(previous);
    return rc;
}
