"""The rank-announcement scheduler: a ``tasks.loop`` every ``RANK_POLL_SECONDS``.

On start (once the bot is ready) the outbox is posted first: announcements a
previous run queued but did not post. The first poll runs one interval after the
start, then every interval. A failing cycle is logged and the loop goes on.
"""

from __future__ import annotations

import asyncio
import logging

from discord.ext import commands, tasks

from bot.common.text import plural
from bot.core.bot import HaloBot
from bot.features.announcements.cycle import CycleReport, FlushReport, RankWatcher
from bot.features.announcements.delivery import DiscordPoster
from bot.features.announcements.leases import cycle_leases_for
from bot.features.announcements.roles import DiscordRoles, RoleSync, RoleSyncReport

log = logging.getLogger(__name__)


class RankAnnouncements(commands.Cog):
    """Polls tracked members' CSR and posts rank changes to each server's channel."""

    def __init__(self, bot: HaloBot) -> None:
        self.bot = bot
        self.poster = DiscordPoster(bot)
        self.roles = RoleSync(bot.db, DiscordRoles(bot))
        settings = bot.settings
        self.watcher = RankWatcher(
            bot.db,
            bot.halo,
            poster=self.poster,
            is_guild_active=self.poster.is_guild_active,
            leases=cycle_leases_for(bot.db, settings.rank_poll_seconds),
            shards=(
                (settings.shard_count, settings.process_shard_ids)
                if settings.shard_count > 1
                else None
            ),
        )
        self._role_tasks: set[asyncio.Task[RoleSyncReport]] = set()
        #: The role sync after the last cycle, and whether another cycle ended meanwhile.
        self._cycle_roles: asyncio.Task[RoleSyncReport] | None = None
        self._roles_again = False
        self.started = asyncio.Event()
        self.last_report: CycleReport | None = None
        self.startup_flush: FlushReport | None = None
        self.poll.change_interval(seconds=bot.settings.rank_poll_seconds)

    async def cog_load(self) -> None:
        self.poll.start()
        log.info("Rank announcements every %d s", self.bot.settings.rank_poll_seconds)

    async def cog_unload(self) -> None:
        self.poll.cancel()
        for task in list(self._role_tasks):
            task.cancel()

    def sync_roles_soon(
        self, guild_id: int, *, reapply: bool = False
    ) -> asyncio.Task[RoleSyncReport]:
        """Bring the server's rank roles in step now, in the background (after a
        ``/config`` change), from the stored snapshots: no Halo request."""
        return self._track(
            asyncio.create_task(
                self.roles.sync([guild_id], reapply=reapply), name=f"rank-roles-{guild_id}"
            )
        )

    def sync_roles_after_cycle(self) -> asyncio.Task[RoleSyncReport]:
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
        self._role_tasks.add(task)
        task.add_done_callback(self._role_task_done)
        return task

    def _role_task_done(self, task: asyncio.Task[RoleSyncReport]) -> None:
        self._role_tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("Syncing rank roles failed", exc_info=task.exception())

    @tasks.loop(seconds=300)
    async def poll(self) -> None:
        if self.poll.current_loop == 0:
            return  # the first cycle runs one interval after the start
        try:
            await self.run_once(wait_for_roles=False)
        except Exception:
            # One bad cycle (database, bug) must never end the loop.
            log.exception("Rank announcement cycle failed")

    @poll.before_loop
    async def _before_poll(self) -> None:
        await self.bot.wait_until_ready()
        try:
            self.startup_flush = await self.watcher.flush_outbox()
            if self.startup_flush.messages:
                log.info(
                    "Posted %d announcements left from the previous run", self.startup_flush.sent
                )
        except Exception:
            log.exception("Posting the announcements left from the previous run failed")
        finally:
            self.started.set()

    async def wait_started(self, timeout: float = 15.0) -> None:  # noqa: ASYNC109
        """Wait until the outbox left from a previous run has been posted."""
        await asyncio.wait_for(self.started.wait(), timeout)

    async def run_once(self, *, wait_for_roles: bool = True) -> CycleReport:
        """Run one cycle now (fetch, store, queue, post), then bring rank roles in step
        (waited for only with ``wait_for_roles``); return the cycle's report."""
        report = await self.watcher.run_cycle()
        self.last_report = report
        roles = self.sync_roles_after_cycle()
        if wait_for_roles:
            report.roles = await asyncio.shield(roles)
        interval = self.bot.settings.rank_poll_seconds
        if report.duration > interval:
            log.warning(
                "The rank check of %s took %.0f s, longer than RANK_POLL_SECONDS "
                "(%d s), so checks run back to back: raise RANK_POLL_SECONDS, or "
                "HALO_REQUESTS_PER_SECOND if Halo allows it",
                plural(report.players, "player"),
                report.duration,
                interval,
            )
        return report


async def setup(bot: HaloBot) -> None:
    await bot.add_cog(RankAnnouncements(bot))
