"""The global limiter for outgoing Halo requests.

* :class:`UpstreamLimiter` spaces every request the bot sends to Halo and honours a 429
  ``Retry-After`` per host. Requests are spaced, never bunched: at most ``rate * t + 1``
  requests in any window of ``t`` seconds, idle or not. Waiting interactive lookups go
  before the rank cycle's requests (:class:`Priority`).
* :class:`LocalSendSlots` hands out this process's send times; a shared implementation of
  :class:`SendSlots` (``bot.coordination``) spreads one budget over many processes, and
  is told whether a lookup is waiting so that lookups go first across processes too.
* :func:`parse_retry_after` reads a ``Retry-After`` header.

The per-server and per-member command limits are in :mod:`bot.core.limits`.

Everything takes an injectable ``clock`` (and ``sleep`` where it waits) so tests
drive time without real sleeping.
"""

from __future__ import annotations

import asyncio
import enum
import heapq
import itertools
import logging
import math
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Protocol

from bot.common.metrics import LIMITER_WAIT

log = logging.getLogger(__name__)

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]

MAX_RETRY_AFTER = 3600.0
DEFAULT_MAX_KEYS = 10_000
# Float slack so that waiting exactly the returned delay is always enough.
EPSILON = 1e-9
_DELTA_SECONDS = re.compile(r"[+-]?\d+(?:\.\d+)?")


class Priority(enum.IntEnum):
    """Who is waiting: a member's lookup goes before the rank cycle's background requests."""

    INTERACTIVE = 0
    BACKGROUND = 1


class SendSlots(Protocol):
    """Where send times come from: this process alone, or a budget shared with others."""

    @property
    def interval(self) -> float:
        """Seconds between two of this process's sends at the current rate."""
        ...

    async def reserve(self, interactive: Callable[[], bool]) -> float:
        """Reserve the next send time (on the limiter's clock) and return it.

        ``interactive()`` says whether an interactive lookup is waiting for this slot right
        now (the limiter's queue head); a shared budget reads it again before every try, as
        a lookup may arrive while a background request is being held back.
        """
        ...

    def sent(self, at: float) -> None:
        """A reserved slot was used at ``at`` (later than reserved when the loop was late)."""
        ...


class LocalSendSlots:
    """Send times for one process: ``1/rate`` apart, no burst, idle or not.

    A slot is at least ``1/rate`` after the previous one and after the time the previous
    one was really used, so ``n`` sends always span at least ``(n - 1) / rate`` seconds.
    Priority is the limiter's business here: its queue decides who takes each slot.
    """

    def __init__(self, rate: float, *, clock: Clock = time.monotonic) -> None:
        if not rate > 0 or not math.isfinite(rate):
            raise ValueError(f"rate must be a positive number, not {rate!r}")
        self.rate = float(rate)
        self._clock = clock
        self._next_free = -math.inf

    @property
    def interval(self) -> float:
        return 1.0 / self.rate

    async def reserve(self, interactive: Callable[[], bool] | None = None) -> float:
        slot = max(self._clock(), self._next_free)
        self._next_free = slot + self.interval
        return slot

    def sent(self, at: float) -> None:
        self._next_free = max(self._next_free, at + self.interval)


class SharedPauses(Protocol):
    """429 pauses shared with other processes (``bot.coordination.pauses``)."""

    def publish(self, host: str, seconds: float) -> None:
        """Tell the others that ``host`` is paused for ``seconds`` (without waiting)."""
        ...

    async def refresh(self) -> None:
        """Learn the others' pauses, if what this process knows is not recent."""
        ...

    def remaining(self, host: str) -> float:
        """Seconds left in a pause of ``host`` another process published (0.0: none)."""
        ...


@dataclass(order=True)
class _Waiter:
    priority: int
    seq: int
    turn: asyncio.Event = field(compare=False, default_factory=asyncio.Event)


