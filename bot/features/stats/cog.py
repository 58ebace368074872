"""/csr and /servicerecord (Discord glue; the work is in :mod:`bot.features.stats.service`)."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.core.bot import HaloBot
from bot.core.lookup import PLAYER_HELP, begin_lookup, player_autocomplete, playlist_autocomplete
from bot.features.stats.service import StatsService

Interaction = discord.Interaction[HaloBot]
MODE_CHOICES = [
    app_commands.Choice(name="All matchmaking", value="all"),
    app_commands.Choice(name="Ranked only", value="ranked"),
]


class Stats(commands.Cog):
    """Ranked CSR and service records."""

    def __init__(self, service: StatsService) -> None:
        self.service = service

    async def cog_unload(self) -> None:
        await self.service.close()

    @app_commands.command(
        name="csr",
        description="A player's ranked CSR: tier, progress and best, per ranked playlist.",
    )
    @app_commands.describe(
        player=PLAYER_HELP,
        playlist="One ranked playlist (default: all of them)",
        season="A past ranked season (default: the current one)",
    )
    @app_commands.autocomplete(player=player_autocomplete, playlist=playlist_autocomplete)
    async def csr(
        self,
        interaction: Interaction,
        player: app_commands.Range[str, 1, 100] | None = None,
        playlist: app_commands.Range[str, 1, 100] | None = None,
        season: app_commands.Range[str, 1, 100] | None = None,
    ) -> None:
        caller = await begin_lookup(interaction)
        reply = await self.service.csr(caller, player, playlist, season)
        await reply.send(interaction)

    @csr.autocomplete("season")
    async def csr_season_autocomplete(
        self, interaction: Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return await self.service.suggest_seasons("csr", current)

    @app_commands.command(
        name="servicerecord",
        description="A player's matchmaking stats: career or one season, ranked or all.",
    )
    @app_commands.describe(
        player=PLAYER_HELP,
        season="One season (default: whole career)",
        mode="Ranked matches only, or all matchmaking (default)",
    )
    @app_commands.choices(mode=MODE_CHOICES)
    @app_commands.autocomplete(player=player_autocomplete)
    async def servicerecord(
        self,
        interaction: Interaction,
        player: app_commands.Range[str, 1, 100] | None = None,
        season: app_commands.Range[str, 1, 100] | None = None,
        mode: app_commands.Choice[str] | None = None,
    ) -> None:
        caller = await begin_lookup(interaction)
        ranked = mode is not None and mode.value == "ranked"
        reply = await self.service.service_record(caller, player, season, ranked=ranked)
        await reply.send(interaction)

    @servicerecord.autocomplete("season")
    async def record_season_autocomplete(
        self, interaction: Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return await self.service.suggest_seasons("record", current)


async def setup(bot: HaloBot) -> None:
    await bot.add_cog(Stats(StatsService(bot.halo, bot.resolver)))
