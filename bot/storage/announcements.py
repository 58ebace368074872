"""Outbox of rank-change posts, so a crash never loses or doubles an announcement.

Flow: in the same transaction that records the new snapshot, ``add_pending``
an announcement under an idempotency key (:func:`announcement_key`). A sender posts
``pending()`` rows and calls ``mark_sent`` (or ``mark_failed``, which takes the row out
of ``pending()`` for good).

The key names the change itself (server, player, playlist, season, old and new value,
kinds, and the time of the snapshot it changed from), never when it was seen: two
instances, or a restart, that see the same change queue it once (the key is unique).
With several instances, each posts only its own servers' rows (``pending(shards=)``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.storage.models import (
    PendingAnnouncement,
    check_id,
    check_limit,
    from_db_time,
    placeholders,
    to_db_time,
    utc_now,
)

if TYPE_CHECKING:
    from bot.storage.backend import Row
    from bot.storage.database import Database, Transaction

log = logging.getLogger(__name__)

PENDING, SENT, FAILED = "pending", "sent", "failed"
MAX_KEY_LENGTH = 500
MAX_REASON_LENGTH = 1000
_COLUMNS = "key, guild_id, channel_id, payload, status, message_id, failure, created_at, updated_at"


def announcement_key(
    guild_id: int,
    xuid: str,
    playlist_id: str,
    season: str | None,
    old_value: int,
    new_value: int,
    kinds: Iterable[str],
    since: datetime | None,
) -> str:
    """The idempotency key of one change announced in one server.

    ``since`` is when the snapshot the change starts from was taken: the same stored
    snapshot for every instance that sees the change, and a new one once the change is
    stored, so a later identical move (down and up again) is a new announcement.
    """
    return (
        f"{guild_id}:{xuid}:{playlist_id}:{season or '-'}:{old_value}->{new_value}:"
        f"{'+'.join(kinds)}:{to_db_time(since) if since is not None else '-'}"
    )


def _key(key: str) -> str:
    if not isinstance(key, str) or not key or len(key) > MAX_KEY_LENGTH:
        raise ValueError(f"announcement key must be a non-empty str up to {MAX_KEY_LENGTH} chars")
    return key


def _announcement(row: Row) -> PendingAnnouncement:
    return PendingAnnouncement(
        key=row["key"],
        guild_id=row["guild_id"],
        channel_id=row["channel_id"],
        payload=json.loads(row["payload"]),
        status=row["status"],
        created_at=from_db_time(row["created_at"]),
        updated_at=from_db_time(row["updated_at"]),
        message_id=row["message_id"],
        failure=row["failure"],
    )


class Announcements:
    """Repository of the announcement outbox (``db.announcements``)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def add_pending(
        self,
        key: str,
        guild_id: int,
        channel_id: int,
        payload: dict[str, Any],
        tx: Transaction | None = None,
    ) -> bool:
        """Queue a post unless ``key`` was ever queued before; returns whether it was added."""
        if not isinstance(payload, dict):
            raise ValueError("payload must be a dict")
        text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        now = to_db_time(utc_now())
        params = (
            _key(key),
            check_id("guild_id", guild_id),
            check_id("channel_id", channel_id),
            text,
            PENDING,
            now,
            now,
        )
        async with self._db._writing(tx) as t:
            added = await self._db._execute(
                t,
                "INSERT INTO announcements"
                " (key, guild_id, channel_id, payload, status, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO NOTHING",
                params,
            )
        return added > 0

    async def pending(
        self,
        limit: int = 100,
        *,
        shards: tuple[int, Sequence[int]] | None = None,
        tx: Transaction | None = None,
    ) -> list[PendingAnnouncement]:
        """Unsent, unfailed announcements, oldest first. ``shards`` ``(count, ids)``:
        only servers whose Discord shard ``(guild_id >> 22) % count`` is in ``ids``."""
        where = ""
        params: list[object] = []
        if shards is not None:
            count, ids = shards
            if count < 1 or not ids:
                raise ValueError("shards needs a count of at least 1 and some shard ids")
            where = f" AND ((guild_id >> 22) % ?) IN ({placeholders(len(ids))})"
            params = [int(count), *(int(i) for i in ids)]
        rows = await self._db._fetchall(
            f"SELECT {_COLUMNS} FROM announcements WHERE status = 'pending'{where}"
            " ORDER BY created_at, rowid LIMIT ?",
            (*params, check_limit(limit)),
            tx=tx,
        )
        return [_announcement(row) for row in rows]

    async def mark_sent(self, key: str, message_id: int, *, tx: Transaction | None = None) -> bool:
        """Record the posted message; False if the key is unknown."""
        params = (SENT, check_id("message_id", message_id), to_db_time(utc_now()), _key(key))
        async with self._db._writing(tx) as t:
            changed = await self._db._execute(
                t,
                "UPDATE announcements SET status = ?, message_id = ?, failure = NULL,"
                " updated_at = ? WHERE key = ?",
                params,
            )
        return changed > 0

    async def mark_failed(self, key: str, reason: str, *, tx: Transaction | None = None) -> bool:
        """Give up on a post (kept, out of ``pending()``); False if unknown or already sent."""
        text = str(reason).strip()[:MAX_REASON_LENGTH] or "unknown"
        params = (FAILED, text, to_db_time(utc_now()), _key(key))
        async with self._db._writing(tx) as t:
            changed = await self._db._execute(
                t,
                "UPDATE announcements SET status = ?, failure = ?, updated_at = ?"
                " WHERE key = ? AND status <> 'sent'",
                params,
            )
        if changed:
            log.warning("announcement %s failed: %s", key, text)
        return changed > 0

    async def prune_sent(self, older_than: datetime, *, include_failed: bool = True) -> int:
        """Delete sent (and by default failed) rows last updated before ``older_than``.

        Their keys become reusable, so keep them longer than any re-detection window.
        """
        statuses = (SENT, FAILED) if include_failed else (SENT,)
        marks = placeholders(len(statuses))
        async with self._db.transaction() as t:
            removed = await self._db._execute(
                t,
                f"DELETE FROM announcements WHERE status IN ({marks}) AND updated_at < ?",
                (*statuses, to_db_time(older_than)),
            )
        if removed:
            log.info("pruned %d finished announcements", removed)
        return removed
