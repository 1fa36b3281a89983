/* The machine (see machine.h): decoding of program formats 1 and 2 (protocol.md 4, 12)
 * and execution with registers, RAM and the public streams. Mirrors
 * zkactors/zkvm/program.py (decoding rules) and zkactors/zkvm/interpreter.py
 * (semantics), which the tests hold it to. */
#include "machine.h"

#include <stdlib.h>
#include <string.h>


static uint64_t load_le(const uint8_t *b, unsigned n) {
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++) v |= (uint64_t)b[i] << (8 * i);
    return v;
}

/* ---- decoding ---- */

/* A format-1 program is the same program in the fixed-size view of vm.h. */
static int decode_format1(const uint8_t *bytes, size_t len, zk_machine_program *out) {
    zk_program *v1 = malloc(sizeof *v1);
    if (!v1) return -2;
    int rc = zk_program_decode(bytes, len, v1);
    if (rc == 0) {
        out->code = malloc(v1->n_instructions * sizeof(zk_instr));
        if (!out->code) {
            rc = -2;
        } else {
            out->format = 1;
            out->n_registers = v1->n_registers;
            out->n_inputs = v1->n_inputs;
            out->n_outputs = v1->n_outputs;
            out->n_instructions = v1->n_instructions;
            memcpy(out->outputs, v1->outputs, v1->n_outputs);
            memcpy(out->code, v1->code, v1->n_instructions * sizeof(zk_instr));
        }
    }
    free(v1);
    return rc;
}

