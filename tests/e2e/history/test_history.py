"""/history end to end: the chart is drawn from the snapshots the database holds."""

from __future__ import annotations

import asyncio
import dataclasses
import io
import struct
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import matplotlib.image
import numpy as np
import pytest

import bot.features.history.chart
from bot.features.announcements.cog import RankAnnouncements
from bot.features.history.chart import LINE, csr_runs, points_of
from bot.features.history.cog import History
from bot.storage.models import Snapshot
from tests.fakes.halo_server import MODERN_PLAYER, NOBLE_SIX, RANKED_ARENA, RANKED_SLAYER
from tests.support.discord import GUILD_ID, USER_ID
from tests.support.world import World

NOW = datetime.now(UTC)


def snap(xuid: int, value: int, days_ago: float, playlist: str = RANKED_ARENA) -> Snapshot:
    return Snapshot(
        xuid=str(xuid),
        playlist_id=playlist,
        csr_season="CsrSeason9-1",
        value=value,
        tier="",
        sub_tier=0,
        matches_remaining=0 if value >= 0 else 3,
        season_max=None,
        all_time_max=None,
        taken_at=NOW - timedelta(days=days_ago),
    )


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


async def store(world: World, *snapshots: Snapshot) -> None:
    for snapshot in snapshots:
        await world.db.snapshots.record(snapshot)


def fields(embed: dict[str, Any]) -> dict[str, str]:
    return {f["name"]: f["value"] for f in embed.get("fields", [])}


def chart(rec: Any) -> bytes:
    [upload] = [f for sent in rec.followups for f in sent.files]
    assert upload.filename == "csr-history.png"
    return upload.data


def line_columns(png: bytes) -> np.ndarray:
    """The x pixels where the chart's line (or a point's mark) is drawn."""
    pixels = matplotlib.image.imread(io.BytesIO(png), format="png")
    line = np.array([int(LINE[i : i + 2], 16) / 255 for i in (1, 3, 5)])
    return np.unique(np.nonzero(np.abs(pixels[:, :, :3] - line).max(axis=2) < 0.05)[1])


#: The plot's left and right edges in the image (``subplots_adjust`` in bot.features.history.chart).
PLOT_LEFT, PLOT_RIGHT = 70, 910


def stored_in(rows: list[Snapshot], since: datetime) -> list[tuple[datetime, int]]:
    """The ranked rows of the period: what the chart must mark as data points."""
    return [(s.taken_at, s.value) for s in rows if s.taken_at >= since and s.value >= 0]


async def test_chart_from_stored_history(world: World) -> None:
    history = [
        snap(NOBLE_SIX.xuid, 1180, 45),  # before the period: the starting level
        snap(NOBLE_SIX.xuid, 1230, 20),
        snap(NOBLE_SIX.xuid, 1510, 10),
        snap(NOBLE_SIX.xuid, 1460, 2),
        snap(NOBLE_SIX.xuid, 900, 5, RANKED_SLAYER),  # another playlist: not drawn
    ]
    await store(world, *history)
    rec = await world.invoke("history", {"player": NOBLE_SIX.gamertag})
    msg = rec.final_message()
    assert not rec.is_ephemeral(msg) and rec.deferred
    embed = msg["embeds"][0]
    assert embed["title"] == "Noble Six: Ranked Arena CSR"
    assert embed["image"]["url"] == "attachment://csr-history.png"
    assert embed["footer"]["text"] == f"XUID {NOBLE_SIX.xuid} · times in UTC"
    assert fields(embed) == {
        "Now": "Diamond 6 (1,460)",
        "Highest": "Onyx 1510",
        "Lowest": "Platinum 6 (1,180)",
        "Change": "+280",
        "Changes recorded": "3",
    }

    png = chart(rec)
    assert png_size(png) == (1000, 500)
    pixels = matplotlib.image.imread(io.BytesIO(png), format="png")
    assert pixels.shape[:2] == (500, 1000)
    line = np.array([int(LINE[i : i + 2], 16) / 255 for i in (1, 3, 5)])
    assert (np.abs(pixels[:, :, :3] - line).max(axis=2) < 0.02).sum() > 500  # the line is there

    # The points drawn are the stored rows, plus the level held at the start and now.
    stored = await world.db.snapshots.history(str(NOBLE_SIX.xuid), RANKED_ARENA)
    since = NOW - timedelta(days=30)
    [run] = csr_runs(stored, since, NOW)
    assert [p.value for p in run] == [1180, 1230, 1510, 1460, 1460]
    assert [(p.at, p.value) for p in run if p.stored] == stored_in(stored, since)
    assert [p.stored for p in run] == [False, True, True, True, False]
    assert world.halo.count("skill.svc") == 0  # history never asks Halo


