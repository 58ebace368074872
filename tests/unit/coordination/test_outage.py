"""Redis goes away and comes back: commands keep answering on this instance's own limits
(its share of the Halo budget), one warning per outage, and sharing resumes by itself.

These run a private redis-server (``throwaway_redis``) so it can be killed mid-test."""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

from bot.coordination.answers import RedisAnswers
from bot.coordination.command_limits import RedisCommandLimits
from bot.coordination.link import RedisLink
from bot.coordination.send_slots import RedisSendSlots
from bot.core.limits import CommandLimits
from bot.halo.cache import CachedFetcher
from bot.halo.ratelimit import LocalSendSlots, Priority, UpstreamLimiter
from tests.support.coordination import ThrowawayRedis

RATE = 20.0
#: This instance runs one of two shards: half the budget while Redis is away.
SHARE = 0.5
RETRY_SECONDS = 0.2
LOOP_SLACK = 0.015


@dataclass
class Instance:
    link: RedisLink
    limiter: UpstreamLimiter
    limits: CommandLimits
    fetcher: CachedFetcher[str, Any]


def instance(url: str) -> Instance:
    link = RedisLink.from_url(url, prefix="outage:", retry_seconds=RETRY_SECONDS)
    slots = RedisSendSlots(link, RATE, fallback=LocalSendSlots(RATE * SHARE))
    shared = RedisCommandLimits(link, guild_limit=2, guild_period=60.0, user_cooldown=0.0)
    return Instance(
        link,
        UpstreamLimiter(RATE, slots=slots),
        CommandLimits(2, 0.0, shared=shared),
        CachedFetcher(shared=RedisAnswers(link, wait_seconds=2.0)),
    )


@pytest.fixture(name="instances")
async def instances_fixture(throwaway_redis: ThrowawayRedis) -> AsyncIterator[list[Instance]]:
    made = [instance(throwaway_redis.url), instance(throwaway_redis.url)]
    yield made
    for one in made:
        await one.link.close()


def warnings_about_redis(caplog: pytest.LogCaptureFixture, words: str) -> int:
    return sum(
        1
        for record in caplog.records
        if record.name == "bot.coordination.link" and words in record.getMessage()
    )


async def sends(limiter: UpstreamLimiter, count: int) -> list[float]:
    out: list[float] = []

    async def one() -> None:
        await limiter.acquire("skill")
        out.append(time.monotonic())

    await asyncio.gather(*(one() for _ in range(count)))
    return sorted(out)


async def shared_server_budget_holds(first: Instance, second: Instance, guild: int) -> None:
    await first.limits.check(guild, 1)
    await second.limits.check(guild, 2)
    with pytest.raises(Exception, match="This server is making a lot"):
        await first.limits.check(guild, 3)


async def test_redis_stopped_mid_run_falls_back_then_recovers(
    throwaway_redis: ThrowawayRedis,
    instances: list[Instance],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    first, second = instances
    upstream_calls: list[str] = []

    async def load() -> bytes:
        upstream_calls.append("call")
        return json.dumps({"csr": 1500}).encode()

    # Redis up: everything shared.
    await shared_server_budget_holds(first, second, guild=1)
    await first.limiter.acquire("skill")
    assert first.link.available

    await throwaway_redis.kill()

    # Commands keep answering on this instance's own limits...
    await first.limits.check(2, 1)
    await first.limits.check(2, 2)
    with pytest.raises(Exception, match="This server is making a lot"):
        await first.limits.check(2, 3)
    answer = await first.fetcher.get_decoded("csr", 30.0, load, json.loads)
    assert answer == {"csr": 1500} and upstream_calls == ["call"]
    # The fallback ignores priority: a background request is served too.
    await first.limiter.acquire("skill", priority=Priority.BACKGROUND)
    # ...and Halo requests at its share of the budget, still spaced.
    sent = await sends(first.limiter, 6)
    gaps = [b - a for a, b in itertools.pairwise(sent)]
    assert min(gaps) >= 1 / (RATE * SHARE) - LOOP_SLACK
    assert first.limiter.interval == pytest.approx(1 / (RATE * SHARE))
    await asyncio.sleep(RETRY_SECONDS * 2)  # it tries Redis again meanwhile, and fails
    await first.limits.check(3, 1)
    assert not first.link.available
    assert warnings_about_redis(caplog, "is unreachable") == 1  # one per outage

    await throwaway_redis.start()
    await asyncio.sleep(RETRY_SECONDS * 1.5)

    # Back by itself: limits are shared again, Halo gets the whole budget again.
    await shared_server_budget_holds(first, second, guild=4)
    assert first.link.available
    assert warnings_about_redis(caplog, "answers again after") == 1
    sent = await sends(first.limiter, 4)
    assert first.limiter.interval == pytest.approx(1 / RATE)
    assert min(b - a for a, b in itertools.pairwise(sent)) < 1 / (RATE * SHARE)
    # Lookups and background requests both served on the shared budget again.
    await asyncio.gather(
        second.limiter.acquire("skill"),
        first.limiter.acquire("skill", priority=Priority.BACKGROUND),
    )
    assert warnings_about_redis(caplog, "is unreachable") == 1


async def test_redis_unreachable_at_start(
    throwaway_redis: ThrowawayRedis,
    instances: list[Instance],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    first, second = instances
    await throwaway_redis.kill()
    assert not await first.link.probe()
    await first.limits.check(1, 1)
    await first.limiter.acquire("skill")
    assert warnings_about_redis(caplog, "is unreachable") == 1
    assert "outage:" not in caplog.text  # neither keys nor the URL's secrets in the logs

    await throwaway_redis.start()
    await asyncio.sleep(RETRY_SECONDS * 1.5)
    assert await first.link.probe()
    await shared_server_budget_holds(first, second, guild=7)
