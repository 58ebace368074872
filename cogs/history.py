"""/history: a chart of a player's CSR over time, from the snapshots the rank checks kept."""

from __future__ import annotations

import asyncio
import io
from datetime import UTC, datetime, timedelta

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import HaloBot
from bot.charts import csr_series, render_csr_chart
from bot.embeds.common import COLOUR_INFO
from bot.embeds.limits import SafeEmbed
from bot.errors import NoDataError
from bot.halo import tiers
from bot.lookup import PLAYER_HELP, begin_lookup, bot_of, player_autocomplete, playlist_autocomplete
from bot.stats import known_playlist_or_default
from bot.text import escape, plural

CHART_FILE = "csr-history.png"
#: Snapshots read for one chart at most (they are only written when the rank moves).
MAX_POINTS = 2000


def _rank(value: int) -> str:
    name = tiers.display_name(value)
    return name if value >= tiers.ONYX_START else f"{name} ({value:,})"


class History(commands.Cog):
    def __init__(self, bot: HaloBot) -> None:
        self.bot = bot

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
        target = await begin_lookup(interaction, player)
        now = datetime.now(UTC)
        since = now - timedelta(days=days)
        snapshots = await bot_of(interaction).db.snapshots.history(
            target.xuid, chosen.playlist_id, limit=MAX_POINTS
        )
        points = csr_series(snapshots, since, now)
        period = plural(days, "day")
        if not points:
            raise NoDataError(
                f"No {escape(chosen.name)} history for **{escape(target.gamertag)}** in the "
                f"last {period}. The bot keeps rank history for tracked players (`/link`), "
                "from their first rank check on, while they are ranked."
            )
        title = f"{target.gamertag} · {chosen.name} · last {period}"
        png = await asyncio.to_thread(render_csr_chart, points, title)
        values = [p.value for p in points]
        change = values[-1] - values[0]
        embed = SafeEmbed(
            title=f"{escape(target.gamertag)}: {escape(chosen.name)} CSR",
            description=f"The last {period}, from the bot's rank checks.",
            colour=COLOUR_INFO,
        )
        embed.add_field(name="Now", value=_rank(values[-1]))
        embed.add_field(name="Highest", value=_rank(max(values)))
        embed.add_field(name="Lowest", value=_rank(min(values)))
        embed.add_field(name="Change", value=f"{change:+,}")
        moves = sum(1 for s in snapshots if s.taken_at >= since)
        embed.add_field(name="Changes recorded", value=f"{moves:,}")
        embed.set_image(url=f"attachment://{CHART_FILE}")
        embed.set_footer(text=f"XUID {target.xuid}")
        await interaction.followup.send(
            embed=embed, file=discord.File(io.BytesIO(png), filename=CHART_FILE)
        )


async def setup(bot: HaloBot) -> None:
    await bot.add_cog(History(bot))
