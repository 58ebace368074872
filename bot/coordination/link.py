"""The Redis connection shared by the coordination pieces, and what happens when it fails.

:meth:`RedisLink.run` runs one Redis operation. When Redis cannot be reached it raises
:class:`CoordinationUnavailable` (the caller then uses its in-process fallback), logs one
warning per outage, and for ``retry_seconds`` fails at once without touching the network;
after that the next operation tries again, and the first one that works ends the outage.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar
from urllib.parse import urlsplit

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_PREFIX = "halo-bot:"
#: How long a Redis round trip may take before Redis counts as unreachable. Loopback or
#: LAN round trips take well under a millisecond; 0.5 s was crossed by event-loop stalls
#: alone on a busy 2-core machine (a false outage, logged as one). A Redis that hangs
#: costs it only to the operations in flight when a retry is due (every
#: ``DEFAULT_RETRY_SECONDS``); in between, the instance decides alone at once.
DEFAULT_TIMEOUT = 1.5
#: How long an outage lasts at least before Redis is tried again.
DEFAULT_RETRY_SECONDS = 1.0


class CoordinationUnavailable(Exception):
    """Redis is unreachable right now: decide with this instance's own state."""


class RedisLink:
    """A Redis client, the key prefix every key starts with, and the outage state."""

    def __init__(
        self,
        client: Redis,
        *,
        prefix: str = DEFAULT_PREFIX,
        where: str = "Redis",
        retry_seconds: float = DEFAULT_RETRY_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.prefix = prefix
        self.where = where
        self.retry_seconds = retry_seconds
        self._clock = clock
        self._down_since: float | None = None
        self._retry_at = 0.0
        #: Outages seen so far (one warning each).
        self.outages = 0

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        prefix: str = DEFAULT_PREFIX,
        timeout: float = DEFAULT_TIMEOUT,
        retry_seconds: float = DEFAULT_RETRY_SECONDS,
    ) -> RedisLink:
        """A link to ``url`` (``redis://`` or ``rediss://``); connects on first use."""
        client = Redis.from_url(
            url,
            socket_connect_timeout=timeout,
            socket_timeout=timeout,
            retry=Retry(NoBackoff(), 0),
        )
        parts = urlsplit(url)
        where = f"Redis at {parts.hostname}:{parts.port or 6379}"  # never the password
        return cls(client, prefix=prefix, where=where, retry_seconds=retry_seconds)

    @property
    def available(self) -> bool:
        """False during an outage (until an operation works again)."""
        return self._down_since is None

    def key(self, *parts: str) -> str:
        return self.prefix + ":".join(parts)

    async def run(self, operation: Callable[[Redis], Awaitable[T]]) -> T:
        """``operation(client)``, or :class:`CoordinationUnavailable` if Redis fails."""
        if self._down_since is not None and self._clock() < self._retry_at:
            raise CoordinationUnavailable(self.where)
        try:
            result = await operation(self.client)
        except (TimeoutError, RedisError, OSError) as exc:
            self._failed(exc)
            raise CoordinationUnavailable(self.where) from exc
        if self._down_since is not None:
            log.warning(
                "%s answers again after %.0fs: limits and cache are shared again",
                self.where,
                self._clock() - self._down_since,
            )
            self._down_since = None
        return result

    async def probe(self) -> bool:
        """Ping Redis (at start, so an outage is reported at once); True if it answered."""
        try:
            await self.run(lambda client: client.ping())  # type: ignore[arg-type]
        except CoordinationUnavailable:
            return False
        return True

    async def close(self) -> None:
        await self.client.aclose()

    def _failed(self, exc: BaseException) -> None:
        now = self._clock()
        if self._down_since is None:
            self._down_since = now
            self.outages += 1
            log.warning(
                "%s is unreachable (%s): this instance uses its own limits and cache, "
                "and its share of the Halo budget, until it answers again",
                self.where,
                exc.__class__.__name__,
            )
        self._retry_at = now + self.retry_seconds
