"""The fake Discord with several shards: one gateway connection per shard, each server's
events on the shard ``(guild_id >> 22) % count`` and DMs on shard 0."""

from __future__ import annotations

import asyncio

import aiohttp
import discord

from tests.fakes.discord_server import FakeDiscord
from tests.support.discord import TOKEN, running_bot


def guild_on(shard: int, count: int, start: int = 1_300_000_000_000_000_000) -> int:
    gid = start
    while (gid >> 22) % count != shard:
        gid += 1 << 22
    return gid


async def test_each_shard_gets_its_own_servers_and_dms_go_to_shard_zero() -> None:
    async with FakeDiscord(token=TOKEN, shard_count=2) as fake:
        on_zero, on_one = guild_on(0, 2), guild_on(1, 2)
        fake.add_guild(on_zero, "zero")
        fake.add_guild(on_one, "one")
        async with (
            aiohttp.ClientSession() as http,
            http.get(
                f"{fake.api_base}/gateway/bot", headers={"Authorization": f"Bot {TOKEN}"}
            ) as response,
        ):
            assert (await response.json())["shards"] == 2
        none = discord.Intents.none()
        none.guilds = True
        zero = discord.Client(intents=none, shard_id=0, shard_count=2)
        one = discord.Client(intents=none, shard_id=1, shard_count=2)
        async with running_bot(zero, fake), running_bot(one, fake):
            assert [g.id for g in zero.guilds] == [on_zero]
            assert [g.id for g in one.guilds] == [on_one]
            assert fake.connected_shards() == [(0, 2), (1, 2)]
            identified = sorted(e.data["shard"] for e in fake.gateway_events("identify"))
            assert identified == [[0, 2], [1, 2]]

            later = guild_on(1, 2, start=on_one + (2 << 22))
            await fake.join_guild(later, "joined later")
            for _ in range(100):
                if one.get_guild(later) is not None:
                    break
                await asyncio.sleep(0.02)
            assert one.get_guild(later) is not None and zero.get_guild(later) is None
            assert fake._session_for(None).shard == (0, 2)
