"""The work of leaving a server: record the departure, notice a return, delete a server's
data once the grace period is over (see :mod:`bot.features.departures.cog`)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot.storage.models import utc_now

if TYPE_CHECKING:
    from bot.storage import Database

log = logging.getLogger(__name__)


class DeparturesService:
    """Keeps the stored data in step with the servers the bot is in."""

    def __init__(
        self, db: Database, grace: timedelta, *, clock: Callable[[], datetime] = utc_now
    ) -> None:
        self.db = db
        self.grace = grace
        self.clock = clock

    async def left(self, guild_id: int) -> None:
        """The bot was removed from the server: stop polling its members; with no grace
        period, delete its data now."""
        if await self.db.departures.mark_left(guild_id, self.clock()):
            log.info(
                "Removed from server %s: its members are no longer polled; its data is "
                "deleted in %s unless I am invited back",
                guild_id,
                self.grace,
            )
        if not self.grace:
            await self.purge()

    async def returned(self, guild_id: int) -> None:
        if await self.db.departures.returned(guild_id):
            log.info("Back in server %s: its settings and tracked members are kept", guild_id)

    async def returned_while_offline(self, present: Iterable[int]) -> None:
        """Servers recorded as left that the bot is in again (invited back while offline)."""
        here = set(present)
        for guild_id in await self.db.departures.ids():
            if guild_id in here:
                await self.returned(guild_id)

    async def purge(self) -> list[int]:
        """Delete the data of every server left more than the grace period ago."""
        return await self.db.departures.purge(self.clock() - self.grace)
