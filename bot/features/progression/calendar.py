"""What Halo's calendar says about Operations and events, before any reward track is read.

Halo spreads the catalogue over several files (article 000, "Operations and events"):

* ``seasoncalendar.json`` lists every Operation (``Seasons``) and every run of every
  event (``Events``; the same event often ran several times), with dates;
* the calendar misses three events (Cyber Showdown, Noble Intentions, Tactical Ops):
  :data:`KNOWN_MISSING_EVENTS` adds them, with the dates the article gives;
* names, rank counts and XP per rank are in each reward track file (read by
  :mod:`bot.features.progression.catalogue`).

:func:`catalogue_skeleton` groups the calendar by track (runs de-duplicated) and adds
the missing events; :func:`parse_date_range` reads the article's and the files' dates.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from bot.halo.models import SeasonCalendar

TrackKind = Literal["operation", "event"]

#: Date-only ranges ("March 8th, 2022") are placed at noon UTC, so the day shown by
#: Discord's ``<t:...:D>`` is the same one almost everywhere.
DATE_ONLY_HOUR = 12


# -- dates -------------------------------------------------------------------------------

_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ),
        start=1,
    )
    for name in names
}
_DAY = re.compile(r"([A-Za-z]+)\.?\s+(\d{1,2})(?:st|nd|rd|th)?\b(?:,?\s*(\d{4}))?")


def parse_date_range(text: str) -> tuple[datetime, datetime] | None:
    """``"March 8th, 2022 - March 21st, 2022"`` -> (start, end) at noon UTC; None if unreadable.

    A year given only once (``"March 8th - March 21st, 2022"``) applies to both days.
    """
    found: list[tuple[int, int, int | None]] = []
    for match in _DAY.finditer(text or ""):
        month = _MONTHS.get(match.group(1).casefold())
        if month is None:
            continue
        year = int(match.group(3)) if match.group(3) else None
        found.append((month, int(match.group(2)), year))
    if len(found) != 2:
        return None
    (m1, d1, y1), (m2, d2, y2) = found
    y1 = y1 if y1 is not None else y2
    y2 = y2 if y2 is not None else y1
    if y1 is None or y2 is None:
        return None
    try:
        start = datetime(y1, m1, d1, DATE_ONLY_HOUR, tzinfo=UTC)
        end = datetime(y2, m2, d2, DATE_ONLY_HOUR, tzinfo=UTC)
    except ValueError:
        return None
    return (start, end) if start <= end else None


@dataclass(frozen=True)
class Run:
    """One period a track ran; either end may be unknown."""

    start: datetime | None
    end: datetime | None

    def is_running(self, at: datetime) -> bool:
        if self.start is None and self.end is None:
            return False
        return (self.start is None or self.start <= at) and (self.end is None or at < self.end)

    @property
    def last_moment(self) -> datetime | None:
        return self.end or self.start


# -- the events the calendar misses ------------------------------------------------------


@dataclass(frozen=True)
class MissingEvent:
    """An event ``seasoncalendar.json`` leaves out; ``date_range`` as the article gives it."""

    track_id: str
    name: str
    date_range: str | None = None

    @property
    def run(self) -> Run | None:
        parsed = parse_date_range(self.date_range) if self.date_range else None
        return Run(*parsed) if parsed else None


#: Article 000: "there are three events that are missing from the API response". Only
#: Tactical Ops' dates are printed there (the ``DateRange`` of its reward track file);
#: the other two take theirs from their own reward track file when it has one.
KNOWN_MISSING_EVENTS: tuple[MissingEvent, ...] = (
    MissingEvent("ritualSynthwave", "Cyber Showdown"),
    MissingEvent("ritualNobleIntentions", "Noble Intentions"),
    MissingEvent("ritualOlympus", "Tactical Ops", "March 8th, 2022 - March 21st, 2022"),
)


# -- the calendar grouped by track ------------------------------------------------------


def _dedupe_runs(runs: Iterable[Run]) -> tuple[Run, ...]:
    unique = set(runs)
    dated = sorted(
        (r for r in unique if r.start is not None),
        key=lambda r: (r.start, r.end is None, r.end or r.start),
    )
    open_start = sorted((r for r in unique if r.start is None and r.end is not None), key=_end_of)
    return (*open_start, *dated)


def _end_of(run: Run) -> datetime:
    return run.end or datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True)
class CatalogueSkeleton:
    """What the calendar (plus the known missing events) lists, before any file is read."""

    operations: tuple[tuple[str, tuple[Run, ...], str | None], ...]
    events: tuple[tuple[str, tuple[Run, ...], bool, MissingEvent | None], ...]

    def track_keys(self) -> list[tuple[TrackKind, str]]:
        ops: list[tuple[TrackKind, str]] = [("operation", tid) for tid, _, _ in self.operations]
        events: list[tuple[TrackKind, str]] = [("event", tid) for tid, _, _, _ in self.events]
        return ops + events


def catalogue_skeleton(
    calendar: SeasonCalendar, missing: Sequence[MissingEvent] = KNOWN_MISSING_EVENTS
) -> CatalogueSkeleton:
    """Group the calendar by track (an event run four times is one entry); add ``missing``."""
    op_ids: dict[str, str] = {}
    op_runs: dict[str, list[Run]] = {}
    op_meta: dict[str, str | None] = {}
    for season in calendar.seasons:
        tid = season.operation_track_id
        if not tid:
            continue
        key = tid.casefold()
        op_ids.setdefault(key, tid)
        op_runs.setdefault(key, []).append(Run(season.start_date, season.end_date))
        op_meta.setdefault(key, season.season_metadata)

    ev_ids: dict[str, str] = {}
    ev_runs: dict[str, list[Run]] = {}
    for event in calendar.events:
        tid = event.track_id
        if not tid:
            continue
        key = tid.casefold()
        ev_ids.setdefault(key, tid)
        ev_runs.setdefault(key, []).append(Run(event.start_date, event.end_date))
    in_calendar = set(ev_ids)
    extra: dict[str, MissingEvent] = {}
    for item in missing:
        key = item.track_id.casefold()
        extra[key] = item
        ev_ids.setdefault(key, item.track_id)
        runs = ev_runs.setdefault(key, [])
        if key not in in_calendar and item.run is not None:
            runs.append(item.run)

    return CatalogueSkeleton(
        operations=tuple((op_ids[k], _dedupe_runs(op_runs[k]), op_meta.get(k)) for k in op_ids),
        events=tuple(
            (ev_ids[k], _dedupe_runs(ev_runs[k]), k in in_calendar, extra.get(k)) for k in ev_ids
        ),
    )
