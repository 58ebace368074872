"""The work of ``/csr`` and ``/servicerecord``: resolve the player, ask Halo, build the reply,
and the season suggestions of their ``season`` options."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from discord import app_commands

from bot.common.errors import NoDataError, UserFacingError
from bot.common.text import escape
from bot.core.aio import gather_pair
from bot.core.lookup import Caller
from bot.core.playlists import KNOWN_PLAYLISTS, resolve_playlist
from bot.core.reply import Reply
from bot.core.resolver import PlayerResolver
from bot.features.stats.embeds import csr_embed, season_choice, service_record_embed
from bot.features.stats.seasons import Season, SeasonKind, SeasonService
from bot.features.stats.standings import fetch_standings, top_medals
from bot.halo.client import HaloClient
from bot.halo.models import MedalMetadata

log = logging.getLogger(__name__)

#: Before the season directory is first built, autocomplete waits this long for it at most.
AUTOCOMPLETE_WAIT = 1.0


def _in_season(season: Season | None) -> str:
    return f" in {escape(season.name)}" if season is not None else ""


class StatsService:
    """Ranked CSR and service records of any player."""

    def __init__(self, halo: HaloClient, resolver: PlayerResolver) -> None:
        self.halo = halo
        self.resolver = resolver
        self.seasons = SeasonService(halo)

    async def close(self) -> None:
        await self.seasons.close()

    async def csr(
        self, caller: Caller, player: str | None, playlist: str | None, season: str | None
    ) -> Reply:
        """``/csr``: the standing per ranked playlist (or in ``playlist``), now or in
        ``season``."""
        target = await self.resolver.resolve(
            player, caller_id=caller.user_id, guild_id=caller.guild_id
        )
        chosen_season = await self._season("csr", season)
        chosen = playlist is not None and bool(playlist.strip())
        playlists = (
            [await resolve_playlist(self.halo, playlist)]
            if playlist is not None and chosen
            else KNOWN_PLAYLISTS
        )
        standings = await fetch_standings(
            self.halo,
            target.xuid,
            playlists,
            season=chosen_season.season_id if chosen_season else None,
        )
        gamertag = escape(target.gamertag)
        if chosen and not standings[0].has_data:
            raise NoDataError(
                f"**{gamertag}** has not played {escape(standings[0].playlist.name)}"
                f"{_in_season(chosen_season)}."
            )
        if not any(s.has_data for s in standings):
            raise NoDataError(
                f"**{gamertag}** has no ranked data yet{_in_season(chosen_season)}: "
                "no ranked playlist has a match of theirs."
            )
        return Reply(csr_embed(target, standings, season=chosen_season, chosen=chosen))

    async def service_record(
        self, caller: Caller, player: str | None, season: str | None, *, ranked: bool
    ) -> Reply:
        """``/servicerecord``: matchmaking stats, career or ``season``, ranked or all."""
        target = await self.resolver.resolve(
            player, caller_id=caller.user_id, guild_id=caller.guild_id
        )
        chosen_season = await self._season("record", season)
        record, metadata = await gather_pair(
            self.halo.get_service_record(
                target.xuid,
                season_id=chosen_season.season_id if chosen_season else None,
                ranked=True if ranked else None,
            ),
            self._medal_metadata(),
        )
        if record.is_empty:
            kind = "ranked matches" if ranked else "matchmaking matches"
            raise NoDataError(
                f"**{escape(target.gamertag)}** has no completed {kind}"
                f"{_in_season(chosen_season)}, or keeps their record private."
            )
        embed = service_record_embed(
            target, record, top_medals(record, metadata), ranked=ranked, season=chosen_season
        )
        return Reply(embed)

    async def suggest_seasons(
        self, kind: SeasonKind, current: str
    ) -> list[app_commands.Choice[str]]:
        """The ``season`` autocomplete: from the directory built already; never raises."""
        try:
            directory = await self.seasons.for_autocomplete(AUTOCOMPLETE_WAIT)
            if directory is None:
                return []
            at = datetime.now(UTC)
            return [season_choice(s, at) for s in directory.suggest(kind, current[:100], at)]
        except Exception:
            log.exception("%s season autocomplete failed", kind)
            return []

    async def _season(self, kind: SeasonKind, text: str | None) -> Season | None:
        if text is None or not text.strip():
            return None
        return await self.seasons.find(kind, text)

    async def _medal_metadata(self) -> MedalMetadata | None:
        """Medal names are a nicety: without them the medals are listed by id."""
        try:
            return await self.halo.get_medal_metadata()
        except UserFacingError as exc:
            log.info("Medal names unavailable: %s", exc.title)
            return None
