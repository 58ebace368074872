"""What ``/csr`` and ``/servicerecord`` compute, apart from Discord: ranked playlists,
a player's standing in each, the best one, and a service record's top medals."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.aio import gather_all
from bot.errors import NoDataError, UserFacingError
from bot.halo import tiers
from bot.halo.models import CsrResult, MedalMetadata, ServiceRecord
from bot.halo.playlists import RANKED_PLAYLISTS
from bot.text import escape

if TYPE_CHECKING:
    from bot.halo.client import HaloClient

GUID_RE = re.compile(r"^[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
MAX_SUGGESTIONS = 25


class UnknownPlaylistError(UserFacingError):
    """``playlist`` names no ranked playlist."""

    title = "Unknown playlist"


@dataclass(frozen=True)
class RankedPlaylist:
    playlist_id: str
    name: str

    @property
    def short_name(self) -> str:
        """``Arena`` for ``Ranked Arena``."""
        return self.name.removeprefix("Ranked ").strip() or self.name


KNOWN_PLAYLISTS: tuple[RankedPlaylist, ...] = tuple(
    RankedPlaylist(pid, name) for pid, name in RANKED_PLAYLISTS.items()
)


def suggest_playlists(text: str) -> list[RankedPlaylist]:
    """Known ranked playlists whose name contains ``text``."""
    wanted = text.strip().casefold()
    return [p for p in KNOWN_PLAYLISTS if wanted in p.name.casefold()][:MAX_SUGGESTIONS]


def known_playlist(text: str) -> RankedPlaylist | None:
    """The known ranked playlist with this id, name or short name (``arena``)."""
    wanted = text.strip().casefold()
    for playlist in KNOWN_PLAYLISTS:
        if wanted in (
            playlist.playlist_id,
            playlist.name.casefold(),
            playlist.short_name.casefold(),
        ):
            return playlist
    return None


def known_playlist_or_default(text: str | None) -> RankedPlaylist:
    """The known ranked playlist ``text`` names; Ranked Arena when empty."""
    if text is None or not text.strip():
        return KNOWN_PLAYLISTS[0]
    found = known_playlist(text)
    if found is None:
        raise UnknownPlaylistError(
            f"No ranked playlist is called **{escape(text.strip()[:100])}**. "
            "Pick one from the list as you type."
        )
    return found


async def resolve_playlist(halo: HaloClient, text: str) -> RankedPlaylist:
    """A known playlist by name or id; any other playlist id if Halo says it reports CSR."""
    known = known_playlist(text)
    if known is not None:
        return known
    cleaned = text.strip()
    if not GUID_RE.fullmatch(cleaned):
        raise UnknownPlaylistError(
            f"No ranked playlist is called **{escape(cleaned[:100])}**. "
            "Pick one from the list as you type, or give a playlist id."
        )
    try:
        asset = await halo.get_playlist(cleaned.lower())
    except NoDataError:
        raise UnknownPlaylistError(
            f"Halo has no playlist with the id `{cleaned.lower()}`."
        ) from None
    name = asset.public_name.strip() or f"Playlist {cleaned[:8]}"
    if not asset.is_ranked:
        raise UnknownPlaylistError(f"**{escape(name)}** is not ranked: it has no CSR.")
    return RankedPlaylist(cleaned.lower(), name)


@dataclass(frozen=True)
class PlaylistStanding:
    """A player's CSR in one ranked playlist (``result`` None: Halo had nothing)."""

    playlist: RankedPlaylist
    result: CsrResult | None

    @property
    def is_ranked(self) -> bool:
        """Placement done: there is a current CSR."""
        return self.result is not None and self.result.current.has_value

    @property
    def has_data(self) -> bool:
        """Anything to show: a CSR, placement matches played, or a past best."""
        result = self.result
        if result is None:
            return False
        current = result.current
        if current.has_value or tiers.placement_matches_played(current) > 0:
            return True
        return any(m is not None and m.has_value for m in (result.season_max, result.all_time_max))

    @property
    def rank_key(self) -> tuple[int, int, int]:
        """For picking the best playlist: tier, sub-tier, then CSR."""
        if self.result is None or not self.is_ranked:
            return (-1, 0, -1)
        current = self.result.current
        return (*tiers.rank_key_for(current), current.value)


async def fetch_standings(
    halo: HaloClient,
    xuid: str,
    playlists: Sequence[RankedPlaylist],
    *,
    season: str | None = None,
) -> list[PlaylistStanding]:
    """One CSR request per playlist, all at once (the client coalesces and caches them)."""
    results = await gather_all(
        *(halo.get_player_csr(p.playlist_id, xuid, season=season) for p in playlists)
    )
    return [PlaylistStanding(p, r) for p, r in zip(playlists, results, strict=True)]


def best_standing(standings: Sequence[PlaylistStanding]) -> PlaylistStanding | None:
    """The ranked playlist with the highest current rank (first listed wins ties)."""
    ranked = [s for s in standings if s.is_ranked]
    if not ranked:
        return None
    return max(ranked, key=lambda s: s.rank_key)


@dataclass(frozen=True)
class MedalTally:
    name: str
    count: int


def top_medals(
    record: ServiceRecord, metadata: MedalMetadata | None, limit: int = 5
) -> list[MedalTally]:
    """The medals earned most often, by name (``Medal 123`` when metadata lacks one)."""
    counts: dict[int, int] = {}
    for medal in record.core_stats.medals:
        counts[medal.name_id] = counts.get(medal.name_id, 0) + medal.count
    ordered = sorted(
        ((name_id, count) for name_id, count in counts.items() if count > 0),
        key=lambda item: (-item[1], item[0]),
    )
    tallies: list[MedalTally] = []
    for name_id, count in ordered[:limit]:
        medal = metadata.medal(name_id) if metadata is not None else None
        name = medal.name.value.strip() if medal is not None else ""
        tallies.append(MedalTally(name or f"Medal {name_id}", count))
    return tallies
