"""The PostgreSQL engine: one asyncpg connection to ``DATABASE_URL``.

Statements come written for both engines with ``?`` placeholders and are translated
to ``$1, $2, ...`` here (once per distinct statement). The schema version lives in a
one-row ``schema_version`` table; migrations run under a transaction-scoped advisory
lock so two processes never migrate at once, and a bot process holds session advisory
locks so a second bot on the same database (and schema) refuses to start: one lock for
the whole database, or, for a bot that runs shards, that lock shared plus one lock per
shard, so instances running different shards share the database and ``migrate-db``
still finds it busy.
Unknown URL query parameters become server settings (asyncpg), so
``?search_path=halo`` keeps the bot's tables in the schema ``halo``.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from bot.storage.backend import Dialect, Params, Row
from bot.storage.models import ConstraintError, DatabaseInUseError, StorageError

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_SECONDS = 10
#: Advisory lock keys are ``hashtext(current_schema() || suffix)``: one per schema.
_MIGRATION_LOCK = "/halo-bot/migrate"
_INSTANCE_LOCK = "/halo-bot/instance"
_SHARD_LOCK = "/halo-bot/shard/"
T = TypeVar("T")
_ERRORS = (
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
    OSError,
    TimeoutError,
)
#: Errors that mean the server or the network dropped the connection.
_CONNECTION_LOST = (
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
    asyncpg.InternalClientError,
    OSError,
)


def redact_url(url: str) -> str:
    """``url`` without its password, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    user = f"{parts.username}:***@" if parts.username else ":***@"
    return urlunsplit(parts._replace(netloc=user + host))


@functools.lru_cache(maxsize=1024)
def to_dollar_params(sql: str) -> str:
    """``?`` placeholders to ``$1, $2, ...``; quoted text and comments are left alone."""
    out: list[str] = []
    number = 0
    i, n = 0, len(sql)
    while i < n:
        ch = sql[i]
        if ch in "'\"":
            end = i + 1
            while end < n:
                if sql[end] == ch:
                    if end + 1 < n and sql[end + 1] == ch:  # doubled quote inside
                        end += 2
                        continue
                    break
                end += 1
            out.append(sql[i : end + 1])
            i = end + 1
        elif sql.startswith("--", i):
            end = sql.find("\n", i)
            end = n if end < 0 else end
            out.append(sql[i:end])
            i = end
        elif sql.startswith("/*", i):
            end = sql.find("*/", i + 2)
            end = n if end < 0 else end + 2
            out.append(sql[i:end])
            i = end
        elif ch == "?":
            number += 1
            out.append(f"${number}")
            i += 1
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def _rowcount(status: str) -> int:
    """Rows changed, from a command tag such as ``INSERT 0 1`` or ``UPDATE 3``."""
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else 0


def _convert(exc: BaseException) -> StorageError:
    if isinstance(exc, asyncpg.IntegrityConstraintViolationError):
        return ConstraintError(str(exc))
    return StorageError(f"database error: {exc.__class__.__name__}: {exc}")


