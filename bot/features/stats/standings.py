"""A player's standing in each ranked playlist, the best one, and a service record's top
medals: what ``/csr``, ``/servicerecord`` and ``/compare`` compute from Halo's answers."""

from __future__ import annotations

import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.core.aio import gather_all
from bot.core.playlists import RankedPlaylist
from bot.halo import tiers
from bot.halo.models import CsrResult, MedalMetadata, ServiceRecord

if TYPE_CHECKING:
    from bot.halo.client import HaloClient

#: Told the current-season ranks a lookup fetched: ``(xuid, {playlist id: result})``.
#: Must not block (the rank watcher stores them in the background).
RanksObserver = Callable[[str, dict[str, CsrResult | None]], None]
_observers: weakref.WeakKeyDictionary[HaloClient, RanksObserver] = weakref.WeakKeyDictionary()


def observe_fetched_ranks(halo: HaloClient, observer: RanksObserver) -> None:
    """Hand every lookup's fresh ranks through ``halo`` to ``observer`` (one per client:
    the latest replaces the previous one), so they are stored without another request."""
    _observers[halo] = observer


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
    observer = _observers.get(halo) if season is None else None
    if observer is not None:
        observer(xuid, {p.playlist_id: r for p, r in zip(playlists, results, strict=True)})
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
