/* A process-wide pool of the prover's large buffers, kept across proofs.
 *
 * Why: a long-running runtime proves thousands of times with buffers of a few sizes
 * (hundreds of KiB to hundreds of MiB) from several threads. Through malloc those
 * buffers land in per-thread arenas, and glibc's sliding mmap threshold moves large
 * ones from mmap into the arenas after the first free, where fragmentation makes the
 * resident set creep up proof after proof (the README used to advise MALLOC_ARENA_MAX=2
 * against that). The pool maps large buffers itself and hands them out again, so memory
 * stays flat and the page faults of fresh mappings are not paid on every proof.
 *
 * Contract: zk_pool_alloc(n) is malloc(n) (NULL on failure, 16-byte alignment at least)
 * and zk_pool_free(p) is free(p) (NULL allowed), for pointers from zk_pool_alloc only.
 * Both are thread-safe. Requests below ZK_POOL_MIN_BYTES go to malloc.
 *
 * Bounds (invariants kept at every return):
 *   - a buffer handed out has at most its request (rounded up to pages) resident: a
 *     reused buffer's pages beyond the new request are given back (MADV_DONTNEED), so a
 *     proof's peak memory is what it would be with malloc, the estimator's figure;
 *   - idle buffers are kept per size class (powers of two), at most ZK_POOL_PER_CLASS
 *     each, and their resident bytes total at most the cap: ZKACTORS_POOL_MB (MiB, read
 *     once; default 512; 0 disables keeping anything). A buffer that would break a bound
 *     is unmapped at once, so its memory goes back to the system.
 * Error paths free through zk_pool_free like every other path, so a failed proof
 * returns its buffers too. */
#ifndef ZK_POOL_H
#define ZK_POOL_H
#include <stddef.h>

#define ZK_POOL_MIN_BYTES ((size_t)128 << 10)
#define ZK_POOL_PER_CLASS 4

void *zk_pool_alloc(size_t n);
void zk_pool_free(void *p);

/* Counters for tests and benchmarks. */
typedef struct {
    size_t idle_buffers, idle_bytes; /* kept now (bytes: resident, page-rounded) */
    size_t hits, misses;             /* large requests served from the pool / mapped */
    size_t cap_bytes;
} zk_pool_stats;
void zk_pool_get_stats(zk_pool_stats *out);
/* Unmap every idle buffer (tests; a runtime that wants its memory back). */
void zk_pool_trim(void);

#endif
