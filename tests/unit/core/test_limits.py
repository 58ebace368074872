"""Per-server and per-member command limits (bot/core/limits.py), on a virtual clock."""

from __future__ import annotations

from collections.abc import Hashable

import pytest

from bot.common.errors import RateLimitedError
from bot.core.limits import CommandLimits, Cooldown, KeyedWindowLimiter
from tests.support.clock import FakeClock

# --------------------------------------------------------------------------- KeyedWindowLimiter


def hit(limiter: KeyedWindowLimiter | Cooldown, key: Hashable) -> float:
    """One command as :meth:`CommandLimits.check` counts it: 0.0 and recorded when
    allowed, else the seconds to wait (and nothing recorded)."""
    wait = limiter.peek(key)
    if wait == 0.0:
        limiter.record(key)
    return wait


def test_window_allows_limit_then_reports_wait() -> None:
    clock = FakeClock(start=0.0)
    limiter = KeyedWindowLimiter(limit=3, period=60.0, clock=clock)
    for t in (0.0, 10.0, 20.0):
        clock.now = t
        assert hit(limiter, "g") == 0.0
    clock.now = 30.0
    assert hit(limiter, "g") == pytest.approx(30.0)  # first hit leaves the window at 60
    clock.now = 59.0
    assert hit(limiter, "g") == pytest.approx(1.0)  # refused hits were not recorded
    clock.now = 60.0
    assert hit(limiter, "g") == 0.0
    assert hit(limiter, "g") == pytest.approx(10.0)  # next to leave is the one at 10


def test_window_waiting_the_returned_delay_is_enough() -> None:
    clock = FakeClock(start=0.1)
    limiter = KeyedWindowLimiter(limit=1, period=0.3, clock=clock)
    assert hit(limiter, "g") == 0.0
    for _ in range(20):
        wait = hit(limiter, "g")
        assert wait > 0
        clock.now += wait
        assert hit(limiter, "g") == 0.0


def test_window_keys_are_isolated() -> None:
    clock = FakeClock(start=0.0)
    limiter = KeyedWindowLimiter(limit=2, period=60.0, clock=clock)
    assert hit(limiter, "A") == 0.0
    assert hit(limiter, "A") == 0.0
    assert hit(limiter, "A") > 0
    assert hit(limiter, "B") == 0.0
    assert hit(limiter, "B") == 0.0
    assert hit(limiter, "B") > 0


def test_window_peek_records_nothing() -> None:
    clock = FakeClock(start=0.0)
    limiter = KeyedWindowLimiter(limit=1, period=10.0, clock=clock)
    for _ in range(5):
        assert limiter.peek("g") == 0.0
    assert hit(limiter, "g") == 0.0
    assert limiter.peek("g") == pytest.approx(10.0)


def test_window_memory_drops_idle_keys() -> None:
    clock = FakeClock(start=0.0)
    limiter = KeyedWindowLimiter(limit=5, period=60.0, clock=clock)
    for key in range(10_000):
        assert hit(limiter, key) == 0.0
    assert len(limiter) == 10_000
    clock.now = 61.0
    assert hit(limiter, "fresh") == 0.0
    assert len(limiter) == 1


def test_window_memory_capped_by_max_keys() -> None:
    clock = FakeClock(start=0.0)
    limiter = KeyedWindowLimiter(limit=1, period=3600.0, clock=clock, max_keys=100)
    for key in range(10_000):
        clock.now += 0.001
        assert hit(limiter, key) == 0.0
        assert len(limiter) <= 100
    assert len(limiter) == 100
    assert hit(limiter, 9_999) > 0  # the most recent keys are still limited
    assert hit(limiter, 0) == 0.0  # the oldest were dropped


def test_window_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError):
        KeyedWindowLimiter(limit=0, period=1.0)
    with pytest.raises(ValueError):
        KeyedWindowLimiter(limit=1, period=0.0)


# --------------------------------------------------------------------------- Cooldown


def test_cooldown_contract() -> None:
    clock = FakeClock(start=0.0)
    cooldown = Cooldown(3.0, clock=clock)
    assert hit(cooldown, 1) == 0.0
    clock.now = 1.0
    assert hit(cooldown, 1) == pytest.approx(2.0)
    assert hit(cooldown, 2) == 0.0  # other users unaffected
    clock.now = 2.5
    assert hit(cooldown, 1) == pytest.approx(0.5)  # the refused hit did not restart it
    clock.now = 3.0
    assert hit(cooldown, 1) == 0.0
    assert hit(cooldown, 1) == pytest.approx(3.0)


def test_cooldown_zero_seconds_never_limits_or_stores() -> None:
    clock = FakeClock(start=0.0)
    cooldown = Cooldown(0.0, clock=clock)
    for _ in range(100):
        assert hit(cooldown, 1) == 0.0
    assert len(cooldown) == 0


