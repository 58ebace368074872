"""Typed methods for every Halo endpoint the bot uses, with caching and coalescing.

Static game content (calendars, reward tracks, medals, playlists) is cached for
hours; player data for about a minute; identical in-flight requests share one
upstream call (cache hits never touch the rate limiter). Upstream 4xx answers
become the right error for each endpoint.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from bot.common.errors import HaloDataError, NoDataError, PlayerNotFoundError
from bot.common.seq import chunks
from bot.common.text import escape
from bot.halo import models
from bot.halo.cache import CachedFetcher, SharedAnswers
from bot.halo.http import UNREADABLE, HaloHttp, UpstreamStatusError
from bot.halo.models import PlayerCustomization
from bot.halo.ratelimit import Priority
from bot.halo.urls import (
    DISCOVERY_HOST,
    ECONOMY_HOST,
    GAMECMS_HOST,
    PROFILE_HOST,
    SKILL_HOST,
    STATS_HOST,
    build_url,
    host_of,
    segment,
)
from bot.halo.xuid import canonical_xuid, format_xuid

log = logging.getLogger(__name__)

T = TypeVar("T")

STATIC_TTL = 6 * 3600.0
PLAYER_TTL = 60.0
PROFILE_TTL = 3600.0
#: A finished match never changes; an hour still lets a late skill result show up.
MATCH_TTL = 3600.0
#: Players per CSR request: the most Halo is known to accept (HALO_CSR_BATCH_SIZE).
CSR_BATCH_SIZE = 30
USERS_BATCH_SIZE = 100


def track_id_of(path: str) -> str:
    """``RewardTracks/Operations/S05OpPassM01.json`` -> ``S05OpPassM01``."""
    name = path.rsplit("/", 1)[-1]
    return name[:-5] if name.lower().endswith(".json") else name


class HaloClient:
    """One instance per process, shared by every command and the scheduler."""

    def __init__(
        self,
        http: HaloHttp,
        *,
        csr_batch_size: int = CSR_BATCH_SIZE,
        max_cache_entries: int = 4096,
        static_ttl: float = STATIC_TTL,
        player_ttl: float = PLAYER_TTL,
        shared_answers: SharedAnswers | None = None,
    ) -> None:
        self.http = http
        self.csr_batch_size = csr_batch_size
        #: CSR requests Halo rejected with 400/404 (whole batches split to find out why).
        self.csr_rejections = 0
        self.static_ttl = static_ttl
        self.player_ttl = player_ttl
        self.cache: CachedFetcher[str, Any] = CachedFetcher(
            max_entries=max_cache_entries, shared=shared_answers
        )

    async def _get(
        self,
        url: str,
        ttl: float,
        parse: Callable[[bytes], T],
        *,
        fresh: bool = False,
        priority: Priority = Priority.INTERACTIVE,
    ) -> T:
        """``url`` parsed, from the cache when there; ``fresh``: always from Halo and not
        kept (identical calls in flight are still shared). The answer's bytes go straight
        to the model's JSON parser (pydantic-core), never through ``json.loads``."""

        async def load() -> bytes:
            return await self.http.request("GET", url, priority=priority)

        def read(body: bytes) -> T:
            try:
                return parse(body)
            except HaloDataError as exc:
                if not models.is_malformed_json(exc):
                    raise  # valid JSON of the wrong shape
                log.warning("Unreadable JSON from %s", host_of(url))
                raise HaloDataError(UNREADABLE) from exc.__cause__

        async def fetch() -> T:
            return read(await load())

        if fresh:
            return await self.cache.coalescer.run(url, fetch)
        return await self.cache.get_decoded(url, ttl, load, read)

    # -- profiles -----------------------------------------------------------------

    async def get_me(self) -> models.ProfileUser:
        """The signed-in account (used by ``halo-bot check``)."""
        return await self._get(build_url(PROFILE_HOST, "/users/me"), PLAYER_TTL, _user)

    async def get_user(self, gamertag: str) -> models.ProfileUser:
        """Gamertag -> profile (XUID). Raises PlayerNotFoundError on an unknown gamertag."""
        url = build_url(PROFILE_HOST, f"/users/gt({segment(gamertag)})")
        try:
            return await self._get(url, PROFILE_TTL, _user)
        except UpstreamStatusError as exc:
            if exc.status in (400, 404):
                raise PlayerNotFoundError(
                    f"No Halo player is called **{escape(gamertag)}**. Check the spelling "
                    "(modern gamertags need their #1234 suffix)."
                ) from None
            raise _unexpected(exc) from None

    async def get_users(self, xuids: Iterable[str | int]) -> list[models.ProfileUser]:
        """XUIDs -> profiles, in batches. Unknown XUIDs are left out."""
        wanted = list(dict.fromkeys(canonical_xuid(x) for x in xuids))
        found: list[models.ProfileUser] = []
        for chunk in chunks(wanted, USERS_BATCH_SIZE):
            url = build_url(PROFILE_HOST, "/users", {"xuids": ",".join(chunk)})
            try:
                found.extend(list(await self._get(url, PROFILE_TTL, _users)))
            except UpstreamStatusError as exc:
                if exc.status in (400, 404):
                    if len(chunk) == 1:
                        continue
                    for xuid in chunk:  # isolate the bad one
                        found.extend(await self.get_users([xuid]))
                    continue
                raise _unexpected(exc) from None
        return found

    # -- CSR ----------------------------------------------------------------------

    async def get_csr(
        self,
        playlist_id: str,
        xuids: Sequence[str | int],
        *,
        season: str | None = None,
        fresh: bool = False,
        priority: Priority = Priority.INTERACTIVE,
    ) -> dict[str, models.CsrResult | None]:
        """CSR of many players in one playlist: ``{xuid: result or None}``.

        Players are fetched ``csr_batch_size`` per request. The real API fails the
        whole call when one id is bad, so a failed batch is split in halves until
        the bad id is isolated; the others still get their results. ``fresh``: not
        from the cache and not kept in it (the rank poll, which reads everyone once).
        """
        wanted = list(dict.fromkeys(canonical_xuid(x) for x in xuids))
        results: dict[str, models.CsrResult | None] = {}
        for chunk in chunks(wanted, self.csr_batch_size):
            results.update(await self._csr_batch(playlist_id, chunk, season, fresh, priority))
        return results

    async def _csr_batch(
        self,
        playlist_id: str,
        xuids: list[str],
        season: str | None,
        fresh: bool = False,
        priority: Priority = Priority.INTERACTIVE,
    ) -> dict[str, models.CsrResult | None]:
        query = {"players": ",".join(format_xuid(x) for x in xuids)}
        if season:
            query["season"] = season
        url = build_url(SKILL_HOST, f"/hi/playlist/{segment(playlist_id)}/csrs", query)
        try:
            response = await self._get(url, self.player_ttl, _csr, fresh=fresh, priority=priority)
        except UpstreamStatusError as exc:
            if exc.status not in (400, 404):
                raise _unexpected(exc) from None
            if len(xuids) == 1:
                self.csr_rejections += 1
                log.info("CSR lookup rejected one player id (%s)", exc.status)
                return {xuids[0]: None}
            middle = len(xuids) // 2
            rejected_before = self.csr_rejections
            left = await self._csr_batch(playlist_id, xuids[:middle], season, fresh, priority)
            right = await self._csr_batch(playlist_id, xuids[middle:], season, fresh, priority)
            if self.csr_rejections == rejected_before:
                # Both halves answered: the batch was too large, not a bad id.
                self._shrink_csr_batch(len(xuids) - middle)
            self.csr_rejections += 1
            return left | right
        out: dict[str, models.CsrResult | None] = dict.fromkeys(xuids)
        for entry in response.value:
            xuid = entry.xuid
            if xuid in out and entry.ok:
                out[xuid] = entry.result
        return out

    def _shrink_csr_batch(self, size: int) -> None:
        """Keep ``size`` as the batch size for the rest of the run (logged once per size)."""
        if size >= self.csr_batch_size:
            return
        log.warning(
            "Halo rejected a CSR request for more than %d players: sending %d per request "
            "from now on (lower HALO_CSR_BATCH_SIZE to start there)",
            size,
            size,
        )
        self.csr_batch_size = size

    async def get_player_csr(
        self, playlist_id: str, xuid: str, *, season: str | None = None
    ) -> models.CsrResult | None:
        return (await self.get_csr(playlist_id, [xuid], season=season)).get(canonical_xuid(xuid))

    # -- stats --------------------------------------------------------------------

    async def get_service_record(
        self,
        xuid: str,
        *,
        season_id: str | None = None,
        game_variant_category: int | None = None,
        ranked: bool | None = None,
    ) -> models.ServiceRecord:
        query: dict[str, str] = {}
        if season_id:
            query["seasonId"] = season_id
        if game_variant_category is not None:
            query["gameVariantCategory"] = str(game_variant_category)
        if ranked is not None:
            query["isRanked"] = "true" if ranked else "false"
        path = f"/hi/players/{segment(format_xuid(xuid))}/Matchmade/servicerecord"
        url = build_url(STATS_HOST, path, query or None)
        try:
            return await self._get(url, self.player_ttl, _service_record)
        except UpstreamStatusError as exc:
            raise _player_error(exc) from None

    async def get_match_history(
        self, xuid: str, *, start: int = 0, count: int = 25, match_type: str = "Matchmaking"
    ) -> models.MatchHistory:
        query = {"start": str(start), "count": str(count), "type": match_type}
        url = build_url(STATS_HOST, f"/hi/players/{segment(format_xuid(xuid))}/matches", query)
        try:
            return await self._get(url, self.player_ttl, _match_history)
        except UpstreamStatusError as exc:
            raise _player_error(exc) from None

    async def get_match_stats(self, match_id: str) -> models.MatchStats:
        """Every player's stats in one match. NoDataError when Halo has none."""
        url = build_url(STATS_HOST, f"/hi/matches/{segment(match_id)}/stats")
        try:
            return await self._get(url, MATCH_TTL, _match_stats)
        except UpstreamStatusError as exc:
            raise _match_error(exc) from None

    async def get_match_skill(self, match_id: str, xuid: str) -> models.PlayerMatchSkill | None:
        """A player's skill result in one match (CSR before and after in ranked ones);
        None when Halo has none for them (unranked match, not computed yet)."""
        path = f"/hi/matches/{segment(match_id)}/skill"
        url = build_url(SKILL_HOST, path, {"players": format_xuid(xuid)})
        try:
            skill = await self._get(url, MATCH_TTL, _match_skill)
        except UpstreamStatusError as exc:
            if exc.status in (400, 404):
                return None
            raise _match_error(exc) from None
        entry = skill.for_player(xuid)
        return entry if entry is not None and entry.ok else None

    # -- economy (player progression) ------------------------------------------------

    def _economy_url(self, xuid: str, rest: str) -> str:
        return build_url(ECONOMY_HOST, f"/hi/players/{segment(format_xuid(xuid))}/{rest}")

    async def get_player_operations(self, xuid: str) -> models.PlayerOperations:
        url = self._economy_url(xuid, "rewardtracks/operations")
        try:
            return await self._get(url, self.player_ttl, _player_operations)
        except UpstreamStatusError as exc:
            raise _player_error(exc) from None

    async def get_operation_progress(self, xuid: str, track_id: str) -> models.PlayerRewardTrack:
        url = self._economy_url(xuid, f"rewardtracks/operations/{segment(track_id)}")
        try:
            return await self._get(url, self.player_ttl, _track_progress)
        except UpstreamStatusError as exc:
            raise _player_error(exc) from None

    async def get_event_progress(self, xuid: str, track_id: str) -> models.PlayerRewardTrack | None:
        """A player's rank in one event; None when they never took part."""
        url = self._economy_url(xuid, f"rewardtracks/events/{segment(track_id)}")
        try:
            return await self._get(url, self.player_ttl, _track_progress)
        except UpstreamStatusError as exc:
            if exc.status == 404:
                return None
            raise _player_error(exc) from None

    async def get_customization(self, xuid: str) -> PlayerCustomization:
        """A player's public customization (service tag), always asked fresh: players
        change their tag to prove they own the account, so a cached answer would be
        wrong. Raises NoDataError when Halo keeps it private or has none."""
        url = build_url(
            ECONOMY_HOST,
            f"/hi/players/{segment(format_xuid(xuid))}/customization",
            {"view": "public"},
        )
        try:
            return await self._get(url, 0.0, PlayerCustomization.parse, fresh=True)
        except UpstreamStatusError as exc:
            if exc.status in (403, 404):
                raise NoDataError(
                    "Halo does not show this player's customization (it is private or "
                    "unavailable), so the service tag cannot be checked."
                ) from None
            raise _unexpected(exc) from None

    # -- static game content (gamecms-hacs) ---------------------------------------------

    async def _static(
        self,
        path: str,
        parse: Callable[[bytes], T],
        priority: Priority = Priority.INTERACTIVE,
    ) -> T:
        url = build_url(GAMECMS_HOST, path)
        try:
            return await self._get(url, self.static_ttl, parse, priority=priority)
        except UpstreamStatusError as exc:
            if exc.status == 404:
                raise NoDataError("Halo has no data for that any more.") from None
            raise _unexpected(exc) from None

    async def get_season_calendar(
        self, *, priority: Priority = Priority.INTERACTIVE
    ) -> models.SeasonCalendar:
        return await self._static(
            "/hi/progression/file/calendars/seasons/seasoncalendar.json",
            _season_calendar,
            priority,
        )

    async def get_csr_season_calendar(self) -> models.CsrSeasonCalendar:
        return await self._static(
            "/hi/progression/file/Csr/Calendars/CsrSeasonCalendar.json", _csr_calendar
        )

    async def get_operation_track(
        self, track_id: str, *, priority: Priority = Priority.INTERACTIVE
    ) -> models.RewardTrack:
        path = f"/hi/Progression/file/RewardTracks/Operations/{segment(track_id)}.json"
        return await self._static(path, _reward_track, priority)

    async def get_event_track(
        self, track_id: str, *, priority: Priority = Priority.INTERACTIVE
    ) -> models.RewardTrack:
        path = f"/hi/Progression/file/RewardTracks/Events/Rituals/{segment(track_id)}.json"
        return await self._static(path, _reward_track, priority)

    async def get_season_metadata(self, metadata_path: str) -> models.SeasonMetadata:
        """``Seasons/Season7-Op1.json`` (as the calendar names it) -> the season's metadata."""
        name = track_id_of(metadata_path)
        return await self._static(
            f"/hi/Progression/file/Seasons/{segment(name)}.json", _season_metadata
        )

    async def get_medal_metadata(self) -> models.MedalMetadata:
        return await self._static("/hi/Waypoint/file/medals/metadata.json", _medals)

    async def get_playlist(self, asset_id: str) -> models.Playlist:
        path = f"/hi/Multiplayer/file/playlists/assets/{segment(asset_id)}.json"
        return await self._static(path, _playlist)

    async def get_playlist_version(self, asset_id: str, version_id: str) -> models.Playlist:
        """One version of a playlist, whole: its name and its map/mode pairs (discovery)."""
        path = f"/hi/playlists/{segment(asset_id)}/versions/{segment(version_id)}"
        url = build_url(DISCOVERY_HOST, path)
        try:
            return await self._get(url, self.static_ttl, _playlist)
        except UpstreamStatusError as exc:
            if exc.status == 404:
                raise NoDataError("Halo has no data for that playlist.") from None
            raise _unexpected(exc) from None


