# cython: language_level=3
"""The native zkVM executor (``zkactors._native.executor``).

``zkactors.zkvm.execute`` is the only caller: it checks the inputs (count and range) and
turns the return codes into typed errors. This module checks buffer sizes before entering
C, so no call from Python can make the C code read or write out of bounds, and it releases
the GIL for every run and trace.
"""

import array

from cpython.mem cimport PyMem_Free, PyMem_Malloc
from libc.stdint cimport uint8_t, uint32_t, uint64_t

cdef extern from "vm.h":
    ctypedef uint64_t fe
    ctypedef struct zk_program:
        uint32_t n_registers
        uint32_t n_inputs
        uint32_t n_outputs
        uint32_t n_instructions
    int zk_program_decode(const uint8_t *data, size_t length, zk_program *out) nogil
    size_t zk_program_trace_width(const zk_program *p) nogil
    int zk_vm_run(const zk_program *p, const fe *inputs, uint64_t max_cycles, fe *outputs,
                  uint64_t *cycles, uint32_t *fail_pc) nogil
    int zk_vm_trace(const zk_program *p, const fe *inputs, uint64_t max_cycles,
                    unsigned log_t, fe *const *columns) nogil
    unsigned zk_trace_log_length(uint64_t cycles) nogil
    int ZK_VM_OK
    int ZK_VM_CYCLE_LIMIT
    int ZK_VM_INV_ZERO
    int ZK_VM_ASSERT_FAILED
    int ZK_VM_TRACE_TOO_SHORT

cdef extern from "vm.h":
    ctypedef struct zk_instr:
        uint8_t op
        uint8_t ra
        fe imm

cdef extern from "machine.h":
    ctypedef struct zk_machine_program:
        uint8_t format
        uint32_t n_registers
        uint32_t n_inputs
        uint32_t n_outputs
        uint32_t n_instructions
        zk_instr *code
    ctypedef struct zk_machine_state:
        fe regs[256]
        size_t in_pos
    int zk_machine_exec(const zk_machine_program *p, const fe *inputs, size_t n_inputs,
                        uint64_t max_cycles, fe *outputs, size_t *n_outputs, uint64_t *cycles,
                        uint32_t *fail_pc, zk_machine_state *st, void *observe,
                        void *ctx) nogil
    void zk_machine_state_free(zk_machine_state *st) nogil
    int zk_machine_decode(const uint8_t *data, size_t length, zk_machine_program *out) nogil
    void zk_machine_free(zk_machine_program *p) nogil
    int zk_machine_run(const zk_machine_program *p, const fe *inputs, size_t n_inputs,
                       uint64_t max_cycles, fe *outputs, size_t *n_outputs, uint64_t *cycles,
                       uint32_t *fail_pc) nogil
    int ZK_MACHINE_BAD_ADDRESS
    int ZK_MACHINE_READ_PAST_END
    int ZK_MACHINE_INPUTS_LEFT
    int ZK_MACHINE_TOO_MANY_OUTPUTS
    int ZK_MACHINE_NO_MEMORY
    int ZK_MACHINE_BAD_INPUTS
    int ZK_MACHINE_MAX_IO
    int ZK_OP_LOAD
    int ZK_OP_STORE

OK = ZK_VM_OK
CYCLE_LIMIT = ZK_VM_CYCLE_LIMIT
INV_ZERO = ZK_VM_INV_ZERO
ASSERT_FAILED = ZK_VM_ASSERT_FAILED
TRACE_TOO_SHORT = ZK_VM_TRACE_TOO_SHORT
BAD_ADDRESS = ZK_MACHINE_BAD_ADDRESS
READ_PAST_END = ZK_MACHINE_READ_PAST_END
INPUTS_LEFT = ZK_MACHINE_INPUTS_LEFT
TOO_MANY_OUTPUTS = ZK_MACHINE_TOO_MANY_OUTPUTS
NO_MEMORY = ZK_MACHINE_NO_MEMORY
BAD_INPUTS = ZK_MACHINE_BAD_INPUTS
MAX_IO = ZK_MACHINE_MAX_IO

# Deep enough for any trace this protocol can prove (log2 T <= 26) with room to spare.
MAX_LOG_T = 40


def trace_log_length(uint64_t cycles):
    """log2 of T = max(8, next_pow2(cycles + 1))."""
    return zk_trace_log_length(cycles)


