"""The per-command limits: a per-server budget and a per-member cooldown.

* :class:`KeyedWindowLimiter` and :class:`Cooldown` are small per-key limiters
  with bounded memory; :class:`CommandLimits` combines them into the per-guild
  budget and per-user cooldown applied to slash commands. Given a shared store
  (:class:`bot.coordination.command_limits.RedisCommandLimits`) the limits hold across
  every instance, and these in-process limiters decide while Redis is unreachable.

Everything takes an injectable ``clock`` so tests drive time without real sleeping.
"""

from __future__ import annotations

import logging
import math
import time
from collections import OrderedDict, deque
from collections.abc import Hashable
from typing import TYPE_CHECKING, Protocol

from bot.common.errors import RateLimitedError
from bot.coordination.link import CoordinationUnavailable
from bot.halo.ratelimit import DEFAULT_MAX_KEYS, EPSILON, Clock

if TYPE_CHECKING:
    from bot.core.config import Settings

log = logging.getLogger(__name__)


class KeyedWindowLimiter:
    """At most ``limit`` hits per key in any sliding window of ``period`` seconds.

    Memory stays bounded: a key idle for a whole period is forgotten (checked
    on every call, amortised O(1)), and past ``max_keys`` the key idle the
    longest is dropped, which can only make the limiter more lenient.
    """

    def __init__(
        self,
        limit: int,
        period: float,
        *,
        clock: Clock = time.monotonic,
        max_keys: int = DEFAULT_MAX_KEYS,
    ) -> None:
        if limit < 1:
            raise ValueError(f"limit must be at least 1, not {limit!r}")
        if not period > 0:
            raise ValueError(f"period must be positive, not {period!r}")
        if max_keys < 1:
            raise ValueError(f"max_keys must be at least 1, not {max_keys!r}")
        self.limit = int(limit)
        self.period = float(period)
        self.max_keys = int(max_keys)
        self._clock = clock
        # key -> times of its recent hits; ordered by last recorded hit (oldest first).
        self._hits: OrderedDict[Hashable, deque[float]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._hits)

    def peek(self, key: Hashable) -> float:
        """Seconds until ``key`` may hit again (0.0 if now), recording nothing."""
        now = self._clock()
        self._expire(now)
        hits = self._hits.get(key)
        if hits is None:
            return 0.0
        self._trim(hits, now)
        if len(hits) < self.limit:
            return 0.0
        return max(hits[0] + self.period - now, EPSILON)

    def record(self, key: Hashable) -> None:
        """Count a hit for ``key`` now, whether or not it was allowed."""
        now = self._clock()
        hits = self._hits.get(key)
        if hits is None:
            while len(self._hits) >= self.max_keys:
                self._hits.popitem(last=False)
            hits = deque(maxlen=self.limit)
            self._hits[key] = hits
        else:
            self._hits.move_to_end(key)
        hits.append(now)

    def _trim(self, hits: deque[float], now: float) -> None:
        horizon = now - self.period + EPSILON
        while hits and hits[0] <= horizon:
            hits.popleft()

    def _expire(self, now: float) -> None:
        horizon = now - self.period + EPSILON
        while self._hits:
            key, hits = next(iter(self._hits.items()))
            if hits and hits[-1] > horizon:
                break
            del self._hits[key]


class Cooldown:
    """One hit per key every ``seconds``; same contract and memory bounds as the window."""

    def __init__(
        self,
        seconds: float,
        *,
        clock: Clock = time.monotonic,
        max_keys: int = DEFAULT_MAX_KEYS,
    ) -> None:
        if seconds < 0:
            raise ValueError(f"seconds must not be negative, not {seconds!r}")
        if max_keys < 1:
            raise ValueError(f"max_keys must be at least 1, not {max_keys!r}")
        self.seconds = float(seconds)
        self.max_keys = int(max_keys)
        self._clock = clock
        # key -> time of its last recorded hit, oldest first.
        self._last: OrderedDict[Hashable, float] = OrderedDict()

    def __len__(self) -> int:
        return len(self._last)

    def peek(self, key: Hashable) -> float:
        """Seconds until ``key`` may hit again (0.0 if now), recording nothing."""
        now = self._clock()
        self._expire(now)
        last = self._last.get(key)
        if last is None:
            return 0.0
        return max(last + self.seconds - now, EPSILON)

    def record(self, key: Hashable) -> None:
        """Start the cooldown of ``key`` now."""
        if self.seconds <= 0:
            return
        now = self._clock()
        if key in self._last:
            self._last.move_to_end(key)
        else:
            while len(self._last) >= self.max_keys:
                self._last.popitem(last=False)
        self._last[key] = now

    def _expire(self, now: float) -> None:
        horizon = now - self.seconds + EPSILON
        while self._last:
            key, last = next(iter(self._last.items()))
            if last > horizon:
                break
            del self._last[key]


