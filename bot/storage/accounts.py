"""Discord user <-> Xbox account links."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from bot.halo.xuid import canonical_xuid
from bot.storage.models import (
    LinkedAccount,
    check_id,
    checked_gamertag,
    from_db_time,
    to_db_time,
    utc_now,
)

if TYPE_CHECKING:
    from bot.storage.backend import Row
    from bot.storage.database import Database, Transaction

log = logging.getLogger(__name__)

_COLUMNS = "user_id, xuid, gamertag, linked_at, verified_at"


def _account(row: Row) -> LinkedAccount:
    verified_at = row["verified_at"]
    return LinkedAccount(
        user_id=row["user_id"],
        xuid=row["xuid"],
        gamertag=row["gamertag"],
        linked_at=from_db_time(row["linked_at"]),
        verified_at=None if verified_at is None else from_db_time(verified_at),
    )


class LinkedAccounts:
    """Repository of linked accounts (``db.accounts``)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def link(
        self,
        user_id: int,
        xuid: str,
        gamertag: str,
        *,
        verified: bool = True,
        tx: Transaction | None = None,
    ) -> LinkedAccount:
        """Link (or re-link, replacing the old link) a user; tracking is kept.

        ``verified``: whether the caller knows the user owns the XUID. ``/link`` passes
        False (the member proves it later, :meth:`LinkVerifications.verify`); re-linking
        the same XUID keeps a verification already made, another XUID starts unverified.
        This never takes a verification from anybody else: only ``verify`` does that.
        """
        params = (
            check_id("user_id", user_id),
            canonical_xuid(xuid),
            checked_gamertag(gamertag),
            to_db_time(utc_now()),
        )
        now = params[3]
        async with self._db._writing(tx) as t:
            await self._db._execute(
                t,
                "INSERT INTO linked_accounts (user_id, xuid, gamertag, linked_at, verified_at)"
                " VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (user_id) DO UPDATE SET"
                " gamertag = excluded.gamertag,"
                " linked_at = excluded.linked_at,"
                " verified_at = COALESCE(excluded.verified_at, CASE"
                " WHEN linked_accounts.xuid = excluded.xuid THEN linked_accounts.verified_at"
                " END),"
                " xuid = excluded.xuid",
                (*params, now if verified else None),
            )
            row = await self._db._fetchone(
                f"SELECT {_COLUMNS} FROM linked_accounts WHERE user_id = ?", (params[0],), tx=t
            )
        assert row is not None
        account = _account(row)
        log.debug("linked user %d to xuid %s", account.user_id, account.xuid)
        return account

    async def unlink(self, user_id: int, *, tx: Transaction | None = None) -> LinkedAccount | None:
        """Remove a link (and, by cascade, all tracking of that user); returns what was removed."""
        check_id("user_id", user_id)
        async with self._db._writing(tx) as t:
            row = await self._db._fetchone(
                f"SELECT {_COLUMNS} FROM linked_accounts WHERE user_id = ?", (user_id,), tx=t
            )
            if row is None:
                return None
            await self._db._execute(t, "DELETE FROM linked_accounts WHERE user_id = ?", (user_id,))
        log.debug("unlinked user %d", user_id)
        return _account(row)

    async def get(self, user_id: int, *, tx: Transaction | None = None) -> LinkedAccount | None:
        """The user's link, or None."""
        row = await self._db._fetchone(
            f"SELECT {_COLUMNS} FROM linked_accounts WHERE user_id = ?",
            (check_id("user_id", user_id),),
            tx=tx,
        )
        return None if row is None else _account(row)

    async def for_xuid(self, xuid: str, *, tx: Transaction | None = None) -> list[LinkedAccount]:
        """Every user linked to this XUID (usually zero or one)."""
        rows = await self._db._fetchall(
            f"SELECT {_COLUMNS} FROM linked_accounts WHERE xuid = ? ORDER BY user_id",
            (canonical_xuid(xuid),),
            tx=tx,
        )
        return [_account(row) for row in rows]

    async def update_gamertag(
        self, xuid: str, gamertag: str, *, tx: Transaction | None = None
    ) -> int:
        """Store a new gamertag for every link to ``xuid``; returns the number of links changed."""
        params = (checked_gamertag(gamertag), canonical_xuid(xuid))
        async with self._db._writing(tx) as t:
            return await self._db._execute(
                t,
                "UPDATE linked_accounts SET gamertag = ? WHERE xuid = ? AND gamertag <> ?",
                (*params, params[0]),
            )

    async def count(self, *, tx: Transaction | None = None) -> int:
        """Number of linked users."""
        row = await self._db._fetchone("SELECT COUNT(*) FROM linked_accounts", tx=tx)
        return int(row[0]) if row is not None else 0
