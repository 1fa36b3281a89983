/* AIR 2, the machine AIR: docs/protocol.md sections 13 and 14 (see air2.h). */
#include "air2.h"

#include <stdlib.h>
#include <string.h>

#include "ntt.h"
#include "parallel.h"

/* Main columns, protocol.md 13 "Main columns", in column order. The decoded fields of
 * the instruction are columns C_FIELDS .. C_FIELDS + 19 (C_LIN .. C_EB). */
enum {
    C_CLK, C_PC,
    C_FIELDS, C_LIN = C_FIELDS, C_MUL, C_INV, C_ASSERT, C_JMP, C_JZ, C_JNZ, C_HALT, C_LOAD,
    C_STORE, C_READ, C_WRITE, C_SGN, C_IMM, C_TARGET, C_RD, C_RA, C_RB, C_EA, C_EB,
    C_H,
    C_VA, C_PTSA, C_QA, C_RA_DIGIT,
    C_VB, C_PTSB, C_QB, C_RB_DIGIT,
    C_VM, C_PVM, C_PTSM, C_QM, C_RM_DIGIT,
    C_VC, C_PVC, C_PTSC, C_QC, C_RC_DIGIT,
    C_PTR_IN, C_PTR_OUT, C_M_ROM, C_M_CLK, C_M_BYTE, C_REG_FTS, C_REG_FV,
    C_RAM_A, C_RAM_FTS, C_RAM_FV, C_RAM_U, C_B0,
    C_END = C_B0 + 4
};
_Static_assert(C_H == 22 && C_PTR_IN == 41 && C_B0 == 52 && C_END == ZK_AIR2_WIDTH,
               "the column layout of protocol.md 13");

/* The fixed base columns (air2.h), and the running sum among the auxiliary columns. */
enum { FX_ROM_VALID, FX_REG_VALID, FX_OUT_SEL, FX_OUT_VAL, FX_BYTE };
enum { AUX_S = 9 };

enum { TAG_REG = 1, TAG_RAM = 2, TAG_FETCH = 3, TAG_RANGE = 4, TAG_BYTE = 5, TAG_IN = 6,
       TAG_OUT = 7 };

#define N_FIELDS 20

/* ---- decoding: the ROM row of an instruction (protocol.md 13) ---- */

/* The twelve one-hot flags, in field order. */
enum { F_LIN, F_MUL, F_INV, F_ASSERT, F_JMP, F_JZ, F_JNZ, F_HALT, F_LOAD, F_STORE, F_READ,
       F_WRITE, F_SGN, F_IMM, F_TARGET, F_RD, F_RA, F_RB, F_EA, F_EB };

static const uint8_t op_class[22] = {
    [ZK_OP_SET] = F_LIN, [ZK_OP_MOV] = F_LIN, [ZK_OP_ADD] = F_LIN, [ZK_OP_SUB] = F_LIN,
    [ZK_OP_ADDI] = F_LIN, [ZK_OP_SUBI] = F_LIN, [ZK_OP_MUL] = F_MUL, [ZK_OP_MULI] = F_MUL,
    [ZK_OP_INV] = F_INV, [ZK_OP_ASSERT_ZERO] = F_ASSERT, [ZK_OP_ASSERT_EQ] = F_ASSERT,
    [ZK_OP_JMP] = F_JMP, [ZK_OP_JZ] = F_JZ, [ZK_OP_JNZ] = F_JNZ, [ZK_OP_HALT] = F_HALT,
    [ZK_OP_LOAD] = F_LOAD, [ZK_OP_LOAD_ABS] = F_LOAD, [ZK_OP_STORE] = F_STORE,
    [ZK_OP_STORE_ABS] = F_STORE, [ZK_OP_READ] = F_READ, [ZK_OP_WRITE] = F_WRITE,
};

static int reads_a(uint8_t op) {
    return op != ZK_OP_SET && op != ZK_OP_JMP && op != ZK_OP_HALT && op != ZK_OP_LOAD_ABS &&
           op != ZK_OP_STORE_ABS && op != ZK_OP_READ;
}

static int reads_b(uint8_t op) {
    return op == ZK_OP_ADD || op == ZK_OP_SUB || op == ZK_OP_MUL || op == ZK_OP_ASSERT_EQ ||
           op == ZK_OP_STORE || op == ZK_OP_STORE_ABS;
}

/* The 20 decoded fields of an instruction of a decoded program (unused fields are 0
 * there already, so rd, ra, rb and target are the instruction's own). */
static void decode_fields(const zk_instr *ins, fe *f) {
    memset(f, 0, N_FIELDS * sizeof(fe));
    f[op_class[ins->op]] = 1;
    f[F_SGN] = ins->op == ZK_OP_ADD ? 1 : ins->op == ZK_OP_SUB ? ZK_P - 1 : 0;
    f[F_IMM] = ins->op == ZK_OP_SUBI ? f_neg(ins->imm) : ins->imm;
    f[F_TARGET] = ins->target;
    f[F_RD] = ins->rd;
    f[F_RA] = ins->ra;
    f[F_RB] = ins->rb;
    f[F_EA] = reads_a(ins->op);
    f[F_EB] = reads_b(ins->op);
}

