"""Caching for Halo lookups: a bounded TTL cache, request coalescing, and both combined.

* :class:`TTLCache` is an LRU map whose entries also expire after their own TTL.
* :class:`Coalescer` makes concurrent identical requests share one upstream call.
* :class:`CachedFetcher` answers from the cache, else through the coalescer,
  and caches successful results only. Given a :class:`SharedAnswers` (the Redis one in
  ``bot.coordination``), raw answers and in-flight calls are also shared between processes.

Rate limiting is not done here: the ``factory`` given to a miss is expected to
go through :class:`bot.halo.ratelimit.UpstreamLimiter` itself.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, Generic, Protocol, TypeVar, overload

from bot.common.metrics import CACHE_LOOKUPS

log = logging.getLogger(__name__)

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
D = TypeVar("D")

Clock = Callable[[], float]

#: How often :meth:`TTLCache.set` also drops every expired entry. Otherwise an expired
#: entry would stay until looked up again or until the cache is full, and a long-running
#: bot's cache would sit at ``max_entries`` whatever its traffic (4,096 parsed service
#: records are about 450 MB); with it, memory follows the entries still live.
SWEEP_SECONDS = 30.0

_MISSING: Any = object()


class TTLCache(Generic[K, V]):
    """A bounded LRU cache with a TTL per entry.

    An expired entry is a miss and is removed when it is looked up, or by the sweep
    that :meth:`set` runs every ``sweep_seconds`` (so memory follows the live entries,
    not the bound); when the cache is full, setting a new key evicts expired entries
    first, then the least recently used one. ``None`` cannot be told apart from a miss by
    :meth:`get` without a ``default``, so pass a sentinel if you store ``None``.
    """

    def __init__(
        self,
        max_entries: int,
        *,
        clock: Clock = time.monotonic,
        sweep_seconds: float = SWEEP_SECONDS,
    ) -> None:
        if max_entries < 1:
            raise ValueError(f"max_entries must be at least 1, not {max_entries!r}")
        self.max_entries = int(max_entries)
        self._clock = clock
        self.sweep_seconds = sweep_seconds
        self._next_sweep = clock() + sweep_seconds
        # key -> (expires_at, value), least recently used first.
        self._data: OrderedDict[K, tuple[float, V]] = OrderedDict()
        self.hits = 0
        self.misses = 0
        self.evictions = 0

    @overload
    def get(self, key: K) -> V | None: ...

    @overload
    def get(self, key: K, default: D) -> V | D: ...

    def get(self, key: K, default: Any = None) -> Any:
        """The live value for ``key`` (now the most recently used), else ``default``."""
        entry = self._data.get(key)
        if entry is None:
            self.misses += 1
            return default
        expires_at, value = entry
        if self._clock() >= expires_at:
            del self._data[key]
            self.misses += 1
            return default
        self._data.move_to_end(key)
        self.hits += 1
        return value

    def set(self, key: K, value: V, ttl: float) -> None:
        """Store ``value`` for ``ttl`` seconds; a ``ttl`` of 0 or less just removes ``key``."""
        if not ttl > 0:
            self._data.pop(key, None)
            return
        now = self._clock()
        if now >= self._next_sweep:
            self._purge_expired(now)
            self._next_sweep = now + self.sweep_seconds
        if key in self._data:
            self._data.move_to_end(key)
        elif len(self._data) >= self.max_entries:
            self._purge_expired(now)
            while len(self._data) >= self.max_entries:
                self._data.popitem(last=False)
                self.evictions += 1
        self._data[key] = (now + ttl, value)

    def clear(self) -> None:
        """Remove every entry (the counters are kept)."""
        self._data.clear()

    def __len__(self) -> int:
        """The number of live entries (expired ones are purged first)."""
        self._purge_expired(self._clock())
        return len(self._data)

    def __contains__(self, key: object) -> bool:
        """Whether ``key`` has a live entry; touches neither the LRU order nor the counters."""
        entry = self._data.get(key)  # type: ignore[call-overload]  # any hashable may be asked
        return entry is not None and self._clock() < entry[0]

    def _purge_expired(self, now: float) -> None:
        expired = [key for key, (expires_at, _) in self._data.items() if now >= expires_at]
        for key in expired:
            del self._data[key]


class Coalescer(Generic[K, V]):
    """Concurrent :meth:`run` calls with the same key share a single call of the factory.

    The call runs in its own task: a waiter that is cancelled stops waiting but
    the call goes on for the others, and it still completes (and is forgotten)
    when every waiter has gone. Its result or exception reaches every waiter;
    an exception nobody waits for any more is retrieved, so asyncio never logs
    "Task exception was never retrieved".
    """

    def __init__(self) -> None:
        self._inflight: dict[K, asyncio.Task[V]] = {}
        self.calls = 0
        self.joined = 0

    def __len__(self) -> int:
        """The number of calls in flight."""
        return len(self._inflight)

    async def run(self, key: K, factory: Callable[[], Awaitable[V]]) -> V:
        """Await the shared call for ``key``, starting it with ``factory`` if none is running."""
        task = self._inflight.get(key)
        if task is None or task.done():
            task = asyncio.get_running_loop().create_task(_call(factory))
            self._inflight[key] = task
            task.add_done_callback(lambda done: self._finished(key, done))
            self.calls += 1
        else:
            self.joined += 1
        return await asyncio.shield(task)

    def _finished(self, key: K, task: asyncio.Task[V]) -> None:
        if self._inflight.get(key) is task:
            del self._inflight[key]
        if not task.cancelled():
            exc = task.exception()  # marks it retrieved even when nobody waits
            if exc is not None:
                log.debug("Shared call for %r failed: %s", key, exc.__class__.__name__)


async def _call(factory: Callable[[], Awaitable[V]]) -> V:
    return await factory()


class SharedAnswers(Protocol):
    """Raw answers shared by every process that uses the same store."""

    async def fetch(
        self, key: str, ttl: float, load: Callable[[], Awaitable[bytes]]
    ) -> tuple[bytes, float]:
        """The stored answer for ``key`` and the seconds it stays fresh; else ``load()``,
        run once across all processes asking at the same moment, stored for ``ttl``."""
        ...


class CachedFetcher(Generic[K, V]):
    """Answer from a :class:`TTLCache`, else run one coalesced call and cache its result.

    Only successful results are cached; an exception reaches every waiter of
    that call and the next :meth:`get_decoded` tries again. When concurrent callers
    share a call, the ``ttl`` of the one that started it is used.
    """

    def __init__(
        self,
        cache: TTLCache[K, V] | None = None,
        *,
        max_entries: int = 1024,
        clock: Clock = time.monotonic,
        shared: SharedAnswers | None = None,
    ) -> None:
        if cache is None:
            cache = TTLCache(max_entries, clock=clock)
        self.cache: TTLCache[K, V] = cache
        self.shared = shared
        self.coalescer: Coalescer[K, V] = Coalescer()
        self.upstream_calls = 0
        self.hits = 0

    async def get_decoded(
        self,
        key: K,
        ttl: float,
        load: Callable[[], Awaitable[bytes]],
        decode: Callable[[bytes], V],
    ) -> V:
        """The cached value for ``key``, else ``decode(load())``, cached for ``ttl``. With
        :attr:`shared`, the bytes come from (and go to) the shared store, and processes
        asking at the same moment share one ``load``; the decoded value is kept here for
        as long as the shared answer stays fresh."""
        value = self.cache.get(key, _MISSING)
        CACHE_LOOKUPS.labels("miss" if value is _MISSING else "hit").inc()
        if value is not _MISSING:
            self.hits += 1
            return value

        async def one() -> V:
            decoded: list[V] = []

            async def load_and_decode() -> bytes:
                self.upstream_calls += 1
                body = await load()
                decoded.append(decode(body))  # an unreadable answer is never shared
                return body

            if self.shared is None:
                await load_and_decode()
                fresh_for = ttl
            else:
                body, fresh_for = await self.shared.fetch(str(key), ttl, load_and_decode)
                if not decoded:  # another instance loaded it
                    decoded.append(decode(body))
            self.cache.set(key, decoded[0], fresh_for)
            return decoded[0]

        return await self.coalescer.run(key, one)