class UpstreamLimiter:
    """Spaces every Halo request and honours per-host 429 pauses.

    Waiters queue by :class:`Priority`, then in arrival order. The waiter at the head of
    the queue reserves the next send time from ``slots`` and sleeps until it; whoever is
    at the head when that time comes sends, so a lookup that arrives while the rank
    cycle's request sleeps takes that slot, and the cycle waits while lookups are queued.
    ``slots`` learns the head's priority on every try: a shared budget holds every
    instance's background requests back while any instance has a lookup waiting.
    A :meth:`pause` (from a 429) holds back only the requests for that host; waiting for
    a pause happens outside the queue so it never delays other hosts.
    """

    def __init__(
        self,
        rate: float,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        slots: SendSlots | None = None,
        pauses: SharedPauses | None = None,
    ) -> None:
        if not rate > 0 or not math.isfinite(rate):
            raise ValueError(f"rate must be a positive number, not {rate!r}")
        self.rate = float(rate)
        self.shared_pauses = pauses
        self._clock = clock
        self._sleep = sleep
        self.slots: SendSlots = slots if slots is not None else LocalSendSlots(rate, clock=clock)
        self._queue: list[_Waiter] = []
        self._seq = itertools.count()
        # A send time reserved from ``slots`` and not used yet; it goes to the queue's head.
        self._slot: float | None = None
        self._reserving = asyncio.Lock()
        self._paused_until: dict[str, float] = {}
        self.acquired = 0
        self.pauses = 0
        self.total_wait = 0.0
        #: Callers inside :meth:`acquire` right now (queued for a slot or a pause).
        self.waiting = 0

    @property
    def interval(self) -> float:
        """Seconds between two requests of this process at the current rate."""
        return self.slots.interval

    def pause(self, host: str, seconds: float) -> None:
        """Hold back every request to ``host`` for ``seconds`` (never shortens a pause)."""
        if not seconds > 0 or not math.isfinite(seconds):
            return
        seconds = min(seconds, MAX_RETRY_AFTER)
        until = self._clock() + seconds
        if until > self._paused_until.get(host, -math.inf):
            self._paused_until[host] = until
            self.pauses += 1
            log.debug("Pausing requests to %s for %.2fs", host, seconds)
            if self.shared_pauses is not None:
                self.shared_pauses.publish(host, seconds)

    def paused_for(self, host: str) -> float:
        """Seconds left in the pause of ``host`` (this process's, or one another process
        shared); 0.0 when it is not paused."""
        shared = 0.0 if self.shared_pauses is None else self.shared_pauses.remaining(host)
        until = self._paused_until.get(host)
        if until is None:
            return shared if shared > EPSILON else 0.0
        left = until - self._clock()
        if left <= EPSILON:
            del self._paused_until[host]
            return shared if shared > EPSILON else 0.0
        return max(left, shared)

    async def acquire(
        self,
        host: str,
        max_wait: float | None = None,
        *,
        priority: Priority = Priority.INTERACTIVE,
    ) -> None:
        """Wait until a request to ``host`` may be sent now.

        With ``max_wait`` (seconds), a caller that would wait longer than that raises
        :class:`PausedPastDeadline` at once instead: when ``host`` is paused (a 429) for
        longer, even if the pause began while it was already queued, or when the queue
        ahead of it is too long to be served in time at this rate.
        """
        if self.shared_pauses is not None:
            await self.shared_pauses.refresh()
        deadline = None if max_wait is None else self._clock() + max_wait
        if max_wait is not None:
            backlog = self._backlog(priority)
            if backlog > max_wait:
                raise PausedPastDeadline(backlog)
        self.waiting += 1
        try:
            await self._acquire(host, deadline, priority)
        finally:
            self.waiting -= 1

    def _backlog(self, priority: Priority) -> float:
        """Expected wait of a new caller with ``priority``: everyone at its priority or
        more urgent goes first, one interval each."""
        ahead = sum(1 for waiter in self._queue if waiter.priority <= priority)
        first = 0.0 if self._slot is None else max(0.0, self._slot - self._clock())
        return first + ahead * self.interval

    async def _acquire(self, host: str, deadline: float | None, priority: Priority) -> None:
        while True:
            paused = self.paused_for(host)
            if paused > 0:
                if deadline is not None and self._clock() + paused > deadline:
                    raise PausedPastDeadline(paused)
                await self._wait(paused)
                continue
            waiter = _Waiter(int(priority), next(self._seq))
            heapq.heappush(self._queue, waiter)
            try:
                if await self._take_turn(waiter, host):
                    return
            finally:
                self._leave(waiter)
            # Paused while queued: our place is given up, the pause is waited outside.

    async def _take_turn(self, waiter: _Waiter, host: str) -> bool:
        """Wait for the head of the queue and a send time; False if ``host`` got paused."""
        while True:
            if self._queue[0] is not waiter:
                waiter.turn.clear()
                await waiter.turn.wait()
                continue
            if self.paused_for(host) > 0:
                return False
            if self._slot is None:
                async with self._reserving:
                    if self._slot is None:
                        self._slot = await self.slots.reserve(self._head_is_interactive)
                continue  # the head may have changed meanwhile
            now = self._clock()
            wait = self._slot - now
            if wait > EPSILON:
                await self._wait(wait)
                continue
            self._slot = None
            self.slots.sent(now)
            self.acquired += 1
            return True

    def _head_is_interactive(self) -> bool:
        """Whether the waiter who would take a slot now is an interactive lookup."""
        return bool(self._queue) and self._queue[0].priority == Priority.INTERACTIVE

    def _leave(self, waiter: _Waiter) -> None:
        if self._queue and self._queue[0] is waiter:
            heapq.heappop(self._queue)
        elif waiter in self._queue:
            self._queue.remove(waiter)
            heapq.heapify(self._queue)
        if self._queue:
            self._queue[0].turn.set()
        else:
            # Nobody to take the reserved slot now: let it go rather than use it late,
            # when a shared budget may already have granted the next one elsewhere.
            self._slot = None

    def current_wait(self, host: str | None = None) -> float:
        """Seconds a request sent now would wait: the queue ahead at this rate, or the 429
        pause of ``host`` (of any host when None), whichever is longer."""
        queued = self._backlog(Priority.INTERACTIVE)
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
