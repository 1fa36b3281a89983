"""The actor runtime: intake, cache, estimator, supervisor + provers, metrics.

``ZkRuntime`` is the facade (:mod:`.runtime`), ``RuntimeConfig`` its configuration
(:mod:`.config`), ``MetricsSnapshot`` what ``rt.metrics()`` returns (:mod:`.metrics`).
Each actor lives in its own module with the messages it receives in :mod:`.messages`.
"""

from zkactors.runtime.config import RuntimeConfig
from zkactors.runtime.estimator import CostModel, LinearCostModel
from zkactors.runtime.metrics import MetricsSnapshot
from zkactors.runtime.runtime import ProofHandle, ZkRuntime

__all__ = [
    "CostModel",
    "LinearCostModel",
    "MetricsSnapshot",
    "ProofHandle",
    "RuntimeConfig",
    "ZkRuntime",
]
