"""The PostgreSQL engine: one migration history with SQLite, placeholders, locks, failures.

The repository behaviour itself is covered by every ``tests/unit/storage/test_*.py`` test,
which runs on both engines (``tests/support/engines.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from pathlib import Path

import asyncpg
import pytest

from bot.common.errors import ConfigError
from bot.core.config import load_settings
from bot.storage import (
    Database,
    DatabaseInUseError,
    SchemaTooNewError,
    StorageError,
    latest_schema_version,
)
from bot.storage.database import load_migrations
from bot.storage.postgres_backend import redact_url, to_dollar_params
from tests.support.engines import with_search_path
from tests.support.sql import integrity_ok

XUID = "2533274800000001"


async def raw_pg(url: str, sql: str) -> list[asyncpg.Record]:
    """Query with a plain asyncpg connection (no bot code)."""
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetch(sql)
    finally:
        await conn.close()


# --------------------------------------------------------------------------- no server needed


def test_placeholders_become_numbered_outside_quotes_and_comments() -> None:
    sql = (
        "SELECT '?', \"a?b\" FROM t -- why?\n"
        "WHERE x = ? AND y LIKE ? ESCAPE '\\' /* ? */ AND z IN (?, ?) AND w = 'it''s ?'"
    )
    assert to_dollar_params(sql) == (
        "SELECT '?', \"a?b\" FROM t -- why?\n"
        "WHERE x = $1 AND y LIKE $2 ESCAPE '\\' /* ? */ AND z IN ($3, $4) AND w = 'it''s ?'"
    )


def test_urls_are_shown_without_password() -> None:
    assert redact_url("postgresql://bot:s3cret@db.local:5433/halo") == (
        "postgresql://bot:***@db.local:5433/halo"
    )
    assert redact_url("postgresql://root@127.0.0.1/test") == "postgresql://root@127.0.0.1/test"


def test_every_migration_exists_for_both_engines_with_one_numbering() -> None:
    sqlite, postgres = load_migrations(), load_migrations("postgres")
    assert [m.version for m in sqlite] == [m.version for m in postgres]
    assert [m.name.removesuffix(".sql") + ".postgres.sql" for m in sqlite] == [
        m.name for m in postgres
    ]
    for migration in postgres:
        assert migration.statements()  # parses, no transaction control or pragmas


# --------------------------------------------------------------------------- on a server


async def test_fresh_schema_matches_sqlite_tables_and_version(pg_url: str, tmp_path: Path) -> None:
    async with await Database.open(pg_url) as db:
        assert db.dialect == "postgres"
        assert db.schema_version == latest_schema_version()
        assert await integrity_ok(db)
    assert [tuple(r) for r in await raw_pg(pg_url, "SELECT version FROM schema_version")] == [
        (latest_schema_version(),)
    ]
    columns = await raw_pg(
        pg_url,
        "SELECT table_name, column_name FROM information_schema.columns"
        " WHERE table_schema = current_schema() AND table_name <> 'schema_version'"
        " AND column_name <> 'rowid'",
    )
    on_postgres = {(r[0], r[1]) for r in columns}
    path = tmp_path / "bot.db"
    async with await Database.open(path):
        pass
    with contextlib.closing(sqlite3.connect(path)) as conn:
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        on_sqlite = {
            (table, r[1]) for table in tables for r in conn.execute(f"PRAGMA table_info({table})")
        }
    assert on_postgres == on_sqlite


async def test_too_new_schema_is_refused_untouched(pg_url: str) -> None:
    async with await Database.open(pg_url):
        pass
    await raw_pg(pg_url, "UPDATE schema_version SET version = 99")
    with pytest.raises(SchemaTooNewError, match="99"):
        await Database.open(pg_url)
    assert [tuple(r) for r in await raw_pg(pg_url, "SELECT version FROM schema_version")] == [(99,)]


async def test_concurrent_first_opens_migrate_once(pg_url: str) -> None:
    dbs = await asyncio.gather(*(Database.open(pg_url) for _ in range(3)))
    try:
        assert {db.schema_version for db in dbs} == {latest_schema_version()}
        await dbs[0].accounts.link(1, XUID, "Shared")
        assert (await dbs[2].accounts.get(1)).gamertag == "Shared"
    finally:
        for db in dbs:
            await db.close()
    rows = await raw_pg(pg_url, "SELECT version FROM schema_version")
    assert [tuple(r) for r in rows] == [(latest_schema_version(),)]


async def test_a_second_bot_on_the_same_schema_is_refused(pg_url: str) -> None:
    first = await Database.open(pg_url, exclusive=True)
    try:
        with pytest.raises(DatabaseInUseError, match="in use by another bot process"):
            await Database.open(pg_url, exclusive=True)
        async with await Database.open(pg_url) as reader:  # not a bot: allowed
            assert await reader.accounts.count() == 0
    finally:
        await first.close()
    async with await Database.open(pg_url, exclusive=True) as again:
        assert again.schema_version == latest_schema_version()


async def test_an_error_inside_a_transaction_rolls_all_of_it_back(pg_url: str) -> None:
    """PostgreSQL aborts a transaction at its first error: the commit says so instead
    of silently keeping half of the writes."""
    async with await Database.open(pg_url) as db:
        with pytest.raises(StorageError, match="aborted"):
            async with db.transaction() as tx:
                await db.accounts.link(1, XUID, "Before", tx=tx)
                with pytest.raises(StorageError):  # caught by the caller, who carries on
                    await db.tracked.track(5, 999, tx=tx)
        assert await db.accounts.count() == 0
        await db.accounts.link(2, XUID, "After")
        assert await db.accounts.count() == 1


async def test_a_dropped_connection_is_replaced(pg_url: str, pg_server: str) -> None:
    async with await Database.open(pg_url, exclusive=True) as db:
        await db.accounts.link(1, XUID, "Kept")
        pid = (await db._fetchone("SELECT pg_backend_pid()"))[0]
        killed = await raw_pg(pg_server, f"SELECT pg_terminate_backend({int(pid)})")
        assert killed[0][0] is True
        assert (await db.accounts.get(1)).gamertag == "Kept"  # the read is retried once
        await db.accounts.link(2, "2533274800000002", "New")
        assert await db.accounts.count() == 2
        new_pid = (await db._fetchone("SELECT pg_backend_pid()"))[0]
        assert new_pid != pid
        with pytest.raises(DatabaseInUseError):  # the new connection holds the bot lock
            await Database.open(pg_url, exclusive=True)


async def test_a_missing_schema_is_named(pg_server: str) -> None:
    url = with_search_path(pg_server, "no_such_schema")
    for exclusive in (False, True):
        with pytest.raises(StorageError, match="no schema to keep the bot's tables in"):
            await Database.open(url, exclusive=exclusive)


async def test_unreachable_server_is_one_clear_error_without_password() -> None:
    url = "postgresql://bot:hunter2@127.0.0.1:1/halo"
    with pytest.raises(StorageError, match=r"cannot open database postgresql://bot:\*\*\*@") as e:
        await Database.open(url)
    assert "hunter2" not in str(e.value)


# --------------------------------------------------------------------------- both engines


async def test_gamertag_prefix_search_folds_non_ascii_letters(db: Database) -> None:
    names = {1: "Ärger", 2: "ärmel", 3: "Arbiter", 4: "ÉLAN"}
    for user, name in names.items():
        await db.accounts.link(user, str(100 + user), name)
        await db.tracked.track(7, user)
    assert [m.gamertag for m in await db.tracked.linked_in_guild(7, "äR")] == ["Ärger", "ärmel"]
    assert [m.gamertag for m in await db.tracked.linked_in_guild(7, "él")] == ["ÉLAN"]
    listed = [m.gamertag for m in await db.tracked.list_for_guild(7)]
    assert listed == ["Arbiter", "Ärger", "ärmel", "ÉLAN"]  # by folded code points


def test_database_url_setting_selects_postgresql_or_nothing() -> None:
    assert load_settings(None).database_url is None
    assert load_settings(None, database_url="  ").database_url is None
    url = "postgres://bot@127.0.0.1:5432/halo"
    assert load_settings(None, database_url=f" {url} ").database_url == url
    with pytest.raises(ConfigError, match="DATABASE_URL: must be a PostgreSQL URL") as caught:
        load_settings(None, database_url="sqlite:///data/bot.db")
    assert "sqlite:///" not in str(caught.value)  # the value may hold a password: not echoed
