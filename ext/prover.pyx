# cython: language_level=3
"""The native STARK prover (``zkactors._native.prover``), and the transcript and AIR it
is built on, exposed for tests.

``zkactors.zkvm.prover`` is the caller: it validates programs, inputs, profiles and
thread counts and turns return codes into typed errors. This module checks every buffer
size before entering C, and releases the GIL for the whole proof.
"""

from cpython.mem cimport PyMem_Free, PyMem_Malloc
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t
from libc.stdlib cimport free
from libc.string cimport memset

cdef extern from "field.h":
    ctypedef uint64_t fe
    ctypedef struct fe3:
        fe c0
        fe c1
        fe c2

cdef extern from "vm.h":
    ctypedef struct zk_program:
        uint32_t n_registers
        uint32_t n_inputs
        uint32_t n_outputs
        uint32_t n_instructions
    int zk_program_decode(const uint8_t *data, size_t length, zk_program *out) nogil

cdef extern from "profiles.h":
    ctypedef struct zk_profile:
        uint8_t id
        uint8_t log_blowup
        uint16_t queries
        uint8_t grinding_bits
        uint8_t log_folding
        uint16_t max_remainder
    const zk_profile *zk_profile_by_id(unsigned id) nogil
    unsigned zk_fri_num_layers(const zk_profile *prof, unsigned log_t, size_t *remainder_size) nogil
    int ZK_MIN_LOG_T
    int ZK_MAX_LOG_T

cdef extern from "transcript.h":
    ctypedef struct zk_transcript:
        uint8_t state[32]
        uint64_t counter
    void zk_transcript_init(zk_transcript *t) nogil
    void zk_transcript_absorb(zk_transcript *t, const void *data, size_t len) nogil
    void zk_transcript_squeeze(zk_transcript *t, uint8_t *out) nogil
    fe zk_transcript_draw_base(zk_transcript *t) nogil
    fe3 zk_transcript_draw_ext(zk_transcript *t) nogil
    uint64_t zk_transcript_draw_index(zk_transcript *t, uint64_t n) nogil
    void zk_transcript_absorb_statement(zk_transcript *t, const zk_profile *prof,
                                        const uint8_t *program_hash, const fe *inputs,
                                        size_t n_inputs, const fe *outputs, size_t n_outputs,
                                        unsigned log_t) nogil
    int zk_transcript_check_pow(const zk_transcript *t, uint64_t nonce, unsigned bits) nogil
    uint64_t zk_transcript_grind(const zk_transcript *t, unsigned bits) nogil

cdef extern from "air.h":
    ctypedef struct zk_air:
        uint32_t n_registers
        uint32_t n_instructions
        uint32_t n_branches
        uint32_t width
        uint32_t n_transition
        uint32_t n_first
        uint32_t n_last
        uint32_t n_constraints
    int ZK_AIR_MAX_CONSTRAINTS
    int zk_air_init(zk_air *air, const zk_program *p) nogil
    void zk_air_eval_ext(const zk_air *air, const fe3 *cur, const fe3 *next, const fe *inputs,
                         const fe *outputs, fe3 *out) nogil
    void zk_air_eval_base(const zk_air *air, const fe *cur, const fe *next, const fe *inputs,
                          const fe *outputs, fe *out) nogil
    int ZK_AIR_BATCH
    void zk_air_combine_batch(const zk_air *air, const fe *cur, const fe *next, size_t n,
                              const fe *inputs, const fe *outputs, const fe3 *alphas,
                              fe3 *trans, fe3 *first, fe3 *last) nogil
    fe3 zk_air_composition_at(const zk_air *air, const fe3 *cur, const fe3 *next,
                              const fe *inputs, const fe *outputs, const fe3 *alphas, fe3 z,
                              unsigned log_t) nogil

