"""The world's log in Redis: one stream of entries, the world's identity (the settings every
process must share), the ticker's lease and the webhook attempts' claims.

Keys, under a prefix (`telco-emulator:` and the database the URL names):
- `log`: the stream. Fields: `k` the kind (`r` request, `t` tick, `f` clock move, `a` attempt
  result), `o` the origin (process id and request number), `t` the origin's wall time in
  microseconds, `m` a JSON head, `b` a body.
- `world`: a hash written once, by the first process: seed, clock, clock start, time scale and
  the fixtures' digest.
- `ticker`: the process that appends ticks under the real clock (a lease).
- `claim:{generation}:{delivery}:{attempt}`: who makes a webhook attempt (a lease), then `done`.
"""

from __future__ import annotations

import asyncio
from typing import Any

import redis
import redis.asyncio as aioredis

__all__ = ["WorldLog", "open_world", "StoreMismatch", "PREFIX", "parse_store_url"]

PREFIX = "telco-emulator:"
READ_BLOCK_MS = 5_000  # how long one read of the log waits for a new entry
POOL_SIZE = 32  # connections to Redis per process, besides the log's reader

_OPEN_WORLD = """
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('HSET', KEYS[1], unpack(ARGV))
end
return redis.call('HGETALL', KEYS[1])
"""

# Take the lease when it is free or already ours; renew it when ours.
_LEASE = """
local holder = redis.call('GET', KEYS[1])
if holder == false or holder == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
"""

# Take a free claim, or say who holds it and for how long: {1} or {0, holder, milliseconds left}.
_CLAIM = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return {1}
end
return {0, redis.call('GET', KEYS[1]) or '', redis.call('PTTL', KEYS[1])}
"""

# Append an attempt's result and mark its claim done, in one step: once the result is in the
# log, no other process can claim the attempt again.
_REPORT = """
redis.call('SET', KEYS[2], 'done', 'PX', ARGV[1])
return redis.call('XADD', KEYS[1], '*', 'k', 'a', 'o', ARGV[2], 't', ARGV[3], 'm', ARGV[4])
"""


class StoreMismatch(Exception):
    """The world in Redis was started with other settings than this process's."""


def parse_store_url(url: str) -> str:
    """`url` when it names a Redis database this process can use; raises ValueError otherwise."""
    if not url.startswith(("redis://", "rediss://", "unix://")):
        raise ValueError(f"the store must be memory or a redis:// URL, got {url!r}")
    try:
        aioredis.connection.parse_url(url)
    except ValueError as exc:
        raise ValueError(f"the store URL {url!r} cannot be used: {exc}") from None
    return url


def open_world(url: str, identity: dict[str, str]) -> dict[str, str]:
    """The world's identity in Redis: written from `identity` by the first process, read by the
    next ones; raises StoreMismatch when a setting differs, and redis' ConnectionError when Redis
    does not answer. Synchronous: it runs once, before the app is built."""
    client = redis.Redis.from_url(url, socket_connect_timeout=5, socket_timeout=10)
    try:
        flat = [part for pair in identity.items() for part in pair]
        raw = client.eval(_OPEN_WORLD, 1, PREFIX + "world", *flat)
    finally:
        client.close()
    stored = {raw[i].decode(): raw[i + 1].decode() for i in range(0, len(raw), 2)}
    differing = [name for name, value in identity.items() if name != "clock_start" and stored.get(name) != value]
    if differing:
        shown = ", ".join(f"{name} {stored.get(name)!r} (here {identity[name]!r})" for name in differing)
        raise StoreMismatch(
            f"the world in {url} was started with other settings: {shown}; start this process with the same "
            f"settings, or empty that database to start a new world"
        )
    return stored


