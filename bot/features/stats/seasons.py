"""Seasons by their real names, for the ``season`` options of ``/csr`` and ``/servicerecord``.

Two kinds, from two calendars:

* **Ranked (CSR) seasons** (``CsrSeasonCalendar.json``): the ``season`` parameter of
  the CSR endpoint, e.g. ``CsrSeason5-1``. They have no names of their own, so each
  is named after the first season of ``seasoncalendar.json`` that points at it
  (``CsrSeasonFilePath``); one nobody points at reads "Ranked season 5-1".
* **Seasons and Operations** (``seasoncalendar.json``): the ``seasonId`` filter of the
  service record is the season metadata path, e.g. ``Seasons/Season7-Op1.json``;
  the name comes from that metadata file (``Name``), else from the path.

Everything here is static game content (cached for hours by the client); the
directory itself is rebuilt hourly so new seasons appear without a restart.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal

from bot.common.errors import UserFacingError
from bot.common.text import escape
from bot.core.failure_memory import FailureMemory
from bot.core.refreshing import Refreshing
from bot.halo.models import CsrSeasonCalendar, SeasonCalendar, track_id_from_path

if TYPE_CHECKING:
    from bot.halo.client import HaloClient

log = logging.getLogger(__name__)

SeasonKind = Literal["csr", "record"]
MAX_SUGGESTIONS = 25
DIRECTORY_TTL = 3600.0
#: Season metadata files read at once while building.
METADATA_CONCURRENCY = 4
DASH = "–"


class UnknownSeasonError(UserFacingError):
    """``season`` names no season the bot knows."""

    title = "Unknown season"


@dataclass(frozen=True)
class Season:
    """One season: ``season_id`` is what the Halo endpoint takes; ``name`` is for people."""

    kind: SeasonKind
    season_id: str
    name: str
    start: datetime | None = None
    end: datetime | None = None

    def is_current(self, at: datetime) -> bool:
        return (self.start is None or self.start <= at) and (self.end is None or at < self.end)

    @property
    def dates(self) -> str:
        """``Oct 2023 – Jan 2024``; ``""`` when neither end is known."""
        if self.start is None and self.end is None:
            return ""
        start = self.start.strftime("%b %Y") if self.start else "?"
        end = self.end.strftime("%b %Y") if self.end else "now"
        return f"{start} {DASH} {end}"

    def label(self, at: datetime) -> str:
        """What autocomplete shows: name, dates, and whether it is running now."""
        parts = [self.name]
        if self.dates:
            parts.append(self.dates)
        text = " · ".join(parts)
        return f"{text} (current)" if self.is_current(at) else text


@dataclass(frozen=True)
class SeasonDirectory:
    """Both kinds of season, newest first."""

    csr: tuple[Season, ...]
    record: tuple[Season, ...]

    def of(self, kind: SeasonKind) -> tuple[Season, ...]:
        return self.csr if kind == "csr" else self.record

    def suggest(self, kind: SeasonKind, text: str, at: datetime) -> list[Season]:
        """Up to 25 seasons whose label or id contains ``text``; the current one first."""
        wanted = text.strip().casefold()
        seasons = self.of(kind)
        matching = [s for s in seasons if wanted in s.label(at).casefold() or wanted in _keys(s)[0]]
        matching.sort(key=lambda s: not s.is_current(at))  # stable: newest first otherwise
        return matching[:MAX_SUGGESTIONS]

    def find(self, kind: SeasonKind, text: str) -> Season | None:
        """The season whose id, file name or name is ``text`` (case-insensitive)."""
        wanted = text.strip().casefold()
        if not wanted:
            return None
        seasons = self.of(kind)
        for season in seasons:
            if wanted in _keys(season):
                return season
        # A label as autocomplete showed it, typed or pasted in full.
        now = datetime.now(UTC)
        return next((s for s in seasons if s.label(now).casefold() == wanted), None)


def _keys(season: Season) -> tuple[str, ...]:
    return (
        season.season_id.casefold(),
        track_id_from_path(season.season_id).casefold(),
        season.name.casefold(),
    )


def name_from_path(path: str) -> str:
    """``Seasons/Season5-Op1.json`` -> ``Season 5 Op 1``: a readable fallback name."""
    name = track_id_from_path(path)
    name = re.sub(r"(?i)^season-?(\d+)", r"Season \1", name)
    name = re.sub(r"(?<=[a-z])(?=\d)|(?<=\d)(?=[A-Za-z])", " ", name)
    return re.sub(r"[-_ ]+", " ", name).strip() or path


def csr_fallback_name(season_id: str) -> str:
    """``CsrSeason5-1`` -> ``Ranked season 5-1``."""
    match = re.fullmatch(r"(?i)csrseason(.+)", season_id)
    return f"Ranked season {match.group(1)}" if match else season_id


def build_directory(
    calendar: SeasonCalendar, csr_calendar: CsrSeasonCalendar, names: dict[str, str]
) -> SeasonDirectory:
    """``names``: season metadata path -> name (missing ones fall back to the path)."""
    record: list[Season] = []
    seen: set[str] = set()
    csr_names: dict[str, str] = {}
    for entry in calendar.seasons:
        path = entry.season_metadata
        if not path:
            continue
        name = names.get(path) or name_from_path(path)
        if entry.csr_season_id:
            csr_names.setdefault(entry.csr_season_id.casefold(), name)
        if path.casefold() in seen:
            continue
        seen.add(path.casefold())
        record.append(Season("record", path, name, entry.start_date, entry.end_date))
    csr: dict[str, Season] = {}
    for ranked in csr_calendar.seasons:
        sid = ranked.season_id
        if sid and sid.casefold() not in csr:
            name = csr_names.get(sid.casefold()) or csr_fallback_name(sid)
            csr[sid.casefold()] = Season("csr", sid, name, ranked.start_date, ranked.end_date)
    # Ranked seasons newer than the CSR calendar: their dates span the seasons naming them.
    for entry in calendar.seasons:
        sid = entry.csr_season_id
        if not sid:
            continue
        known = csr.get(sid.casefold())
        if known is None:
            csr[sid.casefold()] = Season(
                "csr",
                sid,
                csr_names.get(sid.casefold()) or csr_fallback_name(sid),
                entry.start_date,
                entry.end_date,
            )
        elif known.season_id not in {r.season_id for r in csr_calendar.seasons}:
            csr[sid.casefold()] = Season(
                "csr",
                known.season_id,
                known.name,
                _earliest(known.start, entry.start_date),
                _latest(known.end, entry.end_date),
            )
    return SeasonDirectory(csr=_newest_first(csr.values()), record=_newest_first(record))


def _earliest(a: datetime | None, b: datetime | None) -> datetime | None:
    return None if a is None or b is None else min(a, b)


def _latest(a: datetime | None, b: datetime | None) -> datetime | None:
    return None if a is None or b is None else max(a, b)


def _newest_first(seasons: Iterable[Season]) -> tuple[Season, ...]:
    floor = datetime.min.replace(tzinfo=UTC)
    return tuple(sorted(seasons, key=lambda s: s.start or floor, reverse=True))


class SeasonService:
    """The season directory, built from Halo on first use and refreshed hourly.

    Autocomplete starts no build for :data:`~bot.core.failure_memory.FAILURE_MEMORY_SECONDS`
    after one failed (commands still try, within their limits).
    """

    def __init__(
        self,
        halo: HaloClient,
        *,
        ttl: float = DIRECTORY_TTL,
        failures: FailureMemory | None = None,
    ) -> None:
        self.halo = halo
        self._directory = Refreshing(self._build, ttl=ttl, what="season directory")
        self._failures = failures if failures is not None else FailureMemory()

    async def get(self) -> SeasonDirectory:
        return await self._directory.get()

    async def for_autocomplete(self, wait: float) -> SeasonDirectory | None:
        if self._failures.remembered():
            return self._directory.cached()
        return await self._directory.for_autocomplete(wait)

    async def close(self) -> None:
        await self._directory.close()

    async def find(self, kind: SeasonKind, text: str) -> Season:
        """The season ``text`` names, or :class:`UnknownSeasonError` saying so."""
        directory = await self.get()
        season = directory.find(kind, text)
        if season is None:
            what = "ranked season" if kind == "csr" else "season"
            raise UnknownSeasonError(
                f"No {what} is called **{escape(text.strip()[:100])}**. "
                "Pick one from the list as you type."
            )
        return season

    async def _build(self) -> SeasonDirectory:
        try:
            directory = await self._read()
        except Exception:
            self._failures.failed()
            raise
        self._failures.succeeded()
        return directory

    async def _read(self) -> SeasonDirectory:
        calendar, csr_calendar = await asyncio.gather(
            self.halo.get_season_calendar(), self.halo.get_csr_season_calendar()
        )
        paths = list(
            dict.fromkeys(s.season_metadata for s in calendar.seasons if s.season_metadata)
        )
        names = await self._names(paths)
        directory = build_directory(calendar, csr_calendar, names)
        log.info(
            "Season directory: %d seasons, %d ranked seasons",
            len(directory.record),
            len(directory.csr),
        )
        return directory

    async def _names(self, paths: Sequence[str]) -> dict[str, str]:
        gate = asyncio.Semaphore(METADATA_CONCURRENCY)
        names: dict[str, str] = {}

        async def read(path: str) -> None:
            async with gate:
                try:
                    metadata = await self.halo.get_season_metadata(path)
                except UserFacingError as exc:  # keep the fallback name
                    log.info("No season metadata for %s: %s", path, exc.title)
                    return
            if metadata.name.value.strip():
                names[path] = metadata.name.value.strip()

        await asyncio.gather(*(read(p) for p in paths))
        return names
