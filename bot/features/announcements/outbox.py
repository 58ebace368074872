"""The outbox of rank announcements: posting what the cycles queued.

Pending rows are grouped per server and cycle into as few messages as Discord allows,
each sent with a nonce made of its keys (:func:`~bot.features.announcements.delivery.nonce_for`),
and its rows are marked sent in one transaction right after. If that write fails
(database or disk full), the delivered keys stay in memory and are never posted again;
every flush tries the write again, and the failure is logged once per episode. With
shards, only the rows of servers this process's shards hold are posted here.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot.common.metrics import ANNOUNCEMENTS_POSTED
from bot.features.announcements.changes import Announcement
from bot.features.announcements.delivery import DeliveryError, Poster, nonce_for
from bot.features.announcements.embeds import announcement_embed, pack_sizes
from bot.storage.models import GuildSettings, PendingAnnouncement

if TYPE_CHECKING:
    from bot.storage import Database

log = logging.getLogger(__name__)

FLUSH_BATCH = 10_000  # a whole backlog at once, so each cycle's messages group the same way


@dataclass
class FlushReport:
    """What one :meth:`RankWatcher.flush_outbox` did."""

    messages: int = 0  # Discord messages posted
    sent: int = 0  # announcements in them
    failed: int = 0  # announcements given up (channel problem, too old, unreadable)
    deferred: int = 0  # left pending for a later try (Discord or network trouble)
    problems: dict[int, str] = field(default_factory=dict)  # guild -> recorded problem
    unrecorded: int = 0  # posted, but not yet recorded as sent (kept in memory)
    record_error: str | None = None  # why recording them failed


class Outbox:
    """Posts pending announcements through ``poster`` (None: nothing is posted)."""

    def __init__(
        self,
        db: Database,
        poster: Poster | None,
        *,
        clock: Callable[[], datetime],
        pending_max_age: timedelta,
        shards: tuple[int, Sequence[int]] | None = None,
    ) -> None:
        self.db = db
        self.poster = poster
        self.clock = clock
        self.pending_max_age = pending_max_age
        #: ``(SHARD_COUNT, this process's shards)``: post only those servers' rows.
        self.shards = shards
        self._flush_lock = asyncio.Lock()
        #: Keys Discord accepted whose ``mark_sent`` has not committed yet (database or
        #: disk full): never posted again, written again at every flush until it works.
        self._delivered: dict[str, int] = {}
        self._record_failing = False

    async def flush(self) -> FlushReport:
        """Post every pending announcement, grouped per server and cycle into as few
        messages as Discord allows; mark each message's rows sent in one transaction."""
        report = FlushReport()
        if self.poster is None:
            return report
        async with self._flush_lock:
            await self._record_delivered(report)
            attempted: set[str] = set()
            while True:
                rows = [
                    r
                    for r in await self.db.announcements.pending(FLUSH_BATCH, shards=self.shards)
                    if r.key not in attempted and r.key not in self._delivered
                ]
                if not rows:
                    break
                attempted.update(r.key for r in rows)
                await self._flush_rows(rows, report)
        return report

    async def _flush_rows(self, rows: list[PendingAnnouncement], report: FlushReport) -> None:
        assert self.poster is not None
        now = self.clock()
        groups: dict[tuple[int, str], list[PendingAnnouncement]] = defaultdict(list)
        for row in rows:
            if now - row.created_at > self.pending_max_age:
                await self._give_up([row.key], "not delivered within 24 hours", report)
                continue
            groups[(row.guild_id, str(row.payload.get("batch", "")))].append(row)
        settings_cache: dict[int, GuildSettings] = {}
        broken: dict[int, str] = {}
        delivered: set[int] = set()
        for (guild_id, _batch), items in groups.items():
            if guild_id not in settings_cache:
                settings_cache[guild_id] = await self.db.guilds.get(guild_id)
            settings = settings_cache[guild_id]
            channel_id = settings.announce_channel_id
            if channel_id is None:
                await self._give_up([r.key for r in items], "announcements were turned off", report)
                continue
            entries: list[tuple[str, Announcement]] = []
            for row in sorted(items, key=lambda r: r.key):
                try:
                    entries.append((row.key, Announcement.from_payload(row.payload)))
                except (KeyError, TypeError, ValueError) as exc:
                    await self._give_up([row.key], f"unreadable payload: {exc}", report)
            embeds = [announcement_embed(a) for _, a in entries]
            deferred = False
            for group in pack_sizes([len(e) for e in embeds]):
                keys = [entries[i][0] for i in group]
                if deferred:
                    report.deferred += len(keys)
                    continue
                if guild_id in broken:
                    await self._give_up(keys, broken[guild_id], report)
                    continue
                try:
                    message_id = await self.poster.post(
                        guild_id, channel_id, [embeds[i] for i in group], nonce_for(keys)
                    )
                except DeliveryError as exc:
                    if exc.transient:
                        log.warning("Posting to guild %s deferred: %s", guild_id, exc.problem)
                        report.deferred += len(keys)
                        deferred = True
                        continue
                    await self._give_up(keys, exc.problem, report)
                    if exc.channel_problem:
                        broken[guild_id] = exc.problem
                        report.problems[guild_id] = exc.problem
                        log.warning("Guild %s announce channel: %s", guild_id, exc.problem)
                        await self.db.guilds.set_channel_problem(guild_id, exc.problem)
                    continue
                self._delivered.update(dict.fromkeys(keys, message_id))
                await self._record_delivered(report)
                report.messages += 1
                report.sent += len(keys)
                ANNOUNCEMENTS_POSTED.inc(len(keys))
                delivered.add(guild_id)
        for guild_id in delivered - set(broken):
            if settings_cache[guild_id].channel_problem is not None:
                await self.db.guilds.set_channel_problem(guild_id, None)

    async def _record_delivered(self, report: FlushReport) -> None:
        """Mark every delivered key sent, in one transaction. A failure (database or disk
        full) keeps them in memory, so they are never posted again, and is logged once
        per episode; the next flush tries again."""
        if not self._delivered:
            return
        delivered = dict(self._delivered)
        try:
            async with self.db.transaction() as tx:
                for key, message_id in delivered.items():
                    await self.db.announcements.mark_sent(key, message_id, tx=tx)
        except Exception as exc:
            report.unrecorded = len(delivered)
            report.record_error = f"{exc.__class__.__name__}: {exc}"
            if not self._record_failing:
                self._record_failing = True
                log.error(
                    "Could not record %d posted announcement(s) as sent (%s: %s); keeping "
                    "them in memory so they are not posted again (is the disk full?). "
                    "Retrying at every rank check; a restart before it works posts them again",
                    len(delivered),
                    exc.__class__.__name__,
                    exc,
                )
            return
        for key in delivered:
            self._delivered.pop(key, None)
        report.unrecorded, report.record_error = 0, None
        if self._record_failing:
            self._record_failing = False
            log.warning("Recorded %d posted announcement(s) as sent again", len(delivered))

    async def _give_up(self, keys: list[str], reason: str, report: FlushReport) -> None:
        for key in keys:
            if await self.db.announcements.mark_failed(key, reason):
                report.failed += 1
