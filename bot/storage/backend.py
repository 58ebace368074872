"""What :class:`~bot.storage.database.Database` needs from a database engine.

Two engines implement it: :mod:`bot.storage.sqlite_backend` (a file, the default) and
:mod:`bot.storage.postgres_backend` (``DATABASE_URL=postgresql://...``). A backend runs
one statement at a time on one connection; the :class:`Database` above it serializes
access, keeps transactions and applies migrations. Repositories write their SQL once,
with ``?`` placeholders; the PostgreSQL backend translates them to ``$1, $2, ...``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Literal, Protocol

Params = Sequence[Any]
Dialect = Literal["sqlite", "postgres"]
POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def is_postgres_url(target: object) -> bool:
    """True for a ``postgresql://`` or ``postgres://`` URL (the PostgreSQL engine)."""
    return isinstance(target, str) and target.lower().startswith(POSTGRES_SCHEMES)


class Row(Protocol):
    """A result row: by column name or by position (``sqlite3.Row``, ``asyncpg.Record``)."""

    def __getitem__(self, key: int | str, /) -> Any: ...

    def __iter__(self) -> Iterator[Any]: ...

    def __len__(self) -> int: ...


class Backend(Protocol):
    """One open connection of one engine. Every method raises :class:`StorageError`."""

    dialect: Dialect

    @property
    def target(self) -> str:
        """What was opened, fit for messages (a file path, or a URL without password)."""
        ...

    @property
    def in_transaction(self) -> bool: ...

    @property
    def closed(self) -> bool: ...

    async def prepare(self) -> None:
        """Checks and set-up before the schema version is read (integrity, version table)."""

    async def configure(self) -> None:
        """Connection settings applied once the schema is known not to be too new."""

    async def schema_version(self) -> int: ...

    async def set_schema_version(self, version: int) -> None:
        """Inside the migration's transaction."""

    async def begin(self) -> None:
        """Start a write transaction (SQLite: ``BEGIN IMMEDIATE``)."""

    async def begin_migration(self) -> None:
        """Start a transaction that no other process migrates alongside."""

    async def commit(self) -> None: ...

    async def rollback(self) -> None: ...

    async def check_migration(self) -> int:
        """Foreign key violations left by a migration (PostgreSQL enforces them: 0)."""
        ...

    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run one statement; the number of rows it changed."""
        ...

    async def execute_many(self, sql: str, rows: Sequence[Params]) -> int: ...

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None: ...

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]: ...

    async def close(self, *, tidy: bool = True) -> None:
        """Close (with ``tidy``, SQLite runs ``PRAGMA optimize`` first); releases the bot's
        lock. A database that failed to open is closed untidied: nothing is written."""
