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

/* Ops 16..21 (load, store, read, write) are in vm.h with the others. */

/* Return codes of zk_machine_run beyond vm.h's ZK_VM_*. */
#define ZK_MACHINE_BAD_ADDRESS 5   /* load/store address outside [0, 2^32) at *fail_pc */
#define ZK_MACHINE_READ_PAST_END 6 /* read with no stream input left, at *fail_pc */
#define ZK_MACHINE_INPUTS_LEFT 7   /* halted with stream inputs unread */
#define ZK_MACHINE_TOO_MANY_OUTPUTS 8 /* more than ZK_MACHINE_MAX_IO outputs, at *fail_pc */
#define ZK_MACHINE_NO_MEMORY 9
#define ZK_MACHINE_BAD_INPUTS 10 /* fewer inputs than .input registers, or more than
                                    ZK_MACHINE_MAX_IO (the caller checks; never silent) */

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

/* ---- The machine's state, shared with AIR 2's trace builder (ext/air2.c) ----
 *
 * Timestamps are those of docs/protocol.md 13: the access of port X (A = 0, B = 1,
 * M = 2, C = 3) in cycle clk has timestamp 4*clk + X + 1; 0 is the initial token. With
 * an observer, the machine keeps the last timestamp of every register and RAM word as it
 * runs, so the trace builder learns every port's previous timestamp without a second
 * pass; without one (a plain run) it keeps only the values. */

/* One RAM word: key = address + 1 (0 marks an empty slot of the hash table). */
typedef struct { uint64_t key; fe value; uint64_t ts; } zk_ram_cell;

/* Open addressing, linear probing, capacity a power of two, at most half full. Words
 * never written or read are not stored: they hold 0 with timestamp 0. */
typedef struct { zk_ram_cell *cells; size_t cap, count; } zk_ram;

typedef struct {
    fe regs[ZK_MACHINE_MAX_REGISTERS];
    uint64_t reg_ts[ZK_MACHINE_MAX_REGISTERS];
    zk_ram ram;
    uint32_t pc;
    size_t in_pos;   /* index into the statement's inputs of the next stream input */
    size_t n_written; /* stream outputs written so far */
} zk_machine_state;

/* What one cycle did, port by port (a port the op leaves off is all zero). */
typedef struct {
    uint32_t pc;
    uint8_t eA, eB, eM, eC;
    fe vA, vB, vM, pvM, vC, pvC;
    uint64_t ptsA, ptsB, ptsM, ptsC;
    uint32_t addr;
} zk_machine_cycle;

/* Called after every completed cycle (the halt's included), in order: clk is the cycle's
 * index from 0. A nonzero return stops the run with that code. */
typedef int (*zk_machine_observer)(void *ctx, uint64_t clk, const zk_machine_cycle *c);

/* zk_machine_run with an observer (NULL: none, and the lean loop) and the final state
 * kept in *st: at a failure, the registers as they were before the failing instruction
 * and in_pos the stream inputs read. The caller releases *st with zk_machine_state_free,
 * whatever the return code. */
int zk_machine_exec(const zk_machine_program *p, const fe *inputs, size_t n_inputs,
                    uint64_t max_cycles, fe *outputs, size_t *n_outputs, uint64_t *cycles,
                    uint32_t *fail_pc, zk_machine_state *st, zk_machine_observer observe,
                    void *ctx);
void zk_machine_state_free(zk_machine_state *st);

#endif
