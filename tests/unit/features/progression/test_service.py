"""The Operations/events catalogue and the progression embed builders, without the network."""

from __future__ import annotations

import asyncio
import copy
import re
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.common.errors import HaloUnavailableError, NoDataError
from bot.core.embeds import FIELD_VALUE_MAX, TOTAL_MAX
from bot.core.resolver import Player
from bot.features.progression.calendar import (
    KNOWN_MISSING_EVENTS,
    Run,
    catalogue_skeleton,
    parse_date_range,
)
from bot.features.progression.catalogue import (
    Catalogue,
    CatalogueService,
    TrackInfo,
    build_catalogue,
    humanize_track_id,
)
from bot.features.progression.embeds import (
    event_embed,
    events_embed,
    format_run,
    operation_embed,
    rank_text,
    xp_text,
)
from bot.features.progression.standing import Standing
from bot.halo.client import HaloClient
from bot.halo.models import PlayerRewardTrack, RewardTrack, SeasonCalendar
from bot.halo.ratelimit import Priority
from tests.fakes.halo_server import fixture
from tests.support.clock import FakeClock, settle

NOW = datetime(2024, 5, 10, tzinfo=UTC)
PLAYER = Player("2533274800000001", "Noble Six")


def calendar(extra_events: list[dict[str, Any]] | None = None) -> SeasonCalendar:
    data = fixture("from-seeds/gamecms_seasoncalendar.json")
    data["Events"].extend(extra_events or [])
    return SeasonCalendar.parse(data)


def op_track(name: str = "Banished Honor", ranks: int = 20, xp: int = 1000) -> RewardTrack:
    data = fixture("from-seeds/gamecms_rewardtrack_operation_S07Op01.json")
    data["Name"] = name
    data["XpPerRank"] = xp
    data["Ranks"] = [copy.deepcopy(data["Ranks"][0]) | {"Rank": n} for n in range(1, ranks + 1)]
    return RewardTrack.parse(data)


def event_track(name: str, date_range: str = "", ranks: int = 10) -> RewardTrack:
    data = fixture("from-seeds/gamecms_rewardtrack_event_ritualOlympus.json")
    data.update(Name=name, DateRange=date_range)
    data["Ranks"] = data["Ranks"][:ranks]
    return RewardTrack.parse(data)


def progress(rank: int, partial: int = 0, *, owned: bool = True, done: bool = False) -> Any:
    return PlayerRewardTrack.parse(
        {
            "RewardTrackPath": "RewardTracks/Operations/S07Op01.json",
            "CurrentProgress": {
                "Rank": rank,
                "PartialProgress": partial,
                "HasReachedMaxRank": done,
            },
            "IsOwned": owned,
        }
    )


def full_catalogue(**overrides: RewardTrack) -> Catalogue:
    tracks = {"operation:s07op01": op_track(), "event:ritualolympus": event_track("Tactical Ops")}
    tracks.update({k: v for k, v in overrides.items()})
    return build_catalogue(calendar(), tracks)


def ts(moment: datetime) -> int:
    return int(moment.timestamp())


# -- dates -----------------------------------------------------------------------------------


def test_parse_date_range_as_the_article_writes_it() -> None:
    assert parse_date_range("March 8th, 2022 - March 21st, 2022") == (
        datetime(2022, 3, 8, 12, tzinfo=UTC),
        datetime(2022, 3, 21, 12, tzinfo=UTC),
    )
    assert parse_date_range("April 30th, 2024 - June 3rd, 2024") == (
        datetime(2024, 4, 30, 12, tzinfo=UTC),
        datetime(2024, 6, 3, 12, tzinfo=UTC),
    )
    assert parse_date_range("Dec 20 - Jan 3, 2023") is None  # ends before it starts
    assert parse_date_range("Nov. 2nd - Nov 9th, 2022") == (
        datetime(2022, 11, 2, 12, tzinfo=UTC),
        datetime(2022, 11, 9, 12, tzinfo=UTC),
    )


@pytest.mark.parametrize(
    "text",
    [
        "",
        "Coming soon",
        "March 8th",
        "Smarch 8th, 2022 - March 9th, 2022",
        "Feb 30, 2022 - Mar 1, 2022",
    ],
)
def test_parse_date_range_rejects_what_it_cannot_read(text: str) -> None:
    assert parse_date_range(text) is None


@given(st.text(max_size=80))
def test_parse_date_range_never_raises(text: str) -> None:
    result = parse_date_range(text)
    assert result is None or result[0] <= result[1]


