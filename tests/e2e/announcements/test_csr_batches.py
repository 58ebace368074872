"""CSR batches that fit: the cycle sends ``HALO_CSR_BATCH_SIZE`` players per request, a
batch Halo rejects as too large is split and the smaller size kept, and a player Halo
leaves out of a good answer is "no data this cycle", never a change."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.core.config import load_settings
from bot.core.services import Services, build_services
from bot.features.announcements.cycle import RankWatcher
from tests.fakes.halo_server import (
    DEFAULT_CLEARANCE,
    RANKED_ARENA,
    SKILL_HOST,
    STATIC_SPARTAN_TOKEN,
    FakeHalo,
)
from tests.support.discord import ANNOUNCE_CHANNEL_ID, GUILD_ID
from tests.support.sql import count

CSR_PATH = f"{SKILL_HOST}/hi/playlist/"
FIRST_XUID = 2_533_274_900_000_000
FIRST_USER = 1_300_000_000_000_070_000


@contextlib.asynccontextmanager
async def tracked_world(
    tmp_path: Path, players: int, **overrides: Any
) -> AsyncIterator[tuple[Services, FakeHalo, list[int]]]:
    """``players`` Halo players, each linked by a member and tracked in one server."""
    async with FakeHalo() as halo:
        settings = load_settings(
            None,
            halo_api_base_url=halo.base_url,
            halo_spartan_token=STATIC_SPARTAN_TOKEN,
            halo_clearance_token=DEFAULT_CLEARANCE,
            database_path=tmp_path / "batches.db",
            halo_requests_per_second=100,
            **overrides,
        )
        services = await build_services(settings)
        xuids = [FIRST_XUID + i for i in range(players)]
        try:
            for i, xuid in enumerate(xuids):
                halo.add_player(xuid, f"Batch Player {i}", csr=1200 + i)
                await services.db.accounts.link(FIRST_USER + i, str(xuid), f"Batch Player {i}")
                await services.db.tracked.track(GUILD_ID, FIRST_USER + i)
            await services.db.guilds.update(GUILD_ID, announce_channel_id=ANNOUNCE_CHANNEL_ID)
            yield services, halo, xuids
        finally:
            await services.close()


def batch_sizes(halo: FakeHalo) -> list[int]:
    """Players named in each CSR request the fake received, in order."""
    return [len(r.query["players"].split(",")) for r in halo.requests_to(CSR_PATH)]


async def test_cycle_sends_the_configured_batch_size(tmp_path: Path) -> None:
    async with tracked_world(tmp_path, 25, halo_csr_batch_size=10) as (services, halo, _):
        report = await RankWatcher(services.db, services.halo).run_cycle()
        assert report.errors == []
        assert batch_sizes(halo) == [10, 10, 5] * 4  # four ranked playlists
        assert report.csr_requests == 12 and report.results == 100


async def test_default_batch_is_thirty_players(tmp_path: Path) -> None:
    async with tracked_world(tmp_path, 31) as (services, halo, _):
        await RankWatcher(services.db, services.halo).run_cycle()
        assert sorted(batch_sizes(halo)) == [1] * 4 + [30] * 4


async def test_a_batch_rejected_as_too_large_is_split_and_every_player_checked(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with tracked_world(tmp_path, 40) as (services, halo, xuids):
        halo.csr_batch_limit = 20  # Halo answers 400 to more than 20 players
        watcher = RankWatcher(services.db, services.halo, fetch_concurrency=1)
        with caplog.at_level(logging.WARNING):
            first = await watcher.run_cycle()
            second = await watcher.run_cycle()

        # First playlist: 30 rejected, split into 15 + 15, then the last 10. From then
        # on 15 per request, in this cycle and the next: no further rejection.
        sizes = batch_sizes(halo)
        assert sizes[:4] == [30, 15, 15, 10]
        assert sizes[4:] == [15, 15, 10] * 7
        assert sum(1 for size in sizes if size > 20) == 1
        assert first.failed_batches == 0 and first.missing == 0
        assert first.results == 160 and second.results == 160
        assert await count(services.db, "rank_snapshots") == 160  # every player, every playlist
        latest = await services.db.snapshots.latest_many([str(x) for x in xuids], RANKED_ARENA)
        assert sorted(latest) == sorted(str(x) for x in xuids)
        shrunk = [r for r in caplog.records if "rejected a CSR request" in r.getMessage()]
        assert len(shrunk) == 1, [r.getMessage() for r in shrunk]
        assert "15 per request" in shrunk[0].getMessage()


async def test_a_bad_player_id_does_not_shrink_the_batch(tmp_path: Path) -> None:
    async with tracked_world(tmp_path, 30) as (services, halo, xuids):
        halo.remove_player(xuids[7])  # the fake now rejects any batch naming it
        report = await RankWatcher(services.db, services.halo).run_cycle()
        assert services.halo.csr_batch_size == 30
        assert report.missing == 4 and report.results == 29 * 4
        halo.clear_requests()
        await RankWatcher(services.db, services.halo).run_cycle()
        assert batch_sizes(halo)[0] == 30


async def test_a_player_left_out_of_a_good_answer_is_no_data_not_a_change(
    tmp_path: Path,
) -> None:
    async with tracked_world(tmp_path, 3) as (services, halo, xuids):
        watcher = RankWatcher(services.db, services.halo)
        await watcher.run_cycle()
        halo.csr_omitted = {xuids[1]}
        halo.set_csr(xuids[0], RANKED_ARENA, 1600)
        report = await watcher.run_cycle()
        assert report.missing == 4 and report.changes >= 1
        [row] = await services.db.announcements.pending()
        assert row.key.startswith(f"{GUILD_ID}:{xuids[0]}:")
        before = await services.db.snapshots.latest_many([str(xuids[1])], RANKED_ARENA)
        halo.csr_omitted = set()
        back = await watcher.run_cycle()
        assert back.changes == 0 and back.missing == 0
        after = await services.db.snapshots.latest_many([str(xuids[1])], RANKED_ARENA)
        assert after == before  # the same rank as before it went missing: nothing new
