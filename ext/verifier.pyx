# cython: language_level=3
"""The native STARK verifier (``zkactors._native.verifier``).

``zkactors.zkvm.verifier`` is the only caller. The C side decodes and checks the raw
receipt and program bytes itself and never reads outside them, so the only thing
checked here is that both arguments are byte buffers; the whole verification runs with
the GIL released.
"""

from libc.stdint cimport uint8_t, uint32_t

cdef extern from "verifier.h":
    int zk_verify(const uint8_t *receipt, size_t receipt_len, const uint8_t *program,
                  size_t program_len, double min_security_bits, char *reason,
                  size_t reason_cap) nogil
    const char *zk_verify_check_name(int code) nogil
    int ZK_VERIFY_OK
    int ZK_VERIFY_NO_MEMORY

cdef extern from "profiles.h":
    ctypedef struct zk_profile:
        pass
    const zk_profile *zk_profile_by_id(unsigned id) nogil
    double zk_security_bits(const zk_profile *prof, unsigned log_t,
                            uint32_t n_constraints) nogil
    double zk_security_bits_air2(const zk_profile *prof, unsigned log_t,
                                 uint32_t n_constraints) nogil

cdef enum:
    REASON_CAP = 512


def verify(const uint8_t[::1] receipt, const uint8_t[::1] program, double min_security_bits):
    """Verify receipt bytes against canonical program bytes, accepting only receipts of at
    least ``min_security_bits`` conjectured bits (the caller's policy).

    Returns ``None`` when the receipt proves its statement, else ``(check, reason)``: the
    failed check's name (protocol.md 9.5) and a one-line reason.

    :raises MemoryError: if the verifier's scratch space (tens of KiB) cannot be allocated.
    """
    cdef char reason[REASON_CAP]
    cdef const uint8_t *receipt_ptr = NULL
    cdef const uint8_t *program_ptr = NULL
    cdef size_t receipt_len = receipt.shape[0]
    cdef size_t program_len = program.shape[0]
    cdef int rc
    # An empty memoryview has no element 0 to take the address of.
    if receipt_len:
        receipt_ptr = &receipt[0]
    if program_len:
        program_ptr = &program[0]
    with nogil:
        rc = zk_verify(receipt_ptr, receipt_len, program_ptr, program_len, min_security_bits,
                       reason, REASON_CAP)
    if rc == ZK_VERIFY_OK:
        return None
    if rc == ZK_VERIFY_NO_MEMORY:
        raise MemoryError("the native verifier could not allocate its scratch space")
    return (zk_verify_check_name(rc).decode("ascii"), reason.decode("utf-8", "replace"))


def security_bits(unsigned profile_id, unsigned log_t, uint32_t n_constraints, int air=1):
    """The policy's figure as this verifier computes it (ext/profiles.h), for tests that
    hold it to zkactors.profiles bit for bit."""
    cdef const zk_profile *prof = zk_profile_by_id(profile_id)
    if prof == NULL:
        raise ValueError(f"unknown profile id {profile_id}")
    if air == 2:
        return zk_security_bits_air2(prof, log_t, n_constraints)
    return zk_security_bits(prof, log_t, n_constraints)


def check_name(int code):
    """The check name of a native return code (for tests of the code table)."""
    return zk_verify_check_name(code).decode("ascii")


# ---- kernel level (ext/cpu.h) ----------------------------------------------------------

include "kernels.pxi"
