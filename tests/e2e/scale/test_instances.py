"""Three bot processes (SHARD_COUNT=3, one shard each) sharing one PostgreSQL schema.

Real processes, the fake Discord routing each server's events to its shard, the fake
Halo; skipped without ``TEST_DATABASE_URL`` (see ``tests/support/engines.py``).
"""

from __future__ import annotations

import asyncio
import signal
from datetime import UTC, datetime
from pathlib import Path

from tests.e2e.scale.cluster import (
    CHANGED_CSR,
    POLL_SECONDS,
    SHARD_COUNT,
    Cluster,
    running_cluster,
)
from tests.fakes.halo_server import RANKED_ARENA


def assert_one_post_per_player(cluster: Cluster) -> None:
    for server in cluster.servers:
        titles = sorted(e["title"] for e in cluster.posts(server))
        wanted = sorted(f"{p.gamertag} reached Onyx" for p in cluster.players if p.server is server)
        assert titles == wanted, (server.shard, titles, cluster.logs())


async def assert_outbox_all_sent_once(cluster: Cluster) -> None:
    rows = await cluster.query("SELECT guild_id, status FROM announcements ORDER BY guild_id")
    assert len(rows) == len(cluster.players)
    assert {r["status"] for r in rows} == {"sent"}


async def test_every_instance_connects_only_its_shard_and_a_change_is_posted_once(
    tmp_path: Path, pg_url: str
) -> None:
    async with running_cluster(tmp_path, pg_url) as cluster:
        assert cluster.discord.connected_shards() == [(s, SHARD_COUNT) for s in range(SHARD_COUNT)]
        identified = [e.data["shard"] for e in cluster.discord.gateway_events("identify")]
        assert sorted(identified) == [[s, SHARD_COUNT] for s in range(SHARD_COUNT)]
        await cluster.set_up_servers()
        await cluster.wait_baselines()

        for player in cluster.players:
            cluster.halo.set_csr(player.xuid, RANKED_ARENA, CHANGED_CSR)
        await cluster.until(
            lambda: all(
                len(cluster.posts(s)) == len([p for p in cluster.players if p.server is s])
                for s in cluster.servers
            ),
            "one post per changed player",
        )
        # Three more cycles: nobody posts it again.
        await asyncio.sleep(3 * POLL_SECONDS)
        assert_one_post_per_player(cluster)
        await assert_outbox_all_sent_once(cluster)

        # Each player's CSR was asked for at most once per cycle, all instances together.
        cycles = await cluster.query("SELECT max(number) FROM rank_cycles")
        started = int(cycles[0][0] or 0)
        checks = cluster.csr_checks()
        assert all(1 <= n <= started for n in checks.values()), (checks, started)
        # Every process posted only in its own server (its shard's channel).
        for shard, instance in cluster.instances.items():
            assert "Traceback" not in instance.log_text(), instance.log_text()[-3000:]
            assert f"on shards {shard} of {SHARD_COUNT}" in instance.log_text()


async def test_sigkill_in_the_middle_of_a_cycle_loses_and_doubles_nothing(
    tmp_path: Path, pg_url: str
) -> None:
    async with running_cluster(tmp_path, pg_url, players_per_server=3) as cluster:
        await cluster.set_up_servers()
        await cluster.wait_baselines()
        # Halo answers Ranked Arena slowly from now on, so a unit takes a while: time
        # to be killed in.
        cluster.halo.fail(f"/playlist/{RANKED_ARENA}/csrs", delay=0.4, times=None)
        for player in cluster.players:
            cluster.halo.set_csr(player.xuid, RANKED_ARENA, CHANGED_CSR)
        victim = cluster.instances[1]
        held: list[int] = []
        for _ in range(400):
            rows = await cluster.query(
                "SELECT cycle, unit FROM rank_cycle_units WHERE holder LIKE $1"
                " AND done_at IS NULL AND lease_until > $2",
                f"%:{victim.pid}:%",
                datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z"),
            )
            if rows:
                held = [int(rows[0]["cycle"]), int(rows[0]["unit"])]
                break
            await asyncio.sleep(0.05)
        assert held, f"instance 1 never held a unit\n{cluster.logs()}"
        await victim.stop(signal.SIGKILL)
        killed_at = len(cluster.halo.requests)
        cycle_at_kill = held[0]

        # Every player is checked again within the next cycle, by the living instances.
        await cluster.until(
            lambda: all(n >= 1 for n in cluster.csr_checks(since=killed_at).values()),
            "every player checked after the kill",
            timeout=30,
        )
        rows = await cluster.query("SELECT max(number) FROM rank_cycles")
        assert int(rows[0][0]) <= cycle_at_kill + 2, "more than the next cycle was needed"
        # The posts of servers on the living shards arrive; shard 1's wait for it.
        living = [s for s in cluster.servers if s.shard != 1]
        await cluster.until(
            lambda: all(
                len(cluster.posts(s)) == len([p for p in cluster.players if p.server is s])
                for s in living
            ),
            "the living shards' posts",
            timeout=30,
        )
        # Shard 1 comes back (a supervisor restarts it) and posts what was queued for it.
        cluster.halo.reset_faults()
        await cluster.start(1)
        await cluster.until(
            lambda: (
                len(cluster.posts(cluster.servers[1]))
                == len([p for p in cluster.players if p.server is cluster.servers[1]])
            ),
            "shard 1's posts after its restart",
            timeout=30,
        )
        await asyncio.sleep(3 * POLL_SECONDS)
        assert_one_post_per_player(cluster)
        await assert_outbox_all_sent_once(cluster)


async def test_link_through_one_instance_then_csr_through_another(
    tmp_path: Path, pg_url: str
) -> None:
    async with running_cluster(tmp_path, pg_url, players_per_server=1) as cluster:
        first, second = cluster.servers[0], cluster.servers[2]
        player = cluster.players[0]  # a member of the shard 0 server ...
        cluster.discord.add_member(second.guild_id, {"id": player.user_id, "username": "twice"})
        rec = await cluster.invoke(
            "link", {"gamertag": player.gamertag}, server=first, user_id=player.user_id
        )
        assert rec.final_message()["embeds"][0]["title"] == "Account linked"

        # ... asks /csr with no player in the shard 2 server: only the shard 2 process
        # receives that interaction, and answers from the link the first one stored.
        rec = await cluster.invoke("csr", {}, server=second, user_id=player.user_id)
        assert not rec.is_ephemeral(rec.final_message()), rec.summary()
        embed = rec.final_message()["embeds"][0]
        assert player.gamertag in str(embed), embed
