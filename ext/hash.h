/* SHA-256 with runtime dispatch: SHA-NI when the CPU has it, portable C otherwise.
 * Domain-separation prefixes of docs/protocol.md section 2 are applied by the callers. */
#ifndef ZK_HASH_H
#define ZK_HASH_H
#include <stddef.h>
#include <stdint.h>

#define ZK_DS_LEAF 0x00
#define ZK_DS_NODE 0x01
#define ZK_DS_ABSORB 0x02
#define ZK_DS_SQUEEZE 0x03
#define ZK_DS_POW 0x04

typedef struct { uint32_t state[8]; uint64_t length; uint8_t buffer[64]; size_t buffered; } zk_sha256_ctx;

void zk_sha256_init(zk_sha256_ctx *ctx);
void zk_sha256_update(zk_sha256_ctx *ctx, const void *data, size_t len);
void zk_sha256_final(zk_sha256_ctx *ctx, uint8_t out[32]);
void zk_sha256(const void *data, size_t len, uint8_t out[32]);
/* H(prefix || data) without copying data. */
void zk_sha256_prefixed(uint8_t prefix, const void *data, size_t len, uint8_t out[32]);
/* 1 when the SHA-NI kernel is in use (for benchmarks and tests of both paths). */
int zk_sha256_has_shani(void);
/* Force the portable kernel (tests compare both paths); returns the previous setting. */
int zk_sha256_force_portable(int force);

/* ---- additions ----
 * out + 32*i receives H(prefix || data[i*stride .. i*stride + len)) for i < count; with
 * SHA-NI two messages are hashed interleaved. Merkle leaves and whole tree levels are
 * this call (a level's children are contiguous 64-byte pairs). out must not overlap the
 * messages still to be read. */
void zk_sha256_many_prefixed(uint8_t prefix, const void *data, size_t len, size_t stride,
                             size_t count, uint8_t *out);
/* The same without a prefix: out + 32*i = H(data[i*stride .. i*stride + len)). */
void zk_sha256_many(const void *data, size_t len, size_t stride, size_t count, uint8_t *out);
/* 1 when the many-message calls hash 16 messages at a time with AVX-512 (SHA-NI or
 * portable C take single messages and the remainder). */
int zk_sha256_has_multibuffer(void);
/* Switch the 16-lane kernel off (tests and benchmarks compare paths); returns the previous
 * setting. zk_sha256_force_portable also switches it off. */
int zk_sha256_force_no_multibuffer(int force);

#endif
