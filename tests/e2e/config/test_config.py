"""/config end to end: who may use it, what each sub-command stores and shows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import discord

from bot.halo.playlists import RANKED_ARENA, RANKED_DOUBLES
from tests.fakes.discord_server import InteractionRecord
from tests.fakes.halo_server import MODERN_PLAYER, NOBLE_SIX
from tests.support.discord import (
    ADMIN_USER_ID,
    ANNOUNCE_CHANNEL_ID,
    GUILD_ID,
    OTHER_USER_ID,
    USER_ID,
    running_fake,
)
from tests.support.world import Caller, World, running_world

MODS_ROLE_ID = 1_300_000_000_000_010_150
GUILD2_ID = 1_300_000_000_000_020_000
GUILD2_CHANNEL_ID = 1_300_000_000_000_020_001
GUILD2_OWNER_ID = 1_300_000_000_000_020_200


def reply(rec: InteractionRecord) -> dict[str, Any]:
    """The one (private) embed the command answered with."""
    msg = rec.final_message()
    assert msg is not None and rec.is_ephemeral(msg)
    return msg["embeds"][0]


def fields(embed: dict[str, Any]) -> dict[str, str]:
    return {f["name"]: f["value"] for f in embed.get("fields", [])}


async def admin(world: World, name: str, options: dict[str, Any] | None = None, **kw: Any):
    kw.setdefault("user_id", ADMIN_USER_ID)
    return reply(await world.invoke(f"config {name}", options, **kw))


EVERY_COMMAND: list[tuple[str, dict[str, Any]]] = [
    ("announce-channel", {"channel": ANNOUNCE_CHANNEL_ID}),
    ("playlists", {"arena": False}),
    ("triggers", {"season_high": True}),
    ("track", {"member": OTHER_USER_ID}),
    ("untrack", {"member": OTHER_USER_ID}),
    ("admin-role", {"role": MODS_ROLE_ID}),
    ("rank-roles", {"tier": "Onyx", "role": MODS_ROLE_ID}),
    ("show", {}),
    ("reset", {}),
    ("require-verified", {"enabled": False}),
    ("link", {"member": OTHER_USER_ID, "gamertag": MODERN_PLAYER.gamertag}),
]


async def test_commands_and_options_are_registered(world: World) -> None:
    [config] = [c for c in world.discord.synced_commands(GUILD_ID) if c["name"] == "config"]
    manage_guild = discord.Permissions(manage_guild=True).value
    assert int(config["default_member_permissions"]) == manage_guild
    assert config["dm_permission"] is False
    subs = {o["name"]: [x["name"] for x in o.get("options", [])] for o in config["options"]}
    assert subs == {
        "announce-channel": ["channel"],
        "playlists": ["arena", "slayer", "doubles", "ffa"],
        "triggers": ["tier_change", "subtier_change", "placement", "season_high"],
        "track": ["member"],
        "untrack": ["member"],
        "admin-role": ["role"],
        "rank-roles": ["tier", "role", "playlist", "clear_all", "resync"],
        "show": [],
        "reset": [],
        "link": ["member", "gamertag"],
        "require-verified": ["enabled"],
    }


async def test_plain_member_is_refused_everything_and_nothing_changes(tmp_path: Path) -> None:
    async with running_fake() as fake:
        fake.add_role(GUILD_ID, {"id": MODS_ROLE_ID, "name": "Mods"})
        async with running_world(tmp_path, discord=fake) as world:
            await world.invoke("link", {"gamertag": NOBLE_SIX.gamertag}, user_id=OTHER_USER_ID)
            tracked_before = await world.db.tracked.list_for_guild(
                GUILD_ID, include_unverified=True
            )
            for name, options in EVERY_COMMAND:
                embed = reply(await world.invoke(f"config {name}", options, user_id=USER_ID))
                assert embed["title"] == "Not allowed", name
                assert "Manage Server" in embed["description"], name
                assert "Nothing was changed" in embed["description"], name
            settings = await world.db.guilds.get(GUILD_ID)
            assert settings.updated_at is None  # nothing stored
            assert await world.db.rank_roles.mapping(GUILD_ID) == {}
            assert (
                await world.db.tracked.list_for_guild(GUILD_ID, include_unverified=True)
                == tracked_before
            )


async def test_admin_role_grants_access(tmp_path: Path) -> None:
    async with running_fake() as fake:
        fake.add_role(GUILD_ID, {"id": MODS_ROLE_ID, "name": "Mods"})  # no permissions at all
        fake.guilds[GUILD_ID].members[OTHER_USER_ID].roles.append(MODS_ROLE_ID)
        async with running_world(tmp_path, discord=fake) as world:
            mod: Caller = {"user_id": OTHER_USER_ID}
            assert (await admin(world, "show", **mod))["title"] == "Not allowed"

            embed = await admin(world, "admin-role", {"role": MODS_ROLE_ID})
            assert embed["title"] == "Admin role set"
            assert f"<@&{MODS_ROLE_ID}>" in embed["description"]

            shown = await admin(world, "show", **mod)
            assert fields(shown)["Admin role"] == f"<@&{MODS_ROLE_ID}>"
            assert (await admin(world, "triggers", {"season_high": True}, **mod))["title"] == (
                "Triggers updated"
            )
            assert (await world.db.guilds.get(GUILD_ID)).trigger_season_high
            # The role may not hand the admin role on (only Manage Server may).
            refused = await admin(world, "admin-role", {}, **mod)
            assert refused["title"] == "Not allowed"
            assert (await world.db.guilds.get(GUILD_ID)).admin_role_id == MODS_ROLE_ID
            # Members without the role stay out.
            assert (await admin(world, "show", user_id=USER_ID))["title"] == "Not allowed"

            assert (await admin(world, "admin-role", {}))["title"] == "Admin role cleared"
            assert (await admin(world, "show", **mod))["title"] == "Not allowed"


async def test_everyone_cannot_be_the_admin_role(world: World) -> None:
    embed = await admin(world, "admin-role", {"role": GUILD_ID})  # @everyone's id is the guild's
    assert embed["title"] == "Not allowed" and "@everyone" in embed["description"]
    assert (await world.db.guilds.get(GUILD_ID)).admin_role_id is None


async def test_settings_are_stored_and_shown(world: World) -> None:
    await world.invoke("link", {"gamertag": NOBLE_SIX.gamertag}, user_id=USER_ID)
    embed = await admin(world, "announce-channel", {"channel": ANNOUNCE_CHANNEL_ID})
    assert f"<#{ANNOUNCE_CHANNEL_ID}>" in embed["description"]

    embed = await admin(world, "playlists", {"slayer": False, "ffa": False})
    assert embed["description"].startswith("Announced: Ranked Arena, Ranked Doubles.")
    embed = await admin(world, "triggers", {"placement": False, "season_high": True})
    assert "Placement finished: **off**" in embed["description"]
    assert "New season high: **on**" in embed["description"]

    settings = await world.db.guilds.get(GUILD_ID)
    assert settings.announce_channel_id == ANNOUNCE_CHANNEL_ID
    assert settings.playlists == (RANKED_ARENA, RANKED_DOUBLES)
    assert (settings.trigger_tier_change, settings.trigger_subtier_change) == (True, False)
    assert (settings.trigger_placement, settings.trigger_season_high) == (False, True)

    shown = fields(await admin(world, "show"))
    assert shown["Announce channel"] == f"<#{ANNOUNCE_CHANNEL_ID}>"
    assert shown["Playlists"] == "Ranked Arena, Ranked Doubles"
    assert "Tier changes (e.g. Gold → Platinum): **on**" in shown["Announced changes"]
    assert shown["Admin role"] == "None (Manage Server only)"
    assert shown["Tracked members (1, 1 not verified)"] == (
        f"<@{USER_ID}> (Noble Six, **not verified**)"
    )
    assert shown["Verified links"].startswith("**Required**")
    assert "Problem" not in shown

    # Without options the commands only show the current choice.
    embed = await admin(world, "playlists")
    assert embed["title"] == "Announced playlists"
    assert embed["description"].startswith("Ranked Arena, Ranked Doubles")
    embed = await admin(world, "triggers")
    assert embed["title"] == "Announced changes"
    # Every playlist back on is stored as "the default set".
    await admin(world, "playlists", {"slayer": True, "ffa": True})
    assert (await world.db.guilds.get(GUILD_ID)).playlists is None


async def test_announce_channel_empty_turns_announcements_off(world: World) -> None:
    await admin(world, "announce-channel", {"channel": ANNOUNCE_CHANNEL_ID})
    embed = await admin(world, "announce-channel")
    assert embed["title"] == "Announcements off"
    assert (await world.db.guilds.get(GUILD_ID)).announce_channel_id is None
    shown = fields(await admin(world, "show"))
    assert shown["Announce channel"].startswith("Not set")


async def test_track_and_untrack(world: World) -> None:
    embed = await admin(world, "track", {"member": OTHER_USER_ID})
    assert embed["title"] == "No linked account" and "/link" in embed["description"]
    assert await world.db.tracked.list_for_guild(GUILD_ID, include_unverified=True) == []

    # Linked in a DM: no server follows them yet.
    options = {"gamertag": MODERN_PLAYER.gamertag}
    await world.invoke("link", options, user_id=OTHER_USER_ID, guild_id=None, strict=False)
    assert await world.db.tracked.list_for_guild(GUILD_ID, include_unverified=True) == []
    embed = await admin(world, "track", {"member": OTHER_USER_ID})
    assert embed["title"] == "Member tracked" and "now follows" in embed["description"]
    assert "Sïerra\\#2468" in embed["description"]
    assert [
        m.user_id for m in await world.db.tracked.list_for_guild(GUILD_ID, include_unverified=True)
    ] == [OTHER_USER_ID]
    embed = await admin(world, "track", {"member": OTHER_USER_ID})
    assert "already follows" in embed["description"]

    embed = await admin(world, "untrack", {"member": OTHER_USER_ID})
    assert embed["title"] == "Member untracked"
    assert await world.db.tracked.list_for_guild(GUILD_ID, include_unverified=True) == []
    embed = await admin(world, "untrack", {"member": OTHER_USER_ID})
    assert embed["title"] == "Not tracked"


async def test_reset_restores_defaults_and_keeps_tracking(world: World) -> None:
    await world.invoke("link", {"gamertag": NOBLE_SIX.gamertag}, user_id=USER_ID)
    await admin(world, "announce-channel", {"channel": ANNOUNCE_CHANNEL_ID})
    await admin(world, "triggers", {"tier_change": False})
    embed = await admin(world, "reset")
    assert embed["title"] == "Settings reset"
    assert "back to the defaults" in embed["description"]
    assert "Tracked members are kept (1 member)" in embed["description"]
    settings = await world.db.guilds.get(GUILD_ID)
    assert settings.updated_at is None and settings.announce_channel_id is None
    assert settings.trigger_tier_change
    assert len(await world.db.tracked.list_for_guild(GUILD_ID, include_unverified=True)) == 1
    embed = await admin(world, "reset")
    assert "nothing to reset" in embed["description"]


async def test_outside_a_server_it_is_refused(world: World) -> None:
    rec = await world.invoke("config show", user_id=ADMIN_USER_ID, guild_id=None, strict=False)
    embed = reply(rec)
    assert embed["title"] == "Not allowed" and "inside a server" in embed["description"]


async def test_one_server_never_reads_or_changes_another(tmp_path: Path) -> None:
    async with running_fake() as fake:
        fake.add_guild(
            GUILD2_ID,
            "Second Guild",
            channels=[{"id": GUILD2_CHANNEL_ID, "name": "ranks"}],
            owner_id=GUILD2_OWNER_ID,
            members=[{"id": GUILD2_OWNER_ID, "username": "owner2"}],
        )
        async with running_world(tmp_path, discord=fake) as world:
            guild = discord.Object(id=GUILD2_ID)
            world.bot.tree.copy_global_to(guild=guild)
            await world.bot.tree.sync(guild=guild)
            owner2: Caller = {"user_id": GUILD2_OWNER_ID, "guild_id": GUILD2_ID}

            await admin(world, "announce-channel", {"channel": ANNOUNCE_CHANNEL_ID})
            await admin(world, "triggers", {"season_high": True})
            await admin(world, "announce-channel", {"channel": GUILD2_CHANNEL_ID}, **owner2)
            await admin(world, "playlists", {"arena": False}, **owner2)

            shown2 = fields(await admin(world, "show", **owner2))
            assert shown2["Announce channel"] == f"<#{GUILD2_CHANNEL_ID}>"
            assert "New season high: **off**" in shown2["Announced changes"]
            await admin(world, "reset", **owner2)

            one = await world.db.guilds.get(GUILD_ID)
            assert one.announce_channel_id == ANNOUNCE_CHANNEL_ID and one.trigger_season_high
            assert one.playlists is None
            shown1 = fields(await admin(world, "show"))
            assert shown1["Announce channel"] == f"<#{ANNOUNCE_CHANNEL_ID}>"
            assert (await world.db.guilds.get(GUILD2_ID)).updated_at is None
            # The owner of the second server has no say in the first.
            refused = await admin(world, "show", user_id=GUILD2_OWNER_ID)
            assert refused["title"] == "Not allowed"
