"""/help and /about end to end, and where every command may be installed and used."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import discord
from discord import app_commands

from bot import __version__
from bot.core.installs import DM_TOO, USER_INSTALLABLE
from bot.features.help.service import EXAMPLES
from tests.support.discord import GUILD_ID, USER_ID
from tests.support.world import World, running_world

SUBCOMMAND = 1
VIEW_SEND_EMBED_MANAGE_ROLES = 1024 + 2048 + 16384 + 268435456


def leaves(commands: list[Any]) -> Iterator[app_commands.Command[Any, ..., Any]]:
    for command in commands:
        if isinstance(command, app_commands.Group):
            yield from leaves(command.commands)
        elif isinstance(command, app_commands.Command):
            yield command


def synced_names(commands: list[dict[str, Any]]) -> set[str]:
    """Full names of every slash command Discord knows, subcommands included."""
    names: set[str] = set()
    for command in commands:
        subs = [o for o in command.get("options", []) if o["type"] == SUBCOMMAND]
        names.update(f"{command['name']} {s['name']}" for s in subs)
        if not subs:
            names.add(command["name"])
    return names


def fields(embed: dict[str, Any]) -> dict[str, str]:
    return {f["name"]: f["value"] for f in embed.get("fields", [])}


async def test_help_lists_every_synced_command_with_its_description_and_example(
    world: World,
) -> None:
    rec = await world.invoke("help")
    message = rec.final_message()
    assert message is not None and rec.is_ephemeral(message)
    text = rec.embeds()[0]["description"]
    names = synced_names(world.discord.synced_commands(GUILD_ID))
    assert {"csr", "help", "about", "config show"} <= names
    registered = {c.qualified_name: c for c in leaves(world.bot.tree.get_commands())}
    assert set(registered) == names  # help reads the same tree that was synced
    for name in names:
        assert f"`/{name}`: {registered[name].description}" in text
        assert f"e.g. `{EXAMPLES[name]}`" in text
    lookups, servers = text.split("**Server features**")
    assert "`/csr`" in lookups and "`/config show`" in servers


async def test_every_registered_command_has_an_example_naming_its_real_options(
    world: World,
) -> None:
    for command in leaves(world.bot.tree.get_commands()):
        name = command.qualified_name
        assert name in EXAMPLES, f"/{name} has no example in bot/features/help/service.py"
        example = EXAMPLES[name]
        assert example.startswith(f"/{name}")
        used = re.findall(r"(?:^|\s)([a-z_]+):", example)
        options = {p.name for p in command.parameters}
        assert set(used) <= options, (name, used, options)


async def test_help_works_in_a_dm(world: World) -> None:
    await world.bot.tree.sync()  # global commands: what a user install sees
    rec = await world.invoke("help", guild_id=None)
    assert "`/csr`" in rec.embeds()[0]["description"]


async def test_about_shows_version_uptime_servers_halo_links_and_privacy(
    tmp_path: Path,
) -> None:
    async with running_world(tmp_path, project_url="https://example.org/halo-bot/") as world:
        before = time.time()
        await world.invoke("csr", {"player": "Noble Six"})  # a successful Halo call
        rec = await world.invoke("about")
    message = rec.final_message()
    assert message is not None and rec.is_ephemeral(message)
    values = fields(rec.embeds()[0])
    assert values["Version"] == __version__
    assert values["Uptime"] == "less than a minute"
    assert values["Servers"] == str(len(world.discord.guilds))
    last = re.search(r"Last successful call: <t:(\d+):R>", values["Halo"])
    assert last is not None and int(before) - 1 <= int(last.group(1)) <= time.time() + 1
    assert "Current wait: none" in values["Halo"]
    links = dict(re.findall(r"\[([^\]]+)\]\(([^)]+)\)", values["Add the bot"]))
    server = parse_qs(urlsplit(links["Add to a server"]).query)
    assert server["client_id"] == [str(world.discord.application_id)]
    assert server["scope"] == ["bot applications.commands"]
    assert server["permissions"] == [str(VIEW_SEND_EMBED_MANAGE_ROLES)]
    user = parse_qs(urlsplit(links["Install to your account"]).query)
    assert user == {
        "client_id": [str(world.discord.application_id)],
        "integration_type": ["1"],
        "scope": ["applications.commands"],
    }
    assert "[Privacy](https://example.org/halo-bot#privacy)" in values["Privacy"]


def check_installs(payload: list[dict[str, Any]]) -> None:
    names = {c["name"] for c in payload}
    assert set(USER_INSTALLABLE) <= names
    assert {"config", "link", "leaderboard"} <= names
    for command in payload:
        if command["name"] in USER_INSTALLABLE:
            assert command["integration_types"] == [0, 1], command["name"]
            assert command["contexts"] == [0, 1, 2], command["name"]
        elif command["name"] in DM_TOO:  # server-installed, and in the bot's DM
            assert command["integration_types"] == [0], command["name"]
            assert command["contexts"] == [0, 1], command["name"]
        else:
            assert command["integration_types"] == [0], command["name"]
            assert command["contexts"] == [0], command["name"]


async def test_synced_payloads_carry_install_types_and_contexts(world: World) -> None:
    dev_sync = [s for s in world.discord.command_syncs if s["method"] == "PUT"]
    assert dev_sync and dev_sync[-1]["guild_id"] == str(GUILD_ID)
    check_installs(dev_sync[-1]["payload"])
    await world.bot.tree.sync()  # what `halo-bot sync-commands` publishes globally
    last = world.discord.command_syncs[-1]
    assert (last["method"], last["guild_id"]) == ("PUT", None)
    check_installs(last["payload"])


async def test_a_user_installed_lookup_answers_in_a_dm(world: World) -> None:
    await world.bot.tree.sync()
    rec = await world.invoke("csr", {"player": "Noble Six"}, guild_id=None, user_id=USER_ID)
    embed = rec.embeds()[0]
    assert "Noble Six" in str(embed), embed
    assert discord.Colour(embed.get("color", 0)).value != 0xEF4444  # not an error
