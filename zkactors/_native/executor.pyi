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
    def run(self, inputs: Buffer, max_cycles: int) -> tuple[int, list[int], int, int]: ...
