"""Rank roles: which server role each CSR tier maps to, and which roles the bot gave.

A server maps tiers (Bronze to Onyx) to its roles with ``/config rank-roles``. The rank
cycle gives each tracked member the role of their tier and records the grant here, so
it later takes back exactly what it gave and only calls Discord when something changed.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from bot.storage.models import check_id, placeholders, to_db_time, utc_now

if TYPE_CHECKING:
    from bot.storage.database import Database, Transaction

log = logging.getLogger(__name__)

#: The tiers a role can be mapped to, lowest first (Unranked has no role).
RANK_ROLE_TIERS: tuple[str, ...] = ("Bronze", "Silver", "Gold", "Platinum", "Diamond", "Onyx")


def _tier(value: str) -> str:
    if value not in RANK_ROLE_TIERS:
        raise ValueError(f"tier must be one of {', '.join(RANK_ROLE_TIERS)}, not {value!r}")
    return value


def ordered(mapping: Mapping[str, int]) -> dict[str, int]:
    """``mapping`` with its tiers lowest first."""
    return {tier: mapping[tier] for tier in RANK_ROLE_TIERS if tier in mapping}


class RankRoles:
    """Repository of rank-role mappings and grants (``db.rank_roles``)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    # -- mappings -----------------------------------------------------------------------

    async def mapping(self, guild_id: int, *, tx: Transaction | None = None) -> dict[str, int]:
        """The guild's tier -> role id mapping, lowest tier first (empty: none)."""
        rows = await self._db._fetchall(
            "SELECT tier, role_id FROM rank_roles WHERE guild_id = ?",
            (check_id("guild_id", guild_id),),
            tx=tx,
        )
        return ordered({row["tier"]: row["role_id"] for row in rows})

    async def all_mappings(self, *, tx: Transaction | None = None) -> dict[int, dict[str, int]]:
        """Every guild's mapping, by guild id (guilds without one left out)."""
        rows = await self._db._fetchall(
            "SELECT guild_id, tier, role_id FROM rank_roles ORDER BY guild_id", tx=tx
        )
        found: dict[int, dict[str, int]] = defaultdict(dict)
        for row in rows:
            found[row["guild_id"]][row["tier"]] = row["role_id"]
        return {guild_id: ordered(mapping) for guild_id, mapping in found.items()}

    async def set_role(
        self, guild_id: int, tier: str, role_id: int | None, *, tx: Transaction | None = None
    ) -> bool:
        """Map ``tier`` to ``role_id`` (None: unmap it); True if something changed."""
        check_id("guild_id", guild_id)
        _tier(tier)
        async with self._db._writing(tx) as t:
            if role_id is None:
                changed = await self._db._execute(
                    t, "DELETE FROM rank_roles WHERE guild_id = ? AND tier = ?", (guild_id, tier)
                )
            else:
                changed = await self._db._execute(
                    t,
                    "INSERT INTO rank_roles (guild_id, tier, role_id) VALUES (?, ?, ?)"
                    " ON CONFLICT (guild_id, tier) DO UPDATE SET role_id = excluded.role_id"
                    " WHERE rank_roles.role_id <> excluded.role_id",
                    (guild_id, tier, check_id("role_id", role_id)),
                )
        return changed > 0

    async def clear(self, guild_id: int, *, tx: Transaction | None = None) -> int:
        """Unmap every tier of the guild; how many were mapped. Grants stay until the
        next sync takes the roles back."""
        check_id("guild_id", guild_id)
        async with self._db._writing(tx) as t:
            return await self._db._execute(
                t, "DELETE FROM rank_roles WHERE guild_id = ?", (guild_id,)
            )

    # -- grants -------------------------------------------------------------------------

    async def granted(self, guild_id: int, *, tx: Transaction | None = None) -> dict[int, set[int]]:
        """Roles the bot gave in the guild, by member."""
        rows = await self._db._fetchall(
            "SELECT user_id, role_id FROM rank_role_grants WHERE guild_id = ?",
            (check_id("guild_id", guild_id),),
            tx=tx,
        )
        found: dict[int, set[int]] = defaultdict(set)
        for row in rows:
            found[row["user_id"]].add(row["role_id"])
        return dict(found)

    async def guilds_with_grants(self, *, tx: Transaction | None = None) -> set[int]:
        """Guilds where the bot gave a role that it has not taken back yet."""
        rows = await self._db._fetchall("SELECT DISTINCT guild_id FROM rank_role_grants", tx=tx)
        return {row["guild_id"] for row in rows}

    async def record_grant(
        self, guild_id: int, user_id: int, role_id: int, *, tx: Transaction | None = None
    ) -> None:
        params = (
            check_id("guild_id", guild_id),
            check_id("user_id", user_id),
            check_id("role_id", role_id),
        )
        async with self._db._writing(tx) as t:
            await self._db._execute(
                t,
                "INSERT INTO rank_role_grants (guild_id, user_id, role_id, granted_at)"
                " VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (*params, to_db_time(utc_now())),
            )

    async def forget_grants(
        self,
        guild_id: int,
        user_id: int,
        role_ids: Iterable[int] | None = None,
        *,
        tx: Transaction | None = None,
    ) -> int:
        """Forget the member's grants (only ``role_ids`` when given): the role was taken
        back, or the member left the server. How many were forgotten."""
        check_id("guild_id", guild_id)
        check_id("user_id", user_id)
        sql = "DELETE FROM rank_role_grants WHERE guild_id = ? AND user_id = ?"
        params: tuple[int, ...] = (guild_id, user_id)
        if role_ids is not None:
            ids = tuple(check_id("role_id", r) for r in role_ids)
            if not ids:
                return 0
            sql += f" AND role_id IN ({placeholders(len(ids))})"
            params += ids
        async with self._db._writing(tx) as t:
            return await self._db._execute(t, sql, params)

    async def guilds_granted_to(self, user_id: int, *, tx: Transaction | None = None) -> set[int]:
        """Guilds where the bot gave the member a role it has not taken back yet."""
        rows = await self._db._fetchall(
            "SELECT DISTINCT guild_id FROM rank_role_grants WHERE user_id = ?",
            (check_id("user_id", user_id),),
            tx=tx,
        )
        return {row["guild_id"] for row in rows}

    async def forget_member(self, user_id: int, *, tx: Transaction | None = None) -> int:
        """Forget every grant of the member in every guild; how many were forgotten."""
        check_id("user_id", user_id)
        async with self._db._writing(tx) as t:
            return await self._db._execute(
                t, "DELETE FROM rank_role_grants WHERE user_id = ?", (user_id,)
            )
