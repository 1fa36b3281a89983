/* A minimal parallel-for over pthreads: split [0, n) into `threads` contiguous chunks.
 * threads <= 1 calls fn(ctx, 0, n) on the caller's thread with no thread created, so the
 * single-threaded path pays nothing for the option. */
#ifndef ZK_PARALLEL_H
#define ZK_PARALLEL_H
#include <stddef.h>

typedef void (*zk_range_fn)(void *ctx, size_t begin, size_t end);
void zk_parallel_for(unsigned threads, size_t n, zk_range_fn fn, void *ctx);

#endif
