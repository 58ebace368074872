"""The database: one shared connection, migrations and transactions.

The engine is SQLite (a file path) or PostgreSQL (a ``postgresql://`` URL); see
:mod:`bot.storage.backend`. One connection is shared by every coroutine, so all access is
serialized by an :class:`asyncio.Lock`: a write transaction holds it from
``BEGIN`` (SQLite: ``BEGIN IMMEDIATE``) to ``COMMIT``/``ROLLBACK`` and reads take it
for one statement, so nobody ever sees another coroutine's uncommitted writes.
On PostgreSQL a failed statement aborts its whole transaction: the commit then raises
:class:`StorageError` and nothing of it is kept, even if the caller caught the error.

Joining transactions: repository methods that write accept ``tx=``::

    async with db.transaction() as tx:
        await db.snapshots.record(snap, tx=tx)
        await db.announcements.add_pending(key, guild_id, channel_id, payload, tx=tx)

Inside the block, repository calls *without* ``tx=`` (and nested
``db.transaction()`` blocks) made by the same task, or by tasks it starts,
join the open transaction too instead of deadlocking on the lock. Only the
outermost block commits; an exception escaping it rolls everything back. Do
not await network calls inside a transaction: it blocks every other query.
"""

from __future__ import annotations

import asyncio
import contextvars
import importlib.resources
import logging
import re
import sqlite3  # only for sqlite3.complete_statement
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import TracebackType
from typing import Self

from bot.storage.accounts import LinkedAccounts
from bot.storage.announcements import Announcements
from bot.storage.backend import Backend, Dialect, Params, Row, is_postgres_url
from bot.storage.cycle_leases import RankCycleLeases
from bot.storage.departures import DepartedGuilds
from bot.storage.guild_settings import GuildSettingsRepo
from bot.storage.models import (
    MigrationError,
    SchemaTooNewError,
    StorageError,
)
from bot.storage.players import KnownPlayers
from bot.storage.rank_roles import RankRoles
from bot.storage.schedule import PollSchedule
from bot.storage.snapshots import RankSnapshots
from bot.storage.tracked import TrackedMembers
from bot.storage.verification import LinkVerifications

log = logging.getLogger(__name__)

#: ``NNNN_name.sql`` is the SQLite migration, ``NNNN_name.postgres.sql`` its PostgreSQL twin.
_MIGRATION_FILE = re.compile(r"^(\d{4})_[A-Za-z0-9_]+(\.postgres)?\.sql$")
_COMMENTS = re.compile(r"--[^\n]*|/\*.*?\*/", re.DOTALL)
_FORBIDDEN_IN_MIGRATION = re.compile(
    r"^\s*(BEGIN|COMMIT|END|ROLLBACK|SAVEPOINT|RELEASE|VACUUM|ATTACH|DETACH)\b"
    r"|\buser_version\b|\bjournal_mode\b|\bforeign_keys\s*=",
    re.IGNORECASE,
)

_active_tx: contextvars.ContextVar[Transaction | None] = contextvars.ContextVar(
    "bot_storage_transaction", default=None
)


# --------------------------------------------------------------------------- migrations


@dataclass(frozen=True, slots=True)
class Migration:
    """One ``bot/storage/migrations/NNNN_name.sql`` file."""

    version: int
    name: str
    sql: str

    def statements(self) -> list[str]:
        """The file split into single statements (checked for forbidden ones)."""
        statements = split_sql(self.sql)
        for statement in statements:
            if _FORBIDDEN_IN_MIGRATION.search(_COMMENTS.sub(" ", statement)):
                raise MigrationError(
                    f"{self.name}: transaction control, user_version and connection "
                    f"pragmas are managed by the migration runner: {statement[:80]!r}"
                )
        return statements


def _has_code(text: str) -> bool:
    return bool(_COMMENTS.sub(" ", text).replace(";", " ").strip())


def split_sql(script: str) -> list[str]:
    """Split an SQL script into complete statements (semicolons in strings/triggers kept)."""
    statements: list[str] = []
    buffer = ""
    parts = script.split(";")
    for part in parts[:-1]:
        buffer += part + ";"
        if sqlite3.complete_statement(buffer):
            if _has_code(buffer):
                statements.append(buffer.strip())
            buffer = ""
    if _has_code(buffer + parts[-1]):
        raise MigrationError("SQL script ends with an unterminated statement")
    return statements


