/* Merkle trees of docs/protocol.md section 3: nodes[2n] with nodes[1] the root and
 * nodes[n + i] the digest of leaf i. Digests are 32 bytes. */
#ifndef ZK_MERKLE_H
#define ZK_MERKLE_H
#include "field.h"

typedef struct { uint8_t b[32]; } zk_digest;

/* Leaf digests of rows gathered from columns: leaf i = H(0x00 || cols[0][i] || ... ||
 * cols[n_cols-1][i]) with each element as LE64. Spread over `threads`. */
void zk_hash_rows_from_columns(const fe *const *cols, size_t n_cols, size_t n_rows,
                               zk_digest *out, unsigned threads);
/* Leaf digests of contiguous rows: leaf i = H(0x00 || elems[i*row_len .. (i+1)*row_len]). */
void zk_hash_rows(const fe *elems, size_t row_len, size_t n_rows, zk_digest *out,
                  unsigned threads);
/* Fill nodes[1..n) from the leaf digests already in nodes[n..2n). n a power of two. */
void zk_merkle_build(zk_digest *nodes, size_t n_leaves, unsigned threads);

/* Multiproof of the sorted, distinct leaf indices; writes at most k*log2(n) digests to
 * proof and returns how many it wrote. */
size_t zk_merkle_multiproof(const zk_digest *nodes, size_t n_leaves, const size_t *indices,
                            size_t k, zk_digest *proof);
/* 1 iff the leaf digests at the sorted, distinct indices and the proof (consumed exactly)
 * hash up to root. */
int zk_merkle_verify(const zk_digest *root, size_t n_leaves, const size_t *indices,
                     const zk_digest *leaves, size_t k, const zk_digest *proof,
                     size_t proof_count);

#endif
