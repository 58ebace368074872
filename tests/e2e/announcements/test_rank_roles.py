"""Rank roles end to end: /config rank-roles, the cycle keeping roles in step, problems.

Real bot, fake Discord (which checks Manage Roles and the role hierarchy as Discord
does), fake Halo, real database.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.announcements.test_announcements import cog_of, cycle, eventually, fields, link
from tests.fakes.discord_server import (
    BAN_MEMBERS,
    DEFAULT_BOT_PERMISSIONS,
    MANAGE_ROLES,
    FakeDiscord,
)
from tests.fakes.halo_server import MODERN_PLAYER, NOBLE_SIX, RANKED_ARENA, RANKED_SLAYER
from tests.support.discord import (
    ADMIN_USER_ID,
    GUILD_ID,
    OTHER_USER_ID,
    USER_ID,
    running_fake,
    world_spec,
)
from tests.support.world import World, running_world

PLATINUM_ROLE = 1_300_000_000_000_030_003
DIAMOND_ROLE = 1_300_000_000_000_030_004
ONYX_ROLE = 1_300_000_000_000_030_005
MODS_ROLE = 1_300_000_000_000_030_006  # may ban: never handed out by rank
NICKS_ROLE = 1_300_000_000_000_030_007  # may change others' nicknames: not by rank either
MANAGE_NICKNAMES = 1 << 27
STAFF_ROLE = 1_300_000_000_000_030_020  # above the bot's role
RANK_ROLE_IDS = {PLATINUM_ROLE, DIAMOND_ROLE, ONYX_ROLE}
BOT_ROLE_POSITION = 10
ADMIN_ROLE_POSITION = 30
ROLE_CALLS = r"^/guilds/\d+/members/\d+/roles/\d+$"


def add_roles_guild(fake: FakeDiscord, *, bot_permissions: int) -> None:
    """The standard test guild plus tier roles below the bot and a Staff role above it."""
    spec = world_spec(bot_permissions=bot_permissions)
    # The admins' role is the highest: they may hand out every role below it by rank.
    spec["roles"] = [
        {**spec["roles"][0], "position": ADMIN_ROLE_POSITION},
        {"id": PLATINUM_ROLE, "name": "Platinum", "position": 3},
        {"id": DIAMOND_ROLE, "name": "Diamond", "position": 4},
        {"id": ONYX_ROLE, "name": "Onyx", "position": 5},
        {"id": MODS_ROLE, "name": "Mods", "position": 6, "permissions": BAN_MEMBERS},
        {"id": NICKS_ROLE, "name": "Nicks", "position": 7, "permissions": MANAGE_NICKNAMES},
        {"id": STAFF_ROLE, "name": "Staff", "position": 20},
    ]
    fake.add_guild(spec.pop("id"), spec.pop("name"), bot_role_position=BOT_ROLE_POSITION, **spec)


@contextlib.asynccontextmanager
async def roles_world(
    tmp_path: Path,
    *,
    bot_permissions: int = DEFAULT_BOT_PERMISSIONS | MANAGE_ROLES,
    **overrides: Any,
) -> AsyncIterator[World]:
    async with running_fake(populate=False) as fake:
        add_roles_guild(fake, bot_permissions=bot_permissions)
        async with running_world(tmp_path, discord=fake, **overrides) as world:
            yield world
            fake.assert_healthy()


@pytest.fixture(name="world")
async def world_fixture(tmp_path: Path) -> AsyncIterator[World]:
    async with roles_world(tmp_path) as world:
        yield world


async def rank_roles(world: World, user_id: int = ADMIN_USER_ID, **options: Any) -> dict[str, Any]:
    """Run /config rank-roles and return its (private) embed."""
    rec = await world.invoke("config rank-roles", options, user_id=user_id)
    message = rec.final_message()
    assert rec.is_ephemeral(message)
    return message["embeds"][0]


def rank_roles_of(world: World, user_id: int) -> set[int]:
    return set(world.discord.member_roles(GUILD_ID, user_id)) & RANK_ROLE_IDS


def role_calls(world: World) -> list[tuple[str, str, str | None]]:
    """Every role change the bot asked Discord for: (method, path, audit-log reason)."""
    return [
        (r.method, r.path, r.reason)
        for r in world.discord.requests
        if r.method in ("PUT", "DELETE")
        and r.path.count("/roles/") == 1
        and r.path.startswith("/guilds/")
    ]


async def show(world: World) -> dict[str, str]:
    rec = await world.invoke("config show", user_id=ADMIN_USER_ID)
    return fields(rec.final_message()["embeds"][0])


async def map_default_tiers(world: World) -> None:
    for tier, role in (("Platinum", PLATINUM_ROLE), ("Diamond", DIAMOND_ROLE), ("Onyx", ONYX_ROLE)):
        embed = await rank_roles(world, tier=tier, role=role)
        assert embed["title"] == "Rank roles updated", embed


# ---------------------------------------------------------------------- keeping in step


async def test_cycle_gives_the_tier_role_and_moves_it_when_the_tier_changes(
    world: World,
) -> None:
    await map_default_tiers(world)
    await link(world, NOBLE_SIX.gamertag)  # Diamond 3 (1325) everywhere
    await link(world, MODERN_PLAYER.gamertag, OTHER_USER_ID)  # Onyx 1550
    assert rank_roles_of(world, USER_ID) == set()  # no rank known yet: no role

    first = await cycle(world)
    assert first.csr_requests == 4  # one batch per playlist: roles add no Halo request
    assert first.roles is not None and (first.roles.added, first.roles.removed) == (2, 0)
    assert rank_roles_of(world, USER_ID) == {DIAMOND_ROLE}
    assert rank_roles_of(world, OTHER_USER_ID) == {ONYX_ROLE}
    reasons = {reason for _, _, reason in role_calls(world)}
    assert reasons == {"Halo rank: Diamond in Ranked Arena", "Halo rank: Onyx in Ranked Arena"}

    calls = len(role_calls(world))
    again = await cycle(world)  # nothing changed: Discord is not asked again
    assert again.roles is not None and (again.roles.added, again.roles.removed) == (0, 0)
    assert len(role_calls(world)) == calls

    world.halo.set_csr(NOBLE_SIX.xuid, RANKED_ARENA, 1180, season_max=1325)  # Platinum 6
    world.halo.set_csr(NOBLE_SIX.xuid, RANKED_SLAYER, 1600)  # another playlist: no effect
    third = await cycle(world)
    assert third.roles is not None and (third.roles.added, third.roles.removed) == (1, 1)
    assert rank_roles_of(world, USER_ID) == {PLATINUM_ROLE}
    assert rank_roles_of(world, OTHER_USER_ID) == {ONYX_ROLE}
    new_calls = role_calls(world)[calls:]
    assert [(m, p.rsplit("/", 1)[1]) for m, p, _ in new_calls] == [
        ("DELETE", str(DIAMOND_ROLE)),
        ("PUT", str(PLATINUM_ROLE)),
    ]
    assert new_calls[0][2] == "Halo rank: now Platinum in Ranked Arena"

    world.halo.set_csr(NOBLE_SIX.xuid, RANKED_ARENA, 200)  # Bronze: not mapped
    await cycle(world)
    assert rank_roles_of(world, USER_ID) == set()


async def test_role_sync_sends_nothing_to_halo(world: World) -> None:
    await map_default_tiers(world)
    await link(world, NOBLE_SIX.gamertag)
    await cycle(world)
    await world.db.rank_roles.forget_grants(GUILD_ID, USER_ID)
    halo_before = len(world.halo.requests)
    report = await cog_of(world).roles.sync()
    assert report.added == 1  # the forgotten grant is given again
    assert len(world.halo.requests) == halo_before


async def test_a_new_mapping_applies_at_once_from_the_last_known_rank(world: World) -> None:
    await link(world, NOBLE_SIX.gamertag)
    await link(world, MODERN_PLAYER.gamertag, OTHER_USER_ID)
    await cycle(world)  # ranks stored, no mapping yet
    assert role_calls(world) == []
    halo_before = len(world.halo.requests)

    embed = await rank_roles(world, tier="Diamond", role=DIAMOND_ROLE)
    assert embed["title"] == "Rank roles updated"
    assert f"Diamond: <@&{DIAMOND_ROLE}>" in embed["description"]
    assert "Tier from: Ranked Arena" in embed["description"]
    await eventually(lambda: rank_roles_of(world, USER_ID) == {DIAMOND_ROLE}, "the Diamond role")
    assert rank_roles_of(world, OTHER_USER_ID) == set()  # Onyx is not mapped
    assert len(world.halo.requests) == halo_before

    embed = await rank_roles(world, clear_all=True)
    assert "The rank roles I gave are being taken back." in embed["description"]
    await eventually(lambda: rank_roles_of(world, USER_ID) == set(), "the role taken back")
    assert await world.db.rank_roles.granted(GUILD_ID) == {}


async def test_playlist_choice_decides_whose_tier_counts(world: World) -> None:
    await map_default_tiers(world)
    world.halo.set_csr(NOBLE_SIX.xuid, RANKED_SLAYER, 1600)  # Onyx in Slayer only
    await link(world, NOBLE_SIX.gamertag)
    await cycle(world)
    assert rank_roles_of(world, USER_ID) == {DIAMOND_ROLE}

    embed = await rank_roles(world, playlist=RANKED_SLAYER)
    assert "Tier from: Ranked Slayer" in embed["description"]
    await eventually(lambda: rank_roles_of(world, USER_ID) == {ONYX_ROLE}, "the Slayer tier role")
    assert "Tier from: Ranked Slayer" in (await show(world))["Rank roles"]


async def test_a_role_given_by_hand_is_never_taken_by_the_bot(world: World) -> None:
    world.discord.guilds[GUILD_ID].members[USER_ID].roles.append(ONYX_ROLE)  # an admin gave it
    await map_default_tiers(world)
    await link(world, NOBLE_SIX.gamertag)
    await cycle(world)
    assert rank_roles_of(world, USER_ID) == {ONYX_ROLE, DIAMOND_ROLE}
    world.halo.set_csr(NOBLE_SIX.xuid, RANKED_ARENA, 1180)
    await cycle(world)
    # The Diamond role the bot gave is taken back; the Onyx role it did not give stays.
    assert rank_roles_of(world, USER_ID) == {ONYX_ROLE, PLATINUM_ROLE}


async def test_resync_puts_right_a_role_taken_away_by_hand(world: World) -> None:
    await map_default_tiers(world)
    await link(world, NOBLE_SIX.gamertag)
    await cycle(world)
    world.discord.guilds[GUILD_ID].members[USER_ID].roles.remove(DIAMOND_ROLE)  # by hand
    await cycle(world)
    assert rank_roles_of(world, USER_ID) == set()  # the bot believes it is still there

    embed = await rank_roles(world, resync=True)
    assert embed["title"] == "Rank roles updated"
    assert "given again" in embed["description"]
    await eventually(lambda: rank_roles_of(world, USER_ID) == {DIAMOND_ROLE}, "the role again")
    assert await world.db.rank_roles.granted(GUILD_ID) == {USER_ID: {DIAMOND_ROLE}}


async def test_untracked_and_unlinked_members_lose_the_rank_role(world: World) -> None:
    await map_default_tiers(world)
    await link(world, NOBLE_SIX.gamertag)
    await link(world, MODERN_PLAYER.gamertag, OTHER_USER_ID)
    await cycle(world)
    assert rank_roles_of(world, USER_ID) == {DIAMOND_ROLE}

    rec = await world.invoke("config untrack", {"member": USER_ID}, user_id=ADMIN_USER_ID)
    assert rec.final_message()["embeds"][0]["title"] == "Member untracked"
    await eventually(lambda: rank_roles_of(world, USER_ID) == set(), "the untracked role")

    rec = await world.invoke("unlink", user_id=OTHER_USER_ID)
    assert rec.final_message()["embeds"][0]["title"] == "Account unlinked"
    await cycle(world)
    assert rank_roles_of(world, OTHER_USER_ID) == set()
    assert await world.db.rank_roles.granted(GUILD_ID) == {}


async def test_a_member_who_left_is_forgotten_not_retried(world: World) -> None:
    await map_default_tiers(world)
    await link(world, NOBLE_SIX.gamertag)
    await link(world, MODERN_PLAYER.gamertag, OTHER_USER_ID)
    del world.discord.guilds[GUILD_ID].members[OTHER_USER_ID]  # left before the first cycle
    await cycle(world)
    assert rank_roles_of(world, USER_ID) == {DIAMOND_ROLE}
    assert await world.db.rank_roles.granted(GUILD_ID) == {USER_ID: {DIAMOND_ROLE}}
    calls = len(role_calls(world))
    await cycle(world)
    assert len(role_calls(world)) == calls  # no retry every cycle
    assert "Rank roles problem" not in await show(world)


async def test_reset_unmaps_and_takes_the_roles_back(world: World) -> None:
    await map_default_tiers(world)
    await link(world, NOBLE_SIX.gamertag)
    await cycle(world)
    rec = await world.invoke("config reset", user_id=ADMIN_USER_ID)
    text = rec.final_message()["embeds"][0]["description"]
    assert "no rank roles" in text and "being taken back" in text
    await eventually(lambda: rank_roles_of(world, USER_ID) == set(), "the role taken back")
    assert await world.db.rank_roles.mapping(GUILD_ID) == {}


async def test_grants_survive_a_restart(tmp_path: Path) -> None:
    async with running_fake(populate=False) as fake:
        add_roles_guild(fake, bot_permissions=DEFAULT_BOT_PERMISSIONS | MANAGE_ROLES)
        async with running_world(tmp_path, discord=fake) as world:
            await map_default_tiers(world)
            await link(world, NOBLE_SIX.gamertag)
            await cycle(world)
            assert rank_roles_of(world, USER_ID) == {DIAMOND_ROLE}
        async with running_world(tmp_path, discord=fake) as world:
            world.halo.set_csr(NOBLE_SIX.xuid, RANKED_ARENA, 1560)
            await cycle(world)
            # The restarted bot knows it gave Diamond, so it takes it back.
            assert rank_roles_of(world, USER_ID) == {ONYX_ROLE}


# ---------------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    ("options", "title", "words"),
    [
        ({"tier": "Onyx", "role": STAFF_ROLE}, "Missing permission", "not below my highest role"),
        ({"tier": "Onyx", "role": MODS_ROLE}, "Missing permission", "Ban Members"),
        ({"tier": "Onyx", "role": NICKS_ROLE}, "Missing permission", "Manage Nicknames"),
        ({"tier": "Onyx", "role": GUILD_ID}, "Missing permission", "@everyone"),
        ({"role": ONYX_ROLE}, "Check the options", "Choose the `tier`"),
        ({"tier": "Onyx", "clear_all": True}, "Check the options", "`clear_all`"),
        ({"clear_all": True, "resync": True}, "Check the options", "choose one"),
        ({"resync": True}, "Check the options", "nothing to give again"),
    ],
)
async def test_bad_mappings_are_refused_and_change_nothing(
    world: World, options: dict[str, Any], title: str, words: str
) -> None:
    embed = await rank_roles(world, **options)
    assert embed["title"] == title
    assert words in embed["description"]
    assert "Nothing was changed." in embed["description"]
    assert await world.db.rank_roles.mapping(GUILD_ID) == {}
    assert role_calls(world) == []


async def test_the_bots_own_role_is_refused(world: World) -> None:
    guild = world.discord.guilds[GUILD_ID]
    bot_role = next(r for r in guild.roles.values() if r.bot_id is not None)
    embed = await rank_roles(world, tier="Gold", role=bot_role.id)
    assert "belongs to an integration" in embed["description"]
    assert await world.db.rank_roles.mapping(GUILD_ID) == {}


async def test_only_admins_map_roles(world: World) -> None:
    embed = await rank_roles(world, user_id=USER_ID, tier="Onyx", role=ONYX_ROLE)
    assert embed["title"] == "Not allowed"
    assert await world.db.rank_roles.mapping(GUILD_ID) == {}


async def test_without_manage_roles_mapping_is_refused(tmp_path: Path) -> None:
    async with roles_world(tmp_path, bot_permissions=DEFAULT_BOT_PERMISSIONS) as world:
        embed = await rank_roles(world, tier="Onyx", role=ONYX_ROLE)
        assert embed["title"] == "Missing permission"
        assert "**Manage Roles**" in embed["description"]
        assert await world.db.rank_roles.mapping(GUILD_ID) == {}


async def test_no_options_shows_the_mapping(world: World) -> None:
    embed = await rank_roles(world)
    assert embed["title"] == "Rank roles"
    assert "None: map tiers" in embed["description"]
    await map_default_tiers(world)
    embed = await rank_roles(world)
    assert embed["description"].splitlines()[:3] == [
        f"Platinum: <@&{PLATINUM_ROLE}>",
        f"Diamond: <@&{DIAMOND_ROLE}>",
        f"Onyx: <@&{ONYX_ROLE}>",
    ]
    assert fields_of_show(await show(world))


def fields_of_show(shown: dict[str, str]) -> bool:
    return f"Onyx: <@&{ONYX_ROLE}>" in shown["Rank roles"] and "Rank roles problem" not in shown


# ---------------------------------------------------------------------- problems later on


async def test_a_role_moved_above_the_bot_is_explained_and_recovers(world: World) -> None:
    await map_default_tiers(world)
    await link(world, NOBLE_SIX.gamertag)
    await link(world, MODERN_PLAYER.gamertag, OTHER_USER_ID)
    await world.discord.update_role(GUILD_ID, DIAMOND_ROLE, position=30)  # above the bot
    await eventually(
        lambda: world.bot.get_guild(GUILD_ID).get_role(DIAMOND_ROLE).position == 30,  # type: ignore[union-attr]
        "the role update",
    )
    report = await cycle(world)
    assert report.roles is not None and report.roles.added == 1  # Onyx still given
    assert rank_roles_of(world, USER_ID) == set()
    assert rank_roles_of(world, OTHER_USER_ID) == {ONYX_ROLE}
    problem = (await show(world))["Rank roles problem"]
    assert f"<@&{DIAMOND_ROLE}> (Diamond) is not below my highest role" in problem
    assert (await world.db.guilds.get(GUILD_ID)).role_problem == problem

    await world.discord.update_role(GUILD_ID, DIAMOND_ROLE, position=4)
    await eventually(
        lambda: world.bot.get_guild(GUILD_ID).get_role(DIAMOND_ROLE).position == 4,  # type: ignore[union-attr]
        "the role update",
    )
    await cycle(world)
    assert rank_roles_of(world, USER_ID) == {DIAMOND_ROLE}
    assert (await world.db.guilds.get(GUILD_ID)).role_problem is None
    assert "Rank roles problem" not in await show(world)


async def test_a_deleted_role_is_explained(world: World) -> None:
    await map_default_tiers(world)
    await link(world, NOBLE_SIX.gamertag)
    await world.discord.delete_role(GUILD_ID, DIAMOND_ROLE)
    await eventually(
        lambda: world.bot.get_guild(GUILD_ID).get_role(DIAMOND_ROLE) is None,  # type: ignore[union-attr]
        "the role deletion",
    )
    await cycle(world)
    assert role_calls(world) == []
    problem = (await show(world))["Rank roles problem"]
    assert "The Diamond role was deleted" in problem


async def test_discord_refusing_is_recorded_and_nothing_is_lost(world: World) -> None:
    await map_default_tiers(world)
    await link(world, NOBLE_SIX.gamertag)
    world.discord.fail("PUT", ROLE_CALLS, status=403, times=1)
    report = await cycle(world)
    assert report.roles is not None and report.roles.failed == 1
    assert rank_roles_of(world, USER_ID) == set()
    problem = (await show(world))["Rank roles problem"]
    assert f"Discord refused to give <@&{DIAMOND_ROLE}>" in problem
    assert await world.db.rank_roles.granted(GUILD_ID) == {}

    await cycle(world)  # Discord allows it again: the role is given, the problem cleared
    assert rank_roles_of(world, USER_ID) == {DIAMOND_ROLE}
    assert (await world.db.guilds.get(GUILD_ID)).role_problem is None


async def test_discord_errors_are_retried_next_cycle(world: World) -> None:
    await map_default_tiers(world)
    await link(world, NOBLE_SIX.gamertag)
    # 503: discord.py gives up at once (500, 502 and 504 it retries for ~25 s first)
    world.discord.fail("PUT", ROLE_CALLS, status=503, times=None)
    report = await cycle(world)
    assert report.roles is not None and report.roles.failed == 1
    assert rank_roles_of(world, USER_ID) == set()
    assert await world.db.rank_roles.granted(GUILD_ID) == {}  # not given: not remembered
    assert (await world.db.guilds.get(GUILD_ID)).role_problem is None  # not the admins' fault
    world.discord.clear_faults()
    await cycle(world)
    assert rank_roles_of(world, USER_ID) == {DIAMOND_ROLE}


async def move_role(world: World, role_id: int, position: int) -> None:
    await world.discord.update_role(GUILD_ID, role_id, position=position)
    await eventually(
        lambda: world.bot.get_guild(GUILD_ID).get_role(role_id).position == position,  # type: ignore[union-attr]
        "the role update",
    )


async def test_a_given_role_out_of_reach_blocks_only_itself(world: World) -> None:
    await map_default_tiers(world)
    await link(world, NOBLE_SIX.gamertag)  # Diamond
    await link(world, MODERN_PLAYER.gamertag, OTHER_USER_ID)  # Onyx
    await cycle(world)
    await move_role(world, DIAMOND_ROLE, 30)  # the role given is now above the bot
    await rank_roles(world, tier="Diamond", role=PLATINUM_ROLE)  # Diamond gets a new role
    world.halo.set_csr(MODERN_PLAYER.xuid, RANKED_ARENA, 1300)  # Onyx -> Diamond
    await cycle(world)

    # The old Diamond role can't be taken back (and isn't tried); everything else moves.
    assert rank_roles_of(world, USER_ID) == {DIAMOND_ROLE, PLATINUM_ROLE}
    assert rank_roles_of(world, OTHER_USER_ID) == {PLATINUM_ROLE}
    assert not [
        c for c in role_calls(world) if c[0] == "DELETE" and c[1].endswith(str(DIAMOND_ROLE))
    ]
    problem = (await show(world))["Rank roles problem"]
    assert f"<@&{DIAMOND_ROLE}> (a former rank role) is not below my highest role" in problem

    await move_role(world, DIAMOND_ROLE, 4)
    await cycle(world)
    assert rank_roles_of(world, USER_ID) == {PLATINUM_ROLE}
    assert (await world.db.guilds.get(GUILD_ID)).role_problem is None


async def test_unmapping_everything_clears_an_old_problem(world: World) -> None:
    await map_default_tiers(world)
    await link(world, NOBLE_SIX.gamertag)
    await move_role(world, DIAMOND_ROLE, 30)
    await cycle(world)
    assert "Rank roles problem" in await show(world)
    assert await world.db.rank_roles.granted(GUILD_ID) == {}

    await rank_roles(world, clear_all=True)
    for _ in range(250):  # the sync runs in the background
        if (await world.db.guilds.get(GUILD_ID)).role_problem is None:
            break
        await asyncio.sleep(0.02)
    shown = await show(world)
    assert "Rank roles problem" not in shown
    assert shown["Rank roles"].startswith("None")


async def test_a_member_who_rejoins_gets_the_role_on_resync(world: World) -> None:
    await map_default_tiers(world)
    await link(world, NOBLE_SIX.gamertag)
    member = world.discord.guilds[GUILD_ID].members.pop(USER_ID)  # left
    await cycle(world)
    assert await world.db.rank_roles.granted(GUILD_ID) == {}
    world.discord.guilds[GUILD_ID].members[USER_ID] = member  # came back
    await cycle(world)
    assert rank_roles_of(world, USER_ID) == set()  # not asked about again yet
    await rank_roles(world, resync=True)
    await eventually(lambda: rank_roles_of(world, USER_ID) == {DIAMOND_ROLE}, "the role")


@pytest.mark.slow
async def test_the_scheduled_checks_keep_roles_in_step_in_the_background(
    tmp_path: Path,
) -> None:
    async with roles_world(tmp_path, rank_poll_seconds=1) as world:
        await map_default_tiers(world)
        await link(world, NOBLE_SIX.gamertag)
        await eventually(lambda: rank_roles_of(world, USER_ID) == {DIAMOND_ROLE}, "the role")
        world.halo.set_csr(NOBLE_SIX.xuid, RANKED_ARENA, 1560)
        await eventually(lambda: rank_roles_of(world, USER_ID) == {ONYX_ROLE}, "the new role")
