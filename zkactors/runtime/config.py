"""``RuntimeConfig``: every knob of the actor runtime, validated once, at construction.

The defaults follow the seed's findings (DESIGN.md): parallelism capped at 20 and by
default at the machine's cores; a result cache that measures its own hit rate over the
last 200 lookups and switches itself off below 50 % (on again at 60 %) because below
that line a cache costs more than it saves.
"""

from __future__ import annotations

import math
import os
from typing import Any, Literal

import attrs

from zkactors import profiles
from zkactors.errors import ConfigError, ProfileError

#: The hard cap on concurrent proofs (seed finding 4: past ~20 threads only contention grows).
MAX_PARALLEL = 20

ShutdownMode = Literal["drain", "cancel"]


def default_parallelism() -> int:
    """One proof per core, within [1, MAX_PARALLEL]."""
    return max(1, min(os.cpu_count() or 1, MAX_PARALLEL))


def _int_in(low: int, high: int | None = None) -> Any:
    def check(_: Any, attribute: attrs.Attribute[Any], value: object) -> None:
        upper = "" if high is None else f" and at most {high}"
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(
                f"{attribute.name} must be an int of at least {low}{upper}, got {value!r}"
            )
        if value < low or (high is not None and value > high):
            allowed = f"[{low}, {high}]" if high is not None else f">= {low}"
            raise ConfigError(f"{attribute.name} = {value} is out of range; allowed: {allowed}")

    return check


def _fraction(_: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or not 0.0 <= value <= 1.0
    ):
        raise ConfigError(f"{attribute.name} must be a number in [0, 1], got {value!r}")


def _positive_seconds(_: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise ConfigError(f"{attribute.name} must be a positive number of seconds, got {value!r}")


def _non_negative_seconds(_: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value < 0
    ):
        raise ConfigError(
            f"{attribute.name} must be a non-negative number of seconds, got {value!r}"
        )


def _profile_name(_: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    try:
        profiles.get(value)  # type: ignore[arg-type]
    except ProfileError as exc:
        raise ConfigError(f"{attribute.name}: {exc}") from None


def _shutdown_mode(_: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    if value not in ("drain", "cancel"):
        raise ConfigError(f"{attribute.name} must be 'drain' or 'cancel', got {value!r}")


@attrs.frozen(kw_only=True)
class RuntimeConfig:
    """How a :class:`~zkactors.runtime.ZkRuntime` runs. Every field is checked here, so
    a runtime never starts with a value it cannot honour.

    Parallelism
        ``max_parallel``: proofs at once (each in its own worker thread); also the total
        number of prover threads, which the supervisor may hand to a single large proof
        when nothing else waits. Allowed range [1, 20]; default: the number of cores.
        ``intra_proof_min_seconds``: a proof estimated to take at least this long, with
        nothing queued behind it, gets all free threads instead of one.

    Mailboxes (bounded: a full one makes ``prove`` wait and ``try_prove`` raise
    ``Overloaded``)
        ``intake_capacity``: submissions waiting for the cache (a ``prove`` call is
        one; ``prove_many`` sends one per ``batch_size`` requests);
        ``estimator_capacity``, ``supervisor_capacity``: proof jobs;
        ``metrics_capacity``: metric events (never waited on: overflow is counted and
        dropped); ``max_pending_proofs``: distinct proofs past the cache at once (being
        estimated, queued or proved), which bounds every queue behind the cache.

    Cache
        ``cache_max_entries`` and ``cache_max_bytes`` (receipt sizes) bound it, least
        recently used first out. ``cache_window``: lookups the hit rate is measured over;
        ``cache_min_requests``: lookups seen before it may switch; ``cache_off_below`` /
        ``cache_on_at``: the hysteresis band (off below the first, on at or above the
        second).

    Proving
        ``profile``: the security profile of requests that do not name one;
        ``max_cycles``: the cycle limit of every run.

    Lifecycle
        ``shutdown``: ``"drain"`` (leaving the ``async with`` block finishes accepted
        work) or ``"cancel"`` (unfinished requests are answered with ``RuntimeClosed`` at
        once; proofs already running in threads are waited for and discarded).
        ``max_restarts`` within ``restart_period`` seconds: how many actor crashes the
        runtime survives (counted together, as an OTP supervisor's intensity); one more
        stops it with ``RuntimeFailed``.

    :raises ConfigError: for any value out of its allowed range.
    """

    max_parallel: int = attrs.field(factory=default_parallelism, validator=_int_in(1, MAX_PARALLEL))
    intra_proof_min_seconds: float = attrs.field(default=0.25, validator=_non_negative_seconds)

    intake_capacity: int = attrs.field(default=1024, validator=_int_in(1))
    estimator_capacity: int = attrs.field(default=256, validator=_int_in(1))
    supervisor_capacity: int = attrs.field(default=256, validator=_int_in(1))
    metrics_capacity: int = attrs.field(default=65536, validator=_int_in(16))
    max_pending_proofs: int = attrs.field(default=1024, validator=_int_in(1))
    batch_size: int = attrs.field(default=256, validator=_int_in(1))

    cache_max_entries: int = attrs.field(default=1000, validator=_int_in(0))
    cache_max_bytes: int = attrs.field(default=256 * 1024 * 1024, validator=_int_in(0))
    cache_window: int = attrs.field(default=200, validator=_int_in(1))
    cache_min_requests: int = attrs.field(default=10, validator=_int_in(1))
    cache_off_below: float = attrs.field(default=0.5, validator=_fraction)
    cache_on_at: float = attrs.field(default=0.6, validator=_fraction)

    profile: str = attrs.field(default=profiles.DEFAULT, validator=_profile_name)
    max_cycles: int = attrs.field(default=2**22, validator=_int_in(1))

    shutdown: ShutdownMode = attrs.field(default="drain", validator=_shutdown_mode)
    max_restarts: int = attrs.field(default=5, validator=_int_in(0))
    restart_period: float = attrs.field(default=10.0, validator=_positive_seconds)

    def __attrs_post_init__(self) -> None:
        if self.cache_on_at < self.cache_off_below:
            raise ConfigError(
                f"cache_on_at ({self.cache_on_at}) must be >= cache_off_below "
                f"({self.cache_off_below}), or the cache would switch on and off on every "
                "lookup"
            )
        if self.cache_min_requests > self.cache_window:
            raise ConfigError(
                f"cache_min_requests ({self.cache_min_requests}) cannot exceed cache_window "
                f"({self.cache_window}): the window never holds that many lookups"
            )
