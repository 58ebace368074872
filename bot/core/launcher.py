"""Starting and stopping the bot, and the ``check`` and ``sync-commands`` commands."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

import aiohttp
import discord

from bot.common.errors import ConfigError, UserFacingError
from bot.core.config import Settings
from bot.core.discord_http import configure_discord_api
from bot.core.logs import redactor
from bot.core.services import build_bot, build_services

log = logging.getLogger(__name__)


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
