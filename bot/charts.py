"""CSR history charts: the series from stored snapshots, and a PNG drawn with matplotlib.

Drawing is synchronous and slow-ish (tens of milliseconds): call :func:`render_csr_chart`
through ``asyncio.to_thread``. It uses matplotlib's object API with the Agg canvas (no
pyplot state), so charts can be drawn in several threads at once.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure

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


@dataclass(frozen=True)
class Point:
    at: datetime
    value: int


def csr_series(snapshots: Sequence[Snapshot], since: datetime, now: datetime) -> list[Point]:
    """The player's CSR from ``since`` to ``now`` as steps: the value in force at
    ``since`` (from the last snapshot before it), every ranked snapshot after, and the
    last value again at ``now`` unless the player is unranked now. Unranked snapshots
    (placement) are left out: never drawn as zeros."""
    ordered = sorted(snapshots, key=lambda s: s.taken_at)
    before = [s for s in ordered if s.taken_at < since]
    points: list[Point] = []
    if before and before[-1].value >= 0:
        points.append(Point(since, before[-1].value))
    points.extend(
        Point(s.taken_at, s.value) for s in ordered if s.taken_at >= since and s.value >= 0
    )
    still_ranked = bool(ordered) and ordered[-1].value >= 0
    if points and still_ranked and points[-1].at < now:
        points.append(Point(now, points[-1].value))
    return points


def render_csr_chart(points: Sequence[Point], title: str) -> bytes:
    """A PNG of ``points`` (a step line) over shaded tier bands."""
    figure = Figure(figsize=(WIDTH_PX / DPI, HEIGHT_PX / DPI), dpi=DPI)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    values = [p.value for p in points]
    low = max(0, min(values) - 60)
    high = max(values) + 60
    for tier in tiers.TIERS:
        top = tier.end if tier.end is not None else max(high, tier.start + 300)
        if top <= low or tier.start >= high:
            continue
        axes.axhspan(max(tier.start, low), min(top, high), color=BANDS[tier.name], zorder=0)
        middle = (max(tier.start, low) + min(top, high)) / 2
        axes.text(
            1.005, middle, tier.name, transform=axes.get_yaxis_transform(),
            va="center", fontsize=9, color="#475569",
        )  # fmt: skip
    axes.step([p.at for p in points], values, where="post", color=LINE, linewidth=2, zorder=2)
    axes.plot([p.at for p in points[:-1]], values[:-1], "o", color=LINE, markersize=3, zorder=3)
    axes.set_ylim(low, high)
    axes.set_ylabel("CSR")
    locator = AutoDateLocator()
    axes.xaxis.set_major_locator(locator)
    axes.xaxis.set_major_formatter(ConciseDateFormatter(locator))
    axes.grid(axis="y", color="#94a3b8", linewidth=0.5, alpha=0.6, zorder=1)
    axes.set_title(title, fontsize=12)
    figure.subplots_adjust(left=0.07, right=0.91, top=0.9, bottom=0.1)
    out = io.BytesIO()
    figure.savefig(out, format="png", dpi=DPI)
    return out.getvalue()
