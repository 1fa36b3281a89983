"""``RuntimeConfig``: every knob of the actor runtime, validated once, at construction.

The defaults follow the findings of the original performance report (of an earlier system
of this kind), re-checked with real proofs in docs/experiments.md: parallelism capped at
20 and by default at the machine's cores, chosen per proof by the supervisor
(``"adaptive"``: intra-proof threads for a lone large proof, one thread per proof for a
queue), because forcing either kind made the original report's batches slower; a result
cache that measures its own hit rate over the last 200 lookups and switches itself off
below 50 % (on again at 60 %) because below that line a cache costs more than it saves;
proofs admitted only while their estimated peak memory fits a budget (by default half the
memory the process may use: the machine's, or its container's limit). Cores and memory
respect the container's cgroup limits (:mod:`zkactors.runtime.limits`).
"""

from __future__ import annotations

import math
import os
from typing import Any, Literal

import attrs

from zkactors import profiles
from zkactors.errors import ConfigError, ProfileError
from zkactors.runtime.limits import container_cores, container_memory_bytes

#: The hard cap on concurrent proofs (the original performance report's finding 4: past
#: ~20 threads only contention grows).
MAX_PARALLEL = 20

#: The default memory budget: this share of the memory the process may use (the
#: machine's, or its container's limit if lower).
MEMORY_BUDGET_FRACTION = 0.5

ShutdownMode = Literal["drain", "cancel"]
Parallelism = Literal["adaptive", "sequential", "inter", "intra"]
PARALLELISM_MODES: tuple[str, ...] = ("adaptive", "sequential", "inter", "intra")
Calibrate = Literal["startup", "off"]
Fallback = Literal["local", "fail"]


def available_cores() -> int:
    """The cores this process may use: its CPU affinity (where the OS has one), and no
    more than its container's CPU quota (cgroup ``cpu.max``, rounded up)."""
    try:
        cores = max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        cores = max(1, os.cpu_count() or 1)
    quota = container_cores()
    return cores if quota is None else min(cores, quota)


def default_parallelism() -> int:
    """One proof per core, within [1, MAX_PARALLEL]."""
    return max(1, min(available_cores(), MAX_PARALLEL))


def physical_memory_bytes() -> int | None:
    """The machine's physical memory, or None where the OS does not say."""
    try:
        pages, page = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None
    return pages * page if pages > 0 and page > 0 else None


def available_memory_bytes() -> int | None:
    """The memory this process may use: physical memory, and no more than its
    container's limit (cgroup ``memory.max`` / ``memory.high``); None if neither is known."""
    known = [m for m in (physical_memory_bytes(), container_memory_bytes()) if m is not None]
    return min(known) if known else None


def default_memory_budget() -> int:
    """:data:`MEMORY_BUDGET_FRACTION` of the available memory (4 GiB where it is unknown)."""
    available = available_memory_bytes()
    return int(available * MEMORY_BUDGET_FRACTION) if available else 4 << 30


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


def _overtake_factor(_: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    # math.inf is allowed: plain shortest-first, unbounded waits (for comparisons).
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or math.isnan(value)
        or value < 0
    ):
        raise ConfigError(f"{attribute.name} must be a number >= 0 (or math.inf), got {value!r}")


