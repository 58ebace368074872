"""Typed, tolerant models of the Halo Infinite answers the bot reads.

Every model is frozen and ignores fields it does not know, so Halo adding a
field never breaks the bot. Halo spells its keys in PascalCase (the profile
service and the medal file in camelCase); Python attributes are snake_case and
either spelling is accepted on input. Enum-like values (tier names, game
variant categories, outcomes, result codes) stay plain ``str``/``int`` so a
value the game adds later is kept, not rejected; lookup tables give names with
a fallback. Dates are timezone-aware UTC (Halo wraps some as
``{"ISO8601Date": "..."}``: :data:`HaloDateTime` takes both forms) and
durations are ISO 8601 (``P17DT10H55M53.7685509S``) -> ``timedelta``.

Turn raw bytes, text or decoded JSON into a model with :func:`parse` (or the
``parse`` classmethod every model has); anything unreadable becomes
:class:`bot.common.errors.HaloDataError` with a fixed, friendly message.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Annotated, Any, Self, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    RootModel,
    ValidationError,
    model_validator,
)
from pydantic.alias_generators import to_camel, to_pascal

from bot.common.errors import HaloDataError
from bot.halo import tiers
from bot.halo.playlists import is_known_ranked

HALO_DATA_MESSAGE = "Halo returned data we could not read."

M = TypeVar("M", bound=BaseModel)


# -- parsing ---------------------------------------------------------------------------


def parse(model_cls: type[M], raw: bytes | bytearray | memoryview | str | object) -> M:
    """Validate ``raw`` (JSON bytes/text, or already decoded JSON) as ``model_cls``.

    Raises :class:`HaloDataError` (cause chained, no payload in the message) when
    the JSON is malformed or has the wrong shape.
    """
    try:
        if isinstance(raw, memoryview):
            raw = raw.tobytes()
        if isinstance(raw, bytes | bytearray | str):
            return model_cls.model_validate_json(raw)
        return model_cls.model_validate(raw)
    except (ValidationError, ValueError, TypeError, RecursionError) as err:
        raise HaloDataError(HALO_DATA_MESSAGE) from err


# -- reusable field types --------------------------------------------------------------


def _unwrap_iso_date(value: object) -> object:
    """``{"ISO8601Date": "..."}`` -> ``"..."``; anything else unchanged."""
    if isinstance(value, Mapping):
        for key, inner in value.items():
            if isinstance(key, str) and key.casefold() == "iso8601date":
                return inner
        raise ValueError("date object without ISO8601Date")
    return value


def _as_utc(value: datetime) -> datetime:
    """Aware UTC; a naive value is taken to be UTC already."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


#: A UTC datetime given as an ISO 8601 string or wrapped as ``{"ISO8601Date": ...}``.
HaloDateTime = Annotated[datetime, BeforeValidator(_unwrap_iso_date), AfterValidator(_as_utc)]

_NUMBER = r"\d+(?:[.,]\d+)?"
_DURATION_RE = re.compile(
    rf"(?P<sign>[-+])?P(?:(?P<weeks>{_NUMBER})W)?(?:(?P<days>{_NUMBER})D)?"
    rf"(?:T(?:(?P<hours>{_NUMBER})H)?(?:(?P<minutes>{_NUMBER})M)?(?:(?P<seconds>{_NUMBER})S)?)?",
    re.ASCII | re.IGNORECASE,
)
_UNIT_SECONDS = {"weeks": 604800, "days": 86400, "hours": 3600, "minutes": 60, "seconds": 1}