async def test_rank_checks_feed_the_chart(world: World) -> None:
    """Snapshots written by real rank checks, read back by /history for the caller's link:
    not one request to Halo for the command."""
    await world.db.accounts.link(USER_ID, str(NOBLE_SIX.xuid), NOBLE_SIX.gamertag)
    await world.db.tracked.track(GUILD_ID, USER_ID)
    cog = cast(RankAnnouncements, world.bot.get_cog("RankAnnouncements"))
    for value in (1325, 1360, 1340, 1340):  # the last check changes nothing: no new row
        world.halo.set_csr(NOBLE_SIX.xuid, RANKED_ARENA, value)
        report = await cog.run_once()
        assert report.errors == []
    before = len(world.halo.requests)

    rec = await world.invoke("history", {"days": 1})
    got = fields(rec.final_message()["embeds"][0])
    assert got["Now"] == "Diamond 3 (1,340)" and got["Highest"] == "Diamond 4 (1,360)"
    assert got["Change"] == "+15" and got["Changes recorded"] == "3"
    assert png_size(chart(rec)) == (1000, 500)
    assert len(world.halo.requests) == before

    rows = await world.db.snapshots.history(str(NOBLE_SIX.xuid), RANKED_ARENA)
    assert [s.value for s in rows] == [1325, 1360, 1340]
    points = points_of(csr_runs(rows, datetime.now(UTC) - timedelta(days=1), datetime.now(UTC)))
    assert [(p.at, p.value) for p in points if p.stored] == [(s.taken_at, s.value) for s in rows]


async def test_days_and_playlist_and_own_link(world: World) -> None:
    await world.db.accounts.link(USER_ID, str(MODERN_PLAYER.xuid), MODERN_PLAYER.gamertag)
    await store(world, snap(MODERN_PLAYER.xuid, 700, 3, RANKED_SLAYER))
    rec = await world.invoke("history", {"playlist": "slayer", "days": 7})
    embed = rec.final_message()["embeds"][0]
    assert embed["title"] == "Sïerra\\#2468: Ranked Slayer CSR"
    assert embed["description"] == "The last 7 days, from the bot's rank checks."
    assert fields(embed)["Now"] == "Gold 3 (700)"


async def test_no_history(world: World) -> None:
    await store(world, snap(NOBLE_SIX.xuid, 1200, 90))
    rec = await world.invoke("history", {"player": MODERN_PLAYER.gamertag})
    embed = rec.final_message()["embeds"][0]
    assert rec.is_ephemeral() and embed["title"] == "No data"
    assert embed["description"].startswith(
        "The bot has no Ranked Arena history for **Sïerra\\#2468** yet."
    )
    assert "rank data appears after the next rank check" in embed["description"]
    # An old level still counts as the level at the start of the period.
    rec = await world.invoke("history", {"player": NOBLE_SIX.gamertag}, user_id=USER_ID + 5)
    got = fields(rec.final_message()["embeds"][0])
    assert got["Now"] == "Diamond 1 (1,200)" and got["Changes recorded"] == "0"


async def test_placement_is_a_gap(world: World) -> None:
    rows = [
        snap(NOBLE_SIX.xuid, 1300, 20),
        snap(NOBLE_SIX.xuid, -1, 5),  # a new season: placement
        snap(NOBLE_SIX.xuid, 1100, 2),
        snap(NOBLE_SIX.xuid, -1, 1),  # and again: unranked now
    ]
    await store(world, *rows)
    stored = await world.db.snapshots.history(str(NOBLE_SIX.xuid), RANKED_ARENA)
    since = NOW - timedelta(days=30)
    runs = csr_runs(stored, since, NOW)
    # Two stretches, each held until placement began; never a zero, no line to "now".
    assert [[(p.at, p.value) for p in run] for run in runs] == [
        [(rows[0].taken_at, 1300), (rows[1].taken_at, 1300)],
        [(rows[2].taken_at, 1100), (rows[3].taken_at, 1100)],
    ]
    assert [(p.at, p.value) for p in points_of(runs) if p.stored] == stored_in(stored, since)

    rec = await world.invoke("history", {"player": NOBLE_SIX.gamertag})
    got = fields(rec.final_message()["embeds"][0])
    assert got["Now"] == "Unranked (placement)"
    assert got["Highest"] == "Diamond 3 (1,300)" and got["Change"] == "-200"
    assert png_size(chart(rec)) == (1000, 500)

    # Placement all through the period: said plainly.
    rec = await world.invoke("history", {"player": NOBLE_SIX.gamertag, "days": 1})
    embed = rec.final_message()["embeds"][0]
    assert rec.is_ephemeral()
    assert embed["description"] == (
        "**Noble Six** had no Ranked Arena rank in the last 1 day (placement)."
    )


