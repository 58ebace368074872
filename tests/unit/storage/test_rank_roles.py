"""The rank-role repository: mappings per server and the roles the bot gave."""

from __future__ import annotations

import asyncio

import pytest

from bot.storage import RANK_ROLE_TIERS, Database


async def test_mapping_set_change_unmap_and_order(db: Database) -> None:
    assert await db.rank_roles.mapping(1) == {}
    assert await db.rank_roles.set_role(1, "Onyx", 60)
    assert await db.rank_roles.set_role(1, "Bronze", 10)
    assert await db.rank_roles.set_role(1, "Gold", 30)
    assert not await db.rank_roles.set_role(1, "Gold", 30)  # unchanged
    assert list(await db.rank_roles.mapping(1)) == ["Bronze", "Gold", "Onyx"]  # lowest first
    assert await db.rank_roles.set_role(1, "Gold", 31)
    assert await db.rank_roles.set_role(1, "Bronze", None)
    assert not await db.rank_roles.set_role(1, "Silver", None)
    assert await db.rank_roles.mapping(1) == {"Gold": 31, "Onyx": 60}
    assert await db.rank_roles.all_mappings() == {1: {"Gold": 31, "Onyx": 60}}


async def test_servers_never_see_each_other(db: Database) -> None:
    await db.rank_roles.set_role(1, "Gold", 30)
    await db.rank_roles.set_role(2, "Gold", 90)
    await db.rank_roles.record_grant(1, 5, 30)
    await db.rank_roles.record_grant(2, 5, 90)
    assert await db.rank_roles.clear(1) == 1
    assert await db.rank_roles.mapping(1) == {}
    assert await db.rank_roles.mapping(2) == {"Gold": 90}
    assert await db.rank_roles.granted(1) == {5: {30}}  # taken back by the next sync
    assert await db.rank_roles.forget_grants(1, 5) == 1
    assert await db.rank_roles.granted(2) == {5: {90}}
    assert await db.rank_roles.guilds_with_grants() == {2}


@pytest.mark.parametrize("tier", ["Unranked", "gold", "", "Champion"])
async def test_only_the_six_tiers_can_be_mapped(db: Database, tier: str) -> None:
    with pytest.raises(ValueError):
        await db.rank_roles.set_role(1, tier, 30)
    assert await db.rank_roles.mapping(1) == {}


async def test_ids_are_checked(db: Database) -> None:
    with pytest.raises((TypeError, ValueError)):
        await db.rank_roles.set_role(1, "Gold", -3)
    with pytest.raises((TypeError, ValueError)):
        await db.rank_roles.record_grant(1, 2, True)  # type: ignore[arg-type]
    assert await db.rank_roles.granted(1) == {}


async def test_grants_are_recorded_once_and_forgotten_selectively(db: Database) -> None:
    await db.rank_roles.record_grant(1, 5, 30)
    await db.rank_roles.record_grant(1, 5, 30)
    await db.rank_roles.record_grant(1, 5, 40)
    await db.rank_roles.record_grant(1, 6, 30)
    assert await db.rank_roles.granted(1) == {5: {30, 40}, 6: {30}}
    assert await db.rank_roles.forget_grants(1, 5, []) == 0
    assert await db.rank_roles.forget_grants(1, 5, [40, 99]) == 1
    assert await db.rank_roles.granted(1) == {5: {30}, 6: {30}}


async def test_concurrent_mappings_all_land(db: Database) -> None:
    await asyncio.gather(
        *(
            db.rank_roles.set_role(guild, tier, guild * 100 + n)
            for guild in range(1, 21)
            for n, tier in enumerate(RANK_ROLE_TIERS)
        )
    )
    mappings = await db.rank_roles.all_mappings()
    assert len(mappings) == 20
    assert all(list(m) == list(RANK_ROLE_TIERS) for m in mappings.values())
    assert mappings[7]["Onyx"] == 705


async def test_mapping_and_grants_survive_a_reopen(db_target: str) -> None:
    path = db_target
    async with await Database.open(path) as db:
        await db.rank_roles.set_role(1, "Diamond", 50)
        await db.rank_roles.record_grant(1, 5, 50)
    async with await Database.open(path) as db:
        assert await db.rank_roles.mapping(1) == {"Diamond": 50}
        assert await db.rank_roles.granted(1) == {5: {50}}