/* rom = sum_{i=1}^{20} beta^{i+1} field_i: the fetch tuple without tag and pc. */
static fe3 rom_value(const zk_air2_challenges *ch, const zk_instr *ins) {
    fe f[N_FIELDS];
    decode_fields(ins, f);
    fe3 acc = E_ZERO;
    for (unsigned i = 0; i < N_FIELDS; i++)
        if (f[i]) acc = e_add(acc, e_mul_base(ch->beta_pow[i + 2], f[i]));
    return acc;
}

/* ---- batch inversion ---- */


/* v[i] = 1/v[i] in place (Montgomery's trick, one inversion in K); scratch holds n
 * elements. -1, with v unchanged, if some v[i] is 0. */
static int e_batch_inverse(fe3 *v, fe3 *scratch, size_t n) {
    fe3 acc = E_ONE;
    for (size_t i = 0; i < n; i++) {
        if (e_is_zero(v[i])) return -1;
        scratch[i] = acc;
        acc = e_mul(acc, v[i]);
    }
    fe3 inv = e_inv(acc);
    for (size_t i = n; i-- > 0;) {
        fe3 x = v[i];
        v[i] = e_mul(scratch[i], inv);
        inv = e_mul(inv, x);
    }
    return 0;
}

/* ---- the row functions, for base and extension values ---- */

#define SUFFIX base
#define VAL fe
#define V_IS_BASE
#define V_ADD f_add
#define V_SUB f_sub
#define V_MUL f_mul
#define V_CONST(k) ((fe)(k))
#define V_EXT(x) e_from(x)
#define E_MUL_V(e, x) e_mul_base(e, x)
#include "air2_rows.h"
#undef SUFFIX
#undef VAL
#undef V_IS_BASE
#undef V_ADD
#undef V_SUB
#undef V_MUL
#undef V_CONST
#undef V_EXT
#undef E_MUL_V

static inline fe3 e_ident(fe3 x) { return x; }
#define SUFFIX ext
#define VAL fe3
#define V_ADD e_add
#define V_SUB e_sub
#define V_MUL e_mul
#define V_CONST(k) e_from((fe)(k))
#define V_EXT(x) e_ident(x)
#define E_MUL_V(e, x) e_mul(e, x)
#include "air2_rows.h"
#undef SUFFIX
#undef VAL
#undef V_ADD
#undef V_SUB
#undef V_MUL
#undef V_CONST
#undef V_EXT
#undef E_MUL_V

/* ---- trace length ---- */

unsigned zk_air2_log_t(const zk_machine_program *p, uint64_t cycles) {
    uint64_t need = cycles + 1;
    if (need < p->n_instructions) need = p->n_instructions;
    if (need < p->n_registers) need = p->n_registers;
    unsigned log_t = ZK_AIR2_MIN_LOG_T;
    while (log_t < 63 && (1ULL << log_t) < need) log_t++;
    return log_t;
}

/* ---- the main trace ---- */

typedef struct {
    fe *const *cols;
    const zk_machine_program *p;
    uint64_t n_read, n_written; /* stream values read / written before the current row */
} trace_ctx;

/* d = ts - pts - 1 = 4 q + r of an enabled port; the q lookup is counted in m_clk. */
static void port_gap(fe *const *cols, size_t row, uint64_t ts, uint64_t pts, unsigned q_col) {
    uint64_t d = ts - pts - 1;
    cols[q_col][row] = d >> 2;
    cols[q_col + 1][row] = d & 3;
    cols[C_M_CLK][d >> 2]++;
}

/* One executed row (the machine's observer). */
static int trace_row(void *arg, uint64_t clk, const zk_machine_cycle *c) {
    trace_ctx *ctx = arg;
    fe *const *cols = ctx->cols;
    const zk_instr *ins = &ctx->p->code[c->pc];
    fe f[N_FIELDS];
    decode_fields(ins, f);
    size_t i = (size_t)clk;
    cols[C_CLK][i] = clk;
    cols[C_PC][i] = c->pc;
    for (unsigned j = 0; j < N_FIELDS; j++) cols[C_FIELDS + j][i] = f[j];
    cols[C_M_ROM][c->pc]++;
    uint64_t ts = 4 * clk + 1;
    if (c->eA) {
        cols[C_VA][i] = c->vA;
        cols[C_PTSA][i] = c->ptsA;
        port_gap(cols, i, ts, c->ptsA, C_QA);
    }
    if (c->eB) {
        cols[C_VB][i] = c->vB;
        cols[C_PTSB][i] = c->ptsB;
        port_gap(cols, i, ts + 1, c->ptsB, C_QB);
    }
    if (c->eM) {
        cols[C_VM][i] = c->vM;
        cols[C_PVM][i] = c->pvM;
        cols[C_PTSM][i] = c->ptsM;
        port_gap(cols, i, ts + 2, c->ptsM, C_QM);
    }
    if (c->eC) {
        cols[C_VC][i] = c->vC;
        cols[C_PVC][i] = c->pvC;
        cols[C_PTSC][i] = c->ptsC;
        port_gap(cols, i, ts + 3, c->ptsC, C_QC);
    }
    cols[C_PTR_IN][i] = ctx->n_read;
    cols[C_PTR_OUT][i] = ctx->n_written;
    ctx->n_read += ins->op == ZK_OP_READ;
    ctx->n_written += ins->op == ZK_OP_WRITE;
    return ZK_VM_OK;
}

