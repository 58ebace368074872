"""Tests for bot.halo.ratelimit: every clock is fake, nothing really sleeps."""

from __future__ import annotations

import asyncio
import itertools
import math
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.halo.ratelimit import (
    MAX_RETRY_AFTER,
    LocalSendSlots,
    PausedPastDeadline,
    Priority,
    UpstreamLimiter,
    parse_retry_after,
)
from tests.support.clock import FakeClock, settle
from tests.support.windows import worst_excess

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
    assert worst_excess([sent for _, sent, _ in results], rate) <= 1.0 + 1e-6
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