cdef extern from "prover.h":
    ctypedef struct zk_prove_timings:
        double trace
        double lde
        double trace_commit
        double composition
        double composition_commit
        double ood
        double deep
        double fri
        double grinding
        double queries
        double total
        double aux
    ctypedef struct zk_prove_result:
        uint8_t *receipt
        size_t receipt_len
        uint64_t cycles
        unsigned log_t
        unsigned width
        uint32_t fail_pc
        uint32_t n_outputs
        fe *outputs
        zk_prove_timings timings
        uint32_t *progress
        const int *cancel
    int zk_prove(const uint8_t *program, size_t program_len, const fe *inputs, size_t n_inputs,
                 unsigned profile_id, unsigned threads, uint64_t max_cycles,
                 zk_prove_result *res) nogil
    int zk_prove_with_trace(const uint8_t *program, size_t program_len, const fe *inputs,
                            size_t n_inputs, const fe *outputs, size_t n_outputs,
                            const fe *const *columns, size_t width, unsigned log_t,
                            unsigned profile_id, unsigned threads, zk_prove_result *res) nogil
    size_t zk_prove_memory_bytes(size_t width, unsigned log_t, unsigned profile_id) nogil
    int zk_prove_machine(const uint8_t *program, size_t program_len, const fe *inputs,
                         size_t n_inputs, unsigned profile_id, unsigned threads,
                         uint64_t max_cycles, zk_prove_result *res) nogil
    int zk_prove_machine_with_trace(const uint8_t *program, size_t program_len,
                                    const fe *inputs, size_t n_inputs, const fe *outputs,
                                    size_t n_outputs, const fe *const *columns, size_t width,
                                    unsigned log_t, unsigned profile_id, unsigned threads,
                                    zk_prove_result *res) nogil
    size_t zk_prove_machine_memory_bytes(unsigned log_t, unsigned profile_id) nogil
    void zk_prove_cancel(int *flag) nogil
    void zk_prove_result_free(zk_prove_result *res) nogil
    int ZK_PROVE_OK
    int ZK_PROVE_BAD_PROGRAM
    int ZK_PROVE_BAD_PROFILE
    int ZK_PROVE_BAD_INPUTS
    int ZK_PROVE_CYCLE_LIMIT
    int ZK_PROVE_INV_ZERO
    int ZK_PROVE_ASSERT_FAILED
    int ZK_PROVE_TOO_LARGE
    int ZK_PROVE_NO_MEMORY
    int ZK_PROVE_BAD_TRACE
    int ZK_PROVE_CANCELLED
    int ZK_PROVE_BAD_ADDRESS
    int ZK_PROVE_READ_PAST_END
    int ZK_PROVE_INPUTS_LEFT
    int ZK_PROVE_TOO_MANY_OUTPUTS
    int ZK_PROVE_UNLUCKY

OK = ZK_PROVE_OK
BAD_PROGRAM = ZK_PROVE_BAD_PROGRAM
BAD_PROFILE = ZK_PROVE_BAD_PROFILE
BAD_INPUTS = ZK_PROVE_BAD_INPUTS
CYCLE_LIMIT = ZK_PROVE_CYCLE_LIMIT
INV_ZERO = ZK_PROVE_INV_ZERO
ASSERT_FAILED = ZK_PROVE_ASSERT_FAILED
TOO_LARGE = ZK_PROVE_TOO_LARGE
NO_MEMORY = ZK_PROVE_NO_MEMORY
BAD_TRACE = ZK_PROVE_BAD_TRACE
CANCELLED = ZK_PROVE_CANCELLED
BAD_ADDRESS = ZK_PROVE_BAD_ADDRESS
READ_PAST_END = ZK_PROVE_READ_PAST_END
INPUTS_LEFT = ZK_PROVE_INPUTS_LEFT
TOO_MANY_OUTPUTS = ZK_PROVE_TOO_MANY_OUTPUTS
UNLUCKY = ZK_PROVE_UNLUCKY
#: The machine AIR's fixed width and smallest log2 T (protocol.md 13).
MACHINE_WIDTH = 56
MACHINE_MIN_LOG_T = 8
MIN_LOG_T = ZK_MIN_LOG_T
MAX_LOG_T = ZK_MAX_LOG_T

TIMING_FIELDS = ("trace", "lde", "trace_commit", "composition", "composition_commit", "ood",
                 "deep", "fri", "grinding", "queries", "total", "aux")

cdef fe _P = 0xFFFFFFFF00000001


cdef dict _timings(zk_prove_timings *t):
    return {
        "trace": t.trace, "lde": t.lde, "trace_commit": t.trace_commit,
        "composition": t.composition, "composition_commit": t.composition_commit,
        "ood": t.ood, "deep": t.deep, "fri": t.fri, "grinding": t.grinding,
        "queries": t.queries, "total": t.total, "aux": t.aux,
    }


