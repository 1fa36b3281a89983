/* zk_parallel_for: fork `threads - 1` pthreads, run chunk 0 on the caller, join.
 *
 * Threads are created per call rather than pooled: the callers split work that takes
 * milliseconds, against tens of microseconds for a create/join, and a pool would need
 * global state shared by every module that compiles this file. If a thread cannot be
 * created its chunk runs on the caller, so the call always completes. */
#include "parallel.h"

#include <pthread.h>
#include <stdlib.h>

#define ZK_MAX_THREADS 256

/* The cancel flag bound on this thread (see parallel.h); NULL: not cancellable. */
static _Thread_local const int *bound_flag;

const int *zk_cancel_bind(const int *flag) {
    const int *previous = bound_flag;
    bound_flag = flag;
    return previous;
}

int zk_cancelled(void) {
    const int *flag = bound_flag;
    return flag != NULL && __atomic_load_n(flag, __ATOMIC_RELAXED) != 0;
}

typedef struct {
    zk_range_fn fn;
    void *ctx;
    size_t begin, end;
    const int *flag; /* the caller's binding, inherited by the thread that runs this */
} zk_chunk;

static void *run_chunk(void *arg) {
    zk_chunk *c = (zk_chunk *)arg;
    const int *previous = zk_cancel_bind(c->flag);
    /* A chunk that starts after a cancel has nothing worth computing. */
    if (!zk_cancelled()) c->fn(c->ctx, c->begin, c->end);
    zk_cancel_bind(previous);
    return NULL;
}

void zk_parallel_for(unsigned threads, size_t n, zk_range_fn fn, void *ctx) {
    if (n == 0) return;
    if (threads > n) threads = (unsigned)n;
    if (threads > ZK_MAX_THREADS) threads = ZK_MAX_THREADS;
    if (threads <= 1) {
        if (!zk_cancelled()) fn(ctx, 0, n);
        return;
    }
    zk_chunk chunks[ZK_MAX_THREADS];
    pthread_t ids[ZK_MAX_THREADS];
    unsigned char started[ZK_MAX_THREADS];
    for (unsigned t = 0; t < threads; t++) {
        /* n * t / threads without overflow for any size_t n: split n = q * threads + r. */
        size_t q = n / threads, r = n % threads;
        chunks[t].fn = fn;
        chunks[t].ctx = ctx;
        chunks[t].begin = q * t + (t < r ? t : r);
        chunks[t].end = chunks[t].begin + q + (t < r ? 1 : 0);
        chunks[t].flag = bound_flag;
    }
    for (unsigned t = 1; t < threads; t++)
        started[t] = pthread_create(&ids[t], NULL, run_chunk, &chunks[t]) == 0;
    run_chunk(&chunks[0]);
    for (unsigned t = 1; t < threads; t++) {
        if (started[t])
            pthread_join(ids[t], NULL);
        else
            run_chunk(&chunks[t]);
    }
}
