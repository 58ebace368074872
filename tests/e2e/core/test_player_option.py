"""The ``player`` option, the same for every command that takes one: no player and no
link, an unknown gamertag, and text that is no gamertag or XUID each get their own
private message, and none of them asks Halo anything about a player."""

from __future__ import annotations

import pytest

from tests.fakes.halo_server import ECONOMY_HOST, GAMECMS_HOST, SKILL_HOST, STATS_HOST
from tests.support.replies import private_error
from tests.support.world import World

#: Commands with a ``player`` option, and the Halo host their answer comes from.
COMMANDS = {
    "csr": SKILL_HOST,
    "servicerecord": STATS_HOST,
    "operation": ECONOMY_HOST,
    "events": ECONOMY_HOST,
    "matches": STATS_HOST,
    "history": SKILL_HOST,
}


def asked_about_players(world: World) -> list[str]:
    """Requests to Halo other than the static game content read at start-up."""
    return [r.path for r in world.halo.requests if r.host != GAMECMS_HOST]


@pytest.mark.parametrize("command", list(COMMANDS))
async def test_no_player_and_no_link_gives_the_link_hint(world: World, command: str) -> None:
    rec = await world.invoke(command)
    embed = private_error(rec)
    assert embed["title"] == "No linked account"
    assert "`/link`" in embed["description"]
    assert world.halo.count(COMMANDS[command]) == 0


@pytest.mark.parametrize("command", list(COMMANDS))
async def test_an_unknown_gamertag_is_named(world: World, command: str) -> None:
    rec = await world.invoke(command, {"player": "Nobody Here 42"})
    embed = private_error(rec)
    assert embed["title"] == "Player not found"
    assert "Nobody Here 42" in embed["description"]
    assert world.halo.count(COMMANDS[command]) == 0


@pytest.mark.parametrize("command", list(COMMANDS))
@pytest.mark.parametrize("text", ["../../users/me", "bad/name?x=1"])
async def test_text_that_is_no_player_never_reaches_halo(
    world: World, command: str, text: str
) -> None:
    rec = await world.invoke(command, {"player": text})
    assert private_error(rec)["title"] == "Invalid gamertag or XUID"
    assert asked_about_players(world) == []
