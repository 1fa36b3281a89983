/* The prover of the machine AIR (AIR 2): docs/protocol.md section 15, receipt format 3
 * (section 16). The STARK core is stark_prover.c's (prover_core.h); this file holds what
 * is particular to AIR 2:
 *   - the statement absorbed first (15, format 3's header: air id, 32-bit I/O counts);
 *   - after the main trace is committed: alpha, beta; the fixed columns on H
 *     (zk_air2_fixed_columns); the auxiliary columns A_0..A_8, S on H
 *     (zk_air2_aux_columns), each K column as its three coordinate planes, extended to D
 *     like the trace and committed (leaf = 10 x 24 bytes, column order);
 *   - the composition on the coset c_D * <w_M> with M = 4T (its degree is < 3T for a
 *     satisfied AIR, so 4T values fix it; the test hook uses M = N, the protocol's
 *     literal recipe, so forged traces give any implementation's bytes): per point the
 *     main and auxiliary values at x and x w_T (index + B on D), the fixed columns'
 *     interpolants on the coset, zk_air2_eval_base, and the four divisor kinds
 *     (every row: x^T - 1; transition: (x^T - 1)/(x - w_T^(T-1)); first: x - 1; last:
 *     x - w_T^(T-1)), the last two batch-inverted per block.
 * The core does the rest with n_seg = 3 and w_aux = 10: the OOD frame with a(z), a(zw),
 * DEEP with the a'_j, b'_j terms, FRI, grinding, queries (main, aux, composition trees).
 */
#include "prover.h"

#include <stdlib.h>
#include <string.h>

#include "air2.h"
#include "hash.h"
#include "machine.h"
#include "ntt.h"
#include "parallel.h"
#include "pool.h"
#include "prover_core.h"
#include "transcript.h"

/* Every buffer from the pool, as in stark_prover.c; (malloc) is the system's, for what
 * the caller frees (the outputs). */
#define malloc(n) zk_pool_alloc(n)
#define free(p) zk_pool_free(p)
#define DEG ZKC_DEG
/* The fixed columns on the composition coset: rom's 3 planes, then ZK_AIR2_FIXED. */
#define N_FIXED_PLANES (DEG + ZK_AIR2_FIXED)
#define N_AUX_PLANES (DEG * ZK_AIR2_AUX_WIDTH)

#define RETURN_IF_CANCELLED()                          \
    do {                                               \
        if (zk_cancelled()) return ZK_PROVE_CANCELLED; \
    } while (0)

typedef struct {
    zk_air2_statement st;
    zk_air2_challenges ch;
    fe *fixed_m; /* N_FIXED_PLANES x M: the fixed columns on the composition coset */
} air2_ctx;

/* ---- the statement (protocol.md 15) ---- */

static void absorb_statement(zk_transcript *tr, const zk_profile *prof, const uint8_t hash[32],
                             const fe *inputs, size_t n_inputs, const fe *outputs,
                             size_t n_outputs, unsigned log_t) {
    uint8_t head[14 + 2 + 1 + 1 + 1 + 2 + 1 + 1 + 2], b4[4], b1 = (uint8_t)log_t;
    uint8_t *p = head;
    memcpy(p, "zkactors-stark", 14);
    p += 14;
    zk_put_le16(p, 3);
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
    zk_absorber_begin(&a, tr);
    zk_absorber_bytes(&a, head, sizeof head);
    zk_absorber_bytes(&a, hash, 32);
    zk_put_le32(b4, (uint32_t)n_inputs);
    zk_absorber_bytes(&a, b4, 4);
    for (size_t i = 0; i < n_inputs; i++) zk_absorber_fe(&a, inputs[i]);
    zk_put_le32(b4, (uint32_t)n_outputs);
    zk_absorber_bytes(&a, b4, 4);
    for (size_t i = 0; i < n_outputs; i++) zk_absorber_fe(&a, outputs[i]);
    zk_absorber_bytes(&a, &b1, 1);
    zk_absorber_end(&a);
}

/* ---- 2.-3. LogUp challenges, fixed and auxiliary columns ---- */

/* K columns split into their coordinate planes (plane k of column c at planes[c] + k T),
 * over chunks of rows: the copy writes fresh memory, so its page faults are shared out
 * too. */