def parse_duration(text: str) -> timedelta:
    """Parse an ISO 8601 duration of weeks, days, hours, minutes and seconds.

    ``"P17DT10H55M53.7685509S"``, ``"PT0S"``, ``"PT1H55M54S"``, ``"-PT5S"``.
    Fractions are rounded to the microsecond. Years and months are rejected
    (their length is ambiguous; .NET, which Halo runs on, never writes them).
    ``ValueError`` for anything else.
    """
    stripped = text.strip()
    match = _DURATION_RE.fullmatch(stripped)
    if not match or stripped.upper().endswith(("P", "T")):
        raise ValueError(f"not an ISO 8601 duration: {text[:40]!r}")
    # Exact integer arithmetic (Decimal is slow here): every part as digits / 10**places.
    numerator, places = 0, 0
    for unit, seconds in _UNIT_SECONDS.items():
        part = match.group(unit)
        if part is not None:
            whole, _, fraction = part.replace(",", ".").partition(".")
            if len(fraction) > places:
                numerator *= 10 ** (len(fraction) - places)
                places = len(fraction)
            scaled = int(whole + fraction) * 10 ** (places - len(fraction))
            numerator += scaled * seconds
    micros, rest = divmod(numerator * 1_000_000, 10**places)
    twice = 2 * rest
    if twice > 10**places or (twice == 10**places and micros % 2):  # round half to even
        micros += 1
    if match.group("sign") == "-":
        micros = -micros
    try:
        return timedelta(microseconds=micros)
    except OverflowError as err:
        raise ValueError("duration out of range") from err


def _duration(value: object) -> object:
    if value is None:
        return timedelta(0)
    if isinstance(value, str):
        return parse_duration(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return timedelta(seconds=value)
    return value


#: A ``timedelta`` given as an ISO 8601 duration string (or a number of seconds); null is 0.
HaloDuration = Annotated[timedelta, BeforeValidator(_duration)]


def _null_to_empty(value: object) -> object:
    return "" if value is None else value


#: A string where Halo may send ``null`` for "nothing": ``None`` becomes ``""``.
Text = Annotated[str, BeforeValidator(_null_to_empty)]


def _none_to_list(value: object) -> object:
    return [] if value is None else value


def _none_to_dict(value: object) -> object:
    return {} if value is None else value


T = TypeVar("T")

#: A list where Halo may send ``null`` for "none": ``None`` becomes ``[]``.
ListOf = Annotated[list[T], BeforeValidator(_none_to_list)]
#: A sub-object where Halo may send ``null``: ``None`` becomes its defaults.
OrDefault = Annotated[T, BeforeValidator(_none_to_dict)]


def _xuid_text(value: object) -> object:
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str):
        text = value.strip()
        if text.lower().startswith("xuid(") and text.endswith(")"):
            text = text[5:-1]
        return text
    return value


#: A XUID as bare decimal digits; accepts ints and ``xuid(N)``.
Xuid = Annotated[str, BeforeValidator(_xuid_text), Field(pattern=r"^[0-9]{1,20}$")]


def track_id_from_path(path: str) -> str:
    """``"RewardTracks/Operations/S07Op01.json"`` -> ``"S07Op01"``."""
    name = path.strip().replace("\\", "/").rsplit("/", 1)[-1]
    if name.lower().endswith(".json"):
        name = name[: -len(".json")]
    return name


# -- base classes ----------------------------------------------------------------------


class HaloModel(BaseModel):
    """Base of every model: frozen, unknown fields ignored, PascalCase aliases."""

    model_config = ConfigDict(
        frozen=True,
        extra="ignore",
        alias_generator=to_pascal,
        populate_by_name=True,
    )

    @classmethod
    def parse(cls, raw: bytes | bytearray | memoryview | str | object) -> Self:
        """:func:`parse` for this model."""
        return parse(cls, raw)


class CamelModel(HaloModel):
    """Models of the services that spell keys in camelCase (profile, medal metadata)."""

    model_config = ConfigDict(alias_generator=to_camel)


