"""CSR history: one row per observed rank, kept for charts and change detection."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING

from bot.common.seq import chunks
from bot.halo.xuid import canonical_xuid
from bot.storage.models import (
    MAX_VARIABLES,
    Snapshot,
    check_limit,
    from_db_time,
    to_db_time,
    unique,
)

if TYPE_CHECKING:
    from bot.storage.backend import Row
    from bot.storage.database import Database, Transaction

_COLUMNS = (
    "xuid, playlist_id, csr_season, value, tier, sub_tier, matches_remaining,"
    " season_max, all_time_max, taken_at"
)
_S_COLUMNS = ", ".join(f"s.{c.strip()}" for c in _COLUMNS.split(","))
# The newest row of one (xuid, playlist) pair; walks the (xuid, playlist_id, taken_at) index.
_LATEST_ID = (
    "SELECT n.id FROM rank_snapshots AS n WHERE n.xuid = {xuid} AND n.playlist_id = ?"
    " ORDER BY n.taken_at DESC, n.id DESC LIMIT 1"
)


def _snapshot(row: Row) -> Snapshot:
    return Snapshot(
        xuid=row["xuid"],
        playlist_id=row["playlist_id"],
        csr_season=row["csr_season"],
        value=row["value"],
        tier=row["tier"],
        sub_tier=row["sub_tier"],
        matches_remaining=row["matches_remaining"],
        season_max=row["season_max"],
        all_time_max=row["all_time_max"],
        taken_at=from_db_time(row["taken_at"]),
    )


def _int(name: str, value: object, *, optional: bool = False) -> None:
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"snapshot {name} must be an int, got {value!r}")


def _params(snapshot: Snapshot) -> tuple[object, ...]:
    if not isinstance(snapshot.playlist_id, str) or not snapshot.playlist_id:
        raise ValueError("snapshot playlist_id must be a non-empty str")
    if snapshot.csr_season is not None and not isinstance(snapshot.csr_season, str):
        raise ValueError("snapshot csr_season must be a str or None")
    if not isinstance(snapshot.tier, str):
        raise ValueError("snapshot tier must be a str")
    for name in ("value", "sub_tier", "matches_remaining"):
        _int(name, getattr(snapshot, name))
    for name in ("season_max", "all_time_max"):
        _int(name, getattr(snapshot, name), optional=True)
    if snapshot.value < -1:
        raise ValueError("snapshot value must be >= -1 (-1 = unranked)")
    return (
        canonical_xuid(snapshot.xuid),
        snapshot.playlist_id,
        snapshot.csr_season,
        snapshot.value,
        snapshot.tier,
        snapshot.sub_tier,
        snapshot.matches_remaining,
        snapshot.season_max,
        snapshot.all_time_max,
        to_db_time(snapshot.taken_at),
    )


class RankSnapshots:
    """Repository of rank snapshots (``db.snapshots``)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def latest(
        self, xuid: str, playlist_id: str, *, tx: Transaction | None = None
    ) -> Snapshot | None:
        """The newest snapshot of the player in the playlist, or None."""
        row = await self._db._fetchone(
            f"SELECT {_COLUMNS} FROM rank_snapshots WHERE xuid = ? AND playlist_id = ?"
            " ORDER BY taken_at DESC, id DESC LIMIT 1",
            (canonical_xuid(xuid), playlist_id),
            tx=tx,
        )
        return None if row is None else _snapshot(row)

    async def latest_before(
        self, xuid: str, playlist_id: str, before: datetime, *, tx: Transaction | None = None
    ) -> Snapshot | None:
        """The newest snapshot taken strictly before ``before``: the rank the player held at
        that moment (with :meth:`history` from ``before`` on, a whole period). None if none."""
        row = await self._db._fetchone(
            f"SELECT {_COLUMNS} FROM rank_snapshots WHERE xuid = ? AND playlist_id = ?"
            " AND taken_at < ? ORDER BY taken_at DESC, id DESC LIMIT 1",
            (canonical_xuid(xuid), playlist_id, to_db_time(before)),
            tx=tx,
        )
        return None if row is None else _snapshot(row)

    async def latest_many(
        self, xuids: Iterable[str], playlist_id: str, *, tx: Transaction | None = None
    ) -> dict[str, Snapshot]:
        """Newest snapshot per XUID (those that have one), in chunks of bound parameters."""
        wanted = unique(canonical_xuid(x) for x in xuids)
        found: dict[str, Snapshot] = {}
        for part in chunks(wanted, MAX_VARIABLES):
            values = ", ".join(["(?)"] * len(part))
            rows = await self._db._fetchall(
                f"WITH wanted (xuid) AS (VALUES {values})"
                f" SELECT {_S_COLUMNS} FROM wanted AS w"
                f" JOIN rank_snapshots AS s ON s.id = ({_LATEST_ID.format(xuid='w.xuid')})",
                (*part, playlist_id),
                tx=tx,
            )
            for row in rows:
                found[row["xuid"]] = _snapshot(row)
        return found

    async def record(
        self,
        snapshot: Snapshot,
        *,
        tx: Transaction | None = None,
        skip_unchanged: bool = False,
    ) -> bool:
        """Store a snapshot; with ``skip_unchanged`` nothing is stored when only ``taken_at``
        differs from the latest one. Returns whether a row was written."""
        params = _params(snapshot)
        async with self._db._writing(tx) as t:
            if skip_unchanged:
                previous = await self.latest(snapshot.xuid, snapshot.playlist_id, tx=t)
                if previous is not None and previous.same_rank(snapshot):
                    return False
            await self._db._execute(
                t,
                f"INSERT INTO rank_snapshots ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                params,
            )
        return True

    async def history(
        self,
        xuid: str,
        playlist_id: str,
        since: datetime | None = None,
        limit: int = 1000,
        *,
        tx: Transaction | None = None,
    ) -> list[Snapshot]:
        """Snapshots taken at or after ``since``, oldest first; the newest ``limit`` of them."""
        params: list[object] = [canonical_xuid(xuid), playlist_id]
        where = "xuid = ? AND playlist_id = ?"
        if since is not None:
            where += " AND taken_at >= ?"
            params.append(to_db_time(since))
        params.append(check_limit(limit))
        rows = await self._db._fetchall(
            f"SELECT {_COLUMNS} FROM (SELECT id, {_COLUMNS} FROM rank_snapshots WHERE {where}"
            " ORDER BY taken_at DESC, id DESC LIMIT ?) AS newest ORDER BY taken_at, id",
            params,
            tx=tx,
        )
        return [_snapshot(row) for row in rows]
