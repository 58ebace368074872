"""429 pauses shared by every instance: Halo said "slow down" to one, all of them wait.

A 429's ``Retry-After`` pauses one host. :meth:`RedisPauses.publish` stores the end of
the pause, on Redis's clock, in one hash (host -> until; a pause is never shortened);
the limiter reads the hash again (:meth:`RedisPauses.refresh`, one Redis round trip)
before a request when its copy is older than :data:`REFRESH_SECONDS`, and otherwise asks
:meth:`RedisPauses.remaining` of its copy without waiting on Redis. Another instance thus
learns of a pause before its next request, or within that long, and sends nothing to the
host until it ends. While Redis is unreachable each instance has only its own pauses.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import Callable, Coroutine
from typing import Any

from redis.asyncio import Redis

from bot.coordination.link import CoordinationUnavailable, RedisLink

#: How old this instance's copy of the shared pauses may get before it is read again.
REFRESH_SECONDS = 0.25

_PUBLISH = """
redis.replicate_commands()
local now = redis.call('TIME')
local t = tonumber(now[1]) + tonumber(now[2]) / 1000000
local seconds = tonumber(ARGV[2])
local ends = t + seconds
local current = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
if ends > current then
  redis.call('HSET', KEYS[1], ARGV[1], string.format("%.6f", ends))
end
local ttl = redis.call('PTTL', KEYS[1])
local keep = math.ceil(seconds * 1000) + 1000
if ttl < keep then redis.call('PEXPIRE', KEYS[1], keep) end
return 1
"""

_READ = """
local now = redis.call('TIME')
local t = tonumber(now[1]) + tonumber(now[2]) / 1000000
return {string.format('%.6f', t), redis.call('HGETALL', KEYS[1])}
"""


class RedisPauses:
    """The 429 pauses of every instance sharing ``link``, per host."""

    def __init__(self, link: RedisLink, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.link = link
        self._clock = clock
        self._key = link.key("halo", "pauses")
        self._publish = link.client.register_script(_PUBLISH)
        self._read = link.client.register_script(_READ)
        #: host -> end of its pause on this instance's clock, as last read.
        self._until: dict[str, float] = {}
        self._read_at = -math.inf
        self._reading: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    def publish(self, host: str, seconds: float) -> None:
        """Tell every instance that ``host`` is paused for ``seconds`` (in the background;
        this instance's limiter keeps its own pause meanwhile)."""

        async def store(client: Redis) -> Any:
            return await self._publish(
                keys=[self._key], args=[host, repr(float(seconds))], client=client
            )

        self._spawn(self._run(store))

    async def refresh(self) -> None:
        """Read the shared pauses again if this instance's copy is older than
        :data:`REFRESH_SECONDS` (one read for every caller meanwhile)."""
        if self._reading is None and self._clock() - self._read_at >= REFRESH_SECONDS:
            self._reading = self._spawn(self._refresh())
        if self._reading is not None:
            # Never fails a request: without a fresh copy, the last one (or none) holds.
            with contextlib.suppress(Exception):
                await asyncio.shield(self._reading)

    def remaining(self, host: str) -> float:
        """Seconds left in the shared pause of ``host`` (0.0 when none), as last read."""
        until = self._until.get(host)
        return 0.0 if until is None else max(0.0, until - self._clock())

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def _refresh(self) -> None:
        async def read(client: Redis) -> Any:
            return await self._read(keys=[self._key], client=client)

        try:
            answer = await self._run(read)
            if answer is None:
                return
            now_redis, flat = float(answer[0]), answer[1]
            now = self._clock()
            until: dict[str, float] = {}
            for name, end in zip(flat[0::2], flat[1::2], strict=True):
                left = float(end) - now_redis
                if left > 0:
                    until[name.decode() if isinstance(name, bytes) else str(name)] = now + left
            self._until = until
        finally:
            self._read_at = self._clock()
            self._reading = None

    async def _run(self, operation: Callable[[Redis], Coroutine[Any, Any, Any]]) -> Any:
        """``operation`` through the link; None while Redis is unreachable."""
        try:
            return await self.link.run(operation)
        except CoordinationUnavailable:
            return None

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task
