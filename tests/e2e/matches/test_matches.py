"""/matches end to end: recorded history, per-page details, button paging."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, cast

import pytest

from bot.features.matches.cog import Matches
from bot.features.matches.embeds import INCOMPLETE
from tests.fakes.halo_server import EMPTY_PLAYER, MODERN_PLAYER, NOBLE_SIX, RECORDED_PLAYER
from tests.support.discord import OTHER_USER_ID, USER_ID
from tests.support.paths import HALO_FIXTURES
from tests.support.world import World

RECORDED = HALO_FIXTURES / "recorded"
HISTORY = r"/hi/players/[^/]+/matches$"
STATS = r"/hi/matches/[^/]+/stats$"
SKILL = r"/hi/matches/[^/]+/skill$"
DISCOVERY = "discovery-infiniteugc.svc.halowaypoint.com/hi/playlists/"


def recorded(name: str) -> Any:
    return json.loads((RECORDED / name).read_text(encoding="utf-8"))


HISTORY_RESULTS: list[dict[str, Any]] = recorded("get_match_history.json")["Results"]


def when(index: int) -> str:
    """The Discord timestamp of recorded match ``index``'s end."""
    end = HISTORY_RESULTS[index]["MatchInfo"]["EndTime"].replace("Z", "+00:00")
    return f"<t:{int(datetime.fromisoformat(end).timestamp())}:R>"


def counts(world: World) -> dict[str, int]:
    return {
        name: world.halo.count(pattern)
        for name, pattern in (
            ("history", HISTORY),
            ("stats", STATS),
            ("skill", SKILL),
            ("playlists", DISCOVERY),
        )
    }


def name_first_pair(world: World) -> None:
    """Let Ranked Arena's version in the recording list the first match's map/mode pair."""
    info = HISTORY_RESULTS[0]["MatchInfo"]
    playlist = recorded("get_playlist.json")
    pair = info["PlaylistMapModePair"]
    playlist["VersionId"] = info["Playlist"]["VersionId"]
    playlist["RotationEntries"].append(
        {
            "AssetId": pair["AssetId"],
            "VersionId": pair["VersionId"],
            "PublicName": "Ranked:Oddball on Live Fire",
        }
    )
    path = f"/hi/playlists/{info['Playlist']['AssetId']}/versions/{info['Playlist']['VersionId']}"
    world.halo.set_discovery_file(path, playlist)


