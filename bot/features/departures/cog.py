"""Leaving a server: stop polling its members at once, delete its data after a grace period.

When the bot is removed from a server (a ``GUILD_DELETE`` that is not an outage, which
discord.py reports as ``on_guild_remove``) the server is recorded as departed: from the
next rank check on, its tracked members are no longer polled (unless another server
tracks them). After ``GUILD_DATA_GRACE_DAYS`` (7 by default; 0: at once) its settings,
tracking, rank-role mapping and grants, lookup notes and unsent announcements are
deleted; an invitation back before then keeps everything. The deletion runs hourly.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

import discord
from discord.ext import commands, tasks

from bot.core.bot import HaloBot
from bot.storage.models import utc_now

log = logging.getLogger(__name__)


class GuildDepartures(commands.Cog):
    """Keeps the stored data in step with the servers the bot is in."""

    def __init__(self, bot: HaloBot, *, clock: Callable[[], datetime] = utc_now) -> None:
        self.bot = bot
        self.clock = clock
        self.grace = timedelta(days=bot.settings.guild_data_grace_days)

    async def cog_load(self) -> None:
        self.purge_loop.start()

    async def cog_unload(self) -> None:
        self.purge_loop.cancel()

    @commands.Cog.listener()
    async def on_guild_remove(self, guild: discord.Guild) -> None:
        if guild.unavailable:
            return  # an outage, not a removal
        if await self.bot.db.departures.mark_left(guild.id, self.clock()):
            log.info(
                "Removed from server %s: its members are no longer polled; its data is "
                "deleted in %s unless I am invited back",
                guild.id,
                self.grace,
            )
        if not self.grace:
            await self.purge()

    @commands.Cog.listener()
    async def on_guild_join(self, guild: discord.Guild) -> None:
        await self._returned(guild.id)

    @commands.Cog.listener()
    async def on_ready(self) -> None:
        # Invited back while the bot was offline.
        for guild_id in await self.bot.db.departures.ids():
            if self.bot.get_guild(guild_id) is not None:
                await self._returned(guild_id)

    async def _returned(self, guild_id: int) -> None:
        if await self.bot.db.departures.returned(guild_id):
            log.info("Back in server %s: its settings and tracked members are kept", guild_id)

    async def purge(self) -> list[int]:
        """Delete the data of every server left more than the grace period ago."""
        return await self.bot.db.departures.purge(self.clock() - self.grace)

    @tasks.loop(hours=1)
    async def purge_loop(self) -> None:
        try:
            await self.purge()
        except Exception:
            log.exception("Deleting the data of servers the bot left failed")

    @purge_loop.before_loop
    async def _before_purge(self) -> None:
        await self.bot.wait_until_ready()


async def setup(bot: HaloBot) -> None:
    await bot.add_cog(GuildDepartures(bot))