def _player_error(exc: UpstreamStatusError) -> Exception:
    if exc.status == 404:
        return PlayerNotFoundError("Halo has no record of that player.")
    if exc.status == 403:
        return NoDataError("That player's Halo data is private.")
    return _unexpected(exc)


def _match_error(exc: UpstreamStatusError) -> Exception:
    if exc.status == 404:
        return NoDataError("Halo has no stats for that match.")
    if exc.status == 403:
        return NoDataError("That match's stats are private.")
    return _unexpected(exc)


def _unexpected(exc: UpstreamStatusError) -> Exception:
    log.warning("Unexpected upstream answer: %s", exc)
    return HaloDataError("Halo refused the request. Please try again later.")


# Parsers (answer bytes -> model): one per endpoint, so the cache stores typed models.
_user = models.ProfileUser.parse
_users = models.ProfileUsers.parse
_csr = models.PlaylistCsr.parse
_service_record = models.ServiceRecord.parse
_match_history = models.MatchHistory.parse
_match_stats = models.MatchStats.parse
_match_skill = models.MatchSkill.parse
_player_operations = models.PlayerOperations.parse
_track_progress = models.PlayerRewardTrack.parse
_season_calendar = models.SeasonCalendar.parse
_csr_calendar = models.CsrSeasonCalendar.parse
_reward_track = models.RewardTrack.parse
_season_metadata = models.SeasonMetadata.parse
_medals = models.MedalMetadata.parse
_playlist = models.Playlist.parse
