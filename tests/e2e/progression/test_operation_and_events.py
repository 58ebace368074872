"""/operation and /events end to end: the real bot against the fake Discord and the fake Halo."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pytest

from bot.features.progression.cog import Progression
from tests.fakes.halo_server import (
    EMPTY_PLAYER,
    EXTRA_EVENTS,
    MODERN_PLAYER,
    NOBLE_SIX,
    RECORDED_PLAYER,
    FakeHalo,
    fixture,
)
from tests.support.discord import OTHER_USER_ID, USER_ID
from tests.support.replies import fields, private_error, public_embed
from tests.support.world import World, running_world

CALENDAR_PATH = "/hi/progression/file/calendars/seasons/seasoncalendar.json"
OPERATIONS_LIST = "economy.svc.halowaypoint.com/hi/players/xuid({xuid})/rewardtracks/operations"
EVENT_PROGRESS = "economy.svc.halowaypoint.com/hi/players/xuid({xuid})/rewardtracks/events/"
ECONOMY = "economy.svc.halowaypoint.com"
GAMECMS = "gamecms-hacs.svc.halowaypoint.com"


def ts(iso: str) -> int:
    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp())


#: Banished Honor (S07Op01) in the calendar: 2024-04-30T18:00Z to 2024-06-04T18:00Z.
BANISHED_HONOR_DATES = f"<t:{ts('2024-04-30T18:00:00Z')}:D> – <t:{ts('2024-06-04T18:00:00Z')}:D>"
#: Tactical Ops, as article 000 gives it: March 8th, 2022 - March 21st, 2022.
TACTICAL_OPS_DATES = f"<t:{ts('2022-03-08T12:00:00Z')}:D> – <t:{ts('2022-03-21T12:00:00Z')}:D>"


async def warmed(world: World) -> Progression:
    """The cog, once its start-up catalogue build is over (so request counts are exact).

    (The extension loader imports ``bot.features.progression.cog`` afresh, so no isinstance check.)
    """
    cog = cast(Progression, world.bot.get_cog("Progression"))
    assert type(cog).__name__ == "Progression"
    if cog.service.warm_task is not None:
        await cog.service.warm_task
    return cog


def field(embed: dict[str, Any], name: str) -> str:
    for item in embed.get("fields", []):
        if item["name"] == name:
            return str(item["value"])
    raise AssertionError(f"no field {name!r} in {[f['name'] for f in embed.get('fields', [])]}")


# -- /operation ----------------------------------------------------------------------------


async def test_operation_classic_gamertag_shows_active_operation(world: World) -> None:
    await warmed(world)
    rec = await world.invoke("operation", {"player": "noble six"})
    embed = public_embed(rec)
    assert embed["title"] == "Banished Honor"  # from S07Op01's reward track file
    assert "Active Operation of **Noble Six**" in embed["description"]
    assert BANISHED_HONOR_DATES in embed["description"]
    assert field(embed, "Rank") == "20 of 20 (max)"
    assert field(embed, "XP") == "Max rank reached"
    assert field(embed, "Premium track") == "Owned"
    others = field(embed, "Other owned Operations (11)")
    assert "Combined Arms" in others and "✓" in others
    assert "Banished Honor" not in others
    assert embed["footer"]["text"] == f"S07Op01 · XUID {NOBLE_SIX.xuid}"
    assert world.halo.count(OPERATIONS_LIST.format(xuid=NOBLE_SIX.xuid)) == 1


async def test_operation_modern_gamertag(world: World) -> None:
    rec = await world.invoke("operation", {"player": MODERN_PLAYER.gamertag})
    embed = public_embed(rec)
    assert embed["title"] == "Banished Honor"
    assert "**Sïerra\\#2468**" in embed["description"]
    assert field(embed, "Rank") == "20 of 20 (max)"
    assert world.halo.count(OPERATIONS_LIST.format(xuid=MODERN_PLAYER.xuid)) == 1


async def test_operation_by_xuid_shows_partial_xp(world: World) -> None:
    rec = await world.invoke("operation", {"player": f"xuid({RECORDED_PLAYER.xuid})"})
    embed = public_embed(rec)
    assert embed["title"] == "Combined Arms"  # the recorded reward track's name
    assert "**aCurtis X89**" in embed["description"]
    assert field(embed, "Rank") == "5 of 6"
    assert field(embed, "XP") == "250 / 1,000 XP toward rank 6"
    assert field(embed, "Premium track") == "Owned"
    # S05OpPassL01 is owned and complete; S05OpPassM02 is not owned so not listed.
    assert field(embed, "Other owned Operations (1)") == (
        "**Combined Arms** (S05OpPassL01): 6 of 6 (max) ✓"
    )
    # No gamertag lookup for a XUID the bot does not know: one batch profile call.
    assert world.halo.count("profile.svc.halowaypoint.com/users/gt") == 0


async def test_operation_bare_xuid(world: World) -> None:
    rec = await world.invoke("operation", {"player": str(RECORDED_PLAYER.xuid)})
    assert field(public_embed(rec), "Rank") == "5 of 6"


async def test_operation_linked_member_mention(world: World) -> None:
    await world.db.accounts.link(OTHER_USER_ID, str(RECORDED_PLAYER.xuid), RECORDED_PLAYER.gamertag)
    rec = await world.invoke("operation", {"player": f"<@{OTHER_USER_ID}>"})
    embed = public_embed(rec)
    assert "**aCurtis X89**" in embed["description"]
    assert field(embed, "Rank") == "5 of 6"


async def test_operation_without_player_uses_the_callers_link(world: World) -> None:
    await world.db.accounts.link(USER_ID, str(NOBLE_SIX.xuid), NOBLE_SIX.gamertag)
    rec = await world.invoke("operation")
    embed = public_embed(rec)
    assert "**Noble Six**" in embed["description"]
    assert embed["title"] == "Banished Honor"


async def test_operation_player_without_operations(world: World) -> None:
    rec = await world.invoke("operation", {"player": EMPTY_PLAYER.gamertag})
    embed = private_error(rec)
    assert embed["title"] == "No data"
    assert "**Empty Record** has no Operations" in embed["description"]


async def test_operation_option_by_track_id_shows_that_one(world: World) -> None:
    rec = await world.invoke(
        "operation", {"player": f"xuid({RECORDED_PLAYER.xuid})", "operation": "S05OpPassM02"}
    )
    embed = public_embed(rec)
    assert embed["title"] == "Combined Arms"
    assert embed["description"].startswith("Operation of **aCurtis X89**")  # not the active one
    assert field(embed, "Rank") == "0 of 6"
    assert field(embed, "XP") == "0 / 1,000 XP toward rank 1"
    assert field(embed, "Premium track") == "Not owned"
    assert embed["footer"]["text"].startswith("S05OpPassM02")
    others = field(embed, "Other owned Operations (2)")
    assert "(S05OpPassM01): 5 of 6 · 83%" in others


async def test_operation_option_by_name(world: World) -> None:
    rec = await world.invoke("operation", {"player": NOBLE_SIX.gamertag, "operation": "banished"})
    embed = public_embed(rec)
    assert embed["title"] == "Banished Honor"
    assert embed["description"].startswith("Active Operation of **Noble Six**")


async def test_operation_option_not_in_the_players_list_asks_halo(world: World) -> None:
    rec = await world.invoke(
        "operation", {"player": f"xuid({RECORDED_PLAYER.xuid})", "operation": "S07Op01"}
    )
    embed = private_error(rec)
    assert embed["title"] == "No data"
    assert "**aCurtis X89** has no progress in Banished Honor" in embed["description"]
    path = f"{OPERATIONS_LIST.format(xuid=RECORDED_PLAYER.xuid)}/S07Op01"
    assert world.halo.count(path) == 1


async def test_operation_unknown_operation(world: World) -> None:
    rec = await world.invoke(
        "operation", {"player": NOBLE_SIX.gamertag, "operation": "Halo 2 Anniversary **x**"}
    )
    embed = private_error(rec)
    assert embed["title"] == "Unknown Operation"
    assert "Halo 2 Anniversary \\*\\*x\\*\\*" in embed["description"]


async def test_operation_autocomplete_from_the_catalogue(world: World) -> None:
    await warmed(world)
    before = len(world.halo.requests)
    choices = await world.autocomplete("operation", {"operation": "ban"}, focused="operation")
    assert choices == [{"name": "Banished Honor · Apr 2024", "value": "S07Op01"}]
    everything = await world.autocomplete("operation", {"operation": ""}, focused="operation")
    assert len(everything) == 14  # every Operation of the season calendar, newest first
    assert everything[0]["value"] == "S07Op03"
    assert everything[-1]["value"] == "battlepass-noblesacrifice"
    assert len(world.halo.requests) == before  # answered from the cache


async def test_player_autocomplete_is_offered(world: World) -> None:
    await world.db.accounts.link(USER_ID, str(NOBLE_SIX.xuid), NOBLE_SIX.gamertag)
    for command in ("operation", "events"):
        choices = await world.autocomplete(command, {"player": "nob"}, focused="player")
        assert choices == [{"name": "Noble Six (you)", "value": f"xuid({NOBLE_SIX.xuid})"}]


# -- /events ---------------------------------------------------------------------------------


async def test_events_classic_gamertag_current_recent_and_missing(world: World) -> None:
    await warmed(world)
    world.halo.set_event_progress(NOBLE_SIX.xuid, "ritualSynthwave", 4)
    world.halo.set_event_progress(NOBLE_SIX.xuid, "S04Fracture", 10)
    rec = await world.invoke("events", {"player": NOBLE_SIX.gamertag})
    embed = public_embed(rec)
    assert embed["title"] == "Noble Six: events"
    shown = fields(embed)
    # The three events the calendar misses, and the most recent calendar ones.
    assert list(shown) == [
        "S04Fracture",
        "S04Narrative2",
        "S04Casual",
        "Cyber Showdown",
        "Noble Intentions",
        "Tactical Ops",
    ]
    assert shown["Cyber Showdown"].startswith("Rank 4 of 10\n")
    assert shown["S04Fracture"].startswith("Rank 10 of 10 (max)\n")
    assert "Ran 4 times" in shown["S04Fracture"]  # de-duplicated: one entry for four runs
    assert shown["Noble Intentions"].startswith("Not played\n")
    assert TACTICAL_OPS_DATES in shown["Tactical Ops"]
    sep_2023 = f"<t:{ts('2023-09-26T18:00:00Z')}:D> – <t:{ts('2023-10-03T18:00:00Z')}:D>"
    assert sep_2023 in shown["S04Fracture"]  # its latest run
    for value in shown.values():
        assert re.search(r"<t:\d+:D> – <t:\d+:D>", value)
    assert embed["footer"]["text"] == f"Ranks earned in 2 of 6 events · XUID {NOBLE_SIX.xuid}"
    # One progress call per event shown, never more than six.
    calls = world.halo.requests_to(EVENT_PROGRESS.format(xuid=NOBLE_SIX.xuid))
    assert sorted(r.path.rsplit("/", 1)[1] for r in calls) == sorted(
        ["S04Fracture", "S04Narrative2", "S04Casual", *EXTRA_EVENTS]
    )


async def test_events_modern_gamertag(world: World) -> None:
    world.halo.set_event_progress(MODERN_PLAYER.xuid, "ritualOlympus", 7)
    rec = await world.invoke("events", {"player": MODERN_PLAYER.gamertag})
    embed = public_embed(rec)
    assert embed["title"] == "Sïerra\\#2468: events"
    assert field(embed, "Tactical Ops").startswith("Rank 7 of 10\n")


async def test_events_by_xuid(world: World) -> None:
    world.halo.set_event_progress(RECORDED_PLAYER.xuid, "ritualNobleIntentions", 10)
    rec = await world.invoke("events", {"player": f"xuid({RECORDED_PLAYER.xuid})"})
    embed = public_embed(rec)
    assert embed["title"] == "aCurtis X89: events"
    assert field(embed, "Noble Intentions").startswith("Rank 10 of 10 (max)\n")


async def test_events_linked_member_mention(world: World) -> None:
    await world.db.accounts.link(OTHER_USER_ID, str(NOBLE_SIX.xuid), NOBLE_SIX.gamertag)
    world.halo.set_event_progress(NOBLE_SIX.xuid, "S04Casual", 3)
    rec = await world.invoke("events", {"player": f"<@{OTHER_USER_ID}>"})
    embed = public_embed(rec)
    assert embed["title"] == "Noble Six: events"
    assert field(embed, "S04Casual").startswith("Rank 3 of 10\n")


async def test_events_without_player_uses_the_callers_link(world: World) -> None:
    await world.db.accounts.link(USER_ID, str(MODERN_PLAYER.xuid), MODERN_PLAYER.gamertag)
    world.halo.set_event_progress(MODERN_PLAYER.xuid, "ritualSynthwave", 1)
    rec = await world.invoke("events")
    assert public_embed(rec)["title"] == "Sïerra\\#2468: events"


async def test_events_player_without_any_rank(world: World) -> None:
    rec = await world.invoke("events", {"player": EMPTY_PLAYER.gamertag})
    embed = private_error(rec)
    assert embed["title"] == "No data"
    assert "**Empty Record** has no rank in the current or recent events" in embed["description"]


async def test_events_one_event_that_ran_twice(world: World) -> None:
    # ritualWinterGiveaway: rank 3 in the recorded sample (article 000).
    rec = await world.invoke(
        "events", {"player": NOBLE_SIX.gamertag, "event": "ritualWinterGiveaway"}
    )
    embed = public_embed(rec)
    assert embed["title"] == "ritualWinterGiveaway"  # the name its reward track file gives
    assert "Event progress of **Noble Six**" in embed["description"]
    assert field(embed, "Rank") == "3 of 10"
    assert field(embed, "Dates (ran 2 times)") == (
        f"<t:{ts('2021-12-21T17:00:00Z')}:D> – <t:{ts('2022-01-04T17:00:00Z')}:D>\n"
        f"<t:{ts('2021-11-16T17:00:00Z')}:D> – <t:{ts('2021-12-03T17:00:00Z')}:D>"
    )
    assert world.halo.count(EVENT_PROGRESS.format(xuid=NOBLE_SIX.xuid)) == 1


async def test_events_one_missing_event_by_name(world: World) -> None:
    world.halo.set_event_progress(NOBLE_SIX.xuid, "ritualOlympus", 5)
    rec = await world.invoke("events", {"player": NOBLE_SIX.gamertag, "event": "tactical ops"})
    embed = public_embed(rec)
    assert embed["title"] == "Tactical Ops"
    assert "Test your aim in a high stakes battle" in embed["description"]
    assert field(embed, "Rank") == "5 of 10"
    assert field(embed, "Dates") == TACTICAL_OPS_DATES
    path = EVENT_PROGRESS.format(xuid=NOBLE_SIX.xuid) + "ritualOlympus"
    assert world.halo.count(path) == 1


async def test_events_one_event_never_played(world: World) -> None:
    rec = await world.invoke(
        "events", {"player": NOBLE_SIX.gamertag, "event": "ritualNobleIntentions"}
    )
    embed = private_error(rec)
    assert embed["title"] == "No data"
    assert "**Noble Six** never earned a rank in Noble Intentions" in embed["description"]


async def test_events_unknown_event(world: World) -> None:
    await warmed(world)
    rec = await world.invoke("events", {"player": NOBLE_SIX.gamertag, "event": "Nope"})
    embed = private_error(rec)
    assert embed["title"] == "Unknown event"
    assert "**Nope**" in embed["description"]
    assert world.halo.count(ECONOMY) == 0


async def test_events_autocomplete_includes_the_missing_events(world: World) -> None:
    await warmed(world)
    before = len(world.halo.requests)
    assert await world.autocomplete("events", {"event": "cyber"}, focused="event") == [
        {"name": "Cyber Showdown · Mar 2022", "value": "ritualSynthwave"}
    ]
    everything = await world.autocomplete("events", {"event": ""}, focused="event")
    values = [c["value"] for c in everything]
    assert set(EXTRA_EVENTS) <= set(values)
    assert len(values) == len(set(values)) == 17  # 14 calendar events once each, plus 3
    assert values[0] == "S04Fracture"  # newest first
    assert len(world.halo.requests) == before


async def test_events_running_event_comes_first(tmp_path: Path) -> None:
    now = datetime.now(UTC)
    calendar = fixture("from-seeds/gamecms_seasoncalendar.json")
    start, end = now - timedelta(days=2), now + timedelta(days=5)
    calendar["Events"].append(
        {
            "RewardTrackPath": "RewardTracks/Events/Rituals/ritualWinterGiveaway.json",
            "StartDate": {"ISO8601Date": start.strftime("%Y-%m-%dT%H:%M:%S.00Z")},
            "EndDate": {"ISO8601Date": end.strftime("%Y-%m-%dT%H:%M:%S.00Z")},
        }
    )
    async with FakeHalo() as halo:
        halo.set_file(CALENDAR_PATH, calendar)
        async with running_world(tmp_path, halo=halo) as world:
            rec = await world.invoke("events", {"player": NOBLE_SIX.gamertag})
            embed = public_embed(rec)
            first = embed["fields"][0]
            assert first["name"] == "ritualWinterGiveaway (running now)"
            assert first["value"].startswith("Rank 3 of 10\n")
            assert f"ends <t:{int(end.replace(microsecond=0).timestamp())}:R>" in first["value"]
            assert "Ran 3 times" in first["value"]
            assert len(embed["fields"]) == 6
            world.discord.assert_healthy()


# -- upstream failures -----------------------------------------------------------------------


COMMANDS = {
    "operation": ({"player": NOBLE_SIX.gamertag}, f"{ECONOMY}/hi/players"),
    "events": ({"player": NOBLE_SIX.gamertag}, f"{ECONOMY}/hi/players"),
}

FAILURES: dict[str, tuple[dict[str, Any], str, str]] = {
    "429": ({"retry_after": 30}, "Slow down", "try again in 30 seconds"),
    "500": ({"status": 500, "times": None}, "Halo is not answering", "aren't answering"),
    "503": ({"status": 503, "times": None}, "Halo is not answering", "aren't answering"),
    "401": ({"status": 401, "times": None}, "Halo sign-in expired", "`halo-bot login`"),
    "malformed": (
        {"status": 200, "body": b'{"ActiveOperation', "times": None},
        "Unreadable answer from Halo",
        "could not read",
    ),
}


@pytest.mark.parametrize("failure", sorted(FAILURES))
@pytest.mark.parametrize("command", sorted(COMMANDS))
async def test_upstream_failures_are_clear_private_errors(
    world: World, command: str, failure: str
) -> None:
    await warmed(world)
    options, pattern = COMMANDS[command]
    fault, title, words = FAILURES[failure]
    world.halo.fail(pattern, **fault)
    rec = await world.invoke(command, options)
    embed = private_error(rec)
    assert embed["title"] == title
    assert words in embed["description"]
    assert rec.deleted_original  # the public "thinking..." is gone, nothing half-shown
    assert world.halo.count(pattern) >= 1


async def test_operation_404_means_player_not_found(world: World) -> None:
    world.halo.fail(OPERATIONS_LIST.format(xuid=NOBLE_SIX.xuid), status=404)
    rec = await world.invoke("operation", {"player": NOBLE_SIX.gamertag})
    embed = private_error(rec)
    assert embed["title"] == "Player not found"
    assert "no record of that player" in embed["description"]


async def test_events_404_means_never_played(world: World) -> None:
    await warmed(world)
    world.halo.fail(EVENT_PROGRESS.format(xuid=NOBLE_SIX.xuid), status=404, times=None)
    world.halo.set_event_progress(NOBLE_SIX.xuid, "ritualSynthwave", 4)  # hidden by the 404s
    rec = await world.invoke("events", {"player": NOBLE_SIX.gamertag})
    embed = private_error(rec)
    assert embed["title"] == "No data"
    assert "**Noble Six** has no rank" in embed["description"]
    assert world.halo.count(EVENT_PROGRESS.format(xuid=NOBLE_SIX.xuid)) == 6


@pytest.mark.parametrize("command", sorted(COMMANDS))
async def test_timeouts_give_halo_unavailable(tmp_path: Path, command: str) -> None:
    async with running_world(tmp_path) as world:  # the short test deadline
        await warmed(world)
        options, pattern = COMMANDS[command]
        world.halo.fail(pattern, hang=True, times=None)
        started = time.monotonic()
        rec = await world.invoke(command, options)
        embed = private_error(rec)
        assert embed["title"] == "Halo is not answering"
        assert time.monotonic() - started < 6
        world.discord.assert_healthy()


@pytest.mark.parametrize("command", sorted(COMMANDS))
async def test_calendar_unavailable_before_the_first_build(tmp_path: Path, command: str) -> None:
    async with FakeHalo() as halo:
        halo.fail("seasoncalendar", status=503, times=None)
        async with running_world(tmp_path, halo=halo) as world:
            await warmed(world)  # failed and was only logged
            rec = await world.invoke(command, COMMANDS[command][0])
            embed = private_error(rec)
            assert embed["title"] == "Halo is not answering"
            # Once Halo is back, the same command works.
            halo.reset_faults()
            world.halo.set_event_progress(NOBLE_SIX.xuid, "ritualSynthwave", 2)
            rec = await world.invoke(command, COMMANDS[command][0])
            assert public_embed(rec)["title"] in ("Banished Honor", "Noble Six: events")
            world.discord.assert_healthy()


@pytest.mark.slow
async def test_autocomplete_answers_fast_while_the_catalogue_is_not_ready(tmp_path: Path) -> None:
    async with FakeHalo() as halo:
        halo.fail("seasoncalendar", hang=True, times=None)
        async with running_world(tmp_path, halo=halo, halo_request_deadline_seconds=2) as world:
            started = time.monotonic()
            choices = await world.autocomplete("operation", {"operation": "ban"}, "operation")
            assert choices == []
            assert time.monotonic() - started < 2.5
            halo.reset_faults()
            halo.release_hangs()
            cog = await warmed(world)
            await cog.service.catalogue.get()  # the next build succeeds
            choices = await world.autocomplete("events", {"event": "noble"}, "event")
            assert [c["value"] for c in choices] == ["ritualNobleIntentions"]
            assert choices[0]["name"].startswith("Noble Intentions")
            world.discord.assert_healthy()


async def test_a_lookup_goes_before_the_start_up_catalogue_build(tmp_path: Path) -> None:
    """The catalogue the bot builds at start-up (the calendar and dozens of reward track
    files) waits on the Halo budget behind members' lookups: a /csr asked while it is
    being built is sent at once, not after the whole catalogue (at 10 requests a second,
    seconds). A member who needs the catalogue itself (/operation) makes the rest of the
    build go first too."""
    async with running_world(tmp_path, settle=False, halo_requests_per_second=10) as world:
        cog = cast(Progression, world.bot.get_cog("Progression"))
        assert cog.service.warm_task is not None and not cog.service.warm_task.done()
        rec = await world.invoke("csr", {"player": NOBLE_SIX.gamertag})
        assert public_embed(rec)["title"] == "Noble Six: ranked CSR"
        paths = [r.path for r in world.halo.requests]
        lookup = [i for i, p in enumerate(paths) if p.startswith("/users/") or "/csrs" in p]
        assert len(lookup) == 5, paths  # the gamertag, then CSR in four playlists
        between = [p for p in paths[lookup[0] : lookup[-1]] if "/RewardTracks/" in p]
        # At most the one catalogue request whose send time was already reserved went in
        # between (before: each of the lookup's steps queued behind up to four).
        assert len(between) <= 1, paths
        assert not cog.service.warm_task.done()

        # /operation needs the catalogue: its member's wait makes the build go first.
        started = len(world.halo.requests)
        rec = await world.invoke("operation", {"player": NOBLE_SIX.gamertag}, timeout=30)
        assert public_embed(rec)["title"] == "Banished Honor"
        assert cog.service.catalogue.cached() is not None
        assert len(world.halo.requests) > started
