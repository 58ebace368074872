"""Two instances built by the real composition root on one Redis (``REDIS_URL``) and one
fake Halo: one upstream call for a lookup both ask for, one server budget for both."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.common.errors import RateLimitedError, UserFacingError
from bot.core.config import load_settings
from bot.core.services import Services, build_services
from bot.halo.ratelimit import LocalSendSlots
from tests.fakes.halo_server import (
    DEFAULT_CLEARANCE,
    MODERN_PLAYER,
    NOBLE_SIX,
    RANKED_ARENA,
    STATIC_SPARTAN_TOKEN,
    FakeHalo,
)
from tests.support.coordination import ThrowawayRedis


async def instance(halo: FakeHalo, tmp_path: Path, redis_url: str | None) -> Services:
    settings = load_settings(
        None,
        discord_token="x.y.z",
        halo_api_base_url=halo.base_url,
        halo_spartan_token=STATIC_SPARTAN_TOKEN,
        halo_clearance_token=DEFAULT_CLEARANCE,
        database_path=tmp_path / "bot.db",
        halo_requests_per_second=50,
        guild_commands_per_minute=3,
        user_cooldown_seconds=0,
        redis_url=redis_url,
        shard_count=2,
        shard_ids="0",
    )
    return await build_services(settings)


@pytest.fixture(name="pair")
async def pair_fixture(
    throwaway_redis: ThrowawayRedis, tmp_path: Path
) -> AsyncIterator[tuple[FakeHalo, Services, Services]]:
    async with FakeHalo() as halo:
        (tmp_path / "a").mkdir()
        (tmp_path / "b").mkdir()
        first = await instance(halo, tmp_path / "a", throwaway_redis.url)
        second = await instance(halo, tmp_path / "b", throwaway_redis.url)
        try:
            yield halo, first, second
        finally:
            await first.close()
            await second.close()


async def test_one_upstream_call_for_a_lookup_both_instances_make(
    pair: tuple[FakeHalo, Services, Services],
) -> None:
    halo, first, second = pair
    records = await asyncio.gather(
        *(s.halo.get_service_record(str(NOBLE_SIX.xuid)) for s in [first, second] * 3)
    )
    assert len({r.matches_completed for r in records}) == 1
    asked = [r for r in halo.requests if r.path.endswith("/servicerecord")]
    assert len(asked) == 1
    # Later asks are answered from the shared cache, by either instance.
    await second.halo.get_service_record(str(NOBLE_SIX.xuid))
    assert len([r for r in halo.requests if r.path.endswith("/servicerecord")]) == 1


async def test_the_server_budget_is_one_for_both_instances(
    pair: tuple[FakeHalo, Services, Services],
) -> None:
    _, first, second = pair
    await first.limits.check(42, 1)
    await second.limits.check(42, 2)
    await first.limits.check(42, 3)
    with pytest.raises(RateLimitedError):
        await second.limits.check(42, 4)


async def test_without_redis_everything_stays_in_process(tmp_path: Path) -> None:
    async with FakeHalo() as halo:
        services = await instance(halo, tmp_path, None)
        try:
            assert services.redis is None
            limiter = services.halo.http.limiter
            assert isinstance(limiter.slots, LocalSendSlots)
            # The whole budget: SHARD_COUNT only divides it while Redis is unreachable.
            assert limiter.interval == pytest.approx(1 / 50)
            assert services.halo.cache.shared is None
            assert services.limits.shared is None
        finally:
            await services.close()


async def test_a_429_to_one_instance_keeps_the_other_off_that_host(
    pair: tuple[FakeHalo, Services, Services],
) -> None:
    """Halo answers the first instance 429 with Retry-After: 30. The second instance then
    sends Halo nothing for that host: its lookup is refused at once as rate limited
    (asking would only earn another 429), while other hosts still answer."""
    halo, first, second = pair
    halo.fail("/servicerecord", status=429, retry_after=30, times=None)
    with pytest.raises(UserFacingError) as seen:
        await first.halo.get_service_record(str(NOBLE_SIX.xuid))
    asked = len([r for r in halo.requests if r.path.endswith("/servicerecord")])
    assert asked >= 1
    await asyncio.sleep(0.5)  # the second instance reads the shared pauses
    with pytest.raises(UserFacingError) as refused:
        await second.halo.get_service_record(str(MODERN_PLAYER.xuid))
    assert refused.value.title == seen.value.title, (refused.value, seen.value)
    assert len([r for r in halo.requests if r.path.endswith("/servicerecord")]) == asked
    # Another host is not paused.
    csr = await second.halo.get_csr(RANKED_ARENA, [str(NOBLE_SIX.xuid)])
    assert csr[str(NOBLE_SIX.xuid)] is not None
