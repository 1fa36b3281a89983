/* Constraint evaluation of docs/protocol.md section 5; see air.h for the numbering. */
#include "air.h"

#include <string.h>

static int is_write(uint8_t op) {
    return op == ZK_OP_SET || op == ZK_OP_MOV || (op >= ZK_OP_ADD && op <= ZK_OP_MULI);
}

static int is_branch(uint8_t op) { return op == ZK_OP_JZ || op == ZK_OP_JNZ; }

/* One successor edge k -> t of protocol.md 5.2. */
typedef struct { uint8_t from, to, kind; } edge;

static uint32_t successor_edges(const zk_program *p, edge *e) {
    uint32_t n = 0, I = p->n_instructions;
    for (uint32_t k = 0; k < I; k++) {
        const zk_instr *ins = &p->code[k];
        uint8_t fall = ZK_GUARD_ONE, jump = ZK_GUARD_ONE;
        int falls = k + 1 < I, jumps = 0;
        switch (ins->op) {
        case ZK_OP_JMP: falls = 0; jumps = 1; break;
        case ZK_OP_HALT: falls = 0; e[n++] = (edge){(uint8_t)k, (uint8_t)k, ZK_GUARD_ONE}; break;
        case ZK_OP_JZ: jumps = 1; jump = ZK_GUARD_ZERO; fall = ZK_GUARD_NONZERO; break;
        case ZK_OP_JNZ: jumps = 1; jump = ZK_GUARD_NONZERO; fall = ZK_GUARD_ZERO; break;
        default: break;
        }
        if (jumps) e[n++] = (edge){(uint8_t)k, (uint8_t)ins->target, jump};
        if (falls) e[n++] = (edge){(uint8_t)k, (uint8_t)(k + 1), fall};
    }
    return n;
}

int zk_air_init(zk_air *air, const zk_program *p) {
    memset(air, 0, sizeof *air);
    air->prog = *p;
    uint32_t R = p->n_registers, I = p->n_instructions;
    air->n_registers = R;
    air->n_instructions = I;

    uint32_t J = 0;
    for (uint32_t k = 0; k < I; k++) {
        const zk_instr *ins = &p->code[k];
        if (is_branch(ins->op)) {
            air->helper_col[k] = (uint16_t)(R + I + J);
            air->branches[J++] = (uint8_t)k;
        }
        if (ins->op == ZK_OP_INV || ins->op == ZK_OP_ASSERT_ZERO || ins->op == ZK_OP_ASSERT_EQ)
            air->checked[air->n_checked++] = (uint8_t)k;
    }
    air->n_branches = J;
    air->width = R + I + J;

    uint32_t wn = 0, in = 0;
    for (uint32_t r = 0; r < R; r++) {
        air->wr_start[r] = (uint16_t)wn;
        air->iw_start[r] = (uint16_t)in;
        for (uint32_t k = 0; k < I; k++) {
            const zk_instr *ins = &p->code[k];
            if (ins->rd != r) continue;
            if (is_write(ins->op)) air->writers[wn++] = (uint8_t)k;
            else if (ins->op == ZK_OP_INV) air->inv_writers[in++] = (uint8_t)k;
        }
    }
    air->wr_start[R] = (uint16_t)wn;
    air->iw_start[R] = (uint16_t)in;

    /* Successor edges grouped by their target t, ascending k within a group. */
    edge edges[2 * ZK_MAX_INSTRUCTIONS];
    uint32_t n_edges = successor_edges(p, edges), pn = 0;
    for (uint32_t t = 0; t < I; t++) {
        air->pr_start[t] = (uint16_t)pn;
        for (uint32_t i = 0; i < n_edges; i++)
            if (edges[i].to == t) air->preds[pn++] = (zk_air_pred){edges[i].kind, edges[i].from};
    }
    air->pr_start[I] = (uint16_t)pn;

    air->n_transition = R + I + J + air->n_checked;
    air->n_first = I + R;
    air->n_last = 1 + p->n_outputs;
    air->n_constraints = air->n_transition + air->n_first + air->n_last;
    return 0;
}

/* The body is written once for both fields: the prover runs it over F on LDE rows, the
 * verifier over K at the out-of-domain point. */