def test_humanize_track_id() -> None:
    assert humanize_track_id("ritualWinterGiveaway") == "Winter Giveaway"
    assert humanize_track_id("ritualLoneWolf2") == "Lone Wolf 2"
    assert humanize_track_id("S07Op01") == "S07Op01"


# -- the catalogue ---------------------------------------------------------------------------


def test_skeleton_groups_repeated_events_and_adds_the_missing_ones() -> None:
    skeleton = catalogue_skeleton(calendar())
    events = {tid: (runs, in_cal) for tid, runs, in_cal, _ in skeleton.events}
    assert len(events) == 17  # 14 distinct calendar events + 3 the calendar misses
    runs, in_calendar = events["S03Fracture"]
    assert in_calendar and len(runs) == 5
    assert [r.start for r in runs] == sorted(r.start for r in runs if r.start)
    assert len(events["ritualWinterGiveaway"][0]) == 2
    for missing in KNOWN_MISSING_EVENTS:
        assert events[missing.track_id][1] is False
    olympus_runs = events["ritualOlympus"][0]
    assert olympus_runs == (
        Run(datetime(2022, 3, 8, 12, tzinfo=UTC), datetime(2022, 3, 21, 12, tzinfo=UTC)),
    )
    assert events["ritualSynthwave"][0] == ()  # the article gives no dates for it
    assert len(skeleton.operations) == 14
    assert len(skeleton.track_keys()) == 31


def test_identical_runs_are_kept_once() -> None:
    twice = {
        "RewardTrackPath": "RewardTracks/Events/Rituals/S04Casual.json",
        "StartDate": {"ISO8601Date": "2023-07-18T18:00:00.00Z"},
        "EndDate": {"ISO8601Date": "2023-08-01T18:00:00.00Z"},
    }
    skeleton = catalogue_skeleton(calendar([twice, dict(twice)]))
    runs = next(r for tid, r, _, _ in skeleton.events if tid == "S04Casual")
    assert len(runs) == 1


def test_a_missing_event_the_calendar_lists_after_all_is_not_doubled() -> None:
    listed = {
        "RewardTrackPath": "RewardTracks/Events/Rituals/ritualsynthwave.json",
        "StartDate": {"ISO8601Date": "2022-01-11T18:00:00.00Z"},
        "EndDate": {"ISO8601Date": "2022-01-25T18:00:00.00Z"},
    }
    catalogue = build_catalogue(calendar([listed]), {})
    matches = [e for e in catalogue.events if e.track_id.casefold() == "ritualsynthwave"]
    assert len(matches) == 1
    assert matches[0].in_calendar
    assert matches[0].name == "Cyber Showdown"  # the article's name without a file
    assert matches[0].runs == (
        Run(datetime(2022, 1, 11, 18, tzinfo=UTC), datetime(2022, 1, 25, 18, tzinfo=UTC)),
    )


def test_names_come_from_the_reward_track_files() -> None:
    catalogue = build_catalogue(
        calendar(),
        {
            "operation:s07op01": op_track("Banished Honor", ranks=20),
            "event:ritualsynthwave": event_track("Cyber Showdown!", "Jan 11th - Jan 25th, 2022"),
        },
    )
    banished = catalogue.get("operation", "RewardTracks/Operations/S07Op01.json")
    assert banished is not None
    assert (banished.name, banished.max_rank, banished.xp_for_rank(3)) == (
        "Banished Honor",
        20,
        1000,
    )
    assert banished.season_metadata == "Seasons/Season7-Op1.json"
    cyber = catalogue.get("event", "ritualSynthwave")
    assert cyber is not None and cyber.name == "Cyber Showdown!"
    # No calendar dates: they come from the file's DateRange.
    assert cyber.runs == (
        Run(datetime(2022, 1, 11, 12, tzinfo=UTC), datetime(2022, 1, 25, 12, tzinfo=UTC)),
    )
    # Without a file: the TrackId (humanized for events), the article's name for missing ones.
    assert catalogue.get("operation", "S07Op02").name == "S07Op02"  # type: ignore[union-attr]
    assert catalogue.get("event", "ritualJointFire").name == "Joint Fire"  # type: ignore[union-attr]
    assert catalogue.get("event", "ritualNobleIntentions").name == "Noble Intentions"  # type: ignore[union-attr]
    assert catalogue.get("event", "ritualJointFire").max_rank == 0  # type: ignore[union-attr]


