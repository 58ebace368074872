"""/matches: a player's recent matches, paged, with K/D/A and CSR change where known."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.core.bot import HaloBot
from bot.core.lookup import PLAYER_HELP, begin_lookup, bot_of, player_autocomplete
from bot.core.paging import PAGER_TIMEOUT, LazyPager
from bot.features.matches.embeds import matches_embed
from bot.features.matches.service import (
    DEFAULT_COUNT,
    MAX_COUNT,
    match_lines,
    page_count,
    page_entries,
    recent_matches,
)


class Matches(commands.Cog):
    """Recent matchmaking matches; details are fetched for the page shown only."""

    def __init__(self, bot: HaloBot) -> None:
        self.bot = bot
        #: Seconds after the last press when the buttons are disabled.
        self.pager_timeout = PAGER_TIMEOUT

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
        interaction: discord.Interaction,
        player: app_commands.Range[str, 1, 100] | None = None,
        count: app_commands.Range[int, 1, MAX_COUNT] = DEFAULT_COUNT,
    ) -> None:
        halo = bot_of(interaction).halo
        target = await begin_lookup(interaction, player)
        entries = await recent_matches(halo, target, count)

        async def page(index: int) -> tuple[discord.Embed, bool]:
            """The page, and whether Halo answered for all of it (else: asked again)."""
            lines = await match_lines(halo, target.xuid, page_entries(entries, index))
            complete = not any(line.incomplete for line in lines)
            return matches_embed(target, entries, lines, index), complete

        first, complete = await page(0)
        pages = page_count(len(entries))
        if pages == 1:
            await interaction.followup.send(embed=first)
            return
        view = LazyPager(
            first,
            pages,
            page,
            owner_id=interaction.user.id,
            timeout=self.pager_timeout,
            first_complete=complete,
        )
        await view.send(interaction)


async def setup(bot: HaloBot) -> None:
    await bot.add_cog(Matches(bot))
