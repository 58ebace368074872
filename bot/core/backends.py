"""Which backend each shared piece uses: this process alone, or Redis (``REDIS_URL``).

Without ``REDIS_URL`` everything is in-process, as for a single instance. With it, the
Halo budget and its 429 pauses, the command limits and the cached Halo answers are shared
by every instance through :mod:`bot.coordination`; while Redis is unreachable each
instance falls back to its own limits, with its share of ``HALO_REQUESTS_PER_SECOND``
(its shards over ``SHARD_COUNT``).
"""

from __future__ import annotations

from bot.coordination.answers import RedisAnswers
from bot.coordination.command_limits import RedisCommandLimits
from bot.coordination.link import RedisLink
from bot.coordination.pauses import RedisPauses
from bot.coordination.send_slots import RedisSendSlots
from bot.core.config import Settings
from bot.core.limits import CommandLimits
from bot.halo.ratelimit import LocalSendSlots, UpstreamLimiter

#: Seconds an instance waits for another's Halo answer on top of the request deadline.
ANSWER_WAIT_MARGIN = 5.0


def redis_link(settings: Settings) -> RedisLink | None:
    """A link to ``REDIS_URL`` (connected on first use), or None when it is not set."""
    if settings.redis_url is None:
        return None
    return RedisLink.from_url(
        settings.redis_url.get_secret_value(), prefix=settings.redis_key_prefix
    )


def halo_limiter(
    settings: Settings, link: RedisLink | None, pauses: RedisPauses | None = None
) -> UpstreamLimiter:
    rate = settings.halo_requests_per_second
    if link is None:
        return UpstreamLimiter(rate=rate)
    own_share = LocalSendSlots(rate * settings.instance_share)
    return UpstreamLimiter(
        rate=rate, slots=RedisSendSlots(link, rate, fallback=own_share), pauses=pauses
    )


def shared_pauses(link: RedisLink | None) -> RedisPauses | None:
    """Halo's 429 pauses, seen by one instance and kept by all (None without Redis)."""
    return None if link is None else RedisPauses(link)


def command_limits(settings: Settings, link: RedisLink | None) -> CommandLimits:
    if link is None:
        return CommandLimits.from_settings(settings)
    shared = RedisCommandLimits(
        link,
        guild_limit=settings.guild_commands_per_minute,
        guild_period=60.0,
        user_cooldown=settings.user_cooldown_seconds,
    )
    return CommandLimits.from_settings(settings, shared=shared)


def shared_answers(settings: Settings, link: RedisLink | None) -> RedisAnswers | None:
    if link is None:
        return None
    wait = settings.halo_request_deadline_seconds + ANSWER_WAIT_MARGIN
    return RedisAnswers(link, wait_seconds=wait)
