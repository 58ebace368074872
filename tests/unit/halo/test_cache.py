"""Tests for bot.halo.cache: TTL/LRU cache, coalescing and the combined fetcher."""

from __future__ import annotations

import asyncio
import gc
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.halo.cache import CachedFetcher, Coalescer, TTLCache
from tests.support.clock import FakeClock, settle


@pytest.fixture
async def loop_errors() -> AsyncIterator[list[dict[str, Any]]]:
    """Everything the running loop would have logged through its exception handler."""
    loop = asyncio.get_running_loop()
    errors: list[dict[str, Any]] = []
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _loop, context: errors.append(context))
    yield errors
    loop.set_exception_handler(previous)


# --------------------------------------------------------------------------- TTLCache


def test_get_set_and_counters() -> None:
    cache: TTLCache[str, int] = TTLCache(10, clock=FakeClock(100.0))
    assert cache.get("a") is None
    cache.set("a", 1, ttl=10)
    assert cache.get("a") == 1
    assert cache.get("a") == 1
    assert cache.get("b", -1) == -1
    assert (cache.hits, cache.misses) == (2, 2)
    assert len(cache) == 1


def test_ttl_expiry_with_fake_clock() -> None:
    clock = FakeClock(100.0)
    cache: TTLCache[str, str] = TTLCache(10, clock=clock)
    cache.set("short", "s", ttl=5)
    cache.set("long", "l", ttl=50)
    clock.now += 4.9
    assert cache.get("short") == "s"
    clock.now += 0.1
    assert cache.get("short") is None  # expired exactly at its deadline
    assert "short" not in cache._data  # removed on lookup
    assert cache.get("long") == "l"
    clock.now += 100
    assert len(cache) == 0
    assert cache.misses == 1


def test_set_refreshes_ttl_and_non_positive_ttl_removes() -> None:
    clock = FakeClock(100.0)
    cache: TTLCache[str, int] = TTLCache(10, clock=clock)
    cache.set("k", 1, ttl=5)
    clock.now += 4
    cache.set("k", 2, ttl=5)
    clock.now += 4
    assert cache.get("k") == 2
    cache.set("k", 3, ttl=0)
    assert cache.get("k") is None


def test_lru_eviction_order() -> None:
    cache: TTLCache[str, int] = TTLCache(3, clock=FakeClock(100.0))
    cache.set("a", 1, ttl=60)
    cache.set("b", 2, ttl=60)
    cache.set("c", 3, ttl=60)
    assert cache.get("a") == 1  # a is now the most recently used; b is the oldest
    cache.set("d", 4, ttl=60)
    assert cache.get("b") is None
    assert [cache.get(k) for k in ("a", "c", "d")] == [1, 3, 4]
    cache.set("e", 5, ttl=60)  # a was used before c and d this time
    assert cache.get("a") is None
    assert cache.evictions == 2
    assert len(cache) == 3


def test_overwrite_does_not_evict_and_moves_to_end() -> None:
    cache: TTLCache[str, int] = TTLCache(2, clock=FakeClock(100.0))
    cache.set("a", 1, ttl=60)
    cache.set("b", 2, ttl=60)
    cache.set("a", 10, ttl=60)
    assert cache.evictions == 0
    cache.set("c", 3, ttl=60)
    assert cache.get("b") is None
    assert cache.get("a") == 10


def test_full_cache_evicts_expired_before_live_entries() -> None:
    clock = FakeClock(100.0)
    cache: TTLCache[str, int] = TTLCache(2, clock=clock)
    cache.set("old-live", 1, ttl=100)
    cache.set("new-expiring", 2, ttl=1)
    clock.now += 2
    cache.set("c", 3, ttl=100)
    assert cache.get("old-live") == 1
    assert cache.evictions == 0


def test_memory_bounded_with_many_keys() -> None:
    cache: TTLCache[int, int] = TTLCache(100, clock=FakeClock(100.0))
    for key in range(10_000):
        cache.set(key, key, ttl=60)
        assert len(cache._data) <= 100
    assert len(cache) == 100
    assert cache.get(9_999) == 9_999
    assert cache.get(0) is None


def test_expired_entries_are_swept_before_the_cache_is_full() -> None:
    clock = FakeClock(100.0)
    cache: TTLCache[int, int] = TTLCache(1000, clock=clock, sweep_seconds=30)
    for key in range(100):
        cache.set(key, key, ttl=60)
    clock.now += 61  # all expired, none looked up again, the cache far from full
    cache.set(100, 100, ttl=60)
    assert len(cache._data) == 1  # the sweep ran: memory follows the live entries
    cache.set(101, 101, ttl=1)
    clock.now += 2
    cache.set(102, 102, ttl=60)  # next sweep not due yet: the expired entry stays a while
    assert len(cache._data) == 3
    clock.now += 30
    cache.set(103, 103, ttl=60)
    assert sorted(cache._data) == [100, 102, 103]
    assert cache.evictions == 0


