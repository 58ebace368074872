"""/compare (Discord glue; the work is in :mod:`bot.features.compare.service`)."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.core.bot import HaloBot
from bot.core.lookup import begin_lookup, player_autocomplete
from bot.features.compare.service import CompareService

#: Both players are required (no "empty: you", unlike the other commands' player).
PLAYER_A_HELP = "First player: gamertag (with #1234 if it has one), XUID or @member"
PLAYER_B_HELP = "Second player: gamertag (with #1234 if it has one), XUID or @member"


class Compare(commands.Cog):
    def __init__(self, service: CompareService) -> None:
        self.service = service

    @app_commands.command(
        name="compare", description="Two players side by side: ranked CSR and key stats."
    )
    @app_commands.describe(player_a=PLAYER_A_HELP, player_b=PLAYER_B_HELP)
    @app_commands.autocomplete(player_a=player_autocomplete, player_b=player_autocomplete)
    async def compare(
        self,
        interaction: discord.Interaction[HaloBot],
        player_a: app_commands.Range[str, 1, 100],
        player_b: app_commands.Range[str, 1, 100],
    ) -> None:
        caller = await begin_lookup(interaction)
        reply = await self.service.compare(caller, player_a, player_b)
        await reply.send(interaction)


async def setup(bot: HaloBot) -> None:
    await bot.add_cog(Compare(CompareService(bot.halo, bot.resolver)))
