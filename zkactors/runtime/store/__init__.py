"""Persistent receipt stores behind the cache actor.

``RuntimeConfig(store=...)`` names one by URL:

- ``None`` (default): no store; receipts live only in the in-memory cache;
- ``"sqlite:///abs/path/receipts.db"`` (or ``"sqlite:relative/path.db"``): an embedded
  SQLite file in WAL mode (:mod:`.sqlite`), the choice for one machine;
- ``"redis://host:port/db"``: a Redis server (:mod:`.redis`; needs ``zkactors[redis]``),
  for a fleet of runtimes sharing receipts;
- ``"memory://"``: an in-process store (:mod:`.memory`), for tests and benchmarks.

Every backend is a :class:`ReceiptStore`: four async methods over opaque bytes keyed by
:func:`store_key`. The blocking ones (SQLite, Redis) run their client calls in worker
threads through one bounded :class:`anyio.CapacityLimiter` and under a timeout
(:class:`ThreadedStore`), so they work the same on asyncio and trio and never stall the
event loop.

Nothing read from a store is trusted: :class:`StoreFront` (what the cache actor talks
to) decodes every entry strictly, checks its statement against the request and verifies
its proof against the program before it is served; an entry that fails is counted,
deleted and proved anew. It also keeps the store from slowing the runtime down: after a
failure it stops asking for a while (growing up to :data:`MAX_BACKOFF` seconds), then
tries again, so a dead store costs one timeout, not one per request.
"""

from __future__ import annotations

import hashlib
import os
import struct
import threading
import time
from collections.abc import Callable
from typing import Literal, Protocol, TypeVar
from urllib.parse import unquote, urlsplit

import anyio
import attrs

from zkactors._logging import get_logger
from zkactors.errors import (
    ConfigError,
    ReceiptFormatError,
    StoreError,
)
from zkactors.runtime.messages import CacheKey
from zkactors.zkvm.program import Program
from zkactors.zkvm.receipt import Receipt

log = get_logger(__name__)

T = TypeVar("T")

#: The longest the front waits before asking a failed store again, in seconds.
MAX_BACKOFF = 5.0
#: The first wait after a failure, in seconds (doubled per consecutive failure).
FIRST_BACKOFF = 0.25

#: Entry format: magic, version, the run's cycles (u64 LE), then the receipt's bytes.
ENTRY_MAGIC = b"ZKST"
ENTRY_VERSION = 1
_ENTRY_HEADER = struct.Struct("<4sBQ")

Scheme = Literal["sqlite", "redis", "memory"]


# ---- URLs ----


@attrs.frozen
class StoreURL:
    """A parsed store URL: ``scheme`` and, per scheme, ``path`` (sqlite) or ``host``,
    ``port``, ``db``, ``username``, ``password`` (redis)."""

    scheme: Scheme
    path: str = ""
    host: str = ""
    port: int = 0
    db: int = 0
    username: str | None = None
    password: str | None = attrs.field(default=None, repr=False)

    def redacted(self) -> str:
        """The URL without its password (for logs and errors)."""
        if self.scheme == "sqlite":
            return (
                f"sqlite:///{self.path.lstrip('/')}"
                if self.path.startswith("/")
                else (f"sqlite:{self.path}")
            )
        if self.scheme == "memory":
            return "memory://"
        return f"redis://{self.host}:{self.port}/{self.db}"


