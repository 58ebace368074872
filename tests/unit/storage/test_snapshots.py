"""Rank snapshots: latest, latest_many, history and pruning."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest

from bot.storage import Database, Snapshot
from tests.support.sql import announcement, count

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
X1, X2 = "2533274800000001", "2533274800000002"


def snap(
    xuid: str = X1, value: int = 1500, minutes: float = 0, playlist: str = "ranked"
) -> Snapshot:
    return Snapshot(
        xuid=xuid,
        playlist_id=playlist,
        csr_season="CsrSeason9-1",
        value=value,
        tier="Diamond" if value >= 0 else "Unranked",
        sub_tier=3,
        matches_remaining=0 if value >= 0 else 4,
        season_max=value if value >= 0 else None,
        all_time_max=None,
        taken_at=T0 + timedelta(minutes=minutes),
    )


async def test_record_and_latest_round_trip(db: Database) -> None:
    assert await db.snapshots.latest(X1, "ranked") is None
    first = snap(value=-1)
    assert await db.snapshots.record(first)
    assert await db.snapshots.latest(X1, "ranked") == first
    newer = snap(value=1510, minutes=5)
    await db.snapshots.record(newer)
    await db.snapshots.record(snap(value=1400, minutes=-5))  # recorded late, older
    await db.snapshots.record(snap(value=9, minutes=10, playlist="other"))
    assert await db.snapshots.latest(X1, "ranked") == newer
    assert await count(db, "rank_snapshots") == 4


async def test_latest_breaks_timestamp_ties_by_insertion(db: Database) -> None:
    await db.snapshots.record(snap(value=1))
    await db.snapshots.record(snap(value=2))
    assert (await db.snapshots.latest(X1, "ranked")).value == 2
    assert (await db.snapshots.latest_many([X1], "ranked"))[X1].value == 2


async def test_times_are_stored_as_utc(db: Database) -> None:
    plus_two = timezone(timedelta(hours=2))
    local = replace(snap(), taken_at=datetime(2025, 3, 1, 14, 0, tzinfo=plus_two))
    await db.snapshots.record(local)
    stored = await db.snapshots.latest(X1, "ranked")
    assert stored.taken_at == T0 and stored.taken_at.utcoffset() == timedelta(0)
    with pytest.raises(ValueError, match="naive"):
        await db.snapshots.record(replace(snap(), taken_at=datetime(2025, 1, 1)))


@pytest.mark.parametrize(
    "bad",
    [
        {"value": -2},
        {"value": 1.5},
        {"sub_tier": None},
        {"season_max": "1"},
        {"playlist_id": ""},
        {"tier": None},
        {"xuid": "abc"},
    ],
)
async def test_record_validates(db: Database, bad: dict) -> None:
    with pytest.raises(ValueError):
        await db.snapshots.record(replace(snap(), **bad))
    assert await count(db, "rank_snapshots") == 0


async def test_skip_unchanged(db: Database) -> None:
    assert await db.snapshots.record(snap(value=1500), skip_unchanged=True)
    assert not await db.snapshots.record(snap(value=1500, minutes=5), skip_unchanged=True)
    assert await db.snapshots.record(snap(value=1501, minutes=10), skip_unchanged=True)
    assert await count(db, "rank_snapshots") == 2


async def test_latest_many_with_1500_xuids(db: Database) -> None:
    xuids = [str(2533274800000000 + i) for i in range(1500)]
    async with db.transaction() as tx:
        for i, xuid in enumerate(xuids):
            if i % 3 == 0:
                continue  # never seen
            await db.snapshots.record(snap(xuid, value=i, minutes=0), tx=tx)
            await db.snapshots.record(snap(xuid, value=i + 1, minutes=1), tx=tx)
            await db.snapshots.record(snap(xuid, value=99999, minutes=2, playlist="other"), tx=tx)

    found = await db.snapshots.latest_many([*xuids, xuids[1]], "ranked")
    assert len(found) == 1000
    assert all(found[x].value == i + 1 for i, x in enumerate(xuids) if i % 3)
    assert xuids[0] not in found
    assert await db.snapshots.latest_many([], "ranked") == {}
    assert await db.snapshots.latest_many(xuids[:10], "nope") == {}


async def test_history_is_ascending_and_limited_to_newest(db: Database) -> None:
    for minute in range(10):
        await db.snapshots.record(snap(value=1000 + minute, minutes=minute))
    await db.snapshots.record(snap(X2, value=5))

    full = await db.snapshots.history(X1, "ranked")
    assert [s.value for s in full] == list(range(1000, 1010))
    since = await db.snapshots.history(X1, "ranked", since=T0 + timedelta(minutes=7))
    assert [s.value for s in since] == [1007, 1008, 1009]
    newest = await db.snapshots.history(X1, "ranked", limit=3)
    assert [s.value for s in newest] == [1007, 1008, 1009]
    assert await db.snapshots.history(X1, "other") == []


async def test_latest_before_is_the_rank_held_at_a_moment(db: Database) -> None:
    for minute, value in ((0, 1000), (5, 1010), (5, 1020), (9, -1)):
        await db.snapshots.record(snap(value=value, minutes=minute))
    await db.snapshots.record(snap(X2, value=7, minutes=1))
    await db.snapshots.record(snap(value=3, minutes=1, playlist="other"))

    at = T0 + timedelta(minutes=5)
    held = await db.snapshots.latest_before(X1, "ranked", at)
    assert held is not None and held.value == 1000  # strictly before: 5-minute rows excluded
    later = await db.snapshots.latest_before(X1, "ranked", at + timedelta(seconds=1))
    assert later is not None and later.value == 1020  # same time: the last recorded wins
    # With history(since=at) it covers the whole period, with no row counted twice.
    period = await db.snapshots.history(X1, "ranked", since=at)
    assert [s.value for s in period] == [1010, 1020, -1]
    assert await db.snapshots.latest_before(X1, "ranked", T0) is None
    assert await db.snapshots.latest_before(X1, "nope", at) is None
    other = await db.snapshots.latest_before(X2, "ranked", T0 + timedelta(days=1))
    assert other is not None and other.value == 7
    with pytest.raises(ValueError):
        await db.snapshots.latest_before(X1, "ranked", datetime(2025, 3, 1))  # naive


async def test_snapshot_joins_announcement_transaction(db: Database) -> None:
    with pytest.raises(RuntimeError):
        async with db.transaction() as tx:
            await db.snapshots.record(snap(), tx=tx)
            assert await db.announcements.add_pending("k", 1, 2, {"x": 1}, tx=tx)
            raise RuntimeError
    assert await count(db, "rank_snapshots") == 0
    assert await announcement(db, "k") is None