class LocalizedText(BaseModel):
    """A CMS string: ``{"status", "value", "translations"}``, or a plain string."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    value: Text = ""
    status: str | None = None
    translations: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _plain(cls, data: Any) -> Any:
        if data is None:
            return {}
        if isinstance(data, str):
            return {"value": data}
        return data

    def __str__(self) -> str:
        return self.value

    def get(self, locale: str | None = None) -> str:
        """The text in ``locale`` (case-insensitive) when translated, else the default value."""
        if locale:
            wanted = locale.casefold()
            for key, text in self.translations.items():
                if key.casefold() == wanted and text:
                    return text
        return self.value


# -- profile ---------------------------------------------------------------------------


class Gamerpic(CamelModel):
    """Gamerpic URLs in four sizes."""

    small: str | None = None
    medium: str | None = None
    large: str | None = None
    xlarge: str | None = None


class ProfileUser(CamelModel):
    """``GET /users/gt({gamertag})``, ``/users/me`` and each entry of ``/users?xuids=``."""

    xuid: Xuid
    gamertag: str
    gamerpic: Gamerpic | None = None

    @property
    def player_id(self) -> str:
        """``xuid(N)``."""
        return f"xuid({self.xuid})"


class ProfileUsers(RootModel[list[ProfileUser]]):
    """``GET /users?xuids=1,2,3``: a JSON array of users."""

    model_config = ConfigDict(frozen=True)

    @classmethod
    def parse(cls, raw: bytes | bytearray | memoryview | str | object) -> Self:
        """:func:`parse` for this model."""
        return parse(cls, raw)

    def __iter__(self) -> Iterator[ProfileUser]:  # type: ignore[override]
        return iter(self.root)

    def __len__(self) -> int:
        return len(self.root)

    def __getitem__(self, index: int) -> ProfileUser:
        return self.root[index]


class XboxProfileSetting(CamelModel):
    """One ``{"id", "value"}`` pair of an Xbox profile."""

    id: str
    value: Text = ""


class XboxProfileUser(CamelModel):
    """One user of the Xbox profile service (``profileUsers[]``)."""

    id: str
    host_id: str | None = None
    settings: ListOf[XboxProfileSetting] = Field(default_factory=list)
    is_sponsored_user: bool = False

    def setting(self, name: str) -> str | None:
        """The value of setting ``name`` (e.g. ``Gamertag``), or ``None``."""
        return next((s.value for s in self.settings if s.id == name), None)


class XboxProfiles(CamelModel):
    """Xbox profile settings batch answer (``get_profiles.json``)."""

    profile_users: ListOf[XboxProfileUser] = Field(default_factory=list)


# -- CSR -------------------------------------------------------------------------------


class CsrValue(HaloModel):
    """One CSR block (``Current``, ``SeasonMax`` or ``AllTimeMax``). ``Value`` -1 = unranked.

    ``sub_tier`` is the API's 0-based number: use :attr:`display_sub_tier` to show it.
    """

    value: int = -1
    measurement_matches_remaining: int = 0
    tier: Text = ""
    tier_start: int = 0
    sub_tier: int = 0
    next_tier: Text = ""
    next_tier_start: int = 0
    next_sub_tier: int = 0
    initial_measurement_matches: int = 0
    demotion_protection_matches_remaining: int | None = None
    initial_demotion_protection_matches: int | None = None

    @property
    def has_value(self) -> bool:
        """True once placement is over and there is a CSR."""
        return self.value >= 0

    @property
    def in_placement(self) -> bool:
        """True while placement matches remain."""
        return tiers.in_placement(self)

    @property
    def placement_matches_played(self) -> int:
        """Initial - Remaining placement matches."""
        return tiers.placement_matches_played(self)

    @property
    def display_sub_tier(self) -> int:
        """The 1-based sub-tier shown in game (0 when unranked)."""
        return tiers.tier_of(self)[1]

    @property
    def display_name(self) -> str:
        """``"Diamond 4"``, ``"Onyx 1549"`` or ``"Unranked"``."""
        return tiers.display_name(self)

    @property
    def icon_url(self) -> str:
        """The tier art URL."""
        return tiers.icon_url_for(self)


class CsrResult(HaloModel):
    """``Result`` of one player: current, season best and all-time best CSR."""

    current: OrDefault[CsrValue] = Field(default_factory=CsrValue)
    season_max: CsrValue | None = None
    all_time_max: CsrValue | None = None

    @property
    def is_ranked(self) -> bool:
        """True when the player has a current CSR (placement done) in this playlist."""
        return self.current.has_value


class PlayerCsr(HaloModel):
    """One ``Value[]`` entry: ``Id`` (``xuid(N)``), ``ResultCode`` (0 = ok) and ``Result``."""

    id: str
    result_code: int | str = 0
    result: CsrResult | None = None

    @property
    def ok(self) -> bool:
        """True when Halo answered for this player."""
        return self.result_code == 0 and self.result is not None

    @property
    def xuid(self) -> str | None:
        """The XUID digits of :attr:`id`, or ``None`` if it is not a XUID."""
        text = _xuid_text(self.id)
        return text if isinstance(text, str) and re.fullmatch(r"[0-9]{1,20}", text) else None


class PlaylistCsr(HaloModel):
    """``GET skill .../hi/playlist/{id}/csrs?players=...``. ``Value`` is required: an
    answer without it is not a CSR answer at all."""

    value: ListOf[PlayerCsr]

    def for_player(self, xuid: str | int) -> PlayerCsr | None:
        """The entry for ``xuid`` (``123`` or ``xuid(123)``), or ``None``."""
        wanted = _xuid_text(xuid)
        return next((entry for entry in self.value if entry.xuid == wanted), None)


# -- calendars -------------------------------------------------------------------------


def _active(start: datetime | None, end: datetime | None, at: datetime) -> bool:
    return (start is None or start <= at) and (end is None or at < end)


def _moment(at: datetime | None) -> datetime:
    return datetime.now(UTC) if at is None else _as_utc(at)


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
        moment = _moment(at)
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

    def current_season(self, at: datetime | None = None) -> CalendarSeason | None:
        """The season/Operation running at ``at`` (default now), or ``None``."""
        moment = _moment(at)
        return next((s for s in self.seasons if _active(s.start_date, s.end_date, moment)), None)

    def active_events(self, at: datetime | None = None) -> list[CalendarEvent]:
        """Events running at ``at`` (default now)."""
        moment = _moment(at)
        return [e for e in self.events if _active(e.start_date, e.end_date, moment)]


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


# -- service record --------------------------------------------------------------------


class MedalCount(HaloModel):
    """A medal (or personal score) earned: ``NameId``, ``Count``, score awarded."""

    name_id: int
    count: int = 0
    total_personal_score_awarded: int = 0


class CoreStats(HaloModel):
    """Stats every mode has."""

    score: int = 0
    personal_score: int = 0
    rounds_won: int = 0
    rounds_lost: int = 0
    rounds_tied: int = 0
    kills: int = 0
    deaths: int = 0
    assists: int = 0
    average_kda: float = Field(default=0.0, alias="AverageKDA")
    suicides: int = 0
    betrayals: int = 0
    grenade_kills: int = 0
    headshot_kills: int = 0
    melee_kills: int = 0
    power_weapon_kills: int = 0
    shots_fired: int = 0
    shots_hit: int = 0
    accuracy: float = 0.0
    damage_dealt: int = 0
    damage_taken: int = 0
    callout_assists: int = 0
    vehicle_destroys: int = 0
    driver_assists: int = 0
    hijacks: int = 0
    emp_assists: int = 0
    max_killing_spree: int = 0
    medals: ListOf[MedalCount] = Field(default_factory=list)
    personal_scores: ListOf[MedalCount] = Field(default_factory=list)
    spawns: int = 0
    objectives_completed: int = 0
    average_life_duration: HaloDuration | None = None


class CaptureTheFlagStats(HaloModel):
    """CTF stats."""

    flag_capture_assists: int = 0
    flag_captures: int = 0
    flag_carriers_killed: int = 0
    flag_grabs: int = 0
    flag_returners_killed: int = 0
    flag_returns: int = 0
    flag_secures: int = 0
    flag_steals: int = 0
    kills_as_flag_carrier: int = 0
    kills_as_flag_returner: int = 0
    time_as_flag_carrier: HaloDuration = timedelta(0)


class EliminationStats(HaloModel):
    """Elimination/Attrition stats."""

    allies_revived: int = 0
    elimination_assists: int = 0
    eliminations: int = 0
    enemy_revives_denied: int = 0
    executions: int = 0
    kills_as_last_player_standing: int = 0
    last_players_standing_killed: int = 0
    rounds_survived: int = 0
    times_revived_by_ally: int = 0


class ExtractionStats(HaloModel):
    """Extraction stats."""

    successful_extractions: int = 0
    extraction_conversions_denied: int = 0
    extraction_conversions_completed: int = 0
    extraction_initiations_denied: int = 0
    extraction_initiations_completed: int = 0


class InfectionStats(HaloModel):
    """Infection stats."""

    alphas_killed: int = 0
    spartans_infected: int = 0
    spartans_infected_as_alpha: int = 0
    kills_as_last_spartan_standing: int = 0
    last_spartans_standing_infected: int = 0
    rounds_as_alpha: int = 0
    rounds_as_last_spartan_standing: int = 0
    rounds_finished_as_infected: int = 0
    rounds_survived_as_spartan: int = 0
    rounds_survived_as_last_spartan_standing: int = 0
    time_as_last_spartan_standing: HaloDuration = timedelta(0)
    infected_killed: int = 0


class OddballStats(HaloModel):
    """Oddball stats."""

    kills_as_skull_carrier: int = 0
    longest_time_as_skull_carrier: HaloDuration = timedelta(0)
    skull_carriers_killed: int = 0
    skull_grabs: int = 0
    time_as_skull_carrier: HaloDuration = timedelta(0)
    skull_scoring_ticks: int = 0


class ZonesStats(HaloModel):
    """Strongholds/King of the Hill stats."""

    zone_captures: int = 0
    zone_defensive_kills: int = 0
    zone_offensive_kills: int = 0
    zone_secures: int = 0
    total_zone_occupation_time: HaloDuration = timedelta(0)
    zone_scoring_ticks: int = 0


class StockpileStats(HaloModel):
    """Stockpile stats."""

    kills_as_power_seed_carrier: int = 0
    power_seed_carriers_killed: int = 0
    power_seeds_deposited: int = 0
    power_seeds_stolen: int = 0
    time_as_power_seed_carrier: HaloDuration = timedelta(0)
    time_as_power_seed_driver: HaloDuration = timedelta(0)


class PvpStats(HaloModel):
    """Kills, deaths and assists against players."""

    kills: int = 0
    deaths: int = 0
    assists: int = 0


class PveStats(HaloModel):
    """Kills, deaths and assists against AI."""

    kills: int = 0
    deaths: int = 0
    assists: int = 0
    marine_kills: int = 0
    grunt_kills: int = 0
    jackal_kills: int = 0
    elite_kills: int = 0
    brute_kills: int = 0
    hunter_kills: int = 0
    skimmer_kills: int = 0
    sentinel_kills: int = 0
    boss_kills: int = 0


class ServiceRecordSubqueries(HaloModel):
    """What the record covers; every list is ``None`` for an empty record."""

    season_ids: list[str] | None = None
    game_variant_categories: list[int | str] | None = None
    is_ranked: list[bool] | None = None
    playlist_asset_ids: list[str] | None = None
    gameplay_interactions: list[int | str] | None = None


def _ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


class ServiceRecord(HaloModel):
    """``GET halostats .../hi/players/{player}/Matchmade/servicerecord``.

    The mode blocks (CTF, Oddball, ...) are ``None`` when Halo leaves them out.
    Rates are percentages (0-100) and ``None`` when there is nothing to divide by.
    """

    subqueries: OrDefault[ServiceRecordSubqueries] = Field(default_factory=ServiceRecordSubqueries)
    time_played: HaloDuration = timedelta(0)
    #: Required: an answer without it is not a service record (even an empty one has 0).
    matches_completed: int
    wins: int = 0
    losses: int = 0
    ties: int = 0
    core_stats: OrDefault[CoreStats] = Field(default_factory=CoreStats)
    capture_the_flag_stats: CaptureTheFlagStats | None = None
    elimination_stats: EliminationStats | None = None
    extraction_stats: ExtractionStats | None = None
    infection_stats: InfectionStats | None = None
    oddball_stats: OddballStats | None = None
    zones_stats: ZonesStats | None = None
    stockpile_stats: StockpileStats | None = None
    pvp_stats: PvpStats | None = None
    pve_stats: PveStats | None = None

    @property
    def is_empty(self) -> bool:
        """True when the player has no completed match in this record."""
        return self.matches_completed == 0

    @property
    def kd_ratio(self) -> float:
        """Kills per death (kills when there are no deaths)."""
        stats = self.core_stats
        return stats.kills / stats.deaths if stats.deaths else float(stats.kills)

    @property
    def average_kda(self) -> float:
        """Halo's own average KDA per match."""
        return self.core_stats.average_kda

    @property
    def win_rate(self) -> float | None:
        """Wins per completed match, in percent."""
        rate = _ratio(self.wins, self.matches_completed)
        return None if rate is None else rate * 100

    @property
    def accuracy(self) -> float | None:
        """Shots hit per shot fired, in percent (Halo's ``Accuracy``)."""
        if not self.core_stats.shots_fired:
            return None
        return self.core_stats.accuracy

    @property
    def headshot_rate(self) -> float | None:
        """Headshot kills per kill, in percent."""
        rate = _ratio(self.core_stats.headshot_kills, self.core_stats.kills)
        return None if rate is None else rate * 100

    @property
    def damage_ratio(self) -> float | None:
        """Damage dealt per damage taken."""
        return _ratio(self.core_stats.damage_dealt, self.core_stats.damage_taken)

    @property
    def kills_per_match(self) -> float | None:
        """Average kills per completed match."""
        return _ratio(self.core_stats.kills, self.matches_completed)

    def medal_count(self, name_id: int) -> int:
        """How many times the medal ``name_id`` was earned."""
        return sum(m.count for m in self.core_stats.medals if m.name_id == name_id)

    @property
    def total_medals(self) -> int:
        """All medals earned."""
        return sum(m.count for m in self.core_stats.medals)