def test_catalogue_is_newest_first_with_undated_last() -> None:
    catalogue = build_catalogue(calendar(), {})
    assert [o.track_id for o in catalogue.operations[:2]] == ["S07Op03", "S07Op02"]
    assert catalogue.operations[-1].track_id == "battlepass-noblesacrifice"
    assert catalogue.events[0].track_id == "S04Fracture"
    assert [e.track_id for e in catalogue.events[-2:]] == [
        "ritualSynthwave",
        "ritualNobleIntentions",
    ]


def test_find_by_track_id_name_or_unique_part() -> None:
    catalogue = full_catalogue()
    assert catalogue.find("operation", "s07op01").track_id == "S07Op01"  # type: ignore[union-attr]
    assert catalogue.find("operation", " banished honor ").track_id == "S07Op01"  # type: ignore[union-attr]
    assert catalogue.find("operation", "banish").track_id == "S07Op01"  # type: ignore[union-attr]
    assert catalogue.find("event", "Tactical").track_id == "ritualOlympus"  # type: ignore[union-attr]
    assert catalogue.find("operation", "S0") is None  # ambiguous
    assert catalogue.find("operation", "nothing like it") is None
    assert catalogue.find("event", "Banished Honor") is None  # an Operation, not an event
    assert catalogue.find("event", "   ") is None


def test_find_equal_names_picks_the_newest() -> None:
    catalogue = build_catalogue(
        calendar(),
        {"operation:s05oppassm01": op_track("Twin"), "operation:s06oppassm01": op_track("Twin")},
    )
    assert catalogue.find("operation", "twin").track_id == "S06OpPassM01"  # type: ignore[union-attr]


def test_suggest_running_first_then_best_match_then_newest() -> None:
    now = datetime.now(UTC)
    running = {
        "RewardTrackPath": "RewardTracks/Events/Rituals/ritualLoneWolf1.json",
        "StartDate": {"ISO8601Date": (now - timedelta(days=1)).isoformat()},
        "EndDate": {"ISO8601Date": (now + timedelta(days=1)).isoformat()},
    }
    catalogue = build_catalogue(calendar([running]), {})
    assert [i.track_id for i in catalogue.suggest("event", "", now)][:2] == [
        "ritualLoneWolf1",
        "S04Fracture",
    ]
    assert [i.track_id for i in catalogue.suggest("event", "lone", now)] == [
        "ritualLoneWolf1",
        "ritualLoneWolf2",
    ]
    assert [i.track_id for i in catalogue.suggest("event", "s04", now, limit=2)] == [
        "S04Fracture",
        "S04Narrative2",
    ]
    assert catalogue.suggest("event", "zzz", now) == []


def test_events_to_show_running_then_missing_then_recent() -> None:
    running = {
        "RewardTrackPath": "RewardTracks/Events/Rituals/ritualEagleStrike.json",
        "StartDate": {"ISO8601Date": "2024-05-07T18:00:00.00Z"},
        "EndDate": {"ISO8601Date": "2024-05-14T18:00:00.00Z"},
    }
    catalogue = build_catalogue(calendar([running]), {})
    shown = catalogue.events_to_show(NOW, limit=6)
    assert [e.track_id for e in shown] == [
        "ritualEagleStrike",
        "S04Fracture",
        "S04Narrative2",
        "ritualOlympus",
        "ritualSynthwave",
        "ritualNobleIntentions",
    ]
    assert shown[0].is_running(NOW)
    assert len(catalogue.events_to_show(NOW, limit=2)) == 2
    assert {e.track_id for e in catalogue.events_to_show(NOW, limit=2)} == {
        "ritualEagleStrike",
        "ritualOlympus",
    }


# -- standings -------------------------------------------------------------------------------


def banished() -> TrackInfo:
    info = full_catalogue().get("operation", "S07Op01")
    assert info is not None
    return info


def test_standing_reads_rank_xp_and_ownership() -> None:
    standing = Standing(banished(), progress(12, 250, owned=False))
    assert (standing.rank, standing.max_rank, standing.partial_xp) == (12, 20, 250)
    assert (standing.xp_needed, standing.percent, standing.owned) == (1000, 60, False)
    assert standing.played and not standing.complete
    assert rank_text(standing) == "12 of 20"
    assert xp_text(standing) == "250 / 1,000 XP toward rank 13"
    done = Standing(banished(), progress(20, done=True))
    assert done.complete and done.xp_needed is None and done.percent == 100
    assert rank_text(done) == "20 of 20 (max)"
    assert xp_text(done) == "Max rank reached"
    never = Standing(banished(), None)
    assert not never.played and not never.owned and never.rank == 0


