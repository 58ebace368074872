"""Rate limits: the global limiter for outgoing Halo requests and the per-command limits.

* :class:`UpstreamLimiter` spaces every request the bot sends to Halo (a token
  bucket shared by all hosts) and honours a 429 ``Retry-After`` per host.
* :func:`parse_retry_after` reads a ``Retry-After`` header.
* :class:`KeyedWindowLimiter` and :class:`Cooldown` are small per-key limiters
  with bounded memory; :class:`CommandLimits` combines them into the per-guild
  budget and per-user cooldown applied to slash commands.

Everything takes an injectable ``clock`` (and ``sleep`` where it waits) so tests
drive time without real sleeping.
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, Hashable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING

from bot.errors import RateLimitedError

if TYPE_CHECKING:
    from bot.config import Settings

log = logging.getLogger(__name__)

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]

MAX_RETRY_AFTER = 3600.0
DEFAULT_MAX_KEYS = 10_000
# Float slack so that waiting exactly the returned delay is always enough.
_EPS = 1e-9
_DELTA_SECONDS = re.compile(r"[+-]?\d+(?:\.\d+)?")


class UpstreamLimiter:
    """A global token bucket for Halo requests plus per-host 429 pauses.

    ``rate`` tokens are added per second up to ``burst``; each :meth:`acquire`
    takes one. Waiters queue on a FIFO lock, so concurrent callers are spaced
    ``1/rate`` apart instead of all waking at once. A :meth:`pause` (from a 429)
    holds back only the requests for that host; waiting for a pause happens
    outside the queue so it never delays other hosts.
    """

    def __init__(
        self,
        rate: float,
        burst: int = 1,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if not rate > 0 or not math.isfinite(rate):
            raise ValueError(f"rate must be a positive number, not {rate!r}")
        if burst < 1:
            raise ValueError(f"burst must be at least 1, not {burst!r}")
        self.rate = float(rate)
        self.burst = int(burst)
        self._clock = clock
        self._sleep = sleep
        self._tokens = float(burst)
        self._updated = clock()
        self._lock = asyncio.Lock()
        self._paused_until: dict[str, float] = {}
        self.acquired = 0
        self.pauses = 0
        self.total_wait = 0.0
        #: Callers inside :meth:`acquire` right now (queued for a token or a pause).
        self.waiting = 0

    @property
    def interval(self) -> float:
        """Seconds between two requests once the burst is spent."""
        return 1.0 / self.rate

    def pause(self, host: str, seconds: float) -> None:
        """Hold back every request to ``host`` for ``seconds`` (never shortens a pause)."""
        if not seconds > 0 or not math.isfinite(seconds):
            return
        until = self._clock() + min(seconds, MAX_RETRY_AFTER)
        if until > self._paused_until.get(host, -math.inf):
            self._paused_until[host] = until
            self.pauses += 1
            log.debug("Pausing requests to %s for %.2fs", host, seconds)

    def paused_for(self, host: str) -> float:
        """Seconds left in the pause of ``host``; 0.0 when it is not paused."""
        until = self._paused_until.get(host)
        if until is None:
            return 0.0
        left = until - self._clock()
        if left <= _EPS:
            del self._paused_until[host]
            return 0.0
        return left

    async def acquire(self, host: str, max_wait: float | None = None) -> None:
        """Wait until a request to ``host`` may be sent, then take a token.

        With ``max_wait`` (seconds), a caller that would wait longer than that raises
        :class:`PausedPastDeadline` at once instead: when ``host`` is paused (a 429) for
        longer, even if the pause began while it was already queued, or when the queue
        ahead of it is too long to be served in time at this rate.
        """
        deadline = None if max_wait is None else self._clock() + max_wait
        if deadline is not None:
            self._refill()
            backlog = (self.waiting + 1 - self._tokens) / self.rate
            if max_wait is not None and backlog > max_wait:
                raise PausedPastDeadline(backlog)
        self.waiting += 1
        try:
            await self._acquire(host, deadline)
        finally:
            self.waiting -= 1

    async def _acquire(self, host: str, deadline: float | None) -> None:
        while True:
            paused = self.paused_for(host)
            if paused > 0:
                if deadline is not None and self._clock() + paused > deadline:
                    raise PausedPastDeadline(paused)
                await self._wait(paused)
                continue
            async with self._lock:
                while True:
                    if self.paused_for(host) > 0:
                        # Paused while queued: give our place up, wait outside.
                        break
                    self._refill()
                    if self._tokens >= 1.0 - _EPS:
                        self._tokens = max(0.0, self._tokens - 1.0)
                        self.acquired += 1
                        return
                    await self._wait((1.0 - self._tokens) / self.rate)

    def _refill(self) -> None:
        now = self._clock()
        elapsed = now - self._updated
        self._updated = now
        if elapsed > 0:
            self._tokens = min(float(self.burst), self._tokens + elapsed * self.rate)

    async def _wait(self, seconds: float) -> None:
        self.total_wait += seconds
        await self._sleep(seconds)


class PausedPastDeadline(Exception):
    """The caller would wait longer than it can: the host is paused (429) for longer, or
    too many requests are queued ahead at this rate. ``seconds``: the expected wait."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"paused for {seconds:.1f}s")
        self.seconds = seconds


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header, clamped to ``[0, 3600]``.

    Accepts delta-seconds (``"120"``, also ``"1.5"``) or an HTTP-date; returns
    None for a missing or unreadable value.
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    if _DELTA_SECONDS.fullmatch(text):
        seconds = float(text)
    else:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        if when is None:  # pragma: no cover - older Pythons returned None
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        reference = now or datetime.now(UTC)
        if reference.tzinfo is None:
            reference = reference.replace(tzinfo=UTC)
        seconds = (when - reference).total_seconds()
    if not math.isfinite(seconds):
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


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
        return max(hits[0] + self.period - now, _EPS)

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

    def hit(self, key: Hashable) -> float:
        """Record a hit and return 0.0 if allowed, else the seconds to wait (nothing recorded)."""
        wait = self.peek(key)
        if wait == 0.0:
            self.record(key)
        return wait

    def _trim(self, hits: deque[float], now: float) -> None:
        horizon = now - self.period + _EPS
        while hits and hits[0] <= horizon:
            hits.popleft()

    def _expire(self, now: float) -> None:
        horizon = now - self.period + _EPS
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
        return max(last + self.seconds - now, _EPS)

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

    def hit(self, key: Hashable) -> float:
        """Record a hit and return 0.0 if allowed, else the seconds to wait (nothing recorded)."""
        wait = self.peek(key)
        if wait == 0.0:
            self.record(key)
        return wait

    def _expire(self, now: float) -> None:
        horizon = now - self.seconds + _EPS
        while self._last:
            key, last = next(iter(self._last.items()))
            if last > horizon:
                break
            del self._last[key]