@cache
def _migration_files() -> dict[Dialect, tuple[Migration, ...]]:
    """Every packaged migration per engine, checked to form one numbered history."""
    root = importlib.resources.files("bot.storage").joinpath("migrations")
    found: dict[Dialect, dict[int, Migration]] = {"sqlite": {}, "postgres": {}}
    for entry in root.iterdir():
        match = _MIGRATION_FILE.match(entry.name)
        if match is None:
            continue
        version = int(match.group(1))
        dialect: Dialect = "postgres" if match.group(2) else "sqlite"
        if version in found[dialect]:
            raise MigrationError(f"two {dialect} migrations numbered {version:04d}")
        found[dialect][version] = Migration(version, entry.name, entry.read_text(encoding="utf-8"))
    versions = sorted(found["sqlite"])
    if not versions or versions != list(range(1, len(versions) + 1)):
        raise MigrationError(f"migrations must be numbered 0001, 0002, ... got {versions}")
    for version in versions:  # one history: each step exists for both engines, same name
        twin = found["postgres"].get(version)
        expected = found["sqlite"][version].name.removesuffix(".sql") + ".postgres.sql"
        if twin is None or twin.name != expected:
            raise MigrationError(f"{expected} is missing: every migration needs both engines")
    if sorted(found["postgres"]) != versions:
        raise MigrationError(f"PostgreSQL migrations without a SQLite twin: {found['postgres']}")
    return {d: tuple(found[d][v] for v in versions) for d in ("sqlite", "postgres")}


def load_migrations(dialect: Dialect = "sqlite") -> tuple[Migration, ...]:
    """The engine's migrations, ordered; they must be numbered 0001, 0002, ... without
    gaps, each as ``NNNN_name.sql`` (SQLite) and ``NNNN_name.postgres.sql``."""
    return _migration_files()[dialect]


def latest_schema_version() -> int:
    """The schema version this code creates and understands (the same for both engines)."""
    return load_migrations()[-1].version


# --------------------------------------------------------------------------- transaction


class Transaction:
    """An open write transaction; opaque. Pass it as ``tx=`` to repository methods."""

    __slots__ = ("_db", "_open")

    def __init__(self, db: Database) -> None:
        self._db = db
        self._open = True

    def __repr__(self) -> str:
        return f"<Transaction {'open' if self._open else 'finished'}>"


# --------------------------------------------------------------------------- database


