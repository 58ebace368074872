"""/compare end to end against the fake Discord and the fake Halo."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fakes.halo_server import (
    EMPTY_PLAYER,
    MODERN_PLAYER,
    NOBLE_SIX,
    RANKED_DOUBLES,
    RECORDED_PLAYER,
    UNRANKED_PLAYER,
)
from tests.support.discord import GUILD_ID, OTHER_USER_ID, USER_ID
from tests.support.world import World

SKILL = "skill.svc.halowaypoint.com"
STATS = "halostats.svc.halowaypoint.com"


def fields(embed: dict[str, Any]) -> dict[str, str]:
    return {f["name"]: f["value"] for f in embed.get("fields", [])}


def table(embed: dict[str, Any]) -> dict[str, str]:
    """Service-record rows by label."""
    text = fields(embed)["Service record (all matchmaking, career)"]
    rows = text.strip("`\n").split("\n")[1:]
    return {row[:15].strip(): row[15:] for row in rows}


async def test_classic_vs_modern_gamertag(world: World) -> None:
    world.halo.set_csr(NOBLE_SIX.xuid, RANKED_DOUBLES, 1600)
    rec = await world.invoke(
        "compare", {"player_a": "noble six", "player_b": MODERN_PLAYER.gamertag}
    )
    msg = rec.final_message()
    assert not rec.is_ephemeral(msg) and rec.deferred
    embed = msg["embeds"][0]
    assert embed["title"] == "Noble Six vs Sïerra\\#2468"
    got = fields(embed)
    assert got["Ranked Arena"] == (
        "**Noble Six**: Diamond 3 (1,325)\n**Sïerra\\#2468**: Onyx 1550 ▲"
    )
    assert got["Ranked Doubles"] == ("**Noble Six**: Onyx 1600 ▲\n**Sïerra\\#2468**: Onyx 1550")
    rows = table(embed)
    # Both have the recorded service record: equal numbers, nobody ahead.
    assert rows["Matches"].split() == ["2,664", "2,664"]
    assert rows["Win rate"].split() == ["52.7%", "52.7%"]
    assert embed["footer"]["text"] == f"XUIDs {NOBLE_SIX.xuid} · {MODERN_PLAYER.xuid}"
    assert world.halo.count(SKILL) == 8 and world.halo.count(STATS) == 2


def headers(embed: dict[str, Any]) -> tuple[str, str]:
    """The service-record table's two column headers."""
    text = fields(embed)["Service record (all matchmaking, career)"]
    first = text.strip("`\n").split("\n")[0]
    return first[15:31].strip(), first[31:].strip()


async def test_long_gamertags_keep_distinct_headers(world: World) -> None:
    pairs = (
        # Cut to fit, a modern gamertag keeps its #suffix.
        (("Masterchief117#1234", "Masterchief117#5678"), ("Masterch…#1234", "Masterch…#5678")),
        # Still the same once cut: marked A and B.
        (("Masterchief1170#12", "Masterchief1171#12"), ("Master…#12 (A)", "Master…#12 (B)")),
    )
    xuid = 2533274800003000
    for names, shown in pairs:
        for name in names:
            xuid += 1
            world.halo.add_player(xuid, name)
        rec = await world.invoke(
            "compare", {"player_a": f"xuid({xuid - 1})", "player_b": f"xuid({xuid})"}
        )
        embed = rec.final_message()["embeds"][0]
        assert embed["title"] == f"{names[0]} vs {names[1]}".replace("#", "\\#")
        assert headers(embed) == shown


async def test_both_players_are_required_and_described_so(world: World) -> None:
    [compare] = [c for c in world.discord.synced_commands(GUILD_ID) if c["name"] == "compare"]
    described = {o["name"]: (o.get("required"), o["description"]) for o in compare["options"]}
    assert described == {
        "player_a": (True, "First player: gamertag (with #1234 if it has one), XUID or @member"),
        "player_b": (True, "Second player: gamertag (with #1234 if it has one), XUID or @member"),
    }


