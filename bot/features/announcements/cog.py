"""The rank-announcement scheduler: a ``tasks.loop`` every ``RANK_POLL_SECONDS``.

On start (once the bot is ready) the outbox is posted first: announcements a
previous run queued but did not post. The first poll runs one interval after the
start, then every interval. A failing cycle never ends the loop; cycles that keep
failing are logged once, then hourly, then once when they recover
(:mod:`bot.features.announcements.failures`).
"""

from __future__ import annotations

import asyncio
import logging

from discord.ext import commands, tasks

from bot.common.text import plural
from bot.core.bot import HaloBot
from bot.features.announcements.cycle import CycleReport, FlushReport, RankWatcher
from bot.features.announcements.delivery import DiscordPoster
from bot.features.announcements.failures import CycleFailures
from bot.features.announcements.leases import cycle_leases_for
from bot.features.announcements.roles import RoleSync
from bot.features.announcements.service import RankRoleService, rank_role_service

log = logging.getLogger(__name__)


class RankAnnouncements(commands.Cog):
    """Polls tracked members' CSR and posts rank changes to each server's channel."""

    def __init__(self, bot: HaloBot, watcher: RankWatcher, rank_roles: RankRoleService) -> None:
        self.bot = bot
        self.watcher = watcher
        self.rank_roles = rank_roles
        self.started = asyncio.Event()
        self.last_report: CycleReport | None = None
        self.startup_flush: FlushReport | None = None
        self.failures = CycleFailures(logger=log)
        self.poll.change_interval(seconds=bot.settings.rank_poll_seconds)

    @property
    def roles(self) -> RoleSync:
        return self.rank_roles.roles

    async def cog_load(self) -> None:
        self.poll.start()
        log.info("Rank announcements every %d s", self.bot.settings.rank_poll_seconds)

    async def cog_unload(self) -> None:
        self.poll.cancel()
        self.rank_roles.cancel()

    @tasks.loop(seconds=300)
    async def poll(self) -> None:
        if self.poll.current_loop == 0:
            return  # the first cycle runs one interval after the start
        try:
            await self.run_once(wait_for_roles=False)
        except Exception as exc:
            # One bad cycle (database, bug) must never end the loop.
            self.failures.failed(exc)
        else:
            self.failures.succeeded()

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
        roles = self.rank_roles.sync_after_cycle()
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
    poster = DiscordPoster(bot)
    settings = bot.settings
    watcher = RankWatcher(
        bot.db,
        bot.halo,
        poster=poster,
        is_guild_active=poster.is_guild_active,
        leases=cycle_leases_for(bot.db, settings.rank_poll_seconds),
        shards=(
            (settings.shard_count, settings.process_shard_ids) if settings.shard_count > 1 else None
        ),
    )
    await bot.add_cog(RankAnnouncements(bot, watcher, rank_role_service(bot)))
