"""CSR tier math and display."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.halo import tiers as t
from bot.halo.models import CsrValue
from bot.halo.playlists import (
    RANKED_ARENA,
    RANKED_PLAYLISTS,
    is_known_ranked,
    ranked_playlist_name,
)

ICON = "https://www.halowaypoint.com/images/halo-infinite/csr/"


def block(value: int, **fields: object) -> CsrValue:
    return CsrValue.parse({"Value": value, **fields})


@pytest.mark.parametrize(
    ("csr", "tier", "sub_tier"),
    [
        (-1, t.UNRANKED, 0),
        (-500, t.UNRANKED, 0),
        (0, t.BRONZE, 1),
        (49, t.BRONZE, 1),
        (50, t.BRONZE, 2),
        (250, t.BRONZE, 6),
        (299, t.BRONZE, 6),
        (300, t.SILVER, 1),
        (599, t.SILVER, 6),
        (600, t.GOLD, 1),
        (899, t.GOLD, 6),
        (900, t.PLATINUM, 1),
        (949, t.PLATINUM, 1),
        (950, t.PLATINUM, 2),
        (997, t.PLATINUM, 2),
        (1005, t.PLATINUM, 3),
        (1199, t.PLATINUM, 6),
        (1200, t.DIAMOND, 1),
        (1350, t.DIAMOND, 4),
        (1449, t.DIAMOND, 5),
        (1450, t.DIAMOND, 6),
        (1499, t.DIAMOND, 6),
        (1500, t.ONYX, 1),
        (1549, t.ONYX, 1),
        (2100, t.ONYX, 1),
        (9999, t.ONYX, 1),
    ],
)
def test_tier_for_value(csr: int, tier: t.Tier, sub_tier: int) -> None:
    assert t.tier_for_value(csr) == (tier, sub_tier)


@pytest.mark.parametrize(
    ("csr", "name"),
    [
        (-1, "Unranked"),
        (0, "Bronze 1"),
        (299, "Bronze 6"),
        (300, "Silver 1"),
        (997, "Platinum 2"),
        (1350, "Diamond 4"),
        (1499, "Diamond 6"),
        (1500, "Onyx 1500"),
        (1549, "Onyx 1549"),
        (2100, "Onyx 2100"),
    ],
)
def test_display_name_from_value(csr: int, name: str) -> None:
    assert t.display_name(csr) == name


def test_api_sub_tier_is_zero_based() -> None:
    # Article 001: 997 is Platinum with TierStart 950 and SubTier 1 -> "Platinum 2".
    current = block(997, Tier="Platinum", TierStart=950, SubTier=1, NextTierStart=1000)
    assert t.display_sub_tier(current.sub_tier) == 2
    assert t.display_name(current) == "Platinum 2"
    assert t.tier_for_value(997) == (t.PLATINUM, 2)
    assert t.display_sub_tier(0) == 1
    assert t.display_sub_tier(5) == 6
    assert t.display_sub_tier(-3) == 1


def test_api_fields_win_over_value_math() -> None:
    odd = block(1000, Tier="Gold", SubTier=5, TierStart=850, NextTierStart=900)
    assert t.tier_of(odd) == ("Gold", 6)
    assert t.display_name(odd) == "Gold 6"
    assert t.display_name(block(1510, Tier="ONYX", SubTier=0)) == "Onyx 1510"
    assert t.display_name(block(1600, Tier="Champion", SubTier=2)) == "Champion 3"
    assert t.display_name(block(-1, Tier="Diamond", SubTier=2)) == "Unranked"
    assert t.tier_of(block(-1, Tier="Diamond", SubTier=2)) == ("Unranked", 0)
    assert t.display_name(block(320)) == "Silver 1"


@pytest.mark.parametrize(
    ("csr", "expected"),
    [
        (0, (0, 50)),
        (49, (49, 50)),
        (50, (0, 50)),
        (299, (49, 50)),
        (300, (0, 50)),
        (997, (47, 50)),
        (1499, (49, 50)),
        (1500, None),
        (2100, None),
        (-1, None),
    ],
)
def test_progress_from_value(csr: int, expected: tuple[int, int] | None) -> None:
    assert t.progress(csr) == expected


def test_progress_uses_block_bounds() -> None:
    current = block(997, Tier="Platinum", TierStart=950, SubTier=1, NextTierStart=1000)
    assert t.progress(current) == (47, 50)
    onyx = block(1549, Tier="Onyx", TierStart=1500, NextTierStart=1500)
    assert t.progress(onyx) is None
    # Bounds that don't bracket the value fall back to the value's own sub-tier.
    stale = block(1010, Tier="Platinum", TierStart=950, NextTierStart=1000)
    assert t.progress(stale) == (10, 50)


@pytest.mark.parametrize(
    ("csr", "bar"),
    [
        (-1, "▱▱▱▱▱▱▱▱▱▱"),
        (0, "▱▱▱▱▱▱▱▱▱▱"),
        (4, "▱▱▱▱▱▱▱▱▱▱"),
        (5, "▰▱▱▱▱▱▱▱▱▱"),
        (25, "▰▰▰▰▰▱▱▱▱▱"),
        (49, "▰▰▰▰▰▰▰▰▰▱"),
        (997, "▰▰▰▰▰▰▰▰▰▱"),
        (1500, "▰▰▰▰▰▰▰▰▰▰"),
    ],
)
def test_progress_bar(csr: int, bar: str) -> None:
    assert t.progress_bar(csr) == bar


def test_progress_bar_options() -> None:
    assert t.progress_bar(25, width=4, full="#", empty="-") == "##--"
    assert t.progress_bar(25, width=0) == ""
    assert t.progress_bar(block(1600, Tier="Onyx")) == "▰" * 10


@given(st.integers(min_value=-5, max_value=5000), st.integers(min_value=1, max_value=40))
def test_progress_bar_has_fixed_width(csr: int, width: int) -> None:
    bar = t.progress_bar(csr, width=width)
    assert len(bar) == width
    assert set(bar) <= {t.BAR_FULL, t.BAR_EMPTY}


@given(st.integers(min_value=0, max_value=1499))
def test_value_math_is_consistent(csr: int) -> None:
    tier, sub_tier = t.tier_for_value(csr)
    start = tier.sub_tier_start(sub_tier)
    assert start <= csr < start + t.SUB_TIER_SPAN
    assert 1 <= sub_tier <= 6
    assert tier.start <= csr < (tier.end or 10**9)
    into, span = t.progress(csr) or (None, None)
    assert (into, span) == (csr - start, 50)


def test_placement() -> None:
    # Recording: Value -1, 4 remaining of 10 -> 6 played.
    placing = block(-1, MeasurementMatchesRemaining=4, InitialMeasurementMatches=10)
    assert t.in_placement(placing)
    assert t.placement_matches_played(placing) == 6
    assert t.placement_text(placing) == "Placement 6 of 10"
    fresh = block(-1, MeasurementMatchesRemaining=5, InitialMeasurementMatches=5)
    assert t.placement_text(fresh) == "Placement 0 of 5"
    last = block(-1, MeasurementMatchesRemaining=1, InitialMeasurementMatches=5)
    assert t.placement_text(last) == "Placement 4 of 5"
    placed = block(997, MeasurementMatchesRemaining=0, InitialMeasurementMatches=5)
    assert not t.in_placement(placed)
    assert t.placement_text(placed) is None
    assert t.placement_matches_played(placed) == 5
    weird = block(-1, MeasurementMatchesRemaining=9, InitialMeasurementMatches=5)
    assert t.placement_matches_played(weird) == 0
    assert t.placement_text(block(-1, MeasurementMatchesRemaining=0)) is None


@pytest.mark.parametrize(
    ("tier", "sub_tier", "file"),
    [
        ("Diamond", 3, "diamond_3.png"),
        (t.DIAMOND, 6, "diamond_6.png"),
        ("Bronze", 1, "bronze_1.png"),
        ("GOLD", 9, "gold_6.png"),
        ("Silver", 0, "silver_1.png"),
        ("Onyx", 1, "onyx_1.png"),
        ("Onyx", 4, "onyx_1.png"),
        (t.ONYX, 0, "onyx_1.png"),
        ("Unranked", 3, "unranked_0.png"),
        (t.UNRANKED, 0, "unranked_0.png"),
        ("", 2, "unranked_0.png"),
        ("../evil?x=", 2, "evilx_2.png"),
    ],
)
def test_icon_url(tier: t.Tier | str, sub_tier: int, file: str) -> None:
    assert t.icon_url(tier, sub_tier) == ICON + file


@pytest.mark.parametrize(
    ("csr", "file"),
    [(-1, "unranked_0.png"), (0, "bronze_1.png"), (1499, "diamond_6.png"), (2100, "onyx_1.png")],
)
def test_icon_url_for(csr: int, file: str) -> None:
    assert t.icon_url_for(csr) == ICON + file


def test_rank_key_orders_tiers_then_sub_tiers() -> None:
    keys = [t.rank_key_for(csr) for csr in (-1, 0, 50, 299, 300, 1199, 1200, 1499, 1500, 2100)]
    assert keys == sorted(keys)
    assert t.rank_key("Unranked", 4) == (0, 0)
    assert t.rank_key("diamond", 6) < t.rank_key("Onyx", 1)
    assert t.rank_key(t.ONYX, 5) == t.rank_key("Onyx", 1)
    assert t.rank_key_for(1500) == t.rank_key_for(2100)
    assert t.rank_key("Champion", 1) == (t.UNKNOWN_TIER_ORDER, 1)


@pytest.mark.parametrize(
    ("old", "new", "change"),
    [
        (1190, 1210, "tier_up"),
        (1210, 1190, "tier_down"),
        (1200, 1260, "sub_tier_up"),
        (1260, 1200, "sub_tier_down"),
        (1200, 1249, "same"),
        (1500, 2100, "same"),
        (-1, 0, "tier_up"),
        (1499, 1500, "tier_up"),
    ],
)
def test_classify_change(old: int, new: int, change: str) -> None:
    assert t.classify_change(t.rank_key_for(old), t.rank_key_for(new)) == change


def test_tier_by_name() -> None:
    assert t.tier_by_name(" platinum ") is t.PLATINUM
    assert t.tier_by_name("Unranked") is t.UNRANKED
    assert t.tier_by_name("Champion") is None
    assert [tier.name for tier in t.TIERS] == [
        "Bronze",
        "Silver",
        "Gold",
        "Platinum",
        "Diamond",
        "Onyx",
    ]
    assert t.ONYX.end is None and t.UNRANKED not in t.TIERS


def test_ranked_playlists() -> None:
    assert dict(RANKED_PLAYLISTS) == {
        "edfef3ac-9cbe-4fa2-b949-8f29deafd483": "Ranked Arena",
        "dcb2e24e-05fb-4390-8076-32a0cdb4326e": "Ranked Slayer",
        "fa5aa2a3-2428-4912-a023-e1eeea7b877c": "Ranked Doubles",
        "71734db4-4b8e-4682-9206-62b6eff92582": "Ranked FFA",
    }
    assert ranked_playlist_name(RANKED_ARENA.upper()) == "Ranked Arena"
    assert is_known_ranked(" fa5aa2a3-2428-4912-a023-e1eeea7b877c ")
    assert not is_known_ranked("00000000-0000-0000-0000-000000000000")
    with pytest.raises(TypeError):
        RANKED_PLAYLISTS["x"] = "y"  # type: ignore[index]