/* Rows cycles .. T-1 repeat the halt row (no access), with their own clk. */
static void pad_halt_rows(fe *const *cols, uint64_t cycles, size_t T) {
    size_t last = (size_t)cycles - 1;
    for (size_t i = last + 1; i < T; i++) {
        cols[C_CLK][i] = i;
        for (unsigned c = C_PC; c < C_FIELDS + N_FIELDS; c++) cols[c][i] = cols[c][last];
        cols[C_PTR_IN][i] = cols[C_PTR_IN][last];
        cols[C_PTR_OUT][i] = cols[C_PTR_OUT][last];
    }
    cols[C_M_ROM][cols[C_PC][last]] += T - 1 - last;
}

static int cmp_cell(const void *a, const void *b) {
    uint64_t x = ((const zk_ram_cell *)a)->key, y = ((const zk_ram_cell *)b)->key;
    return x < y ? -1 : x > y;
}

/* The RAM table (addresses ascending, their final timestamps and values) and the bytes
 * of the gaps between consecutive addresses (protocol.md 13, columns 48-55). */
static int ram_table(fe *const *cols, const zk_ram *ram) {
    size_t U = ram->count;
    zk_ram_cell *cells = malloc((U ? U : 1) * sizeof *cells);
    if (!cells) return ZK_MACHINE_NO_MEMORY;
    size_t n = 0;
    for (size_t s = 0; s < ram->cap; s++)
        if (ram->cells[s].key) cells[n++] = ram->cells[s];
    qsort(cells, U, sizeof *cells, cmp_cell);
    for (size_t j = 0; j <= U; j++) {
        uint64_t gap;
        if (j < U) {
            cols[C_RAM_A][j] = cells[j].key - 1;
            cols[C_RAM_FTS][j] = cells[j].ts;
            cols[C_RAM_FV][j] = cells[j].value;
            cols[C_RAM_U][j] = 1;
            gap = j == 0 ? cells[0].key - 1 : cells[j].key - cells[j - 1].key - 1;
        } else {
            gap = U ? 0xFFFFFFFFULL - (cells[U - 1].key - 1) : 0;
        }
        for (unsigned b = 0; b < 4; b++) cols[C_B0 + b][j] = (gap >> (8 * b)) & 0xFF;
    }
    free(cells);
    return ZK_VM_OK;
}

/* Everything filled after the run: h, the register and RAM tables, the byte counts. */
static int finish_trace(fe *const *cols, size_t T, const zk_machine_program *p,
                        const zk_machine_state *st) {
    zk_batch_inverse_or_zero(cols[C_VA], cols[C_H], T);
    for (uint32_t r = 0; r < p->n_registers; r++) {
        cols[C_REG_FTS][r] = st->reg_ts[r];
        cols[C_REG_FV][r] = st->regs[r];
    }
    int rc = ram_table(cols, &st->ram);
    if (rc != ZK_VM_OK) return rc;
    for (unsigned b = 0; b < 4; b++)
        for (size_t i = 0; i < T; i++) cols[C_M_BYTE][cols[C_B0 + b][i]]++;
    return ZK_VM_OK;
}

int zk_air2_trace(const zk_machine_program *p, const fe *inputs, size_t n_inputs,
                  uint64_t max_cycles, unsigned log_t, fe *const *cols) {
    if (log_t >= 40 || log_t < zk_air2_log_t(p, 0)) return ZK_VM_TRACE_TOO_SHORT;
    const size_t T = (size_t)1 << log_t;
    for (unsigned c = 0; c < ZK_AIR2_WIDTH; c++) memset(cols[c], 0, T * sizeof(fe));
    /* A run of `cycles` needs cycles + 1 <= T rows. */
    uint64_t limit = max_cycles < T - 1 ? max_cycles : T - 1;
    fe *outputs = malloc(ZK_MACHINE_MAX_IO * sizeof(fe));
    zk_machine_state *st = malloc(sizeof *st);
    int rc = ZK_MACHINE_NO_MEMORY;
    if (outputs && st) {
        trace_ctx ctx = {cols, p, 0, 0};
        size_t n_out;
        uint64_t cycles;
        uint32_t fail_pc;
        rc = zk_machine_exec(p, inputs, n_inputs, limit, outputs, &n_out, &cycles, &fail_pc,
                             st, trace_row, &ctx);
        if (rc == ZK_VM_CYCLE_LIMIT && limit < max_cycles) rc = ZK_VM_TRACE_TOO_SHORT;
        if (rc == ZK_VM_OK) {
            pad_halt_rows(cols, cycles, T);
            rc = finish_trace(cols, T, p, st);
        }
        zk_machine_state_free(st);
    }
    free(st);
    free(outputs);
    return rc;
}

