"""Which linked members each guild tracks for rank-change announcements.

Rows reference ``linked_accounts`` with ``ON DELETE CASCADE``: unlinking a
user stops their tracking in every guild. :meth:`TrackedMembers.linked_in_guild`
(gamertag-prefix search among a guild's tracked members, for autocomplete)
lives here because tracking is the only guild<->member relation stored.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from bot.common.seq import chunks
from bot.storage.models import (
    MAX_VARIABLES,
    AccountNotLinkedError,
    ConstraintError,
    TrackedMember,
    check_id,
    check_limit,
    like_prefix,
    placeholders,
    to_db_time,
    unique,
    utc_now,
)

if TYPE_CHECKING:
    from bot.storage.backend import Row
    from bot.storage.database import Database, Transaction

#: The link is verified for the tracking guild: an admin vouched for it there, or the
#: member proved it with their service tag and no admin vouched for another member with
#: the same XUID in that guild (one verified owner per XUID).
VERIFIED_HERE = (
    "(EXISTS (SELECT 1 FROM guild_verified_links AS g WHERE g.guild_id = t.guild_id"
    " AND g.user_id = t.user_id AND g.xuid = a.xuid)"
    " OR (a.verified_at IS NOT NULL AND NOT EXISTS (SELECT 1 FROM guild_verified_links AS o"
    " WHERE o.guild_id = t.guild_id AND o.xuid = a.xuid AND o.user_id <> t.user_id)))"
)
_FROM = (
    " FROM tracked_members AS t JOIN linked_accounts AS a ON a.user_id = t.user_id"
    " LEFT JOIN guild_settings AS s ON s.guild_id = t.guild_id"
)
#: The tracked link counts in its guild (announced, rank roles, leaderboard).
COUNTS = f"({VERIFIED_HERE} OR s.require_verified = 0)"
_SELECT = (
    f"SELECT t.guild_id, t.user_id, a.xuid, a.gamertag, CASE WHEN {VERIFIED_HERE}"
    f" THEN 1 ELSE 0 END AS verified{_FROM}"
)


def _member(row: Row) -> TrackedMember:
    return TrackedMember(
        guild_id=row["guild_id"],
        user_id=row["user_id"],
        xuid=row["xuid"],
        gamertag=row["gamertag"],
        verified=bool(row["verified"]),
    )


def _counting(include_unverified: bool) -> str:
    return "" if include_unverified else f" AND {COUNTS}"


class TrackedMembers:
    """Repository of tracked members (``db.tracked``)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def track(self, guild_id: int, user_id: int, *, tx: Transaction | None = None) -> bool:
        """Start tracking; False if already tracked. Raises AccountNotLinkedError if not linked."""
        params = (check_id("guild_id", guild_id), check_id("user_id", user_id))
        async with self._db._writing(tx) as t:
            try:
                added = await self._db._execute(
                    t,
                    "INSERT INTO tracked_members (guild_id, user_id, added_at) VALUES (?, ?, ?)"
                    " ON CONFLICT (guild_id, user_id) DO NOTHING",
                    (*params, to_db_time(utc_now())),
                )
            except ConstraintError as exc:
                raise AccountNotLinkedError(user_id) from exc
        return added > 0

    async def untrack(self, guild_id: int, user_id: int, *, tx: Transaction | None = None) -> bool:
        """Stop tracking; False if the member was not tracked in that guild."""
        params = (check_id("guild_id", guild_id), check_id("user_id", user_id))
        async with self._db._writing(tx) as t:
            removed = await self._db._execute(
                t, "DELETE FROM tracked_members WHERE guild_id = ? AND user_id = ?", params
            )
        return removed > 0

    async def list_for_guild(
        self, guild_id: int, *, include_unverified: bool = False, tx: Transaction | None = None
    ) -> list[TrackedMember]:
        """The guild's tracked members that count there (verified, or the guild does not
        require it; ``include_unverified``: every tracked member), by gamertag."""
        rows = await self._db._fetchall(
            f"{_SELECT} WHERE t.guild_id = ?{_counting(include_unverified)}"
            " ORDER BY casefold(a.gamertag), t.user_id",
            (check_id("guild_id", guild_id),),
            tx=tx,
        )
        return [_member(row) for row in rows]

    async def linked_in_guild(
        self, guild_id: int, prefix: str = "", limit: int = 25, *, tx: Transaction | None = None
    ) -> list[TrackedMember]:
        """Tracked members of the guild whose gamertag starts with ``prefix`` (any case)."""
        rows = await self._db._fetchall(
            f"{_SELECT} WHERE t.guild_id = ? AND casefold(a.gamertag) LIKE ? ESCAPE '\\'"
            " ORDER BY casefold(a.gamertag), t.user_id LIMIT ?",
            (check_id("guild_id", guild_id), like_prefix(prefix), check_limit(limit)),
            tx=tx,
        )
        return [_member(row) for row in rows]

    async def unique_xuids(self, *, tx: Transaction | None = None) -> list[str]:
        """Every XUID that counts in at least one guild, sorted."""
        rows = await self._db._fetchall(
            f"SELECT DISTINCT a.xuid{_FROM} WHERE {COUNTS} ORDER BY a.xuid", tx=tx
        )
        return [row[0] for row in rows]

    async def memberships(
        self, *, include_unverified: bool = False, tx: Transaction | None = None
    ) -> list[TrackedMember]:
        """Tracked members of all guilds that count there (for the scheduler; see
        :meth:`list_for_guild`), by guild then user; guilds the bot was removed from
        (``departed_guilds``) are left out."""
        where = " WHERE t.guild_id NOT IN (SELECT guild_id FROM departed_guilds)"
        if not include_unverified:
            where += f" AND {COUNTS}"
        rows = await self._db._fetchall(f"{_SELECT}{where} ORDER BY t.guild_id, t.user_id", tx=tx)
        return [_member(row) for row in rows]

    async def memberships_of(
        self, xuid: str, *, tx: Transaction | None = None
    ) -> list[TrackedMember]:
        """Where one player is tracked and counts (guilds the bot left excluded), by guild
        then user."""
        rows = await self._db._fetchall(
            f"{_SELECT} WHERE a.xuid = ? AND {COUNTS}"
            " AND t.guild_id NOT IN (SELECT guild_id FROM departed_guilds)"
            " ORDER BY t.guild_id, t.user_id",
            (xuid,),
            tx=tx,
        )
        return [_member(row) for row in rows]

    async def guilds_of(
        self, user_ids: Iterable[int], *, tx: Transaction | None = None
    ) -> set[int]:
        """Every guild that tracks at least one of these users."""
        ids = unique(check_id("user_id", u) for u in user_ids)
        found: set[int] = set()
        for part in chunks(ids, MAX_VARIABLES):
            rows = await self._db._fetchall(
                "SELECT DISTINCT guild_id FROM tracked_members"
                f" WHERE user_id IN ({placeholders(len(part))})",
                tuple(part),
                tx=tx,
            )
            found.update(int(row[0]) for row in rows)
        return found

    async def count_for_guild(self, guild_id: int, *, tx: Transaction | None = None) -> int:
        """How many members the guild tracks."""
        row = await self._db._fetchone(
            "SELECT COUNT(*) FROM tracked_members WHERE guild_id = ?",
            (check_id("guild_id", guild_id),),
            tx=tx,
        )
        return int(row[0]) if row is not None else 0
