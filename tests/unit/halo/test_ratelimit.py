"""Tests for bot.halo.ratelimit: every clock is fake, nothing really sleeps."""

from __future__ import annotations

import asyncio
import heapq
import itertools
import math
from collections.abc import Hashable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.common.errors import RateLimitedError
from bot.core.limits import CommandLimits, Cooldown, KeyedWindowLimiter
from bot.halo.ratelimit import (
    MAX_RETRY_AFTER,
    LocalSendSlots,
    PausedPastDeadline,
    Priority,
    UpstreamLimiter,
    parse_retry_after,
)


async def settle(rounds: int = 50) -> None:
    """Let every ready task run until they all block again."""
    for _ in range(rounds):
        await asyncio.sleep(0)


class FakeClock:
    """A virtual clock. ``sleep`` records the delay and blocks until :meth:`advance`.

    With ``auto=True`` a sleep instead moves the clock forward at once, which
    is what a lone sleeper (or sleepers serialised by a lock) would see.
    """

    def __init__(self, start: float = 1000.0, *, auto: bool = False) -> None:
        self.now = start
        self.auto = auto
        self.sleeps: list[float] = []
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        if self.auto:
            self.now += max(seconds, 0.0)
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self.now + max(seconds, 0.0), next(self._seq), future))
        await future

    @property
    def sleeping(self) -> int:
        return sum(1 for *_, f in self._sleepers if not f.done())

    async def advance(self, seconds: float) -> None:
        """Move time forward, waking sleepers in deadline order."""
        target = self.now + seconds
        await settle()
        while self._sleepers and self._sleepers[0][0] <= target:
            deadline, _, future = heapq.heappop(self._sleepers)
            self.now = max(self.now, deadline)
            if not future.done():
                future.set_result(None)
            await settle()
        self.now = target
        await settle()


# --------------------------------------------------------------------------- UpstreamLimiter


async def test_sequential_acquires_are_spaced_at_one_over_rate() -> None:
    clock = FakeClock(auto=True)
    limiter = UpstreamLimiter(rate=4.0, clock=clock, sleep=clock.sleep)
    start = clock.now
    for _ in range(9):
        await limiter.acquire("stats")
    assert limiter.acquired == 9
    assert math.isclose(sum(clock.sleeps), 8 / 4.0)
    assert math.isclose(clock.now - start, 2.0)
    assert all(math.isclose(s, 0.25) for s in clock.sleeps)


async def test_concurrent_acquires_are_spaced_not_thundering() -> None:
    clock = FakeClock(auto=True)
    limiter = UpstreamLimiter(rate=5.0, clock=clock, sleep=clock.sleep)
    done_at: list[float] = []

    async def one() -> None:
        await limiter.acquire("stats")
        done_at.append(clock.now)

    await asyncio.gather(*(one() for _ in range(10)))
    assert limiter.acquired == 10
    assert math.isclose(sum(clock.sleeps), 9 / 5.0)
    gaps = [b - a for a, b in itertools.pairwise(sorted(done_at))]
    assert all(math.isclose(g, 0.2) for g in gaps)


async def test_concurrent_waiters_served_fifo_with_manual_clock() -> None:
    clock = FakeClock()
    limiter = UpstreamLimiter(rate=1.0, clock=clock, sleep=clock.sleep)
    order: list[int] = []

    async def one(i: int) -> None:
        await limiter.acquire("stats")
        order.append(i)

    tasks = []
    for i in range(4):
        tasks.append(asyncio.create_task(one(i)))
        await settle()
    assert order == [0]  # the first token is free, the rest wait
    assert clock.sleeping == 1  # only the head of the queue sleeps
    await clock.advance(1.0)
    assert order == [0, 1]
    await clock.advance(1.0)
    assert order == [0, 1, 2]
    await clock.advance(1.0)
    assert order == [0, 1, 2, 3]
    await asyncio.gather(*tasks)


async def test_no_burst_after_an_idle_spell() -> None:
    """Issue 16: 7 requests in one second at 5/s after idling. Now at most 6 (rate x 1 + 1)."""
    clock = FakeClock(auto=True)
    limiter = UpstreamLimiter(rate=5.0, clock=clock, sleep=clock.sleep)
    await limiter.acquire("a")
    clock.now += 60  # a long idle spell earns nothing
    start = clock.now
    sent: list[float] = []
    for _ in range(10):
        await limiter.acquire("a")
        sent.append(clock.now)
    assert sum(1 for t in sent if t <= start + 1.0 + 1e-9) == 6
    assert all(math.isclose(b - a, 0.2) for a, b in itertools.pairwise(sent))