typedef struct {
    const fe3 *const *cols;
    fe *const *planes;
    size_t n_cols, T;
} planes_job;

#define PLANES_CHUNK 256 /* rows per work item: T >= 2^ZK_AIR2_MIN_LOG_T is a multiple */

static void planes_range(void *vctx, size_t begin, size_t end) {
    const planes_job *job = vctx;
    size_t T = job->T;
    for (size_t c = 0; c < job->n_cols; c++) {
        const fe3 *col = job->cols[c];
        fe *p0 = job->planes[c], *p1 = p0 + T, *p2 = p1 + T;
        for (size_t i = begin * PLANES_CHUNK; i < end * PLANES_CHUNK; i++) {
            p0[i] = col[i].c0;
            p1[i] = col[i].c1;
            p2[i] = col[i].c2;
        }
    }
}

static int aux_step(zkc_prover *pv, air2_ctx *ax, zk_prove_timings *tm) {
    double t0 = zkc_now();
    size_t T = pv->T, N = pv->N, M = (size_t)1 << pv->log_m;
    fe3 alpha = zk_transcript_draw_ext(&pv->tr);
    fe3 beta = zk_transcript_draw_ext(&pv->tr);
    zk_air2_challenges_init(&ax->ch, &ax->st, alpha, beta);

    int rc = ZK_PROVE_NO_MEMORY;
    fe3 *rom = malloc(T * sizeof(fe3));
    fe3 *auxk = malloc(ZK_AIR2_AUX_WIDTH * T * sizeof(fe3));
    fe *fixed_h = malloc(N_FIXED_PLANES * T * sizeof(fe));
    pv->aux_h = malloc(N_AUX_PLANES * T * sizeof(fe));
    if (!rom || !auxk || !fixed_h || !pv->aux_h) goto done;
    fe *fixed[ZK_AIR2_FIXED];
    for (size_t c = 0; c < ZK_AIR2_FIXED; c++) fixed[c] = fixed_h + (DEG + c) * T;
    zk_air2_fixed_columns(&ax->st, &ax->ch, rom, fixed);
    fe3 *aux[ZK_AIR2_AUX_WIDTH];
    for (size_t c = 0; c < ZK_AIR2_AUX_WIDTH; c++) aux[c] = auxk + c * T;
    if (zk_air2_aux_columns_threads(&ax->st, &ax->ch, pv->trace, rom, (const fe *const *)fixed,
                                    aux, pv->threads) != 0) {
        rc = ZK_PROVE_UNLUCKY;
        goto done;
    }
    if (zk_cancelled()) {
        rc = ZK_PROVE_CANCELLED;
        goto done;
    }
    /* K columns as coordinate planes: aux column c's coordinate k is plane 3c + k; rom's
     * are the first 3 fixed planes */
    const fe3 *kcols[ZK_AIR2_AUX_WIDTH + 1];
    fe *kplanes[ZK_AIR2_AUX_WIDTH + 1];
    for (size_t c = 0; c < ZK_AIR2_AUX_WIDTH; c++) {
        kcols[c] = aux[c];
        kplanes[c] = pv->aux_h + DEG * c * T;
    }
    kcols[ZK_AIR2_AUX_WIDTH] = rom;
    kplanes[ZK_AIR2_AUX_WIDTH] = fixed_h;
    planes_job pj = {kcols, kplanes, ZK_AIR2_AUX_WIDTH + 1, T};
    zk_parallel_for(pv->threads, T / PLANES_CHUNK, planes_range, &pj);
    free(auxk);
    free(rom);
    auxk = NULL;
    rom = NULL;

    /* the fixed columns' interpolants on the composition coset */
    ax->fixed_m = malloc(N_FIXED_PLANES * M * sizeof(fe));
    if (!ax->fixed_m) goto done;
    const fe *fplanes[N_FIXED_PLANES];
    for (size_t c = 0; c < N_FIXED_PLANES; c++) fplanes[c] = fixed_h + c * T;
    if (zkc_lde_columns(pv, fplanes, ax->fixed_m, M, N_FIXED_PLANES, pv->log_t,
                        pv->log_m - pv->log_t, ZK_LDE_OFFSET) != 0)
        goto done;
    free(fixed_h);
    fixed_h = NULL;
    if (zk_cancelled()) {
        rc = ZK_PROVE_CANCELLED;
        goto done;
    }

    /* the auxiliary segment's LDE on D and its commitment */
    pv->aux_lde = malloc(N_AUX_PLANES * N * sizeof(fe));
    if (!pv->aux_lde) goto done;
    const fe *aplanes[N_AUX_PLANES];
    for (size_t c = 0; c < N_AUX_PLANES; c++) aplanes[c] = pv->aux_h + c * T;
    if (zkc_lde_columns(pv, aplanes, pv->aux_lde, N, N_AUX_PLANES, pv->log_t, pv->log_b,
                        ZK_LDE_OFFSET) != 0)
        goto done;
    if (zk_cancelled()) {
        rc = ZK_PROVE_CANCELLED;
        goto done;
    }
    rc = zkc_commit_block(pv, &pv->aux_tree, pv->aux_lde, N_AUX_PLANES, N);
done:
    free(rom);
    free(auxk);
    free(fixed_h);
    tm->aux += zkc_now() - t0;
    return rc;
}