cdef tuple _finish(int rc, zk_prove_result *res):
    """(code, receipt bytes or None, details dict); frees the C receipt."""
    receipt = None
    try:
        if rc == ZK_PROVE_OK:
            receipt = (<char *>res.receipt)[:res.receipt_len]
        outputs = (tuple(res.outputs[i] for i in range(res.n_outputs))
                   if res.outputs != NULL else ())
    finally:
        zk_prove_result_free(res)
    details = {
        "cycles": res.cycles,
        "log_t": res.log_t,
        "width": res.width,
        "fail_pc": res.fail_pc,
        "outputs": outputs,
        "timings": _timings(&res.timings),
    }
    return rc, receipt, details


def cancel(int[::1] flag):
    """Set a cancel flag (a writable buffer of one C int) with the atomic store the
    prover polls; safe while a proof watching it runs in another thread."""
    if flag.shape[0] != 1:
        raise ValueError("a cancel flag is exactly one int")
    zk_prove_cancel(&flag[0])


cdef const int *_cancel_flag(int[::1] flag) except? NULL:
    if flag is None:
        return NULL
    if flag.shape[0] != 1:
        raise ValueError("a cancel flag is exactly one int")
    return &flag[0]


def prove(const uint8_t[::1] program, const fe[::1] inputs, unsigned profile_id,
          unsigned threads, uint64_t max_cycles, uint32_t[::1] progress=None,
          int[::1] cancel=None, unsigned air=1):
    """Execute and prove; return ``(code, receipt_bytes_or_None, details)``.

    ``details`` has ``cycles``, ``log_t``, ``width``, ``fail_pc``, ``outputs`` and
    ``timings`` (seconds per step of protocol.md 8). ``air`` 1 proves under the register
    AIR (zk_prove, receipt format 2), ``air`` 2 under the machine AIR (zk_prove_machine,
    protocol.md 15, receipt format 3; then ``outputs`` are the .output registers then the
    written stream values, and ``inputs`` the .input registers' values then the stream).
    ``progress``, a writable uint32 buffer of one element, receives the number of
    finished steps (0..7; 0..8 under AIR 2) as the proof advances, for another thread to
    read. ``cancel``, a writable buffer of one C int, stops the proof with code
    ``CANCELLED`` soon after :func:`cancel` sets it (the
    buffer must stay alive, which the memoryview held here guarantees).
    """
    cdef zk_prove_result res
    cdef int rc
    cdef fe dummy = 0
    if threads < 1:
        raise ValueError("threads must be >= 1")
    if program.shape[0] == 0:
        return ZK_PROVE_BAD_PROGRAM, None, {}
    if progress is not None and progress.shape[0] != 1:
        raise ValueError("progress must hold exactly one uint32")
    memset(&res, 0, sizeof(res))
    if progress is not None:
        res.progress = &progress[0]
    res.cancel = _cancel_flag(cancel)
    if air not in (1, 2):
        raise ValueError(f"air must be 1 or 2, got {air}")
    with nogil:
        if air == 1:
            rc = zk_prove(&program[0], program.shape[0],
                          &inputs[0] if inputs.shape[0] else &dummy, inputs.shape[0],
                          profile_id, threads, max_cycles, &res)
        else:
            rc = zk_prove_machine(&program[0], program.shape[0],
                                  &inputs[0] if inputs.shape[0] else &dummy, inputs.shape[0],
                                  profile_id, threads, max_cycles, &res)
    return _finish(rc, &res)


