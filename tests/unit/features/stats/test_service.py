"""Pure parts of /csr and /servicerecord: seasons, standings, embeds, durations."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from bot.common.text import human_duration
from bot.core.embeds import TOTAL_MAX
from bot.core.playlists import KNOWN_PLAYLISTS, RankedPlaylist, known_playlist
from bot.core.resolver import Player
from bot.features.stats.embeds import (
    csr_embed,
    season_choice,
    service_record_embed,
    standing_text,
)
from bot.features.stats.seasons import Season, build_directory, csr_fallback_name, name_from_path
from bot.features.stats.standings import MedalTally, PlaylistStanding, best_standing
from bot.halo.models import CsrResult, CsrSeasonCalendar, SeasonCalendar, ServiceRecord
from tests.fakes.halo_server import csr_result
from tests.support.paths import HALO_FIXTURES

FIXTURES = HALO_FIXTURES


def load(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def standing(value: int, playlist: RankedPlaylist = KNOWN_PLAYLISTS[0]) -> PlaylistStanding:
    return PlaylistStanding(playlist, CsrResult.model_validate(csr_result(value)))


def test_fallback_names_read_like_words() -> None:
    assert name_from_path("Seasons/Season5-Op1.json") == "Season 5 Op 1"
    assert name_from_path("Seasons/Season-Winter-Break-22.json") == "Season Winter Break 22"
    assert csr_fallback_name("CsrSeason5-1") == "Ranked season 5-1"
    assert csr_fallback_name("Other") == "Other"


def test_directory_merges_both_calendars() -> None:
    calendar = SeasonCalendar.parse(load("from-seeds/gamecms_seasoncalendar.json"))
    csr_calendar = CsrSeasonCalendar.parse(load("recorded/get_csr_season_calendar.json"))
    directory = build_directory(
        calendar, csr_calendar, {"Seasons/Season7-Op1.json": "Banished Honor"}
    )
    ids = [s.season_id for s in directory.csr]
    assert ids[0] == "CsrSeason7-1" and ids[-1] == "CsrSeason1"
    assert len(ids) == len(set(ids))
    s7 = directory.find("csr", "csrseason7-1")
    assert s7 is not None and s7.name == "Banished Honor"
    # Three Operations share CsrSeason7-1: its dates span all three.
    assert s7.start == datetime(2024, 4, 30, 18, tzinfo=UTC)
    assert s7.end == datetime(2024, 7, 30, 18, tzinfo=UTC)
    record = directory.find("record", "Season 5 Op 2")
    assert record is not None and record.season_id == "Seasons/Season5-Op2.json"
    assert directory.find("record", "Seasons/Season7-Op1.json") is not None
    assert directory.find("record", "Season7-Op1") is not None
    assert directory.find("csr", "nothing like it") is None
    at = datetime(2024, 5, 15, tzinfo=UTC)
    assert [s for s in directory.csr if s.is_current(at)] == [s7]
    assert directory.suggest("csr", "", at)[0] == s7


def test_known_playlist_by_short_name_id_and_name() -> None:
    assert known_playlist("arena") == KNOWN_PLAYLISTS[0]
    assert known_playlist("RANKED ARENA") == KNOWN_PLAYLISTS[0]
    assert known_playlist(KNOWN_PLAYLISTS[1].playlist_id) == KNOWN_PLAYLISTS[1]
    assert known_playlist("tactical") is None


def test_best_standing_compares_tier_then_csr() -> None:
    low, high, onyx = standing(1340), standing(1345), standing(1501)
    assert best_standing([low, high]) is high
    assert best_standing([onyx, high]) is onyx
    assert best_standing([PlaylistStanding(KNOWN_PLAYLISTS[0], None)]) is None


def test_sub_tier_edges_in_the_standing_text() -> None:
    assert standing_text(standing(1199)).splitlines()[:2] == [
        "**Platinum 6** · 1,199 CSR",
        "▰▰▰▰▰▰▰▰▰▱ 49 / 50 to Diamond 1",
    ]
    assert standing_text(standing(0)).splitlines()[1] == "▱▱▱▱▱▱▱▱▱▱ 0 / 50 to Bronze 2"
    assert standing_text(standing(1500)).splitlines()[0] == "**Onyx** · 1,500 CSR"


def test_csr_embed_with_hostile_and_long_names_stays_inside_limits() -> None:
    player = Player("1", "@everyone **x**" * 20)
    playlists = [RankedPlaylist(f"id{i}", "Ranked " + "<@&1>" * 60) for i in range(40)]
    embed = csr_embed(player, [standing(1000 + i, p) for i, p in enumerate(playlists)])
    assert len(embed) <= TOTAL_MAX
    assert len(embed.title or "") <= 256
    assert len(embed.fields) <= 25
    assert "@everyone" not in (embed.title or "").replace("@\u200beveryone", "")


def test_service_record_embed_from_the_empty_recording_does_not_divide_by_zero() -> None:
    record = ServiceRecord.parse(load("recorded/get_service_record_empty.json"))
    embed = service_record_embed(Player("1", "x"), record, [], ranked=False)
    values = {f.name: f.value for f in embed.fields}
    assert values["Win rate"] == "–" and values["Accuracy"] == "–"
    assert values["K/D"] == "0.00"
    assert "Top medals" not in values
    medals = [MedalTally("Perfect", 3)]
    embed = service_record_embed(Player("1", "x"), record, medals, ranked=True)
    assert {f.name: f.value for f in embed.fields}["Top medals"] == "Perfect ×3"


def test_season_suggestions_fit_discord_choice_limits() -> None:
    at = datetime(2024, 1, 1, tzinfo=UTC)
    long = Season("csr", "S" * 150, "A season with a very long name " * 5, at, None)
    choice = season_choice(long, at)
    assert len(choice.name) == 100 and choice.name.endswith("…")
    assert choice.value == "S" * 100
    season = Season("csr", "CsrSeason5-1", "Season 5")
    short = season_choice(season, at)
    assert (short.name, short.value) == (season.label(at), "CsrSeason5-1")  # as it is


def test_human_duration() -> None:
    assert human_duration(30) == "under a minute"
    assert human_duration(61) == "1 minute"
    assert human_duration(3 * 3600 + 120) == "3 hours 2 minutes"
    assert human_duration(17 * 86400 + 10 * 3600 + 55 * 60) == "17 days 10 hours"


def test_recorded_service_record_parses() -> None:
    record = ServiceRecord.parse(json.loads(load("recorded/get_service_record.json")))
    assert record.matches_completed == 2664
