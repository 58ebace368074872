"""Leases on the rank cycle's work units, so several bot instances split one cycle.

A cycle (``rank_cycles``) is cut into a fixed number of work units (``rank_cycle_units``,
players grouped by a hash of their XUID). An instance claims one unit at a time: the
claim takes the first unit nobody holds (or whose holder's lease ran out) with
``SELECT ... FOR UPDATE SKIP LOCKED`` on PostgreSQL, so two instances claiming at the
same moment never get the same unit and never wait for each other; on SQLite the
write transaction (``BEGIN IMMEDIATE``) serializes claims. A holder renews its lease
while it works and marks the unit done; a unit whose holder died is claimable again
once its lease runs out.

Times are passed in by the caller (UTC), like every other repository here.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from bot.storage.models import from_db_time, to_db_time

if TYPE_CHECKING:
    from bot.storage.backend import Row
    from bot.storage.database import Database

log = logging.getLogger(__name__)

MAX_HOLDER_LENGTH = 200


@dataclass(frozen=True, slots=True)
class RankCycle:
    """One cycle: its number, how many units it has, who started it and when."""

    number: int
    units: int
    started_by: str
    started_at: datetime


@dataclass(frozen=True, slots=True)
class CycleUnit:
    """One work unit of a cycle and its lease."""

    cycle: int
    unit: int
    holder: str | None
    lease_until: datetime | None
    done_at: datetime | None


def _holder(holder: str) -> str:
    if not isinstance(holder, str) or not holder or len(holder) > MAX_HOLDER_LENGTH:
        raise ValueError(f"holder must be a non-empty str up to {MAX_HOLDER_LENGTH} chars")
    return holder


def _cycle(row: Row) -> RankCycle:
    return RankCycle(
        number=int(row["number"]),
        units=int(row["units"]),
        started_by=row["started_by"],
        started_at=from_db_time(row["started_at"]),
    )


def _optional_time(value: str | None) -> datetime | None:
    return None if value is None else from_db_time(value)


class RankCycleLeases:
    """Repository of rank cycles and their leased units (``db.cycle_leases``)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def latest(self) -> RankCycle | None:
        """The newest cycle, or None before the first."""
        row = await self._db._fetchone(
            "SELECT number, units, started_by, started_at FROM rank_cycles"
            " ORDER BY number DESC LIMIT 1"
        )
        return None if row is None else _cycle(row)

    async def start(self, number: int, units: int, holder: str, now: datetime) -> bool:
        """Create cycle ``number`` with ``units`` unclaimed units; False when another
        instance created it first (then join that one). Cycles older than the last
        ten are forgotten."""
        if number < 1 or units < 1:
            raise ValueError("cycle numbers and unit counts start at 1")
        async with self._db._writing(None) as t:
            added = await self._db._execute(
                t,
                "INSERT INTO rank_cycles (number, units, started_by, started_at)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (number) DO NOTHING",
                (number, units, _holder(holder), to_db_time(now)),
            )
            if not added:
                return False
            await self._db._execute_many(
                t,
                "INSERT INTO rank_cycle_units (cycle, unit) VALUES (?, ?)",
                [(number, unit) for unit in range(units)],
            )
            await self._db._execute(t, "DELETE FROM rank_cycles WHERE number <= ?", (number - 10,))
        return True

    async def claim(
        self, cycle: int, holder: str, now: datetime, lease_until: datetime
    ) -> int | None:
        """Take the first unit of ``cycle`` that is not done and that nobody holds (or
        whose lease ended before ``now``); the unit's number, or None when none is left."""
        skip_locked = " FOR UPDATE SKIP LOCKED" if self._db.dialect == "postgres" else ""
        async with self._db._writing(None) as t:
            row = await self._db._fetchone(
                "SELECT unit FROM rank_cycle_units"
                " WHERE cycle = ? AND done_at IS NULL"
                " AND (lease_until IS NULL OR lease_until < ?)"
                f" ORDER BY unit LIMIT 1{skip_locked}",
                (cycle, to_db_time(now)),
                tx=t,
            )
            if row is None:
                return None
            unit = int(row["unit"])
            await self._db._execute(
                t,
                "UPDATE rank_cycle_units SET holder = ?, lease_until = ?"
                " WHERE cycle = ? AND unit = ?",
                (_holder(holder), to_db_time(lease_until), cycle, unit),
            )
        return unit

    async def renew(self, cycle: int, unit: int, holder: str, lease_until: datetime) -> bool:
        """Extend ``holder``'s lease; False when the unit is done or held by another."""
        async with self._db._writing(None) as t:
            changed = await self._db._execute(
                t,
                "UPDATE rank_cycle_units SET lease_until = ?"
                " WHERE cycle = ? AND unit = ? AND holder = ? AND done_at IS NULL",
                (to_db_time(lease_until), cycle, unit, _holder(holder)),
            )
        return changed > 0

    async def done(self, cycle: int, unit: int, holder: str, now: datetime) -> bool:
        """Mark the unit done (its players were checked); False if it already was."""
        async with self._db._writing(None) as t:
            changed = await self._db._execute(
                t,
                "UPDATE rank_cycle_units SET done_at = ?, holder = ?"
                " WHERE cycle = ? AND unit = ? AND done_at IS NULL",
                (to_db_time(now), _holder(holder), cycle, unit),
            )
        return changed > 0

    async def units(self, cycle: int) -> list[CycleUnit]:
        """Every unit of ``cycle`` with its lease, by unit number."""
        rows = await self._db._fetchall(
            "SELECT cycle, unit, holder, lease_until, done_at FROM rank_cycle_units"
            " WHERE cycle = ? ORDER BY unit",
            (cycle,),
        )
        return [
            CycleUnit(
                cycle=int(row["cycle"]),
                unit=int(row["unit"]),
                holder=row["holder"],
                lease_until=_optional_time(row["lease_until"]),
                done_at=_optional_time(row["done_at"]),
            )
            for row in rows
        ]
