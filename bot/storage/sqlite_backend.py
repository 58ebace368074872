"""The SQLite engine: one aiosqlite connection to a file (or ``:memory:``).

At open the file is created owner-only (0600; SQLite gives its ``-wal``/``-shm`` files
the database file's mode; files an older bot left group/world-readable are made 0600)
in a folder created 0700, an exclusive lock file
``<db>.lock`` is held for a bot process (a second bot on the same file refuses to
start), and ``PRAGMA quick_check`` stops a damaged file before anything writes to it.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path

import aiosqlite

from bot.common.files import make_private_folder
from bot.storage.backend import Dialect, Params, Row
from bot.storage.models import (
    ConstraintError,
    DatabaseDamagedError,
    DatabaseInUseError,
    StorageError,
    fold,
)

log = logging.getLogger(__name__)

MEMORY = ":memory:"
BUSY_TIMEOUT_MS = 5000
FILE_MODE = 0o600
#: ``PRAGMA quick_check(N)``: report at most this many problems.
QUICK_CHECK_LIMIT = 10


def _convert(exc: sqlite3.Error) -> StorageError:
    if isinstance(exc, sqlite3.IntegrityError):
        return ConstraintError(str(exc))
    return StorageError(f"database error: {exc}")


def _casefold(value: object) -> object:
    return fold(value) if isinstance(value, str) else value


def lock_path(path: Path) -> Path:
    """The lock file a bot process holds beside its database."""
    return path.with_name(path.name + ".lock")


def _create_owner_only(path: Path) -> None:
    """Create ``path`` empty and 0600 unless it exists (SQLite fills an empty file)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        return
    os.close(fd)


def _tighten_existing(path: Path) -> None:
    """Files an older bot created group/world-readable (the database, ``-wal``, ``-shm``):
    made 0600 when this user owns them (one INFO line); otherwise one WARNING naming the
    file and the chmod to run."""
    tightened: list[str] = []
    for file in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        try:
            st = file.stat()
        except FileNotFoundError:
            continue
        if not st.st_mode & 0o077:
            continue
        if st.st_uid != os.getuid():
            log.warning(
                "%s is readable by other users (mode %o) and owned by another user: "
                "run `chmod 600 %s` as its owner",
                file,
                st.st_mode & 0o777,
                file,
            )
            continue
        try:
            os.chmod(file, FILE_MODE)
        except OSError as exc:
            log.warning(
                "%s is readable by other users (mode %o) and could not be changed (%s): "
                "run `chmod 600 %s`",
                file,
                st.st_mode & 0o777,
                exc.strerror,
                file,
            )
            continue
        tightened.append(f"{file} (was {st.st_mode & 0o777:o})")
    if tightened:
        log.info("Made the database files owner-only (0600): %s", ", ".join(tightened))


def _take_lock(path: Path) -> int:
    """Hold an exclusive flock on ``<db>.lock``; DatabaseInUseError if another process has it."""
    lock = lock_path(path)
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, FILE_MODE)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise DatabaseInUseError(
            f"database {path} is in use by another bot process (it holds {lock}); "
            "stop that process first, or give this one its own DATABASE_PATH"
        ) from None
    except OSError:
        os.close(fd)
        raise
    return fd


def _prepare_files(path: Path, exclusive: bool) -> int | None:
    """Folder, lock and database file, before SQLite touches anything."""
    make_private_folder(path.parent)
    fd = _take_lock(path) if exclusive else None
    try:
        _create_owner_only(path)
    except BaseException:
        if fd is not None:
            os.close(fd)
        raise
    return fd


