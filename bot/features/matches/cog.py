"""/matches (Discord glue; the work is in :mod:`bot.features.matches.service`)."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.core.bot import HaloBot
from bot.core.lookup import PLAYER_HELP, begin_lookup, player_autocomplete
from bot.features.matches.details import DEFAULT_COUNT, MAX_COUNT
from bot.features.matches.service import MatchesService


class Matches(commands.Cog):
    def __init__(self, service: MatchesService) -> None:
        self.service = service

    @app_commands.command(
        name="matches",
        description="A player's recent matches: map, mode, result, K/D/A and CSR change.",
    )
    @app_commands.describe(
        player=PLAYER_HELP, count=f"How many matches, 1 to {MAX_COUNT} (default {DEFAULT_COUNT})"
    )
    @app_commands.autocomplete(player=player_autocomplete)
    async def matches(
        self,
        interaction: discord.Interaction[HaloBot],
        player: app_commands.Range[str, 1, 100] | None = None,
        count: app_commands.Range[int, 1, MAX_COUNT] = DEFAULT_COUNT,
    ) -> None:
        caller = await begin_lookup(interaction)
        reply = await self.service.matches(caller, player, count)
        await reply.send(interaction)


async def setup(bot: HaloBot) -> None:
    await bot.add_cog(Matches(MatchesService(bot.halo, bot.resolver, bot.limits)))
