"""An in-process receipt store (``memory://``): the protocol with nothing behind it.

For tests and the benchmark's baseline; it is gone with the process. Bounded and
expiring like the persistent stores (oldest written out first).
"""

from __future__ import annotations

import time
from collections import OrderedDict

import anyio

from zkactors.runtime.store import StoreLimits, StoreURL


class MemoryStore:
    """``memory://``; every call is a dictionary operation (and a checkpoint)."""

    def __init__(self, url: StoreURL, limits: StoreLimits) -> None:
        self.url = url
        self._limits = limits
        self._entries: OrderedDict[bytes, tuple[bytes, float | None]] = OrderedDict()
        self._bytes = 0

    def __len__(self) -> int:
        return len(self._entries)

    async def get(self, key: bytes) -> bytes | None:
        await anyio.lowlevel.checkpoint()
        entry = self._entries.get(key)
        if entry is None:
            return None
        value, expires = entry
        if expires is not None and expires <= time.monotonic():
            self._remove(key)
            return None
        return value

    async def put(self, key: bytes, value: bytes) -> None:
        await anyio.lowlevel.checkpoint()
        limits = self._limits
        if len(value) > limits.max_bytes or limits.max_entries == 0:
            return
        self._remove(key)
        expires = None if limits.ttl is None else time.monotonic() + limits.ttl
        self._entries[key] = (value, expires)
        self._bytes += len(value)
        while len(self._entries) > limits.max_entries or self._bytes > limits.max_bytes:
            oldest = next(iter(self._entries))
            self._remove(oldest)

    async def delete(self, key: bytes) -> None:
        await anyio.lowlevel.checkpoint()
        self._remove(key)

    async def close(self) -> None:
        await anyio.lowlevel.checkpoint()

    def _remove(self, key: bytes) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            self._bytes -= len(entry[0])
