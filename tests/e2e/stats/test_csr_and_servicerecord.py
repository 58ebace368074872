"""/csr and /servicerecord end to end: the real bot against the fake Discord and the fake Halo."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bot.halo.playlists import RANKED_ARENA, RANKED_DOUBLES, RANKED_FFA, RANKED_SLAYER
from tests.fakes.halo_server import (
    EMPTY_PLAYER,
    MODERN_PLAYER,
    NOBLE_SIX,
    RECORDED_PLAYER,
    RECORDED_USER,
    UNRANKED_PLAYER,
    FakeHalo,
)
from tests.support.discord import OTHER_USER_ID, USER_ID
from tests.support.paths import HALO_FIXTURES
from tests.support.replies import fields, private_error, public_embed
from tests.support.world import World, running_world

FIXTURES = HALO_FIXTURES
SKILL = "skill.svc.halowaypoint.com"
CSRS = SKILL + "/hi/playlist/{playlist}/csrs"
STATS = "halostats.svc.halowaypoint.com"
RECORD = STATS + "/hi/players/xuid({xuid})/matchmade/servicerecord"
ICON = "https://www.halowaypoint.com/images/halo-infinite/csr/{}.png"
PLAYLIST_NAMES = ["Ranked Arena", "Ranked Slayer", "Ranked Doubles", "Ranked FFA"]


def recorded(name: str) -> Any:
    return json.loads((FIXTURES / "recorded" / name).read_text(encoding="utf-8"))


def player_requests(world: World) -> list[Any]:
    """Requests about players (static game content, read at start-up, left out)."""
    return [r for r in world.halo.requests if not r.host.startswith("gamecms")]


# -- /csr ------------------------------------------------------------------------------


async def test_csr_classic_gamertag_every_ranked_playlist(world: World) -> None:
    rec = await world.invoke("csr", {"player": "noble six"})
    embed = public_embed(rec)
    assert embed["title"] == "Noble Six: ranked CSR"
    assert "Best: **Ranked Arena** · Diamond 3" in embed["description"]
    got = fields(embed)
    assert list(got) == PLAYLIST_NAMES
    assert got["Ranked Arena"] == (
        "**Diamond 3** · 1,325 CSR\n"
        "▰▰▰▰▰▱▱▱▱▱ 25 / 50 to Diamond 4\n"
        "Season max: Diamond 3 (1,325) · All-time max: Diamond 3 (1,325)"
    )
    assert embed["thumbnail"]["url"] == ICON.format("diamond_3")
    assert embed["footer"]["text"] == f"XUID {NOBLE_SIX.xuid}"
    # One request per ranked playlist, no season parameter.
    for playlist in (RANKED_ARENA, RANKED_SLAYER, RANKED_DOUBLES, RANKED_FFA):
        requests = world.halo.requests_to(CSRS.format(playlist=playlist))
        assert len(requests) == 1
        assert requests[0].query == {"players": f"xuid({NOBLE_SIX.xuid})"}


async def test_csr_best_playlist_is_the_thumbnail(world: World) -> None:
    world.halo.set_csr(NOBLE_SIX.xuid, RANKED_DOUBLES, 1490, season_max=1499, all_time_max=1620)
    rec = await world.invoke("csr", {"player": NOBLE_SIX.gamertag})
    embed = public_embed(rec)
    assert "Best: **Ranked Doubles** · Diamond 6" in embed["description"]
    assert embed["thumbnail"]["url"] == ICON.format("diamond_6")
    assert fields(embed)["Ranked Doubles"] == (
        "**Diamond 6** · 1,490 CSR\n"
        "▰▰▰▰▰▰▰▰▱▱ 40 / 50 to Onyx 1500\n"
        "Season max: Diamond 6 (1,499) · All-time max: Onyx 1620"
    )


async def test_csr_modern_gamertag_onyx(world: World) -> None:
    rec = await world.invoke("csr", {"player": MODERN_PLAYER.gamertag})
    embed = public_embed(rec)
    assert embed["title"] == "Sïerra\\#2468: ranked CSR"
    arena = fields(embed)["Ranked Arena"]
    assert arena.startswith("**Onyx** · 1,550 CSR\nSeason max: Onyx 1550")  # no bar in Onyx
    assert embed["thumbnail"]["url"] == ICON.format("onyx_1")


async def test_csr_by_xuid_recorded_placement(world: World) -> None:
    # The recorded answer: placement 6 of 10 played, all-time best Onyx 1549.
    rec = await world.invoke("csr", {"player": f"xuid({RECORDED_PLAYER.xuid})"})
    embed = public_embed(rec)
    assert embed["title"] == "aCurtis X89: ranked CSR"
    assert fields(embed)["Ranked Arena"] == (
        "**Unranked**\n▰▰▰▰▰▰▱▱▱▱ Placement 6 of 10\nAll-time max: Onyx 1549"
    )
    assert "Best:" not in embed["description"]  # nothing ranked yet
    assert world.halo.count("profile.svc.halowaypoint.com/users/gt") == 0


async def test_csr_seed_values_from_article(world: World) -> None:
    # Article 001: 997 is Platinum 2 (TierStart 950, SubTier 1), season max 1005.
    rec = await world.invoke("csr", {"player": str(RECORDED_USER.xuid), "playlist": "Ranked Arena"})
    embed = public_embed(rec)
    assert embed["title"] == "GAMERTAG: Ranked Arena"
    assert list(fields(embed)) == ["Ranked Arena"]
    assert fields(embed)["Ranked Arena"] == (
        "**Platinum 2** · 997 CSR\n"
        "▰▰▰▰▰▰▰▰▰▱ 47 / 50 to Platinum 3\n"
        "Season max: Platinum 3 (1,005) · All-time max: Platinum 3 (1,005)"
    )
    assert embed["thumbnail"]["url"] == ICON.format("platinum_2")
    assert world.halo.count(SKILL) == 1  # only the chosen playlist


async def test_csr_linked_member_mention(world: World) -> None:
    await world.db.accounts.link(OTHER_USER_ID, str(NOBLE_SIX.xuid), NOBLE_SIX.gamertag)
    rec = await world.invoke("csr", {"player": f"<@{OTHER_USER_ID}>"})
    assert public_embed(rec)["title"] == "Noble Six: ranked CSR"


async def test_csr_without_player_uses_the_callers_link(world: World) -> None:
    await world.db.accounts.link(USER_ID, str(MODERN_PLAYER.xuid), MODERN_PLAYER.gamertag)
    rec = await world.invoke("csr")
    assert public_embed(rec)["title"] == "Sïerra\\#2468: ranked CSR"


@pytest.mark.parametrize("player", [UNRANKED_PLAYER, EMPTY_PLAYER])
async def test_csr_player_with_no_ranked_data(world: World, player: Any) -> None:
    rec = await world.invoke("csr", {"player": player.gamertag})
    embed = private_error(rec)
    assert embed["title"] == "No data"
    assert f"**{player.gamertag}** has no ranked data yet" in embed["description"]


async def test_csr_chosen_playlist_not_played(world: World) -> None:
    world.halo.set_csr(
        NOBLE_SIX.xuid, RANKED_FFA, -1, matches_remaining=5, season_max=-1, all_time_max=-1
    )
    rec = await world.invoke("csr", {"player": NOBLE_SIX.gamertag, "playlist": "ffa"})
    embed = private_error(rec)
    assert embed["title"] == "No data"
    assert embed["description"] == "**Noble Six** has not played Ranked FFA."


async def test_csr_not_played_playlist_is_marked_in_the_overview(world: World) -> None:
    world.halo.set_csr(
        NOBLE_SIX.xuid, RANKED_FFA, -1, matches_remaining=5, season_max=-1, all_time_max=-1
    )
    embed = public_embed(await world.invoke("csr", {"player": NOBLE_SIX.gamertag}))
    assert fields(embed)["Ranked FFA"] == "Not played"


async def test_csr_unknown_playlist_name(world: World) -> None:
    rec = await world.invoke("csr", {"player": NOBLE_SIX.gamertag, "playlist": "Big Team"})
    embed = private_error(rec)
    assert embed["title"] == "Unknown playlist"
    assert "**Big Team**" in embed["description"]
    assert world.halo.count(SKILL) == 0


async def test_csr_other_ranked_playlist_by_id(world: World) -> None:
    extra = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"
    world.halo.add_playlist(extra, "Ranked Tactical")
    world.halo.set_csr(NOBLE_SIX.xuid, extra, 640)
    rec = await world.invoke("csr", {"player": NOBLE_SIX.gamertag, "playlist": extra.upper()})
    embed = public_embed(rec)
    assert embed["title"] == "Noble Six: Ranked Tactical"
    assert fields(embed)["Ranked Tactical"].startswith("**Gold 1** · 640 CSR")
    assert world.halo.count(CSRS.format(playlist=extra)) == 1


async def test_csr_unranked_playlist_id_is_refused(world: World) -> None:
    social = "bdceefb3-1c52-4848-a6b7-d49acd13109d"  # in the recorded service record
    rec = await world.invoke("csr", {"player": RECORDED_PLAYER.gamertag, "playlist": social})
    embed = private_error(rec)
    assert embed["title"] == "Unknown playlist"
    assert "is not ranked" in embed["description"]
    assert world.halo.count(SKILL) == 0


async def test_csr_playlist_autocomplete(world: World) -> None:
    choices = await world.autocomplete("csr", {"playlist": "s"}, "playlist")
    assert [c["name"] for c in choices] == ["Ranked Slayer", "Ranked Doubles"]
    assert choices[0]["value"] == RANKED_SLAYER
    assert player_requests(world) == []


async def test_csr_season_autocomplete_by_name(world: World) -> None:
    choices = await world.autocomplete("csr", {"season": "banished"}, "season")
    assert [c["value"] for c in choices] == ["CsrSeason7-1"]
    # Named after the season that uses it, dated by the calendar (newer than the CSR calendar).
    assert choices[0]["name"] == "Banished Honor · Apr 2024 – Jul 2024"
    everything = await world.autocomplete("csr", {"season": ""}, "season")
    values = [c["value"] for c in everything]
    assert values[:3] == ["CsrSeason7-1", "CsrSeason6-1", "CsrSeason5-1"]
    assert "CsrSeason1" in values  # only in the CSR calendar: "Ranked season 1"
    assert any(c["name"].startswith("Ranked season 1 ·") for c in everything)
    assert all("/" not in c["name"] and ".json" not in c["name"] for c in everything)


async def test_csr_past_season(world: World) -> None:
    rec = await world.invoke("csr", {"player": NOBLE_SIX.gamertag, "season": "CsrSeason7-1"})
    embed = public_embed(rec)
    assert "Season: **Banished Honor** (Apr 2024 – Jul 2024)" in embed["description"]
    assert embed["footer"]["text"] == f"CsrSeason7-1 · XUID {NOBLE_SIX.xuid}"
    requests = world.halo.requests_to(SKILL)
    assert len(requests) == 4
    assert all(r.query.get("season") == "CsrSeason7-1" for r in requests)


async def test_csr_season_typed_by_name(world: World) -> None:
    rec = await world.invoke("csr", {"player": NOBLE_SIX.gamertag, "season": "banished honor"})
    assert "**Banished Honor**" in public_embed(rec)["description"]


async def test_csr_unknown_season(world: World) -> None:
    rec = await world.invoke("csr", {"player": NOBLE_SIX.gamertag, "season": "Season 99"})
    embed = private_error(rec)
    assert embed["title"] == "Unknown season"
    assert "**Season 99**" in embed["description"]
    assert world.halo.count(SKILL) == 0


async def test_csr_one_bad_player_does_not_change_anything(world: World) -> None:
    before = await world.db.accounts.get(USER_ID)
    world.halo.fail(SKILL, status=500, times=None)
    rec = await world.invoke("csr", {"player": NOBLE_SIX.gamertag})
    assert private_error(rec)["title"] == "Halo is not answering"
    assert await world.db.accounts.get(USER_ID) == before
    world.halo.reset_faults()
    rec = await world.invoke("csr", {"player": NOBLE_SIX.gamertag}, user_id=OTHER_USER_ID)
    assert public_embed(rec)["title"] == "Noble Six: ranked CSR"


# -- /servicerecord --------------------------------------------------------------------


def expected_top_medals(limit: int = 5) -> list[str]:
    record = recorded("get_service_record.json")
    names = {m["nameId"]: m["name"]["value"] for m in recorded("get_medal_metadata.json")["medals"]}
    counts: dict[int, int] = {}
    for medal in record["CoreStats"]["Medals"]:
        counts[medal["NameId"]] = counts.get(medal["NameId"], 0) + medal["Count"]
    top = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:limit]
    return [f"{names.get(i, f'Medal {i}')} ×{c:,}" for i, c in top]


async def test_servicerecord_classic_gamertag_career(world: World) -> None:
    rec = await world.invoke("servicerecord", {"player": "aCurtis X89"})
    embed = public_embed(rec)
    assert embed["title"] == "aCurtis X89: service record"
    assert embed["description"] == "All matchmaking · career"
    got = fields(embed)
    assert got["Matches"] == "2,664"
    assert got["Record"] == "1,405 W · 1,219 L · 38 T"
    assert got["Win rate"] == "52.7%"
    assert got["Kills / deaths / assists"] == "42,197 / 26,566 / 15,174"
    assert got["K/D"] == "1.59"
    assert got["KDA"] == "+7.77"
    assert got["Accuracy"] == "47.2%"
    assert got["Damage"] == "12,475,748 dealt · 9,157,476 taken"
    assert got["Time played"] == "17 days 10 hours"
    assert got["Kills by type"] == (
        "Headshots 19,864 · Melee 4,114 · Grenades 2,123 · Power weapons 6,894"
    )
    assert got["Top medals"].split("\n") == expected_top_medals()
    assert "Medal " not in got["Top medals"]  # every top medal has a name in the metadata
    requests = world.halo.requests_to(RECORD.format(xuid=RECORDED_PLAYER.xuid))
    assert len(requests) == 1
    assert requests[0].query == {}


async def test_servicerecord_ranked_mode(world: World) -> None:
    rec = await world.invoke("servicerecord", {"player": NOBLE_SIX.gamertag, "mode": "ranked"})
    embed = public_embed(rec)
    assert embed["description"] == "Ranked matchmaking · career"
    [request] = world.halo.requests_to(RECORD.format(xuid=NOBLE_SIX.xuid))
    assert request.query == {"isRanked": "true"}


async def test_servicerecord_season(world: World) -> None:
    rec = await world.invoke(
        "servicerecord", {"player": NOBLE_SIX.gamertag, "season": "Seasons/Season7-Op1.json"}
    )
    embed = public_embed(rec)
    assert embed["description"] == "All matchmaking · Banished Honor"
    assert embed["footer"]["text"] == f"Seasons/Season7-Op1.json · XUID {NOBLE_SIX.xuid}"
    [request] = world.halo.requests_to(RECORD.format(xuid=NOBLE_SIX.xuid))
    assert request.query == {"seasonId": "Seasons/Season7-Op1.json"}


async def test_servicerecord_season_autocomplete_real_names(world: World) -> None:
    choices = await world.autocomplete("servicerecord", {"season": "banished"}, "season")
    assert choices == [
        {"name": "Banished Honor · Apr 2024 – Jun 2024", "value": "Seasons/Season7-Op1.json"}
    ]
    everything = await world.autocomplete("servicerecord", {"season": ""}, "season")
    calendar = json.loads((FIXTURES / "from-seeds" / "gamecms_seasoncalendar.json").read_text())
    assert len(everything) == len(calendar["Seasons"]) == 14
    assert everything[0]["value"] == "Seasons/Season7-Op3.json"  # newest first
    assert all(".json" not in c["name"] for c in everything)


async def test_servicerecord_modern_gamertag(world: World) -> None:
    rec = await world.invoke("servicerecord", {"player": MODERN_PLAYER.gamertag})
    assert public_embed(rec)["title"] == "Sïerra\\#2468: service record"


async def test_servicerecord_by_xuid(world: World) -> None:
    rec = await world.invoke("servicerecord", {"player": str(NOBLE_SIX.xuid)})
    assert public_embed(rec)["title"] == "Noble Six: service record"


async def test_servicerecord_linked_member_and_own_link(world: World) -> None:
    await world.db.accounts.link(OTHER_USER_ID, str(NOBLE_SIX.xuid), NOBLE_SIX.gamertag)
    rec = await world.invoke("servicerecord", {"player": f"<@{OTHER_USER_ID}>"})
    assert public_embed(rec)["title"] == "Noble Six: service record"
    rec = await world.invoke("servicerecord", user_id=OTHER_USER_ID)
    assert public_embed(rec)["title"] == "Noble Six: service record"


async def test_servicerecord_empty_record(world: World) -> None:
    rec = await world.invoke("servicerecord", {"player": EMPTY_PLAYER.gamertag})
    embed = private_error(rec)
    assert embed["title"] == "No data"
    assert embed["description"].startswith("**Empty Record** has no completed matchmaking")


async def test_servicerecord_private_record(world: World) -> None:
    world.halo.fail(RECORD.format(xuid=NOBLE_SIX.xuid), status=403)
    rec = await world.invoke("servicerecord", {"player": NOBLE_SIX.gamertag})
    embed = private_error(rec)
    assert embed["title"] == "No data"
    assert "private" in embed["description"]


async def test_servicerecord_without_medal_names_still_answers(world: World) -> None:
    world.halo.fail("medals/metadata.json", status=503, times=None)
    rec = await world.invoke("servicerecord", {"player": NOBLE_SIX.gamertag})
    medals = fields(public_embed(rec))["Top medals"]
    assert medals.startswith("Medal ")


async def test_servicerecord_unknown_season(world: World) -> None:
    rec = await world.invoke(
        "servicerecord", {"player": NOBLE_SIX.gamertag, "season": "Seasons/Nope.json"}
    )
    assert private_error(rec)["title"] == "Unknown season"
    assert world.halo.count(STATS) == 0


# -- failures shared by both -------------------------------------------------------------

COMMANDS = {
    "csr": ({"player": NOBLE_SIX.gamertag}, SKILL),
    "servicerecord": ({"player": NOBLE_SIX.gamertag}, STATS),
}
FAILURES = {
    "429": ({"retry_after": 30}, "Slow down", "try again in 30 seconds"),
    "500": ({"status": 500, "times": None}, "Halo is not answering", "aren't answering"),
    "503": ({"status": 503, "times": None}, "Halo is not answering", "aren't answering"),
    "401": ({"status": 401, "times": None}, "Halo sign-in expired", "`halo-bot login`"),
    "malformed": (
        {"status": 200, "body": b'{"Value": [', "times": None},
        "Unreadable answer from Halo",
        "could not read",
    ),
    "wrong shape": (
        {"wrong_shape": True, "times": None},
        "Unreadable answer from Halo",
        "could not read",
    ),
}


@pytest.mark.parametrize("failure", sorted(FAILURES))
@pytest.mark.parametrize("command", sorted(COMMANDS))
async def test_upstream_failures_are_clear_private_errors(
    world: World, command: str, failure: str
) -> None:
    options, pattern = COMMANDS[command]
    fault, title, words = FAILURES[failure]
    world.halo.fail(pattern, **fault)
    rec = await world.invoke(command, options)
    embed = private_error(rec)
    assert embed["title"] == title
    assert words in embed["description"]
    assert world.halo.count(pattern) >= 1


@pytest.mark.parametrize("command", sorted(COMMANDS))
async def test_timeouts_give_halo_unavailable(tmp_path: Path, command: str) -> None:
    async with running_world(tmp_path) as world:  # the short test deadline
        options, pattern = COMMANDS[command]
        world.halo.fail(pattern, hang=True, times=None)
        rec = await world.invoke(command, options)
        assert private_error(rec)["title"] == "Halo is not answering"
        world.discord.assert_healthy()


@pytest.mark.slow
async def test_season_autocomplete_answers_fast_while_halo_hangs(tmp_path: Path) -> None:
    async with FakeHalo() as halo:
        halo.fail("seasoncalendar", hang=True, times=None)
        async with running_world(tmp_path, halo=halo, halo_request_deadline_seconds=2) as world:
            assert await world.autocomplete("csr", {"season": "ban"}, "season") == []
            halo.reset_faults()
            halo.release_hangs()
            rec = await world.invoke(
                "csr", {"player": NOBLE_SIX.gamertag, "season": "CsrSeason7-1"}
            )
            assert "**Banished Honor**" in public_embed(rec)["description"]
            world.discord.assert_healthy()
