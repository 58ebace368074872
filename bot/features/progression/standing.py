"""Where a player is on one Operation or event: rank x of max, XP into the rank, ownership."""

from __future__ import annotations

from dataclasses import dataclass

from bot.features.progression.catalogue import TrackInfo
from bot.halo.models import PlayerRewardTrack


@dataclass(frozen=True)
class Standing:
    """Where a player is on one track: ``progress`` is None when they never took part."""

    info: TrackInfo
    progress: PlayerRewardTrack | None

    @property
    def rank(self) -> int:
        return self.progress.current_progress.rank if self.progress else 0

    @property
    def max_rank(self) -> int:
        return self.info.max_rank

    @property
    def partial_xp(self) -> int:
        return self.progress.current_progress.partial_progress if self.progress else 0

    @property
    def complete(self) -> bool:
        if self.progress is None:
            return False
        if self.progress.current_progress.has_reached_max_rank:
            return True
        return self.max_rank > 0 and self.rank >= self.max_rank

    @property
    def played(self) -> bool:
        """Any rank or XP earned at all."""
        return self.progress is not None and (self.rank > 0 or self.partial_xp > 0 or self.complete)

    @property
    def owned(self) -> bool:
        """The premium (paid) track is owned."""
        if self.progress is None:
            return False
        return self.progress.is_owned or bool(self.progress.current_progress.is_owned)

    @property
    def xp_needed(self) -> int | None:
        """XP of the rank being worked on (``XpPerRank``), None when complete or unknown."""
        if self.complete:
            return None
        return self.info.xp_for_rank(self.rank + 1)

    @property
    def percent(self) -> int | None:
        if self.complete:
            return 100
        if self.max_rank <= 0:
            return None
        return min(100, int(self.rank * 100 / self.max_rank))
