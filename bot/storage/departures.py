"""Servers the bot was removed from, and deleting what it kept about them.

When the bot is removed from a server (a ``GUILD_DELETE`` that is not an outage) the
server is recorded here: its tracked members stop being polled at once (unless another
server tracks them, see :meth:`bot.storage.tracked.TrackedMembers.memberships`). After a
grace period its settings, tracking, rank-role mapping and grants, lookup notes and
unsent announcements are deleted (:meth:`DepartedGuilds.purge`); an invitation back
before then keeps everything (:meth:`DepartedGuilds.returned`).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING

from bot.storage.models import check_id, to_db_time

if TYPE_CHECKING:
    from bot.storage.database import Database, Transaction

log = logging.getLogger(__name__)

#: Every table holding data of one server, deleted when it is purged.
_GUILD_TABLES = (
    "tracked_members",
    "rank_role_grants",
    "rank_roles",
    "player_lookups",
    "announcements",
    "guild_settings",
)


class DepartedGuilds:
    """Repository of departed servers (``db.departures``)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def mark_left(
        self, guild_id: int, at: datetime, *, tx: Transaction | None = None
    ) -> bool:
        """Record that the bot left the server at ``at``; False if it was already recorded."""
        async with self._db._writing(tx) as t:
            added = await self._db._execute(
                t,
                "INSERT INTO departed_guilds (guild_id, left_at) VALUES (?, ?)"
                " ON CONFLICT (guild_id) DO NOTHING",
                (check_id("guild_id", guild_id), to_db_time(at)),
            )
        return added > 0

    async def returned(self, guild_id: int, *, tx: Transaction | None = None) -> bool:
        """The bot is in the server again: keep its data; True if it had left."""
        async with self._db._writing(tx) as t:
            removed = await self._db._execute(
                t,
                "DELETE FROM departed_guilds WHERE guild_id = ?",
                (check_id("guild_id", guild_id),),
            )
        return removed > 0

    async def ids(self, *, tx: Transaction | None = None) -> set[int]:
        rows = await self._db._fetchall("SELECT guild_id FROM departed_guilds", tx=tx)
        return {int(row[0]) for row in rows}

    async def purge(self, left_before: datetime) -> list[int]:
        """Delete everything stored about servers left before ``left_before``, one server
        per transaction; the ids of the servers purged."""
        rows = await self._db._fetchall(
            "SELECT guild_id FROM departed_guilds WHERE left_at <= ? ORDER BY guild_id",
            (to_db_time(left_before),),
        )
        purged: list[int] = []
        for row in rows:
            guild_id = int(row[0])
            async with self._db.transaction() as t:
                counts = {}
                for table in _GUILD_TABLES:
                    counts[table] = await self._db._execute(
                        t, f"DELETE FROM {table} WHERE guild_id = ?", (guild_id,)
                    )
                await self._db._execute(
                    t, "DELETE FROM departed_guilds WHERE guild_id = ?", (guild_id,)
                )
            log.info(
                "Deleted the data of server %d (left): %s",
                guild_id,
                ", ".join(f"{n} {table}" for table, n in counts.items() if n) or "nothing",
            )
            purged.append(guild_id)
        return purged
