"""/history: a chart of a player's CSR over time, from the snapshots the rank checks kept."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import discord
from discord import app_commands
from discord.ext import commands

from bot.common.errors import NoDataError
from bot.common.text import escape, plural
from bot.core.bot import HaloBot
from bot.core.lookup import (
    PLAYER_HELP,
    begin_lookup,
    bot_of,
    player_autocomplete,
    playlist_autocomplete,
)
from bot.core.playlists import known_playlist_or_default
from bot.features.history.chart import csr_runs, draw_csr_chart
from bot.features.history.embeds import CHART_FILE, chart_title, history_embed

#: Rows read for one chart at most. A row is only written when the rank moved, so this
#: is months of a busy player; past it the chart shows the newest rows and says so.
MAX_POINTS = 5000


class History(commands.Cog):
    def __init__(self, bot: HaloBot) -> None:
        self.bot = bot
        self.max_points = MAX_POINTS

    @app_commands.command(name="history", description="A chart of a player's CSR over time.")
    @app_commands.describe(
        player=PLAYER_HELP,
        playlist="The ranked playlist (default: Ranked Arena)",
        days="How many days back (default 30)",
    )
    @app_commands.autocomplete(player=player_autocomplete, playlist=playlist_autocomplete)
    async def history(
        self,
        interaction: discord.Interaction,
        player: app_commands.Range[str, 1, 100] | None = None,
        playlist: app_commands.Range[str, 1, 100] | None = None,
        days: app_commands.Range[int, 1, 365] = 30,
    ) -> None:
        chosen = known_playlist_or_default(playlist)
        target = await begin_lookup(interaction, player, stored_only=True)
        now = datetime.now(UTC)
        since = now - timedelta(days=days)
        snapshots = bot_of(interaction).db.snapshots
        # One row more than drawn tells whether the period has more rows than that.
        rows = await snapshots.history(
            target.xuid, chosen.playlist_id, since=since, limit=self.max_points + 1
        )
        cut = len(rows) > self.max_points
        if cut:
            rows = rows[-self.max_points :]
        # The rank held when the period began, unless rows in between were not read.
        start = None
        if not cut:
            start = await snapshots.latest_before(target.xuid, chosen.playlist_id, since)
        history = [start, *rows] if start is not None else rows
        runs = csr_runs(history, since, now)
        if not runs:
            name, who, period = escape(chosen.name), escape(target.gamertag), plural(days, "day")
            if not history:
                raise NoDataError(
                    f"The bot has no {name} history for **{who}** yet. It keeps rank history "
                    "for tracked players (`/link`, `/config track`): rank data appears after "
                    "the next rank check."
                )
            raise NoDataError(f"**{who}** had no {name} rank in the last {period} (placement).")
        png = await draw_csr_chart(runs, chart_title(chosen.name, days), since=since, now=now)
        embed = history_embed(
            target,
            chosen.name,
            days,
            runs,
            latest=history[-1],
            recorded=len(rows),
            cut_to=self.max_points if cut else None,
        )
        await interaction.followup.send(
            embed=embed, file=discord.File(io.BytesIO(png), filename=CHART_FILE)
        )


async def setup(bot: HaloBot) -> None:
    await bot.add_cog(History(bot))