#define AIR_EVAL_BODY(T, ADD, SUB, MUL, MUL_BASE, FROM, ZERO, ONE)                          \
    const zk_program *p = &air->prog;                                                        \
    uint32_t R = air->n_registers, I = air->n_instructions;                                  \
    const T *sel = cur + R, *sel_next = next + R;                                            \
    T *o = out;                                                                              \
    /* 1. register updates */                                                                \
    for (uint32_t r = 0; r < R; r++) {                                                       \
        T s = ZERO;                                                                          \
        for (uint32_t i = air->iw_start[r]; i < air->iw_start[r + 1]; i++)                  \
            s = ADD(s, sel[air->inv_writers[i]]);                                            \
        T v = MUL(SUB(ONE, s), SUB(next[r], cur[r]));                                        \
        for (uint32_t i = air->wr_start[r]; i < air->wr_start[r + 1]; i++) {                \
            uint32_t k = air->writers[i];                                                    \
            const zk_instr *ins = &p->code[k];                                               \
            T f;                                                                             \
            switch (ins->op) {                                                               \
            case ZK_OP_SET: f = FROM(ins->imm); break;                                       \
            case ZK_OP_MOV: f = cur[ins->ra]; break;                                         \
            case ZK_OP_ADD: f = ADD(cur[ins->ra], cur[ins->rb]); break;                      \
            case ZK_OP_SUB: f = SUB(cur[ins->ra], cur[ins->rb]); break;                      \
            case ZK_OP_MUL: f = MUL(cur[ins->ra], cur[ins->rb]); break;                      \
            case ZK_OP_ADDI: f = ADD(cur[ins->ra], FROM(ins->imm)); break;                   \
            case ZK_OP_SUBI: f = SUB(cur[ins->ra], FROM(ins->imm)); break;                   \
            default: f = MUL_BASE(cur[ins->ra], ins->imm); break; /* muli */                 \
            }                                                                                \
            v = SUB(v, MUL(sel[k], SUB(f, cur[r])));                                         \
        }                                                                                    \
        *o++ = v;                                                                            \
    }                                                                                        \
    /* a*h per branch instruction, indexed by instruction */                                 \
    T ah[ZK_MAX_INSTRUCTIONS];                                                               \
    for (uint32_t j = 0; j < air->n_branches; j++) {                                         \
        uint32_t k = air->branches[j];                                                       \
        ah[k] = MUL(cur[p->code[k].ra], cur[air->helper_col[k]]);                            \
    }                                                                                        \
    /* 2. selector succession */                                                             \
    for (uint32_t t = 0; t < I; t++) {                                                       \
        T v = sel_next[t];                                                                   \
        for (uint32_t i = air->pr_start[t]; i < air->pr_start[t + 1]; i++) {                \
            zk_air_pred e = air->preds[i];                                                   \
            T g;                                                                             \
            if (e.kind == ZK_GUARD_ONE) g = sel[e.from];                                     \
            else if (e.kind == ZK_GUARD_NONZERO) g = MUL(sel[e.from], ah[e.from]);           \
            else g = MUL(sel[e.from], SUB(ONE, ah[e.from]));                                 \
            v = SUB(v, g);                                                                   \
        }                                                                                    \
        *o++ = v;                                                                            \
    }                                                                                        \
    /* 3. branch tests */                                                                    \
    for (uint32_t j = 0; j < air->n_branches; j++) {                                         \
        uint32_t k = air->branches[j];                                                       \
        *o++ = MUL(cur[p->code[k].ra], SUB(ONE, ah[k]));                                     \
    }                                                                                        \
    /* 4. inv / assert */                                                                    \
    for (uint32_t j = 0; j < air->n_checked; j++) {                                          \
        uint32_t k = air->checked[j];                                                        \
        const zk_instr *ins = &p->code[k];                                                   \
        T v;                                                                                 \
        if (ins->op == ZK_OP_INV) v = SUB(MUL(cur[ins->ra], next[ins->rd]), ONE);            \
        else if (ins->op == ZK_OP_ASSERT_ZERO) v = cur[ins->ra];                             \
        else v = SUB(cur[ins->ra], cur[ins->rb]);                                            \
        *o++ = MUL(sel[k], v);                                                               \
    }                                                                                        \
    /* 5., 6. row 0 */                                                                       \
    for (uint32_t k = 0; k < I; k++) *o++ = k == 0 ? SUB(sel[0], ONE) : sel[k];              \
    for (uint32_t r = 0; r < R; r++)                                                         \
        *o++ = r < p->n_inputs ? SUB(cur[r], FROM(inputs[r])) : cur[r];                      \
    /* 7., 8. last row */                                                                    \
    T halts = ZERO;                                                                          \
    for (uint32_t k = 0; k < I; k++)                                                         \
        if (p->code[k].op == ZK_OP_HALT) halts = ADD(halts, sel[k]);                         \
    *o++ = SUB(halts, ONE);                                                                  \
    for (uint32_t j = 0; j < p->n_outputs; j++)                                              \
        *o++ = SUB(cur[p->outputs[j]], FROM(outputs[j]));