/* ---- challenges and V ---- */

/* The statement's inputs: .input registers then the stream; its outputs likewise. */
static fe register_init(const zk_air2_statement *st, uint32_t r) {
    return r < st->prog->n_inputs ? st->inputs[r] : 0;
}

void zk_air2_challenges_init(zk_air2_challenges *ch, const zk_air2_statement *st, fe3 alpha,
                             fe3 beta) {
    ch->alpha = alpha;
    ch->beta = beta;
    ch->beta_pow[0] = E_ONE;
    for (unsigned i = 1; i < ZK_AIR2_TUPLE; i++) ch->beta_pow[i] = e_mul(ch->beta_pow[i - 1], beta);
    const zk_machine_program *p = st->prog;
    size_t n_sin = st->n_inputs - p->n_inputs, n_sout = st->n_outputs - p->n_outputs;
    size_t n = p->n_registers + n_sin + n_sout;
    fe3 *d = malloc(2 * (n ? n : 1) * sizeof(fe3));
    ch->v = E_ZERO;
    ch->v_defined = 0;
    if (!d) return; /* only out of memory; the caller sees v_defined = 0 */
    size_t k = 0;
    for (uint32_t r = 0; r < p->n_registers; r++) {
        fe t[3] = {r, 0, register_init(st, r)};
        d[k++] = e_sub(alpha, enc_base(ch, TAG_REG, t, 3));
    }
    for (size_t j = 0; j < n_sin; j++) {
        fe t[2] = {j, st->inputs[p->n_inputs + j]};
        d[k++] = e_sub(alpha, enc_base(ch, TAG_IN, t, 2));
    }
    for (size_t j = 0; j < n_sout; j++) {
        fe t[2] = {j, st->outputs[p->n_outputs + j]};
        d[k++] = e_sub(alpha, enc_base(ch, TAG_OUT, t, 2));
    }
    if (e_batch_inverse(d, d + n, n) == 0) {
        for (size_t i = 0; i < n; i++)
            ch->v = i < n - n_sout ? e_add(ch->v, d[i]) : e_sub(ch->v, d[i]);
        ch->v_defined = 1;
    }
    free(d);
}

/* ---- fixed columns ---- */

/* out_val of register r: the claimed value of an .output entry naming it (the statement
 * checks that entries naming one register agree). */
static int output_of(const zk_air2_statement *st, uint32_t r, fe *value) {
    for (uint32_t j = 0; j < st->prog->n_outputs; j++)
        if (st->prog->outputs[j] == r) {
            *value = st->outputs[j];
            return 1;
        }
    return 0;
}

void zk_air2_fixed_columns(const zk_air2_statement *st, const zk_air2_challenges *ch,
                           fe3 *rom, fe *const *fixed) {
    const zk_machine_program *p = st->prog;
    const size_t T = (size_t)1 << st->log_t;
    for (size_t k = 0; k < T; k++) {
        fe value = 0;
        int is_out = k < p->n_registers && output_of(st, (uint32_t)k, &value);
        rom[k] = k < p->n_instructions ? rom_value(ch, &p->code[k]) : E_ZERO;
        fixed[FX_ROM_VALID][k] = k < p->n_instructions;
        fixed[FX_REG_VALID][k] = k < p->n_registers;
        fixed[FX_OUT_SEL][k] = is_out;
        fixed[FX_OUT_VAL][k] = value;
        fixed[FX_BYTE][k] = k & 0xFF;
    }
}

/* byte(z) = ((y^256 - 1)/256) sum_{j<256} j w_256^j / (y - w_256^j), y = z^(T/256). */
static fe3 byte_at(fe3 z, unsigned log_t) {
    fe3 y = z;
    for (unsigned i = 8; i < log_t; i++) y = e_sqr(y);
    fe3 d[256], scratch[256];
    fe w = f_root_of_unity(8), wj = 1, num[256];
    for (unsigned j = 0; j < 256; j++, wj = f_mul(wj, w)) {
        d[j] = e_sub(y, e_from(wj));
        num[j] = f_mul(j, wj);
    }
    if (e_batch_inverse(d, scratch, 256) != 0) return E_ZERO; /* z in H: never for z outside F */
    fe3 sum = E_ZERO;
    for (unsigned j = 1; j < 256; j++) sum = e_add(sum, e_mul_base(d[j], num[j]));
    fe3 y256 = e_pow(y, 256);
    return e_mul(e_mul_base(e_sub(y256, E_ONE), f_inv(256)), sum);
}

