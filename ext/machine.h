/* The machine: programs of instruction set v2 (docs/protocol.md section 12) and their
 * execution. Program format 1 (section 4) and format 2 (section 12) both decode here, so
 * AIR 2 can prove any program; ext/vm.h stays the register AIR's fixed-size view of
 * format-1 programs.
 *
 * The Python interpreter (zkactors/zkvm/interpreter.py) is the oracle this is tested
 * against. A program zk_machine_decode accepted satisfies every rule of section 12, so
 * the run functions never check them again.
 */
#ifndef ZK_MACHINE_H
#define ZK_MACHINE_H

#include <stddef.h>
#include <stdint.h>

#include "field.h"
#include "vm.h"

#define ZK_MACHINE_MAX_REGISTERS 256
#define ZK_MACHINE_MAX_REG_INPUTS 256
#define ZK_MACHINE_MAX_REG_OUTPUTS 256
#define ZK_MACHINE_MAX_INSTRUCTIONS 65536
#define ZK_MACHINE_MAX_IO 65536 /* public inputs, and outputs, in all */

enum {
    ZK_OP_LOAD = 16, ZK_OP_LOAD_ABS = 17, ZK_OP_STORE = 18, ZK_OP_STORE_ABS = 19,
    ZK_OP_READ = 20, ZK_OP_WRITE = 21
};

/* Return codes of zk_machine_run beyond vm.h's ZK_VM_*. */
#define ZK_MACHINE_BAD_ADDRESS 5   /* load/store address outside [0, 2^32) at *fail_pc */
#define ZK_MACHINE_READ_PAST_END 6 /* read with no stream input left, at *fail_pc */
#define ZK_MACHINE_INPUTS_LEFT 7   /* halted with stream inputs unread */
#define ZK_MACHINE_TOO_MANY_OUTPUTS 8 /* more than ZK_MACHINE_MAX_IO outputs, at *fail_pc */
#define ZK_MACHINE_NO_MEMORY 9

typedef struct {
    uint8_t format; /* 1 or 2: the canonical encoding the bytes used */
    uint32_t n_registers, n_inputs, n_outputs, n_instructions;
    uint8_t outputs[ZK_MACHINE_MAX_REG_OUTPUTS];
    zk_instr *code; /* n_instructions entries, malloc'd; zk_machine_free releases them */
} zk_machine_program;

/* Parse canonical program bytes of format 1 or 2; 0 on success, -1 if malformed or
 * non-canonical (a format-2 encoding of a program format 1 can encode), -2 out of
 * memory. */
int zk_machine_decode(const uint8_t *bytes, size_t len, zk_machine_program *out);
void zk_machine_free(zk_machine_program *p);

/* Run on the statement's inputs (the .input registers' values, then the stream).
 * outputs receives the .output registers at halt then the written values (room for
 * ZK_MACHINE_MAX_IO), *n_outputs their count. 0 ok, else a ZK_VM_* or ZK_MACHINE_* code
 * with *fail_pc set where it applies. */
int zk_machine_run(const zk_machine_program *p, const fe *inputs, size_t n_inputs,
                   uint64_t max_cycles, fe *outputs, size_t *n_outputs, uint64_t *cycles,
                   uint32_t *fail_pc);

#endif
