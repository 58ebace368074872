"""The work of ``/matches``: resolve the player, read the history, build the first page and
the pager that builds the others when they are first shown."""

from __future__ import annotations

import discord

from bot.core.limits import CommandLimits
from bot.core.lookup import Caller
from bot.core.paging import PAGER_TIMEOUT, LazyPager
from bot.core.reply import Reply
from bot.core.resolver import Player, PlayerResolver
from bot.features.matches.details import (
    match_lines,
    page_count,
    page_entries,
    recent_matches,
)
from bot.features.matches.embeds import matches_embed
from bot.halo.client import HaloClient
from bot.halo.models import MatchHistoryEntry


class MatchesService:
    """Recent matchmaking matches; details are fetched for the page shown only."""

    def __init__(self, halo: HaloClient, resolver: PlayerResolver, limits: CommandLimits) -> None:
        self.halo = halo
        self.resolver = resolver
        #: Presses that fetch a page count against these, like commands.
        self.limits = limits
        #: Seconds after the last press when the buttons are disabled.
        self.pager_timeout = PAGER_TIMEOUT

    async def matches(self, caller: Caller, player: str | None, count: int) -> Reply:
        target = await self.resolver.resolve(
            player, caller_id=caller.user_id, guild_id=caller.guild_id
        )
        entries = await recent_matches(self.halo, target, count)
        first, complete = await self._page(target, entries, 0)
        pages = page_count(len(entries))
        if pages == 1:
            return Reply(first)

        async def page(index: int) -> tuple[discord.Embed, bool]:
            return await self._page(target, entries, index)

        view = LazyPager(
            first,
            pages,
            page,
            owner_id=caller.user_id,
            limits=self.limits,
            timeout=self.pager_timeout,
            first_complete=complete,
        )
        return Reply(first, view=view)

    async def _page(
        self, target: Player, entries: list[MatchHistoryEntry], index: int
    ) -> tuple[discord.Embed, bool]:
        """The page, and whether Halo answered for all of it (else: asked again)."""
        lines = await match_lines(self.halo, target.xuid, page_entries(entries, index))
        complete = not any(line.incomplete for line in lines)
        return matches_embed(target, entries, lines, index), complete
