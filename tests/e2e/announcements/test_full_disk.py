"""A full disk after Discord accepted an announcement: the post is never repeated, the
full disk is logged once per episode, and the record is written once there is room."""

from __future__ import annotations

import contextlib
import logging
import resource
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import cast

import pytest

from bot.features.announcements.cog import RankAnnouncements
from bot.storage import StorageError
from tests.e2e.accounts.verifying import link_verified
from tests.fakes.halo_server import NOBLE_SIX, RANKED_ARENA
from tests.support.discord import ADMIN_USER_ID, ANNOUNCE_CHANNEL_ID, USER_ID
from tests.support.sql import announcement, was_announced
from tests.support.world import World

FULL_DISK_LOG = "Could not record"


@contextlib.contextmanager
def disk_full_for(path: Path) -> Iterator[None]:
    """Let no file of this process grow past its size now: the database's write-ahead log
    cannot take another commit (the OS refuses with EFBIG, which SQLite reports as
    "disk I/O error"; ENOSPC on a really full disk reads "database or disk is full").
    Reads still work."""
    wal = Path(f"{path}-wal")
    limit = max(wal.stat().st_size, path.stat().st_size)
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of a kill
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, previous)


def cog_of(world: World) -> RankAnnouncements:
    cog = world.bot.get_cog("RankAnnouncements")
    assert cog is not None
    return cast("RankAnnouncements", cog)


async def test_full_disk_after_a_post_never_reposts_and_logs_once(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    rec = await world.invoke(
        "config announce-channel", {"channel": ANNOUNCE_CHANNEL_ID}, user_id=ADMIN_USER_ID
    )
    assert rec.final_message()["embeds"][0]["title"] == "Announcement channel set"
    await link_verified(world, NOBLE_SIX.gamertag, USER_ID)
    world.discord.nonce_window = 0  # Discord's nonce memory has long passed between cycles
    cog = cog_of(world)
    await cog.run_once()  # baseline
    world.halo.set_csr(NOBLE_SIX.xuid, RANKED_ARENA, 1510)
    await cog.watcher.run_cycle(flush=False)  # queued, committed, not posted yet
    [row] = await world.db.announcements.pending()

    with caplog.at_level(logging.INFO), disk_full_for(Path(world.db.path)):
        for _ in range(4):
            # Each cycle fails on the full disk, after posting the outbox: the scheduler
            # logs the failure (once, then hourly); the post must not go out again.
            with pytest.raises(StorageError, match="disk I/O error"):
                await cog.run_once()
    full = [r for r in caplog.records if r.getMessage().startswith(FULL_DISK_LOG)]
    assert len(full) == 1, [r.getMessage() for r in full]
    assert "disk I/O error" in full[0].getMessage()
    posts = [m for m in world.discord.channel_messages(ANNOUNCE_CHANNEL_ID) if m.kind == "channel"]
    assert len(posts) == 1 and world.discord.deduplicated_posts == []
    assert posts[0].embeds[0]["title"] == "Noble Six reached Onyx"
    assert not await was_announced(world.db, row.key)  # not written yet

    # Room again: the next check records it, still without posting it again.
    caplog.clear()
    with caplog.at_level(logging.INFO):
        await cog.run_once()
    assert await was_announced(world.db, row.key)
    stored = await announcement(world.db, row.key)
    assert stored is not None and stored.message_id == int(posts[0].message["id"])
    posts = [m for m in world.discord.channel_messages(ANNOUNCE_CHANNEL_ID) if m.kind == "channel"]
    assert len(posts) == 1
    assert any("as sent again" in r.getMessage() for r in caplog.records)
