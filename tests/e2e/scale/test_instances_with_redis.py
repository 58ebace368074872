"""Three bot processes (SHARD_COUNT=3, one shard each) sharing PostgreSQL and Redis.

Real processes against the fake Discord and the fake Halo, each with ``REDIS_URL`` set to
a private ``redis-server`` of the test (the bot's keys have a fixed prefix, so a server
shared with other tests would mix their budgets and cached answers). Skipped without
``TEST_DATABASE_URL`` or ``redis-server``; failed instead with ``REQUIRE_SERVICES=1``.
"""

from __future__ import annotations

import asyncio
import bisect
from pathlib import Path
from typing import Any

from bot.coordination.link import DEFAULT_RETRY_SECONDS
from tests.e2e.scale.cluster import Cluster, Server, running_cluster
from tests.support.coordination import ThrowawayRedis

#: One Halo budget for the three processes together: low, so that it is the bottleneck.
RATE = 5
COOLDOWN = "going a bit fast"
UNREACHABLE = "is unreachable"
BACK = "answers again after"


def busiest_second(times: list[float]) -> int:
    """The most requests in any closed one-second window ``[t, t + 1]`` (the busiest window
    starts at a request)."""
    ordered = sorted(times)
    return max(
        (bisect.bisect_right(ordered, t + 1.0) - i for i, t in enumerate(ordered)), default=0
    )


async def csr(cluster: Cluster, server: Server, user_id: int, gamertag: str) -> dict[str, Any]:
    """The embed of ``/csr gamertag`` asked by ``user_id`` in ``server``."""
    rec = await cluster.invoke("csr", {"player": gamertag}, server=server, user_id=user_id)
    return rec.final_message()["embeds"][0]


def is_csr(embed: dict[str, Any], gamertag: str) -> bool:
    return embed.get("title") == f"{gamertag}: ranked CSR"


def is_cooldown(embed: dict[str, Any]) -> bool:
    return COOLDOWN in str(embed.get("description"))


async def test_the_three_instances_together_keep_to_one_halo_budget(
    tmp_path: Path, pg_url: str, throwaway_redis: ThrowawayRedis
) -> None:
    """At most ``RATE + 1`` requests reach Halo in any second, all processes together,
    while the load is bound by the budget (the busiest second reaches ``RATE``).

    The load: each process builds its Operations catalogue at start (the season calendar
    and dozens of reward track files, each fetched once for all through Redis, at
    background priority: alone they keep the budget busy for several seconds), and a
    member of every server looks up a player at once (five requests each). How it fails:
    without the shared budget each process spaces only its own requests, so the three
    together send up to three times ``RATE`` a second (run without ``REDIS_URL``, where
    each process spends the whole rate, the busiest second had 16 requests); a
    shared budget that granted slots too close together, or that an instance bypassed,
    shows up the same way. And if the load were too light to press on the budget, the
    lower bound fails.
    """
    async with running_cluster(
        tmp_path,
        pg_url,
        players_per_server=1,
        REDIS_URL=throwaway_redis.url,
        HALO_REQUESTS_PER_SECOND=str(RATE),
        # Lookups queue behind the others' for a while: let them, rather than "busy".
        HALO_REQUEST_DEADLINE_SECONDS="30",
    ) as cluster:
        # Each server's member asks for the player of the next server: three different
        # players (nothing answered from a cache), one lookup in every process at once.
        players = cluster.players
        per_server = len(cluster.servers[0].members)
        asks = [
            (p.server, p.user_id, players[(n + per_server) % len(players)])
            for n, p in enumerate(players)
        ]
        embeds = await asyncio.gather(
            *(csr(cluster, server, member, player.gamertag) for server, member, player in asks)
        )
        for embed, (_, _, player) in zip(embeds, asks, strict=True):
            assert is_csr(embed, player.gamertag), (embed, cluster.logs())

        times = [request.at for request in cluster.halo.requests]
        busiest = busiest_second(times)
        assert busiest <= RATE + 1, (busiest, len(times), cluster.logs())
        assert busiest >= RATE, f"the load never pressed on the budget: {busiest} a second"
        for instance in cluster.instances.values():
            assert UNREACHABLE not in instance.log_text(), instance.log_text()[-3000:]


async def test_commands_answer_through_a_redis_outage_and_limits_are_shared_after(
    tmp_path: Path, pg_url: str, throwaway_redis: ThrowawayRedis
) -> None:
    """A member's cooldown follows them from one process to another while Redis is up;
    with Redis stopped every server still gets its CSR (each process on its own limits,
    one warning each); once Redis is back on the same port, the cooldown is shared again.

    The members checked are in server A (shard 0, process 0) and server B (shard 1,
    process 1). Process 1 never saw the member of a check before: only the count process
    0 left in Redis can refuse the command in B.
    """
    async with running_cluster(
        tmp_path, pg_url, REDIS_URL=throwaway_redis.url, USER_COOLDOWN_SECONDS="60"
    ) as cluster:
        a, b, c = cluster.servers
        before, after = a.members  # one for the check before the outage, one for after
        for member in (before, after):
            cluster.discord.add_member(b.guild_id, {"id": member, "username": f"both{member}"})
        gamertags = [p.gamertag for p in cluster.players]

        # Redis up: the cooldown started in A (process 0) holds in B (process 1).
        assert is_csr(await csr(cluster, a, before, gamertags[0]), gamertags[0])
        refused = await csr(cluster, b, before, gamertags[1])
        assert is_cooldown(refused), (refused, cluster.logs())

        await throwaway_redis.kill()
        # Every server answers; each process goes by its own limits now: the member's
        # cooldown in B is process 1's, which has not seen the member.
        for n, (server, member) in enumerate([(a, before), (b, before), (c, c.members[0])]):
            embed = await csr(cluster, server, member, gamertags[n])
            assert is_csr(embed, gamertags[n]), (server.shard, embed, cluster.logs())
        # Later in the outage (each process tries Redis again, and fails again): still
        # answering, its own limits still apply, no second warning.
        await asyncio.sleep(DEFAULT_RETRY_SECONDS + 0.2)
        assert is_cooldown(await csr(cluster, a, before, gamertags[3]))
        for n, server in enumerate([a, b, c]):
            member = server.admin_id
            embed = await csr(cluster, server, member, gamertags[n + 3])
            assert is_csr(embed, gamertags[n + 3]), (server.shard, embed, cluster.logs())
        for shard, instance in cluster.instances.items():
            assert instance.log_text().count(UNREACHABLE) == 1, (shard, cluster.logs())

        # Redis back (empty, on the same port); past the retry pause each process uses
        # it again at its next command.
        await throwaway_redis.start()
        await asyncio.sleep(DEFAULT_RETRY_SECONDS + 0.2)
        assert is_csr(await csr(cluster, a, after, gamertags[2]), gamertags[2])
        refused = await csr(cluster, b, after, gamertags[4])
        assert is_cooldown(refused), (refused, cluster.logs())
        assert is_csr(await csr(cluster, c, c.members[1], gamertags[5]), gamertags[5])
        for shard, instance in cluster.instances.items():
            log = instance.log_text()
            assert log.count(BACK) == 1 and log.count(UNREACHABLE) == 1, (shard, log[-3000:])
            assert "Traceback" not in log, log[-3000:]
