"""/link, /unlink and /whois: tie a Discord account to a Halo player."""

from __future__ import annotations

import logging

import discord
from discord import app_commands
from discord.ext import commands

from bot.common.errors import InvalidPlayerError, NotLinkedError
from bot.common.text import escape
from bot.core.bot import HaloBot
from bot.core.embeds import COLOUR_INFO, COLOUR_OK, SafeEmbed
from bot.core.lookup import bot_of
from bot.halo.xuid import parse_player

log = logging.getLogger(__name__)


class Accounts(commands.Cog):
    """Account linking, so members can leave ``player`` empty."""

    def __init__(self, bot: HaloBot) -> None:
        self.bot = bot

    @app_commands.command(
        name="link", description="Link your Halo gamertag to your Discord account."
    )
    @app_commands.describe(gamertag="Your gamertag (modern ones with their #1234) or your XUID")
    async def link(
        self, interaction: discord.Interaction, gamertag: app_commands.Range[str, 1, 100]
    ) -> None:
        bot = bot_of(interaction)
        ref = parse_player(gamertag)
        if ref.kind == "member":
            raise InvalidPlayerError("Give your own gamertag or XUID, not a member mention.")
        await bot.limits.check(interaction.guild_id, interaction.user.id)
        await interaction.response.defer(thinking=True, ephemeral=True)
        # Checked with Halo, not taken from the names the bot remembers: a gamertag may
        # belong to someone else by now.
        player = await bot.resolver.resolve_ref(ref, confirm=True)
        previous = await bot.db.accounts.get(interaction.user.id)
        await bot.db.accounts.link(interaction.user.id, player.xuid, player.gamertag)
        tracked_here = False
        if interaction.guild_id is not None:
            await bot.db.tracked.track(interaction.guild_id, interaction.user.id)
            tracked_here = True
        log.info("User %s linked XUID %s", interaction.user.id, player.xuid)
        lines = [f"Your Discord account is now linked to **{escape(player.gamertag)}**."]
        if previous and previous.xuid != player.xuid:
            lines.append(f"It replaces **{escape(previous.gamertag)}**.")
        lines.append("Leave `player` empty in any command to look yourself up.")
        if tracked_here:
            lines.append("This server now follows your rank for announcements.")
        embed = SafeEmbed(title="Account linked", description="\n".join(lines), colour=COLOUR_OK)
        embed.set_footer(text=f"XUID {player.xuid}")
        await interaction.followup.send(embed=embed, ephemeral=True)

    @app_commands.command(name="unlink", description="Remove the link to your Halo account.")
    async def unlink(self, interaction: discord.Interaction) -> None:
        bot = bot_of(interaction)
        removed = await bot.db.accounts.unlink(interaction.user.id)
        if removed is None:
            raise NotLinkedError("You have no linked Halo account, so there is nothing to unlink.")
        log.info("User %s unlinked", interaction.user.id)
        embed = SafeEmbed(
            title="Account unlinked",
            description=(
                f"**{escape(removed.gamertag)}** is no longer linked to your Discord account, "
                "and no server follows your rank any more."
            ),
            colour=COLOUR_OK,
        )
        await interaction.response.send_message(embed=embed, ephemeral=True)

    @app_commands.command(name="whois", description="Show the Halo account a member linked.")
    @app_commands.describe(member="The member (default: you)")
    async def whois(
        self, interaction: discord.Interaction, member: discord.User | None = None
    ) -> None:
        bot = bot_of(interaction)
        target = member or interaction.user
        account = await bot.db.accounts.get(target.id)
        if account is None:
            who = "You haven't" if target.id == interaction.user.id else "That member hasn't"
            raise NotLinkedError(f"{who} linked a Halo account yet (`/link`).")
        embed = SafeEmbed(
            title=f"{escape(target.display_name)}'s Halo account",
            description=f"**{escape(account.gamertag)}**",
            colour=COLOUR_INFO,
        )
        embed.add_field(name="XUID", value=account.xuid)
        embed.add_field(name="Linked", value=discord.utils.format_dt(account.linked_at, "R"))
        await interaction.response.send_message(embed=embed)


async def setup(bot: HaloBot) -> None:
    await bot.add_cog(Accounts(bot))
