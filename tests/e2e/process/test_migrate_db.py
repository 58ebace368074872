"""``halo-bot migrate-db --from-sqlite PATH``: SQLite into PostgreSQL, as a real process."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg

from bot.storage import Database, Snapshot
from tests.support.paths import ROOT
from tests.support.sql import announcement

T0 = datetime(2025, 1, 1, tzinfo=UTC)
X1, X2 = "2533274800000001", "2533274800000002"


def migrate_db(*args: str, url: str | None, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DISCORD_", "HALO_", "AZURE_", "DATABASE_"))
    }
    env["PYTHONPATH"] = str(ROOT)
    env["LOG_LEVEL"] = "WARNING"
    if url is not None:
        env["DATABASE_URL"] = url
    return subprocess.run(
        [sys.executable, "-m", "bot", "--env-file", str(cwd / "none.env"), "migrate-db", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=120,
    )


async def run_migrate(*args: str, url: str | None, cwd: Path) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(migrate_db, *args, url=url, cwd=cwd)


async def fill(path: Path) -> None:
    """Rows in every table, including ones whose order depends on insertion (rowid)."""
    async with await Database.open(path) as db:
        await db.accounts.link(1, X1, "Alpha")
        await db.accounts.link(2, X2, "Ärger")
        await db.tracked.track(10, 1)
        await db.tracked.track(10, 2)
        await db.tracked.track(20, 2)
        await db.guilds.update(10, announce_channel_id=99, playlists=["ranked", "slayer"])
        await db.guilds.set_role_problem(10, "no Manage Roles")
        for i in range(30):
            taken = T0 + timedelta(hours=i)
            await db.snapshots.record(
                Snapshot(X1, "ranked", "S1", 1400 + i, "Diamond", 2, 0, 1500, None, taken)
            )
        await db.announcements.add_pending("b", 10, 99, {"n": 1})
        await db.announcements.add_pending("a", 10, 99, {"n": 2, "ü": "x"})
        await db.announcements.mark_sent("b", 123)
        await db.players.remember(X2, "Ärger")
        await db.players.remember(X1, "Alpha")
        # The same time: rowid decides their order.
        await db.players.record_lookups([(10, 1, X2, T0), (10, 1, X1, T0)])
        await db.rank_roles.set_role(10, "Diamond", 555)
        await db.rank_roles.record_grant(10, 1, 555)
        await db.verification.vouch(20, 2, X2, by=7)
        await db.verification.new_code(1, X1, "K7QX", now=T0)


async def view(db: Database) -> dict[str, object]:
    """What the repositories show, to compare the engines."""
    return {
        "accounts": [await db.accounts.get(1), await db.accounts.get(2)],
        "tracked": await db.tracked.memberships(),
        "autocomplete": await db.tracked.linked_in_guild(10, "ä"),
        "settings": await db.guilds.get(10),
        "history": await db.snapshots.history(X1, "ranked"),
        "latest": await db.snapshots.latest(X1, "ranked"),
        "pending": await db.announcements.pending(),
        "sent": await announcement(db, "b"),
        "lookups": await db.players.recent_lookups(10),
        "player": await db.players.by_gamertag("ärger"),
        "roles": await db.rank_roles.all_mappings(),
        "grants": await db.rank_roles.granted(10),
        "vouched": await db.verification.vouched(20, 2),
        "code": await db.verification.code(1),
    }


async def test_copy_keeps_everything_and_is_idempotent(tmp_path: Path, pg_url: str) -> None:
    source = tmp_path / "bot.db"
    await fill(source)
    async with await Database.open(source) as db:
        expected = await view(db)

    result = await run_migrate("--from-sqlite", str(source), url=pg_url, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"Copied {source} into postgresql://")
    counts = dict(line.split()[:2] for line in lines[1:-1])
    assert counts == {
        "linked_accounts": "2",
        "guild_settings": "1",
        "tracked_members": "3",
        "rank_snapshots": "30",
        "announcements": "2",
        "known_players": "2",
        "player_lookups": "2",
        "rank_roles": "1",
        "rank_role_grants": "1",
        "guild_verified_links": "1",
        "link_codes": "1",
        "poll_schedule": "0",
        "departed_guilds": "0",
    }
    async with await Database.open(pg_url) as db:
        assert await view(db) == expected
        # ids continue after the copied ones
        await db.snapshots.record(
            Snapshot(X1, "ranked", "S1", 1, "Gold", 1, 0, None, None, T0 + timedelta(days=9))
        )
        await db.announcements.add_pending("c", 10, 99, {})
        assert [a.key for a in await db.announcements.pending()] == ["a", "c"]

    again = await run_migrate("--from-sqlite", str(source), url=pg_url, cwd=tmp_path)
    assert again.returncode == 1  # it changed since: refused, untouched
    assert "already holds 48 rows" in again.stderr and "--force" in again.stderr
    assert len(again.stderr.strip().splitlines()) == 1, again.stderr

    forced = await run_migrate("--from-sqlite", str(source), "--force", url=pg_url, cwd=tmp_path)
    assert forced.returncode == 0, forced.stderr
    assert "replacing 48 rows" in forced.stdout.splitlines()[0]
    async with await Database.open(pg_url) as db:
        assert await view(db) == expected

    same = await run_migrate("--from-sqlite", str(source), url=pg_url, cwd=tmp_path)
    assert same.returncode == 0, same.stderr
    assert "already holds every row" in same.stdout
    assert "rank_snapshots" in same.stdout


async def test_refusals_are_one_line(tmp_path: Path, pg_url: str) -> None:
    source = tmp_path / "bot.db"
    await fill(source)

    unset = await run_migrate("--from-sqlite", str(source), url=None, cwd=tmp_path)
    assert unset.returncode == 2
    assert unset.stderr.strip() == (
        "halo-bot: DATABASE_URL is not set: migrate-db copies into the PostgreSQL database "
        "it names (postgresql://user@host:port/database)."
    )

    missing = await run_migrate(
        "--from-sqlite", str(tmp_path / "nope.db"), url=pg_url, cwd=tmp_path
    )
    assert missing.returncode == 1
    assert missing.stderr.strip() == f"halo-bot: no SQLite database at {tmp_path / 'nope.db'}"
    assert not (tmp_path / "nope.db").exists()

    async with await Database.open(source, exclusive=True):  # the bot is running on it
        busy = await run_migrate("--from-sqlite", str(source), url=pg_url, cwd=tmp_path)
    assert busy.returncode == 1
    assert len(busy.stderr.strip().splitlines()) == 1, busy.stderr
    assert "in use by another bot process" in busy.stderr

    conn = await asyncpg.connect(pg_url)
    try:  # nothing reached the target, not even the schema
        tables = "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = $1"
        assert await conn.fetchval(tables, pg_url.rsplit("=", 1)[1]) == 0
    finally:
        await conn.close()


async def test_bad_database_url_is_one_config_line(tmp_path: Path) -> None:
    result = await run_migrate(
        "--from-sqlite", "x.db", url="mysql://root:pw@127.0.0.1/halo", cwd=tmp_path
    )
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "halo-bot: Configuration error: DATABASE_URL: must be a PostgreSQL URL "
        "(postgresql://user@host:port/database); leave it unset to use the SQLite file at "
        "DATABASE_PATH"
    )
    assert "pw" not in result.stderr