def prove_with_trace(const uint8_t[::1] program, const fe[::1] inputs, const fe[::1] outputs,
                     columns, unsigned log_t, unsigned profile_id, unsigned threads,
                     int[::1] cancel=None, unsigned air=1):
    """TEST HOOK: prove a caller-given (possibly forged) trace; see zk_prove_with_trace
    (``air`` 1) and zk_prove_machine_with_trace (``air`` 2: the 56 main columns).

    ``columns`` is a sequence of uint64 buffers of 2^log_t elements each.
    """
    cdef zk_prove_result res
    cdef int rc
    cdef fe dummy = 0
    cdef size_t width = len(columns), c, length
    cdef const fe[::1] column
    if threads < 1:
        raise ValueError("threads must be >= 1")
    if program.shape[0] == 0:
        return ZK_PROVE_BAD_PROGRAM, None, {}
    if log_t < ZK_MIN_LOG_T or log_t > ZK_MAX_LOG_T:
        raise ValueError(f"log_t must be in [{ZK_MIN_LOG_T}, {ZK_MAX_LOG_T}], got {log_t}")
    length = (<size_t>1) << log_t
    views = [memoryview(col).cast("B").cast("Q") for col in columns]
    cdef const fe **pointers = <const fe **>PyMem_Malloc(width * sizeof(fe *) + 1)
    if pointers == NULL:
        raise MemoryError()
    memset(&res, 0, sizeof(res))
    res.cancel = _cancel_flag(cancel)
    try:
        for c in range(width):
            column = views[c]
            if <size_t>column.shape[0] != length:
                raise ValueError(f"column {c} has {column.shape[0]} entries, expected {length}")
            pointers[c] = &column[0]
        if air not in (1, 2):
            raise ValueError(f"air must be 1 or 2, got {air}")
        with nogil:
            if air == 1:
                rc = zk_prove_with_trace(&program[0], program.shape[0],
                                         &inputs[0] if inputs.shape[0] else &dummy,
                                         inputs.shape[0],
                                         &outputs[0] if outputs.shape[0] else &dummy,
                                         outputs.shape[0], pointers, width, log_t, profile_id,
                                         threads, &res)
            else:
                rc = zk_prove_machine_with_trace(&program[0], program.shape[0],
                                                 &inputs[0] if inputs.shape[0] else &dummy,
                                                 inputs.shape[0],
                                                 &outputs[0] if outputs.shape[0] else &dummy,
                                                 outputs.shape[0], pointers, width, log_t,
                                                 profile_id, threads, &res)
    finally:
        PyMem_Free(pointers)
    return _finish(rc, &res)


def memory_bytes(size_t width, unsigned log_t, unsigned profile_id):
    """Peak bytes the prover allocates for a width x 2^log_t trace (None if out of range)."""
    cdef size_t b = zk_prove_memory_bytes(width, log_t, profile_id)
    return None if b == <size_t>-1 else b


def machine_memory_bytes(unsigned log_t, unsigned profile_id):
    """Peak bytes an AIR 2 proof of 2^log_t rows allocates (None if out of range)."""
    cdef size_t b = zk_prove_machine_memory_bytes(log_t, profile_id)
    return None if b == <size_t>-1 else b


def fri_shape(unsigned profile_id, unsigned log_t):
    """``(layers, remainder_size)`` the C side derives for a profile and log2 T."""
    cdef const zk_profile *prof = zk_profile_by_id(profile_id)
    cdef size_t rem = 0
    if prof == NULL:
        raise ValueError(f"unknown profile id {profile_id}")
    layers = zk_fri_num_layers(prof, log_t, &rem)
    return layers, rem


def profile_row(unsigned profile_id):
    """The C profile table's row: (log_blowup, queries, grinding, log_folding, max_remainder)."""
    cdef const zk_profile *prof = zk_profile_by_id(profile_id)
    if prof == NULL:
        raise ValueError(f"unknown profile id {profile_id}")
    return (prof.log_blowup, prof.queries, prof.grinding_bits, prof.log_folding,
            prof.max_remainder)


cdef class Transcript:
    """The protocol.md 7 transcript, for tests that hold it to a hashlib computation."""

    cdef zk_transcript t

    def __cinit__(self):
        zk_transcript_init(&self.t)

    @property
    def state(self):
        return bytes(self.t.state[:32])

    @property
    def counter(self):
        return self.t.counter

    def absorb(self, const uint8_t[::1] data):
        cdef uint8_t dummy = 0
        zk_transcript_absorb(&self.t, &data[0] if data.shape[0] else &dummy, data.shape[0])

    def absorb_statement(self, unsigned profile_id, const uint8_t[::1] program_hash,
                         const fe[::1] inputs, const fe[::1] outputs, unsigned log_t):
        cdef const zk_profile *prof = zk_profile_by_id(profile_id)
        cdef fe dummy = 0
        if prof == NULL:
            raise ValueError(f"unknown profile id {profile_id}")
        if program_hash.shape[0] != 32:
            raise ValueError("program_hash must be 32 bytes")
        if inputs.shape[0] > 16 or outputs.shape[0] > 16:
            raise ValueError("at most 16 inputs and 16 outputs")
        zk_transcript_absorb_statement(&self.t, prof, &program_hash[0],
                                       &inputs[0] if inputs.shape[0] else &dummy,
                                       inputs.shape[0],
                                       &outputs[0] if outputs.shape[0] else &dummy,
                                       outputs.shape[0], log_t)

    def squeeze(self):
        cdef uint8_t out[32]
        zk_transcript_squeeze(&self.t, out)
        return bytes(out[:32])

    def draw_base(self):
        return zk_transcript_draw_base(&self.t)

    def draw_ext(self):
        cdef fe3 v = zk_transcript_draw_ext(&self.t)
        return (v.c0, v.c1, v.c2)

    def draw_index(self, uint64_t n):
        if n == 0 or (n & (n - 1)) != 0:
            raise ValueError("n must be a power of two")
        return zk_transcript_draw_index(&self.t, n)

    def check_pow(self, uint64_t nonce, unsigned bits):
        if bits > 64:
            raise ValueError("bits must be <= 64")
        return bool(zk_transcript_check_pow(&self.t, nonce, bits))

    def grind(self, unsigned bits):
        cdef uint64_t nonce
        if bits > 32:
            raise ValueError("bits must be <= 32")
        with nogil:
            nonce = zk_transcript_grind(&self.t, bits)
        return nonce


