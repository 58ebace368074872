"""The SQLite database: one shared connection, migrations and transactions.

One aiosqlite connection is shared by every coroutine, so all access is
serialized by an :class:`asyncio.Lock`: a write transaction holds it from
``BEGIN IMMEDIATE`` to ``COMMIT``/``ROLLBACK`` and reads take it for one
statement, so nobody ever sees another coroutine's uncommitted writes.

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
import sqlite3
import threading
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import aiosqlite

from bot.storage.accounts import LinkedAccounts
from bot.storage.announcements import Announcements
from bot.storage.departures import DepartedGuilds
from bot.storage.guild_settings import GuildSettingsRepo
from bot.storage.models import (
    ConstraintError,
    MigrationError,
    SchemaTooNewError,
    StorageError,
    fold,
)
from bot.storage.players import KnownPlayers
from bot.storage.rank_roles import RankRoles
from bot.storage.schedule import PollSchedule
from bot.storage.snapshots import RankSnapshots
from bot.storage.tracked import TrackedMembers

log = logging.getLogger(__name__)

Params = Sequence[Any]
Row = sqlite3.Row  # only ever used inside bot.storage

MEMORY = ":memory:"
BUSY_TIMEOUT_MS = 5000
_MIGRATION_FILE = re.compile(r"^(\d{4})_[A-Za-z0-9_]+\.sql$")
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
def load_migrations() -> tuple[Migration, ...]:
    """All packaged migrations, ordered; they must be numbered 0001, 0002, ... without gaps."""
    root = importlib.resources.files("bot.storage").joinpath("migrations")
    found: dict[int, Migration] = {}
    for entry in root.iterdir():
        match = _MIGRATION_FILE.match(entry.name)
        if match is None:
            continue
        version = int(match.group(1))
        if version in found:
            raise MigrationError(f"two migrations numbered {version:04d}")
        found[version] = Migration(version, entry.name, entry.read_text(encoding="utf-8"))
    versions = sorted(found)
    if not versions or versions != list(range(1, len(versions) + 1)):
        raise MigrationError(f"migrations must be numbered 0001, 0002, ... got {versions}")
    return tuple(found[v] for v in versions)


def latest_schema_version() -> int:
    """The schema version this code creates and understands."""
    return load_migrations()[-1].version


# --------------------------------------------------------------------------- errors


def _convert(exc: sqlite3.Error) -> StorageError:
    if isinstance(exc, sqlite3.IntegrityError):
        return ConstraintError(str(exc))
    return StorageError(f"database error: {exc}")


def _casefold(value: object) -> object:
    return fold(value) if isinstance(value, str) else value


# --------------------------------------------------------------------------- transaction


class Transaction:
    """An open write transaction; opaque. Pass it as ``tx=`` to repository methods."""

    __slots__ = ("_db", "_open")

    def __init__(self, db: Database) -> None:
        self._db = db
        self._open = True

    @property
    def active(self) -> bool:
        """False once the owning ``transaction()`` block has committed or rolled back."""
        return self._open

    def __repr__(self) -> str:
        return f"<Transaction {'open' if self._open else 'finished'}>"


# --------------------------------------------------------------------------- database


class Database:
    """The bot's SQLite database. Create with :meth:`open`, finish with :meth:`close`."""

    accounts: LinkedAccounts
    guilds: GuildSettingsRepo
    tracked: TrackedMembers
    snapshots: RankSnapshots
    announcements: Announcements
    players: KnownPlayers
    rank_roles: RankRoles
    schedule: PollSchedule
    departures: DepartedGuilds

    def __init__(self, conn: aiosqlite.Connection, path: str) -> None:
        """Use :meth:`open` instead."""
        self._conn: aiosqlite.Connection | None = conn
        self._path = path
        self._lock = asyncio.Lock()
        self._schema_version = 0
        self.accounts = LinkedAccounts(self)
        self.guilds = GuildSettingsRepo(self)
        self.tracked = TrackedMembers(self)
        self.snapshots = RankSnapshots(self)
        self.announcements = Announcements(self)
        self.players = KnownPlayers(self)
        self.rank_roles = RankRoles(self)
        self.schedule = PollSchedule(self)
        self.departures = DepartedGuilds(self)

    # ---------------------------------------------------------------- lifecycle

    @classmethod
    async def open(cls, path: Path | str) -> Database:
        """Open (creating if needed) and migrate the database at ``path`` (or ``":memory:"``)."""
        target = str(path)
        if target != MEMORY:
            Path(target).parent.mkdir(parents=True, exist_ok=True)
        pending = aiosqlite.connect(target, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
        # aiosqlite's worker thread is not a daemon: a process that dies without close()
        # would hang at exit. SQLite is crash-safe, so let the thread die with the process.
        worker = getattr(pending, "_thread", None)
        if isinstance(worker, threading.Thread):
            worker.daemon = True
        try:
            conn = await pending
        except sqlite3.Error as exc:
            raise StorageError(f"cannot open database {target}: {exc}") from exc
        db = cls(conn, target)
        try:
            await db._setup()
        except BaseException:
            await db._close_connection()
            raise
        log.info("database %s open at schema version %d", target, db._schema_version)
        return db

    async def _setup(self) -> None:
        conn = self._require_conn()
        conn.row_factory = sqlite3.Row
        await conn.create_function("casefold", 1, _casefold, deterministic=True)
        await self._raw_execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        latest = latest_schema_version()
        current = await self._user_version()
        if current > latest:
            raise SchemaTooNewError(
                f"database {self._path} has schema version {current} but this bot only "
                f"knows up to {latest}; run a newer version of the bot (refusing to open it)"
            )
        mode = await self._raw_fetchone("PRAGMA journal_mode = WAL")
        if (mode is None or str(mode[0]).lower() != "wal") and self._path != MEMORY:
            log.warning("could not enable WAL on %s (journal_mode=%s)", self._path, mode)
        await self._raw_execute("PRAGMA foreign_keys = ON")
        await self._raw_execute("PRAGMA synchronous = NORMAL")
        await self._migrate(latest)

    async def close(self) -> None:
        """Close the connection; waits for a running transaction. Safe to call twice."""
        if self._conn is None:
            return
        async with self._lock:
            if self._conn is None:
                return
            try:
                await self._raw_execute("PRAGMA optimize")
            except StorageError:
                log.debug("PRAGMA optimize failed", exc_info=True)
            await self._close_connection()
        log.info("database %s closed", self._path)

    async def _close_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            await conn.close()

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
        """The file path given to :meth:`open`."""
        return self._path

    @property
    def schema_version(self) -> int:
        """The schema version after migrations (``PRAGMA user_version``)."""
        return self._schema_version

    @property
    def closed(self) -> bool:
        """True after :meth:`close`."""
        return self._conn is None

    async def integrity_check(self) -> bool:
        """Run ``PRAGMA integrity_check`` and ``foreign_key_check``; True when both are clean."""
        rows = await self._fetchall("PRAGMA integrity_check")
        ok = len(rows) == 1 and rows[0][0] == "ok"
        if not ok:
            log.error("integrity_check on %s: %s", self._path, [r[0] for r in rows[:20]])
        fk = await self._fetchall("PRAGMA foreign_key_check")
        if fk:
            log.error("foreign_key_check on %s: %d violations", self._path, len(fk))
        return ok and not fk

    # ---------------------------------------------------------------- migrations

    async def _user_version(self) -> int:
        row = await self._raw_fetchone("PRAGMA user_version")
        return int(row[0]) if row is not None else 0

    async def _migrate(self, latest: int) -> None:
        current = await self._user_version()
        for migration in load_migrations():
            if migration.version > current:
                await self._apply_migration(migration)
        self._schema_version = await self._user_version()
        if self._schema_version != latest:
            raise MigrationError(f"schema version {self._schema_version}, expected {latest}")

    async def _apply_migration(self, migration: Migration) -> None:
        """Apply one migration and bump user_version in the same transaction."""
        statements = migration.statements()
        async with self._lock:
            await self._raw_execute("BEGIN IMMEDIATE")
            try:
                version = await self._user_version()
                if version >= migration.version:  # another process got there first
                    await self._raw_execute("ROLLBACK")
                    return
                if version != migration.version - 1:
                    raise MigrationError(f"cannot apply {migration.name} to version {version}")
                for statement in statements:
                    await self._raw_execute(statement)
                violations = await self._raw_fetchall("PRAGMA foreign_key_check")
                if violations:
                    raise MigrationError(f"{len(violations)} foreign key violations")
                await self._raw_execute(f"PRAGMA user_version = {int(migration.version)}")
                await self._raw_execute("COMMIT")
            except BaseException as exc:
                await self._rollback_quietly()
                if isinstance(exc, StorageError) and not isinstance(exc, MigrationError):
                    raise MigrationError(f"migration {migration.name} failed: {exc}") from exc
                raise
        log.info("applied migration %s to %s", migration.name, self._path)

    # ---------------------------------------------------------------- transactions

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        """``async with db.transaction() as tx:`` — BEGIN IMMEDIATE, commit or roll back.

        Joins the transaction already open in this task (see the module docstring).
        """
        joined = self._joined(None)
        if joined is not None:
            yield joined
            return
        async with self._lock:
            conn = self._require_conn()
            if conn.in_transaction:
                log.warning("rolling back a transaction left open on %s", self._path)
                await self._rollback_quietly()
            await self._raw_execute("BEGIN IMMEDIATE")
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
                    await self._raw_execute("COMMIT")
                except BaseException:
                    await self._rollback_quietly()
                    raise
            finally:
                tx._open = False
                _active_tx.reset(token)

    async def _rollback_quietly(self) -> None:
        conn = self._conn
        if conn is None or not conn.in_transaction:
            return
        try:
            await self._raw_execute("ROLLBACK")
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
        return await self._raw_execute(sql, params)

    async def _execute_many(self, tx: Transaction, sql: str, rows: Sequence[Params]) -> int:
        """Run one write statement for many parameter rows inside ``tx``."""
        self._joined(tx)
        conn = self._require_conn()
        try:
            async with conn.executemany(sql, rows) as cursor:
                return int(cursor.rowcount)
        except sqlite3.Error as exc:
            raise _convert(exc) from exc

    async def _fetchone(
        self, sql: str, params: Params = (), tx: Transaction | None = None
    ) -> Row | None:
        joined = self._joined(tx)
        if joined is not None:
            return await self._raw_fetchone(sql, params)
        async with self._lock:
            return await self._raw_fetchone(sql, params)

    async def _fetchall(
        self, sql: str, params: Params = (), tx: Transaction | None = None
    ) -> list[Row]:
        joined = self._joined(tx)
        if joined is not None:
            return await self._raw_fetchall(sql, params)
        async with self._lock:
            return await self._raw_fetchall(sql, params)

    # ---------------------------------------------------------------- raw (lock already held)

    def _require_conn(self) -> aiosqlite.Connection:
        if self._conn is None:
            raise StorageError("the database is closed")
        return self._conn

    async def _raw_execute(self, sql: str, params: Params = ()) -> int:
        conn = self._require_conn()
        try:
            async with conn.execute(sql, params) as cursor:
                return int(cursor.rowcount)
        except sqlite3.Error as exc:
            raise _convert(exc) from exc

    async def _raw_fetchone(self, sql: str, params: Params = ()) -> Row | None:
        conn = self._require_conn()
        try:
            async with conn.execute(sql, params) as cursor:
                row: Row | None = await cursor.fetchone()
                return row
        except sqlite3.Error as exc:
            raise _convert(exc) from exc

    async def _raw_fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        conn = self._require_conn()
        try:
            return list(await conn.execute_fetchall(sql, params))
        except sqlite3.Error as exc:
            raise _convert(exc) from exc
