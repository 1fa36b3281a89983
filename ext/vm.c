/* The zkVM executor (see vm.h). Mirrors zkactors/zkvm/program.py (decoding rules) and
 * zkactors/zkvm/interpreter.py (semantics and trace), which the tests hold it to. */
#include "vm.h"

#include "ntt.h"

#include <string.h>

/* vm.h: the one table of which fields each op uses. vm.c's decoder (format 1) admits
 * only ops 1..15; machine.c's all of them. */
const uint8_t zk_op_fields[ZK_N_OPS] = {
    [ZK_OP_SET] = ZK_USES_RD | ZK_USES_IMM,
    [ZK_OP_MOV] = ZK_USES_RD | ZK_USES_RA,
    [ZK_OP_ADD] = ZK_USES_RD | ZK_USES_RA | ZK_USES_RB,
    [ZK_OP_SUB] = ZK_USES_RD | ZK_USES_RA | ZK_USES_RB,
    [ZK_OP_MUL] = ZK_USES_RD | ZK_USES_RA | ZK_USES_RB,
    [ZK_OP_ADDI] = ZK_USES_RD | ZK_USES_RA | ZK_USES_IMM,
    [ZK_OP_SUBI] = ZK_USES_RD | ZK_USES_RA | ZK_USES_IMM,
    [ZK_OP_MULI] = ZK_USES_RD | ZK_USES_RA | ZK_USES_IMM,
    [ZK_OP_INV] = ZK_USES_RD | ZK_USES_RA,
    [ZK_OP_ASSERT_ZERO] = ZK_USES_RA,
    [ZK_OP_ASSERT_EQ] = ZK_USES_RA | ZK_USES_RB,
    [ZK_OP_JMP] = ZK_USES_TARGET,
    [ZK_OP_JZ] = ZK_USES_RA | ZK_USES_TARGET,
    [ZK_OP_JNZ] = ZK_USES_RA | ZK_USES_TARGET,
    [ZK_OP_HALT] = 0,
    [ZK_OP_LOAD] = ZK_USES_RD | ZK_USES_RA | ZK_USES_IMM,
    [ZK_OP_LOAD_ABS] = ZK_USES_RD | ZK_USES_IMM,
    [ZK_OP_STORE] = ZK_USES_RA | ZK_USES_RB | ZK_USES_IMM,
    [ZK_OP_STORE_ABS] = ZK_USES_RB | ZK_USES_IMM,
    [ZK_OP_READ] = ZK_USES_RD,
    [ZK_OP_WRITE] = ZK_USES_RA,
};

static uint64_t load_le(const uint8_t *b, unsigned n) {
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++) v |= (uint64_t)b[i] << (8 * i);
    return v;
}