/* ---- 4. composition on the coset c_D * <w_M> ---- */

typedef struct {
    zkc_prover *pv;
    const air2_ctx *ax;
    fe *const *out;
    fe w_m, g_last;   /* generator of the size-M subgroup; w_T^(T-1) */
    const fe *zt_inv; /* 1/(x^T - 1), which depends on j mod (M/T) only */
    fe wa1[ZK_AIR2_N_CONSTRAINTS], wa2[ZK_AIR2_N_CONSTRAINTS]; /* W alpha_k.c1, W alpha_k.c2 */
    /* The main columns constant over H (so on D: zkc_lde_columns filled them) are not
     * gathered from the LDE: n_var columns var[] are, the others hold const_val. */
    unsigned n_var, var[ZK_AIR2_WIDTH];
    fe const_val[ZK_AIR2_WIDTH];
} comp_job;

/* sum_{k in [lo, hi)} alpha_k c_k, reduced once. Most constraints are base-field values
 * on D (all but the LogUp ones): alpha_k c_k is then 3 products, not 9. */
static inline fe3 combine(const comp_job *job, const fe3 *c, size_t lo, size_t hi) {
    const fe3 *alphas = job->pv->alphas;
    lazy s[DEG] = {{0, 0}};
    for (size_t k = lo; k < hi; k++) {
        if ((c[k].c1 | c[k].c2) == 0) {
            lazy_mac(&s[0], alphas[k].c0, c[k].c0);
            lazy_mac(&s[1], alphas[k].c1, c[k].c0);
            lazy_mac(&s[2], alphas[k].c2, c[k].c0);
        } else {
            ext_mac(s, alphas[k], job->wa1[k], job->wa2[k], c[k].c0, c[k].c1, c[k].c2);
        }
    }
    return (fe3){lazy_done(&s[0]), lazy_done(&s[1]), lazy_done(&s[2])};
}

/* Points per block: the batch inversion's unit, and the rows gathered column by column
 * into a row-major block (cur, next: 2 x 56 values a point; aux: 2 x 10 K values) that
 * stays in L2, so each LDE column is read as one sequential run per block instead of
 * 170 streams at once. */
#define BLOCK 128

