/* The native STARK prover: docs/protocol.md section 8, from program bytes to the receipt
 * bytes of section 10.
 *
 * Everything runs in C on plain buffers (no Python object is touched), so the Cython
 * binding calls it with the GIL released. The result is a malloc'd receipt that the
 * caller frees with free().
 *
 *     zk_prove_result res;
 *     int rc = zk_prove(program, program_len, inputs, n_inputs, ZK_PROFILE_DEFAULT,
 *                       threads, max_cycles, &res);
 *     if (rc == ZK_PROVE_OK) { use(res.receipt, res.receipt_len); free(res.receipt); }
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
} zk_prove_timings;

typedef struct {
    uint8_t *receipt;     /* malloc'd; free() it. NULL unless ZK_PROVE_OK */
    size_t receipt_len;
    uint64_t cycles;      /* cycles executed (zk_prove only; 0 for zk_prove_with_trace) */
    unsigned log_t;       /* log2 of the trace length T */
    unsigned width;       /* trace width w */
    uint32_t fail_pc;     /* the failing instruction for INV_ZERO / ASSERT_FAILED */
    uint32_t n_outputs;
    fe outputs[16];
    zk_prove_timings timings;
    /* Optional, set by the caller before the call (NULL: none): the prover stores here
     * how many of the steps of protocol.md 8 are finished (0..7), so another thread can
     * watch a long proof advance. */
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

/* Peak bytes a proof of a width x 2^log_t trace allocates under a profile (SIZE_MAX for
 * an unknown profile or log_t > ZK_MAX_LOG_T). zk_prove refuses, with
 * ZK_PROVE_NO_MEMORY, proofs that need more than the machine's physical memory. */
size_t zk_prove_memory_bytes(size_t width, unsigned log_t, unsigned profile_id);

#endif