cdef class Air:
    """The AIR of one program (protocol.md 5), for tests and the verifiers' checks."""

    cdef zk_program program
    cdef zk_air air

    def __cinit__(self, const uint8_t[::1] program):
        if program.shape[0] == 0 or zk_program_decode(&program[0], program.shape[0],
                                                      &self.program) != 0:
            raise ValueError("malformed program bytes")
        zk_air_init(&self.air, &self.program)

    @property
    def width(self):
        return self.air.width

    @property
    def counts(self):
        """(transition, first-row, last-row) constraint counts."""
        return self.air.n_transition, self.air.n_first, self.air.n_last

    @property
    def n_constraints(self):
        return self.air.n_constraints

    cdef void _check(self, size_t n_cur, size_t n_next, size_t n_in, size_t n_out) except *:
        if n_cur != self.air.width or n_next != self.air.width:
            raise ValueError(f"rows must have {self.air.width} values")
        if n_in != self.program.n_inputs or n_out != self.program.n_outputs:
            raise ValueError("wrong number of inputs or outputs")

    def eval_base(self, cur, next, inputs, outputs):
        """All constraints over F at one row pair; values are ints in [0, p)."""
        cdef fe c[320]
        cdef fe n[320]
        cdef fe ins[16]
        cdef fe outs[16]
        cdef fe vals[1024]
        cdef Py_ssize_t i
        self._check(len(cur), len(next), len(inputs), len(outputs))
        for i in range(self.air.width):
            c[i] = _canon(cur[i])
            n[i] = _canon(next[i])
        for i in range(len(inputs)):
            ins[i] = _canon(inputs[i])
        for i in range(len(outputs)):
            outs[i] = _canon(outputs[i])
        zk_air_eval_base(&self.air, c, n, ins, outs, vals)
        return [vals[i] for i in range(self.air.n_constraints)]

    def eval_ext(self, cur, next, inputs, outputs):
        """All constraints over K at one row pair; values are (c0, c1, c2) triples."""
        cdef fe3 c[320]
        cdef fe3 n[320]
        cdef fe ins[16]
        cdef fe outs[16]
        cdef fe3 vals[1024]
        cdef Py_ssize_t i
        self._check(len(cur), len(next), len(inputs), len(outputs))
        for i in range(self.air.width):
            c[i] = _canon3(cur[i])
            n[i] = _canon3(next[i])
        for i in range(len(inputs)):
            ins[i] = _canon(inputs[i])
        for i in range(len(outputs)):
            outs[i] = _canon(outputs[i])
        zk_air_eval_ext(&self.air, c, n, ins, outs, vals)
        return [(vals[i].c0, vals[i].c1, vals[i].c2) for i in range(self.air.n_constraints)]

    def combine_batch(self, cur_rows, next_rows, inputs, outputs, alphas):
        """The prover's batched path: per row, (transition, first-row, last-row) sums of
        alpha_k * c_k, each a (c0, c1, c2) triple. At most ZK_AIR_BATCH rows."""
        cdef size_t n = len(cur_rows), w = self.air.width, r, c
        cdef Py_ssize_t i
        cdef fe ins[16]
        cdef fe outs[16]
        cdef fe3 al[1024]
        cdef fe3 tr[64]
        cdef fe3 fi[64]
        cdef fe3 la[64]
        if n == 0 or n > <size_t>ZK_AIR_BATCH or <size_t>len(next_rows) != n:
            raise ValueError(f"expected 1..{ZK_AIR_BATCH} rows in both lists")
        self._check(w, w, len(inputs), len(outputs))
        if <size_t>len(alphas) != self.air.n_constraints:
            raise ValueError(f"expected {self.air.n_constraints} alphas")
        cdef fe *cur = <fe *>PyMem_Malloc(2 * n * w * sizeof(fe) + 8)
        if cur == NULL:
            raise MemoryError()
        cdef fe *nxt = cur + n * w
        try:
            for r in range(n):
                if <size_t>len(cur_rows[r]) != w or <size_t>len(next_rows[r]) != w:
                    raise ValueError(f"rows must have {w} values")
                for c in range(w):
                    cur[c * n + r] = _canon(cur_rows[r][c])
                    nxt[c * n + r] = _canon(next_rows[r][c])
            for i in range(len(inputs)):
                ins[i] = _canon(inputs[i])
            for i in range(len(outputs)):
                outs[i] = _canon(outputs[i])
            for i in range(self.air.n_constraints):
                al[i] = _canon3(alphas[i])
            zk_air_combine_batch(&self.air, cur, nxt, n, ins, outs, al, tr, fi, la)
        finally:
            PyMem_Free(cur)
        return [((tr[r].c0, tr[r].c1, tr[r].c2), (fi[r].c0, fi[r].c1, fi[r].c2),
                 (la[r].c0, la[r].c1, la[r].c2))
                for r in range(n)]

    def composition_at(self, cur, next, inputs, outputs, alphas, z, unsigned log_t):
        """sum_k alpha_k c_k(z) / divisor_k(z), as the verifier's OOD check computes it."""
        cdef fe3 c[320]
        cdef fe3 n[320]
        cdef fe ins[16]
        cdef fe outs[16]
        cdef fe3 al[1024]
        cdef Py_ssize_t i
        self._check(len(cur), len(next), len(inputs), len(outputs))
        if <size_t>len(alphas) != self.air.n_constraints:
            raise ValueError(f"expected {self.air.n_constraints} alphas")
        for i in range(self.air.width):
            c[i] = _canon3(cur[i])
            n[i] = _canon3(next[i])
        for i in range(len(inputs)):
            ins[i] = _canon(inputs[i])
        for i in range(len(outputs)):
            outs[i] = _canon(outputs[i])
        for i in range(self.air.n_constraints):
            al[i] = _canon3(alphas[i])
        cdef fe3 r = zk_air_composition_at(&self.air, c, n, ins, outs, al, _canon3(z), log_t)
        return (r.c0, r.c1, r.c2)


