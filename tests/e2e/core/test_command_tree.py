"""The slash commands the bot registers: names and options are a public contract."""

from __future__ import annotations

from typing import Any

from tests.support.discord import GUILD_ID
from tests.support.world import World

SUB_COMMAND = 1
MANAGE_GUILD = 1 << 5


def options(command: dict[str, Any]) -> list[str]:
    return [o["name"] for o in command.get("options", [])]


async def test_every_command_is_registered_with_its_public_options(world: World) -> None:
    synced = {c["name"]: c for c in world.discord.synced_commands(GUILD_ID)}
    assert set(synced) == {
        "csr",
        "servicerecord",
        "operation",
        "events",
        "link",
        "unlink",
        "whois",
        "config",
        "leaderboard",
        "compare",
        "history",
        "matches",
        "help",
        "about",
    }
    assert options(synced["csr"]) == ["player", "playlist", "season"]
    assert options(synced["servicerecord"]) == ["player", "season", "mode"]
    assert options(synced["operation"]) == ["player", "operation"]
    assert options(synced["events"]) == ["player", "event"]
    assert options(synced["link"]) == ["gamertag"]
    assert options(synced["whois"]) == ["member"]
    assert options(synced["unlink"]) == ["forget"]
    assert options(synced["leaderboard"]) == ["playlist"]
    assert options(synced["compare"]) == ["player_a", "player_b"]
    assert options(synced["history"]) == ["player", "playlist", "days"]
    assert options(synced["matches"]) == ["player", "count"]
    assert options(synced["help"]) == options(synced["about"]) == []
    count = synced["matches"]["options"][1]
    assert (count["min_value"], count["max_value"]) == (1, 25)
    days = synced["history"]["options"][2]
    assert (days["min_value"], days["max_value"]) == (1, 365)
    for name in ("csr", "servicerecord", "operation", "events"):
        first = synced[name]["options"][0]
        assert first["autocomplete"] is True and not first.get("required")
    modes = synced["servicerecord"]["options"][2]["choices"]
    assert [c["value"] for c in modes] == ["all", "ranked"]


async def test_config_is_for_server_managers_by_default(world: World) -> None:
    config = next(c for c in world.discord.synced_commands(GUILD_ID) if c["name"] == "config")
    assert int(config["default_member_permissions"]) & MANAGE_GUILD
    assert config.get("dm_permission") is False or config.get("contexts") == [0]
    subcommands = {o["name"] for o in config["options"] if o["type"] == SUB_COMMAND}
    assert {
        "announce-channel",
        "playlists",
        "triggers",
        "track",
        "untrack",
        "show",
        "reset",
    } <= subcommands


async def test_nothing_is_synced_globally_on_start(world: World) -> None:
    assert world.discord.synced_commands(None) == []
