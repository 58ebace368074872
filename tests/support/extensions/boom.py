"""A test-only extension whose commands fail in the ways real commands can."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands


class Boom(commands.Cog):
    @app_commands.command(name="boom", description="Fails unexpectedly (tests only).")
    async def boom(self, interaction: discord.Interaction) -> None:
        raise RuntimeError("kaboom with secret-ish detail")

    @app_commands.command(name="boom-deferred", description="Defers, then fails (tests only).")
    async def boom_deferred(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(thinking=True)
        raise ZeroDivisionError("after defer")


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(Boom())
