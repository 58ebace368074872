"""/help and /about: Discord glue for :mod:`bot.features.help.service`."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.core.bot import HaloBot
from bot.features.help.embeds import about_embed, help_embed
from bot.features.help.service import Uptime, about_info, help_entries


class Help(commands.Cog):
    def __init__(self, bot: HaloBot) -> None:
        self.bot = bot
        self.uptime = Uptime()

    @app_commands.command(name="help", description="Every command, what it does, and an example.")
    async def help(self, interaction: discord.Interaction) -> None:
        embed = help_embed(help_entries(self.bot.tree))
        await interaction.response.send_message(embed=embed, ephemeral=True)

    @app_commands.command(
        name="about", description="Version, uptime, Halo status, invite links and privacy."
    )
    async def about(self, interaction: discord.Interaction) -> None:
        bot = self.bot
        http = bot.halo.http
        info = about_info(
            application_id=bot.application_id or (bot.user.id if bot.user else None),
            servers=len(bot.guilds),
            uptime=self.uptime,
            last_success=http.last_success,
            wait_seconds=http.limiter.current_wait(),
            project_url=bot.settings.project_url,
        )
        await interaction.response.send_message(embed=about_embed(info), ephemeral=True)


async def setup(bot: HaloBot) -> None:
    await bot.add_cog(Help(bot))