void zk_air2_fixed_at(const zk_air2_statement *st, const zk_air2_challenges *ch, fe3 z,
                      fe3 *rom, fe3 *fixed) {
    const zk_machine_program *p = st->prog;
    const unsigned log_t = st->log_t;
    size_t n = p->n_instructions > p->n_registers ? p->n_instructions : p->n_registers;
    *rom = E_ZERO;
    for (unsigned c = 0; c < ZK_AIR2_FIXED; c++) fixed[c] = E_ZERO;
    fixed[FX_BYTE] = byte_at(z, log_t);
    fe3 *d = malloc(2 * n * sizeof(fe3));
    if (!d) return;
    /* L_k(z) = w^k (z^T - 1) / (T (z - w^k)) */
    fe w = f_root_of_unity(log_t), wk = 1;
    for (size_t k = 0; k < n; k++, wk = f_mul(wk, w)) d[k] = e_sub(z, e_from(wk));
    if (e_batch_inverse(d, d + n, n) == 0) {
        fe3 zt = z;
        for (unsigned i = 0; i < log_t; i++) zt = e_sqr(zt);
        fe3 factor = e_mul_base(e_sub(zt, E_ONE), f_inv((fe)1 << log_t));
        wk = 1;
        for (size_t k = 0; k < n; k++, wk = f_mul(wk, w)) {
            fe3 l = e_mul(e_mul_base(d[k], wk), factor);
            fe value;
            if (k < p->n_instructions) {
                *rom = e_add(*rom, e_mul(l, rom_value(ch, &p->code[k])));
                fixed[FX_ROM_VALID] = e_add(fixed[FX_ROM_VALID], l);
            }
            if (k < p->n_registers) {
                fixed[FX_REG_VALID] = e_add(fixed[FX_REG_VALID], l);
                if (output_of(st, (uint32_t)k, &value)) {
                    fixed[FX_OUT_SEL] = e_add(fixed[FX_OUT_SEL], l);
                    fixed[FX_OUT_VAL] = e_add(fixed[FX_OUT_VAL], e_mul_base(l, value));
                }
            }
        }
    }
    free(d);
}

/* ---- auxiliary columns ----
 *
 * A_g = sum over the group's fractions of m / (alpha - v). Two facts make this cheap:
 *   - a fraction with m = 0 adds 0 (disabled ports, rows without RAM cells or registers,
 *     m_rom past the program, rows whose clk or byte value is never looked up): on a
 *     typical row only the fetch, the enabled ports' tokens and ranges and the four gap
 *     bytes need an inverse;
 *   - most denominators range over small tables: the fetch tuple of row i is instruction
 *     pc's (fraction 0), and fraction 1 of row k is instruction k's fetch again; the range
 *     values are in [0, T) (fractions 10-14), the bytes in [0, 256) (20-24). Those tables
 *     are inverted once and looked up.
 * Every table lookup is guarded by a check that the row's tuple really is the table's
 * (decoded fields equal, value in range), so any main trace, honest or forged, gives the
 * same columns as the plain sum; other tuples are batch-inverted per chunk.
 * The one difference from summing all 25 fractions: a zero denominator of a fraction that
 * is not needed (m = 0, or a table entry no row uses) is not looked for; the prover
 * reports -1 only for one it needs (either event has probability about 25T/|K|). */

#define AUX_CHUNK 256 /* rows per batch inversion (T is a multiple) */

typedef struct {
    const zk_air2_statement *st;
    const zk_air2_challenges *ch;
    const fe *const *main;
    const fe3 *rom;
    const fe *const *fixed;
    fe3 *const *aux;
    /* tables, built before the rows: */
    size_t n_fetch;          /* instructions: P */
    const fe *fields;        /* N_FIELDS decoded fields of instruction k at k * N_FIELDS */
    const fe3 *rom_k;        /* rom_value of instruction k */
    const fe3 *inv_fetch;    /* 1/(alpha - FETCH - beta k - rom_k[k]) */
    const fe3 *inv_range;    /* 1/(alpha - RANGE - beta x), x < T */
    const fe3 *inv_byte;     /* 1/(alpha - BYTE - beta x), x < 256 */
    int failed; /* set (to 1, by any worker) when some alpha - v is 0 or memory ran out */
} aux_job;

/* The multiplicities of one row, canonical order (those of fractions_base). */
static void row_multiplicities(const fe *c, const fe *fx, fe *m) {
    const fe minus1 = ZK_P - 1;
    const fe eM = f_add(c[C_LOAD], c[C_STORE]);
    const fe eC = f_add(f_add(f_add(c[C_LIN], c[C_MUL]), f_add(c[C_INV], c[C_LOAD])), c[C_READ]);
    const fe port_e[4] = {c[C_EA], c[C_EB], eM, eC};
    m[0] = minus1;
    m[1] = c[C_M_ROM];
    for (unsigned x = 0; x < 4; x++) {
        m[2 + 2 * x] = f_neg(port_e[x]);
        m[3 + 2 * x] = port_e[x];
        m[10 + x] = f_neg(port_e[x]);
    }
    m[14] = c[C_M_CLK];
    m[15] = f_neg(c[C_READ]);
    m[16] = c[C_WRITE];
    m[17] = f_neg(fx[FX_REG_VALID]);
    m[18] = c[C_RAM_U];
    m[19] = f_neg(c[C_RAM_U]);
    for (unsigned i = 0; i < 4; i++) m[20 + i] = minus1;
    m[24] = c[C_M_BYTE];
}