class SqliteBackend:
    """A :class:`~bot.storage.backend.Backend` on one SQLite file."""

    dialect: Dialect = "sqlite"

    def __init__(self, conn: aiosqlite.Connection, path: str, lock_fd: int | None) -> None:
        """Use :meth:`open` instead."""
        self._conn: aiosqlite.Connection | None = conn
        self._path = path
        self._lock_fd = lock_fd

    @classmethod
    async def open(cls, path: str, *, exclusive: bool = False) -> SqliteBackend:
        """Connect to ``path`` (created if missing); ``exclusive`` takes the bot's lock."""
        lock_fd: int | None = None
        if path != MEMORY:
            try:
                # A few local syscalls (mkdir, open, non-blocking flock): done in place,
                # not in a worker thread that would outlive the database.
                lock_fd = _prepare_files(Path(path), exclusive)
            except OSError as exc:
                raise StorageError(f"cannot open database {path}: {exc}") from exc
        pending = aiosqlite.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
        # aiosqlite's worker thread is not a daemon: a process that dies without close()
        # would hang at exit. SQLite is crash-safe, so let the thread die with the process.
        worker = getattr(pending, "_thread", None)
        if isinstance(worker, threading.Thread):
            worker.daemon = True
        try:
            conn = await pending
        except sqlite3.Error as exc:
            _release(lock_fd)
            raise StorageError(f"cannot open database {path}: {exc}") from exc
        backend = cls(conn, path, lock_fd)
        try:
            conn.row_factory = sqlite3.Row
            await conn.create_function("casefold", 1, _casefold, deterministic=True)
            await backend.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        except BaseException:
            await backend.close_quietly()
            raise
        return backend

    # ---------------------------------------------------------------- lifecycle

    @property
    def target(self) -> str:
        return self._path

    @property
    def closed(self) -> bool:
        return self._conn is None

    @property
    def in_transaction(self) -> bool:
        return self._conn is not None and self._conn.in_transaction

    async def prepare(self) -> None:
        """``PRAGMA quick_check``: a damaged file stops here, untouched."""
        if self._path == MEMORY:
            return
        try:
            rows = await self._require_conn().execute_fetchall(
                f"PRAGMA quick_check({QUICK_CHECK_LIMIT})"
            )
            problems = [str(row[0]) for row in rows]
        except sqlite3.Error as exc:
            problems = [str(exc)]
        if problems != ["ok"]:
            raise DatabaseDamagedError(
                f"database {self._path} is damaged ({'; '.join(problems)[:200]}): "
                f"stop the bot, move the file aside and restore it from a backup "
                f"(`sqlite3 {self._path} .recover` can save readable rows), or delete "
                "it to start empty"
            )
        # A few local syscalls, like _prepare_files; after the check, so a damaged
        # file is refused with its one line and left as it was.
        _tighten_existing(Path(self._path))

    async def configure(self) -> None:
        mode = await self.fetchone("PRAGMA journal_mode = WAL")
        if (mode is None or str(mode[0]).lower() != "wal") and self._path != MEMORY:
            log.warning("could not enable WAL on %s (journal_mode=%s)", self._path, mode)
        await self.execute("PRAGMA foreign_keys = ON")
        await self.execute("PRAGMA synchronous = NORMAL")

    async def close(self, *, tidy: bool = True) -> None:
        if tidy and self._conn is not None:
            try:
                await self.execute("PRAGMA optimize")
            except StorageError:
                log.debug("PRAGMA optimize failed", exc_info=True)
        await self.close_quietly()

    async def close_quietly(self) -> None:
        conn, self._conn = self._conn, None
        try:
            if conn is not None:
                await conn.close()
        finally:
            fd, self._lock_fd = self._lock_fd, None
            _release(fd)

    # ---------------------------------------------------------------- schema version

    async def schema_version(self) -> int:
        row = await self.fetchone("PRAGMA user_version")
        return int(row[0]) if row is not None else 0

    async def set_schema_version(self, version: int) -> None:
        await self.execute(f"PRAGMA user_version = {int(version)}")

    async def check_migration(self) -> int:
        return len(await self.fetchall("PRAGMA foreign_key_check"))

    # ---------------------------------------------------------------- transactions

    async def begin(self) -> None:
        await self.execute("BEGIN IMMEDIATE")

    async def begin_migration(self) -> None:
        await self.execute("BEGIN IMMEDIATE")  # the write lock keeps other processes out

    async def commit(self) -> None:
        await self.execute("COMMIT")

    async def rollback(self) -> None:
        await self.execute("ROLLBACK")

    # ---------------------------------------------------------------- statements

    def _require_conn(self) -> aiosqlite.Connection:
        if self._conn is None:
            raise StorageError("the database is closed")
        return self._conn

    async def execute(self, sql: str, params: Params = ()) -> int:
        conn = self._require_conn()
        try:
            async with conn.execute(sql, params) as cursor:
                return int(cursor.rowcount)
        except sqlite3.Error as exc:
            raise _convert(exc) from exc

    async def execute_many(self, sql: str, rows: Sequence[Params]) -> int:
        conn = self._require_conn()
        try:
            async with conn.executemany(sql, rows) as cursor:
                return int(cursor.rowcount)
        except sqlite3.Error as exc:
            raise _convert(exc) from exc

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        conn = self._require_conn()
        try:
            async with conn.execute(sql, params) as cursor:
                row: sqlite3.Row | None = await cursor.fetchone()
                return row
        except sqlite3.Error as exc:
            raise _convert(exc) from exc

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        conn = self._require_conn()
        try:
            return list(await conn.execute_fetchall(sql, params))
        except sqlite3.Error as exc:
            raise _convert(exc) from exc


def _release(fd: int | None) -> None:
    """Close the lock file, which releases the flock."""
    if fd is not None:
        with contextlib.suppress(OSError):
            os.close(fd)
