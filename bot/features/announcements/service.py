"""Rank roles kept in step in the background, shared by the rank cycle and ``/config``.

One :class:`RankRoleService` per bot: the rank-announcement cog runs it after every
cycle, and ``/config`` (a rank-role mapping changed, a member untracked, verification
required or not) and ``/unlink`` ask it to bring one server in step at once. Both get
the same object from :func:`rank_role_service` when their extension is set up, so
neither reaches into the other's cog.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Iterable
from typing import TYPE_CHECKING

from bot.features.announcements.roles import DiscordRoles, RoleEditor, RoleSync, RoleSyncReport

if TYPE_CHECKING:
    from bot.core.bot import HaloBot
    from bot.storage import Database

log = logging.getLogger(__name__)


class RankRoleService:
    """Runs :class:`RoleSync` in the background: one server at a time on request, and
    every server after each rank cycle (at most one sync queued behind a running one)."""

    def __init__(self, db: Database, editor: RoleEditor) -> None:
        self.roles = RoleSync(db, editor)
        self._tasks: set[asyncio.Task[RoleSyncReport]] = set()
        #: The role sync after the last cycle, and whether another cycle ended meanwhile.
        self._cycle_roles: asyncio.Task[RoleSyncReport] | None = None
        self._roles_again = False

    def sync_soon(
        self, guild_ids: int | Iterable[int], *, reapply: bool = False
    ) -> asyncio.Task[RoleSyncReport]:
        """Bring these servers' rank roles in step now, in the background, from the
        stored snapshots: no Halo request."""
        wanted = [guild_ids] if isinstance(guild_ids, int) else sorted(set(guild_ids))
        name = "rank-roles-" + "-".join(str(g) for g in wanted[:3])
        return self._track(asyncio.create_task(self.roles.sync(wanted, reapply=reapply), name=name))

    def sync_after_cycle(self) -> asyncio.Task[RoleSyncReport]:
        """Bring every server's rank roles in step with the snapshots a cycle stored, in
        the background: giving many roles goes at Discord's pace, and must not hold up
        the next cycle's checks and announcements. A cycle that ends while the previous
        sync still runs gets one more sync after it, not one each."""
        if self._cycle_roles is not None and not self._cycle_roles.done():
            self._roles_again = True
            return self._cycle_roles

        async def run() -> RoleSyncReport:
            while True:
                self._roles_again = False
                report = await self.roles.sync()
                if not self._roles_again:
                    return report

        self._cycle_roles = self._track(asyncio.create_task(run(), name="rank-roles"))
        return self._cycle_roles

    def _track(self, task: asyncio.Task[RoleSyncReport]) -> asyncio.Task[RoleSyncReport]:
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[RoleSyncReport]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("Syncing rank roles failed", exc_info=task.exception())

    def cancel(self) -> None:
        """Stop every sync in flight (the bot is stopping)."""
        for task in list(self._tasks):
            task.cancel()


_SHARED: weakref.WeakKeyDictionary[HaloBot, RankRoleService] = weakref.WeakKeyDictionary()


def rank_role_service(bot: HaloBot) -> RankRoleService:
    """The one :class:`RankRoleService` of ``bot``: made by whichever extension's setup
    asks first, and handed to every other that needs it."""
    service = _SHARED.get(bot)
    if service is None:
        service = _SHARED[bot] = RankRoleService(bot.db, DiscordRoles(bot))
    return service
