"""Known players (gamertag <-> XUID) and recent lookups."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import cast

import pytest

from bot.core.resolver import Player, PlayerResolver
from bot.halo.client import HaloClient
from bot.storage import Database, KnownPlayer
from bot.storage import players as players_module
from tests.support.sql import count

T0 = datetime(2025, 1, 1, tzinfo=UTC)


async def xuid_for(db: Database, gamertag: str) -> str | None:
    found = await db.players.by_gamertag(gamertag)
    return None if found is None else found.xuid


async def gamertag_for(db: Database, xuid: str) -> str | None:
    found = await db.players.by_xuid(xuid)
    return None if found is None else found.gamertag


async def test_remember_and_case_insensitive_lookup(db: Database) -> None:
    await db.players.remember("11", "Master Chief")
    assert await xuid_for(db, "master chief") == "11"
    assert await xuid_for(db, " MASTER CHIEF ") == "11"
    assert await gamertag_for(db, "11") == "Master Chief"
    assert await xuid_for(db, "Arbiter") is None
    assert await gamertag_for(db, "12") is None


async def test_rename_and_gamertag_moving_to_another_xuid(db: Database) -> None:
    await db.players.remember("11", "OldName")
    await db.players.remember("11", "NewName")
    assert await xuid_for(db, "oldname") is None
    assert await gamertag_for(db, "11") == "NewName"

    await db.players.remember("22", "NEWNAME")  # the tag now belongs to someone else
    assert await xuid_for(db, "newname") == "22"
    assert await gamertag_for(db, "11") is None
    assert await gamertag_for(db, "22") == "NEWNAME"


async def test_stored_players_say_when_they_were_confirmed(db: Database) -> None:
    assert await db.players.by_gamertag("Noble Six") is None
    assert await db.players.by_xuid("1") is None
    before = datetime.now(UTC)
    await db.players.remember("1", "Noble Six")
    found = await db.players.by_gamertag("  noble SIX ")
    assert found is not None and (found.xuid, found.gamertag) == ("1", "Noble Six")
    assert before - timedelta(seconds=1) <= found.updated_at <= datetime.now(UTC)
    assert await db.players.by_xuid("1") == found
    await db.players.remember("2", "Noble Six")  # the name moved to another player
    moved = await db.players.by_gamertag("Noble Six")
    assert moved is not None and moved.xuid == "2"


async def test_casefold_is_unicode_aware(db: Database) -> None:
    await db.players.remember("11", "Straße")
    assert await xuid_for(db, "STRASSE") == "11"


async def test_recent_lookups_order_dedup_and_prefix(db: Database) -> None:
    names = {"1": "Alpha", "2": "alpine", "3": "Beta", "4": "al_pha", "5": "al%x"}
    for xuid, name in names.items():
        await db.players.remember(xuid, name)
    lookups = [
        (100, 7, "1", 0),
        (100, 8, "2", 1),
        (100, 7, "3", 2),
        (100, 8, "1", 3),  # Alpha again, by another user: most recent, listed once
        (100, 7, "4", 4),
        (100, 7, "5", 5),
        (200, 7, "3", 9),  # other guild
    ]
    for guild, user, xuid, minute in lookups:
        await db.players.record_lookups([(guild, user, xuid, T0 + timedelta(minutes=minute))])

    assert await db.players.recent_lookups(100) == [
        ("5", "al%x"),
        ("4", "al_pha"),
        ("1", "Alpha"),
        ("3", "Beta"),
        ("2", "alpine"),
    ]
    assert [p.gamertag for p in await db.players.recent_lookups(100, "AL")] == [
        "al%x",
        "al_pha",
        "Alpha",
        "alpine",
    ]
    assert await db.players.recent_lookups(100, "al_") == [("4", "al_pha")]
    assert await db.players.recent_lookups(100, "al%") == [("5", "al%x")]
    assert await db.players.recent_lookups(100, "", limit=2) == [("5", "al%x"), ("4", "al_pha")]
    assert await db.players.recent_lookups(100, user_id=8) == [("1", "Alpha"), ("2", "alpine")]
    assert await db.players.recent_lookups(200) == [KnownPlayer("3", "Beta")]
    assert await db.players.recent_lookups(300) == []


async def test_lookups_store_the_canonical_xuid(db: Database) -> None:
    await db.players.remember("42", "Noble Six")
    await db.players.record_lookups([(100, 7, "00042", T0)])
    assert await db.players.recent_lookups(100, "nob") == [("42", "Noble Six")]


async def test_lookups_of_unknown_players_are_omitted(db: Database) -> None:
    await db.players.record_lookups([(100, 7, "42", T0)])
    assert await db.players.recent_lookups(100) == []
    await db.players.remember("42", "Later Known")
    assert await db.players.recent_lookups(100) == [("42", "Later Known")]


async def test_lookups_are_capped_per_guild(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(players_module, "MAX_LOOKUPS_PER_GUILD", 5)
    for i in range(1, 9):
        await db.players.remember(str(i), f"P{i}")
        await db.players.record_lookups([(100, 7, str(i), T0 + timedelta(minutes=i))])
    await db.players.record_lookups([(200, 7, "1", T0)])
    recent = await db.players.recent_lookups(100, limit=25)
    assert [p.xuid for p in recent] == ["8", "7", "6", "5", "4"]
    assert await db.players.recent_lookups(200) == [("1", "P1")]
    assert await count(db, "player_lookups", "guild_id = ?", 100) == 5
    # The bot left server 100 and its grace period is over: its lookups go, no others.
    await db.departures.mark_left(100, T0)
    assert await db.departures.purge(T0 + timedelta(days=7)) == [100]
    assert await db.players.recent_lookups(100) == []
    assert await db.players.recent_lookups(200) == [("1", "P1")]


async def test_batched_lookups_keep_the_latest_and_cap_each_guild(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(players_module, "MAX_LOOKUPS_PER_GUILD", 3)
    for i in range(1, 6):
        await db.players.remember(str(i), f"P{i}")
    await db.players.record_lookups(
        [(100, 7, str(i), T0 + timedelta(minutes=i)) for i in range(1, 6)]
        + [(200, 7, "1", T0), (100, 8, "2", T0 + timedelta(minutes=9))]
    )
    # An older note of the same lookup does not move it back in time.
    await db.players.record_lookups([(100, 8, "2", T0)])
    recent = await db.players.recent_lookups(100, limit=25)
    assert [p.xuid for p in recent] == ["2", "5", "4"]
    assert await db.players.recent_lookups(200) == [("1", "P1")]
    await db.players.record_lookups([])  # nothing to do


async def test_resolver_writes_lookups_behind_and_on_close(db: Database) -> None:
    resolver = PlayerResolver(cast(HaloClient, None), db, flush_after=60)
    await db.players.remember("42", "Noble Six")
    player = await resolver.resolve("noble six", caller_id=7, guild_id=100)
    assert player == Player("42", "Noble Six")
    assert await db.players.recent_lookups(100) == []  # not yet written
    await resolver.close()
    assert await db.players.recent_lookups(100) == [("42", "Noble Six")]
    # Known players are answered from memory from now on, even if the row goes.
    await db.players.remember("43", "Noble Six")  # the gamertag moved in the database
    assert (await resolver.resolve("Noble Six", caller_id=7)).xuid == "42"
