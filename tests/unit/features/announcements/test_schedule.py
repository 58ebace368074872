"""The adaptive polling policy: waits grow with quiet time, capped; activity resets them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.features.announcements.schedule import MAX_INTERVAL, SLOW_SWEEP, PollPolicy
from bot.storage.schedule import PollSlot

T0 = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
CYCLE = timedelta(minutes=5)


def no_jitter() -> PollPolicy:
    return PollPolicy(jitter=(1.0, 1.0))


def checks(policy: PollPolicy, cycles: int, *, unplayed: bool = False) -> list[int]:
    """Cycles (5 minutes apart) at which a quiet pair is checked, from a first sight at 0."""
    slot: PollSlot | None = None
    done: list[int] = []
    for n in range(cycles):
        now = T0 + n * CYCLE
        if slot is None or slot.next_due <= now + CYCLE / 2:
            slot = policy.after_check(
                "1", "arena", now, slot, active=slot is None, unplayed=unplayed
            )
            done.append(n)
    return done


def test_a_quiet_pair_is_checked_less_and_less_often_up_to_the_hour() -> None:
    done = checks(no_jitter(), 60)
    assert done[:6] == [0, 1, 2, 4, 8, 16]  # waits of 0, 5, 10, 20, 40 minutes
    assert done[6:] == [28, 40, 52]  # then every 60 minutes


def test_a_never_played_playlist_goes_on_to_the_slow_sweep() -> None:
    done = checks(no_jitter(), 120, unplayed=True)
    assert done == [0, 1, 2, 4, 8, 16, 32, 64, 100]  # ..., 160 minutes, then 3 hours
    assert timedelta(hours=3) == SLOW_SWEEP


def test_a_change_brings_the_pair_back_to_every_cycle() -> None:
    policy = no_jitter()
    quiet = PollSlot("1", "arena", T0 - timedelta(days=1), 3600, T0)
    after = policy.after_check("1", "arena", T0, quiet, active=False)
    assert after.interval_seconds == MAX_INTERVAL.total_seconds()
    moved = policy.after_check("1", "arena", T0, quiet, active=True)
    assert (moved.last_active, moved.interval_seconds, moved.next_due) == (T0, 0, T0)


def test_a_lookup_resets_the_wait() -> None:
    slot = no_jitter().after_lookup("1", "arena", T0)
    assert (slot.last_active, slot.interval_seconds, slot.next_due) == (T0, 0, T0)


def test_jitter_only_shortens_the_wait() -> None:
    quiet = PollSlot("1", "arena", T0 - timedelta(days=1), 3600, T0)
    for value in (0.0, 0.5, 0.999):
        slot = PollPolicy(random=lambda v=value: v).after_check(
            "1", "arena", T0, quiet, active=False
        )
        assert 0.75 * 3600 <= slot.interval_seconds <= 3600
