"""Per-user cooldowns and per-server limits, as members see them."""

from __future__ import annotations

from pathlib import Path

from tests.fakes.halo_server import MODERN_PLAYER, NOBLE_SIX
from tests.support.discord import OTHER_USER_ID, USER_ID
from tests.support.world import running_world


async def test_user_cooldown_names_the_wait(tmp_path: Path) -> None:
    async with running_world(tmp_path, user_cooldown_seconds=30) as world:
        first = await world.invoke("link", {"gamertag": NOBLE_SIX.gamertag})
        assert first.embeds()[0]["title"] == "Account linked"
        second = await world.invoke("link", {"gamertag": MODERN_PLAYER.gamertag})
        msg = second.final_message()
        assert second.is_ephemeral(msg)
        assert "going a bit fast" in msg["embeds"][0]["description"]
        assert "30 seconds" in msg["embeds"][0]["description"]
        account = await world.db.accounts.get(USER_ID)
        assert account is not None and account.gamertag == NOBLE_SIX.gamertag
        # Another member is not slowed down by the first one's cooldown.
        other = await world.invoke(
            "link", {"gamertag": MODERN_PLAYER.gamertag}, user_id=OTHER_USER_ID
        )
        assert other.embeds()[0]["title"] == "Account linked"


async def test_server_limit_stops_a_busy_server_only(tmp_path: Path) -> None:
    async with running_world(tmp_path, guild_commands_per_minute=1) as world:
        await world.invoke("link", {"gamertag": NOBLE_SIX.gamertag})
        rec = await world.invoke(
            "link", {"gamertag": MODERN_PLAYER.gamertag}, user_id=OTHER_USER_ID
        )
        text = rec.final_message()["embeds"][0]["description"]
        assert "This server is making a lot of Halo lookups" in text
        assert await world.db.accounts.get(OTHER_USER_ID) is None
        # The same member in a DM (no server budget) is not limited.
        dm = await world.invoke(
            "link",
            {"gamertag": MODERN_PLAYER.gamertag},
            user_id=OTHER_USER_ID,
            guild_id=None,
            strict=False,
        )
        assert dm.embeds()[0]["title"] == "Account linked"