class PostgresBackend:
    """A :class:`~bot.storage.backend.Backend` on one PostgreSQL connection."""

    dialect: Dialect = "postgres"

    def __init__(
        self,
        url: str,
        conn: asyncpg.Connection,
        *,
        exclusive: bool,
        shards: tuple[int, ...] | None = None,
    ) -> None:
        """Use :meth:`open` instead."""
        self._url = url
        self._conn: asyncpg.Connection | None = conn
        self._exclusive = exclusive
        self._shards = shards

    @classmethod
    async def open(
        cls, url: str, *, exclusive: bool = False, shards: tuple[int, ...] | None = None
    ) -> PostgresBackend:
        """Connect to ``url``; ``exclusive`` takes the bot's advisory lock: the whole
        database, or with ``shards`` (a bot process's Discord shards) only those."""
        conn = await _connect(url)
        backend = cls(url, conn, exclusive=exclusive, shards=shards)
        try:
            if exclusive:
                await backend._take_instance_lock()
        except BaseException:
            await backend.close()
            raise
        return backend

    # ---------------------------------------------------------------- lifecycle

    @property
    def target(self) -> str:
        return redact_url(self._url)

    @property
    def closed(self) -> bool:
        return self._conn is None

    @property
    def in_transaction(self) -> bool:
        return self._conn is not None and self._conn.is_in_transaction()

    async def _require_schema(self) -> str:
        """The schema the bot's tables live in (the first of search_path that exists)."""
        row = await self.fetchone("SELECT current_schema(), current_setting('search_path')")
        if row is None or row[0] is None:
            path = row[1] if row is not None else "?"
            raise StorageError(
                f"database {self.target} has no schema to keep the bot's tables in "
                f"(search_path {path}): create that schema, or use a database with 'public'"
            )
        return str(row[0])

    async def _take_instance_lock(self) -> None:
        schema = await self._require_schema()
        if self._shards is None:
            row = await self.fetchone(
                "SELECT pg_try_advisory_lock(hashtext(? || ?))", (schema, _INSTANCE_LOCK)
            )
            if row is None or not row[0]:
                raise DatabaseInUseError(
                    f"database {self.target} (schema {schema}) is in use by another bot "
                    "process; stop that process first, or give this one its own database "
                    "or search_path"
                )
            return
        row = await self.fetchone(
            "SELECT pg_try_advisory_lock_shared(hashtext(? || ?))", (schema, _INSTANCE_LOCK)
        )
        if row is None or not row[0]:
            raise DatabaseInUseError(
                f"database {self.target} (schema {schema}) is in use by another bot process "
                "that has it to itself (halo-bot migrate-db?); wait for it to finish"
            )
        for shard in self._shards:
            row = await self.fetchone(
                "SELECT pg_try_advisory_lock(hashtext(? || ?))",
                (schema, f"{_SHARD_LOCK}{shard}"),
            )
            if row is None or not row[0]:
                raise DatabaseInUseError(
                    f"database {self.target} (schema {schema}) is in use by another bot "
                    f"process running shard {shard}; give each instance other SHARD_IDS"
                )

    async def prepare(self) -> None:
        """Create the ``schema_version`` table (under the migration lock)."""
        await self._require_schema()
        await self.begin_migration()
        try:
            await self.execute(
                "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"
            )
            await self.commit()
        except BaseException:
            await self.rollback()
            raise

    async def configure(self) -> None:
        return None

    async def close(self, *, tidy: bool = True) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                await conn.close(timeout=5)
            except _ERRORS:
                conn.terminate()

    # ---------------------------------------------------------------- schema version

    async def schema_version(self) -> int:
        row = await self.fetchone("SELECT max(version) FROM schema_version")
        return int(row[0]) if row is not None and row[0] is not None else 0

    async def set_schema_version(self, version: int) -> None:
        await self.execute("DELETE FROM schema_version")
        await self.execute("INSERT INTO schema_version (version) VALUES (?)", (int(version),))

    async def check_migration(self) -> int:
        return 0  # PostgreSQL checks foreign keys at every statement

    # ---------------------------------------------------------------- transactions

    async def begin(self) -> None:
        await self._once_more_if_dropped(self._status, "BEGIN")

    async def begin_migration(self) -> None:
        await self.begin()
        await self.execute(
            "SELECT pg_advisory_xact_lock(hashtext(current_schema() || ?))", (_MIGRATION_LOCK,)
        )

    async def commit(self) -> None:
        status = await self._status("COMMIT")
        if status != "COMMIT":  # an earlier error aborted the transaction
            raise StorageError("the transaction was aborted by an earlier error; rolled back")

    async def rollback(self) -> None:
        await self._status("ROLLBACK")

    async def _reconnect_if_lost(self) -> None:
        """Outside a transaction, replace a connection the server dropped."""
        conn = self._require_conn()
        if not conn.is_closed():
            return
        log.warning("connection to %s was lost; reconnecting", self.target)
        self._conn = await _connect(self._url)
        if self._exclusive:
            await self._take_instance_lock()

    # ---------------------------------------------------------------- statements

    def _require_conn(self) -> asyncpg.Connection:
        if self._conn is None:
            raise StorageError("the database is closed")
        return self._conn

    async def _status(self, sql: str, params: Params = ()) -> str:
        conn = self._require_conn()
        try:
            status: str = await conn.execute(to_dollar_params(sql), *params)
        except _ERRORS as exc:
            raise _convert(exc) from exc
        return status

    async def execute(self, sql: str, params: Params = ()) -> int:
        if not self.in_transaction:
            await self._reconnect_if_lost()
        return _rowcount(await self._status(sql, params))

    async def execute_many(self, sql: str, rows: Sequence[Params]) -> int:
        return sum([await self.execute(sql, row) for row in rows])

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        row: Row | None = await self._once_more_if_dropped(self._fetchrow, sql, params)
        return row

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        rows: list[Row] = await self._once_more_if_dropped(self._fetch, sql, params)
        return rows

    async def _fetchrow(self, sql: str, params: Params = ()) -> Row | None:
        try:
            row: Row | None = await self._require_conn().fetchrow(to_dollar_params(sql), *params)
        except _ERRORS as exc:
            raise _convert(exc) from exc
        return row

    async def _fetch(self, sql: str, params: Params = ()) -> list[Row]:
        try:
            rows: list[Any] = await self._require_conn().fetch(to_dollar_params(sql), *params)
        except _ERRORS as exc:
            raise _convert(exc) from exc
        return rows

    async def _once_more_if_dropped(
        self, call: Callable[[str, Params], Awaitable[T]], sql: str, params: Params = ()
    ) -> T:
        """Outside a transaction, a statement that met a connection the server dropped
        runs once more on a new one (reads and BEGIN: nothing was applied)."""
        if self.in_transaction:
            return await call(sql, params)
        await self._reconnect_if_lost()
        try:
            return await call(sql, params)
        except StorageError as exc:
            conn = self._require_conn()
            lost = conn.is_closed() or isinstance(exc.__cause__, _CONNECTION_LOST)
            if self.in_transaction or not lost:
                raise
            conn.terminate()
        await self._reconnect_if_lost()
        return await call(sql, params)

    async def copy_rows(
        self, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]
    ) -> int:
        """Bulk-insert ``rows`` with COPY (for ``halo-bot migrate-db``); how many went in."""
        conn = self._require_conn()
        try:
            await conn.copy_records_to_table(table, records=rows, columns=list(columns))
        except _ERRORS as exc:
            raise _convert(exc) from exc
        return len(rows)


async def _connect(url: str) -> asyncpg.Connection:
    try:
        conn: asyncpg.Connection = await asyncpg.connect(url, timeout=CONNECT_TIMEOUT_SECONDS)
    except (*_ERRORS, ValueError) as exc:
        raise StorageError(
            f"cannot open database {redact_url(url)}: {exc.__class__.__name__}: {exc}"
        ) from exc
    return conn