def _whole_seconds(wait: float) -> int:
    return max(1, math.ceil(wait - _EPS))


def _in_seconds(seconds: int) -> str:
    return f"{seconds} second" if seconds == 1 else f"{seconds} seconds"


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
    ) -> None:
        self.guilds = KeyedWindowLimiter(guild_limit, guild_period, clock=clock, max_keys=max_keys)
        self.users = Cooldown(user_cooldown, clock=clock, max_keys=max_keys)

    @classmethod
    def from_settings(cls, settings: Settings, *, clock: Clock = time.monotonic) -> CommandLimits:
        """Build the limits from ``GUILD_COMMANDS_PER_MINUTE`` and ``USER_COOLDOWN_SECONDS``."""
        return cls(
            settings.guild_commands_per_minute,
            settings.user_cooldown_seconds,
            guild_period=60.0,
            clock=clock,
        )

    def check(self, guild_id: int | None, user_id: int) -> None:
        """Allow and record one command, or raise :class:`RateLimitedError`.

        ``guild_id`` is None in DMs, which only have the user cooldown.
        """
        user_wait = self.users.peek(user_id)
        guild_wait = self.guilds.peek(guild_id) if guild_id is not None else 0.0
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
        self.users.record(user_id)
        if guild_id is not None:
            self.guilds.record(guild_id)
