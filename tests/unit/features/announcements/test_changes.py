"""The pure announcement logic: change detection, per-server choice, payloads, embeds."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.features.announcements.changes import (
    Announcement,
    RankPoint,
    classify,
    decide,
    detect_changes,
    select_for_guild,
    snapshot_from_result,
)
from bot.features.announcements.delivery import NONCE_LENGTH, missing_permissions, nonce_for
from bot.features.announcements.embeds import announcement_embed, pack_sizes
from bot.halo.models import CsrResult
from bot.halo.playlists import RANKED_ARENA, RANKED_SLAYER
from bot.storage import GuildSettings, Snapshot
from tests.fakes.halo_server import csr_result

XUID = "2533274800000001"
T0 = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)
SEASON = "CsrSeason9-1"
GUILD = 1_300_000_000_000_010_000


def result(value: int, **kwargs: Any) -> CsrResult:
    return CsrResult.parse(csr_result(value, **kwargs))


def snap(
    value: int,
    *,
    season: str | None = SEASON,
    playlist: str = RANKED_ARENA,
    minutes: int = 0,
    **kwargs: int | None,
) -> Snapshot:
    return snapshot_from_result(
        XUID, playlist, season, result(value, **kwargs), T0 + timedelta(minutes=minutes)
    )


def kinds(previous: Snapshot | None, current: Snapshot) -> list[str]:
    return [c.kind for c in detect_changes(previous, current)]


# ------------------------------------------------------------------ snapshots


def test_snapshot_of_a_ranked_result_uses_displayed_sub_tier() -> None:
    s = snap(1325)
    assert (s.value, s.tier, s.sub_tier, s.csr_season) == (1325, "Diamond", 3, SEASON)
    assert s.season_max == 1325 and s.all_time_max == 1325
    assert RankPoint.from_snapshot(s).display == "Diamond 3"


def test_snapshot_of_placement_and_onyx() -> None:
    placement = snap(-1, matches_remaining=3)
    assert (placement.value, placement.tier, placement.sub_tier) == (-1, "Unranked", 0)
    assert placement.matches_remaining == 3
    onyx = snap(1549)
    assert (onyx.tier, onyx.sub_tier) == ("Onyx", 1)
    assert RankPoint.from_snapshot(onyx).display == "Onyx 1549"
    assert RankPoint.from_snapshot(onyx).icon_url.endswith("/onyx_1.png")


# ------------------------------------------------------------------ detection


def test_first_sight_is_a_baseline() -> None:
    assert classify(None, snap(1325)) == "baseline"
    assert detect_changes(None, snap(1325)) == []


def test_same_rank_is_no_change() -> None:
    before, after = snap(1325, season_max=1400), snap(1330, season_max=1400, minutes=5)
    assert kinds(before, after) == []
    assert classify(before, after) == "unchanged"


def test_tier_up_and_down() -> None:
    up = detect_changes(snap(880, season_max=900), snap(905, season_max=900, minutes=5))
    assert [c.kind for c in up] == ["tier_up"]
    assert (up[0].old.display, up[0].new.display, up[0].delta) == ("Gold 6", "Platinum 1", 25)
    assert kinds(snap(905, season_max=950), snap(880, season_max=950)) == ["tier_down"]


def test_sub_tier_up_and_down() -> None:
    assert kinds(snap(1210, season_max=1300), snap(1260, season_max=1300)) == ["sub_tier_up"]
    assert kinds(snap(1260, season_max=1300), snap(1210, season_max=1300)) == ["sub_tier_down"]


def test_new_season_high_comes_with_the_rank_change() -> None:
    assert kinds(snap(1290), snap(1310)) == ["sub_tier_up", "season_high"]
    # Onyx has no sub-tiers: only the season high is news.
    assert kinds(snap(1520), snap(1580)) == ["season_high"]


def test_placement_finished() -> None:
    changes = detect_changes(snap(-1, matches_remaining=1), snap(1005))
    assert [c.kind for c in changes] == ["placement"]
    assert changes[0].new.display == "Platinum 3"


def test_placement_progress_is_not_announced() -> None:
    assert kinds(snap(-1, matches_remaining=5), snap(-1, matches_remaining=4)) == []


def test_reset_to_placement_is_a_rebaseline_not_a_drop() -> None:
    assert classify(snap(1325), snap(-1, matches_remaining=5)) == "unranked"
    assert kinds(snap(1325), snap(-1, matches_remaining=5)) == []


def test_unranked_glitch_and_back_is_never_announced() -> None:
    ranked, glitch = snap(1325), snap(-1, matches_remaining=0)
    assert kinds(ranked, glitch) == []
    assert kinds(glitch, snap(1325, minutes=10)) == []


def test_new_season_rebaselines_even_a_big_drop() -> None:
    old = snap(1450, season="CsrSeason9-1")
    new = snap(700, season="CsrSeason9-2", season_max=700)
    assert classify(old, new) == "new_season"
    assert kinds(old, new) == []


def test_mismatched_snapshots_are_refused() -> None:
    with pytest.raises(ValueError):
        detect_changes(snap(1000, playlist=RANKED_SLAYER), snap(1100))


# ------------------------------------------------------------------ per-guild choice


def test_defaults_announce_tier_changes_and_placement_only() -> None:
    defaults = GuildSettings(guild_id=GUILD)
    changes = detect_changes(snap(1290), snap(1310))  # sub-tier up + season high
    assert select_for_guild(changes, defaults) == []
    tier = detect_changes(snap(1190), snap(1210))  # Platinum 6 -> Diamond 1 + season high
    assert [c.kind for c in select_for_guild(tier, defaults)] == ["tier_up"]


def test_subtier_trigger_includes_tier_changes() -> None:
    subtier_only = GuildSettings(
        guild_id=GUILD, trigger_tier_change=False, trigger_subtier_change=True
    )
    tier = detect_changes(snap(1190, season_max=1300), snap(1210, season_max=1300))
    assert [c.kind for c in select_for_guild(tier, subtier_only)] == ["tier_up"]
    nothing = GuildSettings(guild_id=GUILD, trigger_tier_change=False)
    assert select_for_guild(tier, nothing) == []


def test_season_high_and_placement_triggers() -> None:
    on = GuildSettings(guild_id=GUILD, trigger_season_high=True, trigger_placement=False)
    assert [c.kind for c in select_for_guild(detect_changes(snap(1520), snap(1580)), on)] == [
        "season_high"
    ]
    placement = detect_changes(snap(-1, matches_remaining=1), snap(1005))
    assert select_for_guild(placement, on) == []


def test_playlist_choice() -> None:
    slayer_only = GuildSettings(guild_id=GUILD, playlists=(RANKED_SLAYER,))
    arena = detect_changes(snap(1190), snap(1210))
    slayer = detect_changes(snap(1190, playlist=RANKED_SLAYER), snap(1210, playlist=RANKED_SLAYER))
    assert select_for_guild(arena, slayer_only) == []
    assert [c.playlist_id for c in select_for_guild(slayer, slayer_only)] == [RANKED_SLAYER]
    assert select_for_guild(arena, GuildSettings(guild_id=GUILD, playlists=())) == []


def test_decide_never_reads_missing_data_as_a_change() -> None:
    defaults = GuildSettings(guild_id=GUILD)
    common = {"xuid": XUID, "playlist_id": RANKED_ARENA, "season": SEASON, "taken_at": T0}
    assert decide(snap(1325), None, defaults, **common) == []
    assert [c.kind for c in decide(snap(1190), result(1210), defaults, **common)] == ["tier_up"]


# ------------------------------------------------------------------ properties


values = st.integers(min_value=-1, max_value=2200)
remaining = st.integers(min_value=0, max_value=5)


@settings(max_examples=300, deadline=None)
@given(values, remaining, values, remaining, st.booleans())
def test_no_announcement_across_seasons_or_into_unranked(
    old: int, old_left: int, new: int, new_left: int, same_season: bool
) -> None:
    before = snap(old, matches_remaining=old_left if old < 0 else 0)
    season = SEASON if same_season else "CsrSeason10-1"
    after = snap(new, matches_remaining=new_left if new < 0 else 0, season=season, minutes=1)
    found = detect_changes(before, after)
    if not same_season or new < 0:
        assert found == []
    if before.value < 0 and found:
        assert [c.kind for c in found] == ["placement"] and old_left > 0
    for change in found:
        if change.kind in ("tier_up", "sub_tier_up"):
            assert change.new.key > change.old.key
        if change.kind in ("tier_down", "sub_tier_down"):
            assert change.new.key < change.old.key


# ------------------------------------------------------------------ payloads and embeds


def announcement(kinds_: tuple[str, ...] = ("tier_up",), gamertag: str = "Noble Six"):
    changes = [
        c
        for c in detect_changes(snap(1190), snap(1210, minutes=5))
        if c.kind in kinds_  # tier_up, season_high
    ]
    return Announcement.from_changes(
        changes, gamertag=gamertag, user_ids=(42, 7, 42), taken_at=T0 + timedelta(minutes=5)
    )


def test_payload_round_trip_and_key() -> None:
    a = announcement(("tier_up", "season_high"))
    assert a.kinds == ("tier_up", "season_high") and a.user_ids == (7, 42)
    assert Announcement.from_payload(a.to_payload()) == a
    # The change itself, from the snapshot it starts from, not when it was seen.
    assert a.key(GUILD) == (
        f"{GUILD}:{XUID}:{RANKED_ARENA}:{SEASON}:1190->1210:tier_up+season_high:"
        "2025-01-01T12:00:00.000000Z"
    )
    seen_later = Announcement.from_changes(
        detect_changes(snap(1190), snap(1210, minutes=9)),
        gamertag="Noble Six",
        user_ids=(7,),
        taken_at=T0 + timedelta(minutes=9),
    )
    assert seen_later.key(GUILD) == a.key(GUILD)
    # The same move again later starts from a newer snapshot: a new announcement.
    again = Announcement.from_changes(
        detect_changes(snap(1190, minutes=20), snap(1210, minutes=30)),
        gamertag="Noble Six",
        user_ids=(7,),
        taken_at=T0 + timedelta(minutes=30),
    )
    assert again.key(GUILD) != a.key(GUILD)
    with pytest.raises(ValueError):
        Announcement.from_payload({**a.to_payload(), "kinds": ["bogus"]})


def test_embed_shows_old_new_tier_csr_delta_and_icon() -> None:
    embed = announcement_embed(announcement(("tier_up", "season_high"))).to_dict()
    assert embed["title"] == "Noble Six reached Diamond"
    assert "<@7> <@42>" in embed["description"] and "Ranked Arena" in embed["description"]
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert fields["Rank"] == "Platinum 6 → **Diamond 1**"
    assert fields["CSR"] == "1,190 → **1,210** (+20)"
    assert fields["New season high"] == "**1,210** (was 1,190)"
    assert embed["thumbnail"]["url"].endswith("/diamond_1.png")


def test_embed_escapes_the_gamertag() -> None:
    a = replace(announcement(), gamertag="*bold* @everyone")
    title = announcement_embed(a).title or ""
    assert "\\*bold\\*" in title and "@everyone" not in title


def test_drop_placement_and_season_high_titles() -> None:
    drop = Announcement.from_changes(
        detect_changes(snap(1260, season_max=1300), snap(1210, season_max=1300)),
        gamertag="A",
        user_ids=(),
        taken_at=T0,
    )
    assert announcement_embed(drop).title == "A dropped to Diamond 1"
    placement = Announcement.from_changes(
        detect_changes(snap(-1, matches_remaining=1), snap(1005)),
        gamertag="B",
        user_ids=(),
        taken_at=T0,
    )
    embed = announcement_embed(placement).to_dict()
    assert embed["title"] == "B finished placement: Platinum 3"
    assert embed["fields"][0]["value"] == "Placement → **Platinum 3**"
    high = Announcement.from_changes(
        detect_changes(snap(1520), snap(1580)), gamertag="C", user_ids=(), taken_at=T0
    )
    assert announcement_embed(high).title == "C set a new season high"


def test_pack_respects_ten_embeds_and_6000_characters() -> None:
    assert [len(g) for g in pack_sizes([100] * 23)] == [10, 10, 3]
    assert pack_sizes([2500, 2500, 2500]) == [[0, 1], [2]]
    embeds = [announcement_embed(announcement()) for _ in range(12)]
    assert [len(m) for m in pack_sizes([len(e) for e in embeds])] == [10, 2]  # as the outbox does


@given(st.lists(st.integers(min_value=1, max_value=6000), max_size=60))
def test_pack_is_ordered_bounded_and_stable(sizes: list[int]) -> None:
    groups = pack_sizes(sizes)
    assert [i for g in groups for i in g] == list(range(len(sizes)))
    for group in groups:
        assert len(group) <= 10
        assert len(group) == 1 or sum(sizes[i] for i in group) <= 6000
    # Messages are posted in order and a failure defers the rest, so what is left
    # pending is always a suffix of whole messages: it regroups exactly the same.
    for drop in range(len(groups)):
        rest = groups[drop:]
        flat = [i for g in rest for i in g]
        regrouped = pack_sizes([sizes[i] for i in flat])
        assert [[flat[i] for i in g] for g in regrouped] == rest


def test_nonce_is_stable_short_and_order_independent() -> None:
    assert nonce_for(["b", "a"]) == nonce_for(["a", "b"])
    assert nonce_for(["a"]) != nonce_for(["a", "b"])
    assert len(nonce_for(["a"])) == NONCE_LENGTH


def test_missing_permissions_names_each_one() -> None:
    import discord

    assert missing_permissions(discord.Permissions(view_channel=True)) == ["Send Messages"]
    assert missing_permissions(discord.Permissions(send_messages=True)) == ["View Channel"]
    assert missing_permissions(discord.Permissions(view_channel=True, send_messages=True)) == [
        "Embed Links"
    ]
    assert missing_permissions(discord.Permissions.all()) == []
