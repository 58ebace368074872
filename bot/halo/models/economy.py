"""The economy service (``economy.svc.halowaypoint.com``): a player's Operations and events,
and their public customization (only the service tag: the 4-character tag a player shows in
game and can change at any time, which lets a member prove they own a Halo account)."""

from __future__ import annotations

from pydantic import Field

from bot.halo.models.base import HaloModel, track_id_from_path
from bot.halo.models.types import ListOf, OrDefault, Text


class RewardTrackProgress(HaloModel):
    """A player's place on a reward track."""

    rank: int = 0
    partial_progress: int = 0
    is_owned: bool | None = None
    has_reached_max_rank: bool = False


class PlayerRewardTrack(HaloModel):
    """A player's progress on one Operation or event (``.../rewardtracks/operations/{id}``,
    ``.../rewardtracks/events/{id}``). ``CurrentProgress`` is required: an answer without
    it is not progress at all."""

    reward_track_path: Text = ""
    track_type: str | None = None
    current_progress: OrDefault[RewardTrackProgress]
    previous_progress: RewardTrackProgress | None = None
    is_owned: bool = False
    base_xp: int | None = None
    boost_xp: int | None = None

    @property
    def track_id(self) -> str:
        """``"S07Op01"`` from ``RewardTrackPath``."""
        return track_id_from_path(self.reward_track_path)


class PlayerOperations(HaloModel):
    """``GET economy .../hi/players/xuid(N)/rewardtracks/operations``.
    ``OperationRewardTracks`` is required (it may be null or empty)."""

    active_operation_reward_track_path: str | None = None
    operation_reward_tracks: ListOf[PlayerRewardTrack]
    scheduled_operation_reward_track_path: str | None = None

    def track(self, path_or_id: str) -> PlayerRewardTrack | None:
        """The track with this path or TrackId (case-insensitive), or ``None``."""
        wanted = track_id_from_path(path_or_id).casefold()
        return next(
            (t for t in self.operation_reward_tracks if t.track_id.casefold() == wanted), None
        )

    @property
    def active(self) -> PlayerRewardTrack | None:
        """The Operation the player has selected."""
        path = self.active_operation_reward_track_path
        return self.track(path) if path else None

    @property
    def scheduled(self) -> PlayerRewardTrack | None:
        """The Operation currently scheduled by the game, if the player has it listed."""
        path = self.scheduled_operation_reward_track_path
        return self.track(path) if path else None


class Appearance(HaloModel):
    """``Appearance``: only the service tag is kept."""

    service_tag: Text = ""


class PlayerCustomization(HaloModel):
    """``GET economy /hi/players/xuid(N)/customization?view=public``."""

    appearance: OrDefault[Appearance] = Field(default_factory=Appearance)

    @property
    def service_tag(self) -> str:
        """The tag as the player set it, without surrounding spaces ("" when none)."""
        return self.appearance.service_tag.strip()

    def has_service_tag(self, tag: str) -> bool:
        """Whether the player's service tag is ``tag`` (letter case does not matter)."""
        return bool(tag) and self.service_tag.casefold() == tag.strip().casefold()
