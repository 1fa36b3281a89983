"""A receipt store in one SQLite file (standard library ``sqlite3``), in WAL mode.

WAL lets lookups read while a write is in progress, and a transaction is either in the
file whole or not at all: a process killed mid-write (SIGKILL included) leaves a file
that opens with every receipt whose write had committed. ``synchronous=NORMAL`` trades
only the last transactions before a power loss (never before a process crash) for writes
that do not wait for the disk; a lost receipt is merely proved again.

Size: a ``totals`` row kept by triggers (so it is right whoever writes the file, any
number of processes included) holds the entries and bytes; a write that takes the store
past ``max_entries`` or ``max_bytes`` deletes the oldest written entries in the same
transaction. TTL: each row carries its expiry; expired rows are never returned and are
deleted by the next write.

Calls run in worker threads (:class:`~.ThreadedStore`), each on a connection from a small
pool (one per thread at most; a connection that raised is closed rather than reused).
"""

from __future__ import annotations

import queue
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from zkactors.runtime.store import StoreLimits, StoreURL, ThreadedStore

T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS receipts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key BLOB NOT NULL UNIQUE,
    value BLOB NOT NULL,
    expires REAL
);
CREATE INDEX IF NOT EXISTS receipts_expires ON receipts (expires) WHERE expires IS NOT NULL;
CREATE TABLE IF NOT EXISTS totals (
    one INTEGER PRIMARY KEY CHECK (one = 1),
    entries INTEGER NOT NULL,
    bytes INTEGER NOT NULL
);
INSERT OR IGNORE INTO totals VALUES (1, 0, 0);
CREATE TRIGGER IF NOT EXISTS receipts_added AFTER INSERT ON receipts BEGIN
    UPDATE totals SET entries = entries + 1, bytes = bytes + length(NEW.value);
END;
CREATE TRIGGER IF NOT EXISTS receipts_removed AFTER DELETE ON receipts BEGIN
    UPDATE totals SET entries = entries - 1, bytes = bytes - length(OLD.value);
END;
CREATE TRIGGER IF NOT EXISTS receipts_changed AFTER UPDATE OF value ON receipts BEGIN
    UPDATE totals SET bytes = bytes - length(OLD.value) + length(NEW.value);
END;
"""


class SqliteStore(ThreadedStore):
    """``sqlite:///path/to/receipts.db``; see the module docstring."""

    def __init__(self, url: StoreURL, limits: StoreLimits) -> None:
        super().__init__(limits)
        self.url = url
        self.path = Path(url.path)
        self._pool: queue.SimpleQueue[sqlite3.Connection] = queue.SimpleQueue()
        self._closed = False

    # ---- connections (worker threads) ----

    def _connect(self) -> sqlite3.Connection:
        try:
            return self._pool.get_nowait()
        except queue.Empty:
            pass
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # autocommit (isolation_level=None): transactions are explicit below. The
        # connection moves between worker threads, one at a time.
        # SQLite gives up waiting for a lock a little before the call's own timeout, so
        # a locked file ends the call with an error rather than an abandoned thread.
        busy = 0.8 * self._limits.timeout
        conn = sqlite3.connect(
            self.path, timeout=busy, isolation_level=None, check_same_thread=False
        )
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(busy * 1000)}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.executescript(f"BEGIN IMMEDIATE; {_SCHEMA} COMMIT;")
        except BaseException:
            conn.close()
            raise
        return conn

    def _run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        if self._closed:
            raise sqlite3.ProgrammingError("the store is closed")
        conn = self._connect()
        try:
            result = work(conn)
        except BaseException:
            # Whatever state it is in (mid-transaction, or its file gone), do not reuse it.
            conn.close()
            raise
        if self._closed:
            conn.close()
        else:
            self._pool.put(conn)
        return result

    @staticmethod
    def _get(conn: sqlite3.Connection, key: bytes) -> bytes | None:
        row = conn.execute("SELECT value, expires FROM receipts WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        value, expires = row
        if expires is not None and expires <= time.time():
            return None
        return bytes(value)

    def _put(self, conn: sqlite3.Connection, key: bytes, value: bytes) -> None:
        limits = self._limits
        if len(value) > limits.max_bytes or limits.max_entries == 0:
            return
        now = time.time()
        expires = None if limits.ttl is None else now + limits.ttl
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Delete and insert (not update): a rewritten entry becomes the newest.
            conn.execute("DELETE FROM receipts WHERE key = ?", (key,))
            conn.execute(
                "INSERT INTO receipts (key, value, expires) VALUES (?, ?, ?)",
                (key, value, expires),
            )
            conn.execute("DELETE FROM receipts WHERE expires IS NOT NULL AND expires <= ?", (now,))
            while True:
                entries, size = conn.execute("SELECT entries, bytes FROM totals").fetchone()
                if entries <= limits.max_entries and size <= limits.max_bytes:
                    break
                # Oldest written first; several at once when over by entries.
                excess = max(1, entries - limits.max_entries)
                conn.execute(
                    "DELETE FROM receipts WHERE id IN "
                    "(SELECT id FROM receipts ORDER BY id LIMIT ?)",
                    (excess,),
                )
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    @staticmethod
    def _delete(conn: sqlite3.Connection, key: bytes) -> None:
        conn.execute("DELETE FROM receipts WHERE key = ?", (key,))

    # ---- the protocol ----

    async def get(self, key: bytes) -> bytes | None:
        return await self._call("get", lambda: self._run(lambda conn: self._get(conn, key)))

    async def put(self, key: bytes, value: bytes) -> None:
        await self._call("put", lambda: self._run(lambda conn: self._put(conn, key, value)))

    async def delete(self, key: bytes) -> None:
        await self._call("delete", lambda: self._run(lambda conn: self._delete(conn, key)))

    async def close(self) -> None:
        self._closed = True

        def close_all() -> None:
            while True:
                try:
                    self._pool.get_nowait().close()
                except queue.Empty:
                    return

        await self._call("close", close_all)

    # ---- for tests and the benchmark ----

    def totals(self) -> tuple[int, int]:
        """(entries, bytes) as the file says (a blocking call)."""
        with sqlite3.connect(self.path, timeout=self._limits.timeout) as conn:
            row = conn.execute("SELECT entries, bytes FROM totals").fetchone()
        return (0, 0) if row is None else (int(row[0]), int(row[1]))