def test_cooldown_memory_bounded() -> None:
    clock = FakeClock(start=0.0)
    cooldown = Cooldown(3.0, clock=clock, max_keys=500)
    for key in range(10_000):
        assert hit(cooldown, key) == 0.0
        assert len(cooldown) <= 500
    assert len(cooldown) == 500
    clock.now = 3.0
    assert hit(cooldown, "x") == 0.0
    assert len(cooldown) == 1


def test_cooldown_drops_idle_keys_without_cap() -> None:
    clock = FakeClock(start=0.0)
    cooldown = Cooldown(3.0, clock=clock)
    for key in range(10_000):
        hit(cooldown, key)
    assert len(cooldown) == 10_000
    clock.now = 10.0
    cooldown.peek("anyone")
    assert len(cooldown) == 0


# --------------------------------------------------------------------------- CommandLimits


async def test_user_cooldown_message_and_retry_after() -> None:
    clock = FakeClock(start=0.0)
    limits = CommandLimits(guild_limit=30, user_cooldown=3.0, clock=clock)
    await limits.check(1, 42)
    clock.now = 0.5
    with pytest.raises(RateLimitedError) as info:
        await limits.check(1, 42)
    assert info.value.retry_after == 3.0  # 2.5s rounded up
    assert info.value.message == "You're going a bit fast — try again in 3 seconds."
    clock.now = 2.5
    with pytest.raises(RateLimitedError) as info:
        await limits.check(1, 42)
    assert info.value.message == "You're going a bit fast — try again in 1 second."
    assert info.value.retry_after == 1.0


async def test_wait_is_at_least_one_second() -> None:
    clock = FakeClock(start=0.0)
    limits = CommandLimits(guild_limit=30, user_cooldown=3.0, clock=clock)
    await limits.check(1, 42)
    clock.now = 2.999
    with pytest.raises(RateLimitedError) as info:
        await limits.check(1, 42)
    assert info.value.retry_after == 1.0
    assert "1 second" in info.value.message


async def test_guild_limit_message() -> None:
    clock = FakeClock(start=0.0)
    limits = CommandLimits(guild_limit=2, user_cooldown=1.0, clock=clock)
    await limits.check(7, 1)
    await limits.check(7, 2)
    clock.now = 10.2
    with pytest.raises(RateLimitedError) as info:
        await limits.check(7, 3)
    assert info.value.message == (
        "This server is making a lot of Halo lookups right now — try again in 50 seconds."
    )
    assert info.value.retry_after == 50.0


async def test_guilds_are_isolated() -> None:
    clock = FakeClock(start=0.0)
    limits = CommandLimits(guild_limit=3, user_cooldown=0.0, clock=clock)
    for user in range(3):
        await limits.check(100, user)
    with pytest.raises(RateLimitedError, match="This server"):
        await limits.check(100, 99)
    for user in range(3):
        await limits.check(200, user)  # guild B untouched by guild A being at its limit


async def test_dms_skip_the_guild_limit() -> None:
    clock = FakeClock(start=0.0)
    limits = CommandLimits(guild_limit=1, user_cooldown=1.0, clock=clock)
    for user in range(10):
        await limits.check(None, user)
    assert len(limits.guilds) == 0
    with pytest.raises(RateLimitedError, match="You're going"):
        await limits.check(None, 0)


async def test_user_cooldown_refusal_does_not_spend_guild_budget() -> None:
    clock = FakeClock(start=0.0)
    limits = CommandLimits(guild_limit=2, user_cooldown=5.0, clock=clock)
    await limits.check(1, 10)
    for _ in range(5):
        with pytest.raises(RateLimitedError, match="You're going"):
            await limits.check(1, 10)
    await limits.check(1, 11)  # the second slot of the guild is still free


async def test_guild_refusal_does_not_start_user_cooldown() -> None:
    clock = FakeClock(start=0.0)
    limits = CommandLimits(guild_limit=1, user_cooldown=5.0, clock=clock)
    await limits.check(1, 10)
    with pytest.raises(RateLimitedError, match="This server"):
        await limits.check(1, 11)
    await limits.check(2, 11)  # user 11 was refused by guild 1, so has no cooldown


async def test_both_limited_reports_the_longer_wait() -> None:
    clock = FakeClock(start=0.0)
    limits = CommandLimits(guild_limit=1, user_cooldown=5.0, clock=clock)
    await limits.check(1, 10)
    clock.now = 1.0
    with pytest.raises(RateLimitedError) as info:
        await limits.check(1, 10)
    assert info.value.message.startswith("This server")
    assert info.value.retry_after == 59.0


def test_from_settings_uses_tuning_knobs() -> None:
    class FakeSettings:
        guild_commands_per_minute = 4
        user_cooldown_seconds = 2.5

    limits = CommandLimits.from_settings(FakeSettings(), clock=FakeClock())  # type: ignore[arg-type]
    assert limits.guilds.limit == 4
    assert limits.guilds.period == 60.0
    assert limits.users.seconds == 2.5
