/* The native STARK prover: docs/protocol.md section 8, from program bytes to the receipt
 * bytes of section 10 (AIR 1, zk_prove), and section 15, to the receipt bytes of section
 * 16 (AIR 2, the machine AIR, zk_prove_machine).
 *
 * Everything runs in C on plain buffers (no Python object is touched), so the Cython
 * binding calls it with the GIL released. The result holds a malloc'd receipt and
 * malloc'd outputs; zk_prove_result_free releases both, whatever the return code.
 *
 *     zk_prove_result res = {0};
 *     int rc = zk_prove(program, program_len, inputs, n_inputs, ZK_PROFILE_DEFAULT,
 *                       threads, max_cycles, &res);
 *     if (rc == ZK_PROVE_OK) use(res.receipt, res.receipt_len, res.outputs, res.n_outputs);
 *     zk_prove_result_free(&res);
 *
 * Bytes depend only on (program, inputs, profile): never on `threads`.
 */
#ifndef ZK_PROVER_H
#define ZK_PROVER_H

#include <stddef.h>
#include <stdint.h>

#include "field.h"

/* Return codes. */
#define ZK_PROVE_OK 0
#define ZK_PROVE_BAD_PROGRAM 1   /* program bytes are not a canonical program */
#define ZK_PROVE_BAD_PROFILE 2   /* unknown profile id */
#define ZK_PROVE_BAD_INPUTS 3    /* wrong input count, or an input >= p */
#define ZK_PROVE_CYCLE_LIMIT 4   /* no halt within max_cycles */
#define ZK_PROVE_INV_ZERO 5      /* inv of 0 at fail_pc */
#define ZK_PROVE_ASSERT_FAILED 6 /* assert_zero / assert_eq failed at fail_pc */
#define ZK_PROVE_TOO_LARGE 7     /* the trace would need more than 2^ZK_MAX_LOG_T rows */
#define ZK_PROVE_NO_MEMORY 8
#define ZK_PROVE_BAD_TRACE 9     /* zk_prove_with_trace: wrong width / length / outputs,
                                    or a value >= p */
#define ZK_PROVE_CANCELLED 10    /* *res->cancel became non-zero: stopped, nothing kept */
/* AIR 2 (zk_prove_machine): the machine's failures (machine.h), at fail_pc where it
 * applies, and a LogUp challenge that hit a looked-up value (alpha - v = 0 on a row,
 * probability about 28T/|K|, protocol.md 17: the same statement draws the same alpha,
 * so only another program or input proves; air2.c's builder also reports an allocation
 * failure of its scratch this way). */
#define ZK_PROVE_BAD_ADDRESS 11      /* load/store address outside [0, 2^32) */
#define ZK_PROVE_READ_PAST_END 12    /* read with no stream input left */
#define ZK_PROVE_INPUTS_LEFT 13      /* halted with stream inputs unread */
#define ZK_PROVE_TOO_MANY_OUTPUTS 14 /* more than 2^16 public outputs */
#define ZK_PROVE_UNLUCKY 15          /* alpha - v = 0 for some LogUp fraction */

/* Where the time went, in seconds (protocol.md 8 step by step). */
typedef struct {
    double trace;              /* execution and trace columns */
    double lde;                /* interpolation and low-degree extension of the trace */
    double trace_commit;       /* hashing the LDE rows, Merkle tree */
    double composition;        /* constraint evaluation, interpolation, segment LDE */
    double composition_commit; /* hashing the segment rows, Merkle tree */
    double ood;                /* t(z), t(z w), C_i(z) */
    double deep;               /* DEEP polynomial and its evaluation on D */
    double fri;                /* FRI layers: evaluation, commitment, folding */
    double grinding;
    double queries;            /* positions, openings and the receipt bytes */
    double total;
    double aux;                /* AIR 2: fixed and auxiliary columns, their LDE and tree */
} zk_prove_timings;

