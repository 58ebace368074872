"""Building the services, running the bot, and the ``check`` and ``sync-commands`` commands."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from dataclasses import dataclass

import aiohttp
import discord

from bot.app import HaloBot
from bot.config import Settings
from bot.discord_http import configure_discord_api
from bot.errors import ConfigError, UserFacingError
from bot.halo.auth import TokenProvider, build_token_provider
from bot.halo.client import HaloClient
from bot.halo.http import HaloHttp, RetryPolicy
from bot.halo.ratelimit import CommandLimits, UpstreamLimiter
from bot.logging_setup import redactor
from bot.players import PlayerResolver
from bot.storage import Database

log = logging.getLogger(__name__)

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
    # PostgreSQL when DATABASE_URL is set; exclusive: a second bot process refuses to start.
    db = await Database.open(settings.database_url or settings.database_path, exclusive=True)
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
        halo = HaloClient(http)
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


async def run_bot(settings: Settings) -> None:
    """Run until SIGINT/SIGTERM, then close Discord, the HTTP session and the database."""
    token = settings.require_discord().get_secret_value()
    configure_discord_api(settings.discord_api_base)
    services = await build_services(settings)
    bot = build_bot(settings, services)
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()

    def request_stop(name: str) -> None:
        if not stopping.is_set():
            log.info("%s received: shutting down", name)
            stopping.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, request_stop, sig.name)
    try:
        async with bot:
            runner = asyncio.create_task(bot.start(token), name="discord")
            waiter = asyncio.create_task(stopping.wait(), name="stop-signal")
            done, _ = await asyncio.wait({runner, waiter}, return_when=asyncio.FIRST_COMPLETED)
            if runner in done:
                waiter.cancel()
                runner.result()  # re-raise a login or connection failure
            else:
                await bot.close()
                with contextlib.suppress(asyncio.CancelledError):
                    await runner
    except discord.LoginFailure:
        raise ConfigError(
            "DISCORD_TOKEN was refused by Discord: reset it in the Developer Portal."
        ) from None
    finally:
        await services.close()
        log.info("Stopped cleanly")


async def check_setup(settings: Settings) -> list[str]:
    """Validate the configuration and both sets of credentials; raise on the first failure."""
    lines = ["Configuration: OK"]
    token = settings.require_discord().get_secret_value()
    settings.require_halo_auth()
    configure_discord_api(settings.discord_api_base)
    http = discord.http.HTTPClient(loop=asyncio.get_running_loop())
    try:
        user = await http.static_login(token)
        lines.append(f"Discord: signed in as {user['username']} ({user['id']})")
    except discord.LoginFailure:
        raise ConfigError("DISCORD_TOKEN was refused by Discord.") from None
    except (discord.HTTPException, aiohttp.ClientError) as exc:
        raise ConfigError(f"Discord could not be reached: {exc.__class__.__name__}") from None
    finally:
        await http.close()
    services = await build_services(settings)
    try:
        lines.append(f"Database: {services.db.path} (schema v{services.db.schema_version})")
        tokens = await services.tokens.get()
        redactor().add([tokens.spartan, tokens.clearance])
        me = await services.halo.get_me()
        lines.append(f"Halo: signed in as {me.gamertag} ({settings.halo_auth_mode} tokens)")
    except UserFacingError as exc:
        raise ConfigError(f"Halo: {exc.message}") from None
    finally:
        await services.close()
    return lines


async def sync_commands(settings: Settings) -> str:
    """Publish the command tree: to the dev guild when set, else globally."""
    token = settings.require_discord().get_secret_value()
    configure_discord_api(settings.discord_api_base)
    services = await build_services(settings)
    bot = build_bot(settings, services, sync_dev_guild=False)
    try:
        async with bot:
            await bot.login(token)
            guild_id = settings.discord_dev_guild_id
            if guild_id:
                guild = discord.Object(id=guild_id)
                bot.tree.copy_global_to(guild=guild)
                synced = await bot.tree.sync(guild=guild)
                return f"Synced {len(synced)} commands to the server {guild_id}."
            synced = await bot.tree.sync()
            return f"Synced {len(synced)} global commands (they can take a while to appear)."
    except discord.LoginFailure:
        raise ConfigError("DISCORD_TOKEN was refused by Discord.") from None
    finally:
        await services.close()