static void comp_range(void *vctx, size_t begin, size_t end) {
    comp_job *job = vctx;
    zkc_prover *pv = job->pv;
    const air2_ctx *ax = job->ax;
    size_t N = pv->N, M = (size_t)1 << pv->log_m, stride = N >> pv->log_m;
    size_t step = (size_t)1 << pv->log_b, cycle_mask = ((size_t)1 << (pv->log_m - pv->log_t)) - 1;
    const size_t W = ZK_AIR2_WIDTH, WA = ZK_AIR2_AUX_WIDTH;
    const size_t e0 = ZK_AIR2_N_EVERY, e1 = e0 + ZK_AIR2_N_TRANSITION,
                 e2 = e1 + ZK_AIR2_N_FIRST, e3 = e2 + ZK_AIR2_N_LAST;
    fe xs[BLOCK], den[2 * BLOCK], inv[2 * BLOCK], fixed[ZK_AIR2_FIXED];
    fe3 cons[ZK_AIR2_N_CONSTRAINTS];
    const fe *lde = pv->lde, *alde = pv->aux_lde, *fm = ax->fixed_m;
    fe *rows = malloc(2 * BLOCK * W * sizeof(fe));
    fe3 *arows = malloc(2 * BLOCK * WA * sizeof(fe3));
    if (!rows || !arows) {
        zkc_mark_failed(pv);
        free(rows);
        free(arows);
        return;
    }
    fe *cur = rows, *next = rows + BLOCK * W;
    fe3 *acur = arows, *anext = arows + BLOCK * WA;
    for (size_t i = 0; i < BLOCK; i++)
        for (size_t c = 0; c < W; c++) cur[i * W + c] = next[i * W + c] = job->const_val[c];

    for (size_t blk = begin; blk < end && !zk_cancelled(); blk += BLOCK) {
        size_t n = end - blk < BLOCK ? end - blk : BLOCK;
        zkc_block_points(job->w_m, job->g_last, blk, n, xs, den, inv);
        for (unsigned k = 0; k < job->n_var; k++) {
            size_t c = job->var[k];
            const fe *col = lde + c * N;
            for (size_t i = 0; i < n; i++) {
                size_t row = (blk + i) * stride;
                cur[i * W + c] = col[row];
                next[i * W + c] = col[(row + step) & (N - 1)];
            }
        }
        for (size_t c = 0; c < WA; c++) {
            const fe *p = alde + DEG * c * N;
            for (size_t i = 0; i < n; i++) {
                size_t row = (blk + i) * stride, nrow = (row + step) & (N - 1);
                acur[i * WA + c] = (fe3){p[row], p[N + row], p[2 * N + row]};
                anext[i * WA + c] = (fe3){p[nrow], p[N + nrow], p[2 * N + nrow]};
            }
        }
        for (size_t i = 0; i < n; i++) {
            size_t j = blk + i;
            fe3 rom = {fm[j], fm[M + j], fm[2 * M + j]};
            for (size_t c = 0; c < ZK_AIR2_FIXED; c++) fixed[c] = fm[(DEG + c) * M + j];
            zk_air2_eval_base(&ax->st, &ax->ch, cur + i * W, next + i * W, acur + i * WA,
                              anext + i * WA, rom, fixed, cons);

            fe zinv = job->zt_inv[j & cycle_mask];
            fe3 v = e_mul_base(combine(job, cons, 0, e0), zinv);
            v = e_add(v, e_mul_base(combine(job, cons, e0, e1),
                                    f_mul(f_sub(xs[i], job->g_last), zinv)));
            v = e_add(v, e_mul_base(combine(job, cons, e1, e2), inv[i]));
            v = e_add(v, e_mul_base(combine(job, cons, e2, e3), inv[n + i]));
            job->out[0][j] = v.c0;
            job->out[1][j] = v.c1;
            job->out[2][j] = v.c2;
        }
    }
    free(rows);
    free(arows);
}

static void air2_composition(zkc_prover *pv, fe *const *out) {
    fe zt_inv[1 << 8]; /* M/T <= B <= 2^8 */
    zkc_vanishing_inverses(pv, zt_inv);
    fe w_t = f_root_of_unity(pv->log_t);
    comp_job job;
    job.pv = pv;
    job.ax = pv->air_ctx;
    job.out = out;
    job.w_m = f_root_of_unity(pv->log_m);
    job.g_last = f_pow(w_t, pv->T - 1);
    job.zt_inv = zt_inv;
    const size_t T = pv->T;
    job.n_var = 0;
    for (unsigned c = 0; c < ZK_AIR2_WIDTH; c++) {
        const fe *col = pv->trace[c];
        size_t i = 1;
        while (i < T && col[i] == col[0]) i++;
        job.const_val[c] = col[0];
        if (i < T) job.var[job.n_var++] = c;
    }
    for (size_t k = 0; k < ZK_AIR2_N_CONSTRAINTS; k++) {
        job.wa1[k] = f_mul(ZK_EXT_W, pv->alphas[k].c1);
        job.wa2[k] = f_mul(ZK_EXT_W, pv->alphas[k].c2);
    }
    zk_parallel_for(pv->threads, (size_t)1 << pv->log_m, comp_range, &job);
}

/* ---- the whole protocol on a main trace ---- */

#define STEP_DONE() (rc == ZK_PROVE_OK && (zk_cancelled() ? (rc = ZK_PROVE_CANCELLED, 0) : 1))