def _profile_name(_: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    try:
        profiles.get(value)  # type: ignore[arg-type]
    except ProfileError as exc:
        raise ConfigError(f"{attribute.name}: {exc}") from None


def _parallelism(_: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    if value not in PARALLELISM_MODES:
        raise ConfigError(
            f"{attribute.name} must be one of {', '.join(map(repr, PARALLELISM_MODES))}, "
            f"got {value!r}"
        )


def _calibrate(_: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    if value not in ("startup", "off"):
        raise ConfigError(f"{attribute.name} must be 'startup' or 'off', got {value!r}")


def _bool(_: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, bool):
        raise ConfigError(f"{attribute.name} must be True or False, got {value!r}")


def _optional_path(_: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None and not isinstance(value, str | os.PathLike):
        raise ConfigError(f"{attribute.name} must be a path or None, got {value!r}")


def _store_url(_: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is None:
        return
    from zkactors.runtime.store import parse_store_url

    parse_store_url(value)  # raises ConfigError, naming the URL


def _optional_positive_seconds(_: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None:
        _positive_seconds(_, attribute, value)


def _dask_scheduler(_: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    from zkactors.runtime.cluster import check_scheduler

    check_scheduler(value)  # raises ConfigError, naming the value


def _fallback(_: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    if value not in ("local", "fail"):
        raise ConfigError(f"{attribute.name} must be 'local' or 'fail', got {value!r}")


def _shutdown_mode(_: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    if value not in ("drain", "cancel"):
        raise ConfigError(f"{attribute.name} must be 'drain' or 'cancel', got {value!r}")


@attrs.frozen(kw_only=True)
class RuntimeConfig:
    """How a :class:`~zkactors.runtime.ZkRuntime` runs. Every field is checked here, so
    a runtime never starts with a value it cannot honour.

    Parallelism
        ``max_parallel``: proofs at once (each in its own worker thread); also the total
        number of prover threads. Allowed range [1, 20]; default: the cores the
        process may use (its affinity and its container's CPU quota).
        ``parallelism``: how those threads are spent.

        - ``"adaptive"`` (default): per proof, from the estimates and the queue, the
          supervisor picks the thread count that minimises the estimated time to finish
          everything it holds (``supervisor.choose_threads``): a lone large proof gets
          every core inside the prover, a queue of proofs runs side by side with one
          thread each, and the last large proof of a batch may wait a moment for every
          thread rather than start on one.
        - ``"sequential"``: one proof at a time, one thread (the original report's baseline).
        - ``"inter"``: one thread per proof, up to ``max_parallel`` side by side (the
          original report's forced parallelism).
        - ``"intra"``: one proof at a time with ``max_parallel`` threads (at most the
          cores).

        ``intra_proof_min_seconds``: in adaptive mode, a proof estimated below this (on
        one thread) always gets one thread: below it, starting threads costs about what
        they save, and the estimate's noise would make the choice flip.

        ``overtake_factor`` (``A``, default 8): queued proofs go shortest first, but a
        proof can be overtaken by later arrivals for only so long. The supervisor keeps a
        virtual clock ``V``, the estimated single-thread seconds of every proof started so
        far, and orders its queue by ``V at arrival + A x estimate``. Once the proofs
        started after a job's arrival add up to ``A`` times its own estimate, nothing
        that arrives later starts before it, deadlines included (see the supervisor's
        docstring for the bound). ``0`` is first come, first served; ``math.inf`` plain
        shortest-first with no bound on the wait.

    Admission (after the estimator has run the program, before any prover time is spent)
        ``memory_budget_bytes``: the estimated peak memory of the proofs running at once
        stays under this; a proof that alone needs more is refused with
        ``MemoryBudgetExceeded``. Default: half the memory the process may use (physical
        memory, or its container's limit if lower).
        A request whose ``timeout`` cannot be met (the estimated wait for the proofs ahead
        of it plus its own estimated proving time ends past its deadline) is refused with
        ``DeadlineExceeded`` at once, instead of proving something nobody will wait for.

    Cost model
        ``calibrate``: ``"startup"`` (default) times a few tiny real proofs when the
        runtime starts (about 0.3 s at the default profile, once per process and
        profile); ``"off"`` starts from built-in coefficients and learns only from real
        proofs. ``calibration_cache``: also keep the calibration on disk (under
        ``calibration_cache_dir``, default ``~/.cache/zkactors``) for later processes on
        the same machine and build; off by default.

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

    Store (persistent receipts behind the cache; see ``zkactors.runtime.store``)
        ``store``: ``None`` (default: none), ``"sqlite:///path/to/receipts.db"`` (one
        machine) or ``"redis://host:port/db"`` (a fleet sharing receipts; needs
        ``zkactors[redis]``). A cache miss asks the store before proving; every proof is
        written to it in the background. Nothing read from it is trusted: each entry is
        verified before it is served, and a bad one is deleted and proved anew. A failing
        store never fails a request: it is counted, logged and asked again later.
        ``store_max_entries`` / ``store_max_bytes``: its bounds (oldest written out
        first); ``store_ttl``: seconds an entry lives (None: until evicted);
        ``store_timeout``: the longest one store call may take (a lookup past it is
        proved instead); ``store_threads``: worker threads for store calls at once.

    Proving
        ``profile``: the security profile of requests that do not name one;
        ``max_cycles``: the cycle limit of every run.

    Cluster (see ``zkactors.runtime.cluster``; needs ``zkactors[dask]``)
        ``dask_scheduler``: ``None`` (default: proofs run in worker threads of this
        process), ``"local"`` (the runtime starts and owns a Dask ``LocalCluster`` of
        worker processes, one per core) or a scheduler address (``"tcp://host:8786"``):
        every proof is then a task on that cluster, at most ``max_parallel`` at once, in
        the supervisor's order; each receipt a worker returns is verified here before
        it is cached or returned. ``fallback``: when the cluster cannot be used (its
        scheduler is unreachable or lost, a task's workers kept dying, a receipt did
        not verify), ``"local"`` (default) proves in this process instead, counts and
        logs it and tries the cluster again later; ``"fail"`` answers with
        ``ClusterError`` (and refuses to start if the scheduler is unreachable then).
        ``dask_connect_timeout``: seconds a connection to the scheduler may take before
        it counts as unreachable.

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
    parallelism: Parallelism = attrs.field(default="adaptive", validator=_parallelism)
    intra_proof_min_seconds: float = attrs.field(default=0.005, validator=_non_negative_seconds)
    overtake_factor: float = attrs.field(default=8.0, validator=_overtake_factor)
    memory_budget_bytes: int = attrs.field(factory=default_memory_budget, validator=_int_in(1))
    calibrate: Calibrate = attrs.field(default="startup", validator=_calibrate)
    calibration_cache: bool = attrs.field(default=False, validator=_bool)
    calibration_cache_dir: str | os.PathLike[str] | None = attrs.field(
        default=None, validator=_optional_path
    )

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

    store: str | None = attrs.field(default=None, validator=_store_url)
    store_max_entries: int = attrs.field(default=100_000, validator=_int_in(0))
    store_max_bytes: int = attrs.field(default=4 * 1024**3, validator=_int_in(0))
    store_ttl: float | None = attrs.field(default=None, validator=_optional_positive_seconds)
    store_timeout: float = attrs.field(default=0.5, validator=_positive_seconds)
    store_threads: int = attrs.field(default=4, validator=_int_in(1, 64))

    profile: str = attrs.field(default=profiles.DEFAULT, validator=_profile_name)
    max_cycles: int = attrs.field(default=2**22, validator=_int_in(1))

    dask_scheduler: str | None = attrs.field(default=None, validator=_dask_scheduler)
    fallback: Fallback = attrs.field(default="local", validator=_fallback)
    dask_connect_timeout: float = attrs.field(default=5.0, validator=_positive_seconds)

    shutdown: ShutdownMode = attrs.field(default="drain", validator=_shutdown_mode)
    max_restarts: int = attrs.field(default=5, validator=_int_in(0))
    restart_period: float = attrs.field(default=10.0, validator=_positive_seconds)

    @property
    def prover_threads(self) -> int:
        """The most intra-proof threads one proof may get: ``max_parallel``, but never
        more than the cores (threads beyond them only take turns)."""
        return max(1, min(self.max_parallel, available_cores()))

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
