"""Copy a SQLite database into PostgreSQL (``halo-bot migrate-db --from-sqlite PATH``).

Both sides are opened as a bot would (the SQLite file is checked and migrated to the
current schema first; each side's bot lock is taken, so neither may be in use). The
copy runs in one PostgreSQL transaction and is verified afterwards: every table's row
count and an order-independent digest of its rows must match the source. It is
idempotent: a target that already holds exactly the source's rows is left alone, any
other non-empty target is refused unless ``force`` replaces its contents.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.storage.database import Database, Transaction
from bot.storage.models import StorageError
from bot.storage.postgres_backend import PostgresBackend

log = logging.getLogger(__name__)

BATCH_ROWS = 5000
#: Every table, parents before children, with the column rows are read in order of
#: (None: small tables read in one go). Both engines order these keys the same way.
TABLES: dict[str, str | None] = {
    "linked_accounts": "user_id",
    "guild_settings": "guild_id",
    "tracked_members": None,
    "rank_snapshots": "id",
    "announcements": "rowid",
    "known_players": "xuid",
    "player_lookups": "rowid",
    "rank_roles": None,
    "rank_role_grants": None,
    "guild_verified_links": None,
    "link_codes": "user_id",
    "poll_schedule": None,
    "departed_guilds": "guild_id",
}
#: Coordination state of running instances (the rank cycle's leases), not data: never
#: copied (a SQLite file's single process keeps none) nor counted.
NOT_COPIED = frozenset({"rank_cycles", "rank_cycle_units"})


class TargetNotEmptyError(StorageError):
    """The PostgreSQL database already holds other rows."""


@dataclass(frozen=True, slots=True)
class CopyReport:
    """What :func:`copy_sqlite_to_postgres` did."""

    source: str
    target: str
    schema_version: int
    counts: dict[str, int]
    #: False when the target already held exactly these rows (nothing was written).
    copied: bool
    #: Rows the target held before ``force`` replaced them.
    replaced: int = 0


@dataclass(slots=True)
class _Digest:
    rows: int = 0
    total: int = 0

    def add(self, row: tuple[Any, ...]) -> None:
        digest = hashlib.blake2b(repr(row).encode(), digest_size=8).digest()
        self.rows += 1
        self.total = (self.total + int.from_bytes(digest, "big")) % 2**64


async def copy_sqlite_to_postgres(
    sqlite_path: Path | str, postgres_url: str, *, force: bool = False
) -> CopyReport:
    """Copy every row of the SQLite file into the PostgreSQL database (see module doc)."""
    path = _existing_file(Path(sqlite_path))
    async with (
        await Database.open(path, exclusive=True) as source,
        await Database.open(postgres_url, exclusive=True) as target,
    ):
        return await _copy(source, target, force=force)


def _existing_file(path: Path) -> Path:
    """``path`` if it is a file (opening a missing one would create an empty database)."""
    if not path.is_file():
        raise StorageError(f"no SQLite database at {path}")
    return path


async def _copy(source: Database, target: Database, *, force: bool) -> CopyReport:
    backend = target._require_backend()
    assert isinstance(backend, PostgresBackend)
    columns = {
        table: names
        for table, names in (await _target_columns(target)).items()
        if table not in NOT_COPIED
    }
    names = await _source_tables(source) - NOT_COPIED
    if set(columns) != set(TABLES) or names != set(TABLES):
        raise StorageError(
            f"tables differ: SQLite has {sorted(names)}, PostgreSQL {sorted(columns)}, "
            f"the copy knows {sorted(TABLES)}"
        )
    present = {table: await _count(target, table) for table in TABLES}
    held = sum(present.values())
    if held and not force:
        if await _digests(source, columns) == await _digests(target, columns):
            log.info("%s already holds the rows of %s", target.path, source.path)
            counts = {table: present[table] for table in TABLES}
            return CopyReport(source.path, target.path, target.schema_version, counts, False)
        detail = ", ".join(f"{t} {n}" for t, n in present.items() if n)
        raise TargetNotEmptyError(
            f"{target.path} already holds {held} rows ({detail}); nothing was copied. "
            "Run again with --force to replace them with the rows of the SQLite file"
        )
    counts: dict[str, int] = {}
    async with target.transaction() as tx:
        if held:
            await target._execute(tx, f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY")
        for table in TABLES:
            counts[table] = 0
            async for batch in _batches(source, table, columns[table]):
                counts[table] += await backend.copy_rows(table, columns[table], batch)
        await _reset_identities(target, tx)
    if await _digests(source, columns) != await _digests(target, columns):
        raise StorageError(f"the copy in {target.path} does not match {source.path}")
    log.info("copied %s into %s: %s", source.path, target.path, counts)
    return CopyReport(source.path, target.path, target.schema_version, counts, True, held)


async def _target_columns(target: Database) -> dict[str, list[str]]:
    rows = await target._fetchall(
        "SELECT table_name, column_name FROM information_schema.columns"
        " WHERE table_schema = current_schema() AND table_name <> 'schema_version'"
        " ORDER BY table_name, ordinal_position"
    )
    found: dict[str, list[str]] = {}
    for row in rows:
        found.setdefault(str(row[0]), []).append(str(row[1]))
    return found


async def _source_tables(source: Database) -> set[str]:
    rows = await source._fetchall(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    )
    return {str(row[0]) for row in rows}


async def _count(db: Database, table: str) -> int:
    row = await db._fetchone(f"SELECT COUNT(*) FROM {table}")
    return int(row[0]) if row is not None else 0


async def _batches(
    db: Database, table: str, columns: list[str]
) -> AsyncIterator[list[tuple[Any, ...]]]:
    """The table's rows (as ``columns``), in key order, ``BATCH_ROWS`` at a time."""
    key = TABLES[table]
    select = f"SELECT {', '.join(columns)} FROM {table}"
    if key is None:
        rows = await db._fetchall(f"{select} ORDER BY {', '.join(columns)}")
        if rows:
            yield [tuple(row) for row in rows]
        return
    position = columns.index(key)
    last: Any = None
    while True:
        if last is None:
            rows = await db._fetchall(f"{select} ORDER BY {key} LIMIT ?", (BATCH_ROWS,))
        else:
            rows = await db._fetchall(
                f"{select} WHERE {key} > ? ORDER BY {key} LIMIT ?", (last, BATCH_ROWS)
            )
        if not rows:
            return
        batch = [tuple(row) for row in rows]
        yield batch
        last = batch[-1][position]
        if len(batch) < BATCH_ROWS:
            return


async def _digests(db: Database, columns: dict[str, list[str]]) -> dict[str, tuple[int, int]]:
    found: dict[str, tuple[int, int]] = {}
    for table in TABLES:
        digest = _Digest()
        async for batch in _batches(db, table, columns[table]):
            for row in batch:
                digest.add(row)
        found[table] = (digest.rows, digest.total)
    return found


async def _reset_identities(target: Database, tx: Transaction) -> None:
    """Identity columns continue after the copied ids (COPY does not advance them)."""
    rows = await target._fetchall(
        "SELECT table_name, column_name FROM information_schema.columns"
        " WHERE table_schema = current_schema() AND is_identity = 'YES'",
        tx=tx,
    )
    for row in rows:
        table, column = str(row[0]), str(row[1])
        await target._fetchone(
            f"SELECT setval(pg_get_serial_sequence(?, ?), COALESCE(MAX({column}), 0) + 1, false)"
            f" FROM {table}",
            (table, column),
            tx=tx,
        )
