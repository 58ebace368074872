"""Adaptive polling end to end: quiet players are checked less and less often (never
more than an hour apart), a returning player's change is still announced within the
delay the README states, and a ``/csr`` lookup stores the ranks it fetched."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from bot.features.announcements.cog import RankAnnouncements
from bot.features.announcements.cycle import RankWatcher
from bot.features.announcements.schedule import MAX_INTERVAL
from tests.e2e.accounts.verifying import link_verified
from tests.fakes.halo_server import NOBLE_SIX, RANKED_ARENA, SKILL_HOST
from tests.support.discord import ADMIN_USER_ID, ANNOUNCE_CHANNEL_ID, USER_ID
from tests.support.sql import count
from tests.support.world import World

CYCLE = timedelta(seconds=300)  # the default RANK_POLL_SECONDS
ARENA_CSR = f"{SKILL_HOST}/hi/playlist/{RANKED_ARENA}/csrs"
#: The README: "at most 65 minutes" (the longest wait plus one cycle).
STATED_DELAY = timedelta(minutes=65)


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


def cog_of(world: World) -> RankAnnouncements:
    cog = world.bot.get_cog("RankAnnouncements")
    assert cog is not None
    return cast("RankAnnouncements", cog)


def posts(world: World) -> list[dict[str, Any]]:
    return [
        embed
        for m in world.discord.channel_messages(ANNOUNCE_CHANNEL_ID)
        if m.kind == "channel"
        for embed in m.embeds
    ]


async def setup_tracked(world: World) -> None:
    rec = await world.invoke(
        "config announce-channel", {"channel": ANNOUNCE_CHANNEL_ID}, user_id=ADMIN_USER_ID
    )
    assert rec.final_message()["embeds"][0]["title"] == "Announcement channel set"
    await link_verified(world, NOBLE_SIX.gamertag, USER_ID)


async def test_a_returning_players_change_is_announced_within_the_stated_delay(
    world: World,
) -> None:
    await setup_tracked(world)
    clock = Clock()
    watcher = RankWatcher(
        world.db, world.services.halo, poster=cog_of(world).watcher.poster, clock=clock
    )
    checks: list[datetime] = []  # when Ranked Arena was asked for

    async def cycle() -> None:
        before = world.halo.count(ARENA_CSR)
        report = await watcher.run_cycle()
        assert report.errors == []
        if world.halo.count(ARENA_CSR) > before:
            checks.append(clock.now)
        clock.now += CYCLE

    # Four quiet hours: checked every cycle at first, then less and less often.
    for _ in range(48):
        await cycle()
    assert len(checks) < 20, checks  # against 48 without adaptive polling
    gaps = [b - a for a, b in itertools.pairwise(checks)]
    assert max(gaps) <= MAX_INTERVAL + CYCLE
    assert gaps[-1] >= timedelta(minutes=40)  # settled near the hourly sweep

    # The player comes back right after a check: the worst case.
    while checks[-1] != clock.now - CYCLE:
        await cycle()
    changed_at = clock.now
    world.halo.set_csr(NOBLE_SIX.xuid, RANKED_ARENA, 1510)  # Diamond 3 -> Onyx
    while not posts(world):
        assert clock.now - changed_at <= STATED_DELAY, "not announced in time"
        await cycle()
    announced_after = clock.now - CYCLE - changed_at
    assert announced_after <= STATED_DELAY
    assert [e["title"] for e in posts(world)] == ["Noble Six reached Onyx"]

    # Active again: checked at the next cycles, then backing off again.
    active_from = len(checks)
    for _ in range(2):
        await cycle()
    assert len(checks) - active_from == 2


async def test_a_lookup_refreshes_the_stored_rank_and_is_announced(world: World) -> None:
    await setup_tracked(world)
    cog = cog_of(world)
    await cog.run_once()  # baseline: Diamond 3 (1325)
    world.halo.set_csr(NOBLE_SIX.xuid, RANKED_ARENA, 1510)
    world.halo.clear_requests()

    rec = await world.invoke("csr", {"player": NOBLE_SIX.gamertag})
    assert "1,510" in str(rec.final_message()["embeds"][0])
    await cog.watcher.wait_lookups()

    latest = await world.db.snapshots.latest(str(NOBLE_SIX.xuid), RANKED_ARENA)
    assert latest is not None and latest.value == 1510
    # /leaderboard reads the stored ranks: it shows the lookup's answer without a cycle.
    board = await world.invoke("leaderboard")
    assert "Onyx 1510" in str(board.final_message()["embeds"][0])
    # The change the lookup saw is announced once, with no extra Halo request for it.
    assert [e["title"] for e in posts(world)] == ["Noble Six reached Onyx"]
    assert world.halo.count(ARENA_CSR) == 1  # the lookup's own request
    [slot] = (await world.db.schedule.slots(RANKED_ARENA, [str(NOBLE_SIX.xuid)])).values()
    assert slot.interval_seconds == 0  # checked every cycle again

    report = await cog.run_once()
    assert report.changes == 0 and len(posts(world)) == 1


async def test_an_untracked_lookup_stores_nothing(world: World) -> None:
    rec = await world.invoke("csr", {"player": NOBLE_SIX.gamertag})
    assert rec.final_message()["embeds"][0]["title"].startswith("Noble Six")
    await cog_of(world).watcher.wait_lookups()
    assert await count(world.db, "rank_snapshots") == 0
    assert await count(world.db, "poll_schedule") == 0
