"""Adaptive polling: how soon each tracked player is checked again in each playlist.

A player is checked every cycle while their rank changes (or someone looked them up),
then less and less often while it stays the same: the wait after a check is about as
long as they have been quiet (so it doubles from one cycle: 5, 10, 20, 40 minutes with
the default ``RANK_POLL_SECONDS``), never more than :data:`MAX_INTERVAL`. A playlist the
player never played (not ranked, no placement match, no best) keeps doubling up to the
slow sweep, :data:`SLOW_SWEEP`, and a lookup does not bring it back to every cycle.

Each wait is shortened by a random 0-25% so that players first seen together do not
stay due together. The longest delay before a returning player's first change is
checked is therefore :data:`MAX_INTERVAL` plus one cycle (the check falls due between
two cycles and runs at the next).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.halo import tiers
from bot.halo.models import CsrResult
from bot.storage.models import Snapshot
from bot.storage.schedule import PollSlot

#: The longest wait between two checks of one player in a playlist they have played.
MAX_INTERVAL = timedelta(minutes=60)
#: The longest wait in a playlist they never played (the slow sweep): nothing there can
#: change before they play it, and their first placement match is seen within this.
SLOW_SWEEP = timedelta(hours=3)
#: Each wait is multiplied by a random factor in this range (spreads the checks).
JITTER = (0.75, 1.0)


def never_played(result: CsrResult) -> bool:
    """Not ranked, no placement match played, no season or all-time best."""
    current = result.current
    if current.has_value or tiers.placement_matches_played(current) > 0:
        return False
    return not any(m is not None and m.has_value for m in (result.season_max, result.all_time_max))


def rank_moved(before: Snapshot | None, current: Snapshot) -> bool:
    """Activity: the player's rank (CSR, tier or placement progress) differs from the last
    one stored. A new season alone is not activity."""
    if before is None:
        return True
    return (before.value, before.tier, before.sub_tier, before.matches_remaining) != (
        current.value,
        current.tier,
        current.sub_tier,
        current.matches_remaining,
    )


@dataclass
class PollPolicy:
    """Chooses the next check. ``adaptive=False``: every player every cycle."""

    adaptive: bool = True
    max_interval: timedelta = MAX_INTERVAL
    slow_sweep: timedelta = SLOW_SWEEP
    jitter: tuple[float, float] = JITTER
    random: Callable[[], float] = field(default_factory=lambda: random.Random().random)

    def after_check(
        self,
        xuid: str,
        playlist_id: str,
        now: datetime,
        previous: PollSlot | None,
        *,
        active: bool,
        unplayed: bool = False,
    ) -> PollSlot:
        """The slot after a check at ``now``; ``active``: the rank moved (or first check);
        ``unplayed``: the player never played this playlist."""
        last_active = now if active or previous is None else min(previous.last_active, now)
        quiet = min(now - last_active, self.slow_sweep if unplayed else self.max_interval)
        low, high = self.jitter
        wait = quiet * (low + (high - low) * self.random())
        seconds = int(wait.total_seconds())
        return PollSlot(xuid, playlist_id, last_active, seconds, now + timedelta(seconds=seconds))

    def after_lookup(self, xuid: str, playlist_id: str, now: datetime) -> PollSlot:
        """Someone looked the player up: check them every cycle again."""
        return PollSlot(xuid, playlist_id, now, 0, now)
