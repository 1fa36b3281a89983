/* The AIR of a zkVM program: the constraints of docs/protocol.md section 5.
 *
 * zk_air_init turns a decoded program into a constraint system. Constraints are numbered
 * in the canonical order of protocol.md 5, which fixes which composition coefficient
 * alpha_k belongs to which constraint:
 *
 *     [0, n_transition)                       transition (vanish on rows 0..T-2)
 *         R register updates, I selector successions, J branch tests (a*(1-a*h)),
 *         then one per inv / assert_zero / assert_eq instruction (ascending)
 *     [n_transition, n_transition + n_first)  row-0 boundary: I selectors, then R registers
 *     [.. + n_first, n_constraints)           last-row boundary: halt sum, then outputs
 *
 * A row is the w = R + I + J trace values in column order (registers, selectors,
 * branch helpers). Boundary constraints read only the current row.
 *
 * Verifier (OOD check, protocol.md 9.2): with cur = t(z), next = t(z*w_T),
 *     fe3 lhs = zk_air_composition_at(&air, cur, next, inputs, outputs, alphas, z, log_t);
 *     ok = e_eq(lhs, e_add(c0_z, e_mul(e_pow(z, T), c1_z)));
 * Prover: zk_air_eval_base on LDE rows (base field), combined with the alphas itself.
 */
#ifndef ZK_AIR_H
#define ZK_AIR_H

#include <stddef.h>
#include <stdint.h>

#include "field.h"
#include "vm.h"

/* Upper bounds over every valid program (protocol.md 4 limits). */
#define ZK_AIR_MAX_WIDTH (ZK_MAX_REGISTERS + 2 * ZK_MAX_INSTRUCTIONS)
#define ZK_AIR_MAX_CONSTRAINTS \
    (ZK_MAX_REGISTERS + 3 * ZK_MAX_INSTRUCTIONS + ZK_MAX_INSTRUCTIONS + ZK_MAX_REGISTERS + 1 + ZK_MAX_OUTPUTS)

typedef struct { uint8_t kind, from; } zk_air_pred; /* kind: ZK_GUARD_* */
#define ZK_GUARD_ONE 0     /* sel_from */
#define ZK_GUARD_ZERO 1    /* sel_from * (1 - a*h): the branch register is zero */
#define ZK_GUARD_NONZERO 2 /* sel_from * a*h: the branch register is nonzero */

typedef struct {
    zk_program prog;
    uint32_t n_registers, n_instructions, n_branches, width;
    uint32_t n_transition, n_first, n_last, n_constraints;
    /* column of instruction k's branch helper (0 for non-branches) */
    uint16_t helper_col[ZK_MAX_INSTRUCTIONS];
    /* branch instructions in program order */
    uint8_t branches[ZK_MAX_INSTRUCTIONS];
    /* instructions with a constraint of their own (inv, assert_zero, assert_eq) */
    uint8_t checked[ZK_MAX_INSTRUCTIONS];
    uint32_t n_checked;
    /* register r: non-inv writers writers[wr_start[r] .. wr_start[r+1]), inv writers
     * inv_writers[iw_start[r] .. iw_start[r+1]) */
    uint16_t wr_start[ZK_MAX_REGISTERS + 1], iw_start[ZK_MAX_REGISTERS + 1];
    uint8_t writers[ZK_MAX_INSTRUCTIONS], inv_writers[ZK_MAX_INSTRUCTIONS];
    /* instruction t: predecessors preds[pr_start[t] .. pr_start[t+1]) */
    uint16_t pr_start[ZK_MAX_INSTRUCTIONS + 1];
    zk_air_pred preds[2 * ZK_MAX_INSTRUCTIONS];
} zk_air;

/* Build the constraint system of a program zk_program_decode accepted. Returns 0. */
int zk_air_init(zk_air *air, const zk_program *p);

/* Every constraint at one row, in canonical order, into out[0 .. n_constraints).
 * inputs: n_inputs public inputs; outputs: n_outputs public outputs. */
void zk_air_eval_ext(const zk_air *air, const fe3 *cur, const fe3 *next, const fe *inputs,
                     const fe *outputs, fe3 *out);
void zk_air_eval_base(const zk_air *air, const fe *cur, const fe *next, const fe *inputs,
                      const fe *outputs, fe *out);

/* The prover's fast path: for n <= ZK_AIR_BATCH rows at once, the three alpha-weighted
 * sums of protocol.md 8.2 before the divisors,
 *     trans[r] = sum_{k transition} alpha_k c_k(row r),  first[r] = sum_{k row-0} ...,
 *     last[r]  = sum_{k last-row} ...
 * cur and next hold the rows column by column: value of column c in row r at
 * cur[c * n + r]. Equal to combining zk_air_eval_base's values, but one constraint at a
 * time over the whole batch, with sums reduced once per row. */
#define ZK_AIR_BATCH 64
void zk_air_combine_batch(const zk_air *air, const fe *cur, const fe *next, size_t n,
                          const fe *inputs, const fe *outputs, const fe3 *alphas, fe3 *trans,
                          fe3 *first, fe3 *last);

/* sum_k alpha_k * constraint_k(z) / divisor_k(z) (protocol.md 8.2 at x = z), the value
 * the verifier compares with C_0(z) + z^T * C_1(z). z must not be in H (z^T != 1, z != 1,
 * z != w_T^(T-1)); a z drawn outside F (c1 or c2 nonzero) never is. alphas:
 * n_constraints values. */
fe3 zk_air_composition_at(const zk_air *air, const fe3 *cur, const fe3 *next,
                          const fe *inputs, const fe *outputs, const fe3 *alphas, fe3 z,
                          unsigned log_t);

#endif
