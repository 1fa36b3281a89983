/* The prover's buffer pool (see pool.h). */
#include "pool.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* Every block starts with this header, HEADER bytes before the pointer handed out, so
 * zk_pool_free knows what it holds. HEADER is 64 so that mapped buffers stay aligned to
 * cache lines (mmap returns page-aligned addresses). */
#define HEADER 64
#define MAGIC_MALLOC 0x7A6B6D616C6C6F63ULL /* "zkmalloc" */
#define MAGIC_MAPPED 0x7A6B6D6D61707065ULL /* "zkmmappe" */
#define N_CLASSES 48                       /* class k holds mappings of 2^k bytes */

/* Under AddressSanitizer every request goes to malloc: ASan cannot see overflows inside
 * our own mappings, and the sanitizer build exists to find exactly those. */
#if defined(__SANITIZE_ADDRESS__)
#define ZK_POOL_PASSTHROUGH 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ZK_POOL_PASSTHROUGH 1
#endif
#endif
#ifdef ZK_POOL_PASSTHROUGH
#define ZK_POOL_THRESHOLD SIZE_MAX
#else
#define ZK_POOL_THRESHOLD ZK_POOL_MIN_BYTES
#endif

typedef struct block {
    uint64_t magic;
    size_t mapped;   /* bytes mapped (a power of two), 0 for a malloc'd block */
    size_t resident; /* bytes from the start that may be resident (page-rounded) */
    struct block *next;
} block;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static block *idle[N_CLASSES]; /* per class, a stack of idle mappings */
static size_t idle_count[N_CLASSES];
static zk_pool_stats stats;
static int cap_read;

static size_t page_size(void) {
    /* Computed once; racing threads store the same value, hence relaxed atomics. */
    static size_t page;
    size_t v = __atomic_load_n(&page, __ATOMIC_RELAXED);
    if (!v) {
        long p = sysconf(_SC_PAGESIZE);
        v = p > 0 ? (size_t)p : 4096;
        __atomic_store_n(&page, v, __ATOMIC_RELAXED);
    }
    return v;
}

static size_t round_pages(size_t n) {
    size_t page = page_size();
    return (n + page - 1) / page * page;
}

/* Called with the lock held. */
static void read_cap(void) {
    if (cap_read) return;
    cap_read = 1;
    stats.cap_bytes = (size_t)512 << 20;
    const char *v = getenv("ZKACTORS_POOL_MB");
    if (v && *v) {
        char *end;
        unsigned long long mb = strtoull(v, &end, 10);
        if (*end == '\0') stats.cap_bytes = (size_t)mb << 20;
    }
}

static unsigned class_of(size_t bytes) {
    unsigned k = 0;
    while (((size_t)1 << k) < bytes) k++;
    return k;
}

void *zk_pool_alloc(size_t n) {
    if (n > SIZE_MAX / 2 - HEADER) return NULL;
    if (n < ZK_POOL_THRESHOLD) {
        block *b = (block *)malloc(HEADER + n);
        if (!b) return NULL;
        b->magic = MAGIC_MALLOC;
        b->mapped = 0;
        return (char *)b + HEADER;
    }
    size_t want = round_pages(HEADER + n);
    unsigned k = class_of(want);
    if (k >= N_CLASSES) return NULL;
    block *b = NULL;
    pthread_mutex_lock(&lock);
    read_cap();
    if (idle[k]) {
        b = idle[k];
        idle[k] = b->next;
        idle_count[k]--;
        stats.idle_buffers--;
        stats.idle_bytes -= b->resident;
        stats.hits++;
    } else {
        stats.misses++;
    }
    pthread_mutex_unlock(&lock);
    if (b) {
        /* Give back what the previous user touched beyond this request, so the pages
         * this proof can have resident are those it asked for. */
        if (b->resident > want) {
            madvise((char *)b + want, b->resident - want, MADV_DONTNEED);
            b->resident = want;
        }
    } else {
        size_t bytes = (size_t)1 << k;
        void *m = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED) return NULL;
        b = (block *)m;
        b->magic = MAGIC_MAPPED;
        b->mapped = bytes;
        b->resident = 0;
    }
    if (want > b->resident) b->resident = want;
    return (char *)b + HEADER;
}

void zk_pool_free(void *p) {
    if (!p) return;
    block *b = (block *)((char *)p - HEADER);
    if (b->magic == MAGIC_MALLOC) {
        free(b);
        return;
    }
    unsigned k = class_of(b->mapped);
    pthread_mutex_lock(&lock);
    read_cap();
    int keep = idle_count[k] < ZK_POOL_PER_CLASS && stats.idle_bytes + b->resident <= stats.cap_bytes;
    if (keep) {
        b->next = idle[k];
        idle[k] = b;
        idle_count[k]++;
        stats.idle_buffers++;
        stats.idle_bytes += b->resident;
    }
    pthread_mutex_unlock(&lock);
    if (!keep) munmap(b, b->mapped);
}

void zk_pool_get_stats(zk_pool_stats *out) {
    pthread_mutex_lock(&lock);
    read_cap();
    *out = stats;
    pthread_mutex_unlock(&lock);
}

void zk_pool_trim(void) {
    block *all[N_CLASSES];
    pthread_mutex_lock(&lock);
    for (unsigned k = 0; k < N_CLASSES; k++) {
        all[k] = idle[k];
        idle[k] = NULL;
        idle_count[k] = 0;
    }
    stats.idle_buffers = 0;
    stats.idle_bytes = 0;
    pthread_mutex_unlock(&lock);
    for (unsigned k = 0; k < N_CLASSES; k++) {
        while (all[k]) {
            block *next = all[k]->next;
            munmap(all[k], all[k]->mapped);
            all[k] = next;
        }
    }
}
