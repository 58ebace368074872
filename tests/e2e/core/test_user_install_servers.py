"""Commands a user installed to their account, run in a server that never added the bot:
nothing is recorded under that server (who looked up whom), and a member's link is not
looked up there (the answer says why)."""

from __future__ import annotations

import contextlib
import copy
import sqlite3
from typing import Any

from tests.fakes.discord_server import InteractionRecord
from tests.fakes.halo_server import MODERN_PLAYER, NOBLE_SIX
from tests.support.discord import GUILD_ID, USER_ID
from tests.support.world import World

FOREIGN_GUILD_ID = 1_300_000_000_000_040_000  # the bot was never added here
FOREIGN_CHANNEL_ID = 1_300_000_000_000_040_001


async def invoke_user_installed(
    world: World, name: str, options: dict[str, Any], *, user_id: int = USER_ID
) -> InteractionRecord:
    """/``name`` as Discord sends a user-installed command in a server without the bot:
    the server's id, a partial ``guild``, the member, and the user as the installer."""
    payload = world.discord.build_command_interaction(
        name, options, guild_id=GUILD_ID, user_id=user_id
    )
    payload = copy.deepcopy(payload)
    payload["guild_id"] = str(FOREIGN_GUILD_ID)
    payload["guild"] = {"id": str(FOREIGN_GUILD_ID), "locale": "en-US", "features": []}
    payload["channel_id"] = str(FOREIGN_CHANNEL_ID)
    payload["channel"].update(
        {"id": str(FOREIGN_CHANNEL_ID), "guild_id": str(FOREIGN_GUILD_ID), "name": "elsewhere"}
    )
    payload["authorizing_integration_owners"] = {"1": str(user_id)}
    payload["data"].pop("guild_id", None)
    rec = await world.discord.dispatch_interaction(payload)
    await rec.wait_final(timeout=15)
    await rec.wait_until(lambda r: r.latest_message() is not None, timeout=15, what="a reply")
    return rec


def lookups_under(world: World, guild_id: int) -> int:
    with contextlib.closing(sqlite3.connect(world.settings.database_path)) as conn:
        row = conn.execute(
            "SELECT COUNT(*) FROM player_lookups WHERE guild_id = ?", (guild_id,)
        ).fetchone()
    return int(row[0])


async def test_lookups_in_a_server_without_the_bot_are_not_recorded(world: World) -> None:
    assert world.bot.get_guild(FOREIGN_GUILD_ID) is None
    rec = await invoke_user_installed(world, "csr", {"player": NOBLE_SIX.gamertag})
    assert NOBLE_SIX.gamertag in str(rec.embeds()[0])
    # In the bot's own server the same lookup is noted (for its suggestions).
    await world.invoke("csr", {"player": MODERN_PLAYER.gamertag})
    await world.bot.resolver.flush()
    assert lookups_under(world, FOREIGN_GUILD_ID) == 0
    assert lookups_under(world, GUILD_ID) == 1
