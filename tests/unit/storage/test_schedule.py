"""The poll schedule: who is not due yet, in a playlist or among one work unit's players."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.storage import Database
from bot.storage.schedule import PollSlot

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
RANKED, OTHER = "ranked", "other"


def slot(xuid: int, due_in_minutes: int, playlist: str = RANKED) -> PollSlot:
    return PollSlot(
        xuid=str(xuid),
        playlist_id=playlist,
        last_active=NOW - timedelta(days=1),
        interval_seconds=600,
        next_due=NOW + timedelta(minutes=due_in_minutes),
    )


async def test_not_due_of_everyone_or_of_a_units_players(db: Database) -> None:
    # 1,200 players (more than one IN list): the odd ones are planned for later.
    xuids = [2533274800000000 + i for i in range(1200)]
    await db.schedule.put([slot(x, 30 if x % 2 else -5) for x in xuids])
    await db.schedule.put([slot(xuids[0], 30, playlist=OTHER)])
    later = {str(x) for x in xuids if x % 2}

    assert await db.schedule.not_due(RANKED, NOW) == later
    unit = [str(x) for x in xuids[100:1150]]
    assert await db.schedule.not_due(RANKED, NOW, unit) == later & set(unit)
    # Only the asked players and playlist; a player never scheduled is due.
    assert await db.schedule.not_due(OTHER, NOW, [str(xuids[0]), "2533274899999999"]) == {
        str(xuids[0])
    }
    assert await db.schedule.not_due(RANKED, NOW, []) == set()
    # Past the planned time, nobody is left for later.
    assert await db.schedule.not_due(RANKED, NOW + timedelta(hours=1), unit) == set()