def test_rank_text_when_the_track_file_is_unknown_or_disagrees() -> None:
    unknown = TrackInfo(kind="operation", track_id="S99", name="S99")
    assert rank_text(Standing(unknown, progress(7))) == "7"
    assert xp_text(Standing(unknown, progress(7, 40))) == "40 XP toward rank 8"
    small = build_catalogue(calendar(), {"operation:s07op01": op_track(ranks=6)})
    info = small.get("operation", "S07Op01")
    assert info is not None
    assert rank_text(Standing(info, progress(20, done=True))) == "20 (max)"


# -- embeds ----------------------------------------------------------------------------------


def test_operation_embed_shows_rank_xp_premium_and_others() -> None:
    catalogue = full_catalogue(**{"operation:s06oppassm03": op_track("Spirit of Fire")})
    info = catalogue.get("operation", "S07Op01")
    other = catalogue.get("operation", "S06OpPassM03")
    assert info is not None and other is not None
    embed = operation_embed(
        PLAYER,
        Standing(info, progress(12, 250)),
        others=[Standing(other, progress(20, done=True))],
        active=True,
        at=NOW,
    ).to_dict()
    assert embed["title"] == "Banished Honor"
    assert embed["description"].startswith("Active Operation of **Noble Six**\n")
    start, end = datetime(2024, 4, 30, 18, tzinfo=UTC), datetime(2024, 6, 4, 18, tzinfo=UTC)
    assert f"<t:{ts(start)}:D> – <t:{ts(end)}:D> · ends <t:{ts(end)}:R>" in embed["description"]
    values = {f["name"]: f["value"] for f in embed["fields"]}
    assert values == {
        "Rank": "12 of 20",
        "XP": "250 / 1,000 XP toward rank 13",
        "Premium track": "Owned",
        "Other owned Operations (1)": "**Spirit of Fire**: 20 of 20 (max) ✓",
    }
    assert embed["footer"]["text"] == "S07Op01 · XUID 2533274800000001"


def test_operation_embed_escapes_names_and_tells_twins_apart() -> None:
    evil = TrackInfo(kind="operation", track_id="A1", name="**Twin** @everyone", track=op_track())
    twin = TrackInfo(kind="operation", track_id="A2", name="**Twin** @everyone", track=op_track())
    player = Player("1", "x_y*z <@123>")
    embed = operation_embed(
        player,
        Standing(evil, progress(3)),
        others=[Standing(twin, progress(5))],
        active=False,
        at=NOW,
    ).to_dict()
    assert embed["title"] == "\\*\\*Twin\\*\\* @\u200beveryone"
    assert "**x\\_y\\*z <\u200b@\u200b123\\>**" in embed["description"]
    assert embed["description"].startswith("Operation of ")
    assert embed["fields"][3]["value"] == "**\\*\\*Twin\\*\\* @\u200beveryone** (A2): 5 of 20 · 25%"


def test_operation_embed_keeps_within_discord_limits() -> None:
    info = TrackInfo(kind="operation", track_id="X" * 90, name="N" * 300, track=op_track())
    others = [
        Standing(
            TrackInfo(kind="operation", track_id=f"T{n}", name=f"Operation {n} " + "x" * 80),
            progress(n),
        )
        for n in range(200)
    ]
    embed = operation_embed(
        Player("1", "G" * 100), Standing(info, progress(1)), others=others, active=True, at=NOW
    )
    data = embed.to_dict()
    assert len(embed) <= TOTAL_MAX
    assert len(data["title"]) <= 256
    listing = data["fields"][3]["value"]
    assert len(listing) <= FIELD_VALUE_MAX
    assert re.search(r"…and \d+ more$", listing)
    assert data["fields"][3]["name"] == "Other owned Operations (200)"


def test_events_embed_lists_rank_or_not_played_with_dates() -> None:
    catalogue = full_catalogue()
    fracture = catalogue.get("event", "S04Fracture")
    olympus = catalogue.get("event", "ritualOlympus")
    synthwave = catalogue.get("event", "ritualSynthwave")
    assert fracture and olympus and synthwave
    embed = events_embed(
        PLAYER,
        [
            Standing(fracture, progress(4)),
            Standing(olympus, progress(10, done=True)),
            Standing(synthwave, None),
        ],
        at=NOW,
    ).to_dict()
    assert embed["title"] == "Noble Six: events"
    values = {f["name"]: f["value"] for f in embed["fields"]}
    last = Run(datetime(2023, 9, 26, 18, tzinfo=UTC), datetime(2023, 10, 3, 18, tzinfo=UTC))
    assert values["S04Fracture"] == f"Rank 4\n{format_run(last)}\nRan 4 times"
    assert values["Tactical Ops"] == (
        f"Rank 10 of 10 (max)\n<t:{ts(datetime(2022, 3, 8, 12, tzinfo=UTC))}:D> – "
        f"<t:{ts(datetime(2022, 3, 21, 12, tzinfo=UTC))}:D>"
    )
    assert values["Cyber Showdown"] == "Not played"  # no dates known, none invented
    assert embed["footer"]["text"] == "Ranks earned in 2 of 3 events · XUID 2533274800000001"


