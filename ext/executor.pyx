# cython: language_level=3
"""The native zkVM executor (``zkactors._native.executor``).

``zkactors.zkvm.execute`` is the only caller: it checks the inputs (count and range) and
turns the return codes into typed errors. This module checks buffer sizes before entering
C, so no call from Python can make the C code read or write out of bounds, and it releases
the GIL for every run and trace.
"""

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

cdef extern from "machine.h":
    ctypedef struct zk_machine_program:
        uint8_t format
        uint32_t n_registers
        uint32_t n_inputs
        uint32_t n_outputs
        uint32_t n_instructions
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
        (code, outputs as a list, cycles, fail_pc)."""
        cdef uint64_t cycles = 0
        cdef uint32_t fail_pc = 0
        cdef size_t n_outputs = 0
        cdef int rc
        cdef fe dummy = 0
        cdef size_t i
        if inputs.shape[0] < self.program.n_inputs or inputs.shape[0] > ZK_MACHINE_MAX_IO:
            raise ValueError(f"expected {self.program.n_inputs} to {ZK_MACHINE_MAX_IO} inputs, "
                             f"got {inputs.shape[0]}")
        cdef const fe *in_ptr = &inputs[0] if inputs.shape[0] else &dummy
        cdef fe *out_ptr = <fe *>PyMem_Malloc(ZK_MACHINE_MAX_IO * sizeof(fe))
        if out_ptr == NULL:
            raise MemoryError()
        try:
            with nogil:
                rc = zk_machine_run(&self.program, in_ptr, inputs.shape[0], max_cycles,
                                    out_ptr, &n_outputs, &cycles, &fail_pc)
            outputs = [out_ptr[i] for i in range(n_outputs)]
        finally:
            PyMem_Free(out_ptr)
        return rc, outputs, cycles, fail_pc