async def test_xuid_linked_member_and_an_empty_record(world: World) -> None:
    await world.db.accounts.link(OTHER_USER_ID, str(EMPTY_PLAYER.xuid), EMPTY_PLAYER.gamertag)
    rec = await world.invoke(
        "compare",
        {"player_a": f"xuid({RECORDED_PLAYER.xuid})", "player_b": f"<@{OTHER_USER_ID}>"},
    )
    embed = rec.final_message()["embeds"][0]
    assert embed["title"] == "aCurtis X89 vs Empty Record"
    assert fields(embed)["Ranked Arena"] == (
        "**aCurtis X89**: Unranked\n**Empty Record**: Not played"
    )
    rows = table(embed)
    assert rows["Matches"].split() == ["2,664", "▲", "–"]
    assert rows["Deaths / match"].split() == ["10.0", "▲", "–"]


async def test_same_player_twice_is_refused_before_any_stats(world: World) -> None:
    await world.db.accounts.link(USER_ID, str(NOBLE_SIX.xuid), NOBLE_SIX.gamertag)
    rec = await world.invoke(
        "compare", {"player_a": NOBLE_SIX.gamertag, "player_b": f"xuid({NOBLE_SIX.xuid})"}
    )
    embed = rec.final_message()["embeds"][0]
    assert rec.is_ephemeral() and embed["title"] == "Invalid gamertag or XUID"
    assert "pick two different players" in embed["description"]
    assert world.halo.count(SKILL) == 0 and world.halo.count(STATS) == 0


async def test_nothing_to_compare(world: World) -> None:
    world.services.halo.player_ttl = 0  # the second call must reach Halo again
    rec = await world.invoke(
        "compare", {"player_a": EMPTY_PLAYER.gamertag, "player_b": UNRANKED_PLAYER.gamertag}
    )
    embed = rec.final_message()["embeds"][0]
    # The unranked player still has a full service record: something to compare.
    assert embed["title"] == "Empty Record vs Never Ranked"
    world.halo.fail("servicerecord", status=403, times=None)  # both private
    rec = await world.invoke(
        "compare",
        {"player_a": EMPTY_PLAYER.gamertag, "player_b": UNRANKED_PLAYER.gamertag},
        user_id=OTHER_USER_ID,
    )
    embed = rec.final_message()["embeds"][0]
    assert rec.is_ephemeral() and embed["title"] == "No data"
    assert "Neither **Empty Record** nor **Never Ranked**" in embed["description"]


@pytest.mark.parametrize(
    ("options", "title"),
    [
        ({"player_a": "Nobody Here 42", "player_b": "Noble Six"}, "Player not found"),
        ({"player_a": "Noble Six", "player_b": "Nobody Here 42"}, "Player not found"),
        ({"player_a": "Noble Six", "player_b": "../x"}, "Invalid gamertag or XUID"),
        ({"player_a": "Noble Six", "player_b": f"<@{OTHER_USER_ID}>"}, "No linked account"),
    ],
)
async def test_bad_players(world: World, options: dict[str, str], title: str) -> None:
    rec = await world.invoke("compare", options)
    assert rec.is_ephemeral()
    assert rec.final_message()["embeds"][0]["title"] == title
    assert world.halo.count(SKILL) == 0


async def test_halo_down(world: World) -> None:
    world.halo.fail(SKILL, status=503, times=None)
    rec = await world.invoke(
        "compare", {"player_a": NOBLE_SIX.gamertag, "player_b": MODERN_PLAYER.gamertag}
    )
    assert rec.is_ephemeral()
    assert rec.final_message()["embeds"][0]["title"] == "Halo is not answering"


async def test_both_options_autocomplete_and_a_failing_service_record(world: World) -> None:
    await world.db.accounts.link(USER_ID, str(NOBLE_SIX.xuid), NOBLE_SIX.gamertag)
    for option in ("player_a", "player_b"):
        choices = await world.autocomplete("compare", {option: "nob"}, option)
        assert choices == [{"name": "Noble Six (you)", "value": f"xuid({NOBLE_SIX.xuid})"}]
    world.halo.fail("servicerecord", status=503, times=None)
    rec = await world.invoke(
        "compare", {"player_a": NOBLE_SIX.gamertag, "player_b": MODERN_PLAYER.gamertag}
    )
    assert rec.is_ephemeral()
    assert rec.final_message()["embeds"][0]["title"] == "Halo is not answering"
