/* The native STARK verifier: docs/protocol.md section 9 over the receipt bytes of
 * section 10 (format 2, AIR 1) and section 17 over those of section 16 (format 3, AIR 2);
 * the format version says which AIR a receipt claims.
 *
 * zk_verify decodes everything itself from raw bytes (the receipt and the program's
 * canonical bytes), so a caller cannot hand it a half-checked object. It is strict and
 * total: every length is checked against the bound the statement implies before it is
 * used, nothing is read outside the given buffers, and any input, however malformed,
 * ends in a return code, never a crash. It touches no Python object, so callers release
 * the GIL around it.
 */
#ifndef ZK_VERIFIER_H
#define ZK_VERIFIER_H

#include <stddef.h>
#include <stdint.h>

/* Return codes: 0 accepts; each other value names the first check that failed, in the
 * vocabulary of protocol.md 9.5 (zk_verify_check_name gives the name). */
#define ZK_VERIFY_OK 0
#define ZK_CHECK_FORMAT 1
#define ZK_CHECK_STATEMENT 2
#define ZK_CHECK_OOD 3
#define ZK_CHECK_GRINDING 4
#define ZK_CHECK_TRACE_MERKLE 5
#define ZK_CHECK_COMPOSITION_MERKLE 6
#define ZK_CHECK_FRI_MERKLE 7
#define ZK_CHECK_DEEP 8
#define ZK_CHECK_FRI_FOLD 9
#define ZK_CHECK_FRI_REMAINDER 10
#define ZK_VERIFY_NO_MEMORY 11 /* not a verdict: the verifier could not allocate */
#define ZK_CHECK_POLICY 12
#define ZK_CHECK_AUX_MERKLE 13 /* format 3: the auxiliary (LogUp) tree, protocol.md 17 */

/* Verify `receipt` against the program whose canonical bytes are `program`, accepting
 * only a receipt whose conjectured security (zk_security_bits, from this verifier's own
 * profile table, the receipt's T and the program's constraint count) is at least
 * `min_security_bits`: the caller's policy, never the prover's choice. The policy is
 * checked right after the statement, before the transcript is replayed. Returns one
 * of the codes above; on rejection writes a one-line, NUL-terminated reason (what was
 * wrong, and where) into reason[0..reason_cap). reason may be NULL when reason_cap is 0. */
int zk_verify(const uint8_t *receipt, size_t receipt_len, const uint8_t *program,
              size_t program_len, double min_security_bits, char *reason, size_t reason_cap);

/* "format", "statement", ... for a rejection code; "ok" for 0; "" for unknown codes. */
const char *zk_verify_check_name(int code);

#endif
