"""/leaderboard (Discord glue; the work is in :mod:`bot.features.leaderboard.service`)."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.core.bot import HaloBot
from bot.core.lookup import playlist_autocomplete
from bot.features.leaderboard.service import LeaderboardService


class Leaderboard(commands.Cog):
    """Rankings inside one server."""

    def __init__(self, service: LeaderboardService) -> None:
        self.service = service

    @app_commands.command(
        name="leaderboard", description="This server's tracked players, ranked by current CSR."
    )
    @app_commands.describe(playlist="The ranked playlist (default: Ranked Arena)")
    @app_commands.guild_only()
    @app_commands.autocomplete(playlist=playlist_autocomplete)
    async def leaderboard(
        self,
        interaction: discord.Interaction[HaloBot],
        playlist: app_commands.Range[str, 1, 100] | None = None,
    ) -> None:
        assert interaction.guild_id is not None  # guild_only
        reply = await self.service.leaderboard(interaction.guild_id, interaction.user.id, playlist)
        await reply.send(interaction)


async def setup(bot: HaloBot) -> None:
    await bot.add_cog(Leaderboard(LeaderboardService(bot.db)))