#define ID(x) (x)
void zk_air_eval_base(const zk_air *air, const fe *cur, const fe *next, const fe *inputs,
                      const fe *outputs, fe *out) {
    AIR_EVAL_BODY(fe, f_add, f_sub, f_mul, f_mul, ID, 0, 1)
}

void zk_air_eval_ext(const zk_air *air, const fe3 *cur, const fe3 *next, const fe *inputs,
                     const fe *outputs, fe3 *out) {
    AIR_EVAL_BODY(fe3, e_add, e_sub, e_mul, e_mul_base, e_from, E_ZERO, E_ONE)
}

fe3 zk_air_composition_at(const zk_air *air, const fe3 *cur, const fe3 *next,
                          const fe *inputs, const fe *outputs, const fe3 *alphas, fe3 z,
                          unsigned log_t) {
    fe3 c[ZK_AIR_MAX_CONSTRAINTS];
    zk_air_eval_ext(air, cur, next, inputs, outputs, c);
    fe3 trans = E_ZERO, first = E_ZERO, last = E_ZERO;
    uint32_t k = 0;
    for (; k < air->n_transition; k++) trans = e_add(trans, e_mul(alphas[k], c[k]));
    for (; k < air->n_transition + air->n_first; k++) first = e_add(first, e_mul(alphas[k], c[k]));
    for (; k < air->n_constraints; k++) last = e_add(last, e_mul(alphas[k], c[k]));

    fe g_last = f_pow(f_root_of_unity(log_t), ((uint64_t)1 << log_t) - 1); /* w_T^(T-1) */
    fe3 z_minus_last = e_sub(z, e_from(g_last));
    fe3 z_minus_one = e_sub(z, E_ONE);
    fe3 zt_minus_one = e_sub(e_pow(z, (uint64_t)1 << log_t), E_ONE);
    /* trans * (z - g)/(z^T - 1) + first/(z - 1) + last/(z - g) */
    fe3 r = e_mul(e_mul(trans, z_minus_last), e_inv(zt_minus_one));
    r = e_add(r, e_mul(first, e_inv(z_minus_one)));
    r = e_add(r, e_mul(last, e_inv(z_minus_last)));
    return r;
}

/* ---- the prover's batched path ---- */

/* 2^128 mod p: a carry out of a 128-bit lazy sum is worth this much. */
#define AIR_2POW128 0xFFFFFFFE00000001ULL

typedef struct {
    unsigned __int128 s[ZK_EXT_DEGREE][ZK_AIR_BATCH]; /* c0, c1 and c2 parts */
    uint64_t carry[ZK_EXT_DEGREE][ZK_AIR_BATCH];
} air_acc;

/* acc[r] += alpha * v[r] for every row */
static inline void acc_add(air_acc *acc, fe3 alpha, const fe *v, size_t n) {
    for (size_t r = 0; r < n; r++) {
        unsigned __int128 p0 = (unsigned __int128)alpha.c0 * v[r];
        unsigned __int128 p1 = (unsigned __int128)alpha.c1 * v[r];
        unsigned __int128 p2 = (unsigned __int128)alpha.c2 * v[r];
        acc->s[0][r] += p0;
        acc->carry[0][r] += acc->s[0][r] < p0;
        acc->s[1][r] += p1;
        acc->carry[1][r] += acc->s[1][r] < p1;
        acc->s[2][r] += p2;
        acc->carry[2][r] += acc->s[2][r] < p2;
    }
}

