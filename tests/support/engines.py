"""Storage tests run against both engines: SQLite (a file in tmp_path) and PostgreSQL.

The PostgreSQL variant needs ``TEST_DATABASE_URL`` (e.g.
``postgresql://root@127.0.0.1:5432/test``); each test gets its own schema, dropped
after, so tests can run in parallel. Without the variable the PostgreSQL variant is
skipped, or fails when ``REQUIRE_SERVICES=1``.

``tests/conftest.py`` loads this module as a plugin, so any test can ask for ``db`` (an
open, migrated :class:`Database`) or ``db_target`` (what to pass to
:meth:`Database.open`, for tests that reopen); PostgreSQL-only tests ask for
``pg_server``/``pg_url``.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import asyncpg
import pytest

from bot.storage import Database

ENGINES = ("sqlite", "postgres")
SKIP_REASON = "TEST_DATABASE_URL is not set (e.g. postgresql://root@127.0.0.1:5432/test)"


def postgres_url() -> str:
    """``TEST_DATABASE_URL``, or skip (fail with ``REQUIRE_SERVICES=1``)."""
    url = os.environ.get("TEST_DATABASE_URL", "").strip()
    if not url:
        if os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail(f"REQUIRE_SERVICES=1 but {SKIP_REASON}")
        pytest.skip(SKIP_REASON)
    return url


def with_search_path(url: str, schema: str) -> str:
    """``url`` whose connections use ``schema`` (asyncpg passes the query on as a setting)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "search_path"]
    query.append(("search_path", schema))
    return urlunsplit(parts._replace(query=urlencode(query)))


@asynccontextmanager
async def postgres_schema(url: str) -> AsyncIterator[str]:
    """A fresh schema on the server at ``url``; yields a URL that uses it, drops it after."""
    schema = f"test_{uuid.uuid4().hex[:16]}"
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(f'CREATE SCHEMA "{schema}"')
    finally:
        await conn.close()
    try:
        yield with_search_path(url, schema)
    finally:
        conn = await asyncpg.connect(url)
        try:
            await conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
        finally:
            await conn.close()


@pytest.fixture(name="pg_server")
def postgres_server_url() -> Iterator[str]:
    """The PostgreSQL server for tests (skips without ``TEST_DATABASE_URL``)."""
    yield postgres_url()


@pytest.fixture(name="pg_url")
async def postgres_schema_url(pg_server: str) -> AsyncIterator[str]:
    """A URL on the test server whose connections use a fresh, empty schema."""
    async with postgres_schema(pg_server) as url:
        yield url


@pytest.fixture(name="db_target", params=ENGINES)
async def engine_target(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """What to open: a SQLite file path, or a PostgreSQL URL with a schema of its own."""
    if request.param == "sqlite":
        yield str(tmp_path / "bot.db")
        return
    async with postgres_schema(postgres_url()) as url:
        yield url


@pytest.fixture(name="db")
async def engine_db(db_target: str) -> AsyncIterator[Database]:
    """An open database on each engine, closed after the test (leaving no thread behind)."""
    before = set(threading.enumerate())
    database = await Database.open(db_target)
    yield database
    await database.close()
    for thread in set(threading.enumerate()) - before:
        thread.join(timeout=5)
        assert not thread.is_alive(), f"leaked thread {thread!r}"
