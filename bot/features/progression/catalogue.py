"""The catalogue of Operations and events: what exists, when it ran, what it is called.

:func:`build_catalogue` is the pure part: calendar (grouped by
:func:`~bot.features.progression.calendar.catalogue_skeleton`) + reward track files ->
:class:`Catalogue` (one entry per track, newest first). :class:`CatalogueService`
fetches the files through :class:`~bot.halo.client.HaloClient` (which caches them for
hours), builds the catalogue once for every caller at a time, keeps the last one for
instant autocomplete answers, and rebuilds it when it is old.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from bot.common.errors import (
    HaloUnavailableError,
    NoDataError,
    RateLimitedError,
    SignInExpiredError,
    UserFacingError,
)
from bot.core.failure_memory import FailureMemory
from bot.core.refreshing import Refreshing
from bot.features.progression.calendar import (
    KNOWN_MISSING_EVENTS,
    MissingEvent,
    Run,
    TrackKind,
    catalogue_skeleton,
    parse_date_range,
)
from bot.halo.models import RewardTrack, SeasonCalendar, track_id_from_path
from bot.halo.ratelimit import Priority

if TYPE_CHECKING:
    from bot.halo.client import HaloClient

log = logging.getLogger(__name__)

#: How many events ``/events`` asks a player's progress for, at most.
MAX_EVENT_QUERIES = 6
#: Autocomplete answers at most this many choices (Discord's limit).
MAX_CHOICES = 25
#: A complete catalogue is rebuilt after this long (the files stay cached by the client).
CATALOGUE_TTL = 3600.0
#: A catalogue built while some reward track files failed is rebuilt sooner.
INCOMPLETE_TTL = 60.0
#: Reward track files fetched at the same time while building (leaves room for commands).
BUILD_CONCURRENCY = 4


def _key(kind: TrackKind, track_id: str) -> str:
    return f"{kind}:{track_id.casefold()}"


@dataclass(frozen=True)
class TrackInfo:
    """One Operation or event: its name and dates, and its reward track when it was read."""

    kind: TrackKind
    track_id: str
    name: str
    runs: tuple[Run, ...] = ()  # oldest first, no duplicates
    track: RewardTrack | None = None
    in_calendar: bool = True
    season_metadata: str | None = None

    @property
    def max_rank(self) -> int:
        """Ranks of the track; 0 when its file could not be read."""
        return self.track.max_rank if self.track is not None else 0

    def xp_for_rank(self, rank: int) -> int | None:
        return self.track.xp_for_rank(rank) if self.track is not None else None

    @property
    def description(self) -> str:
        return self.track.description.value.strip() if self.track is not None else ""

    def current_run(self, at: datetime) -> Run | None:
        return next((r for r in reversed(self.runs) if r.is_running(at)), None)

    def is_running(self, at: datetime) -> bool:
        return self.current_run(at) is not None

    def shown_run(self, at: datetime) -> Run | None:
        """The run to show: the one going on at ``at``, else the latest."""
        return self.current_run(at) or (self.runs[-1] if self.runs else None)

    @property
    def last_moment(self) -> datetime | None:
        moments = [m for m in (r.last_moment for r in self.runs) if m is not None]
        return max(moments, default=None)


def _recency(info: TrackInfo) -> tuple[int, float]:
    """Sort key, newest first; undated tracks last."""
    moment = info.last_moment
    return (0, -moment.timestamp()) if moment is not None else (1, 0.0)


def humanize_track_id(track_id: str) -> str:
    """A readable fallback name: ``ritualWinterGiveaway`` -> ``Winter Giveaway``; other
    TrackIds (``S04Fracture``) stay as they are."""
    match = re.fullmatch(r"ritual([A-Z0-9][A-Za-z0-9]*)", track_id)
    if match is None:
        return track_id
    return re.sub(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Za-z])(?=[0-9])", " ", match.group(1))


def track_name(track: RewardTrack | None, fallback: str) -> str:
    if track is not None:
        name = track.name.value.strip()
        if name:
            return name
    return fallback


def _match_score(info: TrackInfo, wanted: str) -> int | None:
    """How well ``wanted`` (casefolded) matches: lower is better, None for no match."""
    name = info.name.casefold()
    tid = info.track_id.casefold()
    if not wanted:
        return 3
    if wanted in (tid, name):
        return 0
    if name.startswith(wanted) or tid.startswith(wanted):
        return 1
    if wanted in name or wanted in tid:
        return 2
    return None


@dataclass(frozen=True)
class Catalogue:
    """Every known Operation and event, newest first."""

    operations: tuple[TrackInfo, ...]
    events: tuple[TrackInfo, ...]
    complete: bool = True

    def entries(self, kind: TrackKind) -> tuple[TrackInfo, ...]:
        return self.operations if kind == "operation" else self.events

    def get(self, kind: TrackKind, track_id: str) -> TrackInfo | None:
        wanted = track_id_from_path(track_id).casefold()
        return next((i for i in self.entries(kind) if i.track_id.casefold() == wanted), None)

    def find(self, kind: TrackKind, text: str) -> TrackInfo | None:
        """What a member typed or picked: a TrackId, else a name (newest of equal names)."""
        wanted = text.strip().casefold()
        if not wanted:
            return None
        by_id = self.get(kind, wanted)
        if by_id is not None:
            return by_id
        entries = self.entries(kind)
        named = [i for i in entries if i.name.casefold() == wanted]
        if named:
            return named[0]
        partial = [i for i in entries if _match_score(i, wanted) is not None]
        return partial[0] if len(partial) == 1 else None

    def suggest(
        self, kind: TrackKind, current: str, at: datetime, limit: int = MAX_CHOICES
    ) -> list[TrackInfo]:
        """Autocomplete: running ones first, then best match, then newest."""
        wanted = current.strip().casefold()
        scored: list[tuple[int, int, int, TrackInfo]] = []
        for order, info in enumerate(self.entries(kind)):
            score = _match_score(info, wanted)
            if score is not None:
                scored.append((0 if info.is_running(at) else 1, score, order, info))
        scored.sort(key=lambda item: item[:3])
        return [item[3] for item in scored[:limit]]

    def events_to_show(self, at: datetime, limit: int = MAX_EVENT_QUERIES) -> list[TrackInfo]:
        """``/events`` without ``event``: the running ones, the ones the calendar misses,
        then the most recent others; at most ``limit``, shown running first then newest."""
        running = [e for e in self.events if e.is_running(at)]
        missing = [e for e in self.events if not e.in_calendar and e not in running]
        recent = [e for e in self.events if e not in running and e not in missing]
        chosen: list[TrackInfo] = []
        for info in (*running, *missing, *recent):
            if len(chosen) >= limit:
                break
            chosen.append(info)
        chosen.sort(key=lambda e: (0 if e.is_running(at) else 1, *_recency(e)))
        return chosen


def build_catalogue(
    calendar: SeasonCalendar,
    tracks: Mapping[str, RewardTrack],
    *,
    missing: Sequence[MissingEvent] = KNOWN_MISSING_EVENTS,
    complete: bool = True,
) -> Catalogue:
    """The catalogue from the calendar and the reward track files that could be read.

    ``tracks`` maps ``"operation:<trackid>"``/``"event:<trackid>"`` (TrackId casefolded)
    to the file. A track without a file keeps a name made from its TrackId (the
    article's name for the missing events). An event with no dates anywhere else
    takes them from its file's ``DateRange`` when that reads as two days.
    """
    skeleton = catalogue_skeleton(calendar, missing)
    operations = []
    for tid, runs, metadata in skeleton.operations:
        track = tracks.get(_key("operation", tid))
        operations.append(
            TrackInfo(
                kind="operation",
                track_id=tid,
                name=track_name(track, tid),
                runs=runs,
                track=track,
                season_metadata=metadata,
            )
        )
    events = []
    for tid, runs, in_calendar, extra in skeleton.events:
        track = tracks.get(_key("event", tid))
        if not runs and track is not None:
            parsed = parse_date_range(track.date_range.value)
            if parsed:
                runs = (Run(*parsed),)
        fallback = extra.name if extra is not None else humanize_track_id(tid)
        events.append(
            TrackInfo(
                kind="event",
                track_id=tid,
                name=track_name(track, fallback),
                runs=runs,
                track=track,
                in_calendar=in_calendar,
            )
        )
    return Catalogue(
        operations=tuple(sorted(operations, key=_recency)),
        events=tuple(sorted(events, key=_recency)),
        complete=complete,
    )


# -- the service -------------------------------------------------------------------------


_TRANSPORT_ERRORS = (HaloUnavailableError, RateLimitedError, SignInExpiredError)


@dataclass
class CatalogueService:
    """Builds the catalogue through the Halo client and keeps the last one.

    ``get()`` answers a fresh catalogue (building it once for all concurrent
    callers); ``cached()`` answers at once with whatever was built last, for
    autocomplete. Reward track files are fetched :data:`BUILD_CONCURRENCY` at a
    time; when Halo stops answering (unavailable, rate limited, signed out) the
    rest are skipped and the catalogue is rebuilt after :data:`INCOMPLETE_TTL`.

    A build nobody waits for (at start-up, a refresh) asks Halo at background
    priority, after members' lookups; from the moment a member waits for it (a command
    or an autocomplete), its remaining requests go at a lookup's priority.
    """

    halo: HaloClient
    missing: Sequence[MissingEvent] = KNOWN_MISSING_EVENTS
    ttl: float = CATALOGUE_TTL
    incomplete_ttl: float = INCOMPLETE_TTL
    concurrency: int = BUILD_CONCURRENCY
    clock: Callable[[], float] = time.monotonic
    _state: Refreshing[Catalogue] = field(init=False)
    _background: set[asyncio.Task[None]] = field(default_factory=set, init=False)
    #: A failed build: autocomplete starts no other one for a while.
    _failures: FailureMemory = field(init=False)
    #: Members waiting for a build right now (its requests then go as lookups).
    _waiting: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        self._failures = FailureMemory(clock=self.clock)
        self._state = Refreshing(
            self._build,
            ttl=self.ttl,
            ttl_of=lambda c: self.ttl if c.complete else self.incomplete_ttl,
            what="Operations/events catalogue",
            clock=self.clock,
        )

    def cached(self) -> Catalogue | None:
        """The last catalogue built (maybe old), without waiting; None before the first."""
        return self._state.cached()

    def is_fresh(self) -> bool:
        return self._state.is_fresh()

    async def get(self) -> Catalogue:
        """A fresh catalogue for a member. If a rebuild fails, an older one is still
        answered."""
        with self._member_waits():
            return await self._state.get()

    async def warm(self) -> None:
        """Build the catalogue now, in the background; a failure was logged by the build
        (commands try again)."""
        with contextlib.suppress(Exception):
            await self._state.get()

    @contextlib.contextmanager
    def _member_waits(self) -> Iterator[None]:
        self._waiting += 1
        try:
            yield
        finally:
            self._waiting -= 1

    def _priority(self) -> Priority:
        return Priority.INTERACTIVE if self._waiting else Priority.BACKGROUND

    def refresh_soon(self) -> asyncio.Task[None] | None:
        """Start a background (re)build unless the catalogue is fresh; a task that ends
        when it is over (and never fails), if any."""
        if self.is_fresh():
            return None
        task = asyncio.get_running_loop().create_task(self.warm(), name="catalogue-refresh")
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return task

    async def for_autocomplete(self, wait: float) -> Catalogue | None:
        """What is built already (refreshed behind the scenes when old); before the first
        build, wait at most ``wait`` seconds for it, else None. Within
        :data:`~bot.core.failure_memory.FAILURE_MEMORY_SECONDS` of a failed build, no
        build is started: whatever is built already, else None."""
        if self._failures.remembered():
            return self.cached()
        with self._member_waits():
            return await self._state.for_autocomplete(wait)

    async def close(self) -> None:
        """Stop the background refresh and any build in progress (the bot is closing)."""
        for task in list(self._background):
            task.cancel()
        await self._state.close()
        for task in list(self._background):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def _build(self) -> Catalogue:
        try:
            calendar = await self.halo.get_season_calendar(priority=self._priority())
        except Exception:
            self._failures.failed()
            raise
        self._failures.succeeded()
        skeleton = catalogue_skeleton(calendar, self.missing)
        tracks: dict[str, RewardTrack] = {}
        gate = asyncio.Semaphore(max(1, self.concurrency))
        stopped: list[UserFacingError] = []
        failures = 0

        async def fetch(kind: TrackKind, tid: str) -> None:
            nonlocal failures
            async with gate:
                if stopped:
                    failures += 1
                    return
                try:
                    tracks[_key(kind, tid)] = await self._fetch_track(kind, tid, self._priority())
                except _TRANSPORT_ERRORS as exc:
                    stopped.append(exc)
                    failures += 1
                except UserFacingError as exc:  # gone (404) or unreadable: keep the TrackId
                    log.info("No reward track file for %s %s: %s", kind, tid, exc.title)
                    if not _is_permanent(exc):
                        failures += 1

        await asyncio.gather(*(fetch(kind, tid) for kind, tid in skeleton.track_keys()))
        if stopped:
            log.warning(
                "Halo stopped answering while reading reward tracks (%s); %d left unread",
                type(stopped[0]).__name__,
                failures,
            )
        catalogue = build_catalogue(calendar, tracks, missing=self.missing, complete=not failures)
        log.info(
            "Catalogue: %d Operations, %d events%s",
            len(catalogue.operations),
            len(catalogue.events),
            "" if catalogue.complete else f" ({failures} reward tracks unread)",
        )
        return catalogue

    async def _fetch_track(
        self, kind: TrackKind, track_id: str, priority: Priority = Priority.INTERACTIVE
    ) -> RewardTrack:
        if kind == "operation":
            return await self.halo.get_operation_track(track_id, priority=priority)
        return await self.halo.get_event_track(track_id, priority=priority)

    async def track_info(self, catalogue: Catalogue, kind: TrackKind, track_id: str) -> TrackInfo:
        """The catalogue's entry, else one made from the track's own file (a track the
        calendar does not list); without a readable file, just its TrackId."""
        known = catalogue.get(kind, track_id)
        if known is not None:
            return known
        tid = track_id_from_path(track_id)
        track: RewardTrack | None = None
        try:
            track = await self._fetch_track(kind, tid)
        except _TRANSPORT_ERRORS:
            raise
        except UserFacingError as exc:
            log.info("No reward track file for %s %s: %s", kind, tid, exc.title)
        runs: tuple[Run, ...] = ()
        if track is not None and kind == "event":
            parsed = parse_date_range(track.date_range.value)
            runs = (Run(*parsed),) if parsed else ()
        fallback = tid if kind == "operation" else humanize_track_id(tid)
        return TrackInfo(
            kind=kind,
            track_id=tid,
            name=track_name(track, fallback),
            runs=runs,
            track=track,
            in_calendar=False,
        )


def _is_permanent(exc: UserFacingError) -> bool:
    """A missing file (404 -> NoDataError) will stay missing; unreadable ones may recover."""
    return isinstance(exc, NoDataError)
