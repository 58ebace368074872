"""One polling cycle of rank announcements, and the outbox that delivers them.

A cycle:

1. reads every tracked membership and the servers that have an announce channel;
2. takes the CSR season from Halo's CSR season calendar (last known one if that fails);
3. takes this instance's part of the cycle (:mod:`bot.features.announcements.leases`:
   all of it in one process; leased work units when instances share PostgreSQL);
   for each unit, fetches CSR for the *unique* tracked XUIDs, per playlist, in batches (a player
   tracked by ten servers is fetched once), always fresh (never cached); a failed
   batch only loses its players for this cycle, and a player without an answer is
   skipped, never read as a change;
4. compares every answer with the player's last snapshot
   (:mod:`bot.features.announcements.changes`);
5. in **one transaction** stores the new snapshots (unchanged ones are skipped) and
   queues one outbox row per server and announcement, under an idempotency key made of
   the change itself (:meth:`~bot.features.announcements.changes.Announcement.key`),
   so instances or restarts that see the same change queue it once;
6. posts the outbox (:mod:`bot.features.announcements.outbox`): with shards, only the rows
   of servers this process's shards hold (the others are posted by their instance).

Rank roles (:mod:`bot.features.announcements.roles`) are brought in step with the snapshots a cycle
stored by whoever runs the cycles (the scheduler cog), after it and in the background.

Steps 3-5 run for :data:`PLAYERS_PER_STEP` players of one playlist at a time, so the
memory a cycle needs does not grow with the number of tracked players.

Crash safety: the snapshot and its outbox rows commit together, so a crash before the
commit loses nothing (the next cycle sees the same change against the old snapshot)
and a crash after it leaves pending rows that the next start posts. Every message is
sent with a nonce derived from its outbox keys and ``enforce_nonce`` (discord.py sets
it with any nonce), and its rows are marked sent in one transaction right after.
If that write fails (database or disk full), the delivered keys stay in memory and are
never posted again; every flush tries the write again, and the failure is logged once
per episode. Remaining window: if the process dies after Discord accepted a message but
before ``mark_sent`` committed, the restart sends it again with the same nonce; Discord
only deduplicates nonces for a few minutes, so a restart later than that posts it twice.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot.common.metrics import observe_cycle
from bot.common.seq import chunks
from bot.features.announcements.changes import (
    Announcement,
    RankChange,
    classify,
    detect_changes,
    enabled_playlists,
    select_for_guild,
    snapshot_from_result,
)
from bot.features.announcements.delivery import REMOVED_FROM_GUILD, Poster
from bot.features.announcements.leases import CycleLeases, WholeCycle
from bot.features.announcements.outbox import FlushReport, Outbox
from bot.features.announcements.roles import RoleSyncReport
from bot.features.announcements.schedule import PollPolicy, never_played, rank_moved
from bot.features.stats.standings import observe_fetched_ranks
from bot.halo.playlists import RANKED_PLAYLISTS
from bot.halo.ratelimit import Priority
from bot.storage.models import GuildSettings, Snapshot, utc_now
from bot.storage.schedule import PollSlot

if TYPE_CHECKING:
    from bot.halo.client import HaloClient
    from bot.halo.models import CsrResult
    from bot.storage import Database

log = logging.getLogger(__name__)

#: Concurrent CSR requests of one cycle. Requests share the global Halo rate limit with
#: commands (a FIFO queue), so this also bounds how long a command waits behind a cycle.
FETCH_CONCURRENCY = 2
#: Players fetched, compared and stored together (a multiple of the CSR batch size):
#: bounds a cycle's memory whatever the number of tracked players.
PLAYERS_PER_STEP = 1000
PENDING_MAX_AGE = timedelta(hours=24)
OUTBOX_RETENTION = timedelta(days=30)
MAINTENANCE_EVERY = timedelta(hours=6)
#: How long the set of tracked players read for lookups is trusted (a player tracked
#: since is recorded by lookups after this long, and by every cycle).
TRACKED_TTL = 60.0


@dataclass
class CycleReport:
    """What one :meth:`RankWatcher.run_cycle` did; ``errors`` never stop a cycle."""

    started_at: datetime
    season: str | None = None
    memberships: int = 0
    players: int = 0
    playlists: int = 0
    checked: int = 0  # (player, playlist) pairs due and asked for this cycle
    not_due: int = 0  # pairs left for a later cycle (adaptive polling)
    csr_requests: int = 0  # get_csr batches asked for
    upstream_requests: int = 0  # HTTP requests sent to Halo (retries and calendar included)
    results: int = 0  # (player, playlist) answers received
    missing: int = 0  # (player, playlist) pairs without an answer (failed or empty)
    failed_batches: int = 0
    baselines: int = 0  # first sight, new season, ranked -> unranked: stored, not announced
    changes: int = 0  # guild-independent changes detected
    snapshots_written: int = 0
    queued: int = 0  # outbox rows added
    skipped: bool = False  # nothing fetched (no tracked member, or no season known)
    cycle: int | None = None  # the shared cycle this instance took part in (None: alone)
    units: int = 0  # work units of it this instance checked
    errors: list[str] = field(default_factory=list)
    flush: FlushReport | None = None
    roles: RoleSyncReport | None = None  # the role sync after the cycle, when awaited
    fetch_seconds: float = 0.0  # waiting for Halo (rate limit included)
    store_seconds: float = 0.0  # comparing and writing the transaction
    duration: float = 0.0


@dataclass(frozen=True)
class _Target:
    guild_id: int
    channel_id: int
    settings: GuildSettings


class RankWatcher:
    """Runs cycles and flushes the outbox. Usable without Discord (``poster=None``)."""

    def __init__(
        self,
        db: Database,
        halo: HaloClient,
        *,
        poster: Poster | None = None,
        is_guild_active: Callable[[int], bool] | None = None,
        fetch_concurrency: int = FETCH_CONCURRENCY,
        players_per_step: int = PLAYERS_PER_STEP,
        clock: Callable[[], datetime] = utc_now,
        pending_max_age: timedelta = PENDING_MAX_AGE,
        outbox_retention: timedelta = OUTBOX_RETENTION,
        leases: CycleLeases | None = None,
        shards: tuple[int, Sequence[int]] | None = None,
        policy: PollPolicy | None = None,
        observe_lookups: bool = True,
    ) -> None:
        self.db = db
        self.halo = halo
        self.poster = poster
        self.is_guild_active = is_guild_active
        self.fetch_concurrency = max(1, fetch_concurrency)
        self.players_per_step = max(1, players_per_step)
        self.clock = clock
        self.pending_max_age = pending_max_age
        self.outbox_retention = outbox_retention
        #: Which part of each cycle this instance does (all of it by default).
        self.leases: CycleLeases = leases if leases is not None else WholeCycle()
        #: ``(SHARD_COUNT, this process's shards)``: post only those servers' outbox rows.
        self.shards = shards
        self.policy = policy if policy is not None else PollPolicy()
        self.season: str | None = None
        self._season_known = False
        self._cycle_lock = asyncio.Lock()
        self._last_maintenance: datetime | None = None
        #: Posts what the cycles queued (and what earlier runs left pending).
        self.outbox = Outbox(
            db, poster, clock=clock, pending_max_age=pending_max_age, shards=shards
        )
        #: Start of the previous cycle: half the time since is the slack for "due now".
        self._last_cycle_at: datetime | None = None
        #: Comparing with the last snapshot and writing the new one happen under this
        #: lock, so a lookup's ranks and a cycle's never cross.
        self._store_lock = asyncio.Lock()
        self._lookup_tasks: set[asyncio.Task[None]] = set()
        #: The tracked players, as last read (by a cycle, or by a lookup once this is
        #: older than TRACKED_TTL): lookups of anyone else cost no database query.
        self._tracked: frozenset[str] = frozenset()
        self._tracked_at: float | None = None
        if observe_lookups:
            observe_fetched_ranks(halo, self.record_lookup)

    # ------------------------------------------------------------------ cycle

    async def run_cycle(self, *, flush: bool = True) -> CycleReport:
        """One cycle (see the module docstring). ``flush=False`` leaves the queued posts
        pending, as if the process stopped right after the commit."""
        async with self._cycle_lock:
            started = time.perf_counter()
            report = CycleReport(started_at=self.clock())
            sent_before = sum(self.halo.http.requests_sent.values())
            failure: Exception | None = None
            try:
                await self._cycle(report)
            except Exception as exc:
                # The outbox is still posted first: a failing database (full disk) must not
                # keep already queued announcements back. The failure is raised after that,
                # for the scheduler to log (once, then hourly: see failures.py).
                failure = exc
                report.errors.append(f"cycle: {exc.__class__.__name__}: {exc}")
            finally:
                report.upstream_requests = sum(self.halo.http.requests_sent.values()) - sent_before
        if flush and self.poster is not None:
            try:
                report.flush = await self.flush_outbox()
                if report.flush.record_error is not None:
                    report.errors.append(f"flush: {report.flush.record_error}")
            except Exception as exc:
                log.exception("Posting rank announcements failed")
                report.errors.append(f"flush: {exc.__class__.__name__}: {exc}")
        await self._maintenance(report)
        report.duration = time.perf_counter() - started
        observe_cycle(report.duration, report.players)
        log.info(
            "Rank cycle: %d players, %d CSR requests, %d changes, %d queued, %d errors in %.2fs",
            report.players,
            report.csr_requests,
            report.changes,
            report.queued,
            len(report.errors),
            report.duration,
        )
        if failure is not None:
            raise failure
        return report

    async def _cycle(self, report: CycleReport) -> None:
        taken_at = report.started_at
        memberships = await self.db.tracked.memberships()
        report.memberships = len(memberships)
        if not memberships:
            report.skipped = True
            return
        season_ok = await self._refresh_season(report)
        if not season_ok:
            report.skipped = True
            return
        season = self.season
        report.season = season

        by_xuid: dict[str, dict[int, list[int]]] = defaultdict(lambda: defaultdict(list))
        gamertags: dict[str, str] = {}
        for member in memberships:
            by_xuid[member.xuid][member.guild_id].append(member.user_id)
            gamertags.setdefault(member.xuid, member.gamertag)
        xuids = sorted(by_xuid)
        self._tracked, self._tracked_at = frozenset(xuids), time.monotonic()

        targets = await self._targets(report)
        playlists = list(RANKED_PLAYLISTS)
        for target in targets.values():
            for playlist in enabled_playlists(target.settings):
                if playlist not in playlists:
                    playlists.append(playlist)
        report.playlists = len(playlists)

        # Adaptive polling inside this instance's work units: of each unit's players, only
        # the ones due in each playlist. A check that falls due before the middle of the
        # next gap between cycles is done now.
        previous_cycle, self._last_cycle_at = self._last_cycle_at, taken_at
        slack = (taken_at - previous_cycle) / 2 if previous_cycle is not None else timedelta(0)
        due_by = taken_at + max(slack, timedelta(0))
        turn = await self.leases.begin()
        report.cycle = turn.cycle
        while (unit := await turn.next_unit()) is not None:
            report.units += 1
            players = unit.players(xuids)
            report.players += len(players)
            # A slice of players of one playlist at a time: fetch, compare, store. Memory
            # stays at one slice's answers however many players are tracked.
            for playlist in playlists:
                due = await self._due(playlist, players, due_by, whole=unit.units == 1)
                report.checked += len(due)
                report.not_due += len(players) - len(due)
                # Whole CSR batches per step (the batch size may shrink during the run).
                batch = max(1, self.halo.csr_batch_size)
                step = max(batch, self.players_per_step // batch * batch)
                for group in chunks(due, step):
                    fetch_started = time.perf_counter()
                    answers = await self._fetch(playlist, group, report)
                    store_started = time.perf_counter()
                    report.fetch_seconds += store_started - fetch_started
                    await self._store_playlist(
                        playlist, answers, season, taken_at, by_xuid, gamertags, targets, report
                    )
                    report.store_seconds += time.perf_counter() - store_started
                    await turn.renew(unit)
            await turn.done(unit)
        if not report.units:
            report.skipped = True  # another instance checked everybody a moment ago

    async def _due(
        self, playlist: str, xuids: list[str], horizon: datetime, *, whole: bool
    ) -> list[str]:
        """The players whose next check in ``playlist`` is at or before ``horizon``
        (``whole``: ``xuids`` is every tracked player, one read of the playlist's schedule;
        else only their rows are read)."""
        if not self.policy.adaptive:
            return xuids
        later = await self.db.schedule.not_due(playlist, horizon, None if whole else xuids)
        return [x for x in xuids if x not in later] if later else xuids

    async def _store_playlist(
        self,
        playlist: str,
        answers: dict[str, CsrResult | None],
        season: str | None,
        taken_at: datetime,
        by_xuid: dict[str, dict[int, list[int]]],
        gamertags: dict[str, str],
        targets: dict[int, _Target],
        report: CycleReport,
        *,
        lookup: bool = False,
    ) -> None:
        """Compare one playlist's answers with the last snapshots; write the new snapshots,
        the announcements they cause and the players' next checks in one transaction."""
        if not answers:
            return
        async with self._store_lock:
            snapshots: list[Snapshot] = []
            queued: list[tuple[str, int, int, dict[str, object]]] = []
            slots: list[PollSlot] = []
            previous = await self.db.snapshots.latest_many(answers, playlist)
            answered = [x for x, r in answers.items() if r is not None]
            schedule = (
                await self.db.schedule.slots(playlist, answered)
                if self.policy.adaptive and answered
                else {}
            )
            for xuid, result in answers.items():
                if result is None:
                    report.missing += 1
                    continue
                report.results += 1
                current = snapshot_from_result(xuid, playlist, season, result, taken_at)
                before = previous.get(xuid)
                if before is not None and before.taken_at > taken_at:
                    continue  # a lookup stored a newer answer meanwhile: this one is stale
                if self.policy.adaptive:
                    if lookup and not never_played(result):
                        slots.append(self.policy.after_lookup(xuid, playlist, taken_at))
                    else:
                        slots.append(
                            self.policy.after_check(
                                xuid,
                                playlist,
                                taken_at,
                                schedule.get(xuid),
                                active=rank_moved(before, current),
                                unplayed=never_played(result),
                            )
                        )
                if before is None or not before.same_rank(current):
                    snapshots.append(current)
                verdict = classify(before, current)
                if verdict in ("baseline", "new_season") or (
                    verdict == "unranked" and before is not None and before.value >= 0
                ):
                    report.baselines += 1
                changes = detect_changes(before, current)
                if not changes:
                    continue
                report.changes += len(changes)
                queued.extend(
                    self._queue_for_guilds(
                        changes, by_xuid[xuid], targets, gamertags[xuid], taken_at
                    )
                )
            if snapshots or queued or slots:
                async with self.db.transaction() as tx:
                    await self.db.schedule.put(slots, tx=tx)
                    for snapshot in snapshots:
                        if await self.db.snapshots.record(snapshot, tx=tx, skip_unchanged=True):
                            report.snapshots_written += 1
                    for key, guild_id, channel_id, payload in queued:
                        if await self.db.announcements.add_pending(
                            key, guild_id, channel_id, payload, tx=tx
                        ):
                            report.queued += 1

        # ------------------------------------------------------------------ lookups

    def record_lookup(self, xuid: str, results: dict[str, CsrResult | None]) -> None:
        """A command fetched this player's current ranks (``/csr``): store them like a
        cycle would (snapshots, announcements) and check the player every cycle again.
        Runs in the background; only tracked players are recorded."""
        fresh = self._tracked_at is not None and time.monotonic() - self._tracked_at < TRACKED_TTL
        if fresh and xuid not in self._tracked:
            return  # not tracked (as of a moment ago): nothing to store
        task = asyncio.create_task(self._record_lookup(xuid, results), name=f"lookup-{xuid}")
        self._lookup_tasks.add(task)
        task.add_done_callback(self._lookup_done)

    def _lookup_done(self, task: asyncio.Task[None]) -> None:
        self._lookup_tasks.discard(task)
        if not task.cancelled() and task.exception() is not None and not self.db.closed:
            log.warning("Storing the ranks of a lookup failed", exc_info=task.exception())

    async def wait_lookups(self) -> None:
        """Wait until every lookup handed over so far is stored."""
        while self._lookup_tasks:
            await asyncio.gather(*self._lookup_tasks, return_exceptions=True)

    async def _record_lookup(self, xuid: str, results: dict[str, CsrResult | None]) -> None:
        if self._tracked_at is None or time.monotonic() - self._tracked_at >= TRACKED_TTL:
            self._tracked_at = time.monotonic()
            self._tracked = frozenset(await self.db.tracked.unique_xuids())
        memberships = await self.db.tracked.memberships_of(xuid)
        if not memberships:
            return
        report = CycleReport(started_at=self.clock())
        if not self._season_known and not await self._refresh_season(report):
            return
        by_xuid: dict[str, dict[int, list[int]]] = {xuid: defaultdict(list)}
        for member in memberships:
            by_xuid[xuid][member.guild_id].append(member.user_id)
        gamertags = {xuid: memberships[0].gamertag}
        targets = await self._targets(report)
        for playlist, result in results.items():
            await self._store_playlist(
                playlist,
                {xuid: result},
                self.season,
                report.started_at,
                by_xuid,
                gamertags,
                targets,
                report,
                lookup=True,
            )
        if report.queued and self.poster is not None:
            await self.flush_outbox()

    def _queue_for_guilds(
        self,
        changes: list[RankChange],
        guild_users: dict[int, list[int]],
        targets: dict[int, _Target],
        gamertag: str,
        taken_at: datetime,
    ) -> list[tuple[str, int, int, dict[str, object]]]:
        out: list[tuple[str, int, int, dict[str, object]]] = []
        for guild_id, user_ids in sorted(guild_users.items()):
            target = targets.get(guild_id)
            if target is None:
                continue
            chosen = select_for_guild(changes, target.settings)
            if not chosen:
                continue
            announcement = Announcement.from_changes(
                chosen, gamertag=gamertag, user_ids=tuple(user_ids), taken_at=taken_at
            )
            out.append(
                (
                    announcement.key(guild_id),
                    guild_id,
                    target.channel_id,
                    announcement.to_payload(),
                )
            )
        return out

    async def _targets(self, report: CycleReport) -> dict[int, _Target]:
        """Guilds with an announce channel that the bot is still in."""
        targets: dict[int, _Target] = {}
        for settings in await self.db.guilds.all_with_channel():
            channel_id = settings.announce_channel_id
            if channel_id is None:
                continue
            if self.is_guild_active is not None and not self.is_guild_active(settings.guild_id):
                if settings.channel_problem != REMOVED_FROM_GUILD:
                    log.warning("Not in guild %s any more: skipping it", settings.guild_id)
                    await self.db.guilds.set_channel_problem(settings.guild_id, REMOVED_FROM_GUILD)
                continue
            targets[settings.guild_id] = _Target(settings.guild_id, channel_id, settings)
        return targets

    async def _refresh_season(self, report: CycleReport) -> bool:
        """Update :attr:`season` from the CSR calendar; False when no season is known."""
        try:
            calendar = await self.halo.get_csr_season_calendar()
        except Exception as exc:
            report.errors.append(f"CSR season calendar: {exc.__class__.__name__}")
            if self._season_known:
                log.warning("CSR season calendar unavailable; keeping season %s", self.season)
                return True
            log.warning("CSR season calendar unavailable and no season known: cycle skipped")
            return False
        current = calendar.current(self.clock())
        season = current.season_id if current is not None else None
        if self._season_known and season != self.season:
            log.info("CSR season changed from %s to %s: re-baselining", self.season, season)
        self.season = season or None
        self._season_known = True
        return True

    async def _fetch(
        self, playlist: str, xuids: Sequence[str], report: CycleReport
    ) -> dict[str, CsrResult | None]:
        """CSR of every player in one playlist, batch by batch; failed batches left out.
        Always fresh: neither a lookup cached by a command nor the last cycle's answer."""
        size = max(1, self.halo.csr_batch_size)
        batches = list(chunks(list(xuids), size))
        report.csr_requests += len(batches)
        gate = asyncio.Semaphore(self.fetch_concurrency)
        fetched: dict[str, CsrResult | None] = {}

        async def one(chunk: list[str]) -> None:
            async with gate:
                try:
                    answers = await self.halo.get_csr(
                        playlist, chunk, fresh=True, priority=Priority.BACKGROUND
                    )
                except Exception as exc:
                    report.failed_batches += 1
                    report.missing += len(chunk)
                    report.errors.append(
                        f"CSR {playlist} ({len(chunk)} players): {exc.__class__.__name__}"
                    )
                    log.warning(
                        "CSR batch of %d players in %s failed: %s", len(chunk), playlist, exc
                    )
                    return
            for xuid in chunk:
                fetched[xuid] = answers.get(xuid)

        await asyncio.gather(*(one(batch) for batch in batches))
        return fetched

    # ------------------------------------------------------------------ outbox

    async def flush_outbox(self) -> FlushReport:
        """Post every pending announcement (see :mod:`bot.features.announcements.outbox`)."""
        return await self.outbox.flush()

    # ------------------------------------------------------------------ maintenance

    async def _maintenance(self, report: CycleReport) -> None:
        """Prune finished outbox rows now and then (snapshots are kept for charts)."""
        now = self.clock()
        if self._last_maintenance is not None and now - self._last_maintenance < MAINTENANCE_EVERY:
            return
        self._last_maintenance = now
        try:
            await self.db.announcements.prune_sent(now - self.outbox_retention)
            await self.db.schedule.forget_untracked()
        except Exception as exc:
            log.exception("Pruning the announcement outbox failed")
            report.errors.append(f"prune: {exc.__class__.__name__}")