cdef fe _canon(object v) except? 0:
    if not 0 <= v < _P:
        raise ValueError(f"{v} is not a field element in [0, p)")
    return <fe>v


cdef fe3 _canon3(object v) except *:
    cdef fe3 r
    if isinstance(v, tuple):
        if len(v) != 3:
            raise ValueError(f"an element of K is a (c0, c1, c2) triple, not {v!r}")
        r.c0 = _canon(v[0])
        r.c1 = _canon(v[1])
        r.c2 = _canon(v[2])
    else:
        r.c0 = _canon(v)
        r.c1 = 0
        r.c2 = 0
    return r


# ---- kernel level (ext/cpu.h) ----------------------------------------------------------

include "kernels.pxi"


# ---- buffer pool (ext/pool.h) ----------------------------------------------------------

cdef extern from "pool.h":
    ctypedef struct zk_pool_stats:
        size_t idle_buffers
        size_t idle_bytes
        size_t hits
        size_t misses
        size_t cap_bytes
    void zk_pool_get_stats(zk_pool_stats *out) nogil
    void zk_pool_trim() nogil


def pool_stats():
    """The prover's buffer pool: idle buffers and their resident bytes, large requests
    served from it (hits) or freshly mapped (misses), and the cap on idle bytes
    (ZKACTORS_POOL_MB)."""
    cdef zk_pool_stats st
    zk_pool_get_stats(&st)
    return {
        "idle_buffers": st.idle_buffers,
        "idle_bytes": st.idle_bytes,
        "hits": st.hits,
        "misses": st.misses,
        "cap_bytes": st.cap_bytes,
    }


def pool_trim():
    """Unmap every idle buffer of the pool, giving its memory back to the system."""
    with nogil:
        zk_pool_trim()
