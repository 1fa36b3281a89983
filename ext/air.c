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

static const fe2 E_ZERO = {0, 0}, E_ONE = {1, 0};
void zk_air_eval_ext(const zk_air *air, const fe2 *cur, const fe2 *next, const fe *inputs,
                     const fe *outputs, fe2 *out) {
    AIR_EVAL_BODY(fe2, e_add, e_sub, e_mul, e_mul_base, e_from, E_ZERO, E_ONE)
}

fe2 zk_air_composition_at(const zk_air *air, const fe2 *cur, const fe2 *next,
                          const fe *inputs, const fe *outputs, const fe2 *alphas, fe2 z,
                          unsigned log_t) {
    fe2 c[ZK_AIR_MAX_CONSTRAINTS];
    zk_air_eval_ext(air, cur, next, inputs, outputs, c);
    fe2 trans = E_ZERO, first = E_ZERO, last = E_ZERO;
    uint32_t k = 0;
    for (; k < air->n_transition; k++) trans = e_add(trans, e_mul(alphas[k], c[k]));
    for (; k < air->n_transition + air->n_first; k++) first = e_add(first, e_mul(alphas[k], c[k]));
    for (; k < air->n_constraints; k++) last = e_add(last, e_mul(alphas[k], c[k]));

    fe g_last = f_pow(f_root_of_unity(log_t), ((uint64_t)1 << log_t) - 1); /* w_T^(T-1) */
    fe2 z_minus_last = e_sub(z, e_from(g_last));
    fe2 z_minus_one = e_sub(z, E_ONE);
    fe2 zt_minus_one = e_sub(e_pow(z, (uint64_t)1 << log_t), E_ONE);
    /* trans * (z - g)/(z^T - 1) + first/(z - 1) + last/(z - g) */
    fe2 r = e_mul(e_mul(trans, z_minus_last), e_inv(zt_minus_one));
    r = e_add(r, e_mul(first, e_inv(z_minus_one)));
    r = e_add(r, e_mul(last, e_inv(z_minus_last)));
    return r;
}