async def test_idle_then_one_request_goes_at_once() -> None:
    clock = FakeClock(auto=True)
    limiter = UpstreamLimiter(rate=1.0, clock=clock, sleep=clock.sleep)
    await limiter.acquire("a")
    clock.now += 10
    await limiter.acquire("a")
    assert clock.sleeps == []
    await limiter.acquire("a")
    assert math.isclose(sum(clock.sleeps), 1.0)


async def test_pause_delays_that_host_only() -> None:
    clock = FakeClock()
    limiter = UpstreamLimiter(rate=100.0, clock=clock, sleep=clock.sleep)
    limiter.pause("stats", 30.0)
    assert math.isclose(limiter.paused_for("stats"), 30.0)
    assert limiter.paused_for("skill") == 0.0

    paused = asyncio.create_task(limiter.acquire("stats"))
    await settle()
    assert not paused.done()
    # Another host goes straight through while "stats" is paused.
    await asyncio.wait_for(limiter.acquire("skill"), timeout=5)
    second = asyncio.create_task(limiter.acquire("skill"))
    await clock.advance(0.01)  # one interval at 100/s
    assert second.done()
    assert limiter.acquired == 2
    assert not paused.done()

    await clock.advance(28.99)
    assert not paused.done()
    assert math.isclose(limiter.paused_for("stats"), 1.0)
    await clock.advance(1.0)
    assert paused.done()
    await paused
    assert limiter.acquired == 3
    assert limiter.paused_for("stats") == 0.0


async def test_pause_waiters_do_not_hold_the_queue_for_other_hosts() -> None:
    clock = FakeClock()
    limiter = UpstreamLimiter(rate=1.0, clock=clock, sleep=clock.sleep)
    await limiter.acquire("stats")  # spend the only token
    waiting = asyncio.create_task(limiter.acquire("stats"))
    await settle()
    assert clock.sleeping == 1  # queued for a token, holding the lock
    limiter.pause("stats", 60.0)
    other = asyncio.create_task(limiter.acquire("skill"))
    await clock.advance(1.0)
    # The stats waiter saw the pause and gave up its place: skill got the token.
    assert other.done()
    assert not waiting.done()
    await clock.advance(60.0)
    assert waiting.done()
    assert limiter.acquired == 3


async def test_pause_never_shortens_and_ignores_nonsense() -> None:
    clock = FakeClock()
    limiter = UpstreamLimiter(rate=1.0, clock=clock, sleep=clock.sleep)
    limiter.pause("h", 10.0)
    limiter.pause("h", 2.0)
    assert math.isclose(limiter.paused_for("h"), 10.0)
    limiter.pause("h", 20.0)
    assert math.isclose(limiter.paused_for("h"), 20.0)
    for bad in (0.0, -5.0, math.nan, math.inf):
        limiter.pause("other", bad)
    assert limiter.paused_for("other") == 0.0
    clock.now += 20.0
    assert limiter.paused_for("h") == 0.0


async def test_cancelled_waiter_does_not_consume_a_token() -> None:
    clock = FakeClock()
    limiter = UpstreamLimiter(rate=1.0, clock=clock, sleep=clock.sleep)
    await limiter.acquire("h")
    first = asyncio.create_task(limiter.acquire("h"))
    second = asyncio.create_task(limiter.acquire("h"))
    await settle()
    first.cancel()
    await settle()
    assert first.cancelled()
    await clock.advance(1.0)
    assert second.done()
    assert limiter.acquired == 2


async def run_to_completion(clock: FakeClock, tasks: list[asyncio.Task[None]]) -> None:
    """Drive a manual clock from one sleeper's deadline to the next until every task ends."""
    while True:
        await settle()
        if all(task.done() for task in tasks):
            return
        pending = [deadline for deadline, _, f in clock._sleepers if not f.done()]
        assert pending, "tasks are blocked with nobody sleeping: a lost wake-up"
        await clock.advance(max(0.0, min(pending) - clock.now))


def most_in_any_window(sent: list[float], rate: float) -> float:
    """The largest excess of ``count - rate * t`` over every window [sent[i], sent[j]]."""
    times = sorted(sent)
    worst = 0.0
    for i, start in enumerate(times):
        for j in range(i, len(times)):
            worst = max(worst, (j - i + 1) - rate * (times[j] - start))
    return worst


