"""CSR history charts: the series from stored snapshots, and a PNG drawn with matplotlib.

Charts are drawn in a separate worker process, so matplotlib (and numpy, together about
50 MB) is never imported into the bot's process: await :func:`draw_csr_chart`. It hands
the chart to the bot's one chart thread (:data:`_EXECUTOR`), which takes the drawing
lock (:data:`_DRAWING`: one chart at a time, which also bounds the memory of many charts
asked for at once) and waits for the worker process (a ``ProcessPoolExecutor`` with one
worker, started by the first chart with the ``spawn`` context, so it inherits nothing of
the bot's state and memory). Charts waiting their turn queue on that thread and hold
no thread of asyncio's default executor (which other work, such as the sign-in token
refresh, needs). A worker that dies is replaced at the next chart.

The worker runs :func:`render_csr_chart`: matplotlib's object API with the Agg canvas
(no pyplot state, no backend switching). Player text never reaches the renderer (the
embed names the player), so no gamertag can trip matplotlib's ``$...$`` math parser or a
glyph the bundled font lacks.
"""

from __future__ import annotations

import asyncio
import functools
import io
import logging
import multiprocessing
import threading
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import datetime

from bot.halo import tiers
from bot.storage.models import Snapshot

WIDTH_PX, HEIGHT_PX, DPI = 1000, 500, 100
#: Band colours per tier (light, so the line stays readable).
BANDS = {
    "Bronze": "#e8c7a8",
    "Silver": "#dfe3e8",
    "Gold": "#f6e3a1",
    "Platinum": "#c9ecee",
    "Diamond": "#cfe4f7",
    "Onyx": "#d6d6d6",
}
LINE = "#1d4ed8"
#: CSR shown above and below the line, so a flat line does not sit on the frame.
MARGIN = 60

log = logging.getLogger(__name__)

_DRAWING = threading.Lock()
#: The thread that hands charts to the worker process, one at a time.
_EXECUTOR = ThreadPoolExecutor(max_workers=1, thread_name_prefix="chart")
#: The worker process that draws (started by the first chart; guarded by _DRAWING).
_worker: ProcessPoolExecutor | None = None


@dataclass(frozen=True)
class Point:
    """The CSR at one moment. ``stored`` points are rows of the history as they are;
    the others carry a stored value to a moment: the start of the period, the moment
    the player went into placement, or now."""

    at: datetime
    value: int
    stored: bool = True


#: A stretch of time while ranked, oldest first; drawn as one step line.
Run = tuple[Point, ...]


def csr_runs(snapshots: Sequence[Snapshot], since: datetime, now: datetime) -> list[Run]:
    """The player's CSR from ``since`` to ``now``, as the stretches they were ranked.

    ``snapshots`` are the rows of one player and playlist (any order); the newest one
    before ``since`` gives the level at ``since``. A snapshot with no CSR (placement,
    a new season) ends a stretch: it is a gap in the chart, never a zero, and the level
    before it is held until that moment. The last stretch runs to ``now`` unless the
    player is unranked now.
    """
    ordered = sorted(snapshots, key=lambda s: s.taken_at)  # stable: ties keep row order
    runs: list[Run] = []
    current: list[Point] = []
    before = [s for s in ordered if s.taken_at < since]
    if before and before[-1].value >= 0:
        current.append(Point(since, before[-1].value, stored=False))
    for snapshot in ordered:
        if snapshot.taken_at < since:
            continue
        if snapshot.value >= 0:
            current.append(Point(snapshot.taken_at, snapshot.value))
        elif current:
            current.append(Point(snapshot.taken_at, current[-1].value, stored=False))
            runs.append(tuple(current))
            current = []
    if current:
        if current[-1].at < now:
            current.append(Point(now, current[-1].value, stored=False))
        runs.append(tuple(current))
    return runs


def points_of(runs: Sequence[Run]) -> list[Point]:
    """Every point of every stretch, oldest first."""
    return [point for run in runs for point in run]