async def test_long_history_draws_the_newest_rows(world: World) -> None:
    cast(History, world.bot.get_cog("History")).service.max_points = 3
    # 1000 .. 1090, from 39.5 to 30.5 days ago: 1050 .. 1090 in the last 35 days.
    await store(world, *(snap(NOBLE_SIX.xuid, 1000 + 10 * i, 39.5 - i) for i in range(10)))
    rec = await world.invoke("history", {"player": NOBLE_SIX.gamertag, "days": 35})
    embed = rec.final_message()["embeds"][0]
    assert embed["description"].endswith("Only the newest 3 recorded changes are drawn.")
    got = fields(embed)
    # 1070 .. 1090 read; the level before them (1060) is not claimed as the period's start.
    assert got["Lowest"] == "Platinum 4 (1,070)" and got["Change"] == "+20"
    assert got["Changes recorded"] == "3"


async def test_bad_options(world: World) -> None:
    rec = await world.invoke("history", {"player": NOBLE_SIX.gamertag, "playlist": "Swat"})
    assert rec.final_message()["embeds"][0]["title"] == "Unknown playlist"
    rec = await world.invoke("history", user_id=USER_ID + 9)
    assert rec.final_message()["embeds"][0]["title"] == "No linked account"
    with pytest.raises(ValueError, match="not in"):
        await world.discord.invoke("history", {"days": 366})


async def test_time_axis_spans_the_period(world: World) -> None:
    # Ranked from 28 to 27 days ago only, then placement: a sliver at the chart's start.
    await store(
        world,
        snap(NOBLE_SIX.xuid, 1300, 28),
        snap(NOBLE_SIX.xuid, 1320, 27.5),
        snap(NOBLE_SIX.xuid, -1, 27),
    )
    rec = await world.invoke("history", {"player": NOBLE_SIX.gamertag})
    assert fields(rec.final_message()["embeds"][0])["Now"] == "Unranked (placement)"
    columns = line_columns(chart(rec))
    width = PLOT_RIGHT - PLOT_LEFT
    # 28 and 27 days ago, of 30: from 2/30 to 3/30 of the way across (marks a few px wide).
    assert PLOT_LEFT + width * 2 / 30 - 6 <= columns.min()
    assert columns.max() <= PLOT_LEFT + width * 3 / 30 + 6


async def test_a_single_point_sits_at_the_end_of_the_period(world: World) -> None:
    # Placement, then a rank a rank check wrote just after the command's "now": one point.
    later = datetime.now(UTC) + timedelta(hours=1)
    racing = dataclasses.replace(snap(MODERN_PLAYER.xuid, 1300, 0), taken_at=later)
    await store(world, snap(MODERN_PLAYER.xuid, -1, 3), racing)
    rec = await world.invoke("history", {"player": MODERN_PLAYER.gamertag})
    assert fields(rec.final_message()["embeds"][0])["Now"] == "Diamond 3 (1,300)"
    columns = line_columns(chart(rec))
    assert len(columns) > 0 and columns.min() >= PLOT_RIGHT - 5  # not years of axis


async def test_exactly_max_points_rows_are_all_drawn(world: World) -> None:
    cast(History, world.bot.get_cog("History")).service.max_points = 3
    await store(
        world,
        snap(NOBLE_SIX.xuid, 1000, 40),  # the level when the period began
        snap(NOBLE_SIX.xuid, 1100, 20),
        snap(NOBLE_SIX.xuid, 1200, 10),
        snap(NOBLE_SIX.xuid, 1300, 5),
    )
    rec = await world.invoke("history", {"player": NOBLE_SIX.gamertag})
    embed = rec.final_message()["embeds"][0]
    assert embed["description"] == "The last 30 days, from the bot's rank checks."
    got = fields(embed)
    assert got["Lowest"] == "Platinum 3 (1,000)" and got["Change"] == "+300"
    assert got["Changes recorded"] == "3"


class Gate:
    """Stands in for the drawing lock: charts wait at it until the test opens it."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.lock.acquire()
        self.waiting = 0

    def __enter__(self) -> Gate:
        self.waiting += 1
        self.lock.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.lock.release()


async def test_waiting_charts_leave_the_default_executor_free(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Charts waiting to be drawn hold no thread of asyncio's default executor, which
    other work (the sign-in token refresh) needs."""
    asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(max_workers=1))
    gate = Gate()
    monkeypatch.setattr(bot.features.history.chart, "_DRAWING", gate)
    await store(world, snap(NOBLE_SIX.xuid, 1200, 5))
    try:
        recs = [
            await world.discord.invoke(
                "history", {"player": NOBLE_SIX.gamertag}, user_id=USER_ID + i, guild_id=GUILD_ID
            )
            for i in range(2)
        ]
        for _ in range(200):
            if gate.waiting:
                break
            await asyncio.sleep(0.05)
        assert gate.waiting == 1  # one chart at the drawing lock, the other queued
        free = await asyncio.wait_for(asyncio.to_thread(lambda: "free"), timeout=3)
        assert free == "free"
    finally:
        gate.lock.release()
    for rec in recs:
        await rec.wait_final()
        assert png_size(chart(rec)) == (1000, 500)
