"""Announcement outbox: idempotent keys, pending order, sent/failed states."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from bot.storage import Database
from tests.support.sql import announcement, was_announced


async def test_same_key_twice_is_one_row(db: Database) -> None:
    assert await db.announcements.add_pending("g1:x1:t1", 1, 10, {"n": 1}) is True
    assert await db.announcements.add_pending("g1:x1:t1", 1, 10, {"n": 2}) is False
    pending = await db.announcements.pending()
    assert [(a.key, a.payload) for a in pending] == [("g1:x1:t1", {"n": 1})]


async def test_concurrent_duplicate_keys_insert_once(db: Database) -> None:
    results = await asyncio.gather(
        *(db.announcements.add_pending(f"k{i % 10}", 1, 10, {"i": i}) for i in range(100))
    )
    assert results.count(True) == 10
    assert len(await db.announcements.pending(limit=1000)) == 10


async def test_payload_round_trips_and_must_be_json(db: Database) -> None:
    payload = {"gamertag": "Ünïcode ✓", "csr": [1500, 1510], "nested": {"tier": None}}
    await db.announcements.add_pending("k", 1, 10, payload)
    [stored] = await db.announcements.pending()
    assert stored.payload == payload
    assert (stored.guild_id, stored.channel_id, stored.status) == (1, 10, "pending")
    assert stored.created_at.tzinfo is UTC
    with pytest.raises(TypeError):
        await db.announcements.add_pending("bad", 1, 10, {"when": datetime.now(UTC)})
    with pytest.raises(ValueError):
        await db.announcements.add_pending("nan", 1, 10, {"x": float("nan")})
    with pytest.raises(ValueError):
        await db.announcements.add_pending("", 1, 10, {})
    assert [a.key for a in await db.announcements.pending()] == ["k"]


async def test_pending_is_oldest_first_and_limited(db: Database) -> None:
    for i in range(5):
        await db.announcements.add_pending(f"k{i}", 1, 10, {"i": i})
    assert [a.key for a in await db.announcements.pending()] == [f"k{i}" for i in range(5)]
    assert [a.key for a in await db.announcements.pending(limit=2)] == ["k0", "k1"]
    with pytest.raises(ValueError):
        await db.announcements.pending(limit=0)


async def test_mark_sent_and_failed_leave_pending(db: Database) -> None:
    for key in ("a", "b", "c"):
        await db.announcements.add_pending(key, 1, 10, {})
    assert await db.announcements.mark_sent("a", 123456789) is True
    assert await db.announcements.mark_failed("b", "Missing Access") is True
    assert await db.announcements.mark_sent("nope", 1) is False
    assert await db.announcements.mark_failed("a", "late failure") is False  # sent stays sent

    assert [a.key for a in await db.announcements.pending()] == ["c"]
    sent = await announcement(db, "a")
    assert sent is not None
    assert (sent.status, sent.message_id, sent.failure) == ("sent", 123456789, None)
    failed = await announcement(db, "b")
    assert failed is not None
    assert (failed.status, failed.failure) == ("failed", "Missing Access")
    assert await was_announced(db, "a")
    assert not await was_announced(db, "b")
    assert not await was_announced(db, "c")
    assert not await was_announced(db, "missing")
    assert await db.announcements.add_pending("a", 1, 10, {}) is False  # never re-queued


async def test_prune_sent_only_touches_old_finished_rows(db: Database) -> None:
    for key in ("sent", "failed", "pending"):
        await db.announcements.add_pending(key, 1, 10, {})
    await db.announcements.mark_sent("sent", 1)
    await db.announcements.mark_failed("failed", "x")

    assert await db.announcements.prune_sent(datetime.now(UTC) - timedelta(hours=1)) == 0
    future = datetime.now(UTC) + timedelta(seconds=1)
    assert await db.announcements.prune_sent(future, include_failed=False) == 1
    assert await announcement(db, "sent") is None
    assert await announcement(db, "failed") is not None
    assert await db.announcements.prune_sent(future) == 1
    assert [a.key for a in await db.announcements.pending()] == ["pending"]


async def test_outbox_survives_reopen(db_target: str) -> None:
    path = db_target
    async with await Database.open(path) as db:
        await db.announcements.add_pending("k", 1, 10, {"v": 1})
    async with await Database.open(path) as db:
        assert [a.payload for a in await db.announcements.pending()] == [{"v": 1}]
