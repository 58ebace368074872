"""Privacy across servers: which account a member linked is shown only in a server that
member is in (or to the member themselves), for /whois and for ``player:<@member>``."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import discord
import pytest

from tests.fakes.discord_server import InteractionRecord
from tests.fakes.halo_server import MODERN_PLAYER, NOBLE_SIX
from tests.support.discord import GUILD_ID, OTHER_USER_ID, USER_ID, running_fake
from tests.support.world import World, running_world

GUILD2_ID = 1_300_000_000_000_020_000
GUILD2_CHANNEL_ID = 1_300_000_000_000_020_001
STRANGER_ID = 1_300_000_000_000_020_200  # only in the second server
SECRETS = (NOBLE_SIX.gamertag, str(NOBLE_SIX.xuid))


@pytest.fixture(name="world")
async def world_fixture(tmp_path: Path) -> AsyncIterator[World]:
    async with running_fake() as fake:
        fake.add_guild(
            GUILD2_ID,
            "Second Guild",
            channels=[{"id": GUILD2_CHANNEL_ID, "name": "general"}],
            members=[{"id": STRANGER_ID, "username": "stranger"}],
        )
        async with running_world(tmp_path, discord=fake) as world:
            guild = discord.Object(id=GUILD2_ID)
            world.bot.tree.copy_global_to(guild=guild)
            await world.bot.tree.sync(guild=guild)
            await world.bot.tree.sync()  # global too: DMs see typed options as Discord sends
            # OTHER (in the first server only) links Noble Six.
            await world.db.accounts.link(OTHER_USER_ID, str(NOBLE_SIX.xuid), NOBLE_SIX.gamertag)
            await world.db.tracked.track(GUILD_ID, OTHER_USER_ID)
            yield world
            fake.assert_healthy()


def shown(rec: InteractionRecord) -> dict[str, Any]:
    msg = rec.final_message()
    assert msg is not None
    return msg


def assert_reveals_nothing(rec: InteractionRecord) -> None:
    msg = shown(rec)
    text = json.dumps(msg, ensure_ascii=False)
    for secret in SECRETS:
        assert secret not in text, text
    assert msg["embeds"][0]["title"] == "Not allowed", msg
    assert rec.is_ephemeral(msg)


async def test_whois_in_another_server_or_a_dm_reveals_nothing(world: World) -> None:
    rec = await world.invoke(
        "whois", {"member": OTHER_USER_ID}, user_id=STRANGER_ID, guild_id=GUILD2_ID
    )
    assert_reveals_nothing(rec)
    rec = await world.invoke("whois", {"member": OTHER_USER_ID}, user_id=USER_ID, guild_id=None)
    assert_reveals_nothing(rec)
    # The same answer for a member who never linked: it does not tell who linked.
    rec = await world.invoke("whois", {"member": USER_ID}, user_id=STRANGER_ID, guild_id=GUILD2_ID)
    assert_reveals_nothing(rec)
    # In the member's own server it is shown.
    rec = await world.invoke("whois", {"member": OTHER_USER_ID}, user_id=USER_ID)
    assert NOBLE_SIX.gamertag in shown(rec)["embeds"][0]["description"]


async def test_whois_yourself_works_anywhere(world: World) -> None:
    rec = await world.invoke("whois", user_id=OTHER_USER_ID, guild_id=None)
    assert NOBLE_SIX.gamertag in shown(rec)["embeds"][0]["description"]


async def test_player_mention_in_another_server_or_a_dm_reveals_nothing(world: World) -> None:
    world.halo.clear_requests()
    mention = f"<@{OTHER_USER_ID}>"
    rec = await world.invoke("csr", {"player": mention}, user_id=STRANGER_ID, guild_id=GUILD2_ID)
    assert_reveals_nothing(rec)
    rec = await world.invoke("csr", {"player": mention}, user_id=USER_ID, guild_id=None)
    assert_reveals_nothing(rec)
    assert world.halo.requests_to(str(NOBLE_SIX.xuid)) == []
    # In the member's server the mention works.
    rec = await world.invoke("csr", {"player": mention}, user_id=USER_ID)
    assert NOBLE_SIX.gamertag in json.dumps(shown(rec), ensure_ascii=False)


async def test_a_member_who_left_is_not_looked_up_by_mention(world: World) -> None:
    del world.discord.guilds[GUILD_ID].members[OTHER_USER_ID]
    rec = await world.invoke("csr", {"player": f"<@{OTHER_USER_ID}>"}, user_id=USER_ID)
    assert_reveals_nothing(rec)
    rec = await world.invoke("whois", {"member": OTHER_USER_ID}, user_id=USER_ID)
    assert_reveals_nothing(rec)


async def test_your_own_mention_works_in_a_dm(world: World) -> None:
    await world.db.accounts.link(USER_ID, str(MODERN_PLAYER.xuid), MODERN_PLAYER.gamertag)
    rec = await world.invoke("csr", {"player": f"<@{USER_ID}>"}, user_id=USER_ID, guild_id=None)
    assert "Sïerra" in json.dumps(shown(rec), ensure_ascii=False)