typedef struct {
    uint8_t *receipt;     /* malloc'd; free() it. NULL unless ZK_PROVE_OK */
    size_t receipt_len;
    uint64_t cycles;      /* cycles executed (zk_prove only; 0 for zk_prove_with_trace) */
    unsigned log_t;       /* log2 of the trace length T */
    unsigned width;       /* trace width w */
    uint32_t fail_pc;     /* the failing instruction for INV_ZERO / ASSERT_FAILED */
    uint32_t n_outputs;
    fe *outputs;          /* n_outputs values, malloc'd (NULL if none); see below */
    zk_prove_timings timings;
    /* Optional, set by the caller before the call (NULL: none): the prover stores here
     * how many of the steps of protocol.md 8 are finished (0..7), so another thread can
     * watch a long proof advance; under AIR 2 (zk_prove_machine) 0..8: 1 once the main
     * trace is committed, 2 once the auxiliary segment is, then as AIR 1 plus one. */
    volatile uint32_t *progress;
    /* Optional, set by the caller before the call (NULL: not cancellable): a flag that
     * another thread sets to non-zero with zk_prove_cancel to stop the proof. The prover
     * polls it between steps and inside every long loop, its worker threads included
     * (see parallel.h), about every millisecond of work, and then returns
     * ZK_PROVE_CANCELLED with everything it allocated freed. A flag already set before
     * the call cancels it at once. The caller owns the flag and keeps it alive until
     * the call returns. */
    const int *cancel;
} zk_prove_result;

/* Release res->receipt and res->outputs (either may be NULL) and set them to NULL. Call
 * it after every zk_prove* call, whatever the return code. (res->receipt may instead be
 * freed with free() and set to NULL first, as before outputs became a pointer.) */
void zk_prove_result_free(zk_prove_result *res);

/* Ask the proof watching *flag to stop (safe from any thread, at any time). */
void zk_prove_cancel(int *flag);

/* Execute `program` on `inputs` (canonical, n_inputs = the program's input count) and
 * prove the run under profile `profile_id` with `threads` threads (>= 1). */
int zk_prove(const uint8_t *program, size_t program_len, const fe *inputs, size_t n_inputs,
             unsigned profile_id, unsigned threads, uint64_t max_cycles, zk_prove_result *res);

/* TEST HOOK (soundness tests): run steps 1-7 of protocol.md 8 honestly on a caller-given
 * trace, which may be forged. columns[c] holds 2^log_t canonical values for each of the
 * program's w columns; outputs are the claimed public outputs (n_outputs = the program's
 * output count). No execution happens: the receipt states exactly these inputs/outputs.
 * The composition polynomial is evaluated on the whole LDE domain as protocol.md 8.2
 * says, so the receipt is the one any honest implementation of the protocol produces
 * from this trace, satisfied or not. */
int zk_prove_with_trace(const uint8_t *program, size_t program_len, const fe *inputs,
                        size_t n_inputs, const fe *outputs, size_t n_outputs,
                        const fe *const *columns, size_t width, unsigned log_t,
                        unsigned profile_id, unsigned threads, zk_prove_result *res);

/* ---- AIR 2, the machine AIR (protocol.md 12-16) ----
 *
 * Execute a program of format 1 or 2 on `inputs` (the .input registers' values, then the
 * stream inputs: at least the program's input count, at most 2^16, canonical) and prove
 * the run under AIR 2: receipt format 3. res->outputs receives the .output registers at
 * halt then the written values (res->n_outputs of them). res->width is 56. */
int zk_prove_machine(const uint8_t *program, size_t program_len, const fe *inputs,
                     size_t n_inputs, unsigned profile_id, unsigned threads,
                     uint64_t max_cycles, zk_prove_result *res);

/* TEST HOOK: protocol.md 15 on a caller-given, possibly forged, main trace (56 columns of
 * 2^log_t canonical values) with the claimed statement outputs; nothing is executed. The
 * composition is evaluated on the whole LDE domain (M = N, the protocol's literal recipe)
 * so the receipt is the one any implementation produces from this trace. BAD_TRACE if
 * the statement is one the verifier refuses outright (section 17: counts, T, outputs
 * naming one register that disagree) or a value is not canonical. */
int zk_prove_machine_with_trace(const uint8_t *program, size_t program_len, const fe *inputs,
                                size_t n_inputs, const fe *outputs, size_t n_outputs,
                                const fe *const *columns, size_t width, unsigned log_t,
                                unsigned profile_id, unsigned threads, zk_prove_result *res);

/* Peak bytes an AIR 2 proof of 2^log_t rows allocates under a profile (SIZE_MAX for an
 * unknown profile or log_t outside [8, ZK_MAX_LOG_T]); zk_prove_machine refuses, with
 * ZK_PROVE_NO_MEMORY, proofs that need more than the machine's physical memory. */
size_t zk_prove_machine_memory_bytes(unsigned log_t, unsigned profile_id);

/* Peak bytes a proof of a width x 2^log_t trace allocates under a profile (SIZE_MAX for
 * an unknown profile or log_t > ZK_MAX_LOG_T). zk_prove refuses, with
 * ZK_PROVE_NO_MEMORY, proofs that need more than the machine's physical memory. */
size_t zk_prove_memory_bytes(size_t width, unsigned log_t, unsigned profile_id);

#endif
