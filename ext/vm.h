/* The zkVM executor: decode a program, run it, and build its execution trace.
 *
 * The byte format, the instruction semantics and the trace layout are fixed by
 * docs/protocol.md section 4; the Python interpreter (zkactors/zkvm/interpreter.py) is
 * the oracle this file is tested against. A zk_program that zk_program_decode accepted
 * satisfies every rule of protocol.md 4 (limits, unused fields zero, imm < p, targets in
 * range, a halt, no falling off the end), so the run functions never check them again.
 */
#ifndef ZK_VM_H
#define ZK_VM_H

#include <stddef.h>
#include <stdint.h>

#include "field.h"

#define ZK_MAX_REGISTERS 64
#define ZK_MAX_INPUTS 16
#define ZK_MAX_OUTPUTS 16
#define ZK_MAX_INSTRUCTIONS 128
#define ZK_MAX_NAME 32

enum {
    ZK_OP_SET = 1, ZK_OP_MOV = 2, ZK_OP_ADD = 3, ZK_OP_SUB = 4, ZK_OP_MUL = 5,
    ZK_OP_ADDI = 6, ZK_OP_SUBI = 7, ZK_OP_MULI = 8, ZK_OP_INV = 9,
    ZK_OP_ASSERT_ZERO = 10, ZK_OP_ASSERT_EQ = 11, ZK_OP_JMP = 12, ZK_OP_JZ = 13,
    ZK_OP_JNZ = 14, ZK_OP_HALT = 15,
    /* instruction set v2 (protocol.md 12): program format 2 and AIR 2 only */
    ZK_OP_LOAD = 16, ZK_OP_LOAD_ABS = 17, ZK_OP_STORE = 18, ZK_OP_STORE_ABS = 19,
    ZK_OP_READ = 20, ZK_OP_WRITE = 21
};

/* Which instruction fields each op uses; every other field must be 0 (protocol.md 4 and
 * 12). One table for ops 1..21, read by both program decoders (vm.c, machine.c). */
enum { ZK_USES_RD = 1, ZK_USES_RA = 2, ZK_USES_RB = 4, ZK_USES_IMM = 8, ZK_USES_TARGET = 16 };
#define ZK_N_OPS 22 /* codes 1 .. 21; 0 is no op */
extern const uint8_t zk_op_fields[ZK_N_OPS];

/* Whether an instruction's fields fit op `op` (1 <= op < ZK_N_OPS): the fields it uses
 * in range (registers < n_reg, imm < p, target < n_ins), every other field 0. */
static inline int zk_fields_valid(uint8_t op, uint8_t rd, uint8_t ra, uint8_t rb, fe imm,
                                  uint32_t target, uint32_t n_reg, uint32_t n_ins) {
    uint8_t f = zk_op_fields[op];
    return ((f & ZK_USES_RD) ? rd < n_reg : rd == 0) && ((f & ZK_USES_RA) ? ra < n_reg : ra == 0) &&
           ((f & ZK_USES_RB) ? rb < n_reg : rb == 0) && ((f & ZK_USES_IMM) ? imm < ZK_P : imm == 0) &&
           ((f & ZK_USES_TARGET) ? target < n_ins : target == 0);
}

/* Return codes of zk_vm_run and zk_vm_trace. */
#define ZK_VM_OK 0
#define ZK_VM_CYCLE_LIMIT 1     /* no halt within max_cycles */
#define ZK_VM_INV_ZERO 2        /* inv of 0 at *fail_pc */
#define ZK_VM_ASSERT_FAILED 3   /* assert_zero / assert_eq failed at *fail_pc */
#define ZK_VM_TRACE_TOO_SHORT 4 /* zk_vm_trace: the run needs more than 2^log_t - 1 cycles */

typedef struct { uint8_t op, rd, ra, rb; uint32_t target; fe imm; } zk_instr;
typedef struct { uint32_t n_registers, n_inputs, n_outputs, n_instructions;
                 uint8_t outputs[16]; zk_instr code[128]; } zk_program;

/* Parse canonical program bytes (docs/protocol.md 4); 0 on success, -1 if malformed. */
int zk_program_decode(const uint8_t *bytes, size_t len, zk_program *out);

/* R + I + J: registers, instruction selectors, one helper per jz/jnz. */
size_t zk_program_trace_width(const zk_program *p);

/* Run; 0 ok; ZK_VM_CYCLE_LIMIT, ZK_VM_INV_ZERO, ZK_VM_ASSERT_FAILED with *fail_pc set.
 * inputs has p->n_inputs canonical elements; outputs receives p->n_outputs. */
int zk_vm_run(const zk_program *p, const fe *inputs, uint64_t max_cycles, fe *outputs,
              uint64_t *cycles, uint32_t *fail_pc);

/* Fill the trace (protocol.md 4): columns[c] points at 2^log_t elements, c < width.
 * Requires 2^log_t >= cycles + 1 (else ZK_VM_TRACE_TOO_SHORT). 0 ok, else the same codes
 * as zk_vm_run. */
int zk_vm_trace(const zk_program *p, const fe *inputs, uint64_t max_cycles, unsigned log_t,
                fe *const *columns);

/* T for a run of `cycles`: max(8, next_pow2(cycles + 1)) as log2. */
unsigned zk_trace_log_length(uint64_t cycles);

#endif
