"""Starting and stopping the bot, and the ``check`` and ``sync-commands`` commands.

A network failure never ends in a traceback: it becomes one line naming what could not
be reached and what to check (:mod:`bot.core.netcheck`). ``run`` retries its first
connection to Discord with capped backoff until it connects or is stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import signal
from collections.abc import Awaitable, Callable

import aiohttp
import discord
from discord.http import HTTPClient

from bot.common.errors import BotError, ConfigError, HaloUnavailableError, UserFacingError
from bot.core.config import Settings
from bot.core.discord_http import configure_discord_api, current_api_base, use_api_gateway
from bot.core.logs import redactor
from bot.core.metrics import MetricsServer
from bot.core.netcheck import NETWORK_ERRORS, advice, cause_of, host_of, unreachable
from bot.core.services import build_bot, build_services
from bot.halo.urls import rewrite_url

log = logging.getLogger(__name__)

#: First-connection retries wait 1, 2, 4 ... seconds, never more than this.
MAX_BACKOFF_SECONDS = 60.0
NOT_SIGNED_IN = "Halo: not signed in yet: run `halo-bot login`."


def discord_unreachable(exc: BaseException) -> str:
    return unreachable("Discord", current_api_base(), exc, "DISCORD_API_BASE")


def backoff_delays(cap: float = MAX_BACKOFF_SECONDS) -> Callable[[], float]:
    """1, 2, 4 ... seconds (jittered by up to 10%), capped at ``cap``."""
    attempt = 0

    def next_delay() -> float:
        nonlocal attempt
        delay = min(cap, 2.0**attempt)
        attempt += 1
        return delay * random.uniform(0.9, 1.0)

    return next_delay


async def probe_discord(session: aiohttp.ClientSession) -> None:
    """One unauthenticated ``GET {api}/gateway``: raises a network error unless Discord's API
    answers (a 5xx counts as not answering)."""
    timeout = aiohttp.ClientTimeout(total=15)
    async with session.get(f"{current_api_base()}/gateway", timeout=timeout) as resp:
        await resp.read()
        if resp.status >= 500:
            raise aiohttp.ClientResponseError(
                resp.request_info, resp.history, status=resp.status, message=resp.reason or ""
            )


async def _until_connected(connect: Callable[[], Awaitable[None]], stopping: asyncio.Event) -> bool:
    """Run ``connect`` until it succeeds (True) or ``stopping`` is set (False). Each
    network failure is one warning line; anything else propagates."""
    next_delay = backoff_delays()
    while not stopping.is_set():
        try:
            await connect()
            return True
        except NETWORK_ERRORS as exc:
            delay = next_delay()
            log.warning("%s Retrying in %.0fs.", discord_unreachable(exc), delay)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), delay)
    return False


async def run_bot(settings: Settings) -> None:
    """Run until SIGINT/SIGTERM, then close Discord, the HTTP session and the database."""
    token = settings.require_discord().get_secret_value()
    configure_discord_api(settings.discord_api_base)
    services = await build_services(settings)
    bot = build_bot(settings, services)
    metrics = MetricsServer(bot, settings.metrics_host, settings.metrics_port)
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()

    def request_stop(name: str) -> None:
        if not stopping.is_set():
            log.info("%s received: shutting down", name)
            stopping.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, request_stop, sig.name)

    logged_in = False

    async def first_connection() -> None:
        nonlocal logged_in
        await probe_discord(services.session)  # no discord.py session is made until it answers
        if not logged_in:
            await bot.login(token)
            logged_in = True
        await use_api_gateway(bot)  # the gateway URL answers too before we go on

    clean = False  # "Stopped cleanly" only then: a fatal error ends with its own line
    try:
        await metrics.start()
        async with bot:
            if await _until_connected(first_connection, stopping):
                runner = asyncio.create_task(bot.connect(reconnect=True), name="discord")
                waiter = asyncio.create_task(stopping.wait(), name="stop-signal")
                done, _ = await asyncio.wait({runner, waiter}, return_when=asyncio.FIRST_COMPLETED)
                if runner in done:
                    waiter.cancel()
                    runner.result()  # re-raise a fatal gateway failure
                else:
                    await bot.close()
                    with contextlib.suppress(asyncio.CancelledError):
                        await runner
        clean = True
    except discord.LoginFailure:
        raise ConfigError(
            "DISCORD_TOKEN was refused by Discord (401): reset it in the Developer Portal."
        ) from None
    except discord.ConnectionClosed as exc:  # a close code discord.py does not retry
        raise BotError(
            f"Discord closed the gateway connection with code {exc.code} "
            f"({exc.reason or 'no reason given'}): check DISCORD_TOKEN and the intents."
        ) from None
    except NETWORK_ERRORS as exc:
        raise BotError(discord_unreachable(exc)) from None
    finally:
        await metrics.stop()
        await services.close()
        if clean:
            log.info("Stopped cleanly")


async def _discord_check(token: str) -> str:
    http = HTTPClient(loop=asyncio.get_running_loop())
    try:
        user = await http.static_login(token)
        return f"Discord: signed in as {user['username']} ({user['id']})"
    except discord.LoginFailure:
        raise ConfigError(
            "Discord: DISCORD_TOKEN was refused (401): reset it in the Developer Portal."
        ) from None
    except NETWORK_ERRORS as exc:
        raise ConfigError(f"{discord_unreachable(exc)}") from None
    finally:
        await http.close()


async def _halo_cause(session: aiohttp.ClientSession, settings: Settings) -> str:
    """Why Halo did not answer, in one line: one direct request to its profile host."""
    url = rewrite_url("https://profile.svc.halowaypoint.com/", settings.halo_api_base_url)
    setting = "HALO_API_BASE_URL" if settings.halo_api_base_url else "the proxy settings"
    try:
        async with session.get(url, timeout=aiohttp.ClientTimeout(total=5)) as resp:
            await resp.read()
            status = resp.status
    except NETWORK_ERRORS as exc:
        return unreachable("Halo", url, exc, setting)
    cause = f"HTTP {status}"
    return f"Halo ({host_of(url)}) is not answering: {cause}; {advice(cause, setting)}."


async def check_setup(settings: Settings) -> list[str]:
    """Validate the configuration and both sets of credentials; raise on the first failure."""
    lines = ["Configuration: OK"]
    token = settings.require_discord().get_secret_value()
    settings.require_halo_auth()
    if settings.halo_auth_mode == "msal" and not settings.halo_token_cache.exists():
        raise ConfigError(NOT_SIGNED_IN)
    configure_discord_api(settings.discord_api_base)
    lines.append(await _discord_check(token))
    services = await build_services(settings)
    try:
        lines.append(f"Database: {services.db.path} (schema v{services.db.schema_version})")
        tokens = await services.tokens.get()
        redactor().add([tokens.spartan, tokens.clearance])
        me = await services.halo.get_me()
        lines.append(f"Halo: signed in as {me.gamertag} ({settings.halo_auth_mode} tokens)")
    except HaloUnavailableError:
        raise ConfigError(await _halo_cause(services.session, settings)) from None
    except UserFacingError as exc:
        raise ConfigError(f"Halo: {exc.message}") from None
    except NETWORK_ERRORS as exc:  # the sign-in chain (Microsoft, Xbox) could not be reached
        raise ConfigError(f"Halo sign-in: {cause_of(exc)}; check the network.") from None
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
        raise ConfigError("DISCORD_TOKEN was refused by Discord (401).") from None
    except NETWORK_ERRORS as exc:
        raise BotError(discord_unreachable(exc)) from None
    finally:
        await services.close()


__all__ = ["MAX_BACKOFF_SECONDS", "check_setup", "host_of", "run_bot", "sync_commands"]
