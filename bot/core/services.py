"""The composition root: every shared service (database, Halo client, resolver, limits)
built in one place, handed to the bot, and closed in one place."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import aiohttp

from bot.coordination.link import RedisLink
from bot.coordination.pauses import RedisPauses
from bot.core import backends
from bot.core.bot import HaloBot, bot_class
from bot.core.config import Settings
from bot.core.limits import CommandLimits
from bot.core.resolver import PlayerResolver
from bot.halo.auth import TokenProvider, build_token_provider
from bot.halo.client import HaloClient
from bot.halo.http import HaloHttp, RetryPolicy
from bot.storage import Database

USER_AGENT = "HaloInfiniteDiscordBot/0.1 (+https://github.com)"


@dataclass
class Services:
    """Everything the bot shares, built in one place and closed in one place."""

    session: aiohttp.ClientSession
    tokens: TokenProvider
    halo: HaloClient
    db: Database
    resolver: PlayerResolver
    limits: CommandLimits
    #: Redis, when ``REDIS_URL`` is set (shared budget, limits and cache).
    redis: RedisLink | None = None
    #: Halo's 429 pauses shared through Redis (with ``redis``).
    pauses: RedisPauses | None = None

    async def close(self) -> None:
        if self.pauses is not None:
            await self.pauses.close()
        if self.redis is not None:
            with contextlib.suppress(Exception):
                await self.redis.close()
        with contextlib.suppress(Exception):
            await self.tokens.close()
        await self.session.close()
        with contextlib.suppress(Exception):
            await self.resolver.close()  # pending lookup notes, before the database closes
        await self.db.close()


async def build_services(settings: Settings) -> Services:
    """Open the database and build the Halo client for ``settings``."""
    # PostgreSQL when DATABASE_URL is set; exclusive: a second bot process refuses to start
    # (on PostgreSQL: one that runs a shard this one runs; a SQLite file: any).
    db = await Database.open(
        settings.database_url or settings.database_path,
        exclusive=True,
        shards=settings.process_shard_ids,
    )
    redis = backends.redis_link(settings)
    pauses = backends.shared_pauses(redis)
    try:
        if redis is not None:
            await redis.probe()  # an outage is reported now; the bot starts either way
        connector = aiohttp.TCPConnector(limit=64, ttl_dns_cache=300)
        session = aiohttp.ClientSession(
            connector=connector,
            headers={"User-Agent": USER_AGENT},
            timeout=aiohttp.ClientTimeout(total=30),
        )
        tokens = build_token_provider(settings, session)
        http = HaloHttp(
            session,
            tokens,
            backends.halo_limiter(settings, redis, pauses),
            api_base=settings.halo_api_base_url,
            policy=RetryPolicy(deadline=settings.halo_request_deadline_seconds),
        )
        halo = HaloClient(
            http,
            shared_answers=backends.shared_answers(settings, redis),
            csr_batch_size=settings.halo_csr_batch_size,
        )
        resolver = PlayerResolver(halo, db)
        limits = backends.command_limits(settings, redis)
    except BaseException:
        if redis is not None:
            await redis.close()
        await db.close()
        raise
    return Services(session, tokens, halo, db, resolver, limits, redis, pauses)


def build_bot(settings: Settings, services: Services, **kwargs: object) -> HaloBot:
    return bot_class(settings)(
        settings=settings,
        db=services.db,
        halo=services.halo,
        resolver=services.resolver,
        limits=services.limits,
        **kwargs,  # type: ignore[arg-type]
    )
