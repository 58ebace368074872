"""What verification gives, end to end: in a server that requires verified links (the
default) an unverified link is not announced and gets no rank role; the escalation
checks of /config rank-roles; the warning about channel overwrites."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.accounts.verifying import code_of, link, press_verify
from tests.e2e.announcements.test_announcements import cycle, posted, set_channel
from tests.e2e.announcements.test_rank_roles import (
    DIAMOND_ROLE,
    ONYX_ROLE,
    PLATINUM_ROLE,
    STAFF_ROLE,
    add_roles_guild,
    rank_roles,
    rank_roles_of,
    role_calls,
    show,
)
from tests.fakes.discord_server import (
    DEFAULT_BOT_PERMISSIONS,
    MANAGE_GUILD,
    MANAGE_MESSAGES,
    MANAGE_ROLES,
    FakeDiscord,
)
from tests.fakes.halo_server import NOBLE_SIX, RANKED_ARENA
from tests.support.discord import (
    ADMIN_USER_ID,
    GENERAL_CHANNEL_ID,
    GUILD_ID,
    OTHER_USER_ID,
    USER_ID,
    running_fake,
)
from tests.support.world import World, running_world

MANAGERS_ROLE = 1_300_000_000_000_030_040  # Manage Server only, below the rank roles
ROLE_MANAGERS_ROLE = 1_300_000_000_000_030_041  # Manage Server + Manage Roles, position 4
OWNER_ID = 1_300_000_000_000_030_099


def guild_with_managers(fake: FakeDiscord) -> None:
    add_roles_guild(fake, bot_permissions=DEFAULT_BOT_PERMISSIONS | MANAGE_ROLES)
    guild = fake.guilds[GUILD_ID]
    guild.owner_id = OWNER_ID
    fake.add_member(GUILD_ID, {"id": OWNER_ID, "username": "owner"})
    fake.add_role(
        GUILD_ID,
        {"id": MANAGERS_ROLE, "name": "Managers", "permissions": MANAGE_GUILD, "position": 2},
    )
    fake.add_role(
        GUILD_ID,
        {
            "id": ROLE_MANAGERS_ROLE,
            "name": "Role managers",
            "permissions": MANAGE_GUILD | MANAGE_ROLES,
            "position": 4,  # Diamond is at 4 too (not below), Platinum at 3 (below)
        },
    )
    guild.members[USER_ID].roles.append(MANAGERS_ROLE)
    guild.members[OTHER_USER_ID].roles.append(ROLE_MANAGERS_ROLE)


@pytest.fixture(name="world")
async def world_fixture(tmp_path: Path) -> AsyncIterator[World]:
    async with running_fake(populate=False) as fake:
        guild_with_managers(fake)
        async with running_world(tmp_path, discord=fake) as world:
            yield world
            fake.assert_healthy()


async def test_an_unverified_link_gets_no_announcement_and_no_rank_role(world: World) -> None:
    await set_channel(world)
    assert (await rank_roles(world, tier="Diamond", role=DIAMOND_ROLE))["title"] == (
        "Rank roles updated"
    )
    assert (await rank_roles(world, tier="Onyx", role=ONYX_ROLE))["title"] == "Rank roles updated"
    rec = await link(world, NOBLE_SIX.gamertag)  # Diamond 1325, not verified
    world.halo.clear_requests()
    report = await cycle(world)
    assert report.players == 0 and report.csr_requests == 0  # nothing to check
    assert rank_roles_of(world, USER_ID) == set() and role_calls(world) == []

    # Verified: counted from the next check on (its first check is the baseline).
    world.halo.set_service_tag(NOBLE_SIX.xuid, code_of(rec))
    assert (await press_verify(world, rec))["title"] == "Account verified"
    await cycle(world)
    assert rank_roles_of(world, USER_ID) == {DIAMOND_ROLE}
    world.halo.set_csr(NOBLE_SIX.xuid, RANKED_ARENA, 1510)
    await cycle(world)
    assert [e[0]["title"] for e in posted(world)] == ["Noble Six reached Onyx"]
    assert rank_roles_of(world, USER_ID) == {ONYX_ROLE}

    # Another member proves the account is theirs: the first loses role and posts.
    other = await link(world, NOBLE_SIX.gamertag, OTHER_USER_ID)
    world.halo.set_service_tag(NOBLE_SIX.xuid, code_of(other))
    assert (await press_verify(world, other, OTHER_USER_ID))["title"] == "Account verified"
    await cycle(world)
    assert rank_roles_of(world, USER_ID) == set()
    assert rank_roles_of(world, OTHER_USER_ID) == {ONYX_ROLE}


async def test_require_verified_off_counts_every_link(world: World) -> None:
    await set_channel(world)
    await rank_roles(world, tier="Diamond", role=DIAMOND_ROLE)
    await link(world, NOBLE_SIX.gamertag)
    shown = await admin_reply(world, "require-verified")
    assert shown["title"] == "Verified links" and "**required**" in shown["description"]
    off = await admin_reply(world, "require-verified", {"enabled": False})
    assert off["title"] == "Verified links not required"
    assert (await world.db.guilds.get(GUILD_ID)).require_verified is False
    await cycle(world)
    assert rank_roles_of(world, USER_ID) == {DIAMOND_ROLE}
    assert "**Not required**" in (await show(world))["Verified links"]
    on = await admin_reply(world, "require-verified", {"enabled": True})
    assert on["title"] == "Verified links required"
    await cycle(world)
    assert rank_roles_of(world, USER_ID) == set()  # taken back


async def admin_reply(
    world: World, name: str, options: dict[str, Any] | None = None, user_id: int = ADMIN_USER_ID
) -> dict[str, Any]:
    rec = await world.invoke(f"config {name}", options or {}, user_id=user_id)
    msg = rec.final_message()
    assert msg is not None and rec.is_ephemeral(msg)
    return msg["embeds"][0]


async def test_rank_roles_need_manage_roles(world: World) -> None:
    # USER has Manage Server (so /config) but not Manage Roles.
    embed = await admin_reply(
        world, "rank-roles", {"tier": "Platinum", "role": PLATINUM_ROLE}, USER_ID
    )
    assert embed["title"] == "Not allowed"
    assert "Manage Roles" in embed["description"] and "Nothing was changed" in embed["description"]
    assert await world.db.rank_roles.mapping(GUILD_ID) == {}
    # The rank the member reached would have given it: it is never given.
    await link(world, NOBLE_SIX.gamertag)
    await cycle(world)
    assert role_calls(world) == []


async def test_rank_roles_only_below_the_members_highest_role(world: World) -> None:
    # OTHER has Manage Roles with its highest role at position 4 (Diamond's).
    for role in (DIAMOND_ROLE, ONYX_ROLE, STAFF_ROLE):
        embed = await admin_reply(
            world, "rank-roles", {"tier": "Onyx", "role": role}, OTHER_USER_ID
        )
        assert embed["title"] == "Not allowed", role
        assert "not below your highest role" in embed["description"]
    assert await world.db.rank_roles.mapping(GUILD_ID) == {}
    embed = await admin_reply(
        world, "rank-roles", {"tier": "Platinum", "role": PLATINUM_ROLE}, OTHER_USER_ID
    )
    assert embed["title"] == "Rank roles updated"
    assert await world.db.rank_roles.mapping(GUILD_ID) == {"Platinum": PLATINUM_ROLE}


async def test_the_owner_and_administrators_may_map_roles(world: World) -> None:
    embed = await admin_reply(world, "rank-roles", {"tier": "Onyx", "role": ONYX_ROLE}, OWNER_ID)
    assert embed["title"] == "Rank roles updated"
    embed = await admin_reply(world, "rank-roles", {"tier": "Diamond", "role": DIAMOND_ROLE})
    assert embed["title"] == "Rank roles updated"  # Administrator, role below theirs


async def test_the_admin_role_alone_cannot_map_roles(tmp_path: Path) -> None:
    async with running_fake(populate=False) as fake:
        guild_with_managers(fake)
        no_powers = 1_300_000_000_000_030_042
        fake.add_role(GUILD_ID, {"id": no_powers, "name": "Config", "position": 25})
        fake.guilds[GUILD_ID].members[USER_ID].roles[:] = [no_powers]
        async with running_world(tmp_path, discord=fake) as world:
            assert (await admin_reply(world, "admin-role", {"role": no_powers}))["title"] == (
                "Admin role set"
            )
            embed = await admin_reply(
                world, "rank-roles", {"tier": "Onyx", "role": ONYX_ROLE}, USER_ID
            )
            assert embed["title"] == "Not allowed" and "Manage Roles" in embed["description"]
            assert await world.db.rank_roles.mapping(GUILD_ID) == {}


async def test_show_warns_about_moderator_powers_from_channel_overwrites(tmp_path: Path) -> None:
    async with running_fake(populate=False) as fake:
        guild_with_managers(fake)
        channel = fake.guilds[GUILD_ID].channels[GENERAL_CHANNEL_ID]
        channel.permission_overwrites.append(
            {"id": ONYX_ROLE, "type": 0, "allow": MANAGE_MESSAGES, "deny": 0}
        )
        async with running_world(tmp_path, discord=fake) as world:
            await rank_roles(world, tier="Diamond", role=DIAMOND_ROLE)
            assert "Rank roles warning" not in await show(world)
            await rank_roles(world, tier="Onyx", role=ONYX_ROLE)
            warning = (await show(world))["Rank roles warning"]
            assert f"<@&{ONYX_ROLE}> (Onyx)" in warning
            assert f"<#{GENERAL_CHANNEL_ID}>" in warning and "Manage Messages" in warning
            assert f"<@&{DIAMOND_ROLE}>" not in warning