# -- medals ----------------------------------------------------------------------------


class MedalSprite(CamelModel):
    """One medal sprite sheet: image path, columns per row and cell size in pixels."""

    path: Text = ""
    columns: int = 16
    size: int = 0


class Medal(CamelModel):
    """One medal of ``medals/metadata.json``."""

    name_id: int
    name: LocalizedText = Field(default_factory=LocalizedText)
    description: LocalizedText = Field(default_factory=LocalizedText)
    sprite_index: int = -1
    sorting_weight: int = 0
    difficulty_index: int = 0
    type_index: int = 0
    personal_score: int = 0


class MedalMetadata(CamelModel):
    """``/hi/Waypoint/file/medals/metadata.json``: medals, difficulty and type names, sprites."""

    difficulties: ListOf[str] = Field(default_factory=list)
    types: ListOf[str] = Field(default_factory=list)
    sprites: dict[str, MedalSprite] = Field(default_factory=dict)
    medals: ListOf[Medal] = Field(default_factory=list)

    @cached_property
    def _by_id(self) -> dict[int, Medal]:
        return {medal.name_id: medal for medal in self.medals}

    def medal(self, name_id: int) -> Medal | None:
        """The medal with ``name_id``, or ``None``."""
        return self._by_id.get(name_id)

    def difficulty(self, medal: Medal) -> str:
        """``"legendary"`` etc.; ``"unknown"`` for an index out of range."""
        return _index(self.difficulties, medal.difficulty_index)

    def medal_type(self, medal: Medal) -> str:
        """``"spree"`` etc.; ``"unknown"`` for an index out of range."""
        return _index(self.types, medal.type_index)

    def sprite_box(self, medal: Medal, size: str = "small") -> tuple[str, int, int, int] | None:
        """``(sheet path, x, y, cell size)`` of the medal's image, or ``None``."""
        sheet = self.sprites.get(size)
        if sheet is None or medal.sprite_index < 0 or sheet.columns <= 0 or sheet.size <= 0:
            return None
        row, column = divmod(medal.sprite_index, sheet.columns)
        return sheet.path, column * sheet.size, row * sheet.size, sheet.size


