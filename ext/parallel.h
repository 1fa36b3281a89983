/* A minimal parallel-for over pthreads: split [0, n) into `threads` contiguous chunks.
 * threads <= 1 calls fn(ctx, 0, n) on the caller's thread with no thread created, so the
 * single-threaded path pays nothing for the option. */
#ifndef ZK_PARALLEL_H
#define ZK_PARALLEL_H
#include <stddef.h>

typedef void (*zk_range_fn)(void *ctx, size_t begin, size_t end);
void zk_parallel_for(unsigned threads, size_t n, zk_range_fn fn, void *ctx);

/* Cooperative cancellation. A thread binds a flag: an int owned by the caller, which
 * another thread sets to non-zero (with an atomic store) to ask the work to stop.
 * zk_parallel_for binds the calling thread's flag in every thread it starts, so a long
 * loop anywhere below the binding call (transforms, hashing, the prover's own loops)
 * polls zk_cancelled() without the flag being passed through its signature.
 *
 * Invariant for callers: work that sees the flag set returns early and leaves its
 * outputs partly computed (still in bounds, never read out of range); whoever bound the
 * flag checks zk_cancelled() after each call and discards such outputs. Nothing polls
 * when no flag is bound, so code outside a cancellable call is unchanged.
 *
 * zk_cancel_bind returns the previous binding, to be restored by the caller. */
const int *zk_cancel_bind(const int *flag);
int zk_cancelled(void);

#endif
