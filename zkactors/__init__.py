"""zkactors: prove zkVM programs with real STARK receipts from an async service.

The public surface, re-exported here (see the README for a tour):

- ``assemble(source) -> Program``, ``Program``, ``programs.load(name)``: the zkVM's programs;
- ``execute(program, inputs) -> Execution``: run natively, outputs and exact cycles;
- ``prove(program, inputs) -> Receipt`` and ``verify(receipt, program)``: STARK receipts;
- ``ZkRuntime``, ``RuntimeConfig``: the actor runtime for async services;
- ``profiles``, ``errors``: security profiles and every exception type.

Names are imported on first use, so ``import zkactors`` stays cheap for a CLI call.
"""

from __future__ import annotations

import importlib
from typing import Any

from zkactors._version import __version__

_EXPORTS = {
    "assemble": "zkactors.zkvm.assembler",
    "Program": "zkactors.zkvm.program",
    "execute": "zkactors.zkvm.execute",
    "Execution": "zkactors.zkvm.execute",
    "prove": "zkactors.zkvm.prover",
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
