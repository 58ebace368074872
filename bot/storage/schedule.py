"""When each tracked player is next checked in each ranked playlist (adaptive polling).

One row per (xuid, playlist): the interval that produced it and the next due time. A
player without a row is due now. :mod:`bot.features.announcements.schedule` decides the
intervals; this module only stores them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from bot.common.seq import chunks
from bot.storage.models import MAX_VARIABLES, from_db_time, placeholders, to_db_time

if TYPE_CHECKING:
    from bot.storage.database import Database, Transaction


@dataclass(frozen=True, slots=True)
class PollSlot:
    """The next check of one player in one playlist."""

    xuid: str
    playlist_id: str
    last_active: datetime
    interval_seconds: int
    next_due: datetime


class PollSchedule:
    """Repository of the poll schedule (``db.schedule``)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def not_due(
        self,
        playlist_id: str,
        now: datetime,
        among: Sequence[str] | None = None,
        *,
        tx: Transaction | None = None,
    ) -> set[str]:
        """Players with a check planned after ``now`` in the playlist (all others are due):
        of everyone, or only of ``among`` (one work unit's players: reading the whole
        playlist for each of a cycle's units would read it once per unit)."""
        if among is None:
            rows = await self._db._fetchall(
                "SELECT xuid FROM poll_schedule WHERE playlist_id = ? AND next_due > ?",
                (playlist_id, to_db_time(now)),
                tx=tx,
            )
            return {row[0] for row in rows}
        later: set[str] = set()
        for part in chunks(list(among), MAX_VARIABLES):
            rows = await self._db._fetchall(
                "SELECT xuid FROM poll_schedule WHERE playlist_id = ? AND next_due > ?"
                f" AND xuid IN ({placeholders(len(part))})",
                (playlist_id, to_db_time(now), *part),
                tx=tx,
            )
            later.update(row[0] for row in rows)
        return later

    async def slots(
        self, playlist_id: str, xuids: Sequence[str], *, tx: Transaction | None = None
    ) -> dict[str, PollSlot]:
        """The stored slots of these players in the playlist (missing: never scheduled)."""
        found: dict[str, PollSlot] = {}
        for part in chunks(list(xuids), MAX_VARIABLES):
            rows = await self._db._fetchall(
                "SELECT xuid, playlist_id, last_active, interval_seconds, next_due"
                " FROM poll_schedule"
                f" WHERE playlist_id = ? AND xuid IN ({placeholders(len(part))})",
                (playlist_id, *part),
                tx=tx,
            )
            for row in rows:
                found[row["xuid"]] = PollSlot(
                    row["xuid"],
                    row["playlist_id"],
                    from_db_time(row["last_active"]),
                    int(row["interval_seconds"]),
                    from_db_time(row["next_due"]),
                )
        return found

    async def put(self, slots: Sequence[PollSlot], *, tx: Transaction | None = None) -> int:
        """Store these slots (replacing the players' previous ones)."""
        if not slots:
            return 0
        rows = [
            (
                s.xuid,
                s.playlist_id,
                to_db_time(s.last_active),
                s.interval_seconds,
                to_db_time(s.next_due),
            )
            for s in slots
        ]
        async with self._db._writing(tx) as t:
            await self._db._execute_many(
                t,
                "INSERT INTO poll_schedule"
                " (xuid, playlist_id, last_active, interval_seconds, next_due)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (xuid, playlist_id) DO UPDATE SET"
                " last_active = excluded.last_active,"
                " interval_seconds = excluded.interval_seconds, next_due = excluded.next_due",
                rows,
            )
        return len(rows)

    async def forget_untracked(self, *, tx: Transaction | None = None) -> int:
        """Drop the slots of players no server tracks any more; how many went."""
        async with self._db._writing(tx) as t:
            return await self._db._execute(
                t,
                "DELETE FROM poll_schedule WHERE xuid NOT IN (SELECT a.xuid"
                " FROM tracked_members AS t JOIN linked_accounts AS a ON a.user_id = t.user_id)",
            )