class Database:
    """The bot's database. Create with :meth:`open`, finish with :meth:`close`."""

    accounts: LinkedAccounts
    guilds: GuildSettingsRepo
    tracked: TrackedMembers
    snapshots: RankSnapshots
    announcements: Announcements
    players: KnownPlayers
    rank_roles: RankRoles
    verification: LinkVerifications
    cycle_leases: RankCycleLeases
    schedule: PollSchedule
    departures: DepartedGuilds

    def __init__(self, backend: Backend) -> None:
        """Use :meth:`open` instead."""
        self._backend: Backend | None = backend
        self._path = backend.target
        self.dialect: Dialect = backend.dialect
        self._lock = asyncio.Lock()
        self._schema_version = 0
        self.accounts = LinkedAccounts(self)
        self.guilds = GuildSettingsRepo(self)
        self.tracked = TrackedMembers(self)
        self.snapshots = RankSnapshots(self)
        self.announcements = Announcements(self)
        self.players = KnownPlayers(self)
        self.rank_roles = RankRoles(self)
        self.verification = LinkVerifications(self)
        self.cycle_leases = RankCycleLeases(self)
        self.schedule = PollSchedule(self)
        self.departures = DepartedGuilds(self)

    # ---------------------------------------------------------------- lifecycle

    @classmethod
    async def open(
        cls,
        target: Path | str,
        *,
        exclusive: bool = False,
        shards: tuple[int, ...] | None = None,
    ) -> Database:
        """Open (creating if needed) and migrate the database at ``target``.

        ``target`` is a SQLite file path (or ``":memory:"``) or a ``postgresql://`` URL.
        ``exclusive`` (the bot process) refuses to open a database that another bot
        process holds (:class:`~bot.storage.backend.DatabaseInUseError`). With
        ``shards`` (the Discord shards the bot process runs), PostgreSQL lets bot
        processes running other shards share the database; a SQLite file is always
        one process's.
        """
        backend: Backend
        if is_postgres_url(target):
            from bot.storage.postgres_backend import PostgresBackend

            backend = await PostgresBackend.open(str(target), exclusive=exclusive, shards=shards)
        else:
            from bot.storage.sqlite_backend import SqliteBackend

            backend = await SqliteBackend.open(str(target), exclusive=exclusive)
        db = cls(backend)
        try:
            await db._setup()
        except BaseException:
            await db._close_connection()
            raise
        log.info("database %s open at schema version %d", db._path, db._schema_version)
        return db

    async def _setup(self) -> None:
        backend = self._require_backend()
        await backend.prepare()
        latest = latest_schema_version()
        current = await backend.schema_version()
        if current > latest:
            raise SchemaTooNewError(
                f"database {self._path} has schema version {current} but this bot only "
                f"knows up to {latest}; run a newer version of the bot (refusing to open it)"
            )
        await backend.configure()
        await self._migrate(latest)

    async def close(self) -> None:
        """Close the connection; waits for a running transaction. Safe to call twice."""
        if self._backend is None:
            return
        async with self._lock:
            if self._backend is None:
                return
            backend, self._backend = self._backend, None
            await backend.close()
        log.info("database %s closed", self._path)

    async def _close_connection(self) -> None:
        """After a failed open: close without tidying (nothing more is written)."""
        backend, self._backend = self._backend, None
        if backend is not None:
            await backend.close(tidy=False)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    @property
    def path(self) -> str:
        """What :meth:`open` was given: the file path, or the URL without its password."""
        return self._path

    @property
    def schema_version(self) -> int:
        """The schema version after migrations (SQLite: ``PRAGMA user_version``)."""
        return self._schema_version

    @property
    def closed(self) -> bool:
        """True after :meth:`close`."""
        return self._backend is None

    # ---------------------------------------------------------------- migrations

    def _migrations(self) -> tuple[Migration, ...]:
        return load_migrations() if self.dialect == "sqlite" else load_migrations(self.dialect)

    async def _migrate(self, latest: int) -> None:
        current = await self._require_backend().schema_version()
        for migration in self._migrations():
            if migration.version > current:
                await self._apply_migration(migration)
        self._schema_version = await self._require_backend().schema_version()
        if self._schema_version != latest:
            raise MigrationError(f"schema version {self._schema_version}, expected {latest}")

    async def _apply_migration(self, migration: Migration) -> None:
        """Apply one migration and bump the schema version in the same transaction."""
        statements = migration.statements()
        backend = self._require_backend()
        async with self._lock:
            await backend.begin_migration()
            try:
                version = await backend.schema_version()
                if version >= migration.version:  # another process got there first
                    await backend.rollback()
                    return
                if version != migration.version - 1:
                    raise MigrationError(f"cannot apply {migration.name} to version {version}")
                for statement in statements:
                    await backend.execute(statement)
                violations = await backend.check_migration()
                if violations:
                    raise MigrationError(f"{violations} foreign key violations")
                await backend.set_schema_version(migration.version)
                await backend.commit()
            except BaseException as exc:
                await self._rollback_quietly()
                if isinstance(exc, StorageError) and not isinstance(exc, MigrationError):
                    raise MigrationError(f"migration {migration.name} failed: {exc}") from exc
                raise
        log.info("applied migration %s to %s", migration.name, self._path)

    # ---------------------------------------------------------------- transactions

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        """``async with db.transaction() as tx:`` — begin (SQLite: BEGIN IMMEDIATE),
        commit or roll back.

        Joins the transaction already open in this task (see the module docstring).
        """
        joined = self._joined(None)
        if joined is not None:
            yield joined
            return
        async with self._lock:
            backend = self._require_backend()
            if backend.in_transaction:
                log.warning("rolling back a transaction left open on %s", self._path)
                await self._rollback_quietly()
            await backend.begin()
            tx = Transaction(self)
            token = _active_tx.set(tx)
            try:
                try:
                    yield tx
                except BaseException:
                    tx._open = False
                    await self._rollback_quietly()
                    raise
                tx._open = False
                try:
                    await backend.commit()
                except BaseException:
                    await self._rollback_quietly()
                    raise
            finally:
                tx._open = False
                _active_tx.reset(token)

    async def _rollback_quietly(self) -> None:
        backend = self._backend
        if backend is None or not backend.in_transaction:
            return
        try:
            await backend.rollback()
        except StorageError:
            log.exception("ROLLBACK failed on %s", self._path)

    def _joined(self, tx: Transaction | None) -> Transaction | None:
        """The transaction to run in: ``tx`` (validated), this task's open one, or None."""
        if tx is not None:
            if not isinstance(tx, Transaction) or tx._db is not self:
                raise StorageError("tx is not a transaction of this database")
            if not tx._open:
                raise StorageError("tx is finished; use it only inside its 'async with' block")
            return tx
        current = _active_tx.get()
        if current is not None and current._db is self and current._open:
            return current
        return None

    @asynccontextmanager
    async def _writing(self, tx: Transaction | None) -> AsyncIterator[Transaction]:
        """For repositories: run inside ``tx`` if given, else in a new (or joined) transaction."""
        joined = self._joined(tx)
        if joined is not None:
            yield joined
            return
        async with self.transaction() as new:
            yield new

    # ---------------------------------------------------------------- statements (repositories)

    async def _execute(self, tx: Transaction, sql: str, params: Params = ()) -> int:
        """Run a write statement inside ``tx``; returns the number of changed rows."""
        self._joined(tx)
        return await self._require_backend().execute(sql, params)

    async def _execute_many(self, tx: Transaction, sql: str, rows: Sequence[Params]) -> int:
        """Run one write statement for many parameter rows inside ``tx``."""
        self._joined(tx)
        return await self._require_backend().execute_many(sql, rows)

    async def _fetchone(
        self, sql: str, params: Params = (), tx: Transaction | None = None
    ) -> Row | None:
        joined = self._joined(tx)
        if joined is not None:
            return await self._require_backend().fetchone(sql, params)
        async with self._lock:
            return await self._require_backend().fetchone(sql, params)

    async def _fetchall(
        self, sql: str, params: Params = (), tx: Transaction | None = None
    ) -> list[Row]:
        joined = self._joined(tx)
        if joined is not None:
            return await self._require_backend().fetchall(sql, params)
        async with self._lock:
            return await self._require_backend().fetchall(sql, params)

    def _require_backend(self) -> Backend:
        if self._backend is None:
            raise StorageError("the database is closed")
        return self._backend
