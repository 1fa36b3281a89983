"""The exceptions zkactors raises, one type per condition.

Every error a caller can meet derives from :class:`ZkActorsError`, so ``except
ZkActorsError`` catches all of ours and nothing else. Errors caused by bad input also
derive from :class:`ValueError`, because that is what they are to generic code.
Messages say what was wrong and, where it helps, what to do instead.
"""

from __future__ import annotations


class ZkActorsError(Exception):
    """Base class of every exception raised by zkactors."""


class AssemblyError(ZkActorsError, ValueError):
    """Assembly source that is not a valid program.

    ``line`` and ``column`` are 1-based and point at the offending token; ``source_line``
    is the text of that line (empty when the error concerns the program as a whole).
    """

    def __init__(self, message: str, *, line: int, column: int, source_line: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column
        self.source_line = source_line

    def __str__(self) -> str:
        where = f"line {self.line}, column {self.column}: {self.message}"
        if self.source_line:
            caret = " " * (max(self.column, 1) - 1) + "^"
            return f"{where}\n    {self.source_line}\n    {caret}"
        return where


class NonCanonicalElement(ZkActorsError, ValueError):
    """Bytes or an int that are not the canonical encoding of a field element (>= p, or
    of the wrong length)."""


class ProgramFormatError(ZkActorsError, ValueError):
    """Bytes that are not the canonical encoding of a program."""


class NotAProgramError(ProgramFormatError, TypeError):
    """An argument that should be a program is neither a :class:`~zkactors.Program` nor
    its canonical bytes (for example a program's name or its assembly text)."""


class UnknownProgramError(ZkActorsError, LookupError):
    """No built-in program has that name (``zkactors.programs.names()`` lists them)."""


class InputError(ZkActorsError, ValueError):
    """Program inputs of the wrong count, type or range (each must be an int in [0, p))."""


class ExecutionError(ZkActorsError):
    """A program failed while running: no halt within the cycle limit, ``inv`` of zero,
    or a failed assertion.

    ``pc`` is the index of the failing instruction (``None`` for the cycle limit) and
    ``source_line`` its assembly text when known.
    """

    def __init__(
        self, message: str, *, pc: int | None = None, source_line: str | None = None
    ) -> None:
        super().__init__(message)
        self.pc = pc
        self.source_line = source_line


class CycleLimitExceeded(ExecutionError):
    """The program did not halt within ``max_cycles`` cycles (the limit it was run with)."""

    def __init__(self, message: str, *, max_cycles: int) -> None:
        super().__init__(message)
        self.max_cycles = max_cycles


class ProfileError(ZkActorsError, ValueError):
    """An unknown security profile name."""


class ProvingError(ZkActorsError):
    """The prover could not produce a receipt (for example, the trace is too large)."""


class ProofCancelled(ZkActorsError):
    """A proof stopped before it finished because its :class:`~zkactors.CancelToken` was
    cancelled: in the runtime, every request waiting for it had gone (cancelled or timed
    out), or the process was interrupted. Nothing of the proof is kept."""


class MemoryBudgetExceeded(ProvingError):
    """A proof that needs more memory than the runtime's ``memory_budget_bytes`` allows,
    refused before it started (it could never be admitted, however long it waited).

    ``needed`` and ``budget`` are in bytes.
    """

    def __init__(self, message: str, needed: int = 0, budget: int = 0) -> None:
        super().__init__(message)
        self.needed = needed
        self.budget = budget


class ReceiptFormatError(ZkActorsError, ValueError):
    """Bytes that are not a well-formed receipt of a supported format version."""


class VerificationError(ZkActorsError):
    """A receipt that does not prove its statement. ``check`` names the failed check."""

    def __init__(self, message: str, *, check: str = "") -> None:
        super().__init__(message)
        self.check = check


class ConfigError(ZkActorsError, ValueError):
    """A runtime configuration value out of its allowed range."""


class Overloaded(ZkActorsError):
    """The runtime cannot accept a request now; ``try_prove`` raises this instead of waiting."""


class RuntimeClosed(ZkActorsError):
    """The runtime is not running: it has not started, or it is shutting down or stopped."""


class RuntimeFailed(ZkActorsError):
    """The runtime stopped because an actor kept crashing past its restart-intensity limit."""


class ActorCrashed(ZkActorsError):
    """A request failed because the actor handling it crashed; the actor was restarted."""


class DeadlineExceeded(ZkActorsError):
    """A request cannot (or did not) finish before its deadline."""


class StoreError(ZkActorsError):
    """A receipt store call failed (unreachable, timed out, locked, full). The runtime
    never lets one reach a request: it logs and counts it and proves instead; it is
    raised only by the store classes themselves (``zkactors.runtime.store``)."""


class MissingExtraError(ZkActorsError, ImportError):
    """An optional dependency is not installed; the message names the extra that
    provides it (for example ``pip install 'zkactors[prometheus]'``)."""


class ClusterError(ZkActorsError):
    """The Dask cluster a runtime proves on could not be used: its scheduler is
    unreachable or was lost, its workers kept dying under a proof, or a worker's receipt
    did not verify. Raised only with ``RuntimeConfig(fallback="fail")``; with the default
    ``fallback="local"`` the runtime proves locally instead."""
