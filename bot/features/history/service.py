"""The work of ``/history``: a player's CSR over time, from the snapshots the rank checks
kept (never Halo), drawn as a chart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.common.errors import NoDataError
from bot.common.text import escape, plural
from bot.core.lookup import Caller
from bot.core.playlists import known_playlist_or_default
from bot.core.reply import Reply
from bot.core.resolver import PlayerResolver
from bot.features.history.chart import csr_runs, draw_csr_chart
from bot.features.history.embeds import chart_file, chart_title, history_embed
from bot.storage import Database

#: Rows read for one chart at most. A row is only written when the rank moved, so this
#: is months of a busy player; past it the chart shows the newest rows and says so.
MAX_POINTS = 5000


class HistoryService:
    def __init__(self, db: Database, resolver: PlayerResolver) -> None:
        self.db = db
        self.resolver = resolver
        self.max_points = MAX_POINTS

    async def history(
        self, caller: Caller, player: str | None, playlist: str | None, days: int
    ) -> Reply:
        chosen = known_playlist_or_default(playlist)
        # Only stored data is read: a linked member's gamertag is not confirmed with Halo.
        target = await self.resolver.resolve(
            player, caller_id=caller.user_id, guild_id=caller.guild_id, confirm_links=False
        )
        now = datetime.now(UTC)
        since = now - timedelta(days=days)
        snapshots = self.db.snapshots
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
        return Reply(embed, file=chart_file(png))
