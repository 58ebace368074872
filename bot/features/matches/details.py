"""What ``/matches`` computes, apart from Discord: a player's recent matchmaking matches
and, for the page shown, each match's names, K/D/A and CSR change.

The history is one request. Details are asked per match, only for the page shown,
all at once (the client caches them and shares identical requests in flight):
the match's stats (K/D/A), its playlist version (playlist name, and the map/mode
pair's name from the playlist's rotation; one request per playlist version, kept
for hours) and, in ranked playlists only, the player's skill result (CSR before
and after). A detail Halo will not give leaves its part of the line out; the
line says so when Halo failed rather than had nothing.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from bot.common.errors import NoDataError, UserFacingError
from bot.common.text import escape
from bot.core.aio import gather_all, gather_pair
from bot.halo.models import CsrValue, MatchHistoryEntry, MatchPlayer, Playlist
from bot.halo.playlists import is_known_ranked, ranked_playlist_name

if TYPE_CHECKING:
    from bot.core.resolver import Player
    from bot.halo.client import HaloClient

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Matches on one page.
PAGE_SIZE = 5
DEFAULT_COUNT = 5
MAX_COUNT = 25


@dataclass(frozen=True)
class Kda:
    kills: int
    deaths: int
    assists: int

    @classmethod
    def of(cls, player: MatchPlayer) -> Kda:
        return cls(player.kills, player.deaths, player.assists)


@dataclass(frozen=True)
class CsrChange:
    """The player's CSR before and after a ranked match."""

    before: CsrValue
    after: CsrValue

    @property
    def delta(self) -> int | None:
        """CSR won or lost; None when either side is still in placement."""
        if self.before.has_value and self.after.has_value:
            return self.after.value - self.before.value
        return None


@dataclass(frozen=True)
class MatchLine:
    """One match as shown: the history entry and whatever details Halo gave."""

    entry: MatchHistoryEntry
    playlist_name: str | None = None
    #: The map/mode pair's public name without its ``Ranked:`` style prefix
    #: (``Slayer on Aquarius``), when the playlist version lists it.
    map_mode: str | None = None
    kda: Kda | None = None
    csr: CsrChange | None = None
    #: Halo failed (not: had nothing) for some detail of this match.
    incomplete: bool = False

    @property
    def mode(self) -> str:
        """The map/mode pair's name, else the game variant category (``Oddball``)."""
        if self.map_mode:
            return self.map_mode
        name = self.entry.match_info.game_variant_name
        return name if name != "Unknown" else "Unknown mode"


def page_count(total: int) -> int:
    return max(1, math.ceil(total / PAGE_SIZE))


def page_entries(entries: Sequence[MatchHistoryEntry], index: int) -> list[MatchHistoryEntry]:
    return list(entries[index * PAGE_SIZE : (index + 1) * PAGE_SIZE])


async def recent_matches(halo: HaloClient, player: Player, count: int) -> list[MatchHistoryEntry]:
    """The player's last ``count`` matchmaking matches, newest first (one request)."""
    history = await halo.get_match_history(player.xuid, count=count)
    entries = list(history.results[:count])
    if not entries:
        raise NoDataError(
            f"**{escape(player.gamertag)}** has no matchmaking matches yet, "
            "or keeps their match history private."
        )
    return entries


async def match_lines(
    halo: HaloClient, xuid: str, entries: Sequence[MatchHistoryEntry]
) -> list[MatchLine]:
    """The details of ``entries``, all matches at once; never raises for a detail."""
    return await gather_all(*(_line(halo, xuid, entry) for entry in entries))


async def _line(halo: HaloClient, xuid: str, entry: MatchHistoryEntry) -> MatchLine:
    (playlist, csr, names_failed), (player, stats_failed) = await gather_pair(
        _names_and_csr(halo, xuid, entry), _optional(_stats_of(halo, xuid, entry))
    )
    playlist_name, map_mode = _names(entry, playlist)
    return MatchLine(
        entry=entry,
        playlist_name=playlist_name,
        map_mode=map_mode,
        kda=Kda.of(player) if player is not None else None,
        csr=csr,
        incomplete=names_failed or stats_failed,
    )


async def _names_and_csr(
    halo: HaloClient, xuid: str, entry: MatchHistoryEntry
) -> tuple[Playlist | None, CsrChange | None, bool]:
    """The playlist version, then (in ranked playlists) the CSR change; and whether Halo
    failed for either."""
    ref = entry.match_info.playlist
    playlist: Playlist | None = None
    failed = False
    if ref is not None and ref.version_id:
        playlist, failed = await _optional(halo.get_playlist_version(ref.asset_id, ref.version_id))
    if playlist is not None:
        ranked = playlist.is_ranked
    else:
        ranked = ref is not None and is_known_ranked(ref.asset_id)
    if not ranked:
        return playlist, None, failed
    skill, skill_failed = await _optional(halo.get_match_skill(entry.match_id, xuid))
    recap = skill.result.rank_recap if skill is not None and skill.result is not None else None
    csr = None
    if recap is not None and recap.pre_match_csr is not None and recap.post_match_csr is not None:
        csr = CsrChange(recap.pre_match_csr, recap.post_match_csr)
    return playlist, csr, failed or skill_failed


async def _stats_of(halo: HaloClient, xuid: str, entry: MatchHistoryEntry) -> MatchPlayer | None:
    stats = await halo.get_match_stats(entry.match_id)
    return stats.player(xuid)


def _names(entry: MatchHistoryEntry, playlist: Playlist | None) -> tuple[str | None, str | None]:
    """Playlist name and map/mode pair name, as far as Halo's data tells them."""
    ref = entry.match_info.playlist
    name = playlist.public_name.strip() if playlist is not None else ""
    if not name and ref is not None:
        name = ranked_playlist_name(ref.asset_id) or ""
    pair = entry.match_info.playlist_map_mode_pair
    map_mode = None
    if playlist is not None and pair is not None:
        rotation = playlist.rotation_entry(pair.asset_id)
        if rotation is not None and rotation.public_name.strip():
            map_mode = _without_prefix(rotation.public_name.strip())
    return name or None, map_mode


def _without_prefix(name: str) -> str:
    """``Ranked:Slayer on Aquarius`` -> ``Slayer on Aquarius`` (the playlist says Ranked)."""
    prefix, sep, rest = name.partition(":")
    return rest.strip() if sep and rest.strip() and " " not in prefix else name


async def _optional(call: Awaitable[T]) -> tuple[T | None, bool]:
    """``(result, False)``; ``(None, False)`` when Halo has nothing; ``(None, True)`` when
    Halo failed (unavailable, limited, unreadable)."""
    try:
        return await call, False
    except NoDataError:
        return None, False
    except UserFacingError as exc:
        log.info("A match detail is unavailable: %s", type(exc).__name__)
        return None, True