def test_event_embed_lists_every_run_newest_first() -> None:
    runs = [
        {
            "RewardTrackPath": "RewardTracks/Events/Rituals/S04Casual.json",
            "StartDate": {"ISO8601Date": f"2024-0{m}-01T18:00:00.00Z"},
            "EndDate": {"ISO8601Date": f"2024-0{m}-08T18:00:00.00Z"},
        }
        for m in range(1, 10)
    ]
    catalogue = build_catalogue(calendar(runs), {"event:s04casual": event_track("Casual")})
    info = catalogue.get("event", "S04Casual")
    assert info is not None
    embed = event_embed(PLAYER, Standing(info, progress(2)), at=NOW).to_dict()
    assert embed["title"] == "Casual"
    assert "Test your aim in a high stakes battle" in embed["description"]
    values = {f["name"]: f["value"] for f in embed["fields"]}
    assert values["Rank"] == "2 of 10"
    assert "XP" not in values  # events count ranks, one XP each
    dates = values["Dates (ran 10 times)"].split("\n")
    assert dates[0] == format_run(info.runs[-1])
    assert len(dates) == 9 and dates[-1] == "…and 2 earlier"


def test_event_embed_marks_the_running_event() -> None:
    catalogue = build_catalogue(
        calendar(
            [
                {
                    "RewardTrackPath": "RewardTracks/Events/Rituals/S04Casual.json",
                    "StartDate": {"ISO8601Date": "2024-05-07T18:00:00.00Z"},
                    "EndDate": {"ISO8601Date": "2024-05-14T18:00:00.00Z"},
                }
            ]
        ),
        {},
    )
    info = catalogue.get("event", "S04Casual")
    assert info is not None
    embed = event_embed(PLAYER, Standing(info, progress(1)), at=NOW).to_dict()
    assert embed["title"] == "S04Casual (running now)"
    assert embed["fields"][1]["value"].split("\n")[0].endswith("(now)")


def test_format_run_with_an_open_end() -> None:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    assert format_run(Run(start, None)) == f"<t:{ts(start)}:D> – ?"
    assert format_run(Run(None, None)) == ""
    assert format_run(None) == ""


# -- the service -----------------------------------------------------------------------------


