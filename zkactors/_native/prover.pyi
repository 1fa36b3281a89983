# Type stub for the Cython module built from ext/prover.pyx.
from collections.abc import Sequence
from typing import Any

from typing_extensions import Buffer

OK: int
BAD_PROGRAM: int
BAD_PROFILE: int
BAD_INPUTS: int
CYCLE_LIMIT: int
INV_ZERO: int
ASSERT_FAILED: int
TOO_LARGE: int
NO_MEMORY: int
BAD_TRACE: int
CANCELLED: int
BAD_ADDRESS: int
READ_PAST_END: int
INPUTS_LEFT: int
TOO_MANY_OUTPUTS: int
UNLUCKY: int
MACHINE_WIDTH: int
MACHINE_MIN_LOG_T: int
MIN_LOG_T: int
MAX_LOG_T: int
TIMING_FIELDS: tuple[str, ...]

def prove(
    program: bytes,
    inputs: Buffer,
    profile_id: int,
    threads: int,
    max_cycles: int,
    progress: Buffer | None = None,
    cancel: Buffer | None = None,
    air: int = 1,
) -> tuple[int, bytes | None, dict[str, Any]]: ...
def cancel(flag: Buffer) -> None: ...
def prove_with_trace(
    program: bytes,
    inputs: Buffer,
    outputs: Buffer,
    columns: Sequence[Buffer],
    log_t: int,
    profile_id: int,
    threads: int,
    cancel: Buffer | None = None,
    air: int = 1,
) -> tuple[int, bytes | None, dict[str, Any]]: ...
def memory_bytes(width: int, log_t: int, profile_id: int) -> int | None: ...
def machine_memory_bytes(log_t: int, profile_id: int) -> int | None: ...
def fri_shape(profile_id: int, log_t: int) -> tuple[int, int, int]: ...
def profile_row(profile_id: int) -> tuple[int, int, int, int, int]: ...

class Transcript:
    def __init__(self) -> None: ...
    @property
    def state(self) -> bytes: ...
    @property
    def counter(self) -> int: ...
    def absorb(self, data: bytes) -> None: ...
    def absorb_statement(
        self, profile_id: int, program_hash: bytes, inputs: Buffer, outputs: Buffer, log_t: int
    ) -> None: ...
    def squeeze(self) -> bytes: ...
    def draw_base(self) -> int: ...
    def draw_ext(self) -> tuple[int, int, int]: ...
    def draw_index(self, n: int) -> int: ...
    def check_pow(self, nonce: int, bits: int) -> bool: ...
    def grind(self, bits: int) -> int: ...

Ext = tuple[int, int, int]

class Air:
    def __init__(self, program: bytes) -> None: ...
    @property
    def width(self) -> int: ...
    @property
    def counts(self) -> tuple[int, int, int]: ...
    @property
    def n_constraints(self) -> int: ...
    def eval_base(
        self, cur: Sequence[int], next: Sequence[int], inputs: Sequence[int], outputs: Sequence[int]
    ) -> list[int]: ...
    def eval_ext(
        self,
        cur: Sequence[int | Ext],
        next: Sequence[int | Ext],
        inputs: Sequence[int],
        outputs: Sequence[int],
    ) -> list[Ext]: ...
    def combine_batch(
        self,
        cur_rows: Sequence[Sequence[int]],
        next_rows: Sequence[Sequence[int]],
        inputs: Sequence[int],
        outputs: Sequence[int],
        alphas: Sequence[int | Ext],
    ) -> list[tuple[Ext, Ext, Ext]]: ...
    def composition_at(
        self,
        cur: Sequence[int | Ext],
        next: Sequence[int | Ext],
        inputs: Sequence[int],
        outputs: Sequence[int],
        alphas: Sequence[int | Ext],
        z: int | Ext,
        log_t: int,
    ) -> Ext: ...

def cpu_kernels() -> str: ...
def kernels_in_use() -> str: ...
def force_kernels(level: str | None) -> str | None: ...
def pool_stats() -> dict[str, int]: ...
def pool_trim() -> None: ...