def parse_store_url(url: object) -> StoreURL:
    """Parse and check a store URL (see the module docstring for the forms).

    :raises ConfigError: for anything else: an unknown scheme, a sqlite URL with a host
        or without a path, a redis URL without a host or with a bad port or db, query
        parameters (none are supported), or a redis URL when the ``redis`` package is
        missing.
    """
    if not isinstance(url, str):
        raise ConfigError(f"store must be a URL string or None, got {url!r}")
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if parts.query or parts.fragment:
        raise ConfigError(f"store URL {url!r}: query parameters and fragments are not supported")
    if scheme == "memory":
        if parts.netloc or parts.path:
            raise ConfigError(f"store URL {url!r}: a memory store takes no host or path")
        return StoreURL("memory")
    if scheme == "sqlite":
        if parts.netloc not in ("", "localhost"):
            raise ConfigError(
                f"store URL {url!r}: a sqlite URL names a file, not a host; write "
                "sqlite:///absolute/path.db or sqlite:relative/path.db"
            )
        path = unquote(parts.path)
        if not path or path.endswith("/"):
            raise ConfigError(f"store URL {url!r}: no database file named")
        return StoreURL("sqlite", path=path)
    if scheme == "redis":
        if not parts.hostname:
            raise ConfigError(f"store URL {url!r}: a redis URL needs a host")
        try:
            port = parts.port or 6379
        except ValueError:
            raise ConfigError(
                f"store URL {url!r}: the port is not a number in [0, 65535]"
            ) from None
        db_text = parts.path.lstrip("/") or "0"
        if not db_text.isdigit():
            raise ConfigError(f"store URL {url!r}: the database must be a number, got {db_text!r}")
        try:
            import redis  # noqa: F401  (checked here so a missing extra fails at configuration)
        except ImportError:
            raise ConfigError(
                f"store URL {url!r} needs the redis client: pip install 'zkactors[redis]'"
            ) from None
        return StoreURL(
            "redis",
            host=parts.hostname,
            port=port,
            db=int(db_text),
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
        )
    raise ConfigError(
        f"store URL {url!r}: unknown scheme {parts.scheme!r}; use sqlite:///path/to/file.db, "
        "redis://host:port/db or memory://"
    )


# ---- keys and entries ----


def store_key(key: CacheKey) -> bytes:
    """The store's key for a cache key: a SHA-256 digest of the program hash, the
    profile and the inputs (fixed length whatever the inputs; collisions would be caught
    anyway, since every entry's statement is checked against the request)."""
    text = f"{key.program_hash}|{key.profile}|{','.join(map(str, key.inputs))}"
    return hashlib.sha256(text.encode()).digest()


def encode_entry(receipt: Receipt, cycles: int) -> bytes:
    """A store entry: the header (magic, version, cycles) and the receipt's bytes."""
    return _ENTRY_HEADER.pack(ENTRY_MAGIC, ENTRY_VERSION, cycles) + receipt.to_bytes()


def decode_entry(data: bytes, key: CacheKey, program: Program) -> tuple[Receipt, int]:
    """Decode a store entry and check it proves ``key`` for ``program``; return the
    receipt and the run's cycles.

    :raises StoreEntryRejected: malformed, for another statement, or not a valid proof.
    """
    from zkactors.runtime.trust import UntrustedReceiptRejected, check_returned_receipt

    if not isinstance(data, bytes | bytearray | memoryview):
        raise StoreEntryRejected(f"entry is {type(data).__name__}, not bytes")
    if len(data) < _ENTRY_HEADER.size:
        raise StoreEntryRejected(f"entry of {len(data)} bytes is shorter than its header")
    magic, version, cycles = _ENTRY_HEADER.unpack_from(data)
    if magic != ENTRY_MAGIC or version != ENTRY_VERSION:
        raise StoreEntryRejected(f"unknown entry header {magic!r} v{version}")
    try:
        receipt = Receipt.from_bytes(memoryview(data)[_ENTRY_HEADER.size :])
    except ReceiptFormatError as exc:
        raise StoreEntryRejected(str(exc)) from None
    # The cycles are not part of the proof; at least keep them consistent with it.
    if not 0 < cycles <= receipt.trace_length:
        raise StoreEntryRejected(f"{cycles} cycles cannot fit a trace of {receipt.trace_length}")
    try:
        executed = check_returned_receipt(receipt, program, key.inputs, key.profile)
    except UntrustedReceiptRejected as exc:
        raise StoreEntryRejected(f"{exc} (a foreign or forged entry)") from None
    if key.program_hash != program.hash:
        raise StoreEntryRejected("the entry's key names another program")
    if executed not in (None, cycles):
        raise StoreEntryRejected(f"the entry says {cycles} cycles, the program ran {executed}")
    return receipt, cycles


class StoreBusy(StoreError):
    """Every store thread stayed busy for a whole call timeout: the store is overloaded,
    not failing (the front skips it for this lookup and does not back off)."""


class StoreEntryRejected(Exception):
    """A store entry that is not a valid receipt for the key it was found under (internal:
    it is counted and deleted, never raised to a caller)."""


# ---- the protocol ----


class ReceiptStore(Protocol):
    """A persistent map from :func:`store_key` keys to entry bytes.

    Every method may raise :class:`~zkactors.errors.StoreError` (unreachable, timed out,
    locked, full, ...); none raises anything else. A backend bounds its own size (entries
    and bytes, oldest written out first) and applies its TTL.
    """

    url: StoreURL

    async def get(self, key: bytes) -> bytes | None: ...

    async def put(self, key: bytes, value: bytes) -> None: ...

    async def delete(self, key: bytes) -> None: ...

    async def close(self) -> None: ...


