/* Merkle trees and batched openings, exactly as docs/protocol.md section 3.
 *
 * Hashing goes through zk_sha256_many_prefixed: leaves are runs of equal-length rows,
 * and a whole tree level is one run too, because the children of nodes[m .. 2m) are the
 * contiguous 64-byte pairs nodes[2m .. 4m). */
#include "merkle.h"

#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "parallel.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "leaf bytes are the in-memory field elements, which must be little-endian (LE64)"
#endif

/* Below this many hashes per thread a thread costs more than it saves. */
#define ZK_MIN_HASHES_PER_THREAD 512

static unsigned useful_threads(unsigned threads, size_t hashes) {
    size_t most = hashes / ZK_MIN_HASHES_PER_THREAD;
    if (most < 1) most = 1;
    return threads < 1 ? 1 : (threads > most ? (unsigned)most : threads);
}

/* ---- leaves ---- */

typedef struct {
    const fe *elems;
    size_t row_len;
    zk_digest *out;
} rows_job;

static void hash_rows_chunk(void *ctx, size_t begin, size_t end) {
    const rows_job *job = (const rows_job *)ctx;
    size_t bytes = job->row_len * sizeof(fe);
    zk_sha256_many_prefixed(ZK_DS_LEAF, job->elems + begin * job->row_len, bytes, bytes,
                            end - begin, job->out[begin].b);
}

void zk_hash_rows(const fe *elems, size_t row_len, size_t n_rows, zk_digest *out,
                  unsigned threads) {
    rows_job job = {elems, row_len, out};
    zk_parallel_for(useful_threads(threads, n_rows), n_rows, hash_rows_chunk, &job);
}

typedef struct {
    const fe *const *cols;
    size_t n_cols;
    zk_digest *out;
} columns_job;

#define ZK_GATHER_BYTES 16384 /* rows gathered per batch: stays in L1 */

static void hash_columns_chunk(void *ctx, size_t begin, size_t end) {
    const columns_job *job = (const columns_job *)ctx;
    size_t n_cols = job->n_cols, row_bytes = n_cols * sizeof(fe);
    size_t batch = row_bytes ? ZK_GATHER_BYTES / row_bytes : 64;
    if (batch < 1) batch = 1;
    fe *rows = n_cols ? (fe *)malloc(batch * row_bytes) : NULL;
    if (n_cols && !rows) {
        /* No memory for a batch: hash row by row, reading each element in place. */
        for (size_t r = begin; r < end; r++) {
            zk_sha256_ctx h;
            uint8_t prefix = ZK_DS_LEAF;
            zk_sha256_init(&h);
            zk_sha256_update(&h, &prefix, 1);
            for (size_t c = 0; c < n_cols; c++) zk_sha256_update(&h, &job->cols[c][r], sizeof(fe));
            zk_sha256_final(&h, job->out[r].b);
        }
        return;
    }
    for (size_t r0 = begin; r0 < end; r0 += batch) {
        size_t count = end - r0 < batch ? end - r0 : batch;
        for (size_t c = 0; c < n_cols; c++) {
            const fe *col = job->cols[c] + r0;
            for (size_t r = 0; r < count; r++) rows[r * n_cols + c] = col[r];
        }
        zk_sha256_many_prefixed(ZK_DS_LEAF, rows, row_bytes, row_bytes, count, job->out[r0].b);
    }
    free(rows);
}

void zk_hash_rows_from_columns(const fe *const *cols, size_t n_cols, size_t n_rows,
                               zk_digest *out, unsigned threads) {
    columns_job job = {cols, n_cols, out};
    zk_parallel_for(useful_threads(threads, n_rows), n_rows, hash_columns_chunk, &job);
}

/* ---- tree ---- */

static inline void hash_level_range(zk_digest *nodes, size_t m, size_t begin, size_t end) {
    /* nodes[m + begin .. m + end) from their children, which start at nodes[2(m + begin)]. */
    zk_sha256_many_prefixed(ZK_DS_NODE, nodes[2 * (m + begin)].b, 64, 64, end - begin,
                            nodes[m + begin].b);
}

typedef struct {
    zk_digest *nodes;
    size_t n_leaves, subtrees;
} build_job;

/* Subtree s of `subtrees` equal ones: at each level of m >= subtrees nodes, its share is
 * the s-th of `subtrees` equal slices, whose children are the same slice one level down. */
/* Nodes hashed between two polls of the cancel flag (parallel.h): about a millisecond. */
#define ZK_CANCEL_NODES 4096

static void build_subtrees(void *ctx, size_t begin, size_t end) {
    const build_job *job = (const build_job *)ctx;
    for (size_t m = job->n_leaves / 2; m >= job->subtrees && m >= 1; m /= 2) {
        size_t share = m / job->subtrees;
        for (size_t lo = begin * share, hi = end * share; lo < hi; lo += ZK_CANCEL_NODES) {
            if (zk_cancelled()) return;
            hash_level_range(job->nodes, m, lo, hi - lo < ZK_CANCEL_NODES ? hi : lo + ZK_CANCEL_NODES);
        }
    }
}