def _index(names: list[str], index: int) -> str:
    return names[index] if 0 <= index < len(names) else "unknown"


# -- Operations, events, career rank ---------------------------------------------------


class RewardTrackProgress(HaloModel):
    """A player's place on a reward track."""

    rank: int = 0
    partial_progress: int = 0
    is_owned: bool | None = None
    has_reached_max_rank: bool = False


class PlayerRewardTrack(HaloModel):
    """A player's progress on one Operation or event (economy ``.../rewardtracks/...``).
    ``CurrentProgress`` is required: an answer without it is not progress at all."""

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


#: ``GET economy .../rewardtracks/operations/{TrackId}``.
PlayerOperationProgress = PlayerRewardTrack
#: ``GET economy .../rewardtracks/events/{TrackId}``.
PlayerEventProgress = PlayerRewardTrack


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


class PlayerCareerRank(HaloModel):
    """``GET economy .../rewardtracks/careerranks/careerrank1``."""

    current_progress: OrDefault[RewardTrackProgress] = Field(default_factory=RewardTrackProgress)
    spartan_id: str | None = None


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


# -- playlists and matches -------------------------------------------------------------


class AssetRef(HaloModel):
    """A reference to a UGC asset (map, mode, playlist) and its version."""

    asset_kind: int | str | None = None
    asset_id: str
    version_id: str | None = None


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
    tags: ListOf[Any] = Field(default_factory=list)
    rotation_entries: ListOf[PlaylistRotationEntry] = Field(default_factory=list)

    @property
    def is_ranked(self) -> bool:
        """``HasCsr`` when Halo gives it, else whether the id is a known ranked playlist."""
        return self.has_csr if self.has_csr is not None else is_known_ranked(self.asset_id)

    def rotation_entry(self, asset_id: str) -> PlaylistRotationEntry | None:
        """The map/mode pair ``asset_id`` of this playlist version (case-insensitive)."""
        wanted = asset_id.casefold()
        return next((e for e in self.rotation_entries if e.asset_id.casefold() == wanted), None)