@attrs.frozen
class StoreLimits:
    """What every backend is given: size bounds, TTL (seconds, None for none), the
    timeout of one call and the worker threads calls may use at once."""

    max_entries: int
    max_bytes: int
    ttl: float | None
    timeout: float
    threads: int


class ThreadedStore:
    """Runs a blocking client's calls in worker threads: at most ``limits.threads`` at
    once (one :class:`anyio.CapacityLimiter`; more calls wait for a thread, at most
    ``limits.timeout``, then raise :class:`StoreBusy`), each under ``limits.timeout``.

    A call that times out is abandoned, not waited for: its thread finishes on its own
    (the clients' own socket and lock timeouts bound that) and no longer holds the
    limiter. So that a hanging server cannot make the store start ever more threads,
    calls fail at once while ``limits.threads`` abandoned calls are still running: at
    most twice ``limits.threads`` threads exist.
    """

    url: StoreURL

    def __init__(self, limits: StoreLimits) -> None:
        self._limits = limits
        self._limiter = anyio.CapacityLimiter(limits.threads)
        # Our own pool limiter (abandoned calls release it too), so store calls never
        # take tokens of anyio's default limiter, which the rest of the process shares.
        self._threads = anyio.CapacityLimiter(2 * limits.threads)
        self._abandoned = 0
        self._lock = threading.Lock()

    async def _call(self, what: str, fn: Callable[[], T]) -> T:
        lock = self._lock
        with lock:
            if self._abandoned >= self._limits.threads:
                raise StoreError(
                    f"{what}: {self._abandoned} store threads are still busy with calls "
                    "that timed out"
                )
        # started, given up (before it started), abandoned (after), finished
        state = [False, False, False, False]

        def run() -> T:
            with lock:
                if state[1]:
                    raise StoreError("given up before it started")
                state[0] = True
            try:
                return fn()
            finally:
                with lock:
                    state[3] = True
                    if state[2]:
                        self._abandoned -= 1

        # Waiting for a thread is bounded too, but running out of threads means the
        # store is busy, not broken: StoreBusy, which the front counts as a skip.
        acquired = False
        with anyio.move_on_after(self._limits.timeout):
            await self._limiter.acquire()
            acquired = True
        if not acquired:
            raise StoreBusy(f"{what}: no store thread free within {self._limits.timeout:g} s")
        try:
            with anyio.fail_after(self._limits.timeout):
                return await anyio.to_thread.run_sync(
                    run, abandon_on_cancel=True, limiter=self._threads
                )
        except TimeoutError:
            raise StoreError(f"{what}: no answer within {self._limits.timeout:g} s") from None
        except StoreError:
            raise
        except Exception as exc:
            raise StoreError(f"{what}: {type(exc).__name__}: {exc}") from exc
        finally:
            self._limiter.release()
            with lock:
                if not state[0]:
                    state[1] = True  # timed out or cancelled before a thread took it
                elif not state[3] and not state[2]:
                    state[2] = True
                    self._abandoned += 1


def open_store(url: StoreURL, limits: StoreLimits) -> ReceiptStore:
    """The backend for ``url`` (nothing is connected or opened yet: the first call
    does that, so a store that is down at start-up only costs the runtime its hits)."""
    if url.scheme == "sqlite":
        from zkactors.runtime.store.sqlite import SqliteStore

        return SqliteStore(url, limits)
    if url.scheme == "redis":
        from zkactors.runtime.store.redis import RedisStore

        return RedisStore(url, limits)
    from zkactors.runtime.store.memory import MemoryStore

    return MemoryStore(url, limits)


# ---- the front the cache actor uses ----


@attrs.frozen
class StoreHit:
    """A verified receipt from the store and the run's cycles."""

    receipt: Receipt
    cycles: int


class StoreStats:
    """Counters since the last metrics report (owned by the cache actor's thread)."""

    __slots__ = (
        "errors",
        "hits",
        "latencies",
        "misses",
        "rejected",
        "skipped",
        "write_errors",
        "writes",
        "writes_dropped",
    )

    def __init__(self) -> None:
        self.clear()

    def clear(self) -> None:
        self.hits = 0
        self.misses = 0
        self.errors = 0
        self.rejected = 0
        self.skipped = 0
        self.writes = 0
        self.write_errors = 0
        self.writes_dropped = 0
        self.latencies: list[float] = []

    def __bool__(self) -> bool:
        return bool(
            self.hits
            or self.misses
            or self.errors
            or self.rejected
            or self.skipped
            or self.writes
            or self.write_errors
            or self.writes_dropped
        )


