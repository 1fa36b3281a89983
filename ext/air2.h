/* AIR 2, the machine AIR: docs/protocol.md sections 13 and 14.
 *
 * The one seam between the machine and the STARK core: the prover and the verifier call
 * these functions and know nothing else about what the columns mean.
 *
 *   main trace   ZK_AIR2_WIDTH base-field columns (zk_air2_trace)
 *   fixed        the columns both sides compute from the statement: `rom` (a K column,
 *                it depends on beta) and ZK_AIR2_FIXED base columns in the order
 *                rom_valid, reg_valid, out_sel, out_val, byte (zk_air2_fixed_columns on
 *                H for the prover, zk_air2_fixed_at at z for the verifier)
 *   auxiliary    ZK_AIR2_AUX_WIDTH K columns A_0..A_8, S (zk_air2_aux_columns), built
 *                after the main trace is committed, from alpha and beta
 *   constraints  ZK_AIR2_N_CONSTRAINTS in the canonical order of section 14:
 *                [0, 30) every row, [30, 38) transition, [38, 44) first row,
 *                [44, 47) last row
 */
#ifndef ZK_AIR2_H
#define ZK_AIR2_H

#include <stddef.h>
#include <stdint.h>

#include "field.h"
#include "machine.h"

#define ZK_AIR2_ID 2
#define ZK_AIR2_WIDTH 56
#define ZK_AIR2_AUX_WIDTH 10
#define ZK_AIR2_FRACTIONS 25
#define ZK_AIR2_FIXED 5
#define ZK_AIR2_N_EVERY 30
#define ZK_AIR2_N_TRANSITION 8
#define ZK_AIR2_N_FIRST 6
#define ZK_AIR2_N_LAST 3
#define ZK_AIR2_N_CONSTRAINTS 47
#define ZK_AIR2_SEGMENTS 3
#define ZK_AIR2_MIN_LOG_T 8
#define ZK_AIR2_TUPLE 22 /* longest enc(...): the fetch tuple, tag + pc + 20 fields */

/* What the statement fixes: the program, the public inputs and outputs, T. */
typedef struct {
    const zk_machine_program *prog;
    const fe *inputs;
    size_t n_inputs;
    const fe *outputs;
    size_t n_outputs;
    unsigned log_t;
} zk_air2_statement;

/* The LogUp challenges and what is derived from them once per proof. */
typedef struct {
    fe3 alpha, beta;
    fe3 beta_pow[ZK_AIR2_TUPLE]; /* beta^0 .. beta^21 */
    fe3 v;                       /* V of section 13: the verifier's own fractions */
    int v_defined; /* 0 if alpha equals one of V's own compressed tuples (probability about
                      3T/|K|): V is undefined and the verifier rejects (ood) */
} zk_air2_challenges;

/* log2 T of section 13 for a run of `cycles` cycles. */
unsigned zk_air2_log_t(const zk_machine_program *p, uint64_t cycles);

/* Execute and fill the main trace: cols[c] points at 2^log_t elements, c < ZK_AIR2_WIDTH.
 * Same return codes as zk_machine_run; log_t must be at least zk_air2_log_t of the run
 * (else ZK_VM_TRACE_TOO_SHORT). */
int zk_air2_trace(const zk_machine_program *p, const fe *inputs, size_t n_inputs,
                  uint64_t max_cycles, unsigned log_t, fe *const *cols);

/* alpha, beta from the transcript; computes beta's powers and V (O(R + stream I/O)). */
void zk_air2_challenges_init(zk_air2_challenges *ch, const zk_air2_statement *st, fe3 alpha,
                             fe3 beta);

/* The fixed columns on H: rom[i] (K) and fixed[c][i] (c < ZK_AIR2_FIXED), i < T. */
void zk_air2_fixed_columns(const zk_air2_statement *st, const zk_air2_challenges *ch,
                           fe3 *rom, fe *const *fixed);

/* The fixed columns at a point z outside H (the verifier, protocol.md 13). */
void zk_air2_fixed_at(const zk_air2_statement *st, const zk_air2_challenges *ch, fe3 z,
                      fe3 *rom, fe3 *fixed);

/* The auxiliary columns on H from the main trace and the fixed columns: aux[c][i], c <
 * ZK_AIR2_AUX_WIDTH, i < T. Returns 0, or -1 if some alpha - v is 0 (probability about
 * 25T/|K|: the prover reports it rather than divide by zero). */
int zk_air2_aux_columns(const zk_air2_statement *st, const zk_air2_challenges *ch,
                        const fe *const *main, const fe3 *rom, const fe *const *fixed,
                        fe3 *const *aux);
/* The same with `threads` threads (zk_parallel_for; the same columns for any count). A
 * bound cancel flag (parallel.h) stops it early with the columns partly computed. */
int zk_air2_aux_columns_threads(const zk_air2_statement *st, const zk_air2_challenges *ch,
                                const fe *const *main, const fe3 *rom, const fe *const *fixed,
                                fe3 *const *aux, unsigned threads);

/* Every constraint at one point, canonical order, into out[0 .. ZK_AIR2_N_CONSTRAINTS).
 * cur/next: main values at x and x*w_T; aux_cur/aux_next likewise; rom and fixed at x.
 * _ext: everything in K (the verifier at z); _base: main and fixed values in F (the
 * prover on the LDE domain). Both give the same values on the same inputs. */
void zk_air2_eval_ext(const zk_air2_statement *st, const zk_air2_challenges *ch,
                      const fe3 *cur, const fe3 *next, const fe3 *aux_cur,
                      const fe3 *aux_next, fe3 rom, const fe3 *fixed, fe3 *out);
void zk_air2_eval_base(const zk_air2_statement *st, const zk_air2_challenges *ch,
                       const fe *cur, const fe *next, const fe3 *aux_cur, const fe3 *aux_next,
                       fe3 rom, const fe *fixed, fe3 *out);

/* sum_k alpha_k * c_k(z) / divisor_k(z) (protocol.md 15.4 at x = z), which the verifier
 * compares with C_0(z) + z^T C_1(z) + z^2T C_2(z). z must be outside F. */
fe3 zk_air2_composition_at(const zk_air2_statement *st, const zk_air2_challenges *ch,
                           const fe3 *cur, const fe3 *next, const fe3 *aux_cur,
                           const fe3 *aux_next, const fe3 *alphas, fe3 z);

#endif
