"""Per-server and per-member command limits across instances: in-process and Redis."""

from __future__ import annotations

import pytest

from bot.common.errors import RateLimitedError
from tests.support.coordination import Coordination


async def test_a_server_budget_counts_every_instance(coordination: Coordination) -> None:
    first = coordination.command_limits(guild_limit=2, user_cooldown=0.0)
    second = coordination.command_limits(guild_limit=2, user_cooldown=0.0)
    await first.check(1, 10)
    await second.check(1, 11)
    with pytest.raises(RateLimitedError) as caught:
        await first.check(1, 12)
    assert "This server is making a lot of Halo lookups" in caught.value.message
    assert caught.value.retry_after is not None and 55 <= caught.value.retry_after <= 60
    await second.check(2, 12)  # another server is not affected


async def test_a_member_cooldown_counts_every_instance(coordination: Coordination) -> None:
    first = coordination.command_limits(guild_limit=30, user_cooldown=5.0)
    second = coordination.command_limits(guild_limit=30, user_cooldown=5.0)
    await first.check(1, 20)
    with pytest.raises(RateLimitedError) as caught:
        await second.check(2, 20)  # another server, same member
    assert caught.value.message.startswith("You're going a bit fast")
    await second.check(None, 21)  # DMs: only the member's own cooldown


async def test_a_refusal_spends_neither_limit(coordination: Coordination) -> None:
    first = coordination.command_limits(guild_limit=2, user_cooldown=5.0)
    second = coordination.command_limits(guild_limit=2, user_cooldown=5.0)
    await first.check(1, 30)
    with pytest.raises(RateLimitedError):
        await second.check(1, 30)  # cooldown: the server's second slot stays free
    await second.check(1, 31)
    with pytest.raises(RateLimitedError):
        await first.check(1, 32)  # the server is full: member 32 starts no cooldown
    await first.check(3, 32)