void zk_merkle_build(zk_digest *nodes, size_t n_leaves, unsigned threads) {
    if (n_leaves < 2) return;
    unsigned t = useful_threads(threads, n_leaves / 2);
    size_t subtrees = 1;
    while (subtrees * 2 <= t) subtrees *= 2;
    build_job job = {nodes, n_leaves, subtrees};
    zk_parallel_for((unsigned)subtrees, subtrees, build_subtrees, &job);
    for (size_t m = subtrees / 2; m >= 1; m /= 2) hash_level_range(nodes, m, 0, m);
}

/* ---- batched openings ---- */

static int is_power_of_two(size_t n) { return n && !(n & (n - 1)); }

static int indices_valid(size_t n_leaves, const size_t *indices, size_t k) {
    if (!is_power_of_two(n_leaves) || k == 0) return 0;
    for (size_t j = 0; j < k; j++) {
        if (indices[j] >= n_leaves) return 0;
        if (j && indices[j] <= indices[j - 1]) return 0;
    }
    return 1;
}

/* The known set at each level is {(n + i_j) >> level}, computed on the fly from the
 * sorted indices (equal values are adjacent), so opening allocates nothing. */
size_t zk_merkle_multiproof(const zk_digest *nodes, size_t n_leaves, const size_t *indices,
                            size_t k, zk_digest *proof) {
    if (!indices_valid(n_leaves, indices, k)) return 0;
    size_t count = 0;
    for (size_t shift = 0; (n_leaves >> shift) > 1; shift++) {
        for (size_t j = 0; j < k;) {
            size_t v = (n_leaves + indices[j]) >> shift;
            size_t next = j + 1;
            while (next < k && ((n_leaves + indices[next]) >> shift) == v) next++;
            if (!(v & 1) && next < k && ((n_leaves + indices[next]) >> shift) == v + 1) {
                /* both children known: skip the sibling and everything equal to it */
                next++;
                while (next < k && ((n_leaves + indices[next]) >> shift) == v + 1) next++;
            } else {
                proof[count++] = nodes[v ^ 1];
            }
            j = next;
        }
    }
    return count;
}

static void hash_pair(const zk_digest *left, const zk_digest *right, zk_digest *out) {
    uint8_t pair[64];
    memcpy(pair, left->b, 32);
    memcpy(pair + 32, right->b, 32);
    zk_sha256_prefixed(ZK_DS_NODE, pair, 64, out->b);
}

#define ZK_VERIFY_STACK 64

int zk_merkle_verify(const zk_digest *root, size_t n_leaves, const size_t *indices,
                     const zk_digest *leaves, size_t k, const zk_digest *proof,
                     size_t proof_count) {
    if (!indices_valid(n_leaves, indices, k)) return 0;
    size_t stack_idx[ZK_VERIFY_STACK];
    zk_digest stack_dig[ZK_VERIFY_STACK];
    size_t *idx = stack_idx;
    zk_digest *dig = stack_dig;
    if (k > ZK_VERIFY_STACK) {
        idx = (size_t *)malloc(k * sizeof(size_t));
        dig = (zk_digest *)malloc(k * sizeof(zk_digest));
        if (!idx || !dig) {
            free(idx);
            free(dig);
            return 0; /* fail closed */
        }
    }
    for (size_t j = 0; j < k; j++) {
        idx[j] = n_leaves + indices[j];
        dig[j] = leaves[j];
    }
    size_t len = k, used = 0;
    int ok = 1;
    /* Invariant: idx[0..len) are distinct, ascending, all on one level; dig holds their
     * digests. Each pass moves everything one level up, writing at or before the read
     * position. */
    while (ok && !(len == 1 && idx[0] == 1)) {
        size_t out = 0;
        for (size_t q = 0; q < len; q++) {
            size_t v = idx[q];
            zk_digest parent;
            if (!(v & 1) && q + 1 < len && idx[q + 1] == v + 1) {
                hash_pair(&dig[q], &dig[q + 1], &parent);
                q++;
            } else if (used < proof_count) {
                if (v & 1)
                    hash_pair(&proof[used], &dig[q], &parent);
                else
                    hash_pair(&dig[q], &proof[used], &parent);
                used++;
            } else {
                ok = 0; /* proof too short */
                break;
            }
            idx[out] = v >> 1;
            dig[out] = parent;
            out++;
        }
        len = out;
    }
    ok = ok && used == proof_count && memcmp(dig[0].b, root->b, 32) == 0;
    if (idx != stack_idx) {
        free(idx);
        free(dig);
    }
    return ok;
}
