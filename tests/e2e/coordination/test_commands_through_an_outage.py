"""/csr through the real bot with REDIS_URL set: shared while Redis is up, still answering
while it is down (one warning), shared again once it is back."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest
from redis.asyncio import Redis

from bot.coordination.link import DEFAULT_RETRY_SECONDS
from tests.fakes.halo_server import MODERN_PLAYER, NOBLE_SIX
from tests.support.coordination import ThrowawayRedis
from tests.support.world import World, running_world


async def keys_in(redis: ThrowawayRedis) -> list[bytes]:
    client = Redis.from_url(redis.url)
    try:
        return [key async for key in client.scan_iter(match="halo-bot:*")]
    finally:
        await client.aclose()


async def csr_title(world: World, player: str) -> str:
    rec = await world.invoke("csr", {"player": player})
    message = rec.final_message()
    assert message is not None
    return message["embeds"][0]["title"]


async def test_csr_answers_through_a_redis_outage(
    throwaway_redis: ThrowawayRedis, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.coordination.link")
    async with running_world(tmp_path, redis_url=throwaway_redis.url) as world:
        assert await csr_title(world, NOBLE_SIX.gamertag) == "Noble Six: ranked CSR"
        stored = await keys_in(throwaway_redis)
        assert any(b":cmd:guild:" in key for key in stored)  # the limits went to Redis
        assert any(b":answer:" in key for key in stored)  # and so did Halo's answer

        await throwaway_redis.kill()
        title = await csr_title(world, MODERN_PLAYER.gamertag)
        assert title.endswith(": ranked CSR") and title.startswith("Sïerra")
        assert await csr_title(world, NOBLE_SIX.gamertag) == "Noble Six: ranked CSR"
        unreachable = [r for r in caplog.records if "is unreachable" in r.getMessage()]
        assert len(unreachable) == 1

        await throwaway_redis.start()
        await asyncio.sleep(DEFAULT_RETRY_SECONDS + 0.2)
        assert await csr_title(world, MODERN_PLAYER.gamertag) == title
        assert any(b":cmd:guild:" in key for key in await keys_in(throwaway_redis))
        assert any("answers again after" in r.getMessage() for r in caplog.records)
