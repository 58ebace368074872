"""/csr and /servicerecord: ranked standing per playlist and matchmaking stats."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import discord
from discord import app_commands
from discord.ext import commands

from bot.common.errors import NoDataError, UserFacingError
from bot.common.text import escape
from bot.core.aio import gather_pair
from bot.core.bot import HaloBot
from bot.core.lookup import (
    PLAYER_HELP,
    begin_lookup,
    bot_of,
    player_autocomplete,
    playlist_autocomplete,
)
from bot.core.playlists import KNOWN_PLAYLISTS, resolve_playlist
from bot.features.stats.embeds import csr_embed, service_record_embed
from bot.features.stats.seasons import Season, SeasonKind, SeasonService
from bot.features.stats.service import fetch_standings, top_medals
from bot.halo.models import MedalMetadata

log = logging.getLogger(__name__)

#: Before the season directory is first built, autocomplete waits this long for it at most.
AUTOCOMPLETE_WAIT = 1.0
MODE_CHOICES = [
    app_commands.Choice(name="All matchmaking", value="all"),
    app_commands.Choice(name="Ranked only", value="ranked"),
]


def _in_season(season: Season | None) -> str:
    return f" in {escape(season.name)}" if season is not None else ""


class Stats(commands.Cog):
    """Ranked CSR and service records."""

    def __init__(self, bot: HaloBot) -> None:
        self.bot = bot
        self.seasons = SeasonService(bot.halo)

    async def cog_unload(self) -> None:
        await self.seasons.close()

    async def _season(self, kind: SeasonKind, text: str | None) -> Season | None:
        if text is None or not text.strip():
            return None
        return await self.seasons.find(kind, text)

    async def _medal_metadata(self) -> MedalMetadata | None:
        """Medal names are a nicety: without them the medals are listed by id."""
        try:
            return await self.bot.halo.get_medal_metadata()
        except UserFacingError as exc:
            log.info("Medal names unavailable: %s", exc.title)
            return None

    # -- /csr ------------------------------------------------------------------------------

    @app_commands.command(
        name="csr",
        description="A player's ranked CSR: tier, progress and best, per ranked playlist.",
    )
    @app_commands.describe(
        player=PLAYER_HELP,
        playlist="One ranked playlist (default: all of them)",
        season="A past ranked season (default: the current one)",
    )
    @app_commands.autocomplete(player=player_autocomplete, playlist=playlist_autocomplete)
    async def csr(
        self,
        interaction: discord.Interaction,
        player: app_commands.Range[str, 1, 100] | None = None,
        playlist: app_commands.Range[str, 1, 100] | None = None,
        season: app_commands.Range[str, 1, 100] | None = None,
    ) -> None:
        bot = bot_of(interaction)
        target = await begin_lookup(interaction, player)
        chosen_season = await self._season("csr", season)
        chosen = playlist is not None and bool(playlist.strip())
        playlists = [await resolve_playlist(bot.halo, playlist)] if chosen else KNOWN_PLAYLISTS
        standings = await fetch_standings(
            bot.halo,
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
        embed = csr_embed(target, standings, season=chosen_season, chosen=chosen)
        await interaction.followup.send(embed=embed)

    @csr.autocomplete("season")
    async def csr_season_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return await self._suggest_seasons("csr", current)

    # -- /servicerecord -------------------------------------------------------------------

    @app_commands.command(
        name="servicerecord",
        description="A player's matchmaking stats: career or one season, ranked or all.",
    )
    @app_commands.describe(
        player=PLAYER_HELP,
        season="One season (default: whole career)",
        mode="Ranked matches only, or all matchmaking (default)",
    )
    @app_commands.choices(mode=MODE_CHOICES)
    @app_commands.autocomplete(player=player_autocomplete)
    async def servicerecord(
        self,
        interaction: discord.Interaction,
        player: app_commands.Range[str, 1, 100] | None = None,
        season: app_commands.Range[str, 1, 100] | None = None,
        mode: app_commands.Choice[str] | None = None,
    ) -> None:
        bot = bot_of(interaction)
        target = await begin_lookup(interaction, player)
        chosen_season = await self._season("record", season)
        ranked = mode is not None and mode.value == "ranked"
        record, metadata = await gather_pair(
            bot.halo.get_service_record(
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
            target,
            record,
            top_medals(record, metadata),
            ranked=ranked,
            season=chosen_season,
        )
        await interaction.followup.send(embed=embed)

    @servicerecord.autocomplete("season")
    async def record_season_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return await self._suggest_seasons("record", current)

    # -- shared ----------------------------------------------------------------------------

    async def _suggest_seasons(
        self, kind: SeasonKind, current: str
    ) -> list[app_commands.Choice[str]]:
        try:
            directory = await self.seasons.for_autocomplete(AUTOCOMPLETE_WAIT)
            if directory is None:
                return []
            at = datetime.now(UTC)
            return [
                app_commands.Choice(name=_choice_label(s.label(at)), value=s.season_id[:100])
                for s in directory.suggest(kind, current[:100], at)
            ]
        except Exception:
            log.exception("%s season autocomplete failed", kind)
            return []


def _choice_label(text: str) -> str:
    return text if len(text) <= 100 else text[:99] + "…"


async def setup(bot: HaloBot) -> None:
    await bot.add_cog(Stats(bot))
