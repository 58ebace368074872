"""Two instances that see the same rank change at the same moment queue it once.

Both instances (their own services and connections, shards 0 and 1 of 2, one
PostgreSQL schema) check the same player while the test holds the outbox table locked,
so both have read the old snapshot and both try to queue the change before either
commits: the key names the change, not when it was seen, so one row is left.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg

from bot.core.config import load_settings
from bot.core.services import Services, build_services
from bot.features.announcements.cycle import RankWatcher
from bot.features.announcements.leases import WholeCycle
from bot.features.announcements.schedule import PollPolicy
from bot.storage import Database
from tests.fakes.halo_server import (
    DEFAULT_CLEARANCE,
    NOBLE_SIX,
    RANKED_ARENA,
    STATIC_SPARTAN_TOKEN,
    FakeHalo,
)
from tests.support.discord import ANNOUNCE_CHANNEL_ID, GUILD_ID, USER_ID


@contextlib.asynccontextmanager
async def instance(halo: FakeHalo, pg_url: str, shard: int) -> AsyncIterator[Services]:
    settings = load_settings(
        None,
        halo_api_base_url=halo.base_url,
        halo_spartan_token=STATIC_SPARTAN_TOKEN,
        halo_clearance_token=DEFAULT_CLEARANCE,
        database_url=pg_url,
        shard_count=2,
        shard_ids=str(shard),
        halo_requests_per_second=100,
    )
    services = await build_services(settings)
    try:
        yield services
    finally:
        await services.close()


async def test_two_instances_seeing_one_change_queue_one_announcement(
    tmp_path: Path, pg_url: str
) -> None:
    async with (
        FakeHalo() as halo,
        instance(halo, pg_url, 0) as first,
        instance(halo, pg_url, 1) as second,
    ):
        db = first.db
        await db.accounts.link(USER_ID, str(NOBLE_SIX.xuid), NOBLE_SIX.gamertag)
        await db.tracked.track(GUILD_ID, USER_ID)
        await db.guilds.update(GUILD_ID, announce_channel_id=ANNOUNCE_CHANNEL_ID)
        # Both instances check every player, as two holders of one unit would (a lease
        # that ran out while its holder was still at work, a rolling deploy); every player
        # is due every cycle (no adaptive polling) so both really look.
        every_cycle = PollPolicy(adaptive=False)
        watchers = [
            RankWatcher(s.db, s.halo, leases=WholeCycle(), policy=every_cycle)
            for s in (first, second)
        ]
        baseline = await watchers[0].run_cycle()
        assert baseline.baselines > 0 and baseline.queued == 0
        halo.set_csr(NOBLE_SIX.xuid, RANKED_ARENA, 1510)

        blocker = await asyncpg.connect(pg_url)
        try:
            tx = blocker.transaction()
            await tx.start()
            await blocker.execute("LOCK TABLE announcements IN EXCLUSIVE MODE")
            cycles = [asyncio.create_task(w.run_cycle(flush=False)) for w in watchers]
            waiting = "SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = $1::regclass"
            for _ in range(200):  # both have read the old snapshot and wait to queue
                if await blocker.fetchval(waiting, "announcements") == 2:
                    break
                await asyncio.sleep(0.05)
            assert await blocker.fetchval(waiting, "announcements") == 2
            await tx.rollback()  # let them go
        finally:
            await blocker.close()
        reports = await asyncio.gather(*cycles)

    assert [r.changes for r in reports] == [2, 2]  # both saw it (tier_up, season_high) ...
    assert sorted(r.queued for r in reports) == [0, 1]  # ... one queued it
    async with await Database.open(pg_url) as db:
        [row] = await db.announcements.pending()
        assert row.key.startswith(f"{GUILD_ID}:{NOBLE_SIX.xuid}:{RANKED_ARENA}:")
        assert ":1325->1510:tier_up:" in row.key
