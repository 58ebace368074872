"""One Halo request budget for every instance: send times reserved in Redis.

A Lua script keeps the next free send time in one key and moves it ``1/rate`` on at each
reservation, on Redis's own clock (``TIME``), so the reservations of all instances are
``1/rate`` apart whatever their clocks say; each instance sleeps until its slot. While
Redis is unreachable the instance reserves from its ``fallback`` (its own slots at its
share of the rate).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Protocol

from redis.asyncio import Redis

from bot.coordination.link import CoordinationUnavailable, RedisLink

_RESERVE = """
local now = redis.call('TIME')
local t = tonumber(now[1]) + tonumber(now[2]) / 1000000
local interval = tonumber(ARGV[1])
local slot = math.max(t, tonumber(redis.call('GET', KEYS[1]) or '0'))
local keep_ms = math.ceil((slot + interval - t) * 1000) + 60000
redis.call('SET', KEYS[1], string.format('%.6f', slot + interval), 'PX', keep_ms)
return string.format('%.6f', slot - t)
"""


class Slots(Protocol):
    """This process's own send times (``bot.halo.ratelimit.LocalSendSlots``)."""

    @property
    def interval(self) -> float: ...

    async def reserve(self) -> float: ...

    def sent(self, at: float) -> None: ...


class RedisSendSlots:
    """Send times ``1/rate`` apart across every instance sharing ``link``."""

    def __init__(
        self,
        link: RedisLink,
        rate: float,
        *,
        fallback: Slots,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not rate > 0:
            raise ValueError(f"rate must be positive, not {rate!r}")
        self.link = link
        self.rate = float(rate)
        self.fallback = fallback
        self._clock = clock
        self._key = link.key("halo", "next-send")
        self._script = link.client.register_script(_RESERVE)

    @property
    def interval(self) -> float:
        return 1.0 / self.rate if self.link.available else self.fallback.interval

    async def reserve(self) -> float:

        async def reserve(client: Redis) -> bytes:
            result: Any = await self._script(
                keys=[self._key], args=[repr(1.0 / self.rate)], client=client
            )
            return result

        try:
            delay = await self.link.run(reserve)
        except CoordinationUnavailable:
            return await self.fallback.reserve()
        return self._clock() + max(0.0, float(delay))

    def sent(self, at: float) -> None:
        # The fallback keeps spacing from the last real send, so an outage starts spaced.
        self.fallback.sent(at)