def test_clear() -> None:
    cache: TTLCache[str, int] = TTLCache(10, clock=FakeClock(100.0))
    cache.set("a", 1, ttl=60)
    cache.set("b", 2, ttl=60)
    assert "b" in cache
    cache.clear()
    assert len(cache) == 0
    assert "b" not in cache


def test_contains_and_len_do_not_touch_counters() -> None:
    clock = FakeClock(100.0)
    cache: TTLCache[str, int] = TTLCache(10, clock=clock)
    cache.set("a", 1, ttl=1)
    cache.set("b", 1, ttl=10)
    assert "a" in cache
    clock.now += 1
    assert "a" not in cache
    assert "a" in cache._data  # expired, still held
    assert len(cache) == 1  # counting purges the expired entry
    assert list(cache._data) == ["b"]
    assert (cache.hits, cache.misses) == (0, 0)


def test_max_entries_must_be_positive() -> None:
    with pytest.raises(ValueError):
        TTLCache(0)


# --------------------------------------------------------------------------- Coalescer


async def test_fifty_concurrent_identical_runs_share_one_call() -> None:
    coalescer: Coalescer[str, str] = Coalescer()
    release = asyncio.Event()
    calls = 0

    async def factory() -> str:
        nonlocal calls
        calls += 1
        await release.wait()
        return "value"

    tasks = [asyncio.create_task(coalescer.run("k", factory)) for _ in range(50)]
    await settle()
    assert len(coalescer) == 1  # one call in flight for all fifty
    release.set()
    results = await asyncio.gather(*tasks)
    assert calls == 1
    assert results == ["value"] * 50
    assert (coalescer.calls, coalescer.joined) == (1, 49)
    await settle()
    assert len(coalescer) == 0


async def test_different_keys_do_not_share() -> None:
    coalescer: Coalescer[str, str] = Coalescer()
    calls: list[str] = []

    def factory_for(key: str):
        async def factory() -> str:
            calls.append(key)
            await asyncio.sleep(0)
            return key.upper()

        return factory

    results = await asyncio.gather(*(coalescer.run(k, factory_for(k)) for k in "abab"))
    assert results == ["A", "B", "A", "B"]
    assert sorted(calls) == ["a", "b"]


async def test_exception_reaches_every_waiter(loop_errors: list[dict[str, Any]]) -> None:
    coalescer: Coalescer[str, int] = Coalescer()
    release = asyncio.Event()
    calls = 0

    async def factory() -> int:
        nonlocal calls
        calls += 1
        await release.wait()
        raise LookupError("boom")

    tasks = [asyncio.create_task(coalescer.run("k", factory)) for _ in range(10)]
    await settle()
    release.set()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert calls == 1
    assert all(isinstance(r, LookupError) and str(r) == "boom" for r in results)
    await settle()
    assert len(coalescer) == 0
    del tasks, results
    gc.collect()
    await settle()
    assert loop_errors == []


async def test_sync_factory_error_goes_to_the_waiter() -> None:
    coalescer: Coalescer[str, int] = Coalescer()

    def factory() -> Any:
        raise ValueError("bad factory")

    with pytest.raises(ValueError, match="bad factory"):
        await coalescer.run("k", factory)
    await settle()
    assert len(coalescer) == 0


async def test_new_call_after_previous_finished() -> None:
    coalescer: Coalescer[str, int] = Coalescer()
    counter = 0

    async def factory() -> int:
        nonlocal counter
        counter += 1
        return counter

    assert await coalescer.run("k", factory) == 1
    assert await coalescer.run("k", factory) == 2  # nothing in flight: a fresh call


async def test_cancelling_one_waiter_does_not_affect_the_others() -> None:
    coalescer: Coalescer[str, str] = Coalescer()
    release = asyncio.Event()
    calls = 0

    async def factory() -> str:
        nonlocal calls
        calls += 1
        await release.wait()
        return "ok"

    first = asyncio.create_task(coalescer.run("k", factory))  # the one that started it
    others = [asyncio.create_task(coalescer.run("k", factory)) for _ in range(5)]
    await settle()
    first.cancel()
    others[0].cancel()
    await settle()
    assert first.cancelled()
    assert others[0].cancelled()
    assert len(coalescer) == 1  # the call goes on for the other waiters
    release.set()
    assert await asyncio.gather(*others[1:]) == ["ok"] * 4
    assert calls == 1


async def test_call_completes_and_is_cleaned_up_when_every_waiter_left(
    loop_errors: list[dict[str, Any]],
) -> None:
    coalescer: Coalescer[str, str] = Coalescer()
    release = asyncio.Event()
    finished: list[str] = []

    async def factory() -> str:
        await release.wait()
        finished.append("done")
        raise RuntimeError("nobody is listening")

    waiters = [asyncio.create_task(coalescer.run("k", factory)) for _ in range(3)]
    await settle()
    for waiter in waiters:
        waiter.cancel()
    del waiter
    await settle()
    assert all(w.cancelled() for w in waiters)
    assert len(coalescer) == 1  # still running for nobody
    release.set()
    await settle()
    assert finished == ["done"]
    assert len(coalescer) == 0
    del waiters
    gc.collect()
    await settle()
    assert loop_errors == []  # no "Task exception was never retrieved"


