"""/config track reveals nothing about a user who is not a member of this server (their
gamertag, whether they linked) and does not track them."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.e2e.config.test_verified_links import fields
from tests.fakes.halo_server import NOBLE_SIX
from tests.support.discord import ADMIN_USER_ID, GUILD_ID, running_fake
from tests.support.world import World, running_world

GUILD2_ID = 1_300_000_000_000_021_000
STRANGER_ID = 1_300_000_000_000_021_200  # only in the second server
UNLINKED_STRANGER_ID = 1_300_000_000_000_021_201


@pytest.fixture(name="world")
async def world_fixture(tmp_path: Path) -> AsyncIterator[World]:
    async with running_fake() as fake:
        fake.add_guild(
            GUILD2_ID,
            "Second Guild",
            channels=[{"id": GUILD2_ID + 1, "name": "general"}],
            members=[
                {"id": STRANGER_ID, "username": "stranger"},
                {"id": UNLINKED_STRANGER_ID, "username": "wanderer"},
            ],
        )
        async with running_world(tmp_path, discord=fake) as world:
            await world.db.accounts.link(STRANGER_ID, str(NOBLE_SIX.xuid), NOBLE_SIX.gamertag)
            yield world
            fake.assert_healthy()


async def track(world: World, user_id: int) -> dict:
    rec = await world.invoke("config track", {"member": user_id}, user_id=ADMIN_USER_ID)
    msg = rec.final_message()
    assert msg is not None and rec.is_ephemeral(msg), msg
    return msg


@pytest.mark.parametrize("user_id", [STRANGER_ID, UNLINKED_STRANGER_ID])
async def test_tracking_a_user_of_another_server_reveals_nothing(
    world: World, user_id: int
) -> None:
    msg = await track(world, user_id)
    text = json.dumps(msg, ensure_ascii=False)
    assert NOBLE_SIX.gamertag not in text and str(NOBLE_SIX.xuid) not in text, text
    assert "link" not in msg["embeds"][0]["description"].lower(), text
    assert "members of this server" in msg["embeds"][0]["description"]
    everyone = await world.db.tracked.list_for_guild(GUILD_ID, include_unverified=True)
    assert everyone == []
    rec = await world.invoke("config show", {}, user_id=ADMIN_USER_ID)
    shown = json.dumps(rec.final_message(), ensure_ascii=False)
    assert NOBLE_SIX.gamertag not in shown and str(user_id) not in shown
    assert not any(name.startswith("Tracked members (1") for name in fields(rec.embeds()[0]))
