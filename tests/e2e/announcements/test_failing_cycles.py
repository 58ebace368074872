"""Cycles that keep failing (here: a table the cycle reads is gone) are logged once with
the cause and its traceback, then at most once an hour, and once when they recover."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import time
from pathlib import Path
from typing import cast

import pytest

from bot.features.announcements.cog import RankAnnouncements
from tests.support.world import World, running_world

LOGGER = "bot.features.announcements.cog"


def rename_table(path: Path, old: str, new: str) -> None:
    with contextlib.closing(sqlite3.connect(path, timeout=10)) as conn:
        conn.execute(f"ALTER TABLE {old} RENAME TO {new}")
        conn.commit()


def lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == LOGGER and r.levelno >= logging.INFO]


async def eventually(check, what: str, seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


def cog_of(world: World) -> RankAnnouncements:
    # The bot imports its extensions itself, so compare by name, not by class identity.
    cog = world.bot.get_cog("RankAnnouncements")
    assert cog is not None and type(cog).__name__ == "RankAnnouncements"
    return cast("RankAnnouncements", cog)


@pytest.mark.slow
async def test_a_cycle_that_keeps_failing_is_logged_once_then_hourly_then_recovery(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    async with running_world(tmp_path, rank_poll_seconds=1) as world:
        cog = cog_of(world)
        skew = 0.0
        cog.failures.clock = lambda: time.monotonic() + skew
        db_path = world.settings.database_path
        await asyncio.to_thread(rename_table, db_path, "tracked_members", "tracked_members_gone")
        caplog.clear()

        await eventually(lambda: cog.failures.failed_cycles >= 4, "4 failed cycles")
        errors = [r for r in lines(caplog) if r.levelno == logging.ERROR]
        assert len(errors) == 1, [r.getMessage() for r in errors]
        assert "no such table: tracked_members" in errors[0].getMessage()
        assert errors[0].exc_info is not None  # the cause with its traceback, once

        skew = 3601.0  # an hour later, still failing: one more line, without a traceback
        seen = cog.failures.failed_cycles
        await eventually(lambda: cog.failures.failed_cycles >= seen + 3, "3 more failures")
        errors = [r for r in lines(caplog) if r.levelno == logging.ERROR]
        assert len(errors) == 2, [r.getMessage() for r in errors]
        assert "still failing since" in errors[1].getMessage()
        assert "no such table: tracked_members" in errors[1].getMessage()
        assert errors[1].exc_info is None

        await asyncio.to_thread(rename_table, db_path, "tracked_members_gone", "tracked_members")
        await eventually(lambda: not cog.failures.failing, "a cycle that works again")
        await asyncio.sleep(1.5)  # and a further good cycle logs nothing more
        recovered = [r.getMessage() for r in lines(caplog) if "recovered" in r.getMessage()]
        assert len(recovered) == 1, recovered
        assert [r.levelno for r in lines(caplog) if "recovered" in r.getMessage()] == [logging.INFO]
        assert len([r for r in lines(caplog) if r.levelno == logging.ERROR]) == 2