static inline fe acc_reduce(unsigned __int128 s, uint64_t carry) {
    fe r = f_reduce128((uint64_t)s, (uint64_t)(s >> 64));
    return f_add(r, f_mul(carry, AIR_2POW128));
}

static void acc_finish(const air_acc *acc, size_t n, fe3 *out) {
    for (size_t r = 0; r < n; r++) {
        out[r].c0 = acc_reduce(acc->s[0][r], acc->carry[0][r]);
        out[r].c1 = acc_reduce(acc->s[1][r], acc->carry[1][r]);
        out[r].c2 = acc_reduce(acc->s[2][r], acc->carry[2][r]);
    }
}

void zk_air_combine_batch(const zk_air *air, const fe *cur, const fe *next, size_t n,
                          const fe *inputs, const fe *outputs, const fe3 *alphas, fe3 *trans,
                          fe3 *first, fe3 *last) {
    const zk_program *p = &air->prog;
    uint32_t R = air->n_registers, I = air->n_instructions;
    const fe *sel = cur + (size_t)R * n, *sel_next = next + (size_t)R * n;
#define COL(base, c) ((base) + (size_t)(c) * n)
    air_acc acc;
    fe v[ZK_AIR_BATCH], t[ZK_AIR_BATCH];
    fe ah[ZK_MAX_INSTRUCTIONS][ZK_AIR_BATCH];
    const fe3 *alpha = alphas;
    memset(&acc, 0, sizeof acc);

    /* 1. register updates */
    for (uint32_t reg = 0; reg < R; reg++) {
        const fe *rc = COL(cur, reg), *rn = COL(next, reg);
        for (size_t r = 0; r < n; r++) v[r] = f_sub(rn[r], rc[r]);
        if (air->iw_start[reg] < air->iw_start[reg + 1]) {
            for (size_t r = 0; r < n; r++) t[r] = 1;
            for (uint32_t i = air->iw_start[reg]; i < air->iw_start[reg + 1]; i++) {
                const fe *s = COL(sel, air->inv_writers[i]);
                for (size_t r = 0; r < n; r++) t[r] = f_sub(t[r], s[r]);
            }
            for (size_t r = 0; r < n; r++) v[r] = f_mul(v[r], t[r]);
        }
        for (uint32_t i = air->wr_start[reg]; i < air->wr_start[reg + 1]; i++) {
            uint32_t k = air->writers[i];
            const zk_instr *ins = &p->code[k];
            const fe *s = COL(sel, k), *a = COL(cur, ins->ra), *b = COL(cur, ins->rb);
            fe imm = ins->imm;
            /* t = f_k - r */
            switch (ins->op) {
            case ZK_OP_SET: for (size_t r = 0; r < n; r++) t[r] = f_sub(imm, rc[r]); break;
            case ZK_OP_MOV: for (size_t r = 0; r < n; r++) t[r] = f_sub(a[r], rc[r]); break;
            case ZK_OP_ADD:
                for (size_t r = 0; r < n; r++) t[r] = f_sub(f_add(a[r], b[r]), rc[r]);
                break;
            case ZK_OP_SUB:
                for (size_t r = 0; r < n; r++) t[r] = f_sub(f_sub(a[r], b[r]), rc[r]);
                break;
            case ZK_OP_MUL:
                for (size_t r = 0; r < n; r++) t[r] = f_sub(f_mul(a[r], b[r]), rc[r]);
                break;
            case ZK_OP_ADDI:
                for (size_t r = 0; r < n; r++) t[r] = f_sub(f_add(a[r], imm), rc[r]);
                break;
            case ZK_OP_SUBI:
                for (size_t r = 0; r < n; r++) t[r] = f_sub(f_sub(a[r], imm), rc[r]);
                break;
            default: /* muli */
                for (size_t r = 0; r < n; r++) t[r] = f_sub(f_mul(a[r], imm), rc[r]);
                break;
            }
            for (size_t r = 0; r < n; r++) v[r] = f_sub(v[r], f_mul(s[r], t[r]));
        }
        acc_add(&acc, *alpha++, v, n);
    }

    /* a*h per branch */
    for (uint32_t j = 0; j < air->n_branches; j++) {
        uint32_t k = air->branches[j];
        const fe *a = COL(cur, p->code[k].ra), *h = COL(cur, air->helper_col[k]);
        for (size_t r = 0; r < n; r++) ah[k][r] = f_mul(a[r], h[r]);
    }

    /* 2. selector succession */
    for (uint32_t tgt = 0; tgt < I; tgt++) {
        const fe *sn = COL(sel_next, tgt);
        for (size_t r = 0; r < n; r++) v[r] = sn[r];
        for (uint32_t i = air->pr_start[tgt]; i < air->pr_start[tgt + 1]; i++) {
            zk_air_pred e = air->preds[i];
            const fe *s = COL(sel, e.from);
            if (e.kind == ZK_GUARD_ONE) {
                for (size_t r = 0; r < n; r++) v[r] = f_sub(v[r], s[r]);
            } else if (e.kind == ZK_GUARD_NONZERO) {
                for (size_t r = 0; r < n; r++) v[r] = f_sub(v[r], f_mul(s[r], ah[e.from][r]));
            } else {
                for (size_t r = 0; r < n; r++)
                    v[r] = f_sub(v[r], f_mul(s[r], f_sub(1, ah[e.from][r])));
            }
        }
        acc_add(&acc, *alpha++, v, n);
    }

    /* 3. branch tests */
    for (uint32_t j = 0; j < air->n_branches; j++) {
        uint32_t k = air->branches[j];
        const fe *a = COL(cur, p->code[k].ra);
        for (size_t r = 0; r < n; r++) v[r] = f_mul(a[r], f_sub(1, ah[k][r]));
        acc_add(&acc, *alpha++, v, n);
    }

    /* 4. inv / assert */
    for (uint32_t j = 0; j < air->n_checked; j++) {
        uint32_t k = air->checked[j];
        const zk_instr *ins = &p->code[k];
        const fe *s = COL(sel, k), *a = COL(cur, ins->ra);
        if (ins->op == ZK_OP_INV) {
            const fe *d = COL(next, ins->rd);
            for (size_t r = 0; r < n; r++) v[r] = f_mul(s[r], f_sub(f_mul(a[r], d[r]), 1));
        } else if (ins->op == ZK_OP_ASSERT_ZERO) {
            for (size_t r = 0; r < n; r++) v[r] = f_mul(s[r], a[r]);
        } else {
            const fe *b = COL(cur, ins->rb);
            for (size_t r = 0; r < n; r++) v[r] = f_mul(s[r], f_sub(a[r], b[r]));
        }
        acc_add(&acc, *alpha++, v, n);
    }
    acc_finish(&acc, n, trans);

    /* 5., 6. row 0: linear in the row, so sum_k alpha_k (col_k - v_k) =
     * sum_k alpha_k col_k - sum_k alpha_k v_k, the second sum a constant */
    memset(&acc, 0, sizeof acc);
    fe3 constant = E_ZERO;
    for (uint32_t k = 0; k < I; k++, alpha++) {
        acc_add(&acc, *alpha, COL(sel, k), n);
        if (k == 0) constant = e_add(constant, *alpha);
    }
    for (uint32_t reg = 0; reg < R; reg++, alpha++) {
        acc_add(&acc, *alpha, COL(cur, reg), n);
        if (reg < p->n_inputs) constant = e_add(constant, e_mul_base(*alpha, inputs[reg]));
    }
    acc_finish(&acc, n, first);
    for (size_t r = 0; r < n; r++) first[r] = e_sub(first[r], constant);

    /* 7., 8. last row, likewise */
    memset(&acc, 0, sizeof acc);
    constant = *alpha; /* the halt sum's "- 1" */
    for (uint32_t k = 0; k < I; k++)
        if (p->code[k].op == ZK_OP_HALT) acc_add(&acc, *alpha, COL(sel, k), n);
    alpha++;
    for (uint32_t j = 0; j < p->n_outputs; j++, alpha++) {
        acc_add(&acc, *alpha, COL(cur, p->outputs[j]), n);
        constant = e_add(constant, e_mul_base(*alpha, outputs[j]));
    }
    acc_finish(&acc, n, last);
    for (size_t r = 0; r < n; r++) last[r] = e_sub(last[r], constant);
#undef COL
}
