"""The stats service (``halostats.svc.halowaypoint.com``): service records, match
history and one match's stats."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

from pydantic import Field

from bot.halo.models.base import HaloModel
from bot.halo.models.types import (
    HaloDateTime,
    HaloDuration,
    ListOf,
    OrDefault,
    xuid_digits,
    xuid_text,
)

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
    spawns: int = 0
    objectives_completed: int = 0
    average_life_duration: HaloDuration | None = None


class ServiceRecord(HaloModel):
    """``GET halostats .../hi/players/{player}/Matchmade/servicerecord``.

    Only what the bot shows is read: the totals and the core stats with their medals
    (the per-mode blocks, personal scores and subqueries are skipped). Rates are
    percentages (0-100) and ``None`` when there is nothing to divide by.
    """

    time_played: HaloDuration = timedelta(0)
    #: Required: an answer without it is not a service record (even an empty one has 0).
    matches_completed: int
    wins: int = 0
    losses: int = 0
    ties: int = 0
    core_stats: OrDefault[CoreStats] = Field(default_factory=CoreStats)

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
        if not self.matches_completed:
            return None
        return self.wins / self.matches_completed * 100

    @property
    def accuracy(self) -> float | None:
        """Shots hit per shot fired, in percent (Halo's ``Accuracy``)."""
        if not self.core_stats.shots_fired:
            return None
        return self.core_stats.accuracy


# -- match history ---------------------------------------------------------------------


class AssetRef(HaloModel):
    """A reference to a UGC asset (map, mode, playlist) and its version."""

    asset_kind: int | str | None = None
    asset_id: str
    version_id: str | None = None


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


# -- one match ---------------------------------------------------------------------------


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
        return xuid_digits(self.player_id)

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
    players: ListOf[MatchPlayer]

    def player(self, xuid: str | int) -> MatchPlayer | None:
        """The entry of ``xuid`` (``123`` or ``xuid(123)``), or ``None``."""
        wanted = xuid_text(xuid)
        return next((p for p in self.players if p.xuid == wanted), None)