static int prove_main_trace(const zk_machine_program *prog, const uint8_t *program,
                            size_t program_len, const fe *inputs, size_t n_inputs,
                            const fe *outputs, size_t n_outputs, const fe *const *columns,
                            unsigned log_t, const zk_profile *prof, unsigned threads,
                            int full_composition, zk_prove_result *res) {
    zkc_prover pv;
    memset(&pv, 0, sizeof pv);
    air2_ctx ax;
    memset(&ax, 0, sizeof ax);
    ax.st = (zk_air2_statement){prog, inputs, n_inputs, outputs, n_outputs, log_t};
    /* M = 4T > 3T, the degree bound of C; every profile has B >= 4 */
    zkc_prover_setup(&pv, prof, log_t, threads,
                     full_composition ? log_t + prof->log_blowup : log_t + 2);
    pv.format = 3;
    pv.n_seg = ZK_AIR2_SEGMENTS;
    pv.w_aux = ZK_AIR2_AUX_WIDTH;
    pv.n_constraints = ZK_AIR2_N_CONSTRAINTS;
    pv.composition = air2_composition;
    pv.air_ctx = &ax;
    pv.w = ZK_AIR2_WIDTH;
    pv.inputs = inputs;
    pv.n_inputs = n_inputs;
    pv.outputs = outputs;
    pv.n_outputs = n_outputs;
    zk_sha256(program, program_len, pv.program_hash);

    zk_transcript_init(&pv.tr);
    absorb_statement(&pv.tr, prof, pv.program_hash, inputs, n_inputs, outputs, n_outputs, log_t);
    pv.trace = columns;
    int rc = zk_cancelled() ? ZK_PROVE_CANCELLED : zkc_trace_step(&pv, &res->timings);
    if (STEP_DONE()) {
        zkc_report_step(res, 1);
        rc = aux_step(&pv, &ax, &res->timings);
    }
    if (STEP_DONE()) rc = zkc_prove_tail(&pv, res, 2);
    res->log_t = log_t;
    res->width = ZK_AIR2_WIDTH;
    zkc_prover_free(&pv);
    free(ax.fixed_m);
    return rc;
}

#undef STEP_DONE

size_t zk_prove_machine_memory_bytes(unsigned log_t, unsigned profile_id) {
    const zk_profile *prof = zk_profile_by_id(profile_id);
    if (!prof || log_t < ZK_AIR2_MIN_LOG_T || log_t > ZK_MAX_LOG_T) return SIZE_MAX;
    size_t T = (size_t)1 << log_t, N = T << prof->log_blowup, M = 4 * T;
    size_t w = ZK_AIR2_WIDTH, wa = N_AUX_PLANES, cells;
    cells = w * (T + N);                   /* main trace and its LDE */
    cells += wa * (T + N) + wa * T;        /* aux planes over H, LDE; the K columns */
    cells += (DEG + N_FIXED_PLANES) * T;   /* rom (K) and the fixed planes over H */
    cells += N_FIXED_PLANES * M + DEG * M; /* fixed on the coset; C on the coset */
    cells += ZK_AIR2_SEGMENTS * DEG * (T + N); /* segments over H and their LDE */
    return cells * sizeof(fe) + 3 * N * sizeof(zk_digest) + zkc_memory_tail(prof, log_t);
}

/* The machine's and the trace builder's return codes as the prover's. */
static int machine_code(int vm) {
    switch (vm) {
    case ZK_VM_OK: return ZK_PROVE_OK;
    case ZK_VM_CYCLE_LIMIT: return ZK_PROVE_CYCLE_LIMIT;
    case ZK_VM_INV_ZERO: return ZK_PROVE_INV_ZERO;
    case ZK_VM_ASSERT_FAILED: return ZK_PROVE_ASSERT_FAILED;
    case ZK_MACHINE_BAD_ADDRESS: return ZK_PROVE_BAD_ADDRESS;
    case ZK_MACHINE_READ_PAST_END: return ZK_PROVE_READ_PAST_END;
    case ZK_MACHINE_INPUTS_LEFT: return ZK_PROVE_INPUTS_LEFT;
    case ZK_MACHINE_TOO_MANY_OUTPUTS: return ZK_PROVE_TOO_MANY_OUTPUTS;
    case ZK_MACHINE_NO_MEMORY: return ZK_PROVE_NO_MEMORY;
    default: return ZK_PROVE_BAD_PROGRAM; /* unreachable for a decoded program */
    }
}

