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
from datetime import timedelta

import discord
from discord.ext import commands, tasks

from bot.core.bot import HaloBot
from bot.features.departures.service import DeparturesService

log = logging.getLogger(__name__)


class GuildDepartures(commands.Cog):
    """Discord's server events, handed to :class:`DeparturesService`."""

    def __init__(self, bot: HaloBot, service: DeparturesService) -> None:
        self.bot = bot
        self.service = service

    async def cog_load(self) -> None:
        self.purge_loop.start()

    async def cog_unload(self) -> None:
        self.purge_loop.cancel()

    @commands.Cog.listener()
    async def on_guild_remove(self, guild: discord.Guild) -> None:
        if not guild.unavailable:  # unavailable: an outage, not a removal
            await self.service.left(guild.id)

    @commands.Cog.listener()
    async def on_guild_join(self, guild: discord.Guild) -> None:
        await self.service.returned(guild.id)

    @commands.Cog.listener()
    async def on_ready(self) -> None:
        await self.service.returned_while_offline(guild.id for guild in self.bot.guilds)

    @tasks.loop(hours=1)
    async def purge_loop(self) -> None:
        try:
            await self.service.purge()
        except Exception:
            log.exception("Deleting the data of servers the bot left failed")

    @purge_loop.before_loop
    async def _before_purge(self) -> None:
        await self.bot.wait_until_ready()


async def setup(bot: HaloBot) -> None:
    grace = timedelta(days=bot.settings.guild_data_grace_days)
    await bot.add_cog(GuildDepartures(bot, DeparturesService(bot.db, grace)))
