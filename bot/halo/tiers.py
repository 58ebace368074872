"""CSR tiers: value -> tier and sub-tier, display names, progress bars, icons, ordering.

Tiers (README "Ranked CSR"): Bronze 0, Silver 300, Gold 600, Platinum 900 and
Diamond 1200, each with sub-tiers 1-6 that are 50 CSR apart; Onyx from 1500,
open-ended, shown with its CSR value ("Onyx 1549").

**Sub-tier indexing.** The API's ``SubTier`` is 0-based (0..5) and the game
shows it 1-based (1..6). Evidence: article 001 shows ``Value`` 997 as
``Tier`` Platinum, ``TierStart`` 950, ``SubTier`` 1; Platinum starts at 900, so
900-949 is SubTier 0 and 950-999 SubTier 1, i.e. the second sub-tier,
"Platinum 2". Likewise 1005 has ``TierStart`` 1000 and ``SubTier`` 2
("Platinum 3"). Onyx has no sub-tiers and the API reports ``SubTier`` 0 for it
(recording ``get_playlist_csr.json``: 1549 -> Onyx, 1500, 0), which is
displayed as sub-tier 1 (the ``onyx_1.png`` art). Every ``sub_tier`` in this
module is the displayed, 1-based number; convert with :func:`display_sub_tier`.

**Placement.** ``Value`` is -1 while placement matches remain.
``MeasurementMatchesRemaining`` counts down from ``InitialMeasurementMatches``
to 0, so matches played = Initial - Remaining (recording: 4 remaining of 10 ->
6 played, shown "Placement 6 of 10"). The ``SeasonMax``/``AllTimeMax`` blocks
copy the player's current placement counters, so only ``Current`` is
meaningful for placement.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

SUB_TIER_SPAN = 50
SUB_TIERS_PER_TIER = 6
ONYX_START = 1500
ICON_URL = "https://www.halowaypoint.com/images/halo-infinite/csr/{tier}_{sub_tier}.png"
BAR_WIDTH = 10
BAR_FULL = "▰"
BAR_EMPTY = "▱"


@dataclass(frozen=True)
class Tier:
    """One CSR tier. ``end`` is exclusive, ``None`` for open-ended Onyx."""

    name: str
    start: int
    end: int | None
    sub_tiers: int
    order: int

    def sub_tier_start(self, sub_tier: int) -> int:
        """The first CSR of displayed sub-tier ``sub_tier`` (1-based)."""
        return self.start + SUB_TIER_SPAN * (sub_tier - 1)


UNRANKED = Tier("Unranked", -1, 0, 0, 0)
BRONZE = Tier("Bronze", 0, 300, SUB_TIERS_PER_TIER, 1)
SILVER = Tier("Silver", 300, 600, SUB_TIERS_PER_TIER, 2)
GOLD = Tier("Gold", 600, 900, SUB_TIERS_PER_TIER, 3)
PLATINUM = Tier("Platinum", 900, 1200, SUB_TIERS_PER_TIER, 4)
DIAMOND = Tier("Diamond", 1200, 1500, SUB_TIERS_PER_TIER, 5)
ONYX = Tier("Onyx", ONYX_START, None, 1, 6)

#: Ranked tiers, lowest first.
TIERS: tuple[Tier, ...] = (BRONZE, SILVER, GOLD, PLATINUM, DIAMOND, ONYX)
_BY_NAME = {tier.name.casefold(): tier for tier in (UNRANKED, *TIERS)}

#: Order given to a tier name the game adds later: it sorts above Onyx, never equal to a known one.
UNKNOWN_TIER_ORDER = 99

RankChange = Literal["tier_up", "tier_down", "sub_tier_up", "sub_tier_down", "same"]


class CsrLike(Protocol):
    """What these helpers read from a CSR block (``bot.halo.models.CsrValue`` fits)."""

    @property
    def value(self) -> int: ...
    @property
    def tier(self) -> str: ...
    @property
    def sub_tier(self) -> int: ...
    @property
    def tier_start(self) -> int: ...
    @property
    def next_tier_start(self) -> int: ...
    @property
    def measurement_matches_remaining(self) -> int: ...
    @property
    def initial_measurement_matches(self) -> int: ...


def tier_by_name(name: str) -> Tier | None:
    """The known tier called ``name`` (case-insensitive); ``None`` for names we don't know."""
    return _BY_NAME.get(name.strip().casefold())


def display_sub_tier(api_sub_tier: int) -> int:
    """The API's 0-based ``SubTier`` -> the displayed 1-based sub-tier."""
    return max(api_sub_tier, 0) + 1


