"""Database: pragmas, migrations, transactions, concurrency and crash safety."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sqlite3
import sys
import textwrap
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.storage import (
    AccountNotLinkedError,
    Database,
    MigrationError,
    SchemaTooNewError,
    Snapshot,
    StorageError,
    latest_schema_version,
)
from bot.storage import database as database_module
from bot.storage.database import Migration, load_migrations, split_sql
from tests.support.paths import ROOT
from tests.support.sql import announcement, count, integrity_ok

XUID = "2533274800000001"
T0 = datetime(2025, 1, 1, tzinfo=UTC)


def snap(
    xuid: str = XUID, value: int = 1500, at: datetime = T0, playlist: str = "ranked"
) -> Snapshot:
    return Snapshot(xuid, playlist, "S1", value, "Diamond", 3, 0, value, value, at)


def raw(path: Path, sql: str, params: tuple = ()) -> list[tuple]:
    """Query the file with the plain sqlite3 module (no bot code)."""
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return conn.execute(sql, params).fetchall()


def build_v1(path: Path) -> None:
    """A database as the previous release left it: only 0001 applied, with data."""
    with contextlib.closing(sqlite3.connect(path)) as conn:
        conn.executescript(load_migrations()[0].sql)
        conn.executescript(
            f"""
            PRAGMA user_version = 1;
            INSERT INTO linked_accounts
                VALUES (10, '{XUID}', 'OldTimer', '2024-01-01T00:00:00.000000Z');
            INSERT INTO tracked_members VALUES (77, 10, '2024-01-01T00:00:00.000000Z');
            INSERT INTO guild_settings (guild_id, announce_channel_id, updated_at)
                VALUES (77, 555, '2024-01-01T00:00:00.000000Z');
            INSERT INTO rank_snapshots (xuid, playlist_id, csr_season, value, tier, sub_tier,
                matches_remaining, season_max, all_time_max, taken_at)
                VALUES ('{XUID}', 'ranked', 'S1', 1234, 'Platinum', 4, 0, 1300, 1400,
                        '2024-01-02T00:00:00.000000Z');
            INSERT INTO announcements (key, guild_id, channel_id, payload, created_at, updated_at)
                VALUES ('k1', 77, 555, '{{"a": 1}}', '2024-01-03T00:00:00.000000Z',
                        '2024-01-03T00:00:00.000000Z');
            """
        )


def wal_size(path: Path) -> int:
    """Size of the database's WAL file, -1 when there is none."""
    wal = Path(f"{path}-wal")
    return wal.stat().st_size if wal.exists() else -1


