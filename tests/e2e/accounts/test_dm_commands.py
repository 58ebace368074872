"""/link, /unlink and /whois answer in the member's DM with the bot (context 1), so a
member who shares no server with the bot any more can still remove everything stored
about them. The fake Discord offers a command only in the contexts it was synced for."""

from __future__ import annotations

import pytest

from tests.fakes.halo_server import NOBLE_SIX
from tests.support.discord import ADMIN_USER_ID
from tests.support.world import World

LEFT_EVERY_SERVER = 1_300_000_000_000_030_300


async def test_a_member_in_no_server_can_unlink_and_forget_in_a_dm(world: World) -> None:
    world.discord.add_user(LEFT_EVERY_SERVER, "gone")
    await world.db.accounts.link(LEFT_EVERY_SERVER, str(NOBLE_SIX.xuid), NOBLE_SIX.gamertag)
    await world.bot.tree.sync()  # global commands: what a DM offers
    rec = await world.invoke("whois", user_id=LEFT_EVERY_SERVER, guild_id=None)
    assert NOBLE_SIX.gamertag in rec.embeds()[0]["description"]
    rec = await world.invoke("unlink", {"forget": True}, user_id=LEFT_EVERY_SERVER, guild_id=None)
    embed = rec.embeds()[0]
    assert embed["title"] == "Forgotten", embed
    assert await world.db.accounts.get(LEFT_EVERY_SERVER) is None
    rec = await world.invoke(
        "link", {"gamertag": NOBLE_SIX.gamertag}, user_id=LEFT_EVERY_SERVER, guild_id=None
    )
    assert rec.embeds()[0]["title"] == "Account linked"


async def test_server_only_commands_are_not_offered_in_a_dm(world: World) -> None:
    await world.bot.tree.sync()
    with pytest.raises(PermissionError, match="not available in context 1"):
        await world.invoke("config show", user_id=ADMIN_USER_ID, guild_id=None)
    with pytest.raises(PermissionError, match="not available in context 1"):
        await world.invoke("leaderboard", user_id=ADMIN_USER_ID, guild_id=None)
