"""Fixtures of the Halo layer's tests: a fake Halo on loopback, and a client of it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from bot.halo.auth import StaticTokenProvider
from bot.halo.client import HaloClient
from bot.halo.http import HaloHttp, RetryPolicy
from bot.halo.ratelimit import UpstreamLimiter
from tests.fakes.halo_server import DEFAULT_CLEARANCE, STATIC_SPARTAN_TOKEN, FakeHalo


@pytest.fixture
async def fake() -> AsyncIterator[FakeHalo]:
    async with FakeHalo() as server:
        yield server


@pytest.fixture
async def client(fake: FakeHalo) -> AsyncIterator[HaloClient]:
    """The real client against ``fake``: no budget to speak of, short retries, and CSR
    batches of 4 (so a handful of players already spans several batches)."""
    async with aiohttp.ClientSession() as session:
        http = HaloHttp(
            session,
            StaticTokenProvider(STATIC_SPARTAN_TOKEN, DEFAULT_CLEARANCE),
            UpstreamLimiter(rate=1000),
            api_base=fake.base_url,
            policy=RetryPolicy(deadline=5, attempt_timeout=2, backoff_base=0.01),
        )
        yield HaloClient(http, csr_batch_size=4)