async def simulate(
    rate: float, arrivals: list[tuple[float, Priority]]
) -> list[tuple[float, float, Priority]]:
    """Callers arriving at the given times; returns (arrived, sent, priority) of each."""
    clock = FakeClock(start=0.0)
    limiter = UpstreamLimiter(rate=rate, clock=clock, sleep=clock.sleep)
    out: list[tuple[float, float, Priority]] = []

    async def caller(at: float, priority: Priority) -> None:
        await clock.sleep(at)
        await limiter.acquire("stats", priority=priority)
        out.append((at, clock.now, priority))

    tasks = [asyncio.create_task(caller(at, p)) for at, p in arrivals]
    await run_to_completion(clock, tasks)
    return out


arrival_patterns = st.lists(
    st.tuples(
        st.floats(min_value=0.0, max_value=3.0, allow_nan=False),
        st.sampled_from(list(Priority)),
    ),
    min_size=1,
    max_size=25,
)


@given(
    rate=st.floats(min_value=0.5, max_value=20.0, allow_nan=False),
    gaps=arrival_patterns,
    idle=st.floats(min_value=0.0, max_value=30.0, allow_nan=False),
)
@settings(max_examples=60, deadline=None)
def test_never_more_than_rate_t_plus_one_in_any_window(
    rate: float, gaps: list[tuple[float, Priority]], idle: float
) -> None:
    at = idle
    arrivals = []
    for gap, priority in gaps:
        at += gap
        arrivals.append((at, priority))
    results = asyncio.run(simulate(rate, arrivals))
    assert len(results) == len(arrivals)
    assert most_in_any_window([sent for _, sent, _ in results], rate) <= 1.0 + 1e-6
    # Nobody waits when the limiter had nothing to do for a whole interval before them.
    for arrived, sent, _ in results:
        assert sent >= arrived
    # Lookups go first: no background request is sent while a lookup that arrived
    # earlier is still waiting.
    for _, bg_sent, priority in results:
        if priority is not Priority.BACKGROUND:
            continue
        for arrived, sent, other in results:
            if other is Priority.INTERACTIVE and arrived < bg_sent - 1e-9:
                assert sent <= bg_sent + 1e-9


async def test_lookups_go_before_the_cycles_queued_requests() -> None:
    clock = FakeClock(start=0.0)
    limiter = UpstreamLimiter(rate=1.0, clock=clock, sleep=clock.sleep)
    order: list[str] = []

    async def one(name: str, priority: Priority) -> None:
        await limiter.acquire("skill", priority=priority)
        order.append(name)

    cycle = [asyncio.create_task(one(f"cycle{i}", Priority.BACKGROUND)) for i in range(4)]
    await settle()
    assert order == ["cycle0"]  # the first one found the limiter idle
    await clock.advance(0.5)  # cycle1 is asleep until its slot at t=1
    lookups = [asyncio.create_task(one(f"lookup{i}", Priority.INTERACTIVE)) for i in range(2)]
    await settle()
    # A lookup waits behind the cycle's slot only, not its queue.
    with pytest.raises(PausedPastDeadline):
        await limiter.acquire("skill", max_wait=1.0, priority=Priority.INTERACTIVE)
    await clock.advance(0.5)
    assert order == ["cycle0", "lookup0"]
    await clock.advance(1.0)
    assert order == ["cycle0", "lookup0", "lookup1"]
    await clock.advance(1.0)
    assert order == ["cycle0", "lookup0", "lookup1", "cycle1"]
    await run_to_completion(clock, [*cycle, *lookups])
    assert order[4:] == ["cycle2", "cycle3"]
    assert limiter.acquired == 6


async def test_a_lookup_estimates_its_wait_without_the_cycles_backlog() -> None:
    clock = FakeClock(start=0.0)
    limiter = UpstreamLimiter(rate=1.0, clock=clock, sleep=clock.sleep)
    await limiter.acquire("skill", priority=Priority.BACKGROUND)
    cycle = [
        asyncio.create_task(limiter.acquire("skill", priority=Priority.BACKGROUND))
        for _ in range(20)
    ]
    await settle()
    # Twenty background requests queued: a lookup still fits in a 2-second budget...
    lookup = asyncio.create_task(limiter.acquire("skill", max_wait=2.0))
    await settle()
    await clock.advance(1.0)
    assert lookup.done() and lookup.exception() is None
    # ...while another background request would wait about 20 s.
    with pytest.raises(PausedPastDeadline):
        await limiter.acquire("skill", max_wait=10.0, priority=Priority.BACKGROUND)
    for task in cycle:
        task.cancel()
    await settle()


