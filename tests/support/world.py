"""End-to-end world: the real bot, real services, a fake Discord and a fake Halo.

    from tests.support.world import World

    async def test_csr(world: World) -> None:
        rec = await world.invoke("csr", {"player": "Noble Six"})
        embed = rec.final_message().embeds[0]

Everything goes over loopback HTTP and a websocket: Discord interactions arrive
as INTERACTION_CREATE on the gateway, the bot answers through the REST API
(`DISCORD_API_BASE`), and every Halo request goes to the fake through
`HALO_API_BASE_URL` with the static test tokens.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypedDict

from bot.core.bot import EXTENSIONS, HaloBot
from bot.core.config import Settings, load_settings
from bot.core.services import Services, build_bot, build_services
from bot.storage import Database
from tests.fakes.discord_server import FakeDiscord, InteractionRecord
from tests.fakes.halo_server import DEFAULT_CLEARANCE, STATIC_SPARTAN_TOKEN, FakeHalo
from tests.support.discord import GUILD_ID, TOKEN, USER_ID, running_bot, running_fake


class Caller(TypedDict, total=False):
    """Who sends an interaction: the keyword arguments of :meth:`World.invoke`."""

    user_id: int
    guild_id: int | None


@dataclass
class World:
    discord: FakeDiscord
    halo: FakeHalo
    bot: HaloBot
    services: Services
    settings: Settings

    @property
    def db(self) -> Database:
        return self.services.db

    async def invoke(
        self,
        name: str,
        options: dict[str, Any] | None = None,
        *,
        user_id: int = USER_ID,
        guild_id: int | None = GUILD_ID,
        timeout: float = 15.0,  # noqa: ASYNC109
        **kwargs: Any,
    ) -> InteractionRecord:
        """Send a slash command like Discord would and wait for the bot's final answer."""
        rec = await self.discord.invoke(
            name, options or {}, user_id=user_id, guild_id=guild_id, **kwargs
        )
        await rec.wait_final(timeout=timeout)
        if not rec.autocomplete_choices and rec.modal is None:
            # A deleted deferral is followed by the (ephemeral) error message.
            await rec.wait_until(
                lambda r: r.latest_message() is not None, timeout=timeout, what="a message"
            )
        return rec

    async def autocomplete(
        self, name: str, options: dict[str, Any], focused: str, **kwargs: Any
    ) -> list[dict[str, Any]]:
        kwargs.setdefault("user_id", USER_ID)
        kwargs.setdefault("guild_id", GUILD_ID)
        rec = await self.discord.autocomplete(name, options, focused=focused, **kwargs)
        await rec.wait_final(timeout=10)
        return rec.autocomplete_choices or []


#: The Halo request deadline of the bot in tests: ample for the local fake even with the
#: suite's workers and other work sharing two cores (1 s was not: a loaded machine timed
#: out answers of the fake), short enough that a hanging Halo costs a test seconds, not
#: ten. One test keeps the bot's real default (``test_the_real_default_deadline`` in
#: tests/e2e/core/test_fault_matrix.py).
TEST_DEADLINE = 2.0
#: Halo requests a second in the world (tests that set ``halo_requests_per_second`` keep
#: their own, validated value).
FAKE_HALO_RATE = 10_000.0
#: An override that keeps the bot's own default for a setting instead of the test value.
REAL_DEFAULT: Any = object()


def make_settings(discord: FakeDiscord, halo: FakeHalo, tmp_path: Path, **overrides: Any):
    values: dict[str, Any] = {
        "discord_token": TOKEN,
        "discord_api_base": discord.api_base,
        "discord_dev_guild_id": GUILD_ID,
        "halo_api_base_url": halo.base_url,
        "halo_spartan_token": STATIC_SPARTAN_TOKEN,
        "halo_clearance_token": DEFAULT_CLEARANCE,
        "database_path": tmp_path / "bot.db",
        "rank_poll_seconds": 3600,
        "user_cooldown_seconds": 0,
        "guild_commands_per_minute": 1000,
        "halo_requests_per_second": 100,  # the most the settings accept; see below
        "halo_request_deadline_seconds": TEST_DEADLINE,
    }
    values.update(overrides)
    values = {name: value for name, value in values.items() if value is not REAL_DEFAULT}
    settings = load_settings(None, **values)
    if "halo_requests_per_second" not in overrides:
        # The local fake needs no protecting: at the settings' ceiling (100 a second) the
        # Operations catalogue every world builds at start-up (30-odd files) took a quarter
        # of a second, about half of each world's start. Validated first, raised after.
        settings = settings.model_copy(update={"halo_requests_per_second": FAKE_HALO_RATE})
    return settings


@contextlib.asynccontextmanager
async def running_world(
    tmp_path: Path,
    *,
    extensions: tuple[str, ...] = EXTENSIONS,
    discord: FakeDiscord | None = None,
    halo: FakeHalo | None = None,
    settle: bool = True,
    **overrides: Any,
) -> AsyncIterator[World]:
    """The bot against the fakes in this process; ``settle``: once its start-up background
    work is over (False: while the Operations catalogue may still be being built)."""
    async with contextlib.AsyncExitStack() as stack:
        if discord is None:
            discord = await stack.enter_async_context(running_fake())
        if halo is None:
            halo = await stack.enter_async_context(FakeHalo())
        settings = make_settings(discord, halo, tmp_path, **overrides)
        services = await build_services(settings)
        stack.push_async_callback(services.close)
        bot = build_bot(settings, services, extensions=extensions)
        async with running_bot(bot, discord):
            assert not bot.failed_extensions, bot.failed_extensions
            if settle:
                await _settled(bot)
            yield World(discord, halo, bot, services, settings)


async def _settled(bot: HaloBot) -> None:
    """Let start-up background work (the Operations catalogue) finish, so request counts
    in tests are exact. A failed warm-up was only logged: that is fine here."""
    progression = bot.get_cog("Progression")
    task = getattr(getattr(progression, "service", None), "warm_task", None)
    if task is not None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(asyncio.shield(task), timeout=10)
