# Type stub for the Cython module built from ext/executor.pyx.
from collections.abc import Sequence

from typing_extensions import Buffer

OK: int
CYCLE_LIMIT: int
INV_ZERO: int
ASSERT_FAILED: int
TRACE_TOO_SHORT: int
MAX_LOG_T: int
BAD_ADDRESS: int
READ_PAST_END: int
INPUTS_LEFT: int
TOO_MANY_OUTPUTS: int
NO_MEMORY: int
BAD_INPUTS: int
MAX_IO: int

def trace_log_length(cycles: int) -> int: ...

class NativeProgram:
    def __init__(self, data: bytes) -> None: ...
    @property
    def n_inputs(self) -> int: ...
    @property
    def n_outputs(self) -> int: ...
    @property
    def trace_width(self) -> int: ...
    def run(self, inputs: Buffer, max_cycles: int, outputs: Buffer) -> tuple[int, int, int]: ...
    def trace(
        self, inputs: Buffer, max_cycles: int, log_t: int, columns: Sequence[Buffer]
    ) -> int: ...

class MachineProgram:
    def __init__(self, data: bytes) -> None: ...
    @property
    def format(self) -> int: ...
    @property
    def n_inputs(self) -> int: ...
    @property
    def n_outputs(self) -> int: ...
    @property
    def n_registers(self) -> int: ...
    @property
    def n_instructions(self) -> int: ...
    def run(self, inputs: Buffer, max_cycles: int) -> tuple[int, list[int], int, int, int]: ...

# AIR 2 (ext/air2.h), a test binding: Python lists in and out.
Ext = tuple[int, int, int]
AIR2_WIDTH: int
AIR2_AUX_WIDTH: int
AIR2_KINDS: tuple[int, int, int, int]

class Air2:
    def __init__(
        self, program: bytes, inputs: Sequence[int], outputs: Sequence[int], log_t: int
    ) -> None: ...
    @staticmethod
    def log_t_for(program: bytes, cycles: int) -> int: ...
    def trace(self, max_cycles: int) -> tuple[int, list[list[int]]]: ...
    def init_challenges(self, alpha: Ext, beta: Ext) -> None: ...
    @property
    def v(self) -> Ext: ...
    def fixed_columns(self) -> tuple[list[Ext], list[list[int]]]: ...
    def fixed_at(self, z: Ext) -> tuple[Ext, list[Ext]]: ...
    def aux_columns(
        self, main: Sequence[Sequence[int]], threads: int = 1
    ) -> tuple[int, list[list[Ext]]]: ...
    def eval_base(
        self,
        cur: Sequence[int],
        nxt: Sequence[int],
        aux_cur: Sequence[Ext],
        aux_next: Sequence[Ext],
        rom: Ext,
        fixed: Sequence[int],
    ) -> list[Ext]: ...
    def eval_ext(
        self,
        cur: Sequence[Ext],
        nxt: Sequence[Ext],
        aux_cur: Sequence[Ext],
        aux_next: Sequence[Ext],
        rom: Ext,
        fixed: Sequence[Ext],
    ) -> list[Ext]: ...
    def composition_at(
        self,
        cur: Sequence[Ext],
        nxt: Sequence[Ext],
        aux_cur: Sequence[Ext],
        aux_next: Sequence[Ext],
        alphas: Sequence[Ext],
        z: Ext,
    ) -> Ext: ...
