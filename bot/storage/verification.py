"""Proven ownership of linked accounts (``db.verification``).

Three things are stored (migration 0004):

* ``linked_accounts.verified_at``: the member proved they own the XUID by setting a
  code as their Halo service tag. At most one member holds a XUID verified: verifying
  takes the verification (and every admin vouching for that XUID) from anybody else.
* ``guild_verified_links``: an admin vouched for a member's link in one server
  (``/config link``), or the link existed before verification did (``migration``).
* ``link_codes``: the code each member must set, when it was made and how often the
  bot checked it.

Which tracked links count in a server (verified there, or the server does not require
it) is decided in :mod:`bot.storage.tracked`, in SQL, so every reader agrees.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING

from bot.halo.xuid import canonical_xuid
from bot.storage.models import (
    AccountNotLinkedError,
    ConstraintError,
    ForgottenMember,
    GuildVerification,
    LinkCode,
    check_id,
    from_db_time,
    to_db_time,
    utc_now,
)

if TYPE_CHECKING:
    from bot.storage.backend import Row
    from bot.storage.database import Database, Transaction

log = logging.getLogger(__name__)

SOURCES = ("admin", "migration")


def _code(row: Row) -> LinkCode:
    return LinkCode(
        user_id=row["user_id"],
        xuid=row["xuid"],
        code=row["code"],
        created_at=from_db_time(row["created_at"]),
        checks=row["checks"],
    )


def _vouched(row: Row) -> GuildVerification:
    return GuildVerification(
        guild_id=row["guild_id"],
        user_id=row["user_id"],
        xuid=row["xuid"],
        source=row["source"],
        verified_by=row["verified_by"],
        verified_at=from_db_time(row["verified_at"]),
    )


class LinkVerifications:
    """Repository of link verifications and verification codes."""

    def __init__(self, db: Database) -> None:
        self._db = db

    # ---------------------------------------------------------------- codes

    async def new_code(
        self,
        user_id: int,
        xuid: str,
        code: str,
        *,
        now: datetime | None = None,
        tx: Transaction | None = None,
    ) -> LinkCode:
        """Replace the member's code (checks start again). The member must be linked."""
        made = LinkCode(check_id("user_id", user_id), canonical_xuid(xuid), code, now or utc_now())
        async with self._db._writing(tx) as t:
            try:
                await self._db._execute(
                    t,
                    "INSERT INTO link_codes (user_id, xuid, code, created_at, checks)"
                    " VALUES (?, ?, ?, ?, 0)"
                    " ON CONFLICT (user_id) DO UPDATE SET xuid = excluded.xuid,"
                    " code = excluded.code, created_at = excluded.created_at, checks = 0",
                    (made.user_id, made.xuid, made.code, to_db_time(made.created_at)),
                )
            except ConstraintError as exc:
                raise AccountNotLinkedError(user_id) from exc
        return made

    async def code(self, user_id: int, *, tx: Transaction | None = None) -> LinkCode | None:
        row = await self._db._fetchone(
            "SELECT user_id, xuid, code, created_at, checks FROM link_codes WHERE user_id = ?",
            (check_id("user_id", user_id),),
            tx=tx,
        )
        return None if row is None else _code(row)

    async def count_check(self, user_id: int, *, tx: Transaction | None = None) -> int:
        """One more check of the member's code; returns how many were made (0: no code)."""
        check_id("user_id", user_id)
        async with self._db._writing(tx) as t:
            await self._db._execute(
                t, "UPDATE link_codes SET checks = checks + 1 WHERE user_id = ?", (user_id,)
            )
            row = await self._db._fetchone(
                "SELECT checks FROM link_codes WHERE user_id = ?", (user_id,), tx=t
            )
        return 0 if row is None else int(row[0])

    async def drop_code(self, user_id: int, *, tx: Transaction | None = None) -> bool:
        check_id("user_id", user_id)
        async with self._db._writing(tx) as t:
            removed = await self._db._execute(
                t, "DELETE FROM link_codes WHERE user_id = ?", (user_id,)
            )
        return removed > 0

    # ---------------------------------------------------------------- verifying

    async def verify(self, user_id: int, xuid: str, *, tx: Transaction | None = None) -> list[int]:
        """The member proved they own ``xuid``: their link becomes verified, their code
        goes, and every other member's verification of that XUID (their own and every
        admin's vouching) is taken back. Returns those other members' ids.
        False-y (nothing changes) if the member's link is not to ``xuid`` any more."""
        check_id("user_id", user_id)
        xuid = canonical_xuid(xuid)
        now = to_db_time(utc_now())
        async with self._db._writing(tx) as t:
            changed = await self._db._execute(
                t,
                "UPDATE linked_accounts SET verified_at = ? WHERE user_id = ? AND xuid = ?",
                (now, user_id, xuid),
            )
            if not changed:
                return []
            rows = await self._db._fetchall(
                "SELECT user_id FROM linked_accounts"
                " WHERE xuid = ? AND user_id <> ? AND verified_at IS NOT NULL"
                " UNION SELECT user_id FROM guild_verified_links"
                " WHERE xuid = ? AND user_id <> ?",
                (xuid, user_id, xuid, user_id),
                tx=t,
            )
            await self._db._execute(
                t,
                "UPDATE linked_accounts SET verified_at = NULL"
                " WHERE xuid = ? AND user_id <> ? AND verified_at IS NOT NULL",
                (xuid, user_id),
            )
            await self._db._execute(
                t,
                "DELETE FROM guild_verified_links WHERE xuid = ? AND user_id <> ?",
                (xuid, user_id),
            )
            await self._db._execute(t, "DELETE FROM link_codes WHERE user_id = ?", (user_id,))
        others = sorted({int(row[0]) for row in rows})
        if others:
            log.info("XUID %s verified by user %d; taken from %s", xuid, user_id, others)
        return others

    async def vouch(
        self,
        guild_id: int,
        user_id: int,
        xuid: str,
        *,
        by: int | None,
        source: str = "admin",
        tx: Transaction | None = None,
    ) -> list[int]:
        """An admin vouches for the member's link to ``xuid`` in one guild. Any other
        member vouched for with that XUID in the guild loses it; returns their ids."""
        if source not in SOURCES:
            raise ValueError(f"unknown verification source {source!r}")
        params = (check_id("guild_id", guild_id), check_id("user_id", user_id))
        xuid = canonical_xuid(xuid)
        async with self._db._writing(tx) as t:
            rows = await self._db._fetchall(
                "SELECT user_id FROM guild_verified_links"
                " WHERE guild_id = ? AND xuid = ? AND user_id <> ?",
                (params[0], xuid, params[1]),
                tx=t,
            )
            await self._db._execute(
                t,
                "DELETE FROM guild_verified_links WHERE guild_id = ? AND xuid = ? AND user_id <> ?",
                (params[0], xuid, params[1]),
            )
            try:
                await self._db._execute(
                    t,
                    "INSERT INTO guild_verified_links"
                    " (guild_id, user_id, xuid, source, verified_by, verified_at)"
                    " VALUES (?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT (guild_id, user_id) DO UPDATE SET xuid = excluded.xuid,"
                    " source = excluded.source, verified_by = excluded.verified_by,"
                    " verified_at = excluded.verified_at",
                    (*params, xuid, source, by, to_db_time(utc_now())),
                )
            except ConstraintError as exc:
                raise AccountNotLinkedError(user_id) from exc
        return sorted(int(row[0]) for row in rows)

    async def vouched(
        self, guild_id: int, user_id: int, *, tx: Transaction | None = None
    ) -> GuildVerification | None:
        """The admin vouching for the member's *current* link in the guild, if any."""
        row = await self._db._fetchone(
            "SELECT g.guild_id, g.user_id, g.xuid, g.source, g.verified_by, g.verified_at"
            " FROM guild_verified_links AS g"
            " JOIN linked_accounts AS a ON a.user_id = g.user_id AND a.xuid = g.xuid"
            " WHERE g.guild_id = ? AND g.user_id = ?",
            (check_id("guild_id", guild_id), check_id("user_id", user_id)),
            tx=tx,
        )
        return None if row is None else _vouched(row)

    async def count_by_source(
        self, guild_id: int, *, tx: Transaction | None = None
    ) -> dict[str, int]:
        """How many current links admins vouched for in the guild, by source."""
        rows = await self._db._fetchall(
            "SELECT g.source, COUNT(*) AS n FROM guild_verified_links AS g"
            " JOIN linked_accounts AS a ON a.user_id = g.user_id AND a.xuid = g.xuid"
            " WHERE g.guild_id = ? GROUP BY g.source",
            (check_id("guild_id", guild_id),),
            tx=tx,
        )
        return {row["source"]: int(row["n"]) for row in rows}

    # ---------------------------------------------------------------- forgetting

    async def forget_member(
        self, user_id: int, *, tx: Transaction | None = None
    ) -> ForgottenMember:
        """Delete everything stored about the member except their rank-role grants (the
        roles must be taken back first; :meth:`RankRoles.forget_member` then): the lookups
        they made, and where no other member links their XUID its rank history, others'
        lookups of it and the announcements about it; their tracking, verifications, code
        and link. Returns what went."""
        check_id("user_id", user_id)
        async with self._db._writing(tx) as t:
            row = await self._db._fetchone(
                "SELECT xuid, verified_at FROM linked_accounts WHERE user_id = ?",
                (user_id,),
                tx=t,
            )
            xuid = None if row is None else str(row["xuid"])
            tag_verified = row is not None and row["verified_at"] is not None
            lookups = await self._db._execute(
                t, "DELETE FROM player_lookups WHERE user_id = ?", (user_id,)
            )
            snapshots = announcements = 0
            if xuid is not None:
                shared = await self._db._fetchone(
                    "SELECT 1 FROM linked_accounts WHERE xuid = ? AND user_id <> ?",
                    (xuid, user_id),
                    tx=t,
                )
                if shared is None:
                    snapshots = await self._db._execute(
                        t, "DELETE FROM rank_snapshots WHERE xuid = ?", (xuid,)
                    )
                    lookups += await self._db._execute(
                        t, "DELETE FROM player_lookups WHERE xuid = ?", (xuid,)
                    )
                    # Keys are "guild:xuid:playlist:...": the posts about that account.
                    announcements = await self._db._execute(
                        t, "DELETE FROM announcements WHERE key LIKE ?", (f"%:{xuid}:%",)
                    )
            tracking = await self._db._execute(
                t, "DELETE FROM tracked_members WHERE user_id = ?", (user_id,)
            )
            verifications = await self._db._execute(
                t, "DELETE FROM guild_verified_links WHERE user_id = ?", (user_id,)
            )
            await self._db._execute(t, "DELETE FROM link_codes WHERE user_id = ?", (user_id,))
            await self._db._execute(t, "DELETE FROM linked_accounts WHERE user_id = ?", (user_id,))
        return ForgottenMember(
            lookups=lookups,
            snapshots=snapshots,
            announcements=announcements,
            tracking=tracking,
            verifications=verifications + int(tag_verified),
        )