static int check_io(const zk_machine_program *prog, const fe *inputs, size_t n_inputs) {
    if (n_inputs < prog->n_inputs || n_inputs > ZK_MACHINE_MAX_IO) return 0;
    for (size_t i = 0; i < n_inputs; i++)
        if (inputs[i] >= ZK_P) return 0;
    return 1;
}

static int decode(const uint8_t *program, size_t program_len, zk_machine_program *prog) {
    int d = zk_machine_decode(program, program_len, prog);
    return d == 0 ? ZK_PROVE_OK : d == -2 ? ZK_PROVE_NO_MEMORY : ZK_PROVE_BAD_PROGRAM;
}

static int machine_run(const zk_machine_program *prog, const uint8_t *program,
                       size_t program_len, const fe *inputs, size_t n_inputs,
                       const zk_profile *prof, unsigned threads, uint64_t max_cycles,
                       zk_prove_result *res, double t0) {
    if (!check_io(prog, inputs, n_inputs)) return ZK_PROVE_BAD_INPUTS;
    res->outputs = (malloc)(ZK_MACHINE_MAX_IO * sizeof(fe)); /* zk_prove_result_free */
    if (!res->outputs) return ZK_PROVE_NO_MEMORY;
    uint64_t cycles = 0;
    uint32_t fail_pc = 0;
    size_t n_outputs = 0;
    int vm = zk_machine_run(prog, inputs, n_inputs, max_cycles, res->outputs, &n_outputs,
                            &cycles, &fail_pc);
    res->n_outputs = (uint32_t)n_outputs;
    res->cycles = cycles;
    res->fail_pc = fail_pc;
    if (zk_cancelled()) return ZK_PROVE_CANCELLED;
    if (vm != ZK_VM_OK) return machine_code(vm);
    unsigned log_t = zk_air2_log_t(prog, cycles);
    if (log_t > ZK_MAX_LOG_T) return ZK_PROVE_TOO_LARGE;
    size_t T = (size_t)1 << log_t;
    res->log_t = log_t;
    res->width = ZK_AIR2_WIDTH;
    if (!zkc_fits_in_memory(zk_prove_machine_memory_bytes(log_t, prof->id)))
        return ZK_PROVE_NO_MEMORY;
    fe *trace = malloc(ZK_AIR2_WIDTH * T * sizeof(fe));
    if (!trace) return ZK_PROVE_NO_MEMORY;
    fe *cols[ZK_AIR2_WIDTH];
    for (size_t c = 0; c < ZK_AIR2_WIDTH; c++) cols[c] = trace + c * T;
    vm = zk_air2_trace(prog, inputs, n_inputs, max_cycles, log_t, cols);
    int rc = machine_code(vm);
    if (rc == ZK_PROVE_OK) {
        res->timings.trace = zkc_now() - t0;
        rc = prove_main_trace(prog, program, program_len, inputs, n_inputs, res->outputs,
                              n_outputs, (const fe *const *)cols, log_t, prof, threads, 0, res);
    }
    free(trace);
    return rc;
}

static int prove_machine(const uint8_t *program, size_t program_len, const fe *inputs,
                         size_t n_inputs, unsigned profile_id, unsigned threads,
                         uint64_t max_cycles, zk_prove_result *res) {
    double t0 = zkc_now();
    zkc_result_init(res);
    const zk_profile *prof = zk_profile_by_id(profile_id);
    zk_machine_program prog;
    int rc = decode(program, program_len, &prog);
    if (rc != ZK_PROVE_OK) return rc;
    rc = prof ? machine_run(&prog, program, program_len, inputs, n_inputs, prof, threads,
                            max_cycles, res, t0)
              : ZK_PROVE_BAD_PROFILE;
    zk_machine_free(&prog);
    res->timings.total = zkc_now() - t0;
    return rc;
}

