"""Models of Halo's answers: every fixture parses, key values, tolerance, errors."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from bot.common.errors import HaloDataError
from bot.halo import models as m
from bot.halo import tiers
from tests.support.paths import HALO_FIXTURES

FIXTURES = HALO_FIXTURES

#: Every Halo answer fixture and the model that reads it.
MODELS: dict[str, type[BaseModel]] = {
    "recorded/get_user.json": m.ProfileUser,
    "recorded/get_users.json": m.ProfileUsers,
    "recorded/get_playlist_csr.json": m.PlaylistCsr,
    "from-seeds/skill_playlist_csrs.json": m.PlaylistCsr,
    "recorded/get_csr_season_calendar.json": m.CsrSeasonCalendar,
    "recorded/get_season_calendar.json": m.SeasonCalendar,
    "from-seeds/gamecms_seasoncalendar.json": m.SeasonCalendar,
    "from-seeds/gamecms_season_Season7-Op1.json": m.SeasonMetadata,
    "recorded/get_service_record.json": m.ServiceRecord,
    "recorded/get_service_record_empty.json": m.ServiceRecord,
    "recorded/get_medal_metadata.json": m.MedalMetadata,
    "recorded/get_player_reward_track_operations.json": m.PlayerOperations,
    "from-seeds/economy_player_operations.json": m.PlayerOperations,
    "from-seeds/economy_player_operation_S06OpPassM03.json": m.PlayerRewardTrack,
    "from-seeds/economy_player_event_ritualWinter.json": m.PlayerRewardTrack,
    "recorded/get_operation_reward_track.json": m.RewardTrack,
    "recorded/get_career_reward_track.json": m.RewardTrack,
    "from-seeds/gamecms_rewardtrack_event_ritualOlympus.json": m.RewardTrack,
    "from-seeds/gamecms_rewardtrack_operation_S07Op01.json": m.RewardTrack,
    "recorded/get_playlist.json": m.Playlist,
    "recorded/get_match_history.json": m.MatchHistory,
}

#: Fixtures no model here reads: sign-in answers (bot.halo.auth), the endpoint
#: catalogue, per-match stats/skill (their shapes are tested through the fake Halo),
#: and answers of endpoints the bot does not call (Xbox profiles, career rank, match count).
NOT_MODELLED = {
    "recorded/get_profiles.json",
    "recorded/get_player_career_rank.json",
    "recorded/get_match_count.json",
    "recorded/clearance.json",
    "recorded/endpoints.json",
    "recorded/oauth2.json",
    "recorded/spartan.json",
    "recorded/xbox_user.json",
    "recorded/xsts.json",
    "recorded/xsts_halo.json",
    "recorded/get_match_stats.json",
    "recorded/get_match_skill.json",
}


def raw(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def data(name: str) -> Any:
    return json.loads(raw(name))


# -- every fixture ---------------------------------------------------------------------


def test_every_json_fixture_is_accounted_for() -> None:
    found = {
        f"{path.parent.name}/{path.name}"
        for path in FIXTURES.glob("*/*.json")
        if path.parent.name in {"recorded", "from-seeds"}
    }
    assert found == set(MODELS) | NOT_MODELLED


def test_licence_kept_next_to_recordings() -> None:
    assert "MIT" in (FIXTURES / "recorded" / "LICENSE-SPNKr").read_text(encoding="utf-8")


@pytest.mark.parametrize(("name", "model"), sorted(MODELS.items()))
def test_fixture_parses_from_bytes_text_and_objects(name: str, model: type[BaseModel]) -> None:
    from_bytes = m.parse(model, raw(name))
    from_text = m.parse(model, raw(name).decode("utf-8"))
    from_object = m.parse(model, data(name))
    assert isinstance(from_bytes, model)
    assert from_bytes == from_text == from_object
    assert model.parse(bytearray(raw(name))) == from_bytes  # type: ignore[attr-defined]


@pytest.mark.parametrize(("name", "model"), sorted(MODELS.items()))
def test_models_are_frozen(name: str, model: type[BaseModel]) -> None:
    parsed = m.parse(model, raw(name))
    if isinstance(parsed, m.ProfileUsers):
        parsed = next(iter(parsed))
    field = next(iter(type(parsed).model_fields))
    with pytest.raises(ValidationError):
        setattr(parsed, field, None)


# -- profile ---------------------------------------------------------------------------


def test_user() -> None:
    user = m.ProfileUser.parse(raw("recorded/get_user.json"))
    assert user.xuid == "1234567890"
    assert user.gamertag == "GAMERTAG"
    assert user.gamerpic is not None
    assert user.gamerpic.xlarge is not None
    assert user.gamerpic.xlarge.startswith("https://images-eds-ssl.xboxlive.com/")


def test_users_list() -> None:
    users = m.ProfileUsers.parse(raw("recorded/get_users.json"))
    assert len(users) == 1
    assert [u.xuid for u in users] == ["1234567890123456"]
    assert next(iter(users)).gamertag == "GAMERTAG"


def test_user_xuid_forms() -> None:
    assert m.ProfileUser.parse({"xuid": 42, "gamertag": "A"}).xuid == "42"
    assert m.ProfileUser.parse({"xuid": "xuid(42)", "gamertag": "A"}).xuid == "42"
    assert m.ProfileUser.parse({"xuid": "7", "gamertag": "A", "gamerpic": None}).gamerpic is None
    with pytest.raises(HaloDataError):
        m.ProfileUser.parse({"xuid": "12a", "gamertag": "A"})


# -- CSR -------------------------------------------------------------------------------


def test_recorded_csr_in_placement_with_onyx_all_time() -> None:
    csr = m.PlaylistCsr.parse(raw("recorded/get_playlist_csr.json"))
    entry = csr.for_player("xuid(2535445291321133)")
    assert entry is not None and entry.ok
    assert entry is csr.for_player(2535445291321133)
    assert entry.xuid == "2535445291321133"
    assert entry.result is not None
    current = entry.result.current
    assert entry.result.current.has_value is False
    assert current.value == -1
    assert current.in_placement
    assert tiers.placement_matches_played(current) == 6
    assert current.display_name == "Unranked"
    assert current.icon_url.endswith("/unranked_0.png")
    best = entry.result.all_time_max
    assert best is not None
    assert (best.value, best.tier, best.sub_tier) == (1549, "Onyx", 0)
    assert best.display_name == "Onyx 1549"
    assert tiers.tier_of(best)[1] == 1
    assert best.icon_url == "https://www.halowaypoint.com/images/halo-infinite/csr/onyx_1.png"
    assert current.demotion_protection_matches_remaining is None


def test_article_csr_platinum() -> None:
    csr = m.PlaylistCsr.parse(raw("from-seeds/skill_playlist_csrs.json"))
    entry = csr.value[0]
    assert entry.id == "MY_XUID"
    assert entry.xuid is None
    assert csr.for_player("123") is None
    assert entry.result is not None and entry.result.current.has_value
    current = entry.result.current
    assert (current.value, current.tier, current.tier_start, current.sub_tier) == (
        997,
        "Platinum",
        950,
        1,
    )
    assert current.display_name == "Platinum 2"
    assert current.icon_url.endswith("/platinum_2.png")
    assert current.demotion_protection_matches_remaining == 0
    assert current.initial_demotion_protection_matches == 3
    assert current.in_placement is False
    assert entry.result.season_max is not None
    assert entry.result.season_max.display_name == "Platinum 3"


def test_csr_failed_player_and_unknown_tier() -> None:
    payload = {
        "Value": [
            {"Id": "xuid(1)", "ResultCode": 2, "Result": None},
            {
                "Id": "xuid(2)",
                "ResultCode": 0,
                "Result": {
                    "Current": {"Value": 2100, "Tier": "Champion", "SubTier": 2, "Shiny": True},
                    "SeasonMax": None,
                    "AllTimeMax": None,
                    "NewBlock": {"Value": 1},
                },
            },
        ],
        "Extra": "ignored",
    }
    csr = m.PlaylistCsr.parse(payload)
    failed = csr.for_player("1")
    assert failed is not None and not failed.ok and failed.result is None
    champion = csr.for_player("2")
    assert champion is not None and champion.result is not None
    assert champion.result.current.tier == "Champion"
    assert champion.result.current.display_name == "Champion 3"
    assert champion.result.season_max is None
    assert not hasattr(champion.result.current, "shiny")


def test_csr_text_result_code_and_null_tier_are_kept() -> None:
    csr = m.PlaylistCsr.parse(
        {"Value": [{"Id": "xuid(3)", "ResultCode": "NotFound", "Result": {"Current": None}}]}
    )
    entry = csr.value[0]
    assert entry.result_code == "NotFound"
    assert not entry.ok
    assert entry.result is not None and entry.result.current.value == -1
    block = m.CsrValue.parse({"Value": 5, "Tier": None, "NextTier": None})
    assert (block.tier, block.next_tier) == ("", "")
    assert block.display_name == "Bronze 1"


# -- calendars -------------------------------------------------------------------------


def test_csr_season_calendar() -> None:
    calendar = m.CsrSeasonCalendar.parse(raw("recorded/get_csr_season_calendar.json"))
    assert len(calendar.seasons) == 8
    assert calendar.seasons[0].season_id == "CsrSeason1"
    last = calendar.seasons[-1]
    assert last.season_id == "CsrSeason5-1"
    assert last.end_date == datetime(2024, 1, 30, 17, tzinfo=UTC)
    assert last.end_date is not None and last.end_date.tzinfo is UTC
    found = calendar.current(datetime(2023, 11, 1, tzinfo=UTC))
    assert found is not None and found.season_id == "CsrSeason5-1"
    # The end is exclusive: the next season owns the boundary instant.
    boundary = calendar.current(datetime(2022, 5, 3, 17, tzinfo=UTC))
    assert boundary is not None and boundary.season_id == "CsrSeason2"
    assert calendar.current(datetime(2020, 1, 1, tzinfo=UTC)) is None


def running(entries: list[Any], at: datetime) -> list[Any]:
    """Calendar entries whose parsed dates contain ``at`` (the end is exclusive)."""
    return [e for e in entries if e.start_date <= at and (e.end_date is None or at < e.end_date)]


def test_season_calendar_recorded() -> None:
    calendar = m.SeasonCalendar.parse(raw("recorded/get_season_calendar.json"))
    assert len(calendar.seasons) == 8
    assert len(calendar.events) == 30
    first = calendar.seasons[0]
    assert first.csr_season_id == "CsrSeason1-2"
    assert first.operation_track_id == "battlepass-noblesacrifice"
    assert first.season_metadata == "Seasons/Season1.json"
    assert first.start_date == datetime(2021, 6, 20, 17, tzinfo=UTC)
    event = calendar.events[0]
    assert event.track_id == "ritualWotWSamurai"
    assert event.start_date == datetime(2021, 9, 18, 21, 30, tzinfo=UTC)
    assert calendar.career_rank is not None
    assert calendar.career_rank.reward_track_path == "RewardTracks/CareerRanks/careerrank1.json"
    at = datetime(2021, 11, 20, tzinfo=UTC)
    assert [e.track_id for e in running(calendar.events, at)] == ["ritualWinterGiveaway"]
    [season] = running(calendar.seasons, at)
    assert season.operation_track_id == "battlepass-noblesacrifice"


def test_season_calendar_article() -> None:
    calendar = m.SeasonCalendar.parse(raw("from-seeds/gamecms_seasoncalendar.json"))
    [season] = running(calendar.seasons, datetime(2024, 5, 1, tzinfo=UTC))
    assert season.operation_track_id == "S07Op01"
    assert season.season_metadata == "Seasons/Season7-Op1.json"
    assert running(calendar.seasons, datetime(2030, 1, 1, tzinfo=UTC)) == []


def test_season_metadata() -> None:
    meta = m.SeasonMetadata.parse(raw("from-seeds/gamecms_season_Season7-Op1.json"))
    assert str(meta.name) == "Banished Honor"
    assert meta.date_range.value == "April 30th, 2024 - June 3rd, 2024"
    assert meta.number == 7001
    assert meta.card_background_image == "progression/Switcher/Season_Switcher_S7_BH.png"


# -- service record --------------------------------------------------------------------


def test_service_record_values() -> None:
    record = m.ServiceRecord.parse(raw("recorded/get_service_record.json"))
    assert record.time_played == timedelta(days=17, hours=10, minutes=55, seconds=53.768551)
    assert (record.matches_completed, record.wins, record.losses, record.ties) == (
        2664,
        1405,
        1219,
        38,
    )
    core = record.core_stats
    assert (core.kills, core.deaths, core.assists) == (42197, 26566, 15174)
    assert core.average_kda == pytest.approx(7.766141141141141)
    assert len(core.medals) == 116
    assert [medal.count for medal in core.medals if medal.name_id == 622331684] == [3858]
    assert record.kd_ratio == pytest.approx(42197 / 26566)
    assert record.win_rate == pytest.approx(1405 / 2664 * 100)
    assert record.accuracy == pytest.approx(47.15381334169039)
    assert (core.headshot_kills, core.damage_dealt, core.damage_taken) == (
        19864,
        12475748,
        9157476,
    )
    assert not record.is_empty


def test_service_record_skips_what_the_bot_does_not_show() -> None:
    payload = data("recorded/get_service_record.json")
    whole = m.ServiceRecord.parse(payload)
    for block in ("CaptureTheFlagStats", "ZonesStats", "PvpStats", "Subqueries"):
        assert block in payload
        payload[block] = "not read"
    payload["CoreStats"]["PersonalScores"] = "not read"
    assert m.ServiceRecord.parse(payload) == whole


def test_empty_service_record() -> None:
    record = m.ServiceRecord.parse(raw("recorded/get_service_record_empty.json"))
    assert record.is_empty
    assert record.time_played == timedelta(0)
    assert record.kd_ratio == 0.0
    assert record.win_rate is None
    assert record.accuracy is None
    assert record.core_stats.medals == []


def test_service_record_kd_without_deaths_and_nulls() -> None:
    record = m.ServiceRecord.parse(
        {
            "Subqueries": None,
            "TimePlayed": None,
            "MatchesCompleted": 1,
            "Wins": 1,
            "CoreStats": {"Kills": 7, "Deaths": 0, "Medals": None, "NewStat": 3},
            "BrandNewModeStats": {"Anything": 1},
        }
    )
    assert record.kd_ratio == 7.0
    assert record.win_rate == 100.0
    assert record.time_played == timedelta(0)
    assert record.core_stats.medals == []


# -- durations and dates ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("PT0S", timedelta(0)),
        ("P17DT10H55M53.7685509S", timedelta(days=17, hours=10, minutes=55, seconds=53.768551)),
        ("PT1H55M54S", timedelta(hours=1, minutes=55, seconds=54)),
        ("PT6.9S", timedelta(seconds=6.9)),
        ("PT18M31.2141873S", timedelta(minutes=18, seconds=31.214187)),
        ("P2D", timedelta(days=2)),
        ("P1W", timedelta(weeks=1)),
        ("PT0,5S", timedelta(seconds=0.5)),
        ("-PT5S", timedelta(seconds=-5)),
        ("pt2m", timedelta(minutes=2)),
        (" PT1S ", timedelta(seconds=1)),
    ],
)
def test_durations(text: str, expected: timedelta) -> None:
    assert _Timed.parse({"Took": text}).took == expected


class _Timed(m.HaloModel):
    took: m.HaloDuration
    maybe: m.HaloDuration | None = None


@pytest.mark.parametrize("text", ["", "P", "PT", "1H", "PT1H2", "PTS", "PT-1S", "PT1S junk"])
def test_bad_durations_are_halo_data_errors(text: str) -> None:
    with pytest.raises(HaloDataError):
        _Timed.parse({"Took": text})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # pydantic's reading, which the bot now uses: years are 365 days, months 30.
        ("P1DT", timedelta(days=1)),
        ("P1Y", timedelta(days=365)),
        ("P1M", timedelta(days=30)),
        ("PT1.S", timedelta(seconds=1)),
    ],
)
def test_durations_pydantic_reads_too(text: str, expected: timedelta) -> None:
    assert _Timed.parse({"Took": text}).took == expected


def test_duration_overflow_is_halo_data_error() -> None:
    with pytest.raises(HaloDataError):
        _Timed.parse({"Took": "P99999999999D"})


def test_null_and_numeric_durations() -> None:
    assert _Timed.parse({"Took": None, "Maybe": None}) == _Timed(took=timedelta(0), maybe=None)
    assert _Timed.parse(b'{"Took": 90, "Maybe": 1.5}') == _Timed(
        took=timedelta(seconds=90), maybe=timedelta(seconds=1.5)
    )


class _Dated(m.HaloModel):
    when: m.HaloDateTime
    maybe: m.HaloDateTime | None = None


@pytest.mark.parametrize(
    "value",
    [
        {"ISO8601Date": "2024-04-30T18:00:00.000Z"},
        {"iso8601date": "2024-04-30T18:00:00Z"},
        "2024-04-30T18:00:00.00Z",
        "2024-04-30T20:00:00+02:00",
        "2024-04-30T18:00:00",
        {"ISO8601Date": "2024-04-30T18:00:00.0000000Z", "Other": 1},
    ],
)
def test_datetime_forms_are_utc(value: object) -> None:
    parsed = _Dated.parse({"When": value})
    assert parsed.when == datetime(2024, 4, 30, 18, tzinfo=UTC)
    assert parsed.when.tzinfo is UTC
    assert parsed.maybe is None


@pytest.mark.parametrize("value", [{"Date": "2024-04-30"}, "not a date", 12.5j, None])
def test_bad_datetimes_are_halo_data_errors(value: object) -> None:
    with pytest.raises(HaloDataError):
        _Dated.parse({"When": value})


# -- medals ----------------------------------------------------------------------------


def test_medal_metadata() -> None:
    meta = m.MedalMetadata.parse(raw("recorded/get_medal_metadata.json"))
    assert len(meta.medals) == 151
    medal = meta.medal(622331684)
    assert medal is not None
    assert str(medal.name) == "Double Kill"
    assert medal.description.value == "Kill 2 enemies in quick succession"
    assert medal.personal_score == 50
    assert meta.medal(1) is None


def test_medal_names_plain_or_null() -> None:
    meta = m.MedalMetadata.parse(
        {"medals": [{"nameId": 5, "name": "Plain"}, {"nameId": 6, "name": None}], "types": None}
    )
    assert str(meta.medal(5).name) == "Plain"  # type: ignore[union-attr]
    assert meta.medal(6) == m.Medal(name_id=6)


# -- Operations, events, reward tracks ---------------------------------------------------


def test_player_operations_recorded() -> None:
    ops = m.PlayerOperations.parse(raw("recorded/get_player_reward_track_operations.json"))
    assert len(ops.operation_reward_tracks) == 3
    active = ops.active
    assert active is not None
    assert active.track_id == "S05OpPassM01"
    assert (active.current_progress.rank, active.current_progress.partial_progress) == (5, 250)
    assert active.is_owned
    assert active.track_type is None
    assert ops.scheduled is None
    assert ops.track("s05oppassl01") is not None
    assert ops.track("RewardTracks/Operations/S05OpPassM02.json") is not None
    assert ops.track("nope") is None


def test_player_operations_article() -> None:
    ops = m.PlayerOperations.parse(raw("from-seeds/economy_player_operations.json"))
    assert len(ops.operation_reward_tracks) == 15
    assert ops.active is not None and ops.active.track_id == "S07Op01"
    assert ops.scheduled is not None and ops.scheduled.track_id == "S07Op01"
    first = ops.operation_reward_tracks[0]
    assert first.track_type == "Operation"
    assert first.previous_progress is None
    assert first.base_xp is None and first.boost_xp is None
    assert first.current_progress.has_reached_max_rank is True


def test_operation_and_event_progress() -> None:
    operation = m.PlayerRewardTrack.parse(
        raw("from-seeds/economy_player_operation_S06OpPassM03.json")
    )
    assert operation.track_id == "S06OpPassM03"
    assert operation.current_progress.rank == 20
    assert operation.current_progress.has_reached_max_rank
    event = m.PlayerRewardTrack.parse(raw("from-seeds/economy_player_event_ritualWinter.json"))
    assert event.track_id == "ritualWinterGiveaway"
    assert event.track_type == "Event"
    assert event.current_progress.rank == 3
    assert event.current_progress.is_owned is False


def test_operation_reward_track_localized() -> None:
    track = m.RewardTrack.parse(raw("recorded/get_operation_reward_track.json"))
    assert track.track_id is None
    assert track.name.value == "Combined Arms"
    assert track.name.status == "Published"
    assert track.xp_per_rank == 1000
    assert track.max_rank == 6
    last = track.rank(6)
    assert last is not None
    assert last.free_rewards.currency_rewards[0].currency_path == "Currency/xpboost.json"
    assert track.rank(7) is None
    assert track.xp_for_rank(3) == 1000
    assert track.battle_pass_image == "progression/operations/combined_arms.png"


def test_event_reward_track_plain_strings() -> None:
    track = m.RewardTrack.parse(raw("from-seeds/gamecms_rewardtrack_event_ritualOlympus.json"))
    assert track.track_id == "ritualOlympus"
    assert str(track.name) == "Tactical Ops"
    assert track.date_range.value == "March 8th, 2022 - March 21st, 2022"
    assert track.is_ritual is True
    assert track.week_number is None
    assert (track.xp_per_rank, track.max_rank) == (1, 10)
    first = track.rank(1)
    assert first is not None
    assert first.free_rewards.inventory_rewards[0].type == "SpartanActionPose"


def test_operation_reward_track_article() -> None:
    track = m.RewardTrack.parse(raw("from-seeds/gamecms_rewardtrack_operation_S07Op01.json"))
    assert (track.track_id, str(track.name), track.operation_number) == (
        "S07Op01",
        "Banished Honor",
        7001,
    )
    assert track.max_rank == 20
    assert track.date_range.value == ""
    assert track.battle_pass_bundle_image == "progression/RewardTracks/S7_BH_SpartanMajor.png"


def test_career_track_and_rank() -> None:
    track = m.RewardTrack.parse(raw("recorded/get_career_reward_track.json"))
    assert track.track_id == "careerRank1"
    assert track.max_rank == 272
    first = track.rank(1)
    assert first is not None and first.rank_title is not None
    assert first.rank_title.value == "Recruit"
    assert first.tier_type == "Bronze"
    assert track.xp_for_rank(1) == 100
    assert (track.date_range.value, track.date_range.status) == ("", "Test")


# -- playlists and matches ---------------------------------------------------------------


def test_playlist() -> None:
    playlist = m.Playlist.parse(raw("recorded/get_playlist.json"))
    assert playlist.public_name == "Ranked Arena"
    assert playlist.asset_id == "edfef3ac-9cbe-4fa2-b949-8f29deafd483"
    assert playlist.has_csr is None
    assert playlist.is_ranked
    assert len(playlist.rotation_entries) == 17
    entry = playlist.rotation_entries[0]
    assert entry.public_name == "Ranked:CTF on Bazaar"
    assert entry.metadata is not None and entry.metadata.weight == 95.0


def test_playlist_has_csr_wins_over_known_ids() -> None:
    known = m.Playlist.parse({"AssetId": "EDFEF3AC-9CBE-4FA2-B949-8F29DEAFD483", "HasCsr": False})
    assert not known.is_ranked
    other = m.Playlist.parse({"AssetId": "00000000-0000-0000-0000-000000000000", "HasCsr": True})
    assert other.is_ranked
    plain = m.Playlist.parse({"AssetId": "00000000-0000-0000-0000-000000000000"})
    assert not plain.is_ranked


def test_match_history() -> None:
    history = m.MatchHistory.parse(raw("recorded/get_match_history.json"))
    assert (history.start, history.count, history.result_count) == (0, 25, 25)
    assert len(history.results) == 25
    first = history.results[0]
    assert first.match_id == "63391382-6b88-43f9-9ff4-6313404c419c"
    assert first.outcome == 3 and first.outcome_name == "Loss"
    info = first.match_info
    assert info.start_time == datetime(2025, 1, 29, 4, 20, 33, 441000, tzinfo=UTC)
    assert info.duration == timedelta(minutes=18, seconds=31.214187)
    assert info.game_variant_name == "Oddball"
    assert info.playlist is not None
    assert info.playlist.asset_id == "edfef3ac-9cbe-4fa2-b949-8f29deafd483"
    assert info.season_id == "Csr/Seasons/CsrSeason9-1.json"
    categories = {entry.match_info.game_variant_category for entry in history.results}
    assert 41 in categories  # not in our table: kept, named "Unknown"
    unknown = next(e for e in history.results if e.match_info.game_variant_category == 41)
    assert unknown.match_info.game_variant_name == "Unknown"


def test_unknown_codes_are_kept() -> None:
    entry = m.MatchHistoryEntry.parse(
        {
            "MatchId": "x",
            "MatchInfo": {"StartTime": "2025-01-01T00:00:00Z", "GameVariantCategory": "NewMode"},
            "Outcome": 9,
        }
    )
    assert entry.outcome_name == "Unknown"
    assert entry.match_info.game_variant_category == "NewMode"
    assert entry.match_info.game_variant_name == "NewMode"
    assert entry.match_info.playlist is None


# -- tolerance -------------------------------------------------------------------------


def test_unknown_fields_are_ignored_everywhere() -> None:
    payload = data("recorded/get_player_reward_track_operations.json")
    payload["BrandNewField"] = {"deep": [1, 2, 3]}
    payload["OperationRewardTracks"][0]["Sparkle"] = True
    payload["OperationRewardTracks"][0]["CurrentProgress"]["Prestige"] = 4
    ops = m.PlayerOperations.parse(payload)
    assert ops == m.PlayerOperations.parse(raw("recorded/get_player_reward_track_operations.json"))
    assert "BrandNewField" not in ops.model_dump(by_alias=True)


def test_snake_case_names_are_accepted_too() -> None:
    progress = m.RewardTrackProgress.parse({"partial_progress": 3})
    assert progress.partial_progress == 3
    assert m.RewardTrackProgress.parse({"PartialProgress": 3}) == progress


# -- errors ----------------------------------------------------------------------------

SECRET = "xuid(2535445291321133)-payload-marker"


@pytest.mark.parametrize(
    "payload",
    [
        b"{not json",
        f'{{"Value": [{{"Id": "{SECRET}"'.encode(),
        b"\xff\xfe\x00garbage",
        b"",
        "   ",
        "null",
        "[]",
        f'["{SECRET}"]',
        '{"Value": "not a list"}',
        f'{{"Value": [{{"Id": "{SECRET}", "Result": {{"Current": {{"Value": "high"}}}}}}]}}',
        {"Value": [{"ResultCode": 0}]},
        [1, 2, 3],
        None,
        42,
    ],
)
def test_unreadable_answers_are_halo_data_errors(payload: object) -> None:
    with pytest.raises(HaloDataError) as caught:
        m.PlaylistCsr.parse(payload)
    assert caught.value.message == "Halo returned data we could not read."
    assert str(caught.value) == "Halo returned data we could not read."
    assert SECRET not in caught.value.message
    assert isinstance(caught.value.__cause__, ValueError)


def test_wrong_model_for_the_answer_is_an_error() -> None:
    with pytest.raises(HaloDataError) as caught:
        m.parse(m.ProfileUser, raw("recorded/get_service_record.json"))
    assert isinstance(caught.value.__cause__, ValidationError)
    with pytest.raises(HaloDataError):
        m.ProfileUsers.parse(raw("recorded/get_user.json"))


def test_parse_accepts_memoryview() -> None:
    parsed = m.parse(m.PlaylistCsr, memoryview(raw("recorded/get_playlist_csr.json")))
    assert parsed.value[0].id == "xuid(2535445291321133)"


def test_track_id_from_path() -> None:
    assert m.track_id_from_path("RewardTracks/Operations/S07Op01.json") == "S07Op01"
    assert m.track_id_from_path("Csr/Seasons/CsrSeason5-1.JSON") == "CsrSeason5-1"
    assert m.track_id_from_path("ritualOlympus") == "ritualOlympus"


def test_null_sub_objects_and_lists_read_as_defaults() -> None:
    track = m.PlayerRewardTrack.parse(
        {"RewardTrackPath": None, "CurrentProgress": None, "PreviousProgress": None}
    )
    assert track.reward_track_path == ""
    assert track.current_progress.rank == 0
    assert track.previous_progress is None
    rank = m.RewardTrackRank.parse(
        {"Rank": 1, "FreeRewards": None, "PaidRewards": {"InventoryRewards": None}}
    )
    assert rank.free_rewards.inventory_rewards == []
    assert rank.paid_rewards.inventory_rewards == []
    history = m.MatchHistory.parse({"Results": None})
    assert history.results == []