def test_limiter_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError):
        UpstreamLimiter(rate=0)
    with pytest.raises(ValueError):
        UpstreamLimiter(rate=math.inf)
    with pytest.raises(ValueError):
        LocalSendSlots(rate=-1.0)


# --------------------------------------------------------------------------- parse_retry_after

NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", 120.0),
        ("  7 ", 7.0),
        ("0", 0.0),
        ("1.5", 1.5),
        ("-5", 0.0),
        ("999999", MAX_RETRY_AFTER),
        ("3600", 3600.0),
        ("3601", 3600.0),
    ],
)
def test_retry_after_delta_seconds(value: str, expected: float) -> None:
    assert parse_retry_after(value, now=NOW) == expected


@pytest.mark.parametrize(
    "value",
    [None, "", "   ", "soon", "1e3", "nan", "inf", "12abc", "Wed, 99 Foo 2024 99:99:99 GMT"],
)
def test_retry_after_garbage_is_none(value: str | None) -> None:
    assert parse_retry_after(value, now=NOW) is None


def test_retry_after_http_date() -> None:
    later = format_datetime(NOW + timedelta(seconds=90), usegmt=True)
    assert later.endswith("GMT")
    assert parse_retry_after(later, now=NOW) == 90.0


def test_retry_after_http_date_in_the_past_is_zero() -> None:
    earlier = format_datetime(NOW - timedelta(hours=1), usegmt=True)
    assert parse_retry_after(earlier, now=NOW) == 0.0


def test_retry_after_http_date_far_future_is_clamped() -> None:
    far = format_datetime(NOW + timedelta(days=30), usegmt=True)
    assert parse_retry_after(far, now=NOW) == MAX_RETRY_AFTER


def test_retry_after_http_date_with_naive_now() -> None:
    later = format_datetime(NOW + timedelta(seconds=5), usegmt=True)
    assert parse_retry_after(later, now=NOW.replace(tzinfo=None)) == 5.0


def test_retry_after_http_date_default_now_is_current_time() -> None:
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=600), usegmt=True)
    result = parse_retry_after(later)
    assert result is not None
    assert 0 < result <= 600


@given(st.text(max_size=40))
def test_retry_after_never_raises_and_stays_in_range(value: str) -> None:
    result = parse_retry_after(value, now=NOW)
    assert result is None or 0.0 <= result <= MAX_RETRY_AFTER


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


async def test_a_pause_that_begins_while_queued_fails_fast_past_max_wait() -> None:
    clock = FakeClock()
    limiter = UpstreamLimiter(rate=1.0, clock=clock, sleep=clock.sleep)
    await limiter.acquire("stats")  # the free token
    queued = asyncio.create_task(limiter.acquire("stats", max_wait=5.0))
    patient = asyncio.create_task(limiter.acquire("stats", max_wait=60.0))
    await settle()
    assert not queued.done()
    limiter.pause("stats", 30.0)  # a 429 seen by another request
    await clock.advance(1.0)  # the queued request wakes, sees the pause
    await settle()
    assert queued.done()
    with pytest.raises(PausedPastDeadline) as caught:
        queued.result()
    assert math.isclose(caught.value.seconds, 29.0)
    assert not patient.done()  # it can wait out the pause
    await clock.advance(30.0)
    await settle()
    await clock.advance(1.0)
    await settle()
    assert patient.done() and patient.exception() is None


async def test_a_queue_too_long_to_serve_in_time_is_refused_at_once() -> None:
    clock = FakeClock()
    limiter = UpstreamLimiter(rate=2.0, clock=clock, sleep=clock.sleep)
    await limiter.acquire("stats")  # the free token
    queued = [asyncio.create_task(limiter.acquire("stats")) for _ in range(4)]
    await settle()
    assert limiter.waiting == 4
    # Four ahead at 2 per second: served in about 2.5 s, more than this caller can wait.
    with pytest.raises(PausedPastDeadline) as caught:
        await limiter.acquire("stats", max_wait=1.0)
    assert math.isclose(caught.value.seconds, 2.5)
    assert limiter.waiting == 4  # it never joined the queue
    late = asyncio.create_task(limiter.acquire("stats", max_wait=10.0))  # this one can wait
    for _ in range(6):
        await clock.advance(0.5)
        await settle()
    assert all(t.done() for t in [*queued, late])
    assert limiter.waiting == 0