/* The statement checks of protocol.md 17 that make a statement provable at all. */
static int statement_ok(const zk_machine_program *prog, const fe *inputs, size_t n_inputs,
                        const fe *outputs, size_t n_outputs, size_t width, unsigned log_t) {
    if (width != ZK_AIR2_WIDTH || log_t < ZK_AIR2_MIN_LOG_T || log_t > ZK_MAX_LOG_T) return 0;
    if (log_t < zk_air2_log_t(prog, 0)) return 0; /* T >= n_instructions, n_registers */
    size_t T = (size_t)1 << log_t;
    if (n_outputs < prog->n_outputs || n_outputs > ZK_MACHINE_MAX_IO) return 0;
    if (n_inputs - prog->n_inputs >= T || n_outputs - prog->n_outputs >= T) return 0;
    for (size_t j = 0; j < n_outputs; j++)
        if (outputs[j] >= ZK_P) return 0;
    for (size_t j = 0; j < prog->n_outputs; j++)
        for (size_t k = 0; k < j; k++)
            if (prog->outputs[j] == prog->outputs[k] && outputs[j] != outputs[k]) return 0;
    (void)inputs;
    return 1;
}

static int prove_machine_given(const uint8_t *program, size_t program_len, const fe *inputs,
                               size_t n_inputs, const fe *outputs, size_t n_outputs,
                               const fe *const *columns, size_t width, unsigned log_t,
                               unsigned profile_id, unsigned threads, zk_prove_result *res) {
    double t0 = zkc_now();
    zkc_result_init(res);
    const zk_profile *prof = zk_profile_by_id(profile_id);
    zk_machine_program prog;
    int rc = decode(program, program_len, &prog);
    if (rc != ZK_PROVE_OK) return rc;
    if (!prof) rc = ZK_PROVE_BAD_PROFILE;
    else if (!check_io(&prog, inputs, n_inputs)) rc = ZK_PROVE_BAD_INPUTS;
    else if (!statement_ok(&prog, inputs, n_inputs, outputs, n_outputs, width, log_t))
        rc = ZK_PROVE_BAD_TRACE;
    for (size_t c = 0; rc == ZK_PROVE_OK && c < width; c++)
        for (size_t i = 0; i < (size_t)1 << log_t; i++)
            if (columns[c][i] >= ZK_P) {
                rc = ZK_PROVE_BAD_TRACE;
                break;
            }
    if (rc == ZK_PROVE_OK && !zkc_fits_in_memory(zk_prove_machine_memory_bytes(log_t, profile_id)))
        rc = ZK_PROVE_NO_MEMORY;
    if (rc == ZK_PROVE_OK) {
        res->outputs = (malloc)((n_outputs ? n_outputs : 1) * sizeof(fe));
        if (!res->outputs) rc = ZK_PROVE_NO_MEMORY;
    }
    if (rc == ZK_PROVE_OK) {
        res->n_outputs = (uint32_t)n_outputs;
        memcpy(res->outputs, outputs, n_outputs * sizeof(fe));
        rc = prove_main_trace(&prog, program, program_len, inputs, n_inputs, outputs, n_outputs,
                              columns, log_t, prof, threads, 1, res);
    }
    zk_machine_free(&prog);
    res->timings.total = zkc_now() - t0;
    return rc;
}

/* ---- the entry points: the cancel flag is bound to this thread for the whole call ---- */

int zk_prove_machine(const uint8_t *program, size_t program_len, const fe *inputs,
                     size_t n_inputs, unsigned profile_id, unsigned threads,
                     uint64_t max_cycles, zk_prove_result *res) {
    const int *previous = zk_cancel_bind(res->cancel);
    int rc = zkc_cancel_code(prove_machine(program, program_len, inputs, n_inputs, profile_id,
                                           threads, max_cycles, res));
    zk_cancel_bind(previous);
    return rc;
}

int zk_prove_machine_with_trace(const uint8_t *program, size_t program_len, const fe *inputs,
                                size_t n_inputs, const fe *outputs, size_t n_outputs,
                                const fe *const *columns, size_t width, unsigned log_t,
                                unsigned profile_id, unsigned threads, zk_prove_result *res) {
    const int *previous = zk_cancel_bind(res->cancel);
    int rc = zkc_cancel_code(prove_machine_given(program, program_len, inputs, n_inputs,
                                                 outputs, n_outputs, columns, width, log_t,
                                                 profile_id, threads, res));
    zk_cancel_bind(previous);
    return rc;
}
