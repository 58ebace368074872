"""Verified links from the admins' side: /config link (vouching in person), /config show,
and the migration that keeps the links made before verification existed working."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path
from typing import Any

from bot.storage.database import load_migrations
from tests.e2e.accounts.verifying import link
from tests.fakes.halo_server import MODERN_PLAYER, NOBLE_SIX
from tests.support.discord import ADMIN_USER_ID, GUILD_ID, OTHER_USER_ID, USER_ID
from tests.support.world import World, running_world

MIGRATION_TIME = "2026-01-02T03:04:05.000000Z"


async def admin(world: World, name: str, options: dict[str, Any] | None = None, **kw: Any):
    kw.setdefault("user_id", ADMIN_USER_ID)
    rec = await world.invoke(f"config {name}", options or {}, **kw)
    msg = rec.final_message()
    assert msg is not None and rec.is_ephemeral(msg), msg
    return msg["embeds"][0]


def fields(embed: dict[str, Any]) -> dict[str, str]:
    return {f["name"]: f["value"] for f in embed.get("fields", [])}


async def whois_verified(world: World, user_id: int) -> str:
    rec = await world.invoke("whois", {"member": user_id}, user_id=ADMIN_USER_ID)
    return fields(rec.embeds()[0])["Verified"]


async def test_an_admin_links_a_member_as_verified_for_this_server(world: World) -> None:
    embed = await admin(world, "link", {"member": OTHER_USER_ID, "gamertag": NOBLE_SIX.gamertag})
    assert embed["title"] == "Member linked"
    assert (
        "Noble Six" in embed["description"] and "verified for this server" in embed["description"]
    )
    account = await world.db.accounts.get(OTHER_USER_ID)
    assert account is not None and account.xuid == str(NOBLE_SIX.xuid)
    assert not account.verified  # vouched for here only, not by the member's service tag
    counted = await world.db.tracked.list_for_guild(GUILD_ID)
    assert [(m.user_id, m.verified) for m in counted] == [(OTHER_USER_ID, True)]
    assert await whois_verified(world, OTHER_USER_ID) == "Yes (by an admin of this server)"
    shown = fields(await admin(world, "show"))
    assert "1 link verified here by an admin" in shown["Verified links"]
    assert shown["Tracked members (1)"] == f"<@{OTHER_USER_ID}> (Noble Six, verified)"


async def test_vouching_for_a_xuid_takes_it_from_the_member_vouched_before(world: World) -> None:
    await admin(world, "link", {"member": OTHER_USER_ID, "gamertag": NOBLE_SIX.gamertag})
    embed = await admin(world, "link", {"member": USER_ID, "gamertag": NOBLE_SIX.gamertag})
    assert f"<@{OTHER_USER_ID}>" in embed["description"]
    counted = await world.db.tracked.list_for_guild(GUILD_ID)
    assert [m.user_id for m in counted] == [USER_ID]
    assert await whois_verified(world, OTHER_USER_ID) == "No"


async def test_an_admin_cannot_change_a_members_own_link(world: World) -> None:
    await link(world, MODERN_PLAYER.gamertag, OTHER_USER_ID)
    embed = await admin(world, "link", {"member": OTHER_USER_ID, "gamertag": NOBLE_SIX.gamertag})
    assert embed["title"] == "Not allowed" and "Nothing was changed" in embed["description"]
    account = await world.db.accounts.get(OTHER_USER_ID)
    assert account is not None and account.xuid == str(MODERN_PLAYER.xuid)
    assert await world.db.verification.vouched(GUILD_ID, OTHER_USER_ID) is None
    # Their own account, though, an admin may vouch for.
    embed = await admin(
        world, "link", {"member": OTHER_USER_ID, "gamertag": MODERN_PLAYER.gamertag}
    )
    assert embed["title"] == "Member linked"


async def test_plain_members_cannot_vouch(world: World) -> None:
    embed = await admin(
        world, "link", {"member": USER_ID, "gamertag": NOBLE_SIX.gamertag}, user_id=OTHER_USER_ID
    )
    assert embed["title"] == "Not allowed"
    assert await world.db.accounts.get(USER_ID) is None


async def test_vouching_counts_only_in_that_server(world: World) -> None:
    await admin(world, "link", {"member": OTHER_USER_ID, "gamertag": NOBLE_SIX.gamertag})
    other_guild = 1_300_000_000_000_099_000
    await world.db.tracked.track(other_guild, OTHER_USER_ID)
    assert await world.db.tracked.list_for_guild(other_guild) == []
    everyone = await world.db.tracked.list_for_guild(other_guild, include_unverified=True)
    assert [(m.user_id, m.verified) for m in everyone] == [(OTHER_USER_ID, False)]


def schema_3_database(path: Path) -> None:
    """A database as the bot left it before verification existed (schema 3): USER linked
    and tracked here, OTHER linked in a DM (tracked nowhere)."""
    with contextlib.closing(sqlite3.connect(path)) as conn:
        for migration in load_migrations()[:3]:
            for statement in migration.statements():
                conn.execute(statement)
        conn.execute("PRAGMA user_version = 3")
        for user, player in ((USER_ID, NOBLE_SIX), (OTHER_USER_ID, MODERN_PLAYER)):
            conn.execute(
                "INSERT INTO linked_accounts (user_id, xuid, gamertag, linked_at)"
                " VALUES (?, ?, ?, ?)",
                (user, str(player.xuid), player.gamertag, MIGRATION_TIME),
            )
        conn.execute(
            "INSERT INTO tracked_members (guild_id, user_id, added_at) VALUES (?, ?, ?)",
            (GUILD_ID, USER_ID, MIGRATION_TIME),
        )
        conn.commit()


async def test_links_made_before_verification_keep_counting_where_tracked(
    tmp_path: Path,
) -> None:
    schema_3_database(tmp_path / "bot.db")
    async with running_world(tmp_path) as world:
        assert world.db.schema_version >= 4
        counted = await world.db.tracked.list_for_guild(GUILD_ID)
        assert [(m.user_id, m.verified) for m in counted] == [(USER_ID, True)]
        shown = fields(await admin(world, "show"))
        assert "1 link made before verification existed" in shown["Verified links"]
        assert shown["Tracked members (1)"] == f"<@{USER_ID}> (Noble Six, verified)"
        assert await whois_verified(world, USER_ID) == "Yes (linked before verification existed)"
        # A link tracked nowhere then is not verified anywhere: tracked now, it must verify.
        await admin(world, "track", {"member": OTHER_USER_ID})
        counted = await world.db.tracked.list_for_guild(GUILD_ID)
        assert [m.user_id for m in counted] == [USER_ID]
        assert await whois_verified(world, OTHER_USER_ID) == "No"
