"""Rank cycle leases: one holder per unit, expiry, done units; on both engines, and
PostgreSQL's FOR UPDATE SKIP LOCKED across connections (instances)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from bot.storage import Database, DatabaseInUseError

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
LEASE = timedelta(seconds=30)


async def test_units_are_claimed_once_until_their_lease_ends(db: Database) -> None:
    repo = db.cycle_leases
    assert await repo.latest() is None
    assert await repo.start(1, 3, "a", T0) is True
    assert await repo.start(1, 3, "b", T0) is False  # somebody started it: join it
    latest = await repo.latest()
    assert latest is not None and (latest.number, latest.units, latest.started_by) == (1, 3, "a")
    assert latest.started_at == T0

    claims = [await repo.claim(1, holder, T0, T0 + LEASE) for holder in ("a", "b", "a", "b")]
    assert claims == [0, 1, 2, None]
    assert await repo.done(1, 0, "a", T0) is True
    assert await repo.done(1, 0, "a", T0) is False
    # b dies holding unit 1; a renews unit 2. After the lease, unit 1 is free again.
    assert await repo.renew(1, 2, "a", T0 + 3 * LEASE) is True
    assert await repo.renew(1, 1, "a", T0 + 3 * LEASE) is False  # not a's
    later = T0 + 2 * LEASE
    assert await repo.claim(1, "a", later, later + LEASE) == 1
    assert await repo.claim(1, "a", later, later + LEASE) is None
    units = await repo.units(1)
    assert [(u.unit, u.holder, u.done_at is not None) for u in units] == [
        (0, "a", True),
        (1, "a", False),
        (2, "a", False),
    ]


async def test_old_cycles_are_forgotten(db: Database) -> None:
    for number in range(1, 14):
        assert await db.cycle_leases.start(number, 2, "a", T0 + timedelta(minutes=number))
    assert (await db.cycle_leases.latest()).number == 13  # type: ignore[union-attr]
    assert await db.cycle_leases.units(3) == []
    assert len(await db.cycle_leases.units(4)) == 2
    with pytest.raises(ValueError):
        await db.cycle_leases.start(14, 0, "a", T0)


async def test_outbox_rows_by_shard(db: Database) -> None:
    guilds = {shard: ((1_000_000 * 3 + shard) << 22) for shard in range(3)}
    for shard, guild_id in guilds.items():
        await db.announcements.add_pending(f"k{shard}", guild_id, 10, {})
    mine = await db.announcements.pending(shards=(3, [0, 2]))
    assert sorted(a.guild_id for a in mine) == [guilds[0], guilds[2]]
    assert len(await db.announcements.pending()) == 3


async def test_instances_claim_different_units_at_the_same_moment(pg_url: str) -> None:
    dbs = [await Database.open(pg_url) for _ in range(4)]
    try:
        await dbs[0].cycle_leases.start(1, 40, "starter", T0)

        async def take_all(db: Database, holder: str) -> list[int]:
            got: list[int] = []
            while (unit := await db.cycle_leases.claim(1, holder, T0, T0 + LEASE)) is not None:
                got.append(unit)
                await asyncio.sleep(0)
            return got

        results = await asyncio.gather(*(take_all(db, f"i{n}") for n, db in enumerate(dbs)))
        every = sorted(u for got in results for u in got)
        assert every == list(range(40))  # each unit exactly once
        assert sum(1 for got in results if got) >= 2  # really shared
    finally:
        for db in dbs:
            await db.close()


async def test_bot_processes_share_a_database_by_shard(pg_url: str) -> None:
    first = await Database.open(pg_url, exclusive=True, shards=(0,))
    try:
        second = await Database.open(pg_url, exclusive=True, shards=(1, 2))
        await second.close()
        with pytest.raises(DatabaseInUseError, match="running shard 0"):
            await Database.open(pg_url, exclusive=True, shards=(2, 0))
        with pytest.raises(DatabaseInUseError, match="in use by another bot process"):
            await Database.open(pg_url, exclusive=True)  # migrate-db wants it to itself
    finally:
        await first.close()
    whole = await Database.open(pg_url, exclusive=True)
    try:
        with pytest.raises(DatabaseInUseError, match="has it to itself"):
            await Database.open(pg_url, exclusive=True, shards=(1,))
    finally:
        await whole.close()
