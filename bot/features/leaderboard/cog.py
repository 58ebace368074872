"""/leaderboard: this server's tracked players by current CSR, from stored snapshots."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.common.errors import NoDataError
from bot.common.text import escape
from bot.core.bot import HaloBot
from bot.core.lookup import bot_of, playlist_autocomplete
from bot.core.paging import PAGER_TIMEOUT, Pager
from bot.core.playlists import known_playlist_or_default
from bot.features.leaderboard.embeds import leaderboard_pages
from bot.features.leaderboard.service import build_board


class Leaderboard(commands.Cog):
    """Rankings inside one server; never asks Halo (the rank checks keep the data)."""

    def __init__(self, bot: HaloBot) -> None:
        self.bot = bot
        #: Seconds after the last press when the buttons are disabled.
        self.pager_timeout = PAGER_TIMEOUT

    @app_commands.command(
        name="leaderboard", description="This server's tracked players, ranked by current CSR."
    )
    @app_commands.describe(playlist="The ranked playlist (default: Ranked Arena)")
    @app_commands.guild_only()
    @app_commands.autocomplete(playlist=playlist_autocomplete)
    async def leaderboard(
        self,
        interaction: discord.Interaction,
        playlist: app_commands.Range[str, 1, 100] | None = None,
    ) -> None:
        assert interaction.guild_id is not None
        chosen = known_playlist_or_default(playlist)
        db = bot_of(interaction).db
        members = await db.tracked.list_for_guild(interaction.guild_id)
        if not members:
            raise NoDataError(
                "Nobody is tracked in this server yet: members join with `/link`, "
                "admins add them with `/config track`."
            )
        latest = await db.snapshots.latest_many([m.xuid for m in members], chosen.playlist_id)
        board = build_board(members, latest)
        if not board.entries:
            raise NoDataError(
                f"No tracked member has a {escape(chosen.name)} rank yet: rank data appears "
                "after the next rank check, for members past their placement matches."
            )
        caller = interaction.user.id
        pages = leaderboard_pages(
            board,
            chosen.name,
            caller_id=caller,
            caller_tracked=any(m.user_id == caller for m in members),
        )
        if len(pages) == 1:
            await interaction.response.send_message(embed=pages[0])
            return
        # Only the caller turns the pages: the message is public, and one member paging
        # would move it under everyone else's eyes. Others are told to run their own.
        view = Pager(
            pages, owner_id=caller, start=board.page_of(caller), timeout=self.pager_timeout
        )
        await view.send(interaction)


async def setup(bot: HaloBot) -> None:
    await bot.add_cog(Leaderboard(bot))