static int is_name_start(uint8_t c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

static int is_name_char(uint8_t c) { return is_name_start(c) || (c >= '0' && c <= '9'); }

int zk_program_decode(const uint8_t *bytes, size_t len, zk_program *out) {
    if (len < 10 || memcmp(bytes, "ZKVM", 4) != 0 || bytes[4] != 1) return -1;
    uint32_t n_reg = bytes[5], n_in = bytes[6], n_out = bytes[7];
    uint32_t n_ins = (uint32_t)load_le(bytes + 8, 2);
    if (n_reg > ZK_MAX_REGISTERS || n_in > ZK_MAX_INPUTS || n_in > n_reg ||
        n_out > ZK_MAX_OUTPUTS || n_ins == 0 || n_ins > ZK_MAX_INSTRUCTIONS)
        return -1;
    size_t pos = 10;
    const uint8_t *names[ZK_MAX_REGISTERS];
    uint8_t name_len[ZK_MAX_REGISTERS];
    for (uint32_t r = 0; r < n_reg; r++) {
        if (pos >= len) return -1;
        uint8_t n = bytes[pos++];
        if (n == 0 || n > ZK_MAX_NAME || len - pos < n) return -1;
        if (!is_name_start(bytes[pos])) return -1;
        for (uint8_t i = 1; i < n; i++)
            if (!is_name_char(bytes[pos + i])) return -1;
        for (uint32_t s = 0; s < r; s++)
            if (name_len[s] == n && memcmp(names[s], bytes + pos, n) == 0) return -1;
        names[r] = bytes + pos;
        name_len[r] = n;
        pos += n;
    }
    if (len - pos < n_out) return -1;
    memset(out, 0, sizeof *out);
    for (uint32_t j = 0; j < n_out; j++) {
        if (bytes[pos + j] >= n_reg) return -1;
        out->outputs[j] = bytes[pos + j];
    }
    pos += n_out;
    if (len - pos != (size_t)n_ins * 16) return -1;

    uint64_t written = n_in == 64 ? ~0ULL : ((1ULL << n_in) - 1); /* bit r: input or written */
    int has_halt = 0;
    for (uint32_t k = 0; k < n_ins; k++, pos += 16) {
        const uint8_t *b = bytes + pos;
        uint8_t op = b[0], rd = b[1], ra = b[2], rb = b[3];
        uint32_t target = (uint32_t)load_le(b + 4, 2);
        uint32_t reserved = (uint32_t)load_le(b + 6, 2);
        uint64_t imm = load_le(b + 8, 8);
        if (op < ZK_OP_SET || op > ZK_OP_HALT || reserved != 0) return -1;
        if (!zk_fields_valid(op, rd, ra, rb, imm, target, n_reg, n_ins)) return -1;
        if (zk_op_fields[op] & ZK_USES_RD) written |= 1ULL << rd;
        if (op == ZK_OP_HALT) has_halt = 1;
        zk_instr ins = {op, rd, ra, rb, target, imm};
        out->code[k] = ins;
    }
    uint8_t last = out->code[n_ins - 1].op;
    if (!has_halt || (last != ZK_OP_HALT && last != ZK_OP_JMP)) return -1;
    for (uint32_t j = 0; j < n_out; j++)
        if (!(written >> out->outputs[j] & 1)) return -1;
    out->n_registers = n_reg;
    out->n_inputs = n_in;
    out->n_outputs = n_out;
    out->n_instructions = n_ins;
    return 0;
}

size_t zk_program_trace_width(const zk_program *p) {
    size_t branches = 0;
    for (uint32_t k = 0; k < p->n_instructions; k++)
        branches += p->code[k].op == ZK_OP_JZ || p->code[k].op == ZK_OP_JNZ;
    return p->n_registers + p->n_instructions + branches;
}

unsigned zk_trace_log_length(uint64_t cycles) {
    unsigned log_t = 3;
    while (log_t < 64 && (1ULL << log_t) < cycles + 1) log_t++;
    return log_t;
}

/* One step of the machine. Returns ZK_VM_OK with *pc advanced, or an error code with *pc
 * left at the failing instruction. The caller handles halt (which never advances). */
static inline int step(const zk_instr *ins, fe *regs, uint32_t *pc) {
    switch (ins->op) {
    case ZK_OP_SET: regs[ins->rd] = ins->imm; break;
    case ZK_OP_MOV: regs[ins->rd] = regs[ins->ra]; break;
    case ZK_OP_ADD: regs[ins->rd] = f_add(regs[ins->ra], regs[ins->rb]); break;
    case ZK_OP_SUB: regs[ins->rd] = f_sub(regs[ins->ra], regs[ins->rb]); break;
    case ZK_OP_MUL: regs[ins->rd] = f_mul(regs[ins->ra], regs[ins->rb]); break;
    case ZK_OP_ADDI: regs[ins->rd] = f_add(regs[ins->ra], ins->imm); break;
    case ZK_OP_SUBI: regs[ins->rd] = f_sub(regs[ins->ra], ins->imm); break;
    case ZK_OP_MULI: regs[ins->rd] = f_mul(regs[ins->ra], ins->imm); break;
    case ZK_OP_INV:
        if (regs[ins->ra] == 0) return ZK_VM_INV_ZERO;
        regs[ins->rd] = f_inv(regs[ins->ra]);
        break;
    case ZK_OP_ASSERT_ZERO:
        if (regs[ins->ra] != 0) return ZK_VM_ASSERT_FAILED;
        break;
    case ZK_OP_ASSERT_EQ:
        if (regs[ins->ra] != regs[ins->rb]) return ZK_VM_ASSERT_FAILED;
        break;
    case ZK_OP_JMP: *pc = ins->target; return ZK_VM_OK;
    case ZK_OP_JZ: *pc = regs[ins->ra] == 0 ? ins->target : *pc + 1; return ZK_VM_OK;
    case ZK_OP_JNZ: *pc = regs[ins->ra] != 0 ? ins->target : *pc + 1; return ZK_VM_OK;
    default: break; /* halt: handled by the caller */
    }
    *pc += 1;
    return ZK_VM_OK;
}

int zk_vm_run(const zk_program *p, const fe *inputs, uint64_t max_cycles, fe *outputs,
              uint64_t *cycles, uint32_t *fail_pc) {
    fe regs[ZK_MAX_REGISTERS] = {0};
    memcpy(regs, inputs, p->n_inputs * sizeof(fe));
    uint32_t pc = 0;
    for (uint64_t cycle = 1; cycle <= max_cycles; cycle++) {
        const zk_instr *ins = &p->code[pc];
        if (ins->op == ZK_OP_HALT) {
            for (uint32_t j = 0; j < p->n_outputs; j++) outputs[j] = regs[p->outputs[j]];
            *cycles = cycle;
            return ZK_VM_OK;
        }
        int rc = step(ins, regs, &pc);
        if (rc != ZK_VM_OK) {
            *cycles = cycle;
            *fail_pc = pc;
            return rc;
        }
    }
    *cycles = max_cycles;
    return ZK_VM_CYCLE_LIMIT;
}


int zk_vm_trace(const zk_program *p, const fe *inputs, uint64_t max_cycles, unsigned log_t,
                fe *const *columns) {
    if (log_t >= 63) return ZK_VM_TRACE_TOO_SHORT;
    const size_t T = (size_t)1 << log_t;
    const uint32_t R = p->n_registers, I = p->n_instructions;
    fe *const *sel = columns + R;
    fe *const *helper = columns + R + I;
    /* A run of `cycles` needs cycles + 1 <= T rows, so at most T - 1 cycles fit. */
    uint64_t limit = max_cycles < T - 1 ? max_cycles : T - 1;

    for (uint32_t k = 0; k < I; k++) memset(sel[k], 0, T * sizeof(fe));
    fe regs[ZK_MAX_REGISTERS] = {0};
    memcpy(regs, inputs, p->n_inputs * sizeof(fe));
    uint32_t pc = 0;
    size_t row = 0;
    int halted = 0;
    for (uint64_t cycle = 1; cycle <= limit; cycle++, row++) {
        for (uint32_t r = 0; r < R; r++) columns[r][row] = regs[r];
        sel[pc][row] = 1;
        const zk_instr *ins = &p->code[pc];
        if (ins->op == ZK_OP_HALT) {
            halted = 1;
            break;
        }
        int rc = step(ins, regs, &pc);
        if (rc != ZK_VM_OK) return rc;
    }
    if (!halted) return limit == max_cycles ? ZK_VM_CYCLE_LIMIT : ZK_VM_TRACE_TOO_SHORT;
    /* Rows after the halt row repeat it: halt keeps pc and every register. */
    for (uint32_t r = 0; r < R; r++)
        for (size_t i = row + 1; i < T; i++) columns[r][i] = regs[r];
    for (size_t i = row + 1; i < T; i++) sel[pc][i] = 1;

    size_t j = 0;
    for (uint32_t k = 0; k < I; k++) {
        const zk_instr *ins = &p->code[k];
        if (ins->op != ZK_OP_JZ && ins->op != ZK_OP_JNZ) continue;
        /* Branches testing the same register share one helper column's values. */
        size_t earlier = 0, same = (size_t)-1;
        for (uint32_t m = 0; m < k; m++) {
            const zk_instr *prev = &p->code[m];
            if (prev->op != ZK_OP_JZ && prev->op != ZK_OP_JNZ) continue;
            if (prev->ra == ins->ra) { same = earlier; break; }
            earlier++;
        }
        if (same != (size_t)-1)
            memcpy(helper[j], helper[same], T * sizeof(fe));
        else
            zk_batch_inverse_or_zero(columns[ins->ra], helper[j], T);
        j++;
    }
    return ZK_VM_OK;
}