cdef class NativeProgram:
    """A decoded program, ready to run. Construct from canonical program bytes."""

    cdef zk_program program

    def __cinit__(self, const uint8_t[::1] data):
        cdef int rc
        with nogil:
            rc = zk_program_decode(&data[0] if data.shape[0] else NULL, data.shape[0],
                                   &self.program)
        if rc != 0:
            raise ValueError("malformed program bytes")

    @property
    def n_inputs(self):
        return self.program.n_inputs

    @property
    def n_outputs(self):
        return self.program.n_outputs

    @property
    def trace_width(self):
        return zk_program_trace_width(&self.program)

    def run(self, const fe[::1] inputs, uint64_t max_cycles, fe[::1] outputs):
        """Run; fill ``outputs``; return (code, cycles, fail_pc)."""
        cdef uint64_t cycles = 0
        cdef uint32_t fail_pc = 0
        cdef int rc
        cdef fe dummy = 0
        if inputs.shape[0] != self.program.n_inputs:
            raise ValueError(f"expected {self.program.n_inputs} inputs, got {inputs.shape[0]}")
        if outputs.shape[0] != self.program.n_outputs:
            raise ValueError(f"expected room for {self.program.n_outputs} outputs")
        cdef const fe *in_ptr = &inputs[0] if inputs.shape[0] else &dummy
        cdef fe *out_ptr = &outputs[0] if outputs.shape[0] else &dummy
        with nogil:
            rc = zk_vm_run(&self.program, in_ptr, max_cycles, out_ptr, &cycles, &fail_pc)
        return rc, cycles, fail_pc

    def trace(self, const fe[::1] inputs, uint64_t max_cycles, unsigned log_t, columns):
        """Fill ``columns`` (trace_width writable uint64 buffers of 2^log_t elements each)
        with the execution trace; return the code of zk_vm_trace."""
        cdef size_t width = zk_program_trace_width(&self.program)
        cdef size_t length
        cdef fe dummy = 0
        cdef fe[::1] column
        cdef int rc
        cdef size_t c
        if inputs.shape[0] != self.program.n_inputs:
            raise ValueError(f"expected {self.program.n_inputs} inputs, got {inputs.shape[0]}")
        if log_t > MAX_LOG_T:
            raise ValueError(f"log_t {log_t} exceeds {MAX_LOG_T}")
        if <size_t>len(columns) != width:
            raise ValueError(f"expected {width} columns, got {len(columns)}")
        length = (<size_t>1) << log_t
        views = [memoryview(col) for col in columns]  # keep every buffer alive and locked
        cdef fe **pointers = <fe **>PyMem_Malloc(width * sizeof(fe *) + 1)
        if pointers == NULL:
            raise MemoryError()
        try:
            for c in range(width):
                column = views[c]
                if <size_t>column.shape[0] != length:
                    raise ValueError(f"column {c} has {column.shape[0]} entries, expected {length}")
                pointers[c] = &column[0]
            with nogil:
                rc = zk_vm_trace(&self.program, &inputs[0] if inputs.shape[0] else &dummy,
                                 max_cycles, log_t, pointers)
        finally:
            PyMem_Free(pointers)
        return rc