#: Match outcome codes -> names (unknown codes read "Unknown").
OUTCOMES: Mapping[int, str] = {
    1: "Tie",
    2: "Win",
    3: "Loss",
    4: "Did not finish",
    5: "Did not start",
}

#: Game variant category codes -> names (unknown codes read "Unknown").
GAME_VARIANT_CATEGORIES: Mapping[int, str] = {
    6: "Slayer",
    7: "Attrition",
    8: "Elimination",
    9: "Fiesta",
    11: "Strongholds",
    12: "Bastion",
    14: "Total Control",
    15: "Capture the Flag",
    16: "Assault",
    17: "Extraction",
    18: "Oddball",
    19: "Stockpile",
    20: "Juggernaut",
    23: "Escort",
    24: "Gun Game",
    25: "Grifball",
    39: "Land Grab",
}


def _name(table: Mapping[int, str], code: int | str) -> str:
    if isinstance(code, str):
        return code or "Unknown"
    return table.get(code, "Unknown")


class MatchInfo(HaloModel):
    """When, where and what a match was."""

    start_time: HaloDateTime
    end_time: HaloDateTime | None = None
    duration: HaloDuration | None = None
    lifecycle_mode: int | str | None = None
    game_variant_category: int | str | None = None
    level_id: str | None = None
    map_variant: AssetRef | None = None
    ugc_game_variant: AssetRef | None = None
    clearance_id: str | None = None
    playlist: AssetRef | None = None
    playlist_experience: int | str | None = None
    playlist_map_mode_pair: AssetRef | None = None
    season_id: str | None = None
    playable_duration: HaloDuration | None = None
    teams_enabled: bool | None = None
    team_scoring_enabled: bool | None = None
    gameplay_interaction: int | str | None = None

    @property
    def game_variant_name(self) -> str:
        """``"Slayer"``, ``"Capture the Flag"`` ..., ``"Unknown"`` for new categories."""
        if self.game_variant_category is None:
            return "Unknown"
        return _name(GAME_VARIANT_CATEGORIES, self.game_variant_category)


