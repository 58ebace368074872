"""The global limiter for outgoing Halo requests.

* :class:`UpstreamLimiter` spaces every request the bot sends to Halo (a token
  bucket shared by all hosts) and honours a 429 ``Retry-After`` per host.
* :func:`parse_retry_after` reads a ``Retry-After`` header.

The per-server and per-member command limits are in :mod:`bot.core.limits`.

Everything takes an injectable ``clock`` (and ``sleep`` where it waits) so tests
drive time without real sleeping.
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from bot.common.metrics import LIMITER_WAIT

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

    def current_wait(self, host: str | None = None) -> float:
        """Seconds a request sent now would wait: the queue ahead at this rate, or the 429
        pause of ``host`` (of any host when None), whichever is longer."""
        self._refill()
        queued = max(0.0, (self.waiting + 1 - self._tokens) / self.rate)
        hosts = [host] if host is not None else list(self._paused_until)
        return max([queued, *(self.paused_for(h) for h in hosts)])

    async def _wait(self, seconds: float) -> None:
        LIMITER_WAIT.observe(seconds)
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