cdef class MachineProgram:
    """A program of format 1 or 2 decoded for the machine (ext/machine.h): registers, RAM
    and the public streams. Construct from canonical program bytes."""

    cdef zk_machine_program program

    def __cinit__(self, const uint8_t[::1] data):
        cdef int rc
        with nogil:
            rc = zk_machine_decode(&data[0] if data.shape[0] else NULL, data.shape[0],
                                   &self.program)
        if rc == -2:
            raise MemoryError()
        if rc != 0:
            raise ValueError("malformed program bytes")

    def __dealloc__(self):
        zk_machine_free(&self.program)

    @property
    def format(self):
        return self.program.format

    @property
    def n_inputs(self):
        return self.program.n_inputs

    @property
    def n_outputs(self):
        return self.program.n_outputs

    @property
    def n_registers(self):
        return self.program.n_registers

    @property
    def n_instructions(self):
        return self.program.n_instructions

    def run(self, const fe[::1] inputs, uint64_t max_cycles):
        """Run on the statement's inputs (.input registers, then the stream); return
        (code, outputs as a list, cycles, fail_pc, detail). detail says what the error
        message needs: the address for BAD_ADDRESS, the stream inputs left unread for
        INPUTS_LEFT, else 0."""
        cdef uint64_t cycles = 0
        cdef uint32_t fail_pc = 0
        cdef size_t n_outputs = 0, i
        cdef int rc
        cdef fe dummy = 0, detail = 0, base = 0
        cdef const zk_instr *ins
        if inputs.shape[0] < self.program.n_inputs or inputs.shape[0] > ZK_MACHINE_MAX_IO:
            raise ValueError(f"expected {self.program.n_inputs} to {ZK_MACHINE_MAX_IO} inputs, "
                             f"got {inputs.shape[0]}")
        cdef const fe *in_ptr = &inputs[0] if inputs.shape[0] else &dummy
        cdef fe *out_ptr = <fe *>PyMem_Malloc(ZK_MACHINE_MAX_IO * sizeof(fe))
        cdef zk_machine_state *st = <zk_machine_state *>PyMem_Malloc(sizeof(zk_machine_state))
        if out_ptr == NULL or st == NULL:
            PyMem_Free(out_ptr)
            PyMem_Free(st)
            raise MemoryError()
        try:
            with nogil:
                rc = zk_machine_exec(&self.program, in_ptr, inputs.shape[0], max_cycles,
                                     out_ptr, &n_outputs, &cycles, &fail_pc, st, NULL, NULL)
                if rc == ZK_MACHINE_BAD_ADDRESS:
                    # The registers are those before the failing instruction.
                    ins = &self.program.code[fail_pc]
                    detail = ins.imm
                    if ins.op == ZK_OP_LOAD or ins.op == ZK_OP_STORE:
                        base = st.regs[ins.ra]
                elif rc == ZK_MACHINE_INPUTS_LEFT:
                    detail = inputs.shape[0] - st.in_pos
                zk_machine_state_free(st)
            outputs = [out_ptr[i] for i in range(n_outputs)]
        finally:
            PyMem_Free(out_ptr)
            PyMem_Free(st)
        if rc == ZK_MACHINE_BAD_ADDRESS:
            # ra + imm in F (0 + imm for [imm]): the address the instruction computed
            return rc, outputs, cycles, fail_pc, (<object>base + detail) % 0xFFFFFFFF00000001
        return rc, outputs, cycles, fail_pc, detail

# ---- AIR 2 (ext/air2.h), exposed for the tests: every function on Python lists ----

cdef extern from "field.h":
    ctypedef struct fe3:
        fe c0
        fe c1
        fe c2

cdef extern from "air2.h":
    ctypedef struct zk_air2_statement:
        const zk_machine_program *prog
        const fe *inputs
        size_t n_inputs
        const fe *outputs
        size_t n_outputs
        unsigned log_t
    ctypedef struct zk_air2_challenges:
        fe3 alpha
        fe3 beta
        fe3 v
    int ZK_AIR2_WIDTH
    int ZK_AIR2_AUX_WIDTH
    int ZK_AIR2_FIXED
    int ZK_AIR2_N_CONSTRAINTS
    int ZK_AIR2_N_EVERY
    int ZK_AIR2_N_TRANSITION
    int ZK_AIR2_N_FIRST
    int ZK_AIR2_N_LAST
    unsigned zk_air2_log_t(const zk_machine_program *p, uint64_t cycles) nogil
    int zk_air2_trace(const zk_machine_program *p, const fe *inputs, size_t n_inputs,
                      uint64_t max_cycles, unsigned log_t, fe *const *cols) nogil
    void zk_air2_challenges_init(zk_air2_challenges *ch, const zk_air2_statement *st,
                                 fe3 alpha, fe3 beta) nogil
    void zk_air2_fixed_columns(const zk_air2_statement *st, const zk_air2_challenges *ch,
                               fe3 *rom, fe *const *fixed) nogil
    void zk_air2_fixed_at(const zk_air2_statement *st, const zk_air2_challenges *ch, fe3 z,
                          fe3 *rom, fe3 *fixed) nogil
    int zk_air2_aux_columns_threads(const zk_air2_statement *st, const zk_air2_challenges *ch,
                                    const fe *const *main, const fe3 *rom,
                                    const fe *const *fixed, fe3 *const *aux,
                                    unsigned threads) nogil
    void zk_air2_eval_ext(const zk_air2_statement *st, const zk_air2_challenges *ch,
                          const fe3 *cur, const fe3 *next, const fe3 *aux_cur,
                          const fe3 *aux_next, fe3 rom, const fe3 *fixed, fe3 *out) nogil
    void zk_air2_eval_base(const zk_air2_statement *st, const zk_air2_challenges *ch,
                           const fe *cur, const fe *next, const fe3 *aux_cur,
                           const fe3 *aux_next, fe3 rom, const fe *fixed, fe3 *out) nogil
    fe3 zk_air2_composition_at(const zk_air2_statement *st, const zk_air2_challenges *ch,
                               const fe3 *cur, const fe3 *next, const fe3 *aux_cur,
                               const fe3 *aux_next, const fe3 *alphas, fe3 z) nogil

