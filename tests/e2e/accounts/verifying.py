"""Linking and verifying as a member does it: /link, set the code as the service tag in
the fake Halo, press the Verify button."""

from __future__ import annotations

import re
from typing import Any

from tests.fakes.discord_server import InteractionRecord
from tests.support.discord import GUILD_ID, USER_ID
from tests.support.world import World

CODE = re.compile(r"`([A-Z0-9]{4})`")


def reply_of(rec: InteractionRecord) -> dict[str, Any]:
    msg = rec.final_message()
    assert msg is not None
    return msg


def code_of(rec: InteractionRecord) -> str:
    """The 4-character code in /link's reply (in backticks)."""
    found = CODE.findall(reply_of(rec)["embeds"][0]["description"])
    assert len(set(found)) == 1, found
    return found[0]


def verify_button(rec: InteractionRecord) -> dict[str, Any]:
    buttons = [
        c
        for row in reply_of(rec).get("components") or []
        for c in row["components"]
        if "Verify" in (c.get("label") or "")
    ]
    assert len(buttons) == 1, reply_of(rec).get("components")
    return buttons[0]


async def press_verify(
    world: World, rec: InteractionRecord, user_id: int = USER_ID
) -> dict[str, Any]:
    """Press the Verify button of /link's reply ``rec``; the (private) answer's embed."""
    press = await world.discord.click(
        reply_of(rec), verify_button(rec)["custom_id"], user_id=user_id
    )
    await press.wait_final(timeout=15)
    await press.wait_until(lambda r: r.latest_message() is not None, timeout=15, what="a reply")
    msg = press.final_message()
    assert msg is not None and press.is_ephemeral(msg), msg
    return msg["embeds"][0]


async def link(
    world: World, gamertag: str, user_id: int = USER_ID, **kwargs: Any
) -> InteractionRecord:
    rec = await world.invoke("link", {"gamertag": gamertag}, user_id=user_id, **kwargs)
    assert reply_of(rec)["embeds"][0]["title"] == "Account linked", reply_of(rec)
    return rec


async def link_verified(
    world: World, gamertag: str, user_id: int = USER_ID, guild_id: int | None = GUILD_ID
) -> InteractionRecord:
    """/link, then verify through the service tag; returns /link's record."""
    rec = await link(world, gamertag, user_id, guild_id=guild_id)
    account = await world.db.accounts.get(user_id)
    assert account is not None
    world.halo.set_service_tag(int(account.xuid), code_of(rec).lower())
    embed = await press_verify(world, rec, user_id)
    assert embed["title"] == "Account verified", embed
    return rec
