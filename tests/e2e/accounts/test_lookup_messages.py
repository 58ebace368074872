"""The reason a member is given is the real one: Discord failing is not "not a member
here", a server that never added the bot says so, and rank roles left on a forgotten
member are not always blamed on a missing permission."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.e2e.accounts import test_forget
from tests.e2e.accounts.test_privacy import world_fixture  # noqa: F401  (the "world" fixture)
from tests.e2e.accounts.verifying import reply_of
from tests.e2e.core.test_user_install_servers import invoke_user_installed
from tests.fakes.discord_server import InteractionRecord
from tests.fakes.halo_server import NOBLE_SIX
from tests.support.discord import GUILD_ID, OTHER_USER_ID, USER_ID
from tests.support.world import World

MEMBER_LOOKUP = rf"^/guilds/{GUILD_ID}/members/{OTHER_USER_ID}$"


def answer(rec: InteractionRecord) -> dict[str, Any]:
    msg = rec.final_message()
    assert msg is not None and rec.is_ephemeral(msg), msg
    text = json.dumps(msg, ensure_ascii=False)
    assert NOBLE_SIX.gamertag not in text and str(NOBLE_SIX.xuid) not in text, text
    return msg["embeds"][0]


async def test_discord_failing_is_not_called_not_a_member(world: World) -> None:
    world.discord.fail("GET", MEMBER_LOOKUP, status=403, times=1)
    rec = await world.invoke("csr", {"player": f"<@{OTHER_USER_ID}>"}, user_id=USER_ID)
    embed = answer(rec)
    assert embed["title"] == "Discord did not answer", embed
    assert "try again" in embed["description"]
    assert "server they are in" not in embed["description"]
    # Discord answers again: the member's link is used.
    rec = await world.invoke("csr", {"player": f"<@{OTHER_USER_ID}>"}, user_id=USER_ID)
    assert NOBLE_SIX.gamertag in json.dumps(rec.final_message(), ensure_ascii=False)


async def test_not_a_member_here_says_so(world: World) -> None:
    del world.discord.guilds[GUILD_ID].members[OTHER_USER_ID]
    rec = await world.invoke("csr", {"player": f"<@{OTHER_USER_ID}>"}, user_id=USER_ID)
    embed = answer(rec)
    assert embed["title"] == "Not allowed"
    assert "in a server they are in" in embed["description"]


async def test_a_server_without_the_bot_says_links_work_where_it_was_added(
    world: World,
) -> None:
    rec = await invoke_user_installed(world, "csr", {"player": f"<@{OTHER_USER_ID}>"})
    embed = answer(rec)
    assert embed["title"] == "Not allowed"
    assert "only in servers where I was added" in embed["description"]


async def test_roles_left_after_forget_name_the_real_reason(tmp_path: Path) -> None:
    async with test_forget.roles_world(tmp_path) as world:
        await test_forget.setup_member(world)
        world.discord.fail("DELETE", rf"^/guilds/{GUILD_ID}/members/{USER_ID}/roles/", status=400)
        rec = await world.invoke("unlink", {"forget": True})
        text = reply_of(rec)["embeds"][0]["description"]
        assert "1 rank role could not be taken back now" in text, text
        assert "Discord returned an error" in text
        assert "permission" not in text.split("could not be taken back")[1]