AIR2_WIDTH = ZK_AIR2_WIDTH
AIR2_AUX_WIDTH = ZK_AIR2_AUX_WIDTH
AIR2_KINDS = (ZK_AIR2_N_EVERY, ZK_AIR2_N_TRANSITION, ZK_AIR2_N_FIRST, ZK_AIR2_N_LAST)

cdef fe3 _e(v):
    cdef fe3 r
    r.c0, r.c1, r.c2 = v
    return r

cdef tuple _t(fe3 v):
    return (v.c0, v.c1, v.c2)

cdef list _columns(size_t n, size_t T, fe **ptrs):
    """``n`` zeroed uint64 columns of ``T`` entries, their data pointers in ``ptrs``."""
    cols = [array.array("Q", bytes(8 * T)) for _ in range(n)]
    _pointers(cols, n, ptrs)
    return cols

cdef void _pointers(cols, size_t n, fe **ptrs) except *:
    """The data pointers of the first ``n`` uint64 buffers of ``cols`` into ``ptrs`` (the
    buffers must outlive their use)."""
    cdef fe[::1] view
    cdef size_t c
    for c in range(n):
        view = cols[c]
        ptrs[c] = &view[0]

cdef void _load_base(fe *out, values, size_t n) except *:
    cdef size_t i
    for i in range(n):
        out[i] = values[i]

cdef void _load_ext(fe3 *out, values, size_t n) except *:
    cdef size_t i
    for i in range(n):
        out[i] = _e(values[i])


