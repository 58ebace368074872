"""/operation and /events (Discord glue; the work is in
:mod:`bot.features.progression.service`)."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.core.bot import HaloBot
from bot.core.lookup import PLAYER_HELP, begin_lookup, player_autocomplete
from bot.features.progression.service import ProgressionService

Interaction = discord.Interaction[HaloBot]


class Progression(commands.Cog):
    """Operation and event progress."""

    def __init__(self, service: ProgressionService) -> None:
        self.service = service

    async def cog_load(self) -> None:
        self.service.start()

    async def cog_unload(self) -> None:
        await self.service.close()

    @app_commands.command(
        name="operation",
        description="A player's Operation: rank, XP, premium track and other owned Operations.",
    )
    @app_commands.describe(
        player=PLAYER_HELP,
        operation="The Operation to show (default: the player's active one)",
    )
    @app_commands.autocomplete(player=player_autocomplete)
    async def operation(
        self,
        interaction: Interaction,
        player: app_commands.Range[str, 1, 100] | None = None,
        operation: app_commands.Range[str, 1, 100] | None = None,
    ) -> None:
        caller = await begin_lookup(interaction)
        reply = await self.service.operation(caller, player, operation)
        await reply.send(interaction)

    @app_commands.command(
        name="events",
        description="A player's rank in the current and recent events, or in one event.",
    )
    @app_commands.describe(
        player=PLAYER_HELP,
        event="One event to show (default: current and recent ones)",
    )
    @app_commands.autocomplete(player=player_autocomplete)
    async def events(
        self,
        interaction: Interaction,
        player: app_commands.Range[str, 1, 100] | None = None,
        event: app_commands.Range[str, 1, 100] | None = None,
    ) -> None:
        caller = await begin_lookup(interaction)
        reply = await self.service.events(caller, player, event)
        await reply.send(interaction)

    @operation.autocomplete("operation")
    async def operation_autocomplete(
        self, interaction: Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return await self.service.suggest("operation", current)

    @events.autocomplete("event")
    async def event_autocomplete(
        self, interaction: Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return await self.service.suggest("event", current)


async def setup(bot: HaloBot) -> None:
    await bot.add_cog(Progression(ProgressionService(bot.halo, bot.resolver)))
