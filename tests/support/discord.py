"""Shared helpers to run a real discord.py bot against :class:`FakeDiscord`.

Use the fixture and context manager from any test module::

    from tests.support.discord import GUILD_ID, running_bot

    async def test_something(fake_discord: FakeDiscord) -> None:  # the fixture's name
        bot = MyBot(...)
        async with running_bot(bot, fake_discord):
            rec = await fake_discord.invoke("ping", {})
            await rec.wait_final()

``running_bot`` points discord.py at the fake (``configure_discord_api``), logs in,
takes the gateway from ``GET /gateway/bot`` (through :class:`ApiGatewayMixin` when the
bot class has it, else :func:`use_api_gateway`), connects, waits for ``on_ready`` and
on exit closes the bot, awaits its connect task and restores stock discord.py.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any, TypeVar

import discord

from bot.core.config import DEFAULT_DISCORD_API_BASE
from bot.core.discord_http import (
    ApiGatewayMixin,
    configure_discord_api,
    use_api_gateway,
)
from tests.fakes.discord_server import (
    ADMINISTRATOR,
    DEFAULT_BOT_PERMISSIONS,
    DEFAULT_USER_ID,
    SEND_MESSAGES,
    FakeDiscord,
    FakeGuild,
)

ClientT = TypeVar("ClientT", bound=discord.Client)

TOKEN = "fake-bot-token.for-tests"
GUILD_ID = 1_300_000_000_000_010_000
GENERAL_CHANNEL_ID = 1_300_000_000_000_010_001
ANNOUNCE_CHANNEL_ID = 1_300_000_000_000_010_002
READONLY_CHANNEL_ID = 1_300_000_000_000_010_003
ADMIN_ROLE_ID = 1_300_000_000_000_010_100
USER_ID = DEFAULT_USER_ID  # "tester", a plain member
ADMIN_USER_ID = 1_300_000_000_000_010_200  # has the admin role
OTHER_USER_ID = 1_300_000_000_000_010_201


def world_spec(*, bot_permissions: int = DEFAULT_BOT_PERMISSIONS) -> dict[str, Any]:
    """The standard test guild as JSON (the body of ``POST /_admin/guilds``): #general,
    #announcements, #read-only (@everyone may not send), an Admin role and three users."""
    return {
        "id": GUILD_ID,
        "name": "Halo Test Guild",
        "channels": [
            {"id": GENERAL_CHANNEL_ID, "name": "general"},
            {"id": ANNOUNCE_CHANNEL_ID, "name": "announcements"},
            {
                "id": READONLY_CHANNEL_ID,
                "name": "read-only",
                "permission_overwrites": [
                    {"id": GUILD_ID, "type": 0, "allow": 0, "deny": SEND_MESSAGES},
                ],
            },
        ],
        "roles": [{"id": ADMIN_ROLE_ID, "name": "Admin", "permissions": ADMINISTRATOR}],
        "members": [
            {"id": USER_ID, "username": "tester", "global_name": "Tester"},
            {"id": ADMIN_USER_ID, "username": "admin", "roles": [ADMIN_ROLE_ID]},
            {"id": OTHER_USER_ID, "username": "noble6", "global_name": "Noble Six"},
        ],
        "bot_permissions": bot_permissions,
    }


def populate_world(
    fake: FakeDiscord, *, bot_permissions: int = DEFAULT_BOT_PERMISSIONS
) -> FakeGuild:
    """Add :func:`world_spec`'s guild to ``fake``."""
    spec = world_spec(bot_permissions=bot_permissions)
    return fake.add_guild(spec.pop("id"), spec.pop("name"), **spec)


@contextlib.asynccontextmanager
async def running_fake(*, populate: bool = True, **kwargs: Any) -> AsyncIterator[FakeDiscord]:
    kwargs.setdefault("token", TOKEN)
    async with FakeDiscord(**kwargs) as fake:
        if populate:
            populate_world(fake)
        yield fake


async def wait_ready(
    bot: discord.Client,
    connect_task: asyncio.Task[None],
    timeout: float = 15.0,  # noqa: ASYNC109
) -> None:
    """Wait for ``on_ready``; if the connect task dies first, raise its error."""
    ready = asyncio.create_task(bot.wait_until_ready())
    try:
        done, _ = await asyncio.wait(
            {ready, connect_task}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
        )
    finally:
        if not ready.done():
            ready.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ready
    if ready in done:
        return
    if connect_task in done:
        connect_task.result()  # raises what stopped the bot
        raise RuntimeError("bot.connect() returned before the bot became ready")
    raise TimeoutError(f"bot not ready within {timeout}s")


async def stop_bot(
    bot: discord.Client, connect_task: asyncio.Task[None] | None
) -> BaseException | None:
    """Close ``bot`` and wait for its connect task; return what that task died of, if anything."""
    await bot.close()
    if connect_task is None:
        return None
    try:
        await asyncio.wait_for(asyncio.shield(connect_task), timeout=10)
    except TimeoutError:
        connect_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await connect_task
        return TimeoutError("the bot's connect task did not end after close()")
    except Exception as exc:
        return exc
    return None


@contextlib.asynccontextmanager
async def running_bot(
    bot: ClientT,
    fake: FakeDiscord | str,
    *,
    token: str = TOKEN,
    ready_timeout: float = 15.0,
    fast_ready: bool = True,
) -> AsyncIterator[ClientT]:
    """Run ``bot`` against ``fake`` until the block exits (see the module docstring).

    ``fake`` is a :class:`FakeDiscord` or the ``api_base`` of one in another process.

    ``fast_ready`` shortens discord.py's wait for more GUILD_CREATEs after READY
    (``guild_ready_timeout``, 2 s by default) so ``on_ready`` fires promptly.
    """
    configure_discord_api(fake if isinstance(fake, str) else fake.api_base)
    connect_task: asyncio.Task[None] | None = None
    body_done = False
    try:
        if fast_ready:
            bot._connection.guild_ready_timeout = 0.05
        await bot.login(token)
        if not isinstance(bot, ApiGatewayMixin):
            await use_api_gateway(bot)
        connect_task = asyncio.create_task(bot.connect(), name="fake-discord-bot-connect")
        await wait_ready(bot, connect_task, ready_timeout)
        yield bot
        body_done = True
    finally:
        crashed = await stop_bot(bot, connect_task)
        configure_discord_api(DEFAULT_DISCORD_API_BASE)  # stock discord.py again
    if body_done and crashed is not None:
        raise RuntimeError("the bot's gateway connection died during the test") from crashed