class ScriptedHalo:
    """Answers like HaloClient's static-content methods, counting calls; failures on demand."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.calendar_error: Exception | None = None
        self.track_errors: dict[str, Exception] = {}
        self.gate: asyncio.Event | None = None
        #: The priority of each request, in order.
        self.priorities: list[Priority] = []

    async def get_season_calendar(self, *, priority: Priority) -> SeasonCalendar:
        self.calls.append("calendar")
        self.priorities.append(priority)
        if self.gate is not None:
            await self.gate.wait()
        if self.calendar_error is not None:
            raise self.calendar_error
        return calendar()

    async def _track(self, kind: str, track_id: str) -> RewardTrack:
        self.calls.append(f"{kind}:{track_id}")
        error = self.track_errors.get(track_id)
        if error is not None:
            raise error
        if kind == "operation":
            return op_track(f"Op {track_id}")
        return event_track(f"Event {track_id}")

    async def get_operation_track(self, track_id: str, *, priority: Priority) -> RewardTrack:
        self.priorities.append(priority)
        return await self._track("operation", track_id)

    async def get_event_track(self, track_id: str, *, priority: Priority) -> RewardTrack:
        self.priorities.append(priority)
        return await self._track("event", track_id)


def service(halo: ScriptedHalo, clock: FakeClock | None = None) -> CatalogueService:
    return CatalogueService(cast(HaloClient, halo), clock=clock or FakeClock())


async def test_service_builds_once_for_concurrent_callers_and_caches() -> None:
    halo = ScriptedHalo()
    svc = service(halo)
    first, second = await asyncio.gather(svc.get(), svc.get())
    assert first is second
    assert halo.calls.count("calendar") == 1
    assert len(halo.calls) == 1 + 31  # the calendar, then each reward track file once
    assert first.get("event", "ritualSynthwave").name == "Event ritualSynthwave"  # type: ignore[union-attr]
    assert await svc.get() is first
    assert len(halo.calls) == 32


async def test_service_rebuilds_when_old_and_keeps_the_old_one_on_failure() -> None:
    halo = ScriptedHalo()
    clock = FakeClock()
    svc = service(halo, clock)
    first = await svc.get()
    clock.now += 3601
    halo.calendar_error = HaloUnavailableError("down")
    assert await svc.get() is first  # stale beats nothing
    assert halo.calls.count("calendar") == 2
    halo.calendar_error = None
    rebuilt = await svc.get()
    assert rebuilt is not first and halo.calls.count("calendar") == 3


async def test_service_without_a_catalogue_raises_the_halo_error() -> None:
    halo = ScriptedHalo()
    halo.calendar_error = HaloUnavailableError("Halo's servers aren't answering.")
    svc = service(halo)
    with pytest.raises(HaloUnavailableError):
        await svc.get()
    await svc.warm()  # logged, not raised
    assert svc.cached() is None


async def test_service_stops_reading_files_when_halo_stops_answering() -> None:
    halo = ScriptedHalo()
    halo.track_errors["battlepass-noblesacrifice"] = HaloUnavailableError("down")
    clock = FakeClock()
    svc = CatalogueService(cast(HaloClient, halo), clock=clock, concurrency=1)
    catalogue = await svc.get()
    assert not catalogue.complete
    assert len(halo.calls) == 2  # the calendar and the one that failed; the rest skipped
    assert catalogue.get("operation", "S07Op01").name == "S07Op01"  # type: ignore[union-attr]
    clock.now += 61  # an incomplete catalogue is rebuilt after a minute
    halo.track_errors.clear()
    assert (await svc.get()).complete


async def test_service_missing_file_keeps_the_track_id_and_counts_as_complete() -> None:
    halo = ScriptedHalo()
    halo.track_errors["S07Op02"] = NoDataError("gone")
    catalogue = await service(halo).get()
    assert catalogue.complete
    assert catalogue.get("operation", "S07Op02").name == "S07Op02"  # type: ignore[union-attr]


async def test_autocomplete_waits_briefly_for_the_first_build_only() -> None:
    halo = ScriptedHalo()
    halo.gate = asyncio.Event()
    svc = service(halo)
    assert await svc.for_autocomplete(0.05) is None  # still building: nothing to offer
    halo.gate.set()
    built = await svc.for_autocomplete(2.0)
    assert built is not None and len(built.operations) == 14
    calls = len(halo.calls)
    assert await svc.for_autocomplete(2.0) is built
    assert len(halo.calls) == calls
    await svc.close()


async def test_track_info_for_a_track_the_calendar_does_not_list() -> None:
    halo = ScriptedHalo()
    svc = service(halo)
    catalogue = await svc.get()
    info = await svc.track_info(
        catalogue, "operation", "RewardTracks/Operations/OperationGenBase.json"
    )
    assert (info.track_id, info.name, info.in_calendar) == (
        "OperationGenBase",
        "Op OperationGenBase",
        False,
    )
    halo.track_errors["ritualGone"] = NoDataError("gone")
    assert (await svc.track_info(catalogue, "event", "ritualGone")).name == "Gone"
    halo.track_errors["Down"] = HaloUnavailableError("down")
    with pytest.raises(HaloUnavailableError):
        await svc.track_info(catalogue, "operation", "Down")


async def test_a_build_nobody_waits_for_asks_at_background_priority_until_a_member_waits() -> None:
    halo = ScriptedHalo()
    halo.gate = asyncio.Event()
    svc = service(halo)
    warm = asyncio.create_task(svc.warm())  # start-up: nobody waits
    await settle()
    assert halo.priorities == [Priority.BACKGROUND]  # the calendar, held at the gate
    member = asyncio.create_task(svc.get())  # a member's /operation joins the build
    await settle()
    halo.gate.set()
    await asyncio.gather(warm, member)
    tracks = halo.priorities[1:]
    assert tracks and set(tracks) == {Priority.INTERACTIVE}, halo.priorities

    refresh = service(ScriptedHalo())
    await refresh.warm()
    assert set(cast(ScriptedHalo, refresh.halo).priorities) == {Priority.BACKGROUND}
