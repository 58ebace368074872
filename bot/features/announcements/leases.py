"""Which part of a rank cycle this instance does: leased work units.

The rank cycle (:mod:`bot.features.announcements.cycle`) asks its :class:`CycleLeases`
for a :class:`CycleTurn`, then takes :class:`WorkUnit` after unit, checks the unit's
players and marks it done. Tracked players fall into :data:`UNITS_PER_CYCLE` units by
a hash of their XUID, so every instance, whenever it read the tracked list, puts a
player in the same unit.

* :class:`WholeCycle` (one process, the SQLite default): one unit with every player,
  held by this process, every time a cycle runs.
* :class:`SharedCycle` (PostgreSQL, any number of instances): units leased in the
  database (:class:`~bot.storage.cycle_leases.RankCycleLeases`, ``SELECT ... FOR
  UPDATE SKIP LOCKED``). A turn joins the newest cycle while it has units nobody holds;
  otherwise it starts the next cycle if this instance worked in the newest one or the
  newest one is at least one interval old, and else does nothing (another instance
  checked everybody less than an interval ago). So each player is checked once per
  cycle however many instances run. A lease lasts one interval and is renewed while
  the holder works: the units of an instance that died are claimed again once their
  lease ends, and in any case the next cycle checks every player.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from bot.storage.models import utc_now

if TYPE_CHECKING:
    from bot.storage import Database

log = logging.getLogger(__name__)

#: Work units of a shared cycle: enough for a few instances to share evenly, few
#: enough that claiming them costs nothing next to the Halo requests.
UNITS_PER_CYCLE = 16


def unit_of(xuid: str, units: int) -> int:
    """The work unit a player falls in (stable across processes and restarts)."""
    return zlib.crc32(xuid.encode("ascii", "replace")) % units


def instance_name() -> str:
    """This process, as a lease holder: host, process id and a random tag."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{secrets.token_hex(4)}"


@dataclass(frozen=True, slots=True)
class WorkUnit:
    """One unit of one cycle (``cycle`` None: the whole cycle of a single process)."""

    cycle: int | None
    number: int
    units: int

    def players(self, xuids: Iterable[str]) -> list[str]:
        """The players of ``xuids`` in this unit, in the given order."""
        if self.units == 1:
            return list(xuids)
        return [x for x in xuids if unit_of(x, self.units) == self.number]


class CycleTurn(Protocol):
    """This instance's part of one cycle."""

    @property
    def cycle(self) -> int | None: ...

    async def next_unit(self) -> WorkUnit | None:
        """Claim the next unit to check, or None when none is left for this instance."""
        ...

    async def renew(self, unit: WorkUnit) -> None:
        """Still working on ``unit``: keep the lease."""
        ...

    async def done(self, unit: WorkUnit) -> None:
        """``unit``'s players were checked."""
        ...


class CycleLeases(Protocol):
    """Hands out turns; see the module docstring."""

    async def begin(self) -> CycleTurn: ...


# --------------------------------------------------------------------------- one process


class _WholeTurn:
    def __init__(self) -> None:
        self._given = False

    @property
    def cycle(self) -> int | None:
        return None

    async def next_unit(self) -> WorkUnit | None:
        if self._given:
            return None
        self._given = True
        return WorkUnit(None, 0, 1)

    async def renew(self, unit: WorkUnit) -> None:
        return None

    async def done(self, unit: WorkUnit) -> None:
        return None


class WholeCycle:
    """One process holds the whole cycle: every turn is one unit with every player."""

    async def begin(self) -> CycleTurn:
        return _WholeTurn()


# --------------------------------------------------------------------------- shared


class _SharedTurn:
    def __init__(self, owner: SharedCycle, cycle: int | None, units: int) -> None:
        self._owner = owner
        self._cycle = cycle
        self._units = units

    @property
    def cycle(self) -> int | None:
        return self._cycle

    async def next_unit(self) -> WorkUnit | None:
        if self._cycle is None:
            return None
        owner = self._owner
        now = owner.clock()
        unit = await owner.db.cycle_leases.claim(self._cycle, owner.holder, now, now + owner.lease)
        if unit is None:
            return None
        owner.worked.add(self._cycle)
        return WorkUnit(self._cycle, unit, self._units)

    async def renew(self, unit: WorkUnit) -> None:
        if unit.cycle is None:
            return
        owner = self._owner
        if not await owner.db.cycle_leases.renew(
            unit.cycle, unit.number, owner.holder, owner.clock() + owner.lease
        ):
            log.warning("Lost the lease on unit %d of rank cycle %d", unit.number, unit.cycle)

    async def done(self, unit: WorkUnit) -> None:
        if unit.cycle is not None:
            owner = self._owner
            await owner.db.cycle_leases.done(unit.cycle, unit.number, owner.holder, owner.clock())


class SharedCycle:
    """Cycles shared by every instance on one PostgreSQL database (module docstring)."""

    def __init__(
        self,
        db: Database,
        *,
        interval: timedelta,
        units: int = UNITS_PER_CYCLE,
        lease: timedelta | None = None,
        holder: str | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        if units < 1:
            raise ValueError("a cycle needs at least one unit")
        self.db = db
        self.interval = interval
        self.units = units
        self.lease = lease if lease is not None else interval
        self.holder = holder or instance_name()
        self.clock = clock
        #: Cycles this instance started or claimed a unit of.
        self.worked: set[int] = set()

    async def begin(self) -> CycleTurn:
        repo = self.db.cycle_leases
        latest = await repo.latest()
        now = self.clock()
        if latest is not None and await self._claimable(latest.number, now):
            return _SharedTurn(self, latest.number, latest.units)
        if (
            latest is not None
            and latest.number not in self.worked
            and now - latest.started_at < self.interval
        ):
            log.info(
                "Rank cycle %d was started by %s %.1f s ago: nothing left to check here",
                latest.number,
                latest.started_by,
                (now - latest.started_at).total_seconds(),
            )
            return _SharedTurn(self, None, self.units)
        number = 1 if latest is None else latest.number + 1
        if await repo.start(number, self.units, self.holder, now):
            self.worked.add(number)
            log.info("Started rank cycle %d (%d units)", number, self.units)
            return _SharedTurn(self, number, self.units)
        started = await repo.latest()  # another instance started it a moment ago: join
        if started is None:
            return _SharedTurn(self, None, self.units)
        return _SharedTurn(self, started.number, started.units)

    async def _claimable(self, cycle: int, now: datetime) -> bool:
        return any(
            unit.done_at is None and (unit.lease_until is None or unit.lease_until < now)
            for unit in await self.db.cycle_leases.units(cycle)
        )


def cycle_leases_for(db: Database, interval_seconds: float) -> CycleLeases:
    """:class:`SharedCycle` on PostgreSQL (instances may share it), else
    :class:`WholeCycle` (a SQLite file has one bot process)."""
    if db.dialect == "postgres":
        return SharedCycle(db, interval=timedelta(seconds=interval_seconds))
    return WholeCycle()
