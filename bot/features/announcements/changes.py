"""Pure rank-change decisions: previous snapshot + new CSR + a server's settings -> changes.

Nothing here does I/O, so every rule is easy to test on its own.

Rules (see :func:`detect_changes`):

* **Baseline.** The first observation of a player in a playlist is stored, never announced.
* **Season change.** When the CSR season differs from the previous snapshot's, the new
  observation is a new baseline: a season reset is not a "rank dropped".
* **Back to placement / unranked.** A current value of -1 (placement, a reset, or odd
  data) is never announced; it is stored and becomes the baseline.
* **Placement finished.** -1 with placement matches left -> a value: one ``placement``.
* **Tier / sub-tier.** Both ranked: the tier changed -> ``tier_up``/``tier_down``; only
  the sub-tier changed -> ``sub_tier_up``/``sub_tier_down``.
* **Season high.** Both ranked and Halo's season maximum went up -> ``season_high``.

Missing or failed data never reaches this module: the cycle only builds a snapshot
from a result Halo actually returned.

Snapshots store the *displayed* sub-tier (1..6, 0 when unranked, 1 for Onyx), like
every ``sub_tier`` in :mod:`bot.halo.tiers`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, get_args

from bot.halo import tiers
from bot.halo.models import CsrResult, CsrValue
from bot.halo.playlists import RANKED_PLAYLISTS, ranked_playlist_name
from bot.storage.announcements import announcement_key
from bot.storage.models import GuildSettings, Snapshot, from_db_time, to_db_time

log = logging.getLogger(__name__)

ChangeKind = Literal[
    "tier_up", "tier_down", "sub_tier_up", "sub_tier_down", "placement", "season_high"
]
CHANGE_KINDS: tuple[ChangeKind, ...] = get_args(ChangeKind)
TIER_KINDS: frozenset[ChangeKind] = frozenset({"tier_up", "tier_down"})
SUB_TIER_KINDS: frozenset[ChangeKind] = frozenset({"sub_tier_up", "sub_tier_down"})
UP_KINDS: frozenset[ChangeKind] = frozenset({"tier_up", "sub_tier_up"})
DOWN_KINDS: frozenset[ChangeKind] = frozenset({"tier_down", "sub_tier_down"})
PAYLOAD_VERSION = 1


# --------------------------------------------------------------------------- rank points


@dataclass(frozen=True, slots=True)
class RankPoint:
    """One rank: CSR value (-1 = unranked), tier name and displayed sub-tier."""

    value: int
    tier: str
    sub_tier: int
    matches_remaining: int = 0

    @property
    def ranked(self) -> bool:
        return self.value >= 0

    @property
    def in_placement(self) -> bool:
        return self.value < 0 and self.matches_remaining > 0

    @property
    def key(self) -> tuple[int, int]:
        """Ordinal for comparisons (:func:`bot.halo.tiers.rank_key`); ``(0, 0)`` unranked."""
        if not self.ranked:
            return 0, 0
        return tiers.rank_key(self.tier, self.sub_tier)

    @property
    def display(self) -> str:
        """``"Diamond 4"``, ``"Onyx 1549"`` or ``"Unranked"``."""
        if not self.ranked:
            return tiers.UNRANKED.name
        if tiers.tier_by_name(self.tier) is tiers.ONYX:
            return f"{tiers.ONYX.name} {self.value}"
        return f"{self.tier} {self.sub_tier}"

    @property
    def icon_url(self) -> str:
        if not self.ranked:
            return tiers.icon_url(tiers.UNRANKED, 0)
        return tiers.icon_url(self.tier, self.sub_tier)

    @classmethod
    def from_csr(cls, csr: CsrValue) -> RankPoint:
        tier, sub_tier = tiers.tier_of(csr)
        return cls(csr.value, tier, sub_tier, max(csr.measurement_matches_remaining, 0))

    @classmethod
    def from_snapshot(cls, snapshot: Snapshot) -> RankPoint:
        return cls(snapshot.value, snapshot.tier, snapshot.sub_tier, snapshot.matches_remaining)

    def to_payload(self) -> dict[str, Any]:
        return {
            "value": self.value,
            "tier": self.tier,
            "sub_tier": self.sub_tier,
            "matches_remaining": self.matches_remaining,
        }

    @classmethod
    def from_payload(cls, data: dict[str, Any]) -> RankPoint:
        return cls(
            int(data["value"]),
            str(data["tier"]),
            int(data["sub_tier"]),
            int(data.get("matches_remaining", 0)),
        )


def snapshot_from_result(
    xuid: str, playlist_id: str, season: str | None, result: CsrResult, taken_at: datetime
) -> Snapshot:
    """The snapshot to store for a CSR result Halo returned."""
    point = RankPoint.from_csr(result.current)
    return Snapshot(
        xuid=xuid,
        playlist_id=playlist_id,
        csr_season=season,
        value=max(point.value, -1),
        tier=point.tier if point.ranked else tiers.UNRANKED.name,
        sub_tier=point.sub_tier if point.ranked else 0,
        matches_remaining=point.matches_remaining,
        season_max=None if result.season_max is None else max(result.season_max.value, -1),
        all_time_max=None if result.all_time_max is None else max(result.all_time_max.value, -1),
        taken_at=taken_at,
    )


# --------------------------------------------------------------------------- detection


@dataclass(frozen=True, slots=True)
class RankChange:
    """One announceable change of one player in one playlist (guild-independent)."""

    kind: ChangeKind
    xuid: str
    playlist_id: str
    season: str | None
    old: RankPoint
    new: RankPoint
    old_season_max: int | None = None
    new_season_max: int | None = None
    #: When the snapshot the change starts from was taken (part of the outbox key).
    since: datetime | None = None

    @property
    def delta(self) -> int:
        return self.new.value - self.old.value


Verdict = Literal["baseline", "new_season", "unranked", "placement", "unchanged", "changed"]


def classify(previous: Snapshot | None, current: Snapshot) -> Verdict:
    """Why (not) to announce: the first rule of the module docstring that applies."""
    if previous is None:
        return "baseline"
    if previous.csr_season != current.csr_season:
        return "new_season"
    if current.value < 0:
        return "unranked"
    if previous.value < 0:
        # Only a real placement ends in an announcement; -1 without placement
        # matches left (odd data, a glitch) is a silent re-baseline.
        return "placement" if previous.matches_remaining > 0 else "unranked"
    return "changed" if _ranked_changes(previous, current) else "unchanged"


def detect_changes(previous: Snapshot | None, current: Snapshot) -> list[RankChange]:
    """Every announceable change from ``previous`` to ``current`` (empty when none)."""
    if previous is not None and (
        previous.xuid != current.xuid or previous.playlist_id != current.playlist_id
    ):
        raise ValueError("previous and current snapshots are of different players or playlists")
    verdict = classify(previous, current)
    if previous is None or verdict not in ("placement", "changed"):
        return []
    base = {
        "xuid": current.xuid,
        "playlist_id": current.playlist_id,
        "season": current.csr_season,
        "old": RankPoint.from_snapshot(previous),
        "new": RankPoint.from_snapshot(current),
        "old_season_max": previous.season_max,
        "new_season_max": current.season_max,
        "since": previous.taken_at,
    }
    if verdict == "placement":
        return [RankChange(kind="placement", **base)]
    return [RankChange(kind=kind, **base) for kind in _ranked_changes(previous, current)]


def _ranked_changes(previous: Snapshot, current: Snapshot) -> list[ChangeKind]:
    old, new = RankPoint.from_snapshot(previous), RankPoint.from_snapshot(current)
    found: list[ChangeKind] = []
    movement = tiers.classify_change(old.key, new.key)
    if movement != "same":
        found.append(movement)
    if (
        previous.season_max is not None
        and current.season_max is not None
        and previous.season_max >= 0
        and current.season_max > previous.season_max
    ):
        found.append("season_high")
    return found


# --------------------------------------------------------------------------- per-guild choice


def enabled_playlists(settings: GuildSettings) -> tuple[str, ...]:
    """The playlists a guild announces (``None`` means the default ranked set)."""
    if settings.playlists is None:
        return tuple(RANKED_PLAYLISTS)
    return tuple(p.strip().lower() for p in settings.playlists)


def kind_enabled(kind: ChangeKind, settings: GuildSettings) -> bool:
    """Whether the guild's triggers announce ``kind``.

    "Every sub-tier change" includes the ones that cross a tier, so a tier change is
    announced when either the tier or the sub-tier trigger is on.
    """
    if kind in TIER_KINDS:
        return settings.trigger_tier_change or settings.trigger_subtier_change
    if kind in SUB_TIER_KINDS:
        return settings.trigger_subtier_change
    if kind == "placement":
        return settings.trigger_placement
    return settings.trigger_season_high


def select_for_guild(changes: list[RankChange], settings: GuildSettings) -> list[RankChange]:
    """The changes this guild announces: its playlists and its triggers."""
    playlists = enabled_playlists(settings)
    return [
        c for c in changes if c.playlist_id.lower() in playlists and kind_enabled(c.kind, settings)
    ]


def decide(
    previous: Snapshot | None,
    result: CsrResult | None,
    settings: GuildSettings,
    *,
    xuid: str,
    playlist_id: str,
    season: str | None,
    taken_at: datetime,
) -> list[RankChange]:
    """Everything in one call: what ``settings``' guild announces for this observation.

    ``result`` None (Halo had no answer for the player) is never a change.
    """
    if result is None:
        return []
    current = snapshot_from_result(xuid, playlist_id, season, result, taken_at)
    return select_for_guild(detect_changes(previous, current), settings)


# --------------------------------------------------------------------------- what is queued


@dataclass(frozen=True, slots=True)
class Announcement:
    """What one guild is told about one player in one playlist: the outbox payload."""

    xuid: str
    gamertag: str
    playlist_id: str
    season: str | None
    kinds: tuple[ChangeKind, ...]
    old: RankPoint
    new: RankPoint
    taken_at: datetime
    old_season_max: int | None = None
    new_season_max: int | None = None
    user_ids: tuple[int, ...] = field(default=())
    #: When the snapshot the change starts from was taken (see :meth:`key`).
    since: datetime | None = None

    @property
    def playlist_name(self) -> str:
        return ranked_playlist_name(self.playlist_id) or f"Playlist {self.playlist_id[:8]}"

    @property
    def delta(self) -> int:
        return self.new.value - self.old.value

    @property
    def batch(self) -> str:
        """Announcements of one cycle share a batch: they are grouped into messages."""
        return to_db_time(self.taken_at)

    @classmethod
    def from_changes(
        cls,
        changes: list[RankChange],
        *,
        gamertag: str,
        user_ids: tuple[int, ...],
        taken_at: datetime,
    ) -> Announcement:
        if not changes:
            raise ValueError("an announcement needs at least one change")
        first = changes[0]
        kinds: tuple[ChangeKind, ...] = tuple(
            k for k in CHANGE_KINDS if any(c.kind == k for c in changes)
        )
        return cls(
            xuid=first.xuid,
            gamertag=gamertag,
            playlist_id=first.playlist_id,
            season=first.season,
            kinds=kinds,
            old=first.old,
            new=first.new,
            taken_at=taken_at,
            old_season_max=first.old_season_max,
            new_season_max=first.new_season_max,
            user_ids=tuple(sorted(set(user_ids))),
            since=first.since,
        )

    def key(self, guild_id: int) -> str:
        """The idempotency key of this announcement in ``guild_id``: the change itself
        (player, playlist, season, old -> new, kinds, the snapshot it starts from), not
        when it was seen, so every instance and every restart queues it once."""
        return announcement_key(
            guild_id,
            self.xuid,
            self.playlist_id,
            self.season,
            self.old.value,
            self.new.value,
            self.kinds,
            self.since,
        )

    def to_payload(self) -> dict[str, Any]:
        return {
            "v": PAYLOAD_VERSION,
            "batch": self.batch,
            "xuid": self.xuid,
            "gamertag": self.gamertag,
            "playlist_id": self.playlist_id,
            "season": self.season,
            "kinds": list(self.kinds),
            "old": self.old.to_payload(),
            "new": self.new.to_payload(),
            "old_season_max": self.old_season_max,
            "new_season_max": self.new_season_max,
            "user_ids": [str(u) for u in self.user_ids],
            "taken_at": to_db_time(self.taken_at),
            "since": None if self.since is None else to_db_time(self.since),
        }

    @classmethod
    def from_payload(cls, data: dict[str, Any]) -> Announcement:
        """Inverse of :meth:`to_payload`; ValueError/KeyError/TypeError on a bad payload."""
        kinds = tuple(str(k) for k in data["kinds"])
        unknown = [k for k in kinds if k not in CHANGE_KINDS]
        if unknown or not kinds:
            raise ValueError(f"bad announcement kinds: {kinds!r}")

        def optional_int(value: object) -> int | None:
            return None if value is None else int(value)  # type: ignore[call-overload]

        return cls(
            xuid=str(data["xuid"]),
            gamertag=str(data["gamertag"]),
            playlist_id=str(data["playlist_id"]),
            season=None if data.get("season") is None else str(data["season"]),
            kinds=kinds,  # type: ignore[arg-type]
            old=RankPoint.from_payload(data["old"]),
            new=RankPoint.from_payload(data["new"]),
            taken_at=from_db_time(str(data["taken_at"])),
            old_season_max=optional_int(data.get("old_season_max")),
            new_season_max=optional_int(data.get("new_season_max")),
            user_ids=tuple(int(u) for u in data.get("user_ids", [])),
            since=None if data.get("since") is None else from_db_time(str(data["since"])),
        )