class WorldLog:
    """Asynchronous access to the log and the leases; one connection pool for commands and one
    connection for the blocking reads of the log."""

    def __init__(self, url: str) -> None:
        self.url = url
        # Requests and webhook attempts share the pool: a burst waits for a connection instead of failing.
        pool = aioredis.BlockingConnectionPool.from_url(url, max_connections=POOL_SIZE, timeout=None, socket_connect_timeout=5)
        self.redis = aioredis.Redis(connection_pool=pool)
        # Its reads block up to READ_BLOCK_MS: its socket waits longer than that.
        self.reader = aioredis.Redis.from_url(url, socket_connect_timeout=5, socket_timeout=READ_BLOCK_MS / 1000 + 25, single_connection_client=True)
        self.key = PREFIX + "log"
        self._lease = self.redis.register_script(_LEASE)
        self._report = self.redis.register_script(_REPORT)
        self._claim = self.redis.register_script(_CLAIM)
        self._queued: list[tuple[dict[bytes, Any], asyncio.Future[bytes]]] = []
        self._flushing: set[asyncio.Task[None]] = set()

    async def append(self, fields: dict[bytes, Any]) -> bytes:
        """Append an entry; the appends made in one turn of the event loop go to Redis together,
        in one pipeline (in the order they were made), which costs one round trip for all."""
        future = asyncio.get_running_loop().create_future()
        self._queued.append((fields, future))
        if len(self._queued) == 1:
            asyncio.get_running_loop().call_soon(self._flush)
        return await future

    def _flush(self) -> None:
        queued, self._queued = self._queued, []
        task = asyncio.create_task(self._send(queued))
        self._flushing.add(task)
        task.add_done_callback(self._flushing.discard)

    async def _send(self, queued: list[tuple[dict[bytes, Any], asyncio.Future[bytes]]]) -> None:
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                for fields, _ in queued:
                    pipe.xadd(self.key, fields)
                ids = await pipe.execute(raise_on_error=False)
        except Exception as exc:
            ids = [exc] * len(queued)
        for (_, future), entry_id in zip(queued, ids):
            if future.done():
                continue
            if isinstance(entry_id, BaseException):
                future.set_exception(entry_id)
            else:
                future.set_result(entry_id)

    async def read(self, after: bytes, count: int = 512, block_ms: int | None = READ_BLOCK_MS) -> list[tuple[bytes, dict[bytes, bytes]]]:
        """Entries after `after`; waits up to `block_ms` for one (0: for ever, None: not at all)."""
        answer = await self.reader.xread({self.key: after}, count=count, block=block_ms)
        return answer[0][1] if answer else []

    async def open(self) -> None:
        self._reader_id = await self.reader.client_id()

    async def wake_reader(self) -> None:
        """End the reader's blocking read at once (it then reads nothing)."""
        await self.redis.client_unblock(self._reader_id)

    async def last_id(self) -> bytes:
        """The id of the newest entry (`0-0` while the log is empty)."""
        newest = await self.redis.xrevrange(self.key, count=1)
        return newest[0][0] if newest else b"0-0"

    async def lease(self, name: str, owner: str, ms: int) -> bool:
        return bool(await self._lease(keys=[PREFIX + name], args=[owner, ms]))

    async def claim(self, name: str, owner: str, ms: int) -> tuple[bool, bytes, int]:
        """Take the claim `name` if nobody holds it (a lapsed claim is free again): (True, b"", 0);
        else (False, who holds it (`done` once reported), its milliseconds left), in one trip."""
        answer = await self._claim(keys=[PREFIX + name], args=[owner, ms])
        return (True, b"", 0) if answer[0] == 1 else (False, answer[1], int(answer[2]))

    async def report(self, claim: str, done_ms: int, origin: str, wall: int, head: bytes) -> bytes:
        return await self._report(keys=[self.key, PREFIX + claim], args=[done_ms, origin, wall, head])

    async def close(self) -> None:
        await self.reader.aclose() if hasattr(self.reader, "aclose") else await self.reader.close()
        await self.redis.aclose() if hasattr(self.redis, "aclose") else await self.redis.close()