class MatchHistoryEntry(HaloModel):
    """One match of a player's history."""

    match_id: str
    match_info: MatchInfo
    last_team_id: int | None = None
    outcome: int | str = 0
    rank: int | None = None
    present_at_end_of_match: bool | None = None

    @property
    def outcome_name(self) -> str:
        """``"Win"``, ``"Loss"``, ``"Tie"`` ..., ``"Unknown"`` for new codes."""
        return _name(OUTCOMES, self.outcome)


class MatchHistory(HaloModel):
    """``GET halostats .../hi/players/xuid(N)/matches``."""

    start: int = 0
    count: int = 0
    result_count: int = 0
    results: ListOf[MatchHistoryEntry] = Field(default_factory=list)


class MatchCount(HaloModel):
    """``GET halostats .../hi/players/xuid(N)/matches/count``."""

    custom_matches_played_count: int = 0
    matches_played_count: int = 0
    matchmade_matches_played_count: int = 0
    local_matches_played_count: int = 0


# -- one match: stats and skill ----------------------------------------------------------


def _xuid_digits(player_id: str) -> str | None:
    text = _xuid_text(player_id)
    return text if isinstance(text, str) and re.fullmatch(r"[0-9]{1,20}", text) else None


class TeamStatsBlock(HaloModel):
    """``Stats`` of one ``PlayerTeamStats[]`` entry (mode blocks are left out)."""

    core_stats: OrDefault[CoreStats] = Field(default_factory=CoreStats)


