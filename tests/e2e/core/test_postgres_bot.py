"""The whole bot on PostgreSQL (DATABASE_URL): commands, the rank cycle, a restart.

Real bot, fake Discord, fake Halo, a PostgreSQL schema of its own (skipped without
``TEST_DATABASE_URL``; see ``tests/support/engines.py``).
"""

from __future__ import annotations

from pathlib import Path

from tests.e2e.announcements.test_announcements import cog_of, cycle, link, posted, set_channel
from tests.fakes.halo_server import NOBLE_SIX, RANKED_ARENA, FakeHalo
from tests.support.discord import GUILD_ID, USER_ID, running_fake
from tests.support.world import running_world


async def test_link_cycle_announce_and_restart_on_postgresql(tmp_path: Path, pg_url: str) -> None:
    async with running_fake() as fake, FakeHalo() as halo:
        async with running_world(tmp_path, discord=fake, halo=halo, database_url=pg_url) as first:
            assert first.db.dialect == "postgres"
            await set_channel(first)
            await link(first, NOBLE_SIX.gamertag.lower())
            rec = await first.invoke("whois", {"member": USER_ID})
            assert "Noble Six" in rec.embeds()[0]["description"]
            baseline = await cycle(first)
            assert baseline.baselines > 0 and baseline.queued == 0
            halo.set_csr(NOBLE_SIX.xuid, RANKED_ARENA, 1510)
            # The process "dies" right after the snapshot + outbox transaction.
            report = await cog_of(first).watcher.run_cycle(flush=False)
            assert report.queued == 1 and posted(first) == []
        assert not (tmp_path / "bot.db").exists()  # nothing went to the SQLite default

        async with running_world(tmp_path, discord=fake, halo=halo, database_url=pg_url) as second:
            await cog_of(second).wait_started()  # the start posts the outbox first
            assert [m[0]["title"] for m in posted(second)] == ["Noble Six reached Onyx"]
            assert (await cycle(second)).changes == 0
            assert await second.db.announcements.pending() == []
            assert [m.user_id for m in await second.db.tracked.list_for_guild(GUILD_ID)] == [
                USER_ID
            ]
            history = await second.db.snapshots.history(str(NOBLE_SIX.xuid), RANKED_ARENA)
            assert [s.value for s in history][-1] == 1510
