"""Gamertag <-> XUID cache and recent player lookups (for autocomplete).

Gamertags are matched case-insensitively through a ``casefold()``-ed column;
a gamertag belongs to at most one XUID (remembering it for another XUID moves
it). Lookups are kept per (guild, user, player), at most
:data:`MAX_LOOKUPS_PER_GUILD` per guild; lookups of XUIDs whose gamertag is
not known are left out of :meth:`KnownPlayers.recent_lookups`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from bot.halo.xuid import canonical_xuid
from bot.storage.models import (
    KnownPlayer,
    StoredPlayer,
    check_id,
    check_limit,
    checked_gamertag,
    fold,
    from_db_time,
    like_prefix,
    to_db_time,
    utc_now,
)

if TYPE_CHECKING:
    from bot.storage.backend import Row
    from bot.storage.database import Database, Transaction

log = logging.getLogger(__name__)

MAX_LOOKUPS_PER_GUILD = 500


def _stored(row: Row) -> StoredPlayer:
    return StoredPlayer(str(row["xuid"]), str(row["gamertag"]), from_db_time(row["updated_at"]))


class KnownPlayers:
    """Repository of known players and lookups (``db.players``)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def remember(self, xuid: str, gamertag: str, *, tx: Transaction | None = None) -> None:
        """Store the player's current gamertag."""
        params = (canonical_xuid(xuid), checked_gamertag(gamertag))
        folded = fold(params[1])
        async with self._db._writing(tx) as t:
            # A gamertag moves when its old owner renamed; forget the stale mapping.
            await self._db._execute(
                t,
                "DELETE FROM known_players WHERE gamertag_folded = ? AND xuid <> ?",
                (folded, params[0]),
            )
            await self._db._execute(
                t,
                "INSERT INTO known_players (xuid, gamertag, gamertag_folded, updated_at)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (xuid) DO UPDATE SET"
                " gamertag = excluded.gamertag, gamertag_folded = excluded.gamertag_folded,"
                " updated_at = excluded.updated_at",
                (*params, folded, to_db_time(utc_now())),
            )

    async def by_gamertag(
        self, gamertag: str, *, tx: Transaction | None = None
    ) -> StoredPlayer | None:
        """The player remembered for ``gamertag`` (any case) and when, or None."""
        row = await self._db._fetchone(
            "SELECT xuid, gamertag, updated_at FROM known_players WHERE gamertag_folded = ?",
            (fold(gamertag.strip()),),
            tx=tx,
        )
        return None if row is None else _stored(row)

    async def by_xuid(self, xuid: str, *, tx: Transaction | None = None) -> StoredPlayer | None:
        """The player remembered for ``xuid`` and when, or None."""
        row = await self._db._fetchone(
            "SELECT xuid, gamertag, updated_at FROM known_players WHERE xuid = ?",
            (canonical_xuid(xuid),),
            tx=tx,
        )
        return None if row is None else _stored(row)

    async def record_lookups(
        self,
        lookups: Sequence[tuple[int, int, str, datetime]],
        *,
        tx: Transaction | None = None,
    ) -> None:
        """Many ``(guild_id, user_id, xuid, when)`` lookups in one transaction, each guild
        trimmed to its most recent :data:`MAX_LOOKUPS_PER_GUILD` once."""
        rows = [
            (check_id("guild_id", g), check_id("user_id", u), canonical_xuid(x), to_db_time(w))
            for g, u, x, w in lookups
        ]
        if not rows:
            return
        async with self._db._writing(tx) as t:
            for row in rows:
                await self._db._execute(
                    t,
                    "INSERT INTO player_lookups (guild_id, user_id, xuid, looked_up_at)"
                    " VALUES (?, ?, ?, ?) ON CONFLICT (guild_id, user_id, xuid)"
                    " DO UPDATE SET looked_up_at = CASE"
                    " WHEN excluded.looked_up_at > player_lookups.looked_up_at"
                    " THEN excluded.looked_up_at ELSE player_lookups.looked_up_at END",
                    row,
                )
            for guild in sorted({row[0] for row in rows}):
                await self._db._execute(
                    t,
                    "DELETE FROM player_lookups WHERE guild_id = ? AND rowid NOT IN"
                    " (SELECT rowid FROM player_lookups WHERE guild_id = ?"
                    " ORDER BY looked_up_at DESC, rowid DESC LIMIT ?)",
                    (guild, guild, MAX_LOOKUPS_PER_GUILD),
                )

    async def recent_lookups(
        self,
        guild_id: int,
        prefix: str = "",
        limit: int = 25,
        *,
        user_id: int | None = None,
        tx: Transaction | None = None,
    ) -> list[KnownPlayer]:
        """Players looked up in the guild (optionally by one user), most recent first,
        each once, whose gamertag starts with ``prefix`` (any case)."""
        params: list[object] = [check_id("guild_id", guild_id), like_prefix(prefix)]
        by_user = ""
        if user_id is not None:
            by_user = " AND l.user_id = ?"
            params.append(check_id("user_id", user_id))
        params.append(check_limit(limit))
        rows = await self._db._fetchall(
            "SELECT l.xuid AS xuid, p.gamertag AS gamertag, MAX(l.looked_up_at) AS last"
            " FROM player_lookups AS l JOIN known_players AS p ON p.xuid = l.xuid"
            f" WHERE l.guild_id = ? AND p.gamertag_folded LIKE ? ESCAPE '\\'{by_user}"
            " GROUP BY l.xuid, p.gamertag ORDER BY last DESC, l.xuid LIMIT ?",
            params,
            tx=tx,
        )
        return [KnownPlayer(row["xuid"], row["gamertag"]) for row in rows]
