"""The work of ``/leaderboard``: this server's tracked members ranked from stored snapshots
(never Halo: the rank checks keep the data)."""

from __future__ import annotations

from bot.common.errors import NoDataError
from bot.common.text import escape
from bot.core.paging import PAGER_TIMEOUT, Pager
from bot.core.playlists import known_playlist_or_default
from bot.core.reply import Reply
from bot.features.leaderboard.board import build_board
from bot.features.leaderboard.embeds import leaderboard_pages
from bot.storage import Database


class LeaderboardService:
    def __init__(self, db: Database) -> None:
        self.db = db
        #: Seconds after the last press when the buttons are disabled.
        self.pager_timeout = PAGER_TIMEOUT

    async def leaderboard(self, guild_id: int, caller_id: int, playlist: str | None) -> Reply:
        chosen = known_playlist_or_default(playlist)
        members = await self.db.tracked.list_for_guild(guild_id)
        if not members:
            raise NoDataError(
                "Nobody is tracked in this server yet: members join with `/link`, "
                "admins add them with `/config track`."
            )
        latest = await self.db.snapshots.latest_many([m.xuid for m in members], chosen.playlist_id)
        board = build_board(members, latest)
        if not board.entries:
            raise NoDataError(
                f"No tracked member has a {escape(chosen.name)} rank yet: rank data appears "
                "after the next rank check, for members past their placement matches."
            )
        pages = leaderboard_pages(
            board,
            chosen.name,
            caller_id=caller_id,
            caller_tracked=any(m.user_id == caller_id for m in members),
        )
        if len(pages) == 1:
            return Reply(pages[0])
        # Only the caller turns the pages: the message is public, and one member paging
        # would move it under everyone else's eyes. Others are told to run their own.
        view = Pager(
            pages, owner_id=caller_id, start=board.page_of(caller_id), timeout=self.pager_timeout
        )
        return Reply(view.current, view=view)
