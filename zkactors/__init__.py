"""zkactors: prove zkVM programs with real STARK receipts from an async service.

The public surface, re-exported here (see the README for a tour):

- ``assemble(source) -> Program``, ``Program``, ``programs.load(name)``: the zkVM's programs;
- ``execute(program, inputs) -> Execution``: run natively, outputs and exact cycles;
- ``prove(program, inputs) -> Receipt`` and ``verify(receipt, program)``: STARK receipts;
- ``ZkRuntime``, ``RuntimeConfig``: the actor runtime for async services;
- ``profiles``, ``errors``: security profiles and every exception type.

Names are imported on first use, so ``import zkactors`` stays cheap for a CLI call; type
checkers see the real definitions through the ``TYPE_CHECKING`` imports below, so a user's
``mypy --strict`` knows that ``zkactors.prove(...)`` is a ``Receipt``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from zkactors._version import __version__

if TYPE_CHECKING:
    # The same names as _EXPORTS / _SUBMODULES (keep the two in step). ``X as X`` marks
    # each one as re-exported, which ``mypy --strict`` requires of ``from zkactors import X``.
    from zkactors import errors as errors
    from zkactors import profiles as profiles
    from zkactors import programs as programs
    from zkactors import testing as testing
    from zkactors.runtime import Estimate as Estimate
    from zkactors.runtime import MetricsSnapshot as MetricsSnapshot
    from zkactors.runtime import ProofOutcome as ProofOutcome
    from zkactors.runtime import RuntimeConfig as RuntimeConfig
    from zkactors.runtime import ZkRuntime as ZkRuntime
    from zkactors.zkvm.assembler import assemble as assemble
    from zkactors.zkvm.execute import Execution as Execution
    from zkactors.zkvm.execute import execute as execute
    from zkactors.zkvm.program import Program as Program
    from zkactors.zkvm.prover import prove as prove
    from zkactors.zkvm.receipt import Receipt as Receipt
    from zkactors.zkvm.verifier import verify as verify

_EXPORTS = {
    "assemble": "zkactors.zkvm.assembler",
    "Program": "zkactors.zkvm.program",
    "execute": "zkactors.zkvm.execute",
    "Execution": "zkactors.zkvm.execute",
    "prove": "zkactors.zkvm.prover",
    "CancelToken": "zkactors.zkvm.prover",
    "verify": "zkactors.zkvm.verifier",
    "Receipt": "zkactors.zkvm.receipt",
    "ZkRuntime": "zkactors.runtime",
    "RuntimeConfig": "zkactors.runtime",
    "MetricsSnapshot": "zkactors.runtime",
    "ProofOutcome": "zkactors.runtime",
    "Estimate": "zkactors.runtime",
}
_SUBMODULES = ("programs", "profiles", "errors", "testing")

__all__ = ["__version__", *_EXPORTS, *_SUBMODULES]


# Only reached at run time for names not yet imported (type checkers use the imports above).
def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
    elif name in _SUBMODULES:
        value = importlib.import_module(f"zkactors.{name}")
    else:
        raise AttributeError(f"module 'zkactors' has no attribute {name!r}")
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