static int is_name_start(uint8_t c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

static int is_name_char(uint8_t c) { return is_name_start(c) || (c >= '0' && c <= '9'); }

/* The register names: valid, distinct. Returns the position after them, or 0. */
static size_t check_names(const uint8_t *bytes, size_t len, size_t pos, uint32_t n_reg) {
    const uint8_t *names[ZK_MACHINE_MAX_REGISTERS];
    uint8_t name_len[ZK_MACHINE_MAX_REGISTERS];
    for (uint32_t r = 0; r < n_reg; r++) {
        if (pos >= len) return 0;
        uint8_t n = bytes[pos++];
        if (n == 0 || n > ZK_MAX_NAME || len - pos < n) return 0;
        if (!is_name_start(bytes[pos])) return 0;
        for (uint8_t i = 1; i < n; i++)
            if (!is_name_char(bytes[pos + i])) return 0;
        for (uint32_t s = 0; s < r; s++)
            if (name_len[s] == n && memcmp(names[s], bytes + pos, n) == 0) return 0;
        names[r] = bytes + pos;
        name_len[r] = n;
        pos += n;
    }
    return pos;
}

/* Instructions of format 2: every field an op does not use is 0, registers, imm and
 * targets in range; written[] marks the registers some instruction writes. Sets
 * *v2_only when some op is not a v1 op. */
static int decode_code2(const uint8_t *b, zk_machine_program *out, uint8_t *written,
                        int *v2_only) {
    uint32_t n_reg = out->n_registers, n_ins = out->n_instructions;
    int has_halt = 0;
    for (uint32_t k = 0; k < n_ins; k++, b += 16) {
        uint8_t op = b[0], rd = b[1], ra = b[2], rb = b[3];
        uint32_t target = (uint32_t)load_le(b + 4, 4);
        uint64_t imm = load_le(b + 8, 8);
        if (op < ZK_OP_SET || op >= ZK_N_OPS) return -1;
        if (!zk_fields_valid(op, rd, ra, rb, imm, target, n_reg, n_ins)) return -1;
        if (zk_op_fields[op] & ZK_USES_RD) written[rd] = 1;
        if (op == ZK_OP_HALT) has_halt = 1;
        if (op > ZK_OP_HALT) *v2_only = 1;
        zk_instr ins = {op, rd, ra, rb, target, imm};
        out->code[k] = ins;
    }
    uint8_t last = out->code[n_ins - 1].op;
    return has_halt && (last == ZK_OP_HALT || last == ZK_OP_JMP) ? 0 : -1;
}

static int decode_format2(const uint8_t *bytes, size_t len, zk_machine_program *out) {
    if (len < 15) return -1;
    uint32_t n_reg = (uint32_t)load_le(bytes + 5, 2), n_in = (uint32_t)load_le(bytes + 7, 2);
    uint32_t n_out = (uint32_t)load_le(bytes + 9, 2), n_ins = (uint32_t)load_le(bytes + 11, 4);
    if (n_reg > ZK_MACHINE_MAX_REGISTERS || n_in > ZK_MACHINE_MAX_REG_INPUTS || n_in > n_reg ||
        n_out > ZK_MACHINE_MAX_REG_OUTPUTS || n_ins == 0 || n_ins > ZK_MACHINE_MAX_INSTRUCTIONS)
        return -1;
    size_t pos = check_names(bytes, len, 15, n_reg);
    if (pos == 0) return -1;
    if (len - pos < n_out) return -1;
    for (uint32_t j = 0; j < n_out; j++) {
        if (bytes[pos + j] >= n_reg) return -1;
        out->outputs[j] = bytes[pos + j];
    }
    pos += n_out;
    if (len - pos != (size_t)n_ins * 16) return -1;
    out->format = 2;
    out->n_registers = n_reg;
    out->n_inputs = n_in;
    out->n_outputs = n_out;
    out->n_instructions = n_ins;
    out->code = malloc((size_t)n_ins * sizeof(zk_instr));
    if (!out->code) return -2;
    uint8_t written[ZK_MACHINE_MAX_REGISTERS] = {0};
    memset(written, 1, n_in); /* inputs count as written */
    int v2_only = 0;
    if (decode_code2(bytes + pos, out, written, &v2_only) != 0) return -1;
    for (uint32_t j = 0; j < n_out; j++)
        if (!written[out->outputs[j]]) return -1;
    /* Only programs format 1 cannot encode may use format 2 (one program, one hash). */
    if (!v2_only && n_reg <= ZK_MAX_REGISTERS && n_in <= ZK_MAX_INPUTS &&
        n_out <= ZK_MAX_OUTPUTS && n_ins <= ZK_MAX_INSTRUCTIONS)
        return -1;
    return 0;
}

int zk_machine_decode(const uint8_t *bytes, size_t len, zk_machine_program *out) {
    memset(out, 0, sizeof *out);
    if (len < 5 || memcmp(bytes, "ZKVM", 4) != 0) return -1;
    int rc = bytes[4] == 1 ? decode_format1(bytes, len, out)
           : bytes[4] == 2 ? decode_format2(bytes, len, out)
                           : -1;
    if (rc != 0) zk_machine_free(out);
    return rc;
}

void zk_machine_free(zk_machine_program *p) {
    free(p->code);
    p->code = NULL;
}

/* ---- RAM ---- */

static size_t ram_slot(uint64_t key, size_t cap) {
    return (size_t)((key * 0x9E3779B97F4A7C15ULL) >> 32) & (cap - 1);
}

static int ram_grow(zk_ram *ram) {
    size_t cap = ram->cap ? 2 * ram->cap : 1024;
    zk_ram_cell *cells = calloc(cap, sizeof *cells);
    if (!cells) return -1;
    for (size_t i = 0; i < ram->cap; i++) {
        if (!ram->cells[i].key) continue;
        size_t s = ram_slot(ram->cells[i].key, cap);
        while (cells[s].key) s = (s + 1) & (cap - 1);
        cells[s] = ram->cells[i];
    }
    free(ram->cells);
    ram->cells = cells;
    ram->cap = cap;
    return 0;
}

/* The cell of `addr`, created (value 0, timestamp 0) on first access; NULL if out of
 * memory. */
static zk_ram_cell *ram_cell(zk_ram *ram, uint32_t addr) {
    if (2 * (ram->count + 1) > ram->cap && ram_grow(ram) != 0) return NULL;
    uint64_t key = (uint64_t)addr + 1;
    size_t s = ram_slot(key, ram->cap);
    while (ram->cells[s].key && ram->cells[s].key != key) s = (s + 1) & (ram->cap - 1);
    if (!ram->cells[s].key) {
        ram->cells[s].key = key;
        ram->count++;
    }
    return &ram->cells[s];
}

void zk_machine_state_free(zk_machine_state *st) {
    free(st->ram.cells);
    memset(&st->ram, 0, sizeof st->ram);
}

/* ---- execution ---- */

/* The register ports: A reads ra, B reads rb, C writes rd (protocol.md 13). */
static inline fe port_read(zk_machine_state *st, uint8_t r, uint64_t ts, uint64_t *pts) {
    *pts = st->reg_ts[r];
    st->reg_ts[r] = ts;
    return st->regs[r];
}

/* The value an op writes into rd from the values its ports read. */
static inline fe written_value(const zk_instr *ins, fe a, fe b, fe m) {
    switch (ins->op) {
    case ZK_OP_SET: return ins->imm;
    case ZK_OP_MOV: return a;
    case ZK_OP_ADD: return f_add(a, b);
    case ZK_OP_SUB: return f_sub(a, b);
    case ZK_OP_MUL: return f_mul(a, b);
    case ZK_OP_ADDI: return f_add(a, ins->imm);
    case ZK_OP_SUBI: return f_sub(a, ins->imm);
    case ZK_OP_MULI: return f_mul(a, ins->imm);
    case ZK_OP_INV: return f_inv(a);
    default: return m; /* load; read passes the stream value as m */
    }
}

typedef struct {
    const fe *inputs;
    size_t n_inputs;
    fe *stream_out; /* where the next written value goes */
    size_t room;    /* how many more values fit */
} io;

/* One cycle at st->pc, not a halt: fill *c, update the state. ZK_VM_OK with st->pc
 * advanced, or an error code with st->pc left at the failing instruction. */
static int cycle(const zk_instr *ins, uint64_t clk, zk_machine_state *st, io *io,
                 zk_machine_cycle *c) {
    uint8_t f = zk_op_fields[ins->op];
    uint64_t ts = 4 * clk + 1;
    memset(c, 0, sizeof *c);
    c->pc = st->pc;
    if (f & ZK_USES_RA) { c->eA = 1; c->vA = port_read(st, ins->ra, ts, &c->ptsA); }
    if (f & ZK_USES_RB) { c->eB = 1; c->vB = port_read(st, ins->rb, ts + 1, &c->ptsB); }
    fe a = c->vA, b = c->vB, m = 0;
    switch (ins->op) {
    case ZK_OP_INV: if (a == 0) return ZK_VM_INV_ZERO; break;
    case ZK_OP_ASSERT_ZERO: if (a != 0) return ZK_VM_ASSERT_FAILED; break;
    case ZK_OP_ASSERT_EQ: if (a != b) return ZK_VM_ASSERT_FAILED; break;
    case ZK_OP_LOAD: case ZK_OP_LOAD_ABS: case ZK_OP_STORE: case ZK_OP_STORE_ABS: {
        fe addr = f_add(a, ins->imm); /* a = 0 for the absolute forms (port A off) */
        if (addr >> 32) return ZK_MACHINE_BAD_ADDRESS;
        zk_ram_cell *cell = ram_cell(&st->ram, (uint32_t)addr);
        if (!cell) return ZK_MACHINE_NO_MEMORY;
        c->eM = 1;
        c->addr = (uint32_t)addr;
        c->ptsM = cell->ts;
        cell->ts = ts + 2;
        c->pvM = cell->value;
        if (ins->op == ZK_OP_STORE || ins->op == ZK_OP_STORE_ABS) cell->value = b;
        c->vM = m = cell->value;
        break;
    }
    case ZK_OP_READ:
        if (st->in_pos >= io->n_inputs) return ZK_MACHINE_READ_PAST_END;
        m = io->inputs[st->in_pos++];
        break;
    case ZK_OP_WRITE:
        if (io->room == 0) return ZK_MACHINE_TOO_MANY_OUTPUTS;
        *io->stream_out++ = a;
        io->room--;
        st->n_written++;
        break;
    default: break;
    }
    if (f & ZK_USES_RD) {
        c->eC = 1;
        c->vC = written_value(ins, a, b, m);
        c->pvC = port_read(st, ins->rd, ts + 3, &c->ptsC);
        st->regs[ins->rd] = c->vC;
    }
    switch (ins->op) {
    case ZK_OP_JMP: st->pc = ins->target; break;
    case ZK_OP_JZ: st->pc = a == 0 ? ins->target : st->pc + 1; break;
    case ZK_OP_JNZ: st->pc = a != 0 ? ins->target : st->pc + 1; break;
    default: st->pc++; break;
    }
    return ZK_VM_OK;
}

/* The run without an observer (zk_machine_run, execute()): the same semantics as
 * cycle() without the port bookkeeping, as lean as vm.c's loop. Timestamps are not kept. */
/* Leave the loop at the failing instruction (pc and the cycle count kept). */
#define FAIL(code)   \
    do {             \
        rc = (code); \
        goto out;    \
    } while (0)

static int run_plain(const zk_machine_program *p, zk_machine_state *st, io *io,
                     uint64_t max_cycles, uint64_t *cycles) {
    fe *regs = st->regs;
    uint32_t pc = 0;
    uint64_t clk = 0;
    int rc = ZK_VM_CYCLE_LIMIT;
    for (; clk < max_cycles; clk++) {
        const zk_instr *ins = &p->code[pc];
        fe a = regs[ins->ra], b = regs[ins->rb]; /* unused fields are 0: harmless reads */
        switch (ins->op) {
        case ZK_OP_SET: regs[ins->rd] = ins->imm; break;
        case ZK_OP_MOV: regs[ins->rd] = a; break;
        case ZK_OP_ADD: regs[ins->rd] = f_add(a, b); break;
        case ZK_OP_SUB: regs[ins->rd] = f_sub(a, b); break;
        case ZK_OP_MUL: regs[ins->rd] = f_mul(a, b); break;
        case ZK_OP_ADDI: regs[ins->rd] = f_add(a, ins->imm); break;
        case ZK_OP_SUBI: regs[ins->rd] = f_sub(a, ins->imm); break;
        case ZK_OP_MULI: regs[ins->rd] = f_mul(a, ins->imm); break;
        case ZK_OP_HALT: rc = st->in_pos != io->n_inputs ? ZK_MACHINE_INPUTS_LEFT : ZK_VM_OK;
            goto out;
        case ZK_OP_INV:
            if (a == 0) FAIL(ZK_VM_INV_ZERO);
            regs[ins->rd] = f_inv(a);
            break;
        case ZK_OP_ASSERT_ZERO: if (a != 0) FAIL(ZK_VM_ASSERT_FAILED); break;
        case ZK_OP_ASSERT_EQ: if (a != b) FAIL(ZK_VM_ASSERT_FAILED); break;
        case ZK_OP_JMP: pc = ins->target; continue;
        case ZK_OP_JZ: pc = a == 0 ? ins->target : pc + 1; continue;
        case ZK_OP_JNZ: pc = a != 0 ? ins->target : pc + 1; continue;
        case ZK_OP_LOAD_ABS: case ZK_OP_STORE_ABS: a = 0; /* fall through */
        case ZK_OP_LOAD: case ZK_OP_STORE: {
            fe addr = f_add(a, ins->imm);
            if (addr >> 32) FAIL(ZK_MACHINE_BAD_ADDRESS);
            zk_ram_cell *cell = ram_cell(&st->ram, (uint32_t)addr);
            if (!cell) FAIL(ZK_MACHINE_NO_MEMORY);
            if (ins->op == ZK_OP_STORE || ins->op == ZK_OP_STORE_ABS) cell->value = b;
            else regs[ins->rd] = cell->value;
            break;
        }
        case ZK_OP_READ:
            if (st->in_pos >= io->n_inputs) FAIL(ZK_MACHINE_READ_PAST_END);
            regs[ins->rd] = io->inputs[st->in_pos++];
            break;
        case ZK_OP_WRITE:
            if (io->room == 0) FAIL(ZK_MACHINE_TOO_MANY_OUTPUTS);
            *io->stream_out++ = a;
            io->room--;
            st->n_written++;
            break;
        default: break;
        }
        pc++;
    }
    clk--; /* the limit: max_cycles cycles ran, none of them a halt */
out:
    st->pc = pc;
    *cycles = clk + 1;
    return rc;
}
#undef FAIL

int zk_machine_exec(const zk_machine_program *p, const fe *inputs, size_t n_inputs,
                    uint64_t max_cycles, fe *outputs, size_t *n_outputs, uint64_t *cycles,
                    uint32_t *fail_pc, zk_machine_state *st, zk_machine_observer observe,
                    void *ctx) {
    memset(st, 0, sizeof *st);
    *cycles = 0;
    *n_outputs = 0;
    if (n_inputs < p->n_inputs || n_inputs > ZK_MACHINE_MAX_IO) return ZK_MACHINE_BAD_INPUTS;
    memcpy(st->regs, inputs, p->n_inputs * sizeof(fe));
    st->in_pos = p->n_inputs;
    io io = {inputs, n_inputs, outputs + p->n_outputs, ZK_MACHINE_MAX_IO - p->n_outputs};
    if (!observe) {
        int rc = run_plain(p, st, &io, max_cycles, cycles);
        *fail_pc = st->pc;
        if (rc == ZK_VM_OK) {
            for (uint32_t j = 0; j < p->n_outputs; j++) outputs[j] = st->regs[p->outputs[j]];
            *n_outputs = p->n_outputs + st->n_written;
        }
        return rc;
    }
    zk_machine_cycle c;
    for (uint64_t clk = 0; clk < max_cycles; clk++) {
        const zk_instr *ins = &p->code[st->pc];
        *cycles = clk + 1;
        if (ins->op == ZK_OP_HALT) {
            *fail_pc = st->pc;
            if (st->in_pos != n_inputs) return ZK_MACHINE_INPUTS_LEFT;
            for (uint32_t j = 0; j < p->n_outputs; j++) outputs[j] = st->regs[p->outputs[j]];
            *n_outputs = p->n_outputs + st->n_written;
            memset(&c, 0, sizeof c);
            c.pc = st->pc;
            return observe ? observe(ctx, clk, &c) : ZK_VM_OK;
        }
        int rc = cycle(ins, clk, st, &io, &c);
        if (rc == ZK_VM_OK && observe) rc = observe(ctx, clk, &c);
        if (rc != ZK_VM_OK) {
            *fail_pc = st->pc;
            return rc;
        }
    }
    return ZK_VM_CYCLE_LIMIT;
}

int zk_machine_run(const zk_machine_program *p, const fe *inputs, size_t n_inputs,
                   uint64_t max_cycles, fe *outputs, size_t *n_outputs, uint64_t *cycles,
                   uint32_t *fail_pc) {
    zk_machine_state *st = malloc(sizeof *st);
    if (!st) return ZK_MACHINE_NO_MEMORY;
    int rc = zk_machine_exec(p, inputs, n_inputs, max_cycles, outputs, n_outputs, cycles,
                             fail_pc, st, NULL, NULL);
    zk_machine_state_free(st);
    free(st);
    return rc;
}