async def draw_csr_chart(
    runs: Sequence[Run], title: str, *, since: datetime, now: datetime
) -> bytes:
    """:func:`render_csr_chart` on the chart thread, for the event loop."""
    loop = asyncio.get_running_loop()
    draw = functools.partial(_draw_in_worker, tuple(runs), title, since, now)
    return await loop.run_in_executor(_EXECUTOR, draw)


def _draw_in_worker(runs: Sequence[Run], title: str, since: datetime, now: datetime) -> bytes:
    """On the chart thread: :func:`render_csr_chart` in the worker process, started (or
    replaced, if it died) here."""
    global _worker
    with _DRAWING:
        for attempt in (1, 2):
            if _worker is None:
                _worker = ProcessPoolExecutor(
                    max_workers=1, mp_context=multiprocessing.get_context("spawn")
                )
            try:
                return _worker.submit(render_csr_chart, runs, title, since=since, now=now).result()
            except BrokenProcessPool:
                _worker.shutdown(wait=False, cancel_futures=True)
                _worker = None
                if attempt == 2:
                    raise
                log.warning("The chart worker process died: starting another")
        raise AssertionError("unreachable")


def shutdown_worker() -> None:
    """Stop the worker process (it is also stopped when the bot exits)."""
    global _worker
    with _DRAWING:
        if _worker is not None:
            _worker.shutdown(wait=True, cancel_futures=True)
            _worker = None


def render_csr_chart(runs: Sequence[Run], title: str, *, since: datetime, now: datetime) -> bytes:
    """A PNG (:data:`WIDTH_PX` x :data:`HEIGHT_PX`) of ``runs`` as step lines over
    shaded tier bands; stored points are marked. ``title`` must not be player text.
    The time axis spans the period, ``since`` to ``now`` (or the last point, if later),
    however little of it the points cover."""
    points = points_of(runs)
    if not points:
        raise ValueError("nothing to draw")
    period = (since, max(now, points[-1].at))
    return _draw(runs, [p.value for p in points], title, period)


def _draw(
    runs: Sequence[Run], values: Sequence[int], title: str, period: tuple[datetime, datetime]
) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter, date2num
    from matplotlib.figure import Figure

    figure = Figure(figsize=(WIDTH_PX / DPI, HEIGHT_PX / DPI), dpi=DPI)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    low = max(0, min(values) - MARGIN)
    high = max(values) + MARGIN
    for tier in tiers.TIERS:
        top = tier.end if tier.end is not None else max(high, tier.start + 300)
        if top <= low or tier.start >= high:
            continue
        axes.axhspan(max(tier.start, low), min(top, high), color=BANDS[tier.name], zorder=0)
        middle = (max(tier.start, low) + min(top, high)) / 2
        axes.text(
            1.005, middle, tier.name, transform=axes.get_yaxis_transform(),
            va="center", fontsize=9, color="#475569", parse_math=False,
        )  # fmt: skip
    for run in runs:
        times = date2num([p.at for p in run])  # what matplotlib does with datetimes anyway
        axes.step(times, [p.value for p in run], where="post", color=LINE, lw=2, zorder=2)
        stored = [p for p in run if p.stored]
        axes.plot(
            date2num([p.at for p in stored]), [p.value for p in stored], "o",
            color=LINE, markersize=3, zorder=3,
        )  # fmt: skip
    axes.set_ylim(low, high)
    axes.set_xlim(*date2num(list(period)))
    axes.set_ylabel("CSR")
    locator = AutoDateLocator()
    axes.xaxis.set_major_locator(locator)
    axes.xaxis.set_major_formatter(ConciseDateFormatter(locator))
    axes.grid(axis="y", color="#94a3b8", linewidth=0.5, alpha=0.6, zorder=1)
    axes.set_title(title, fontsize=12, parse_math=False)
    figure.subplots_adjust(left=0.07, right=0.91, top=0.9, bottom=0.1)
    out = io.BytesIO()
    figure.savefig(out, format="png", dpi=DPI)
    return out.getvalue()
