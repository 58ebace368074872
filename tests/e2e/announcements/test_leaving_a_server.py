"""Leaving a server (GUILD_DELETE, not an outage): its members stop being polled at once
unless another server tracks them, and its data goes after the grace period unless the
bot is invited back."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import cast

from bot.features.announcements.cog import RankAnnouncements
from bot.features.departures.cog import GuildDepartures
from tests.e2e.accounts.verifying import link_verified
from tests.fakes.halo_server import MODERN_PLAYER, NOBLE_SIX, SKILL_HOST
from tests.support.discord import (
    ADMIN_USER_ID,
    ANNOUNCE_CHANNEL_ID,
    GUILD_ID,
    OTHER_USER_ID,
    USER_ID,
)
from tests.support.world import World, running_world

GUILD2_ID = 1_300_000_000_000_030_000
GUILD2_CHANNEL_ID = 1_300_000_000_000_030_001
ROLE_ID = 1_300_000_000_000_030_100
CSR_PATH = f"{SKILL_HOST}/hi/playlist/"


def cog(world: World, name: str) -> object:
    found = world.bot.get_cog(name)
    assert found is not None, name
    return found


async def eventually(predicate: Callable[[], object], what: str) -> None:
    for _ in range(500):
        if await predicate() if asyncio.iscoroutinefunction(predicate) else predicate():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


async def polled_xuids(world: World) -> set[str]:
    """Run one rank check; the players named in the CSR requests it sent."""
    world.halo.clear_requests()
    await cast("RankAnnouncements", cog(world, "RankAnnouncements")).run_once()
    return {
        ref.strip()[5:-1]
        for r in world.halo.requests_to(CSR_PATH)
        for ref in r.query["players"].split(",")
    }


async def two_servers(world: World) -> None:
    """Server 1 tracks Noble Six and Sïerra, has settings, a rank role and lookup notes;
    server 2 tracks Sïerra too."""
    rec = await world.invoke(
        "config announce-channel", {"channel": ANNOUNCE_CHANNEL_ID}, user_id=ADMIN_USER_ID
    )
    assert rec.final_message()["embeds"][0]["title"] == "Announcement channel set"
    for gamertag, user in ((NOBLE_SIX.gamertag, USER_ID), (MODERN_PLAYER.gamertag, OTHER_USER_ID)):
        await link_verified(world, gamertag, user)
    rec = await world.invoke("csr", {"player": MODERN_PLAYER.gamertag})  # a lookup note
    assert rec.final_message()["embeds"][0]["title"].endswith(": ranked CSR")
    await world.services.resolver.flush()  # lookup notes are written in batches
    await world.db.rank_roles.set_role(GUILD_ID, "Diamond", ROLE_ID)
    await world.db.rank_roles.record_grant(GUILD_ID, USER_ID, ROLE_ID)
    await world.discord.join_guild(
        GUILD2_ID,
        "Second Guild",
        channels=[{"id": GUILD2_CHANNEL_ID, "name": "ranks"}],
        members=[{"id": OTHER_USER_ID, "username": "other"}],
    )
    await world.db.tracked.track(GUILD2_ID, OTHER_USER_ID)
    await world.db.guilds.update(GUILD2_ID, announce_channel_id=GUILD2_CHANNEL_ID)


async def server1_data(world: World) -> tuple[int | None, int, int, int, int]:
    return (
        (await world.db.guilds.get(GUILD_ID)).announce_channel_id,
        await world.db.tracked.count_for_guild(GUILD_ID),
        len(await world.db.rank_roles.mapping(GUILD_ID)),
        len(await world.db.rank_roles.granted(GUILD_ID)),
        len(await world.db.players.recent_lookups(GUILD_ID)),
    )


async def test_removed_server_stops_polling_and_its_data_goes_after_the_grace_period(
    world: World,
) -> None:
    await two_servers(world)
    assert await polled_xuids(world) == {str(NOBLE_SIX.xuid), str(MODERN_PLAYER.xuid)}
    kept = await server1_data(world)
    assert kept == (ANNOUNCE_CHANNEL_ID, 2, 1, 1, 1)

    await world.discord.remove_guild(GUILD_ID)
    await eventually(lambda: world.bot.get_guild(GUILD_ID) is None, "the GUILD_DELETE")
    await eventually(world.db.departures.ids, "the departure to be recorded")

    # At once: Noble Six (tracked only there) is no longer polled; Sïerra still is.
    assert await polled_xuids(world) == {str(MODERN_PLAYER.xuid)}
    # Within the grace period everything is kept.
    departures = cast("GuildDepartures", cog(world, "GuildDepartures"))
    assert await departures.service.purge() == []
    assert await server1_data(world) == kept

    departures.service.clock = lambda: datetime.now(UTC) + timedelta(days=7, minutes=1)
    assert await departures.service.purge() == [GUILD_ID]
    assert await server1_data(world) == (None, 0, 0, 0, 0)
    # Server 2 and the accounts are untouched.
    assert await world.db.tracked.count_for_guild(GUILD2_ID) == 1
    assert (await world.db.guilds.get(GUILD2_ID)).announce_channel_id == GUILD2_CHANNEL_ID
    assert await world.db.accounts.get(USER_ID) is not None
    assert await world.db.departures.ids() == set()


async def test_invited_back_within_the_grace_period_keeps_everything(world: World) -> None:
    await two_servers(world)
    kept = await server1_data(world)
    await world.discord.remove_guild(GUILD_ID)
    await eventually(world.db.departures.ids, "the departure to be recorded")
    assert await polled_xuids(world) == {str(MODERN_PLAYER.xuid)}

    await world.discord.join_guild(GUILD_ID, "Test Guild", channels=[ANNOUNCE_CHANNEL_ID])
    await eventually(lambda: world.bot.get_guild(GUILD_ID) is not None, "the GUILD_CREATE")

    async def returned() -> bool:
        return GUILD_ID not in await world.db.departures.ids()

    await eventually(returned, "the return to be recorded")
    departures = cast("GuildDepartures", cog(world, "GuildDepartures"))
    departures.service.clock = lambda: datetime.now(UTC) + timedelta(days=30)
    assert await departures.service.purge() == []
    assert await server1_data(world) == kept
    assert await polled_xuids(world) == {str(NOBLE_SIX.xuid), str(MODERN_PLAYER.xuid)}


async def test_grace_zero_deletes_at_once(tmp_path: Path) -> None:
    async with running_world(tmp_path, guild_data_grace_days=0) as world:
        await two_servers(world)
        await world.discord.remove_guild(GUILD_ID)

        async def gone() -> bool:
            return (await server1_data(world)) == (None, 0, 0, 0, 0)

        await eventually(gone, "server 1's data to be deleted")
        assert await world.db.tracked.count_for_guild(GUILD2_ID) == 1