def _whole_seconds(wait: float) -> int:
    return max(1, math.ceil(wait - EPSILON))


def _in_seconds(seconds: int) -> str:
    return f"{seconds} second" if seconds == 1 else f"{seconds} seconds"


class SharedCommandLimits(Protocol):
    """Limits kept for every instance together (raises CoordinationUnavailable when down)."""

    async def try_hit(self, guild_id: int | None, user_id: int) -> tuple[float, float]:
        """Record a command and return ``(0, 0)``, or return (user wait, guild wait)."""
        ...


class CommandLimits:
    """The limits applied to every Halo command: a per-guild budget and a per-user cooldown.

    :meth:`check` looks at both before recording either, so a refused command
    never spends the budget of the other limit.
    """

    def __init__(
        self,
        guild_limit: int,
        user_cooldown: float,
        *,
        guild_period: float = 60.0,
        clock: Clock = time.monotonic,
        max_keys: int = DEFAULT_MAX_KEYS,
        shared: SharedCommandLimits | None = None,
    ) -> None:
        self.guilds = KeyedWindowLimiter(guild_limit, guild_period, clock=clock, max_keys=max_keys)
        self.users = Cooldown(user_cooldown, clock=clock, max_keys=max_keys)
        self.shared = shared

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        clock: Clock = time.monotonic,
        shared: SharedCommandLimits | None = None,
    ) -> CommandLimits:
        """Build the limits from ``GUILD_COMMANDS_PER_MINUTE`` and ``USER_COOLDOWN_SECONDS``."""
        return cls(
            settings.guild_commands_per_minute,
            settings.user_cooldown_seconds,
            guild_period=60.0,
            clock=clock,
            shared=shared,
        )

    async def check(self, guild_id: int | None, user_id: int) -> None:
        """Allow and record one command, or raise :class:`RateLimitedError`.

        ``guild_id`` is None in DMs, which only have the user cooldown. With a shared
        store the limits count every instance's commands; while it is unreachable this
        instance's own limiters decide.
        """
        if self.shared is not None:
            try:
                user_wait, guild_wait = await self.shared.try_hit(guild_id, user_id)
            except CoordinationUnavailable:
                pass
            else:
                self._refuse(guild_id, user_id, user_wait, guild_wait)
                return
        user_wait = self.users.peek(user_id)
        guild_wait = self.guilds.peek(guild_id) if guild_id is not None else 0.0
        self._refuse(guild_id, user_id, user_wait, guild_wait)
        self.users.record(user_id)
        if guild_id is not None:
            self.guilds.record(guild_id)

    def _refuse(
        self, guild_id: int | None, user_id: int, user_wait: float, guild_wait: float
    ) -> None:
        """Raise :class:`RateLimitedError` when either wait is positive."""
        if user_wait > 0 or guild_wait > 0:
            if user_wait >= guild_wait:
                seconds = _whole_seconds(user_wait)
                message = f"You're going a bit fast — try again in {_in_seconds(seconds)}."
                log.debug("User %s on cooldown for %.2fs", user_id, user_wait)
            else:
                seconds = _whole_seconds(guild_wait)
                message = (
                    "This server is making a lot of Halo lookups right now — "
                    f"try again in {_in_seconds(seconds)}."
                )
                log.info("Guild %s hit its command limit for %.2fs", guild_id, guild_wait)
            raise RateLimitedError(message, retry_after=float(seconds))
