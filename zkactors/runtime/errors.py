"""Errors the runtime raises that ``zkactors.errors`` does not define yet.

``MemoryBudgetExceeded`` belongs with the other public errors in ``zkactors.errors``
(owned by the maintainers); until it moves there it lives here, derived from
``ProvingError`` so ``except ProvingError`` and ``except ZkActorsError`` catch it too.
"""

from __future__ import annotations

from zkactors.errors import ProvingError


class MemoryBudgetExceeded(ProvingError):
    """A proof that needs more memory than the runtime's ``memory_budget_bytes`` allows,
    refused before it started (it could never be admitted, however long it waited).

    ``needed`` and ``budget`` are in bytes.
    """

    def __init__(self, message: str, needed: int = 0, budget: int = 0) -> None:
        super().__init__(message)
        self.needed = needed
        self.budget = budget


__all__ = ["MemoryBudgetExceeded"]
