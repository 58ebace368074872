"""/config link cannot take a tier: the /config admin role (which may carry no permission
at all) may not vouch for its own link, and nobody may vouch a XUID that another member
proved with its service tag."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.accounts.verifying import link_verified
from tests.e2e.config.test_verified_links import admin
from tests.fakes.halo_server import MODERN_PLAYER, NOBLE_SIX
from tests.support.discord import ADMIN_USER_ID, GUILD_ID, OTHER_USER_ID, USER_ID, running_fake
from tests.support.world import World, running_world

MODS_ROLE_ID = 1_300_000_000_000_010_151


async def counted(world: World) -> list[int]:
    return [m.user_id for m in await world.db.tracked.list_for_guild(GUILD_ID)]


async def test_admin_role_member_cannot_vouch_for_themselves(tmp_path: Path) -> None:
    async with running_fake() as fake:
        fake.add_role(GUILD_ID, {"id": MODS_ROLE_ID, "name": "Mods"})  # no permissions at all
        fake.guilds[GUILD_ID].members[OTHER_USER_ID].roles.append(MODS_ROLE_ID)
        async with running_world(tmp_path, discord=fake) as world:
            assert (await admin(world, "admin-role", {"role": MODS_ROLE_ID}))["title"] == (
                "Admin role set"
            )
            await link_verified(world, NOBLE_SIX.gamertag, USER_ID)
            assert await counted(world) == [USER_ID]

            # The reviewer's attack: the admin-role member vouches for the owner's XUID.
            embed = await admin(
                world,
                "link",
                {"member": OTHER_USER_ID, "gamertag": str(NOBLE_SIX.xuid)},
                user_id=OTHER_USER_ID,
            )
            assert embed["title"] == "Not allowed", embed
            assert "Nothing was changed" in embed["description"]
            assert await counted(world) == [USER_ID]
            assert await world.db.accounts.get(OTHER_USER_ID) is None
            assert await world.db.verification.vouched(GUILD_ID, OTHER_USER_ID) is None

            # Not even for an account nobody claimed: vouching for yourself is refused.
            embed = await admin(
                world,
                "link",
                {"member": OTHER_USER_ID, "gamertag": MODERN_PLAYER.gamertag},
                user_id=OTHER_USER_ID,
            )
            assert embed["title"] == "Not allowed", embed
            assert "server owner or a member with Administrator" in embed["description"]
            assert await world.db.accounts.get(OTHER_USER_ID) is None

            # The same member may still vouch for somebody else.
            embed = await admin(
                world,
                "link",
                {"member": ADMIN_USER_ID, "gamertag": MODERN_PLAYER.gamertag},
                user_id=OTHER_USER_ID,
            )
            assert embed["title"] == "Member linked", embed


async def test_a_xuid_verified_by_service_tag_cannot_be_vouched_for_another(
    world: World,
) -> None:
    await link_verified(world, NOBLE_SIX.gamertag, USER_ID)
    embed = await admin(world, "link", {"member": OTHER_USER_ID, "gamertag": NOBLE_SIX.gamertag})
    assert embed["title"] == "Not allowed", embed
    assert f"<@{USER_ID}>" in embed["description"]
    assert "service tag" in embed["description"]
    assert await counted(world) == [USER_ID]
    assert await world.db.accounts.get(OTHER_USER_ID) is None


async def test_administrator_may_vouch_for_themselves_and_is_told_who_stops_counting(
    world: World,
) -> None:
    await admin(world, "link", {"member": OTHER_USER_ID, "gamertag": MODERN_PLAYER.gamertag})
    assert await counted(world) == [OTHER_USER_ID]
    embed = await admin(
        world, "link", {"member": ADMIN_USER_ID, "gamertag": MODERN_PLAYER.gamertag}
    )
    assert embed["title"] == "Member linked", embed
    assert f"<@{OTHER_USER_ID}>" in embed["description"]
    assert "stops counting" in embed["description"]
    assert await counted(world) == [ADMIN_USER_ID]