cdef class Air2:
    """TEST BINDING of AIR 2 (ext/air2.h) for one statement: program bytes, the statement's
    inputs and outputs (lists of ints) and log2 T. Slow (Python lists in and out); the
    prover and the verifier call the C functions directly."""

    cdef MachineProgram machine
    cdef zk_air2_statement st
    cdef zk_air2_challenges ch
    cdef fe[::1] inputs
    cdef fe[::1] outputs
    cdef size_t T

    def __init__(self, program, inputs, outputs, unsigned log_t):
        self.machine = MachineProgram(program)
        self.inputs = array.array("Q", list(inputs))
        self.outputs = array.array("Q", list(outputs))
        if (len(inputs) < self.machine.program.n_inputs
                or len(outputs) < self.machine.program.n_outputs):
            raise ValueError("the statement has fewer inputs or outputs than the program")
        if log_t < 8 or log_t > 20:
            raise ValueError("log_t out of the tested range")
        self.st.prog = &self.machine.program
        self.st.inputs = &self.inputs[0] if len(inputs) else NULL
        self.st.n_inputs = len(inputs)
        self.st.outputs = &self.outputs[0] if len(outputs) else NULL
        self.st.n_outputs = len(outputs)
        self.st.log_t = log_t
        self.T = (<size_t>1) << log_t

    @staticmethod
    def log_t_for(program, uint64_t cycles):
        return zk_air2_log_t(&(<MachineProgram>MachineProgram(program)).program, cycles)

    def trace(self, uint64_t max_cycles):
        """(code, 56 columns of T ints) for this statement's inputs."""
        cdef fe *ptrs[64]
        cdef int rc
        cols = _columns(ZK_AIR2_WIDTH, self.T, ptrs)
        cdef fe dummy = 0
        rc = zk_air2_trace(&self.machine.program, &self.inputs[0] if self.st.n_inputs else &dummy,
                           self.st.n_inputs, max_cycles, self.st.log_t, ptrs)
        return rc, [list(col) for col in cols]

    def init_challenges(self, alpha, beta):
        zk_air2_challenges_init(&self.ch, &self.st, _e(alpha), _e(beta))

    @property
    def v(self):
        return _t(self.ch.v)

    def fixed_columns(self):
        """(rom as T triples, 5 fixed base columns)."""
        cdef fe3 *rom = <fe3 *>PyMem_Malloc(self.T * sizeof(fe3))
        cdef fe *ptrs[8]
        cdef size_t i
        cols = _columns(ZK_AIR2_FIXED, self.T, ptrs)
        try:
            zk_air2_fixed_columns(&self.st, &self.ch, rom, ptrs)
            roms = [_t(rom[i]) for i in range(self.T)]
        finally:
            PyMem_Free(rom)
        return roms, [list(col) for col in cols]

    def fixed_at(self, z):
        cdef fe3 rom
        cdef fe3 fixed[8]
        zk_air2_fixed_at(&self.st, &self.ch, _e(z), &rom, fixed)
        return _t(rom), [_t(fixed[i]) for i in range(ZK_AIR2_FIXED)]

    def aux_columns(self, main, unsigned threads=1):
        """(code, 10 columns of T triples) from the 56 main columns."""
        cdef size_t T = self.T, i, c
        mains = [array.array("Q", col) for col in main]
        cdef const fe *mp[64]
        cdef fe *fp[8]
        cdef fe3 *ap[16]
        _pointers(mains, ZK_AIR2_WIDTH, <fe **>mp)
        fixed = _columns(ZK_AIR2_FIXED, T, fp)
        cdef fe3 *rom = <fe3 *>PyMem_Malloc(T * sizeof(fe3))
        cdef fe3 *aux = <fe3 *>PyMem_Malloc(T * ZK_AIR2_AUX_WIDTH * sizeof(fe3))
        try:
            for c in range(ZK_AIR2_AUX_WIDTH):
                ap[c] = aux + c * T
            zk_air2_fixed_columns(&self.st, &self.ch, rom, fp)
            rc = zk_air2_aux_columns_threads(&self.st, &self.ch, mp, rom, <const fe **>fp, ap,
                                             threads)
            cols = [[_t(ap[c][i]) for i in range(T)] for c in range(ZK_AIR2_AUX_WIDTH)]
        finally:
            PyMem_Free(rom)
            PyMem_Free(aux)
        return rc, cols

    def eval_base(self, cur, nxt, aux_cur, aux_next, rom, fixed):
        cdef fe c[64]
        cdef fe n[64]
        cdef fe f[8]
        cdef fe3 ac[16]
        cdef fe3 an[16]
        cdef fe3 out[64]
        _load_base(c, cur, ZK_AIR2_WIDTH)
        _load_base(n, nxt, ZK_AIR2_WIDTH)
        _load_ext(ac, aux_cur, ZK_AIR2_AUX_WIDTH)
        _load_ext(an, aux_next, ZK_AIR2_AUX_WIDTH)
        _load_base(f, fixed, ZK_AIR2_FIXED)
        zk_air2_eval_base(&self.st, &self.ch, c, n, ac, an, _e(rom), f, out)
        return [_t(out[i]) for i in range(ZK_AIR2_N_CONSTRAINTS)]

    def eval_ext(self, cur, nxt, aux_cur, aux_next, rom, fixed):
        cdef fe3 c[64]
        cdef fe3 n[64]
        cdef fe3 f[8]
        cdef fe3 ac[16]
        cdef fe3 an[16]
        cdef fe3 out[64]
        _load_ext(c, cur, ZK_AIR2_WIDTH)
        _load_ext(n, nxt, ZK_AIR2_WIDTH)
        _load_ext(ac, aux_cur, ZK_AIR2_AUX_WIDTH)
        _load_ext(an, aux_next, ZK_AIR2_AUX_WIDTH)
        _load_ext(f, fixed, ZK_AIR2_FIXED)
        zk_air2_eval_ext(&self.st, &self.ch, c, n, ac, an, _e(rom), f, out)
        return [_t(out[i]) for i in range(ZK_AIR2_N_CONSTRAINTS)]

    def composition_at(self, cur, nxt, aux_cur, aux_next, alphas, z):
        cdef fe3 c[64]
        cdef fe3 n[64]
        cdef fe3 ac[16]
        cdef fe3 an[16]
        cdef fe3 al[64]
        _load_ext(c, cur, ZK_AIR2_WIDTH)
        _load_ext(n, nxt, ZK_AIR2_WIDTH)
        _load_ext(ac, aux_cur, ZK_AIR2_AUX_WIDTH)
        _load_ext(an, aux_next, ZK_AIR2_AUX_WIDTH)
        _load_ext(al, alphas, ZK_AIR2_N_CONSTRAINTS)
        return _t(zk_air2_composition_at(&self.st, &self.ch, c, n, ac, an, al, _e(z)))
