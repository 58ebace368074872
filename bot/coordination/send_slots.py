"""One Halo request budget for every instance: send times granted by Redis.

A Lua script keeps, in one key, the earliest time the next request may go, on Redis's
own clock (``TIME``). Asked for a slot, it grants one only if that time has come, and
then moves it ``1/rate`` past now; otherwise it answers how long to wait, and the instance
sleeps that long and asks again. Grants are thus ``1/rate`` apart across all instances
whatever their clocks say, and an instance whose event loop ran late cannot squeeze the
next grant closer to its own. While Redis is unreachable the instance uses its
``fallback`` (its own slots at its share of the rate).

Lookups go first across instances. Each try says whether a member's lookup is waiting for
the slot (the instance's limiter re-reads its queue head before every try). A lookup's
try, granted or told to wait, moves a second key, "lookups wait until", to a grace period
(one interval, at least 50 ms) past the time it asks again (once granted: now, when its
instance's next lookup, if any, asks); a background try (rank cycle, catalogue) is told
to wait while that time is ahead. So background requests get a slot only when no
instance has a lookup waiting, and the whole rate when none does. A
background try held back asks again within an interval, as a lookup if one has arrived on
its instance meanwhile: that lookup is not left behind the background request reserving
for it. Lookups of several instances go first come, first served: a lookup's first try
draws a ticket, every try refreshes it in a sorted set until its grace runs out, and only
the oldest live ticket is granted (the others ask again a slot later).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from redis.asyncio import Redis

from bot.coordination.link import CoordinationUnavailable, RedisLink

#: The shortest grace period: longer than an event loop's lateness, so that a lookup
#: asks again before background requests or younger lookups take its turn.
MIN_LOOKUP_GRACE = 0.05

# KEYS: next send, lookups wait until, waiting lookups (ticket -> asks again by), last
# ticket. ARGV: interval, '1' for a lookup ('0': background), grace, this reservation's
# ticket ('' before its first lookup try). Answers {seconds to wait ('0': granted),
# 1 if a background try was held back for a lookup else 0, the ticket (0: none)}.
_TAKE = """
redis.replicate_commands() -- Redis 5/6: allow writes after TIME (7: always)
local now = redis.call('TIME')
local t = tonumber(now[1]) + tonumber(now[2]) / 1000000
local interval = tonumber(ARGV[1])
local grace = tonumber(ARGV[3])
local ticket = tonumber(ARGV[4])
local keep_ms = math.ceil((interval + grace) * 1000) + 60000
local next_free = tonumber(redis.call('GET', KEYS[1]) or '0')
local lookups_until = tonumber(redis.call('GET', KEYS[2]) or '0')
local wait = next_free - t
local held = 0
if ARGV[2] == '1' then
  if not ticket then
    ticket = redis.call('INCR', KEYS[4])
    redis.call('PEXPIRE', KEYS[4], keep_ms)
  end
  -- Forget the lookups that stopped asking; the oldest of the others goes first.
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', string.format('(%.6f', t))
  local oldest = ticket
  for _, other in ipairs(redis.call('ZRANGE', KEYS[3], 0, -1)) do
    oldest = math.min(oldest, tonumber(other))
  end
  local again = math.max(next_free, t)
  if oldest < ticket then
    again = again + interval
    wait = again - t
  end
  redis.call('ZADD', KEYS[3], string.format('%.6f', again + grace), ticket)
  redis.call('PEXPIRE', KEYS[3], keep_ms)
  if again + grace > lookups_until then
    redis.call('SET', KEYS[2], string.format('%.6f', again + grace), 'PX', keep_ms)
  end
else
  if ticket then
    redis.call('ZREM', KEYS[3], ticket) -- its lookup left: a background request now
  end
  if lookups_until - t > math.max(wait, 0) then
    wait = lookups_until - t
    held = 1
  end
end
if wait > 0 then
  return {string.format('%.6f', wait), held, ticket or 0}
end
if ticket then
  redis.call('ZREM', KEYS[3], ticket)
end
redis.call('SET', KEYS[1], string.format('%.6f', t + interval), 'PX', keep_ms)
return {'0', 0, ticket or 0}
"""


class Slots(Protocol):
    """This process's own send times (``bot.halo.ratelimit.LocalSendSlots``)."""

    @property
    def interval(self) -> float: ...

    async def reserve(self) -> float: ...

    def sent(self, at: float) -> None: ...


class RedisSendSlots:
    """Send times ``1/rate`` apart across every instance sharing ``link``, lookups first."""

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
        self._keys = [
            link.key("halo", "next-send"),
            link.key("halo", "lookups-wait-until"),
            link.key("halo", "waiting-lookups"),
            link.key("halo", "lookup-ticket"),
        ]
        self._script = link.client.register_script(_TAKE)
        #: Background tries told to wait because a lookup waits (here or elsewhere).
        self.held_back = 0

    @property
    def interval(self) -> float:
        return 1.0 / self.rate if self.link.available else self.fallback.interval

    async def reserve(self, interactive: Callable[[], bool]) -> float:
        """Wait until Redis grants a send slot (or the fallback gives one) and return it.

        ``interactive()``, whether a lookup waits for this slot, is read before every try.
        """
        ticket = ""
        while True:
            lookup = interactive()
            try:
                wait, held, ticket = await self._try(lookup, ticket)
            except CoordinationUnavailable:
                return await self.fallback.reserve()
            if not wait > 0:
                return self._clock()
            if held:
                self.held_back += 1
            # A background try asks again within an interval: a lookup of this instance
            # that arrives meanwhile then asks for this slot as a lookup.
            await self._sleep(wait if lookup else min(wait, 1.0 / self.rate))

    async def _try(self, lookup: bool, ticket: str) -> tuple[float, bool, str]:
        """One try: seconds to wait (0: granted), whether held back for a lookup, and the
        reservation's ticket in the lookups' queue ("" while it has none)."""
        interval = 1.0 / self.rate
        grace = max(interval, MIN_LOOKUP_GRACE)
        args = [repr(interval), "1" if lookup else "0", repr(grace), ticket]

        async def take(client: Redis) -> Any:
            return await self._script(keys=self._keys, args=args, client=client)

        wait, held, number = await self.link.run(take)
        return float(wait), bool(held), str(number) if number else ""

    def sent(self, at: float) -> None:
        # The fallback keeps spacing from the last real send, so an outage starts spaced.
        self.fallback.sent(at)