def buttons(msg: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The message's buttons by label."""
    return {c["label"]: c for row in msg.get("components") or [] for c in row["components"]}


def fields(msg: dict[str, Any]) -> list[tuple[str, str]]:
    return [(f["name"], f["value"]) for f in msg["embeds"][0].get("fields", [])]


async def test_pages_fetch_details_for_the_page_shown_only(world: World) -> None:
    name_first_pair(world)
    rec = await world.invoke("matches", {"player": "acurtis x89", "count": 10})
    msg = rec.final_message()
    assert not rec.is_ephemeral(msg) and rec.deferred
    embed = msg["embeds"][0]
    assert embed["title"] == "aCurtis X89: recent matches"
    assert embed["description"] == "Matchmaking, newest first. Last 10 matches: 6 W · 4 L"
    assert embed["footer"]["text"] == (
        f"Matches 1–5 of 10 · page 1 of 2 · XUID {RECORDED_PLAYER.xuid}"
    )
    got = fields(msg)
    assert len(got) == 5
    assert got[0] == (
        "❌ Loss · Oddball on Live Fire",
        f"Ranked Arena · {when(0)} · 19 min\nK/D/A 18 / 8 / 5 · CSR 1,530 → 1,532 (+2)",
    )
    # No map/mode pair name in this playlist version: the mode category it is.
    assert got[1][0] == "✅ Win · Slayer"
    assert got[3][0] == "❌ Loss · Strongholds"
    # One history request; per match its stats and (ranked) skill; one playlist version.
    assert counts(world) == {"history": 1, "stats": 5, "skill": 5, "playlists": 1}
    assert world.halo.requests_to(SKILL)[0].query == {"players": f"xuid({RECORDED_PLAYER.xuid})"}
    shown = buttons(msg)
    assert shown["Previous"]["disabled"] and not shown["Next"]["disabled"]
    assert shown["1 / 2"]["disabled"]

    click = await world.discord.click(msg["id"], "page:next", user_id=USER_ID)
    await click.wait_final()
    assert click.deferred  # acknowledged before the details were fetched
    page2 = click.final_message()
    assert page2["embeds"][0]["footer"]["text"].startswith("Matches 6–10 of 10 · page 2 of 2")
    got = fields(page2)
    assert [name for name, _ in got] == [
        "✅ Win · Slayer",
        "❌ Loss · Oddball",
        "✅ Win · Slayer",
        "❌ Loss · Slayer",
        "✅ Win · Slayer",
    ]
    # Unranked playlists (named by the fake from the service record): no CSR asked.
    assert got[1][1].startswith("Playlist d3777b09 · ")
    assert "CSR" not in got[1][1] and "K/D/A 18 / 8 / 5" in got[1][1]
    assert counts(world) == {"history": 1, "stats": 10, "skill": 6, "playlists": 3}
    shown = buttons(page2)
    assert not shown["Previous"]["disabled"] and shown["Next"]["disabled"]
    assert shown["2 / 2"]["disabled"]

    # Somebody else may not turn the pages.
    other = await world.discord.click(msg["id"], "page:prev", user_id=OTHER_USER_ID)
    await other.wait_final()
    assert other.is_ephemeral() and "run it yourself" in (other.content() or "")

    # Pages already seen come back without asking Halo again.
    back = await world.discord.click(msg["id"], "page:prev", user_id=USER_ID)
    await back.wait_final()
    assert fields(back.callbacks[-1].data)[0][0] == "❌ Loss · Oddball on Live Fire"
    again = await world.discord.click(msg["id"], "page:next", user_id=USER_ID)
    await again.wait_final()
    assert fields(again.callbacks[-1].data)[1][0] == "❌ Loss · Oddball"
    assert counts(world) == {"history": 1, "stats": 10, "skill": 6, "playlists": 3}


async def test_modern_gamertag_one_page_no_buttons(world: World) -> None:
    rec = await world.invoke("matches", {"player": MODERN_PLAYER.gamertag})
    msg = rec.final_message()
    embed = msg["embeds"][0]
    assert embed["title"] == "Sïerra\\#2468: recent matches"
    assert embed["footer"]["text"] == f"Matches 1–5 of 5 · XUID {MODERN_PLAYER.xuid}"
    assert not msg.get("components")
    # Not a player of the recorded match stats or skill: result, mode and when only.
    assert fields(msg)[0] == ("❌ Loss · Oddball", f"Ranked Arena · {when(0)} · 19 min")
    assert world.halo.requests_to(HISTORY)[0].query == {
        "start": "0",
        "count": "5",
        "type": "Matchmaking",
    }


async def test_count_of_one_xuid_and_linked_members(world: World) -> None:
    rec = await world.invoke("matches", {"player": f"xuid({NOBLE_SIX.xuid})", "count": 1})
    embed = rec.final_message()["embeds"][0]
    assert embed["title"] == "Noble Six: recent matches"
    assert embed["description"] == "Matchmaking, newest first. Last match: 1 L"
    assert embed["footer"]["text"] == f"Match 1 of 1 · XUID {NOBLE_SIX.xuid}"
    assert counts(world) == {"history": 1, "stats": 1, "skill": 1, "playlists": 1}

    await world.db.accounts.link(USER_ID, str(RECORDED_PLAYER.xuid), RECORDED_PLAYER.gamertag)
    await world.db.accounts.link(OTHER_USER_ID, str(NOBLE_SIX.xuid), NOBLE_SIX.gamertag)
    rec = await world.invoke("matches", {"count": 2})  # empty: the caller's own link
    assert rec.final_message()["embeds"][0]["title"] == "aCurtis X89: recent matches"
    rec = await world.invoke("matches", {"player": f"<@{OTHER_USER_ID}>", "count": 2})
    assert rec.final_message()["embeds"][0]["title"] == "Noble Six: recent matches"
    choices = await world.autocomplete("matches", {"player": "acu"}, "player")
    assert choices == [
        {"name": "aCurtis X89 (you)", "value": f"xuid({RECORDED_PLAYER.xuid})"},
    ]


PLAYERS_WITHOUT_MATCHES: list[tuple[dict[str, Any], str, str]] = [
    ({}, "No linked account", "/link"),
    ({"player": "Nobody Here 42"}, "Player not found", "Nobody Here 42"),
    ({"player": "../x"}, "Invalid gamertag or XUID", ""),
    ({"player": f"<@{OTHER_USER_ID}>"}, "No linked account", ""),
    ({"player": EMPTY_PLAYER.gamertag}, "No data", "has no matchmaking matches"),
]


async def test_players_without_matches(world: World) -> None:
    for options, title, phrase in PLAYERS_WITHOUT_MATCHES:
        rec = await world.invoke("matches", options)
        embed = rec.final_message()["embeds"][0]
        assert rec.is_ephemeral() and embed["title"] == title, options
        assert phrase in embed["description"]
    assert world.halo.count(STATS) == 0


async def test_history_failures(world: World) -> None:
    for status, title in (
        (503, "Halo is not answering"),
        (403, "No data"),
        (404, "Player not found"),
    ):
        world.halo.reset_faults()
        world.halo.fail(HISTORY, status=status, times=None)
        rec = await world.invoke("matches", {"player": NOBLE_SIX.gamertag})
        assert rec.is_ephemeral()
        assert rec.final_message()["embeds"][0]["title"] == title, status
    assert world.halo.count(STATS) == 0


async def test_failed_details_leave_the_rest_of_the_line(world: World) -> None:
    world.halo.fail(STATS, status=503, times=None)
    rec = await world.invoke("matches", {"player": RECORDED_PLAYER.gamertag, "count": 2})
    msg = rec.final_message()
    assert not rec.is_ephemeral(msg)
    embed = msg["embeds"][0]
    assert embed["description"].endswith(
        "\nHalo did not answer for some details: try again in a moment."
    )
    assert fields(msg)[0] == (
        "❌ Loss · Oddball",
        f"Ranked Arena · {when(0)} · 19 min\nCSR 1,530 → 1,532 (+2) · some details unavailable",
    )


async def test_buttons_go_grey_after_the_timeout(world: World) -> None:
    cast(Matches, world.bot.get_cog("Matches")).service.pager_timeout = 0.3
    rec = await world.invoke("matches", {"player": NOBLE_SIX.gamertag, "count": 6})
    msg = rec.final_message()
    assert msg["embeds"][0]["footer"]["text"].startswith("Matches 1–5 of 6 · page 1 of 2")
    await rec.wait_until(lambda r: bool(r.edits), timeout=5, what="the buttons disabled")
    assert all(c["disabled"] for c in buttons(msg).values())
    with pytest.raises(ValueError, match="disabled"):
        await world.discord.click(msg["id"], "page:next", user_id=USER_ID)


def footer(msg: dict[str, Any]) -> str:
    return msg["embeds"][0]["footer"]["text"]


def shown_pages(press: Any) -> list[str]:
    """The page numbers (``page 2 of 3``) a press put on the message, in order."""
    sent = [c.data for c in press.callbacks] + [e.payload for e in press.edits]
    return [
        footer(data).split(" · ")[1]
        for data in sent
        if data.get("embeds") and not press.is_ephemeral(data)
    ]


async def test_presses_while_a_page_loads_are_not_lost(world: World) -> None:
    rec = await world.invoke("matches", {"player": RECORDED_PLAYER.gamertag, "count": 15})
    msg = rec.final_message()
    assert footer(msg).startswith("Matches 1–5 of 15 · page 1 of 3")
    world.halo.fail(STATS, delay=0.5, times=None)  # each page takes a while to load

    # Next twice, the second while page 2 is loading: page 3 it is.
    first = await world.discord.click(msg["id"], "page:next", user_id=USER_ID)
    await first.wait_until(lambda r: r.deferred, what="the press acknowledged")
    second = await world.discord.click(msg["id"], "page:next", user_id=USER_ID)
    await first.wait_final()
    await second.wait_final()
    assert footer(msg).startswith("Matches 11–15 of 15 · page 3 of 3")
    shown = buttons(msg)
    assert shown["Next"]["disabled"] and not shown["Previous"]["disabled"]
    assert "3 / 3" in shown
    assert world.halo.count(STATS) == 15  # each page's details once

    # From page 2, Next then Previous while page 3 loads: back on page 2, and neither
    # press showed another page on the way.
    rec = await world.invoke("matches", {"player": RECORDED_PLAYER.gamertag, "count": 15})
    msg = rec.final_message()
    click = await world.discord.click(msg["id"], "page:next", user_id=USER_ID)
    await click.wait_final()
    assert footer(msg).startswith("Matches 6–10 of 15 · page 2 of 3")
    forward = await world.discord.click(msg["id"], "page:next", user_id=USER_ID)
    await forward.wait_until(lambda r: r.deferred, what="the press acknowledged")
    back = await world.discord.click(msg["id"], "page:prev", user_id=USER_ID)
    await forward.wait_final()
    await back.wait_final()
    assert footer(msg).startswith("Matches 6–10 of 15 · page 2 of 3")
    assert set(shown_pages(forward) + shown_pages(back)) == {"page 2 of 3"}
    assert "2 / 3" in buttons(msg)


async def test_pages_halo_answered_in_part_are_fetched_again(world: World) -> None:
    world.halo.fail(STATS, status=503, times=None)
    rec = await world.invoke("matches", {"player": RECORDED_PLAYER.gamertag, "count": 10})
    msg = rec.final_message()
    assert msg["embeds"][0]["description"].endswith(INCOMPLETE)
    click = await world.discord.click(msg["id"], "page:next", user_id=USER_ID)
    await click.wait_final()
    assert footer(msg).startswith("Matches 6–10 of 10 · page 2 of 2")
    assert msg["embeds"][0]["description"].endswith(INCOMPLETE)

    # Halo answers again: both pages are asked again when shown, then kept.
    world.halo.reset_faults()
    asked = world.halo.count(STATS)
    for button, shown in (("page:prev", "page 1 of 2"), ("page:next", "page 2 of 2")):
        click = await world.discord.click(msg["id"], button, user_id=USER_ID)
        await click.wait_final()
        assert click.deferred and shown in footer(msg)
        assert INCOMPLETE not in msg["embeds"][0]["description"]
        assert "some details unavailable" not in str(fields(msg))
        assert fields(msg)[0][1].count("K/D/A") == 1
    assert world.halo.count(STATS) == asked + 10
    for button in ("page:prev", "page:next"):
        click = await world.discord.click(msg["id"], button, user_id=USER_ID)
        await click.wait_final()
        assert not click.deferred  # kept: shown at once
    assert world.halo.count(STATS) == asked + 10
