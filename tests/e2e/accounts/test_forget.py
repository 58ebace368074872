"""/unlink keeps a little (and says what); /unlink forget:True deletes everything stored
about the member: lookups, rank history of their XUID (unless another member links it),
tracking, verification and rank-role grants (the roles are taken back first)."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.e2e.accounts.verifying import link_verified, reply_of
from tests.e2e.announcements.test_announcements import cycle, set_channel
from tests.e2e.announcements.test_rank_roles import (
    DIAMOND_ROLE,
    ONYX_ROLE,
    rank_roles,
    rank_roles_of,
    roles_world,
)
from tests.fakes.halo_server import MODERN_PLAYER, NOBLE_SIX, RANKED_ARENA
from tests.support.discord import GUILD_ID, OTHER_USER_ID, USER_ID
from tests.support.world import World


@pytest.fixture(name="world")
async def world_fixture(tmp_path: Path) -> AsyncIterator[World]:
    async with roles_world(tmp_path) as world:
        yield world


def rows(world: World, sql: str, *args: object) -> int:
    """Rows on disk, read with a connection of its own."""
    with contextlib.closing(sqlite3.connect(world.settings.database_path)) as conn:
        return len(conn.execute(sql, args).fetchall())


def stored_about(world: World, user_id: int, xuid: int) -> dict[str, int]:
    return {
        "link": rows(world, "SELECT 1 FROM linked_accounts WHERE user_id = ?", user_id),
        "lookups by them": rows(world, "SELECT 1 FROM player_lookups WHERE user_id = ?", user_id),
        "lookups of them": rows(world, "SELECT 1 FROM player_lookups WHERE xuid = ?", str(xuid)),
        "rank history": rows(world, "SELECT 1 FROM rank_snapshots WHERE xuid = ?", str(xuid)),
        "tracking": rows(world, "SELECT 1 FROM tracked_members WHERE user_id = ?", user_id),
        "vouching": rows(world, "SELECT 1 FROM guild_verified_links WHERE user_id = ?", user_id),
        "codes": rows(world, "SELECT 1 FROM link_codes WHERE user_id = ?", user_id),
        "grants": rows(world, "SELECT 1 FROM rank_role_grants WHERE user_id = ?", user_id),
        "announcements": rows(world, "SELECT 1 FROM announcements WHERE key LIKE ?", f"%:{xuid}:%"),
    }


async def setup_member(world: World) -> None:
    """USER: linked and verified, vouched for, looked somebody up, rank history, a role."""
    await rank_roles(world, tier="Diamond", role=DIAMOND_ROLE)
    await rank_roles(world, tier="Onyx", role=ONYX_ROLE)
    await link_verified(world, NOBLE_SIX.gamertag)
    await world.db.verification.vouch(GUILD_ID, USER_ID, str(NOBLE_SIX.xuid), by=1)
    await world.invoke("csr", {"player": MODERN_PLAYER.gamertag})  # a lookup note
    await world.invoke("csr", {"player": NOBLE_SIX.gamertag}, user_id=OTHER_USER_ID)
    await world.bot.resolver.flush()
    await set_channel(world)
    await cycle(world)
    assert rank_roles_of(world, USER_ID) == {DIAMOND_ROLE}
    world.halo.set_csr(NOBLE_SIX.xuid, RANKED_ARENA, 1510)  # an announcement about them
    await cycle(world)
    assert rank_roles_of(world, USER_ID) == {ONYX_ROLE}
    stored = stored_about(world, USER_ID, NOBLE_SIX.xuid)
    assert all(stored[k] > 0 for k in stored if k != "codes"), stored


async def test_unlink_alone_says_what_it_keeps(world: World) -> None:
    await setup_member(world)
    rec = await world.invoke("unlink")
    embed = reply_of(rec)["embeds"][0]
    assert embed["title"] == "Account unlinked"
    assert "Kept:" in embed["description"] and "forget" in embed["description"]
    stored = stored_about(world, USER_ID, NOBLE_SIX.xuid)
    assert stored["link"] == stored["tracking"] == stored["vouching"] == 0
    assert stored["lookups by them"] > 0 and stored["rank history"] > 0  # kept, as said
    await world.bot.get_cog("RankAnnouncements").rank_roles.sync_soon(GUILD_ID)  # type: ignore[union-attr]
    assert rank_roles_of(world, USER_ID) == set()  # the rank role is taken back


async def test_forget_deletes_everything_stored_about_the_member(world: World) -> None:
    await setup_member(world)
    rec = await world.invoke("unlink", {"forget": True})
    msg = reply_of(rec)
    assert rec.is_ephemeral(msg)
    embed = msg["embeds"][0]
    assert embed["title"] == "Forgotten"
    assert "no longer linked" in embed["description"]
    assert stored_about(world, USER_ID, NOBLE_SIX.xuid) == dict.fromkeys(
        stored_about(world, USER_ID, NOBLE_SIX.xuid), 0
    )
    assert rank_roles_of(world, USER_ID) == set()  # taken back before the grant went
    # Others' lookups of that XUID went with it; the player OTHER looked up is not them.
    assert rows(world, "SELECT 1 FROM player_lookups WHERE user_id = ?", OTHER_USER_ID) == 0
    assert rows(world, "SELECT 1 FROM rank_snapshots") == 0  # only Noble Six was tracked


async def test_forget_keeps_the_rank_history_another_member_links(world: World) -> None:
    await setup_member(world)
    await world.db.accounts.link(OTHER_USER_ID, str(NOBLE_SIX.xuid), NOBLE_SIX.gamertag)
    await world.invoke("unlink", {"forget": True})
    stored = stored_about(world, USER_ID, NOBLE_SIX.xuid)
    assert stored["rank history"] > 0
    assert stored["link"] == stored["lookups by them"] == stored["grants"] == 0


async def test_forget_without_a_link_still_deletes_lookups(world: World) -> None:
    await world.invoke("csr", {"player": MODERN_PLAYER.gamertag})
    await world.bot.resolver.flush()
    assert rows(world, "SELECT 1 FROM player_lookups WHERE user_id = ?", USER_ID) == 1
    rec = await world.invoke("unlink", {"forget": True})
    embed = reply_of(rec)["embeds"][0]
    assert embed["title"] == "Forgotten" and "no linked Halo account" in embed["description"]
    assert rows(world, "SELECT 1 FROM player_lookups WHERE user_id = ?", USER_ID) == 0
