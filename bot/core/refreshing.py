"""A value built from Halo data, kept for a while and rebuilt in the background.

Used for the lookup tables behind autocomplete (seasons): answers come from
memory, one build runs at a time whoever asks, and when a rebuild fails the
last good value is used until Halo answers again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from bot.common.errors import UserFacingError

log = logging.getLogger(__name__)

T = TypeVar("T")


class Refreshing(Generic[T]):
    """``build()`` once per ``ttl`` seconds, shared by every caller.

    ``ttl_of`` gives a value its own time to live (e.g. shorter for one built from
    partial data).
    """

    def __init__(
        self,
        build: Callable[[], Awaitable[T]],
        *,
        ttl: float,
        what: str,
        ttl_of: Callable[[T], float] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._build = build
        self.ttl = ttl
        self.ttl_of = ttl_of
        self.what = what
        self.clock = clock
        self._value: T | None = None
        self._built_at = 0.0
        self._building: asyncio.Task[T] | None = None

    def cached(self) -> T | None:
        """The last value built, however old; ``None`` before the first build."""
        return self._value

    def is_fresh(self) -> bool:
        """Built, and younger than its time to live (``ttl_of(value)`` when given)."""
        if self._value is None:
            return False
        ttl = self.ttl if self.ttl_of is None else self.ttl_of(self._value)
        return self.clock() - self._built_at < ttl

    async def get(self) -> T:
        """A fresh value; the last good one when a rebuild fails (else the failure)."""
        if self.is_fresh():
            assert self._value is not None
            return self._value
        try:
            return await self._shared_build()
        except (UserFacingError, TimeoutError, OSError):
            if self._value is None:
                raise
            log.warning("Rebuilding the %s failed; using the last one", self.what)
            return self._value

    def refresh_soon(self) -> asyncio.Task[T] | None:
        """Start a background (re)build unless the value is fresh; the build, if any."""
        if self.is_fresh():
            return None
        return self._start()

    async def for_autocomplete(self, wait: float) -> T | None:
        """What is built already (refreshed behind the scenes when old); before the first
        build, wait at most ``wait`` seconds for it, else ``None``."""
        task = self.refresh_soon()
        if self._value is not None or task is None or wait <= 0:
            return self._value
        await asyncio.wait({task}, timeout=wait)
        return self._value

    def _start(self) -> asyncio.Task[T]:
        task = self._building
        if task is None or task.done():
            task = asyncio.get_running_loop().create_task(self._run(), name=f"build {self.what}")
            task.add_done_callback(self._settled)
            self._building = task
        return task

    async def _shared_build(self) -> T:
        # A caller that gives up (its interaction timed out) does not stop it for the others.
        return await asyncio.shield(self._start())

    async def _run(self) -> T:
        value = await self._build()
        self._value = value
        self._built_at = self.clock()
        return value

    def _settled(self, task: asyncio.Task[T]) -> None:
        if task.cancelled():
            return
        exc = task.exception()  # marks it retrieved: waiting callers got it already
        if isinstance(exc, UserFacingError):
            log.warning("Could not build the %s: %s", self.what, exc.message)
        elif exc is not None and not isinstance(exc, TimeoutError | OSError):
            log.error("Could not build the %s", self.what, exc_info=exc)

    async def close(self) -> None:
        """Stop a build in progress (the bot is closing)."""
        task = self._building
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
