"""SQLite files at open: one bot per file (lock file), owner-only modes, damaged files.

The one-line refusals are checked through the real ``halo-bot run`` process too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sqlite3
import stat
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.storage import Database, DatabaseDamagedError, DatabaseInUseError, Snapshot, StorageError
from tests.support.paths import ROOT
from tests.support.sql import count

T0 = datetime(2025, 1, 1, tzinfo=UTC)

HOLD_OPEN = """
    import asyncio, sys
    from bot.storage import Database

    async def main() -> None:
        db = await Database.open(sys.argv[1], exclusive=True)
        print("open", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        await db.close()

    asyncio.run(main())
"""


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def cli_env(database: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DISCORD_", "HALO_", "AZURE_", "DATABASE_"))
    }
    env.update(
        PYTHONPATH=str(ROOT),
        DISCORD_TOKEN="abc.def.ghi",
        HALO_SPARTAN_TOKEN="spartan",
        HALO_CLEARANCE_TOKEN="clearance",
        DATABASE_PATH=str(database),
    )
    return env


def run_bot_cli(database: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``halo-bot run`` as a real process, expected to stop at the database."""
    return subprocess.run(
        [sys.executable, "-m", "bot", "--env-file", str(cwd / "none.env"), "run"],
        capture_output=True,
        text=True,
        env=cli_env(database),
        cwd=cwd,
        timeout=60,
    )


def damage(path: Path) -> None:
    """A database whose table pages are overwritten in the middle (the header is intact)."""
    with contextlib.closing(sqlite3.connect(path)) as conn:
        conn.execute("CREATE TABLE filler (id INTEGER PRIMARY KEY, text TEXT)")
        conn.executemany(
            "INSERT INTO filler (text) VALUES (?)", [(f"row {i} " * 20,) for i in range(2000)]
        )
        conn.commit()
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
    assert pages > 20
    with path.open("r+b") as file:
        for page in range(pages // 2, pages // 2 + 5):
            file.seek(page * page_size)
            file.write(b"\xa5" * page_size)


# --------------------------------------------------------------------------- one bot per file


async def test_a_second_exclusive_open_in_the_same_process_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bot.db"
    first = await Database.open(path, exclusive=True)
    try:
        with pytest.raises(DatabaseInUseError, match="in use by another bot process") as caught:
            await Database.open(path, exclusive=True)
        assert str(path) in str(caught.value) and "\n" not in str(caught.value)
        async with await Database.open(path) as reader:  # not a bot: no lock taken
            assert await reader.accounts.count() == 0
    finally:
        await first.close()
    async with await Database.open(path, exclusive=True) as again:  # released by close()
        assert again.schema_version >= 3


async def holding_open(path: Path) -> asyncio.subprocess.Process:
    """Another process that opened ``path`` as a bot does (it holds the lock until it
    reads a line on stdin)."""
    holder = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        textwrap.dedent(HOLD_OPEN),
        str(path),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert holder.stdout is not None
    assert await asyncio.wait_for(holder.stdout.readline(), 30) == b"open\n"
    return holder


async def test_a_second_bot_process_refuses_with_one_line(tmp_path: Path) -> None:
    path = tmp_path / "bot.db"
    holder = await holding_open(path)
    try:
        with pytest.raises(DatabaseInUseError):
            await Database.open(path, exclusive=True)
        result = await asyncio.to_thread(run_bot_cli, path, tmp_path)
        assert result.returncode == 1
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, result.stderr
        assert f"database {path} is in use by another bot process" in lines[0]
        assert "Traceback" not in result.stderr
    finally:
        assert holder.stdin is not None
        holder.stdin.write(b"\n")
        await holder.stdin.drain()
        assert await asyncio.wait_for(holder.wait(), 30) == 0
    async with await Database.open(path, exclusive=True) as db:  # free once it exited
        assert await db.accounts.count() == 0


async def test_a_killed_bot_releases_the_lock(tmp_path: Path) -> None:
    path = tmp_path / "bot.db"
    holder = await holding_open(path)
    holder.kill()
    await holder.wait()
    async with await Database.open(path, exclusive=True) as db:
        assert db.schema_version >= 3


# --------------------------------------------------------------------------- file modes


async def test_database_files_are_owner_only_and_folders_0700(tmp_path: Path) -> None:
    base = tmp_path / "data"
    path = base / "nested" / "bot.db"
    old = os.umask(0o022)  # a typical umask would leave 0644 files and 0755 folders
    try:
        db = await Database.open(path, exclusive=True)
        try:
            await db.snapshots.record(
                Snapshot("1", "ranked", "S1", 1500, "Diamond", 3, 0, None, None, T0)
            )
            wal, shm = Path(f"{path}-wal"), Path(f"{path}-shm")
            assert {p.name: mode(p) for p in (path, wal, shm, Path(f"{path}.lock"))} == {
                "bot.db": 0o600,
                "bot.db-wal": 0o600,
                "bot.db-shm": 0o600,
                "bot.db.lock": 0o600,
            }
            assert mode(base) == mode(base / "nested") == 0o700
        finally:
            await db.close()
    finally:
        os.umask(old)


async def test_existing_folder_is_kept_and_older_files_are_made_owner_only(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "shared"
    folder.mkdir(mode=0o755)
    os.chmod(folder, 0o755)
    path = folder / "bot.db"
    files = (path, Path(f"{path}-wal"), Path(f"{path}-shm"))
    # An older bot's files, 0644, with a WAL still open in another connection.
    with contextlib.closing(sqlite3.connect(path)) as holder:
        holder.execute("PRAGMA journal_mode = WAL")
        holder.execute("CREATE TABLE kept (x)")
        holder.commit()
        for file in files:
            os.chmod(file, 0o644)
        caplog.set_level(logging.INFO, logger="bot.storage.sqlite_backend")
        async with await Database.open(path) as db:
            assert await db.accounts.count() == 0
        assert [mode(f) for f in files] == [0o600, 0o600, 0o600]
    assert mode(folder) == 0o755  # a folder the operator made is theirs
    said = [r for r in caplog.records if "owner-only" in r.getMessage()]
    assert len(said) == 1 and said[0].levelno == logging.INFO, [r.getMessage() for r in said]
    assert all(str(f) in said[0].getMessage() for f in files)
    caplog.clear()
    async with await Database.open(path):
        pass  # already 0600: nothing more to say
    assert not [r for r in caplog.records if "owner-only" in r.getMessage()]


# --------------------------------------------------------------------------- damaged files


async def test_damaged_file_is_refused_naming_file_and_recovery(tmp_path: Path) -> None:
    path = tmp_path / "bot.db"
    damage(path)
    before = path.read_bytes()
    with pytest.raises(DatabaseDamagedError) as caught:
        await Database.open(path, exclusive=True)
    message = str(caught.value)
    assert "\n" not in message
    assert f"database {path} is damaged" in message
    assert "backup" in message and ".recover" in message
    assert path.read_bytes() == before  # nothing was written to it
    async with await Database.open(tmp_path / "fresh.db", exclusive=True):
        pass  # and the lock of the refused file was released:
    async with await Database.open(tmp_path / "other.db", exclusive=True):
        pass


async def test_damaged_file_stops_halo_bot_run_with_one_line(tmp_path: Path) -> None:
    path = tmp_path / "bot.db"
    damage(path)
    result = await asyncio.to_thread(run_bot_cli, path, tmp_path)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"halo-bot: database {path} is damaged")
    assert "restore it from a backup" in lines[0]


async def test_healthy_file_passes_the_check_after_a_crash_like_close(tmp_path: Path) -> None:
    path = tmp_path / "bot.db"
    async with await Database.open(path) as db:
        for i in range(50):
            await db.snapshots.record(
                Snapshot("1", "ranked", "S1", i, "Gold", 1, 0, None, None, T0 + timedelta(i))
            )
    async with await Database.open(path, exclusive=True) as db:
        assert await count(db, "rank_snapshots") == 50


async def test_garbage_is_a_storage_error_saying_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "bot.db"
    path.write_bytes(b"not sqlite at all " * 300)
    with pytest.raises(StorageError, match=r"is damaged \(file is not a database\)"):
        await Database.open(path)
