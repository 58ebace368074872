"""The skill service (``skill.svc.halowaypoint.com``): CSR per playlist and per match."""

from __future__ import annotations

from typing import TypeVar

from pydantic import Field

from bot.halo import tiers
from bot.halo.models.base import HaloModel
from bot.halo.models.types import ListOf, OrDefault, Text, xuid_digits, xuid_text


class CsrValue(HaloModel):
    """One CSR block (``Current``, ``SeasonMax`` or ``AllTimeMax``). ``Value`` -1 = unranked.

    ``sub_tier`` is the API's 0-based number (:mod:`bot.halo.tiers` gives the shown one).
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


class PlayerEntry(HaloModel):
    """One ``Value[]`` entry of a skill answer: ``Id`` (``xuid(N)``), ``ResultCode`` (0 = ok)
    and a ``Result`` whose type each answer names."""

    id: str
    result_code: int | str = 0

    @property
    def ok(self) -> bool:
        """True when Halo answered for this player."""
        return self.result_code == 0 and getattr(self, "result", None) is not None

    @property
    def xuid(self) -> str | None:
        """The XUID digits of :attr:`id`, or ``None`` if it is not a XUID."""
        return xuid_digits(self.id)


Entry = TypeVar("Entry", bound=PlayerEntry)


def entry_for(entries: list[Entry], xuid: str | int) -> Entry | None:
    """The entry for ``xuid`` (``123`` or ``xuid(123)``), or ``None``."""
    wanted = xuid_text(xuid)
    return next((entry for entry in entries if entry.xuid == wanted), None)


class PlayerCsr(PlayerEntry):
    """A player's entry in a CSR answer."""

    result: CsrResult | None = None


class PlaylistCsr(HaloModel):
    """``GET skill .../hi/playlist/{id}/csrs?players=...``. ``Value`` is required: an
    answer without it is not a CSR answer at all."""

    value: ListOf[PlayerCsr]

    def for_player(self, xuid: str | int) -> PlayerCsr | None:
        """The entry for ``xuid`` (``123`` or ``xuid(123)``), or ``None``."""
        return entry_for(self.value, xuid)


class RankRecap(HaloModel):
    """A player's CSR before and after a ranked match."""

    pre_match_csr: CsrValue | None = None
    post_match_csr: CsrValue | None = None


class MatchSkillResult(HaloModel):
    """One player's skill answer for a match; ``RankRecap`` only in ranked playlists."""

    team_id: int | None = None
    team_mmr: float | None = None
    rank_recap: RankRecap | None = None


class PlayerMatchSkill(PlayerEntry):
    """A player's entry in a match's skill answer."""

    result: MatchSkillResult | None = None


class MatchSkill(HaloModel):
    """``GET skill .../hi/matches/{matchId}/skill?players=...``. ``Value`` is required."""

    value: ListOf[PlayerMatchSkill]

    def for_player(self, xuid: str | int) -> PlayerMatchSkill | None:
        """The entry for ``xuid`` (``123`` or ``xuid(123)``), or ``None``."""
        return entry_for(self.value, xuid)
