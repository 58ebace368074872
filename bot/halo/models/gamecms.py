"""Static game content: gamecms-hacs files (calendars, seasons, reward tracks, medals,
playlists) and discovery's playlist versions, which have the same shape."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cached_property

from pydantic import Field

from bot.halo.models.base import CamelModel, HaloModel, LocalizedText, track_id_from_path
from bot.halo.models.types import HaloDateTime, ListOf, OrDefault, Text, as_utc
from bot.halo.playlists import is_known_ranked

# -- calendars -------------------------------------------------------------------------


def _active(start: datetime | None, end: datetime | None, at: datetime) -> bool:
    return (start is None or start <= at) and (end is None or at < end)


class CsrSeason(HaloModel):
    """One ranked (CSR) season: ``Csr/Seasons/CsrSeason5-1.json`` and its dates."""

    csr_season_file_path: Text = ""
    start_date: HaloDateTime | None = None
    end_date: HaloDateTime | None = None

    @property
    def season_id(self) -> str:
        """``"CsrSeason5-1"``: the ``season`` parameter of the CSR endpoint."""
        return track_id_from_path(self.csr_season_file_path)


class CsrSeasonCalendar(HaloModel):
    """``/hi/progression/file/Csr/Calendars/CsrSeasonCalendar.json``."""

    seasons: ListOf[CsrSeason] = Field(default_factory=list)

    def current(self, at: datetime | None = None) -> CsrSeason | None:
        """The CSR season running at ``at`` (default now), or ``None``."""
        moment = datetime.now(UTC) if at is None else as_utc(at)
        return next((s for s in self.seasons if _active(s.start_date, s.end_date, moment)), None)


class CalendarSeason(HaloModel):
    """One season/Operation in ``seasoncalendar.json``."""

    csr_season_file_path: str | None = None
    operation_track_path: str | None = None
    season_metadata: str | None = None
    start_date: HaloDateTime | None = None
    end_date: HaloDateTime | None = None

    @property
    def operation_track_id(self) -> str | None:
        """``"S07Op01"`` from ``OperationTrackPath``."""
        return track_id_from_path(self.operation_track_path) if self.operation_track_path else None

    @property
    def csr_season_id(self) -> str | None:
        """``"CsrSeason7-1"`` from ``CsrSeasonFilePath``."""
        return track_id_from_path(self.csr_season_file_path) if self.csr_season_file_path else None


class CalendarEvent(HaloModel):
    """One event (ritual) run in ``seasoncalendar.json``; the same event can run many times."""

    reward_track_path: Text = ""
    start_date: HaloDateTime | None = None
    end_date: HaloDateTime | None = None

    @property
    def track_id(self) -> str:
        """``"ritualWinterGiveaway"`` from ``RewardTrackPath``."""
        return track_id_from_path(self.reward_track_path)


class CareerRankPointer(HaloModel):
    """``CareerRank`` of the season calendar."""

    reward_track_path: Text = ""


class SeasonCalendar(HaloModel):
    """``/hi/progression/file/calendars/seasons/seasoncalendar.json``."""

    seasons: ListOf[CalendarSeason] = Field(default_factory=list)
    events: ListOf[CalendarEvent] = Field(default_factory=list)
    career_rank: CareerRankPointer | None = None


class SeasonMetadata(HaloModel):
    """``/hi/Progression/file/Seasons/{name}.json``: names, date range text and art."""

    date_range: LocalizedText = Field(default_factory=LocalizedText)
    name: LocalizedText = Field(default_factory=LocalizedText)
    description: LocalizedText = Field(default_factory=LocalizedText)
    narrative_blurb: LocalizedText = Field(default_factory=LocalizedText)
    number: int | None = None
    logo: str | None = None
    summary_background_path: str | None = None
    challenges_background_path: str | None = None
    battle_pass_logo_image: str | None = None
    season_logo_image: str | None = None
    ritual_logo_image: str | None = None
    storefront_background_image: str | None = None
    card_background_image: str | None = None
    battle_pass_season_upsell_background_image: str | None = None
    progression_background_image: str | None = None
    season_background_logo: str | None = None


# -- medals ----------------------------------------------------------------------------


class Medal(CamelModel):
    """One medal of ``medals/metadata.json``."""

    name_id: int
    name: LocalizedText = Field(default_factory=LocalizedText)
    description: LocalizedText = Field(default_factory=LocalizedText)
    sorting_weight: int = 0
    personal_score: int = 0


class MedalMetadata(CamelModel):
    """``/hi/Waypoint/file/medals/metadata.json``: every medal's name and description."""

    medals: ListOf[Medal] = Field(default_factory=list)

    @cached_property
    def _by_id(self) -> dict[int, Medal]:
        return {medal.name_id: medal for medal in self.medals}

    def medal(self, name_id: int) -> Medal | None:
        """The medal with ``name_id``, or ``None``."""
        return self._by_id.get(name_id)


