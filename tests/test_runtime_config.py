"""RuntimeConfig: defaults, ranges, and refusal with ConfigError saying what is allowed."""

from __future__ import annotations

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from zkactors.errors import ConfigError
from zkactors.runtime import RuntimeConfig
from zkactors.runtime.config import (
    MAX_PARALLEL,
    available_cores,
    available_memory_bytes,
    default_parallelism,
)


def test_defaults_follow_the_original_report() -> None:
    config = RuntimeConfig()
    assert config.max_parallel == max(1, min(available_cores(), MAX_PARALLEL))
    assert config.max_parallel == default_parallelism()
    assert config.cache_window == 200
    assert config.cache_min_requests == 10
    assert config.cache_off_below == 0.5
    assert config.cache_on_at == 0.6
    assert config.profile == "default"
    assert config.shutdown == "drain"


def test_config_is_frozen() -> None:
    config = RuntimeConfig()
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        config.max_parallel = 3  # type: ignore[misc]


@given(st.integers(min_value=1, max_value=MAX_PARALLEL))
def test_max_parallel_in_range_is_accepted(value: int) -> None:
    assert RuntimeConfig(max_parallel=value).max_parallel == value


@given(st.one_of(st.integers(max_value=0), st.integers(min_value=MAX_PARALLEL + 1)))
def test_max_parallel_out_of_range_is_refused_with_the_range(value: int) -> None:
    with pytest.raises(ConfigError, match=r"max_parallel.*\[1, 20\]"):
        RuntimeConfig(max_parallel=value)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("max_parallel", 2.0, "max_parallel must be an int"),
        ("max_parallel", True, "max_parallel must be an int"),
        ("intake_capacity", 0, "intake_capacity"),
        ("cache_window", 0, "cache_window"),
        ("cache_off_below", 1.5, r"cache_off_below must be a number in \[0, 1\]"),
        ("cache_on_at", float("nan"), "cache_on_at"),
        ("profile", "nope", "unknown security profile 'nope'"),
        ("shutdown", "later", "'drain' or 'cancel'"),
        ("restart_period", 0, "restart_period must be a positive number"),
        ("max_restarts", -1, "max_restarts"),
        ("cache_max_bytes", -1, "cache_max_bytes"),
        ("parallelism", "forced", "parallelism must be one of 'adaptive'"),
        ("memory_budget_bytes", 0, "memory_budget_bytes"),
        ("intra_proof_min_seconds", -1.0, "intra_proof_min_seconds"),
        ("calibrate", "never", "'startup' or 'off'"),
        ("calibration_cache", 1, "calibration_cache must be True or False"),
        ("calibration_cache_dir", 3, "calibration_cache_dir must be a path"),
    ],
)
def test_bad_values_are_refused(field: str, value: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        RuntimeConfig(**{field: value})  # type: ignore[arg-type]


def test_issue_7_defaults() -> None:
    config = RuntimeConfig()
    assert config.parallelism == "adaptive"
    assert config.calibrate == "startup" and config.calibration_cache is False
    available = available_memory_bytes()
    if available is not None:
        assert config.memory_budget_bytes == int(available * 0.5)
    assert 1 <= config.prover_threads <= min(config.max_parallel, available_cores())


def test_hysteresis_band_must_be_ordered() -> None:
    with pytest.raises(ConfigError, match="cache_on_at"):
        RuntimeConfig(cache_off_below=0.7, cache_on_at=0.6)


def test_min_requests_must_fit_the_window() -> None:
    with pytest.raises(ConfigError, match="cache_min_requests"):
        RuntimeConfig(cache_window=5, cache_min_requests=6)


def test_config_error_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        RuntimeConfig(max_parallel=0)
