"""Lookups before the rank cycle, through the real client, HTTP layer and fake Halo."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest

from bot.halo.auth import StaticTokenProvider
from bot.halo.client import HaloClient
from bot.halo.http import HaloHttp, RetryPolicy
from bot.halo.ratelimit import Priority, UpstreamLimiter
from tests.fakes.halo_server import (
    DEFAULT_CLEARANCE,
    NOBLE_SIX,
    RANKED_ARENA,
    STATIC_SPARTAN_TOKEN,
    FakeHalo,
)

RATE = 10.0


@pytest.fixture(name="setup")
async def setup_fixture() -> AsyncIterator[tuple[FakeHalo, HaloClient]]:
    async with FakeHalo() as fake, aiohttp.ClientSession() as session:
        http = HaloHttp(
            session,
            StaticTokenProvider(STATIC_SPARTAN_TOKEN, DEFAULT_CLEARANCE),
            UpstreamLimiter(rate=RATE),
            api_base=fake.base_url,
            policy=RetryPolicy(deadline=10, attempt_timeout=5),
        )
        yield fake, HaloClient(http, csr_batch_size=1)


def csr_requests(fake: FakeHalo) -> int:
    return sum(1 for r in fake.requests if r.path.endswith("/csrs"))


async def test_a_lookup_goes_before_the_cycles_queued_batches(
    setup: tuple[FakeHalo, HaloClient],
) -> None:
    fake, client = setup
    players = [str(2533274800003000 + i) for i in range(8)]
    # The cycle asks for every batch at once (as the announcement cycle does).
    cycle = [
        asyncio.create_task(
            client.get_csr(RANKED_ARENA, [xuid], fresh=True, priority=Priority.BACKGROUND)
        )
        for xuid in players
    ]
    await asyncio.sleep(2.5 / RATE)  # a few batches are out, the rest queued
    sent_before = csr_requests(fake)
    assert 1 <= sent_before < len(players)
    record = await client.get_service_record(str(NOBLE_SIX.xuid))
    assert record is not None
    paths = [r.path for r in fake.requests]
    lookup_at = next(i for i, p in enumerate(paths) if p.endswith("/servicerecord"))
    csr_first = sum(1 for p in paths[:lookup_at] if p.endswith("/csrs"))
    # At most the batch whose slot was already due went first; the queue waited.
    assert csr_first <= sent_before + 1
    assert csr_first < len(players) - 2
    await asyncio.gather(*cycle)
    assert csr_requests(fake) == len(players)
