"""Which part of a rank cycle an instance does: the whole of it alone, or leased units
shared on PostgreSQL (two instances = two connections with their own clocks here)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.features.announcements.leases import (
    SharedCycle,
    WholeCycle,
    WorkUnit,
    cycle_leases_for,
    unit_of,
)
from bot.storage import Database

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
INTERVAL = timedelta(seconds=60)
XUIDS = [str(2533274800000000 + i) for i in range(200)]


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(name="dbs")
async def three_connections(pg_url: str) -> AsyncIterator[list[Database]]:
    dbs = [await Database.open(pg_url) for _ in range(3)]
    yield dbs
    for db in dbs:
        await db.close()


def test_units_split_the_players_the_same_way_everywhere() -> None:
    units = [WorkUnit(1, n, 16) for n in range(16)]
    split = [unit.players(XUIDS) for unit in units]
    assert sorted(x for part in split for x in part) == sorted(XUIDS)
    assert sum(1 for part in split if part) > 8  # spread out
    assert all(unit_of(x, 16) == n for n, part in enumerate(split) for x in part)
    assert WorkUnit(None, 0, 1).players(XUIDS) == XUIDS


async def test_alone_every_turn_is_the_whole_cycle() -> None:
    leases = WholeCycle()
    for _ in range(2):
        turn = await leases.begin()
        unit = await turn.next_unit()
        assert unit is not None and unit.players(XUIDS) == XUIDS
        await turn.done(unit)
        assert await turn.next_unit() is None


async def test_sqlite_holds_the_whole_cycle_postgres_shares_it(tmp_path: Path, pg_url: str) -> None:
    async with await Database.open(tmp_path / "bot.db") as lite:
        assert isinstance(cycle_leases_for(lite, 60), WholeCycle)
    async with await Database.open(pg_url) as pg:
        assert isinstance(cycle_leases_for(pg, 60), SharedCycle)


async def test_two_instances_share_one_cycle_and_each_player_is_checked_once(
    dbs: list[Database],
) -> None:
    clock = Clock()
    a, b, late = (
        SharedCycle(db, interval=INTERVAL, units=8, holder=name, clock=clock)
        for db, name in zip(dbs, ("a", "b", "late"), strict=True)
    )
    turn_a = await a.begin()
    assert turn_a.cycle == 1
    first = await turn_a.next_unit()
    turn_b = await b.begin()  # a is still working: b joins the same cycle
    assert turn_b.cycle == 1
    checked: list[str] = []
    assert first is not None
    checked += first.players(XUIDS)
    await turn_a.done(first)
    while True:  # alternate, as two processes would
        progressed = False
        for turn in (turn_b, turn_a):
            unit = await turn.next_unit()
            if unit is not None:
                checked += unit.players(XUIDS)
                await turn.done(unit)
                progressed = True
        if not progressed:
            break
    assert sorted(checked) == sorted(XUIDS)  # everybody, once

    # A moment later an instance that took no part finds nothing to do ...
    clock.now += timedelta(seconds=5)
    nothing = await late.begin()
    assert nothing.cycle is None and await nothing.next_unit() is None
    # ... while one that worked in it starts the next cycle at its own interval.
    turn = await a.begin()
    assert turn.cycle == 2
    # A cycle at least one interval old is followed by a new one whoever asks.
    unit = await turn.next_unit()
    assert unit is not None
    clock.now += INTERVAL * 2
    # a died holding a unit of cycle 2: its lease is over, so the next turn takes it.
    again = await late.begin()
    assert again.cycle == 2
    taken = await again.next_unit()
    assert taken is not None and taken.number == unit.number


async def test_a_stale_cycle_is_followed_by_a_new_one(dbs: list[Database]) -> None:
    clock = Clock()
    a = SharedCycle(dbs[0], interval=INTERVAL, units=2, holder="a", clock=clock)
    b = SharedCycle(dbs[1], interval=INTERVAL, units=2, holder="b", clock=clock)
    turn = await a.begin()
    while (unit := await turn.next_unit()) is not None:
        await turn.done(unit)
    assert (await b.begin()).cycle is None
    clock.now += INTERVAL
    assert (await b.begin()).cycle == 2  # a is gone: b carries on
