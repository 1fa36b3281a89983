"""The actor runtime: intake, cache, estimator, supervisor + provers, metrics.

``ZkRuntime`` is the facade (:mod:`.runtime`), ``RuntimeConfig`` its configuration
(:mod:`.config`), ``MetricsSnapshot`` what ``rt.metrics()`` returns (:mod:`.metrics`),
``ProofOutcome`` and ``Estimate`` what ``rt.prove_detailed()`` and ``rt.estimate()``
return (:mod:`.outcomes`). The cost model and its start-up calibration live in
:mod:`.costmodel` and :mod:`.calibration`, the supervisor's decisions as pure functions
in :mod:`.scheduling`. Each actor lives in its own module with the messages it receives
in :mod:`.messages`. The persistent receipt stores behind the cache (sqlite, Redis) are in
:mod:`.store`.
"""

from zkactors.errors import MemoryBudgetExceeded
from zkactors.runtime.config import RuntimeConfig
from zkactors.runtime.costmodel import CalibratedCostModel, CostModel, ProofShape
from zkactors.runtime.metrics import MetricsSnapshot
from zkactors.runtime.outcomes import Estimate, ProofOutcome
from zkactors.runtime.runtime import ProofHandle, ZkRuntime

__all__ = [
    "CalibratedCostModel",
    "CostModel",
    "Estimate",
    "MemoryBudgetExceeded",
    "MetricsSnapshot",
    "ProofHandle",
    "ProofOutcome",
    "ProofShape",
    "RuntimeConfig",
    "ZkRuntime",
]