/* v of fraction f of one row, exactly as fractions_base computes it. */
static fe3 fraction_v(const zk_air2_challenges *ch, const fe *c, fe3 rom, const fe *fx,
                      unsigned f) {
    const fe zero = 0;
    if (f == 0) {
        fe fetch[21];
        fetch[0] = c[C_PC];
        for (unsigned i = 0; i < 20; i++) fetch[i + 1] = c[C_FIELDS + i];
        return enc_base(ch, TAG_FETCH, fetch, 21);
    }
    if (f == 1) return e_add(e_add(e_from(TAG_FETCH), e_mul_base(ch->beta_pow[1], c[C_CLK])), rom);
    if (f < 10) {
        static const unsigned id_col[4] = {C_RA, C_RB, 0, C_RD};
        static const unsigned pts_col[4] = {C_PTSA, C_PTSB, C_PTSM, C_PTSC};
        static const unsigned pv_col[4] = {C_VA, C_VB, C_PVM, C_PVC};
        static const unsigned v_col[4] = {C_VA, C_VB, C_VM, C_VC};
        unsigned x = (f - 2) / 2, tag = x == 2 ? TAG_RAM : TAG_REG;
        fe id = x == 2 ? f_add(c[C_VA], c[C_IMM]) : c[id_col[x]];
        if (f % 2 == 0) {
            fe before[3] = {id, c[pts_col[x]], c[pv_col[x]]};
            return enc_base(ch, tag, before, 3);
        }
        fe after[3] = {id, f_add(f_mul(4, c[C_CLK]), x + 1), c[v_col[x]]};
        return enc_base(ch, tag, after, 3);
    }
    if (f < 15) {
        static const unsigned q_col[5] = {C_QA, C_QB, C_QM, C_QC, C_CLK};
        return enc_base(ch, TAG_RANGE, &c[q_col[f - 10]], 1);
    }
    if (f == 15) {
        fe in[2] = {c[C_PTR_IN], c[C_VC]};
        return enc_base(ch, TAG_IN, in, 2);
    }
    if (f == 16) {
        fe out[2] = {c[C_PTR_OUT], c[C_VA]};
        return enc_base(ch, TAG_OUT, out, 2);
    }
    if (f == 17) {
        fe t[3] = {c[C_CLK], c[C_REG_FTS], c[C_REG_FV]};
        return enc_base(ch, TAG_REG, t, 3);
    }
    if (f == 18) {
        fe t[3] = {c[C_RAM_A], zero, zero};
        return enc_base(ch, TAG_RAM, t, 3);
    }
    if (f == 19) {
        fe t[3] = {c[C_RAM_A], c[C_RAM_FTS], c[C_RAM_FV]};
        return enc_base(ch, TAG_RAM, t, 3);
    }
    if (f < 24) return enc_base(ch, TAG_BYTE, &c[C_B0 + f - 20], 1);
    return enc_base(ch, TAG_BYTE, &fx[FX_BYTE], 1);
}

/* 1/(alpha - v) of fraction f from a table when the row's tuple is a table entry, else
 * NULL. i is the row. */
static const fe3 *table_inverse(const aux_job *job, const fe *c, size_t i, unsigned f,
                                const fe *fx) {
    const size_t T = (size_t)1 << job->st->log_t;
    fe x;
    switch (f) {
    case 0:
        x = c[C_PC];
        if (x < job->n_fetch &&
            memcmp(&c[C_FIELDS], job->fields + x * N_FIELDS, N_FIELDS * sizeof(fe)) == 0)
            return &job->inv_fetch[x];
        return NULL;
    case 1:
        x = c[C_CLK];
        if (x < job->n_fetch && e_eq(job->rom[i], job->rom_k[x])) return &job->inv_fetch[x];
        return NULL;
    case 10: x = c[C_QA]; break;
    case 11: x = c[C_QB]; break;
    case 12: x = c[C_QM]; break;
    case 13: x = c[C_QC]; break;
    case 14: x = c[C_CLK]; break;
    case 20: case 21: case 22: case 23:
        x = c[C_B0 + f - 20];
        return x < 256 ? &job->inv_byte[x] : NULL;
    case 24:
        x = fx[FX_BYTE];
        return x < 256 ? &job->inv_byte[x] : NULL;
    default: return NULL;
    }
    return x < T ? &job->inv_range[x] : NULL;
}

/* m * inv, with the common m = -1 and m = 1 as a negation and a copy. */
static inline fe3 times_m(fe3 inv, fe m) {
    if (m == 1) return inv;
    if (m == ZK_P - 1) return e_neg(inv);
    return e_mul_base(inv, m);
}

/* Scratch of one worker for one chunk: the denominators still to invert and, for each,
 * the cell its m / (alpha - v) goes to. */
typedef struct {
    fe3 *den, *scratch;
    fe *m;
    uint32_t *cell; /* row_in_chunk * 9 + group */
} aux_scratch;

