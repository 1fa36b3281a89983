"""A receipt store on a Redis server (7.x), shared by a fleet of runtimes.

Needs the ``redis`` client package (``pip install 'zkactors[redis]'``). Its blocking
client runs in worker threads (:class:`~.ThreadedStore`), so the store serves asyncio
and trio runtimes alike; the client's socket timeouts are just under the store's call
timeout, so a thread never outlives a hung server by much.

Layout, under the prefix ``zkactors:r1:``: one string per entry (``...e:<key hex>``),
written with ``PX`` when a TTL is set; a sorted set (``...index``) of entries by write
time (the server's clock in microseconds, so the machines of a fleet agree on "oldest";
kept strictly increasing by ``...last``); a hash of their
sizes (``...sizes``) and a byte counter (``...bytes``). A write is one Lua script, atomic
on the server: it drops index entries whose TTL has passed, stores the entry, and evicts
the oldest until the entry and byte bounds hold again. Deleting (a rejected entry) is a
script too, so the counters never drift. The layout assumes one server (no cluster: the
scripts touch keys they are not given).

After a restart of the server the pooled connections are dead: each command is retried
once on a new connection, so the first call after the restart already succeeds.
"""

from __future__ import annotations

from typing import Any

from zkactors.runtime.store import StoreLimits, StoreURL, ThreadedStore

PREFIX = "zkactors:r1:"

# KEYS: index, sizes, bytes. Helper shared by both scripts.
_DROP = """
local function drop(k)
  redis.call('DEL', k)
  redis.call('ZREM', KEYS[1], k)
  local s = redis.call('HGET', KEYS[2], k)
  if s then
    redis.call('DECRBY', KEYS[3], s)
    redis.call('HDEL', KEYS[2], k)
  end
end
"""

# KEYS: index, sizes, bytes, entry, last score. ARGV: value, ttl ms (0: none), max entries,
# max bytes. Scores are microseconds of the server's clock.
_PUT = (
    _DROP
    + """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local ttl = tonumber(ARGV[2])
if ttl > 0 then
  for _, k in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now - ttl * 1000)) do
    drop(k)
  end
end
-- Scores strictly increase (two writes in one microsecond keep their order).
local score = math.max(now, tonumber(redis.call('GET', KEYS[5]) or '0') + 1)
redis.call('SET', KEYS[5], score)
drop(KEYS[4])
if ttl > 0 then
  redis.call('SET', KEYS[4], ARGV[1], 'PX', ttl)
else
  redis.call('SET', KEYS[4], ARGV[1])
end
local size = string.len(ARGV[1])
redis.call('ZADD', KEYS[1], score, KEYS[4])
redis.call('HSET', KEYS[2], KEYS[4], size)
redis.call('INCRBY', KEYS[3], size)
local max_entries = tonumber(ARGV[3])
local max_bytes = tonumber(ARGV[4])
while redis.call('ZCARD', KEYS[1]) > max_entries
    or tonumber(redis.call('GET', KEYS[3]) or '0') > max_bytes do
  local oldest = redis.call('ZPOPMIN', KEYS[1])
  if #oldest == 0 then break end
  drop(oldest[1])
end
return 1
"""
)

# KEYS: index, sizes, bytes, entry.
_DELETE = _DROP + "\ndrop(KEYS[4])\nreturn 1\n"


class RedisStore(ThreadedStore):
    """``redis://host:port/db``; see the module docstring."""

    def __init__(self, url: StoreURL, limits: StoreLimits) -> None:
        super().__init__(limits)
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        self.url = url
        options: dict[str, Any] = {
            "host": url.host,
            "port": url.port,
            "db": url.db,
            "username": url.username,
            "password": url.password,
            # A little under the call's timeout: the client gives up first, so a dead
            # server ends calls with an error rather than abandoned threads.
            "socket_timeout": 0.8 * limits.timeout,
            "socket_connect_timeout": 0.8 * limits.timeout,
            "retry": Retry(NoBackoff(), 1),
            # Threads still busy with abandoned calls hold connections too.
            "max_connections": 2 * limits.threads,
        }
        # No CLIENT SETINFO on connect: one round trip less per connection, and servers
        # before 7.2 answer it with an error. (The option's name changed in redis 8.)
        try:
            self.client = redis.Redis(**options, driver_info=None)
        except TypeError:
            self.client = redis.Redis(**options, lib_name=None, lib_version=None)
        self._put_script = self.client.register_script(_PUT)
        self._delete_script = self.client.register_script(_DELETE)
        self._meta = [PREFIX + "index", PREFIX + "sizes", PREFIX + "bytes"]

    @staticmethod
    def entry_key(key: bytes) -> str:
        """The Redis key of an entry (for tests that reach into the server)."""
        return PREFIX + "e:" + key.hex()

    async def get(self, key: bytes) -> bytes | None:
        name = self.entry_key(key)
        value: Any = await self._call("get", lambda: self.client.get(name))
        return None if value is None else bytes(value)

    async def put(self, key: bytes, value: bytes) -> None:
        limits = self._limits
        if len(value) > limits.max_bytes or limits.max_entries == 0:
            return
        ttl_ms = 0 if limits.ttl is None else max(1, int(limits.ttl * 1000))
        keys = [*self._meta, self.entry_key(key), PREFIX + "last"]
        args: list[bytes | int] = [value, ttl_ms, limits.max_entries, limits.max_bytes]
        await self._call("put", lambda: self._put_script(keys=keys, args=args))

    async def delete(self, key: bytes) -> None:
        keys = [*self._meta, self.entry_key(key)]
        await self._call("delete", lambda: self._delete_script(keys=keys))

    async def close(self) -> None:
        await self._call("close", self.client.close)
