"""Guild settings: defaults, validated updates and strict per-guild isolation."""

from __future__ import annotations

import asyncio
import random
from dataclasses import replace

import pytest

from bot.storage import EDITABLE_FIELDS, Database, GuildSettings


async def test_missing_guild_gets_defaults_without_a_write(db: Database) -> None:
    settings = await db.guilds.get(1)
    assert settings == GuildSettings(guild_id=1)
    assert settings.playlists is None
    assert settings.trigger_tier_change and settings.trigger_placement
    assert not settings.trigger_subtier_change and not settings.trigger_season_high
    assert settings.updated_at is None
    assert await db.guilds.all_with_channel() == []
    assert (await db._fetchone("SELECT COUNT(*) FROM guild_settings"))[0] == 0


async def test_update_round_trips_every_field(db: Database) -> None:
    updated = await db.guilds.update(
        1,
        announce_channel_id=10,
        playlists=["ranked-arena", "ranked-slayer", "ranked-arena"],
        trigger_tier_change=False,
        trigger_subtier_change=True,
        trigger_placement=False,
        trigger_season_high=True,
        admin_role_id=20,
        channel_problem="  missing Send Messages  ",
        rank_role_playlist=" ranked-slayer ",
        role_problem="role above mine",
    )
    assert updated.rank_role_playlist == "ranked-slayer"
    assert updated.role_problem == "role above mine"
    assert updated.playlists == ("ranked-arena", "ranked-slayer")
    assert updated.channel_problem == "missing Send Messages"
    assert updated.updated_at is not None
    assert await db.guilds.get(1) == updated

    partial = await db.guilds.update(1, trigger_placement=True)
    assert partial == replace(updated, trigger_placement=True, updated_at=partial.updated_at)

    cleared = await db.guilds.update(1, playlists=None, admin_role_id=None)
    assert cleared.playlists is None and cleared.admin_role_id is None
    assert (await db.guilds.update(1, playlists=[])).playlists == ()


@pytest.mark.parametrize(
    "changes",
    [
        {"guild_id": 2},
        {"updated_at": None},
        {"no_such_setting": 1},
        {"trigger_placement": 1},
        {"announce_channel_id": "123"},
        {"announce_channel_id": -5},
        {"admin_role_id": True},
        {"playlists": "ranked-arena"},
        {"playlists": ["ok", ""]},
        {"playlists": [1, 2]},
        {"channel_problem": 5},
        {"rank_role_playlist": ""},
        {"rank_role_playlist": 7},
        {"role_problem": ["x"]},
    ],
)
async def test_update_validates_names_and_types(db: Database, changes: dict) -> None:
    with pytest.raises(ValueError):
        await db.guilds.update(1, **changes)
    assert (await db.guilds.get(1)).updated_at is None


def test_editable_fields_are_the_settings_but_keys() -> None:
    assert "guild_id" not in EDITABLE_FIELDS and "updated_at" not in EDITABLE_FIELDS
    assert {"announce_channel_id", "playlists", "trigger_season_high"} <= EDITABLE_FIELDS


async def test_changing_channel_clears_problem(db: Database) -> None:
    await db.guilds.update(1, announce_channel_id=10)
    await db.guilds.set_channel_problem(1, "no access")
    assert (await db.guilds.get(1)).channel_problem == "no access"
    assert (await db.guilds.update(1, announce_channel_id=10)).channel_problem == "no access"
    assert (await db.guilds.update(1, announce_channel_id=11)).channel_problem is None
    both = await db.guilds.update(1, announce_channel_id=12, channel_problem="still broken")
    assert both.channel_problem == "still broken"


async def test_set_channel_problem_and_clear(db: Database) -> None:
    await db.guilds.set_channel_problem(1, None)  # nothing stored: stays absent
    assert (await db.guilds.get(1)).updated_at is None
    await db.guilds.set_channel_problem(1, "x" * 5000)
    assert len((await db.guilds.get(1)).channel_problem or "") == 1000
    await db.guilds.set_channel_problem(1, None)
    assert (await db.guilds.get(1)).channel_problem is None


async def test_role_problem_is_kept_apart_from_the_channel_problem(db: Database) -> None:
    await db.guilds.set_role_problem(1, None)  # nothing stored: stays absent
    assert (await db.guilds.get(1)).updated_at is None
    await db.guilds.set_channel_problem(1, "channel gone")
    await db.guilds.set_role_problem(1, "no Manage Roles")
    settings = await db.guilds.get(1)
    assert (settings.channel_problem, settings.role_problem) == ("channel gone", "no Manage Roles")
    await db.guilds.set_role_problem(1, None)
    settings = await db.guilds.get(1)
    assert (settings.channel_problem, settings.role_problem) == ("channel gone", None)


async def test_reset_and_all_with_channel(db: Database) -> None:
    await db.guilds.update(3, announce_channel_id=30)
    await db.guilds.update(1, announce_channel_id=10)
    await db.guilds.update(2, admin_role_id=5)
    assert [g.guild_id for g in await db.guilds.all_with_channel()] == [1, 3]
    assert await db.guilds.reset(3) is True
    assert await db.guilds.reset(3) is False
    assert await db.guilds.get(3) == GuildSettings(guild_id=3)
    assert [g.guild_id for g in await db.guilds.all_with_channel()] == [1]


async def test_one_guild_can_never_change_another(db: Database) -> None:
    rng = random.Random(1234)
    guilds = [1, 2, 3]
    expected = {g: GuildSettings(guild_id=g) for g in guilds}

    def random_changes() -> dict:
        pick = rng.sample(sorted(EDITABLE_FIELDS), k=rng.randint(1, 4))
        values = {
            "announce_channel_id": rng.choice([None, rng.randint(1, 10**18)]),
            "admin_role_id": rng.choice([None, rng.randint(1, 10**18)]),
            "playlists": rng.choice([None, (), ("a",), ("b", "c")]),
            "channel_problem": rng.choice([None, "problem"]),
            "rank_role_playlist": rng.choice([None, "ranked-slayer"]),
            "role_problem": rng.choice([None, "role problem"]),
        }
        return {name: values.get(name, rng.random() < 0.5) for name in pick}

    for _ in range(150):
        guild = rng.choice(guilds)
        action = rng.random()
        if action < 0.75:
            changes = random_changes()
            result = await db.guilds.update(guild, **changes)
            expected[guild] = result
        elif action < 0.9:
            await db.guilds.set_channel_problem(guild, rng.choice([None, "p"]))
            expected[guild] = await db.guilds.get(guild)
            assert expected[guild].guild_id == guild
        else:
            await db.guilds.reset(guild)
            expected[guild] = GuildSettings(guild_id=guild)
        for other in guilds:
            assert await db.guilds.get(other) == expected[other]


async def test_concurrent_updates_to_different_fields_all_stick(db: Database) -> None:
    await asyncio.gather(
        db.guilds.update(1, announce_channel_id=10),
        db.guilds.update(1, admin_role_id=20),
        db.guilds.update(1, trigger_season_high=True),
        db.guilds.update(2, announce_channel_id=99),
    )
    settings = await db.guilds.get(1)
    assert (settings.announce_channel_id, settings.admin_role_id) == (10, 20)
    assert settings.trigger_season_high
    assert (await db.guilds.get(2)).admin_role_id is None