/* A_0..A_8 of rows [i0, i0 + AUX_CHUNK), and each row's total sum_g A_g into the S column
 * (turned into the running sum afterwards). */
static int aux_chunk(const aux_job *job, size_t i0, aux_scratch *sc) {
    const zk_air2_challenges *ch = job->ch;
    fe3 acc[AUX_CHUNK][9];
    size_t n = 0;
    for (size_t r = 0; r < AUX_CHUNK; r++) {
        size_t i = i0 + r;
        fe c[ZK_AIR2_WIDTH], fx[ZK_AIR2_FIXED], m[ZK_AIR2_FRACTIONS];
        for (unsigned j = 0; j < ZK_AIR2_WIDTH; j++) c[j] = job->main[j][i];
        for (unsigned j = 0; j < ZK_AIR2_FIXED; j++) fx[j] = job->fixed[j][i];
        row_multiplicities(c, fx, m);
        for (unsigned g = 0; g < 9; g++) acc[r][g] = E_ZERO;
        for (unsigned f = 0; f < ZK_AIR2_FRACTIONS; f++) {
            if (m[f] == 0) continue;
            const fe3 *inv = table_inverse(job, c, i, f, fx);
            if (inv) {
                acc[r][f / 3] = e_add(acc[r][f / 3], times_m(*inv, m[f]));
            } else {
                sc->den[n] = e_sub(ch->alpha, fraction_v(ch, c, job->rom[i], fx, f));
                sc->m[n] = m[f];
                sc->cell[n++] = (uint32_t)(r * 9 + f / 3);
            }
        }
    }
    if (e_batch_inverse(sc->den, sc->scratch, n) != 0) return -1;
    for (size_t k = 0; k < n; k++) {
        fe3 *a = &acc[0][0] + sc->cell[k];
        *a = e_add(*a, times_m(sc->den[k], sc->m[k]));
    }
    for (size_t r = 0; r < AUX_CHUNK; r++) {
        fe3 row = E_ZERO;
        for (unsigned g = 0; g < 9; g++) {
            job->aux[g][i0 + r] = acc[r][g];
            row = e_add(row, acc[r][g]);
        }
        job->aux[AUX_S][i0 + r] = row;
    }
    return 0;
}

/* Chunks [begin, end) of AUX_CHUNK rows each, with this worker's own scratch. */
static void aux_range(void *arg, size_t begin, size_t end) {
    aux_job *job = arg;
    const size_t n = AUX_CHUNK * ZK_AIR2_FRACTIONS;
    aux_scratch sc;
    sc.den = malloc(2 * n * sizeof(fe3));
    sc.scratch = sc.den ? sc.den + n : NULL;
    sc.m = malloc(n * sizeof(fe));
    sc.cell = malloc(n * sizeof(uint32_t));
    int failed = !sc.den || !sc.m || !sc.cell;
    for (size_t k = begin; k < end && !failed && !zk_cancelled(); k++)
        failed = aux_chunk(job, k * AUX_CHUNK, &sc) != 0;
    if (failed) __atomic_store_n(&job->failed, 1, __ATOMIC_RELAXED);
    free(sc.den);
    free(sc.m);
    free(sc.cell);
}

/* The range table: inv[x] = 1/(alpha - RANGE - beta x) for x < T, AUX_CHUNK entries per
 * batch inversion (fails like aux_chunk on a zero denominator). */
typedef struct {
    const zk_air2_challenges *ch;
    fe3 *inv;
    int failed;
} range_job;

static void range_table_range(void *arg, size_t begin, size_t end) {
    range_job *job = arg;
    fe3 scratch[AUX_CHUNK];
    for (size_t k = begin; k < end && !zk_cancelled(); k++) {
        fe3 *d = job->inv + k * AUX_CHUNK;
        for (size_t j = 0; j < AUX_CHUNK; j++) {
            fe x = (fe)(k * AUX_CHUNK + j);
            d[j] = e_sub(job->ch->alpha, enc_base(job->ch, TAG_RANGE, &x, 1));
        }
        if (e_batch_inverse(d, scratch, AUX_CHUNK) != 0)
            __atomic_store_n(&job->failed, 1, __ATOMIC_RELAXED);
    }
}