async def run_python(code: str, *args: str) -> int:
    """Run ``code`` in a fresh interpreter with the project importable; return its exit code."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        textwrap.dedent(code),
        *args,
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    assert b"Traceback" not in err, err.decode()
    assert out.strip().endswith(b"ready"), (out, err)
    assert proc.returncode is not None
    return proc.returncode


# --------------------------------------------------------------------------- opening


async def test_fresh_database_is_migrated_with_wal_and_foreign_keys(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "dir" / "bot.db"
    db = await Database.open(path)
    try:
        assert path.exists()
        assert db.schema_version == latest_schema_version() == len(load_migrations()) >= 2
        assert (await db._fetchone("PRAGMA foreign_keys"))[0] == 1
        assert (await db._fetchone("PRAGMA busy_timeout"))[0] == 5000
        assert (await db._fetchone("PRAGMA synchronous"))[0] == 1  # NORMAL
        assert await integrity_ok(db)
        with pytest.raises(AccountNotLinkedError):  # foreign keys are enforced
            await db.tracked.track(1, 2)
    finally:
        await db.close()
    assert raw(path, "PRAGMA journal_mode") == [("wal",)]
    assert raw(path, "PRAGMA user_version") == [(latest_schema_version(),)]
    tables = {r[0] for r in raw(path, "SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"linked_accounts", "tracked_members", "known_players", "player_lookups"} <= tables


async def test_reopening_keeps_data_and_version(tmp_path: Path) -> None:
    path = tmp_path / "bot.db"
    async with await Database.open(path) as db:
        await db.accounts.link(1, XUID, "Someone")
    async with await Database.open(path) as db:
        assert db.schema_version == latest_schema_version()
        assert (await db.accounts.get(1)).gamertag == "Someone"


async def test_memory_database_works() -> None:
    async with await Database.open(":memory:") as db:
        await db.accounts.link(1, XUID, "Someone")
        assert await db.accounts.count() == 1
    assert db.closed


async def test_garbage_file_raises_storage_error(tmp_path: Path) -> None:
    path = tmp_path / "bot.db"
    path.write_bytes(b"this is not a database" * 200)
    before = set(threading.enumerate())
    with pytest.raises(StorageError, match="not a database"):
        await Database.open(path)
    for thread in set(threading.enumerate()) - before:
        thread.join(timeout=5)
        assert not thread.is_alive()


async def test_upgrade_from_version_1_keeps_rows(tmp_path: Path) -> None:
    path = tmp_path / "bot.db"
    build_v1(path)
    assert raw(path, "PRAGMA user_version") == [(1,)]
    async with await Database.open(path) as db:
        assert db.schema_version == latest_schema_version()
        account = await db.accounts.get(10)
        assert account is not None and account.gamertag == "OldTimer"
        assert [m.user_id for m in await db.tracked.list_for_guild(77)] == [10]
        assert (await db.guilds.get(77)).announce_channel_id == 555
        latest = await db.snapshots.latest(XUID, "ranked")
        assert latest is not None and latest.value == 1234
        stored = await announcement(db, "k1")
        assert stored is not None and stored.payload == {"a": 1}
        # the 0002 tables work
        await db.players.remember(XUID, "OldTimer")
        await db.players.record_lookups([(77, 10, XUID, datetime.now(UTC))])
        assert await db.players.recent_lookups(77) == [(XUID, "OldTimer")]
        assert await integrity_ok(db)
    indexes = {r[0] for r in raw(path, "SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert "linked_accounts_xuid" in indexes


async def test_upgrade_from_version_2_adds_rank_roles_and_keeps_settings(
    tmp_path: Path,
) -> None:
    path = tmp_path / "bot.db"
    build_v1(path)
    with contextlib.closing(sqlite3.connect(path)) as conn:
        conn.executescript(load_migrations()[1].sql)
        conn.executescript(
            """
            PRAGMA user_version = 2;
            UPDATE guild_settings SET admin_role_id = 999, channel_problem = 'gone'
                WHERE guild_id = 77;
            """
        )
    async with await Database.open(path) as db:
        assert db.schema_version == latest_schema_version() >= 3
        settings = await db.guilds.get(77)
        assert (settings.announce_channel_id, settings.admin_role_id) == (555, 999)
        assert settings.channel_problem == "gone"
        assert (settings.rank_role_playlist, settings.role_problem) == (None, None)
        # the 0003 columns and tables work
        await db.guilds.update(77, rank_role_playlist="slayer")
        await db.guilds.set_role_problem(77, "no Manage Roles")
        settings = await db.guilds.get(77)
        assert (settings.rank_role_playlist, settings.role_problem) == ("slayer", "no Manage Roles")
        assert settings.channel_problem == "gone"
        await db.rank_roles.set_role(77, "Onyx", 1234)
        await db.rank_roles.record_grant(77, 10, 1234)
        assert await db.rank_roles.mapping(77) == {"Onyx": 1234}
        assert await db.rank_roles.granted(77) == {10: {1234}}
        assert await integrity_ok(db)


async def test_too_new_database_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "bot.db"
    with contextlib.closing(sqlite3.connect(path)) as conn:
        conn.execute("CREATE TABLE future (x)")
        conn.execute("PRAGMA user_version = 99")
    with pytest.raises(SchemaTooNewError, match="99"):
        await Database.open(path)
    assert raw(path, "PRAGMA user_version") == [(99,)]
    assert raw(path, "PRAGMA journal_mode") == [("delete",)]


async def test_failed_migration_leaves_previous_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "bot.db"
    async with await Database.open(path) as db:
        await db.accounts.link(1, XUID, "Keeper")
    original = latest_schema_version()
    bad = Migration(
        original + 1,
        "9999_bad.sql",
        "CREATE TABLE half_done (x INTEGER);\nINSERT INTO no_such_table VALUES (1);\n",
    )
    monkeypatch.setattr(database_module, "load_migrations", lambda: (*load_migrations(), bad))
    with pytest.raises(MigrationError, match=r"9999_bad\.sql"):
        await Database.open(path)
    assert raw(path, "PRAGMA user_version") == [(original,)]
    assert raw(path, "SELECT name FROM sqlite_master WHERE name = 'half_done'") == []
    assert raw(path, "SELECT gamertag FROM linked_accounts") == [("Keeper",)]


def test_migrations_are_numbered_without_gaps() -> None:
    migrations = load_migrations()
    assert [m.version for m in migrations] == list(range(1, len(migrations) + 1))
    assert migrations[0].name == "0001_initial.sql"
    for migration in migrations:
        assert migration.statements()  # parses, no forbidden statements


def test_split_sql_respects_strings_comments_and_triggers() -> None:
    script = """
    -- a comment; with a semicolon
    CREATE TABLE t (x TEXT DEFAULT 'a;b');
    /* block; comment */
    CREATE TRIGGER tr AFTER INSERT ON t BEGIN
        UPDATE t SET x = 'c;d';
        DELETE FROM t WHERE x = ';';
    END;
    INSERT INTO t VALUES ('e'); -- trailing
    """
    statements = split_sql(script)
    assert len(statements) == 3
    assert statements[0].endswith("DEFAULT 'a;b');")
    assert statements[1].startswith("/* block; comment */") and statements[1].endswith("END;")
    with pytest.raises(MigrationError):
        split_sql("CREATE TABLE a (x);\nCREATE TABLE b (y)")


@pytest.mark.parametrize(
    "sql", ["BEGIN;", "COMMIT;", "PRAGMA user_version = 5;", "PRAGMA foreign_keys = OFF;"]
)
def test_migrations_may_not_manage_transactions(sql: str) -> None:
    with pytest.raises(MigrationError):
        Migration(3, "0003_x.sql", f"CREATE TABLE a (x);\n{sql}\n").statements()


# --------------------------------------------------------------------------- transactions


async def test_transaction_commits_writes_of_several_repositories(db: Database) -> None:
    async with db.transaction() as tx:
        await db.accounts.link(1, XUID, "Multi", tx=tx)
        assert await db.tracked.track(5, 1, tx=tx)
        assert await db.snapshots.record(snap(), tx=tx)
        assert await db.announcements.add_pending("key", 5, 6, {"v": 1}, tx=tx)
    assert await db.accounts.count() == 1
    assert await db.tracked.count_for_guild(5) == 1
    assert (await db.snapshots.latest(XUID, "ranked")).value == 1500
    assert [a.key for a in await db.announcements.pending()] == ["key"]


async def test_exception_rolls_back_every_repository(db: Database) -> None:
    await db.accounts.link(1, XUID, "Before")
    with pytest.raises(RuntimeError, match="boom"):
        async with db.transaction() as tx:
            await db.accounts.link(1, "42", "After", tx=tx)
            await db.accounts.link(2, "43", "New", tx=tx)
            await db.tracked.track(5, 2, tx=tx)
            await db.snapshots.record(snap(), tx=tx)
            await db.announcements.add_pending("key", 5, 6, {}, tx=tx)
            raise RuntimeError("boom")
    assert (await db.accounts.get(1)).gamertag == "Before"
    assert await db.accounts.get(2) is None
    assert await db.tracked.memberships() == []
    assert await db.snapshots.latest(XUID, "ranked") is None
    assert await announcement(db, "key") is None
    # the connection is usable afterwards
    async with db.transaction() as tx:
        await db.accounts.link(3, "44", "Later", tx=tx)
    assert await db.accounts.count() == 2


async def test_calls_without_tx_inside_a_transaction_join_it(db: Database) -> None:
    async def body() -> None:
        async with db.transaction():
            await db.accounts.link(1, XUID, "Joined")  # no tx=: must not deadlock
            async with db.transaction():  # nested: joins, does not commit
                await db.tracked.track(9, 1)
            assert await db.accounts.count() == 1  # reads see the open transaction
            raise RuntimeError("undo")

    with pytest.raises(RuntimeError):
        await asyncio.wait_for(body(), timeout=5)
    assert await db.accounts.count() == 0
    assert await db.tracked.count_for_guild(9) == 0


async def test_other_tasks_never_see_uncommitted_writes(db: Database) -> None:
    inside = asyncio.Event()

    async def writer() -> None:
        with contextlib.suppress(RuntimeError):
            async with db.transaction() as tx:
                await db.accounts.link(1, XUID, "Uncommitted", tx=tx)
                inside.set()
                await asyncio.sleep(0.05)
                raise RuntimeError("rolled back")

    async def reader() -> object:
        await inside.wait()
        return await db.accounts.get(1)

    _, seen = await asyncio.gather(writer(), reader())
    assert seen is None


async def test_transactions_are_serialized(db: Database) -> None:
    async def next_user() -> None:
        async with db.transaction() as tx:
            n = await db.accounts.count(tx=tx)
            await asyncio.sleep(0)  # give other writers a chance to interleave
            await db.accounts.link(n + 1, str(1000 + n), f"gt{n}", tx=tx)

    await asyncio.gather(*(next_user() for _ in range(50)))
    assert await db.accounts.count() == 50
    assert await count(db, "linked_accounts", "user_id BETWEEN ? AND ?", 1, 50) == 50


async def test_cancelled_transaction_rolls_back(db: Database) -> None:
    inside = asyncio.Event()

    async def slow() -> None:
        async with db.transaction() as tx:
            await db.accounts.link(1, XUID, "Cancelled", tx=tx)
            inside.set()
            await asyncio.sleep(60)

    task = asyncio.create_task(slow())
    await inside.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await db.accounts.get(1) is None
    await db.accounts.link(2, XUID, "After")
    assert await db.accounts.count() == 1


async def test_finished_or_foreign_transactions_are_rejected(db: Database, tmp_path: Path) -> None:
    async with db.transaction() as tx:
        pass
    with pytest.raises(StorageError, match="finished"):
        await db.accounts.link(1, XUID, "Late", tx=tx)
    other = await Database.open(tmp_path / "other.db")
    try:
        async with other.transaction() as foreign:
            with pytest.raises(StorageError, match=r"another database|not a transaction"):
                await db.accounts.link(1, XUID, "Wrong", tx=foreign)
    finally:
        await other.close()
    assert await db.accounts.count() == 0


async def test_closed_database_raises(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "bot.db")
    await db.close()
    await db.close()  # twice is fine
    with pytest.raises(StorageError, match="closed"):
        await db.accounts.count()
    with pytest.raises(StorageError, match="closed"):
        async with db.transaction():
            pass


async def test_the_integrity_check_sees_foreign_key_violations(tmp_path: Path) -> None:
    path = tmp_path / "bot.db"
    async with await Database.open(path) as db:
        assert await integrity_ok(db)
    with contextlib.closing(sqlite3.connect(path)) as conn:  # foreign keys off by default
        conn.execute("INSERT INTO tracked_members VALUES (1, 999, '2024-01-01T00:00:00.000000Z')")
        conn.commit()
    async with await Database.open(path) as db:
        assert not await integrity_ok(db)


async def test_200_concurrent_writers_all_land(db: Database) -> None:
    async def member(i: int) -> None:
        xuid = str(2533274800000000 + i)
        await db.accounts.link(i, xuid, f"Player{i}")
        assert await db.tracked.track(i % 7 + 1, i)
        assert await db.snapshots.record(snap(xuid, 1000 + i, T0 + timedelta(minutes=i)))

    await asyncio.gather(*(member(i) for i in range(1, 201)))
    assert await db.accounts.count() == 200
    assert len(await db.tracked.memberships()) == 200
    assert len(await db.tracked.unique_xuids()) == 200
    assert await count(db, "rank_snapshots") == 200
    assert await integrity_ok(db)


# --------------------------------------------------------------------------- crash safety

CRASH_IN_TRANSACTION = """
    import asyncio, os, signal, sys
    from datetime import UTC, datetime, timedelta
    from bot.storage import Database, Snapshot

    async def main() -> None:
        db = await Database.open(sys.argv[1])
        async with db.transaction() as tx:
            await db.accounts.link(1, "999", "Changed", tx=tx)  # overwrite committed row
            for i in range(2, 200):
                await db.accounts.link(i, str(1000 + i), f"New{i}", tx=tx)
                await db.tracked.track(3, i, tx=tx)
            t0 = datetime(2025, 1, 1, tzinfo=UTC)
            for i in range(4000):  # enough to spill uncommitted pages into the WAL file
                await db.snapshots.record(Snapshot(
                    "777", "ranked", "S1", i, "x" * 400, 1, 0, None, None,
                    t0 + timedelta(seconds=i)), tx=tx)
            print("ready", flush=True)
            os.kill(os.getpid(), signal.SIGKILL)

    asyncio.run(main())