# -- reward track files ------------------------------------------------------------------


class CurrencyReward(HaloModel):
    """Currency given at a rank."""

    currency_path: Text = ""
    amount: int = 0


class InventoryReward(HaloModel):
    """An item given at a rank."""

    inventory_item_path: Text = ""
    amount: int = 0
    type: Text = ""


class RewardSet(HaloModel):
    """Free or paid rewards of a rank."""

    inventory_rewards: ListOf[InventoryReward] = Field(default_factory=list)
    currency_rewards: ListOf[CurrencyReward] = Field(default_factory=list)


class RewardTrackRank(HaloModel):
    """One rank of a reward track; the ``Rank*``/``Tier*`` fields are on the career track only."""

    rank: int
    free_rewards: OrDefault[RewardSet] = Field(default_factory=RewardSet)
    paid_rewards: OrDefault[RewardSet] = Field(default_factory=RewardSet)
    xp_required_for_rank: int | None = None
    rank_title: LocalizedText | None = None
    rank_sub_title: LocalizedText | None = None
    rank_tier: LocalizedText | None = None
    rank_icon: str | None = None
    rank_large_icon: str | None = None
    rank_adornment_icon: str | None = None
    tier_type: str | None = None
    rank_grade: int | None = None


class RewardTrack(HaloModel):
    """A reward track file: Operation, event (ritual) or career rank track.

    ``Name``/``Description``/``DateRange`` are plain strings in some files and
    localized objects in others; both read as :class:`LocalizedText`.
    """

    track_id: str | None = None
    name: LocalizedText = Field(default_factory=LocalizedText)
    description: LocalizedText = Field(default_factory=LocalizedText)
    date_range: LocalizedText = Field(default_factory=LocalizedText)
    xp_per_rank: int | None = None
    ranks: ListOf[RewardTrackRank] = Field(default_factory=list)
    operation_number: int | None = None
    is_ritual: bool | None = None
    week_number: int | None = None
    summary_image_path: str | None = None
    background_image_path: str | None = None
    battle_pass_image: str | None = None
    battle_pass_bundle_image: str | None = None

    @property
    def max_rank(self) -> int:
        """The highest rank of the track (0 when it has none)."""
        return max((r.rank for r in self.ranks), default=0)

    def rank(self, number: int) -> RewardTrackRank | None:
        """Rank ``number``, or ``None``."""
        return next((r for r in self.ranks if r.rank == number), None)

    def xp_for_rank(self, number: int) -> int | None:
        """XP needed to complete rank ``number``: its own ``XpRequiredForRank`` or ``XpPerRank``."""
        entry = self.rank(number)
        if entry is not None and entry.xp_required_for_rank is not None:
            return entry.xp_required_for_rank
        return self.xp_per_rank


# -- playlists -------------------------------------------------------------------------


class RotationEntryMetadata(HaloModel):
    """Weight of a map/mode pair in a playlist."""

    weight: float | None = None


class PlaylistRotationEntry(HaloModel):
    """One map/mode pair of a playlist."""

    asset_id: str
    version_id: str | None = None
    public_name: Text = ""
    description: Text = ""
    metadata: RotationEntryMetadata | None = None


class Playlist(HaloModel):
    """A playlist asset: discovery ``/hi/playlists/{id}/versions/{v}`` or gamecms' abridged copy."""

    asset_id: str
    version_id: str | None = None
    public_name: Text = ""
    description: Text = ""
    has_csr: bool | None = None
    rotation_entries: ListOf[PlaylistRotationEntry] = Field(default_factory=list)

    @property
    def is_ranked(self) -> bool:
        """``HasCsr`` when Halo gives it, else whether the id is a known ranked playlist."""
        return self.has_csr if self.has_csr is not None else is_known_ranked(self.asset_id)

    def rotation_entry(self, asset_id: str) -> PlaylistRotationEntry | None:
        """The map/mode pair ``asset_id`` of this playlist version (case-insensitive)."""
        wanted = asset_id.casefold()
        return next((e for e in self.rotation_entries if e.asset_id.casefold() == wanted), None)