# --------------------------------------------------------------------------- CachedFetcher
# The fetcher loads an answer's bytes and decodes them (the Halo client's path): the
# decoded value is what is cached and shared by concurrent callers.


def as_bytes(value: object) -> bytes:
    return json.dumps(value).encode()


async def test_fetcher_caches_successes() -> None:
    clock = FakeClock(100.0)
    fetcher: CachedFetcher[str, dict[str, int]] = CachedFetcher(max_entries=10, clock=clock)
    calls = 0

    async def load() -> bytes:
        nonlocal calls
        calls += 1
        return as_bytes({"csr": 1500 + calls})

    assert await fetcher.get_decoded("p", 30, load, json.loads) == {"csr": 1501}
    assert await fetcher.get_decoded("p", 30, load, json.loads) == {"csr": 1501}
    assert (fetcher.upstream_calls, fetcher.hits) == (1, 1)
    clock.now += 30
    assert await fetcher.get_decoded("p", 30, load, json.loads) == {"csr": 1502}
    assert (fetcher.upstream_calls, fetcher.hits) == (2, 1)
    assert fetcher.cache.misses == 2


async def test_fetcher_coalesces_concurrent_misses() -> None:
    fetcher: CachedFetcher[str, str] = CachedFetcher(max_entries=10, clock=FakeClock(100.0))
    release = asyncio.Event()
    decoded = 0

    async def load() -> bytes:
        await release.wait()
        return b"v"

    def decode(body: bytes) -> str:
        nonlocal decoded
        decoded += 1
        return body.decode()

    tasks = [asyncio.create_task(fetcher.get_decoded("k", 60, load, decode)) for _ in range(50)]
    await settle()
    release.set()
    assert await asyncio.gather(*tasks) == ["v"] * 50
    assert fetcher.upstream_calls == 1
    assert decoded == 1  # one answer, decoded once for every caller
    assert await fetcher.get_decoded("k", 60, load, decode) == "v"
    assert fetcher.hits == 1


async def test_fetcher_does_not_cache_errors() -> None:
    fetcher: CachedFetcher[str, str] = CachedFetcher(max_entries=10, clock=FakeClock(100.0))
    release = asyncio.Event()
    outcomes: list[Exception | bytes] = [KeyError("first"), b"second"]

    async def load() -> bytes:
        await release.wait()
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    tasks = [
        asyncio.create_task(fetcher.get_decoded("k", 60, load, bytes.decode)) for _ in range(5)
    ]
    await settle()
    release.set()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert all(isinstance(r, KeyError) for r in results)
    assert "k" not in fetcher.cache
    assert await fetcher.get_decoded("k", 60, load, bytes.decode) == "second"
    assert fetcher.upstream_calls == 2


async def test_fetcher_does_not_cache_answers_it_cannot_decode() -> None:
    fetcher: CachedFetcher[str, Any] = CachedFetcher(max_entries=10, clock=FakeClock(100.0))
    answers = [b"{not json", as_bytes({"csr": 1500})]

    async def load() -> bytes:
        return answers.pop(0)

    with pytest.raises(ValueError):
        await fetcher.get_decoded("k", 60, load, json.loads)
    assert "k" not in fetcher.cache
    assert await fetcher.get_decoded("k", 60, load, json.loads) == {"csr": 1500}
    assert fetcher.upstream_calls == 2


async def test_fetcher_caches_none_values() -> None:
    fetcher: CachedFetcher[str, None] = CachedFetcher(max_entries=10, clock=FakeClock(100.0))
    calls = 0

    async def load() -> bytes:
        nonlocal calls
        calls += 1
        return b"null"

    assert await fetcher.get_decoded("k", 60, load, json.loads) is None
    assert await fetcher.get_decoded("k", 60, load, json.loads) is None
    assert calls == 1
    assert fetcher.hits == 1


async def test_fetcher_stores_result_even_if_all_waiters_cancelled() -> None:
    fetcher: CachedFetcher[str, str] = CachedFetcher(max_entries=10, clock=FakeClock(100.0))
    release = asyncio.Event()

    async def load() -> bytes:
        await release.wait()
        return b"late"

    waiter = asyncio.create_task(fetcher.get_decoded("k", 60, load, bytes.decode))
    await settle()
    waiter.cancel()
    await settle()
    release.set()
    await settle()
    assert fetcher.cache.get("k") == "late"


async def test_fetcher_accepts_a_shared_cache() -> None:
    cache: TTLCache[str, int] = TTLCache(5, clock=FakeClock(100.0))
    cache.set("pre", 7, ttl=60)
    fetcher: CachedFetcher[str, int] = CachedFetcher(cache)

    async def load() -> bytes:
        raise AssertionError("must not be called on a hit")

    assert await fetcher.get_decoded("pre", 60, load, json.loads) == 7
    assert fetcher.cache is cache