"""


async def test_kill_before_commit_leaves_no_trace(tmp_path: Path) -> None:
    path = tmp_path / "bot.db"
    async with await Database.open(path) as db:
        await db.accounts.link(1, XUID, "Committed")
        await db.tracked.track(3, 1)
        await db.snapshots.record(snap())
    assert wal_size(path) == -1  # a clean close checkpoints and removes the WAL

    code = await run_python(CRASH_IN_TRANSACTION, str(path))
    assert code == -signal.SIGKILL
    assert wal_size(path) > 100_000  # uncommitted pages really reached the disk

    async with await Database.open(path) as db:
        assert await integrity_ok(db)
        assert await db.accounts.count() == 1
        assert (await db.accounts.get(1)).gamertag == "Committed"
        assert [m.user_id for m in await db.tracked.list_for_guild(3)] == [1]
        assert await count(db, "rank_snapshots") == 1
        assert await db.snapshots.latest("777", "ranked") is None


CRASH_IN_MIGRATION = """
    import asyncio, os, signal, sys
    import aiosqlite
    from bot.storage import Database

    original = aiosqlite.Connection.execute

    def execute(self, sql, parameters=None):
        if "CREATE INDEX linked_accounts_xuid" in sql:  # part of 0002, after its tables
            print("ready", flush=True)
            os.kill(os.getpid(), signal.SIGKILL)
        return original(self, sql, parameters)

    aiosqlite.Connection.execute = execute
    asyncio.run(Database.open(sys.argv[1]))
"""


async def test_kill_during_migration_keeps_previous_version(tmp_path: Path) -> None:
    path = tmp_path / "bot.db"
    build_v1(path)

    code = await run_python(CRASH_IN_MIGRATION, str(path))
    assert code == -signal.SIGKILL
    assert raw(path, "PRAGMA user_version") == [(1,)]
    assert raw(path, "SELECT name FROM sqlite_master WHERE name = 'known_players'") == []

    async with await Database.open(path) as db:
        assert db.schema_version == latest_schema_version()
        assert (await db.accounts.get(10)).gamertag == "OldTimer"
        assert await integrity_ok(db)
