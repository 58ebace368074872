"""One Halo request budget for every instance: send times granted by Redis.

A Lua script keeps, in one key, the earliest time the next request may go, on Redis's
own clock (``TIME``). Asked for a slot, it grants one only if that time has come, and
then moves it ``1/rate`` past now; otherwise it answers how long to wait, and the instance
sleeps that long and asks again. Grants are thus ``1/rate`` apart across all instances
whatever their clocks say, and an instance whose event loop ran late cannot squeeze the
next grant closer to its own. While Redis is unreachable the instance uses its
``fallback`` (its own slots at its share of the rate).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from redis.asyncio import Redis

from bot.coordination.link import CoordinationUnavailable, RedisLink

_TAKE = """
redis.replicate_commands() -- Redis 5/6: allow writes after TIME (7: always)
local now = redis.call('TIME')
local t = tonumber(now[1]) + tonumber(now[2]) / 1000000
local interval = tonumber(ARGV[1])
local next_free = tonumber(redis.call('GET', KEYS[1]) or '0')
if t < next_free then
  return string.format('%.6f', next_free - t)
end
local keep_ms = math.ceil(interval * 1000) + 60000
redis.call('SET', KEYS[1], string.format('%.6f', t + interval), 'PX', keep_ms)
return '0'
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
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if not rate > 0:
            raise ValueError(f"rate must be positive, not {rate!r}")
        self.link = link
        self.rate = float(rate)
        self.fallback = fallback
        self._clock = clock
        self._sleep = sleep
        self._key = link.key("halo", "next-send")
        self._script = link.client.register_script(_TAKE)

    @property
    def interval(self) -> float:
        return 1.0 / self.rate if self.link.available else self.fallback.interval

    async def reserve(self) -> float:
        """Wait until Redis grants a send slot (or the fallback gives one) and return it."""

        async def take(client: Redis) -> bytes:
            result: Any = await self._script(
                keys=[self._key], args=[repr(1.0 / self.rate)], client=client
            )
            return result

        while True:
            try:
                wait = float(await self.link.run(take))
            except CoordinationUnavailable:
                return await self.fallback.reserve()
            if not wait > 0:
                return self._clock()
            await self._sleep(wait)

    def sent(self, at: float) -> None:
        # The fallback keeps spacing from the last real send, so an outage starts spaced.
        self.fallback.sent(at)