class StoreFront:
    """What the cache actor talks to: verified lookups, best-effort writes, a back-off
    after failures, and the counters for the metrics. No method raises (except
    cancellation): a failure is logged, counted and reported as a miss. Anything a
    backend raises counts as a failure, not only ``StoreError``: a bug in a store must
    not become a failed request either."""

    def __init__(self, store: ReceiptStore, limits: StoreLimits) -> None:
        self.store = store
        self.limits = limits
        self.stats = StoreStats()
        self._retry_at = 0.0
        self._backoff = 0.0
        self._verify_limiter = anyio.CapacityLimiter(limits.threads)

    def available(self) -> bool:
        """False while backing off after a failure."""
        return time.monotonic() >= self._retry_at

    def _failed(self, what: str, exc: BaseException) -> None:
        self._backoff = min(MAX_BACKOFF, self._backoff * 2 if self._backoff else FIRST_BACKOFF)
        self._retry_at = time.monotonic() + self._backoff
        log.warning(
            "store.failed",
            store=self.store.url.redacted(),
            operation=what,
            error=str(exc) if isinstance(exc, StoreError) else repr(exc),
            retry_in_s=self._backoff,
        )

    def _succeeded(self) -> None:
        if self._backoff:
            log.info("store.recovered", store=self.store.url.redacted())
        self._backoff = 0.0
        self._retry_at = 0.0

    async def lookup(self, key: CacheKey, program: Program) -> StoreHit | None:
        """The store's verified receipt for ``key``, or None (absent, rejected, or the
        store failing or backing off)."""
        stats = self.stats
        if not self.available():
            stats.skipped += 1
            return None
        started = time.perf_counter()
        skey = store_key(key)
        try:
            data = await self.store.get(skey)
        except StoreBusy:
            stats.skipped += 1
            return None
        except Exception as exc:  # StoreError, or a backend's bug: a failure either way
            stats.errors += 1
            self._failed("get", exc)
            return None
        self._succeeded()
        if data is None:
            stats.misses += 1
            stats.latencies.append(time.perf_counter() - started)
            return None
        try:
            # Native verification releases the GIL: off the event loop it costs the
            # actors nothing.
            receipt, cycles = await anyio.to_thread.run_sync(
                decode_entry, data, key, program, limiter=self._verify_limiter
            )
        except StoreEntryRejected as exc:
            stats.rejected += 1
            log.warning(
                "store.entry_rejected",
                store=self.store.url.redacted(),
                program=key.program_hash[:16],
                inputs=key.inputs,
                profile=key.profile,
                reason=str(exc),
            )
            try:
                await self.store.delete(skey)
            except Exception as exc2:
                stats.errors += 1
                self._failed("delete", exc2)
            return None
        stats.hits += 1
        stats.latencies.append(time.perf_counter() - started)
        return StoreHit(receipt, cycles)

    async def save(self, key: CacheKey, receipt: Receipt, cycles: int) -> None:
        """Write ``receipt`` (skipped while backing off, and counted as dropped)."""
        stats = self.stats
        if not self.available():
            stats.writes_dropped += 1
            return
        try:
            await self.store.put(store_key(key), encode_entry(receipt, cycles))
        except StoreBusy:
            stats.writes_dropped += 1
            return
        except Exception as exc:
            stats.write_errors += 1
            self._failed("put", exc)
            return
        self._succeeded()
        stats.writes += 1

    async def close(self) -> None:
        """Close the backend (bounded by the call timeout; failures are logged only)."""
        with anyio.move_on_after(self.limits.timeout + 1.0, shield=True):
            try:
                await self.store.close()
            except Exception as exc:
                log.warning("store.close_failed", store=self.store.url.redacted(), error=str(exc))


def default_threads() -> int:
    """Worker threads for store calls: a few, whatever the machine (they mostly wait)."""
    return max(2, min(8, os.cpu_count() or 2))


__all__ = [
    "ReceiptStore",
    "StoreBusy",
    "StoreEntryRejected",
    "StoreFront",
    "StoreHit",
    "StoreLimits",
    "StoreStats",
    "StoreURL",
    "ThreadedStore",
    "decode_entry",
    "encode_entry",
    "open_store",
    "parse_store_url",
    "store_key",
]