int zk_air2_aux_columns_threads(const zk_air2_statement *st, const zk_air2_challenges *ch,
                                const fe *const *main, const fe3 *rom, const fe *const *fixed,
                                fe3 *const *aux, unsigned threads) {
    const size_t T = (size_t)1 << st->log_t;
    const zk_machine_program *p = st->prog;
    const size_t P = p->n_instructions;
    aux_job job = {st, ch, main, rom, fixed, aux, P, NULL, NULL, NULL, NULL, NULL, 0};
    fe *fields = malloc((P ? P : 1) * N_FIELDS * sizeof(fe));
    fe3 *rom_k = malloc((P ? P : 1) * sizeof(fe3));
    fe3 *inv_fetch = malloc(2 * (P ? P : 1) * sizeof(fe3));
    fe3 *inv_range = malloc(T * sizeof(fe3));
    fe3 inv_byte[256], scratch[256];
    int failed = !fields || !rom_k || !inv_fetch || !inv_range;
    if (!failed) {
        for (size_t k = 0; k < P; k++) {
            decode_fields(&p->code[k], fields + k * N_FIELDS);
            rom_k[k] = rom_value(ch, &p->code[k]);
            inv_fetch[k] = e_sub(ch->alpha,
                                 e_add(e_add(e_from(TAG_FETCH), e_mul_base(ch->beta_pow[1], k)),
                                       rom_k[k]));
        }
        for (unsigned x = 0; x < 256; x++) {
            fe b = x;
            inv_byte[x] = e_sub(ch->alpha, enc_base(ch, TAG_BYTE, &b, 1));
        }
        failed = e_batch_inverse(inv_fetch, inv_fetch + P, P) != 0 ||
                 e_batch_inverse(inv_byte, scratch, 256) != 0;
    }
    if (!failed) {
        range_job rj = {ch, inv_range, 0};
        zk_parallel_for(threads, T / AUX_CHUNK, range_table_range, &rj);
        failed = rj.failed;
    }
    if (!failed && !zk_cancelled()) {
        job.fields = fields;
        job.rom_k = rom_k;
        job.inv_fetch = inv_fetch;
        job.inv_range = inv_range;
        job.inv_byte = inv_byte;
        zk_parallel_for(threads, T / AUX_CHUNK, aux_range, &job);
        failed = job.failed;
    }
    free(fields);
    free(rom_k);
    free(inv_fetch);
    free(inv_range);
    if (failed) return -1;
    if (zk_cancelled()) return 0; /* partly computed; the caller discards them */
    /* S_0 = 0, S_{i+1} = S_i + (row i's total, which the S column holds until now). */
    fe3 s = E_ZERO;
    for (size_t i = 0; i < T; i++) {
        fe3 row = aux[AUX_S][i];
        aux[AUX_S][i] = s;
        s = e_add(s, row);
    }
    return 0;
}

int zk_air2_aux_columns(const zk_air2_statement *st, const zk_air2_challenges *ch,
                        const fe *const *main, const fe3 *rom, const fe *const *fixed,
                        fe3 *const *aux) {
    return zk_air2_aux_columns_threads(st, ch, main, rom, fixed, aux, 1);
}

/* ---- constraints ---- */

void zk_air2_eval_ext(const zk_air2_statement *st, const zk_air2_challenges *ch,
                      const fe3 *cur, const fe3 *next, const fe3 *aux_cur,
                      const fe3 *aux_next, fe3 rom, const fe3 *fixed, fe3 *out) {
    (void)st;
    eval_ext(ch, cur, next, aux_cur, aux_next, rom, fixed, out);
}

void zk_air2_eval_base(const zk_air2_statement *st, const zk_air2_challenges *ch,
                       const fe *cur, const fe *next, const fe3 *aux_cur, const fe3 *aux_next,
                       fe3 rom, const fe *fixed, fe3 *out) {
    (void)st;
    eval_base(ch, cur, next, aux_cur, aux_next, rom, fixed, out);
}

fe3 zk_air2_composition_at(const zk_air2_statement *st, const zk_air2_challenges *ch,
                           const fe3 *cur, const fe3 *next, const fe3 *aux_cur,
                           const fe3 *aux_next, const fe3 *alphas, fe3 z) {
    fe3 rom, fixed[ZK_AIR2_FIXED], c[ZK_AIR2_N_CONSTRAINTS];
    zk_air2_fixed_at(st, ch, z, &rom, fixed);
    eval_ext(ch, cur, next, aux_cur, aux_next, rom, fixed, c);
    fe3 sums[4] = {E_ZERO, E_ZERO, E_ZERO, E_ZERO}; /* every, transition, first, last */
    for (unsigned k = 0; k < ZK_AIR2_N_CONSTRAINTS; k++) {
        unsigned kind = k < ZK_AIR2_N_EVERY ? 0
                      : k < ZK_AIR2_N_EVERY + ZK_AIR2_N_TRANSITION ? 1
                      : k < ZK_AIR2_N_CONSTRAINTS - ZK_AIR2_N_LAST ? 2
                                                                   : 3;
        sums[kind] = e_add(sums[kind], e_mul(alphas[k], c[k]));
    }
    fe3 zt = z;
    for (unsigned i = 0; i < st->log_t; i++) zt = e_sqr(zt);
    fe3 last_point = e_from(f_inv(f_root_of_unity(st->log_t))); /* w^(T-1) = w^-1 */
    fe3 z_last = e_sub(z, last_point);
    /* Three divisors, one inversion each (the verifier calls this once). */
    fe3 inv_vanish = e_inv(e_sub(zt, E_ONE));
    fe3 r = e_mul(e_add(sums[0], e_mul(sums[1], z_last)), inv_vanish);
    r = e_add(r, e_mul(sums[2], e_inv(e_sub(z, E_ONE))));
    return e_add(r, e_mul(sums[3], e_inv(z_last)));
}
