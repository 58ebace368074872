"""The composition root: every shared service (database, Halo client, resolver, limits)
built in one place, handed to the bot, and closed in one place."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import aiohttp

from bot.core.bot import HaloBot
from bot.core.config import Settings
from bot.core.limits import CommandLimits
from bot.core.resolver import PlayerResolver
from bot.halo.auth import TokenProvider, build_token_provider
from bot.halo.client import HaloClient
from bot.halo.http import HaloHttp, RetryPolicy
from bot.halo.ratelimit import UpstreamLimiter
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

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.tokens.close()
        await self.session.close()
        with contextlib.suppress(Exception):
            await self.resolver.close()  # pending lookup notes, before the database closes
        await self.db.close()


async def build_services(settings: Settings) -> Services:
    """Open the database and build the Halo client for ``settings``."""
    db = await Database.open(settings.database_path)
    try:
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
            UpstreamLimiter(rate=settings.halo_requests_per_second, burst=2),
            api_base=settings.halo_api_base_url,
            policy=RetryPolicy(deadline=settings.halo_request_deadline_seconds),
        )
        halo = HaloClient(http, csr_batch_size=settings.halo_csr_batch_size)
        resolver = PlayerResolver(halo, db)
        limits = CommandLimits.from_settings(settings)
    except BaseException:
        await db.close()
        raise
    return Services(session, tokens, halo, db, resolver, limits)


def build_bot(settings: Settings, services: Services, **kwargs: object) -> HaloBot:
    return HaloBot(
        settings=settings,
        db=services.db,
        halo=services.halo,
        resolver=services.resolver,
        limits=services.limits,
        **kwargs,  # type: ignore[arg-type]
    )