class PlayerTeamStats(HaloModel):
    """A player's stats while on one team (a player moved between teams has several)."""

    team_id: int | None = None
    stats: OrDefault[TeamStatsBlock] = Field(default_factory=TeamStatsBlock)


class MatchPlayer(HaloModel):
    """One ``Players[]`` entry of a match's stats."""

    player_id: str
    player_type: int | str | None = None
    last_team_id: int | None = None
    outcome: int | str = 0
    rank: int | None = None
    player_team_stats: ListOf[PlayerTeamStats] = Field(default_factory=list)

    @property
    def xuid(self) -> str | None:
        """The XUID digits of :attr:`player_id`; ``None`` for bots."""
        return _xuid_digits(self.player_id)

    @property
    def kills(self) -> int:
        return sum(t.stats.core_stats.kills for t in self.player_team_stats)

    @property
    def deaths(self) -> int:
        return sum(t.stats.core_stats.deaths for t in self.player_team_stats)

    @property
    def assists(self) -> int:
        return sum(t.stats.core_stats.assists for t in self.player_team_stats)


class MatchStats(HaloModel):
    """``GET halostats .../hi/matches/{matchId}/stats``. ``Players`` is required."""

    match_id: str
    match_info: MatchInfo | None = None
    teams: ListOf[Any] = Field(default_factory=list)
    players: ListOf[MatchPlayer]

    def player(self, xuid: str | int) -> MatchPlayer | None:
        """The entry of ``xuid`` (``123`` or ``xuid(123)``), or ``None``."""
        wanted = _xuid_text(xuid)
        return next((p for p in self.players if p.xuid == wanted), None)


class RankRecap(HaloModel):
    """A player's CSR before and after a ranked match."""

    pre_match_csr: CsrValue | None = None
    post_match_csr: CsrValue | None = None


class MatchSkillResult(HaloModel):
    """One player's skill answer for a match; ``RankRecap`` only in ranked playlists."""

    team_id: int | None = None
    team_mmr: float | None = None
    rank_recap: RankRecap | None = None


class PlayerMatchSkill(HaloModel):
    """One ``Value[]`` entry of a match's skill answer."""

    id: str
    result_code: int | str = 0
    result: MatchSkillResult | None = None

    @property
    def ok(self) -> bool:
        """True when Halo answered for this player."""
        return self.result_code == 0 and self.result is not None

    @property
    def xuid(self) -> str | None:
        return _xuid_digits(self.id)


class MatchSkill(HaloModel):
    """``GET skill .../hi/matches/{matchId}/skill?players=...``. ``Value`` is required."""

    value: ListOf[PlayerMatchSkill]

    def for_player(self, xuid: str | int) -> PlayerMatchSkill | None:
        """The entry for ``xuid`` (``123`` or ``xuid(123)``), or ``None``."""
        wanted = _xuid_text(xuid)
        return next((entry for entry in self.value if entry.xuid == wanted), None)
