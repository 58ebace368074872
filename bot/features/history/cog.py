"""/history (Discord glue; the work is in :mod:`bot.features.history.service`)."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.core.bot import HaloBot
from bot.core.lookup import PLAYER_HELP, begin_lookup, player_autocomplete, playlist_autocomplete
from bot.features.history.service import HistoryService


class History(commands.Cog):
    def __init__(self, service: HistoryService) -> None:
        self.service = service

    @app_commands.command(name="history", description="A chart of a player's CSR over time.")
    @app_commands.describe(
        player=PLAYER_HELP,
        playlist="The ranked playlist (default: Ranked Arena)",
        days="How many days back (default 30)",
    )
    @app_commands.autocomplete(player=player_autocomplete, playlist=playlist_autocomplete)
    async def history(
        self,
        interaction: discord.Interaction[HaloBot],
        player: app_commands.Range[str, 1, 100] | None = None,
        playlist: app_commands.Range[str, 1, 100] | None = None,
        days: app_commands.Range[int, 1, 365] = 30,
    ) -> None:
        caller = await begin_lookup(interaction)
        reply = await self.service.history(caller, player, playlist, days)
        await reply.send(interaction)


async def setup(bot: HaloBot) -> None:
    await bot.add_cog(History(HistoryService(bot.db, bot.resolver)))
