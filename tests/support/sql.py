"""What the bot stored, read with SQL in tests, on either engine (``?`` placeholders).

The repositories in ``bot.storage`` keep only the reads the bot itself makes. A test that
checks something the bot never reads back (a table's size, an announcement's status once
it left the outbox, one guild's rows) reads it here, through the ``db`` it was given.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from bot.storage import Database


async def count(db: Database, table: str, where: str = "", *params: Any) -> int:
    """Rows of ``table`` (those matching ``where``, with ``?`` for each of ``params``)."""
    sql = f"SELECT COUNT(*) FROM {table}" + (f" WHERE {where}" if where else "")
    row = await db._fetchone(sql, params)
    assert row is not None
    return int(row[0])


@dataclass(frozen=True)
class StoredAnnouncement:
    """One outbox row, whatever its status."""

    guild_id: int
    channel_id: int
    payload: Any
    status: str
    message_id: int | None
    failure: str | None


async def announcement(db: Database, key: str) -> StoredAnnouncement | None:
    """The outbox row under ``key`` (pending, sent or failed), or None."""
    row = await db._fetchone(
        "SELECT guild_id, channel_id, payload, status, message_id, failure"
        " FROM announcements WHERE key = ?",
        (key,),
    )
    if row is None:
        return None
    return StoredAnnouncement(
        guild_id=row["guild_id"],
        channel_id=row["channel_id"],
        payload=json.loads(row["payload"]),
        status=row["status"],
        message_id=row["message_id"],
        failure=row["failure"],
    )


async def was_announced(db: Database, key: str) -> bool:
    """Whether the announcement under ``key`` was posted (its row is ``sent``)."""
    stored = await announcement(db, key)
    return stored is not None and stored.status == "sent"


async def integrity_ok(db: Database) -> bool:
    """SQLite: ``PRAGMA integrity_check`` says ok and ``foreign_key_check`` finds nothing.
    PostgreSQL checks both at every statement: the connection answers."""
    if db.dialect != "sqlite":
        return await db._fetchone("SELECT 1") is not None
    checked = [tuple(row) for row in await db._fetchall("PRAGMA integrity_check")]
    return checked == [("ok",)] and not await db._fetchall("PRAGMA foreign_key_check")
