"""One process running every shard (SHARD_COUNT=2, SHARD_IDS unset): discord.py's
AutoShardedBot, one gateway connection per shard, each server answered on its own."""

from __future__ import annotations

from pathlib import Path

import discord

from bot.core.bot import ShardedHaloBot, holds_guild_shard
from tests.fakes.halo_server import NOBLE_SIX
from tests.support.discord import GUILD_ID, USER_ID, running_fake
from tests.support.world import running_world

OTHER_GUILD = GUILD_ID + (1 << 22)  # the next shard of two


async def test_one_process_runs_both_shards(tmp_path: Path) -> None:
    assert (GUILD_ID >> 22) % 2 == 0 and (OTHER_GUILD >> 22) % 2 == 1
    async with running_fake(shard_count=2) as fake:
        fake.add_guild(OTHER_GUILD, "Other", members=[{"id": USER_ID, "username": "tester"}])
        async with running_world(tmp_path, discord=fake, shard_count=2) as world:
            assert isinstance(world.bot, ShardedHaloBot)
            assert fake.connected_shards() == [(0, 2), (1, 2)]
            assert {g.id for g in world.bot.guilds} == {GUILD_ID, OTHER_GUILD}
            assert holds_guild_shard(world.bot, GUILD_ID)
            assert holds_guild_shard(world.bot, OTHER_GUILD)
            guild = discord.Object(id=OTHER_GUILD)
            world.bot.tree.copy_global_to(guild=guild)
            await world.bot.tree.sync(guild=guild)
            for guild_id in (GUILD_ID, OTHER_GUILD):
                rec = await world.invoke("csr", {"player": NOBLE_SIX.gamertag}, guild_id=guild_id)
                assert not rec.is_ephemeral(rec.final_message()), rec.summary()
                assert NOBLE_SIX.gamertag in str(rec.final_message()["embeds"][0])