def tier_for_value(csr: int) -> tuple[Tier, int]:
    """``(tier, displayed sub-tier)`` for a CSR value; ``(UNRANKED, 0)`` for negative values."""
    if csr < 0:
        return UNRANKED, 0
    if csr >= ONYX_START:
        return ONYX, 1
    tier = next(t for t in reversed(TIERS) if csr >= t.start)
    return tier, min((csr - tier.start) // SUB_TIER_SPAN, SUB_TIERS_PER_TIER - 1) + 1


def _value_of(csr: CsrLike | int) -> int:
    return csr if isinstance(csr, int) else csr.value


def tier_of(csr: CsrLike | int) -> tuple[str, int]:
    """``(tier name, displayed sub-tier)``; the API's own ``Tier``/``SubTier`` win when given.

    Unknown tier names from the API are kept as they are. Negative values are
    ``("Unranked", 0)``; Onyx is always sub-tier 1.
    """
    value = _value_of(csr)
    if value < 0:
        return UNRANKED.name, 0
    if not isinstance(csr, int) and csr.tier.strip():
        known = tier_by_name(csr.tier)
        name = known.name if known else csr.tier.strip()
        if known is ONYX:
            return name, 1
        return name, display_sub_tier(csr.sub_tier)
    tier, sub_tier = tier_for_value(value)
    return tier.name, sub_tier


def display_name(csr: CsrLike | int) -> str:
    """``"Diamond 4"``, ``"Onyx 1549"`` or ``"Unranked"`` (placement included)."""
    name, sub_tier = tier_of(csr)
    value = _value_of(csr)
    if value < 0:
        return UNRANKED.name
    if name == ONYX.name:
        return f"{name} {value}"
    return f"{name} {sub_tier}"


def progress(csr: CsrLike | int) -> tuple[int, int] | None:
    """``(CSR into the sub-tier, sub-tier span)``, e.g. ``(47, 50)``; ``None`` if unranked or Onyx.

    A CSR block's own ``TierStart``/``NextTierStart`` are used when they bracket the value.
    """
    value = _value_of(csr)
    if value < 0 or _is_onyx(csr):
        return None
    if not isinstance(csr, int) and csr.tier.strip():
        span = csr.next_tier_start - csr.tier_start
        if span > 0 and csr.tier_start <= value < csr.next_tier_start:
            return value - csr.tier_start, span
    tier, sub_tier = tier_for_value(value)
    if tier is ONYX:
        return None
    return value - tier.sub_tier_start(sub_tier), SUB_TIER_SPAN


def progress_bar(
    csr: CsrLike | int,
    width: int = BAR_WIDTH,
    full: str = BAR_FULL,
    empty: str = BAR_EMPTY,
) -> str:
    """A fixed-width text bar of progress through the sub-tier: full for Onyx, empty if unranked."""
    if width <= 0:
        return ""
    if _value_of(csr) < 0:
        return empty * width
    done = progress(csr)
    if done is None:
        return full * width
    into, span = done
    cells = min(width, max(0, into * width // span))
    return full * cells + empty * (width - cells)


def _is_onyx(csr: CsrLike | int) -> bool:
    return not isinstance(csr, int) and tier_by_name(csr.tier) is ONYX


def in_placement(csr: CsrLike) -> bool:
    """True while the player still has placement matches to play (``Value`` -1)."""
    return csr.value < 0 and csr.measurement_matches_remaining > 0


def placement_matches_played(csr: CsrLike) -> int:
    """Initial - Remaining, clamped to ``0..Initial``."""
    initial = max(csr.initial_measurement_matches, 0)
    return min(max(initial - csr.measurement_matches_remaining, 0), initial)


def placement_text(csr: CsrLike) -> str | None:
    """``"Placement 6 of 10"`` (matches played of the total) while in placement, else ``None``."""
    if not in_placement(csr):
        return None
    return f"Placement {placement_matches_played(csr)} of {csr.initial_measurement_matches}"


def _slug(tier: Tier | str) -> str:
    name = tier.name if isinstance(tier, Tier) else tier
    slug = "".join(ch for ch in name.lower() if "a" <= ch <= "z")
    return slug or UNRANKED.name.lower()


def icon_url(tier: Tier | str, sub_tier: int) -> str:
    """Tier art, e.g. ``.../csr/diamond_3.png``; ``unranked_0.png`` and ``onyx_1.png`` fixed.

    ``sub_tier`` is the displayed (1-based) sub-tier; it is clamped to 1..6.
    """
    slug = _slug(tier)
    if slug == UNRANKED.name.lower():
        return ICON_URL.format(tier=slug, sub_tier=0)
    if slug == ONYX.name.lower():
        return ICON_URL.format(tier=slug, sub_tier=1)
    return ICON_URL.format(tier=slug, sub_tier=min(max(sub_tier, 1), SUB_TIERS_PER_TIER))


def icon_url_for(csr: CsrLike | int) -> str:
    """:func:`icon_url` for a CSR block or value."""
    name, sub_tier = tier_of(csr)
    return icon_url(name, sub_tier)


def rank_key(tier: Tier | str, sub_tier: int) -> tuple[int, int]:
    """An ordinal ``(tier order, sub-tier)`` for comparisons; Unranked is ``(0, 0)``.

    Tier names the game adds later get :data:`UNKNOWN_TIER_ORDER`.
    """
    known = tier if isinstance(tier, Tier) else tier_by_name(tier)
    if known is None:
        return UNKNOWN_TIER_ORDER, sub_tier
    if known is UNRANKED:
        return 0, 0
    if known is ONYX:
        return ONYX.order, 1
    return known.order, sub_tier


def rank_key_for(csr: CsrLike | int) -> tuple[int, int]:
    """:func:`rank_key` for a CSR block or value."""
    return rank_key(*tier_of(csr))


def classify_change(old: tuple[int, int], new: tuple[int, int]) -> RankChange:
    """Compare two :func:`rank_key` values: tier change, sub-tier change or none, and which way."""
    if new[0] != old[0]:
        return "tier_up" if new[0] > old[0] else "tier_down"
    if new[1] != old[1]:
        return "sub_tier_up" if new[1] > old[1] else "sub_tier_down"
    return "same"
