"""Per-server and per-member command limits shared by every instance.

One Lua script looks at the member's cooldown and the server's sliding window and records
the command in both only when neither refuses it, on Redis's clock, atomically.
"""

from __future__ import annotations

import math
import uuid
from typing import Any

from redis.asyncio import Redis

from bot.coordination.link import RedisLink

_CHECK = """
redis.replicate_commands() -- Redis 5/6: allow writes after TIME (7: always)
local now = redis.call('TIME')
local t = tonumber(now[1]) + tonumber(now[2]) / 1000000
local cooldown = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local period = tonumber(ARGV[3])
local user_wait = 0
local last = redis.call('GET', KEYS[1])
if last then
  user_wait = math.max(0, tonumber(last) + cooldown - t)
end
local guild_wait = 0
if #KEYS > 1 then
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', string.format('%.6f', t - period))
  if redis.call('ZCARD', KEYS[2]) >= limit then
    local oldest = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
    guild_wait = math.max(0.000001, tonumber(oldest[2]) + period - t)
  end
end
if user_wait > 0 or guild_wait > 0 then
  return {string.format('%.6f', user_wait), string.format('%.6f', guild_wait)}
end
if cooldown > 0 then
  redis.call('SET', KEYS[1], string.format('%.6f', t), 'PX', math.ceil(cooldown * 1000))
end
if #KEYS > 1 then
  redis.call('ZADD', KEYS[2], string.format('%.6f', t), ARGV[4])
  redis.call('PEXPIRE', KEYS[2], math.ceil(period * 1000))
end
return {'0', '0'}
"""


class RedisCommandLimits:
    """The shared store behind :class:`bot.core.limits.CommandLimits`."""

    def __init__(
        self, link: RedisLink, *, guild_limit: int, guild_period: float, user_cooldown: float
    ) -> None:
        self.link = link
        self.guild_limit = int(guild_limit)
        self.guild_period = float(guild_period)
        self.user_cooldown = float(user_cooldown)
        self._script = link.client.register_script(_CHECK)

    async def try_hit(self, guild_id: int | None, user_id: int) -> tuple[float, float]:
        """Record one command and return ``(0.0, 0.0)``, or record nothing and return the
        seconds the member and the server still have to wait. Raises
        :class:`~bot.coordination.link.CoordinationUnavailable` while Redis is down."""
        keys = [self.link.key("cmd", "user", str(user_id))]
        if guild_id is not None:
            keys.append(self.link.key("cmd", "guild", str(guild_id)))
        args = [
            repr(self.user_cooldown),
            str(self.guild_limit),
            repr(self.guild_period),
            uuid.uuid4().hex,
        ]

        async def check(client: Redis) -> list[bytes]:
            result: Any = await self._script(keys=keys, args=args, client=client)
            return result

        user_wait, guild_wait = await self.link.run(check)
        return _seconds(user_wait), _seconds(guild_wait)


def _seconds(value: bytes | str) -> float:
    seconds = float(value)
    return seconds if math.isfinite(seconds) and seconds > 0 else 0.0
