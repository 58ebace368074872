"""Cached Halo answers and in-flight lookups shared by every instance.

:meth:`RedisAnswers.fetch` answers from Redis when it holds the answer. Otherwise the
instances asking at the same moment race for a lock on the key: the winner loads the
answer (one upstream call) and publishes it under the key; the others poll for it until
``wait_seconds`` pass, and take the lock in turn if the winner failed. While Redis is
unreachable every instance loads for itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import math
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from redis.asyncio import Redis

from bot.coordination.link import CoordinationUnavailable, RedisLink

#: Longest a waiting instance polls for another's answer before loading it itself.
DEFAULT_WAIT_SECONDS = 15.0
_FIRST_POLL = 0.005
_MAX_POLL = 0.1

_STORE = """
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
if redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[2]) end
return 1
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""

Load = Callable[[], Awaitable[bytes]]


class RedisAnswers:
    """Raw answers in Redis, one upstream call per key across instances."""

    def __init__(
        self,
        link: RedisLink,
        *,
        wait_seconds: float = DEFAULT_WAIT_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.link = link
        self.wait_seconds = wait_seconds
        self._clock = clock
        self._sleep = sleep
        self._store = link.client.register_script(_STORE)
        self._release = link.client.register_script(_RELEASE)
        self.loads = 0
        self.shared_hits = 0

    async def fetch(self, key: str, ttl: float, load: Load) -> tuple[bytes, float]:
        """The answer for ``key`` and the seconds it stays fresh (see the module)."""
        if not ttl > 0:
            return await load(), ttl
        digest = hashlib.sha256(key.encode()).hexdigest()
        answer_key = self.link.key("answer", digest)
        lock_key = self.link.key("answer-lock", digest)
        give_up_at = self._clock() + self.wait_seconds
        try:
            while True:
                found = await self._stored(answer_key)
                if found is not None:
                    self.shared_hits += 1
                    return found
                token = uuid.uuid4().hex
                won = await self._lock(lock_key, token)
                if won:
                    return await self._load_and_publish(answer_key, lock_key, token, ttl, load)
                found = await self._wait(answer_key, lock_key, give_up_at)
                if found is not None:
                    self.shared_hits += 1
                    return found
                if self._clock() >= give_up_at:
                    break
                # The lock went without an answer (its holder failed): race for it again.
        except CoordinationUnavailable:
            pass
        self.loads += 1
        return await load(), ttl

    async def _lock(self, lock_key: str, token: str) -> bool:
        """Take the lock on a key: this instance loads the answer. It expires on its own
        if the instance dies meanwhile."""
        lock_ms = max(1, math.ceil(self.wait_seconds * 2000))
        return bool(
            await self.link.run(lambda client: client.set(lock_key, token, nx=True, px=lock_ms))
        )

    async def _stored(self, answer_key: str) -> tuple[bytes, float] | None:
        async def read(client: Redis) -> list[Any]:
            pipe = client.pipeline(transaction=False)
            pipe.get(answer_key)
            pipe.pttl(answer_key)
            return await pipe.execute()

        body, pttl = await self.link.run(read)
        if body is None or not isinstance(pttl, int) or pttl <= 0:
            return None
        assert isinstance(body, bytes)
        return body, pttl / 1000.0

    async def _load_and_publish(
        self, answer_key: str, lock_key: str, token: str, ttl: float, load: Load
    ) -> tuple[bytes, float]:
        self.loads += 1
        try:
            body = await load()
        except BaseException:
            with contextlib.suppress(CoordinationUnavailable):
                await self.link.run(
                    lambda client: self._release(keys=[lock_key], args=[token], client=client)
                )
            raise
        ttl_ms = max(1, math.ceil(ttl * 1000))
        with contextlib.suppress(CoordinationUnavailable):
            await self.link.run(
                lambda client: self._store(
                    keys=[answer_key, lock_key], args=[token, body, ttl_ms], client=client
                )
            )
        return body, ttl

    async def _wait(
        self, answer_key: str, lock_key: str, give_up_at: float
    ) -> tuple[bytes, float] | None:
        """Poll until the answer is stored (it), the lock is gone (None) or time is up."""
        delay = _FIRST_POLL
        while self._clock() < give_up_at:
            await self._sleep(min(delay, max(0.0, give_up_at - self._clock())))
            delay = min(delay * 2, _MAX_POLL)
            found = await self._stored(answer_key)
            if found is not None:
                return found
            if not await self.link.run(lambda client: client.exists(lock_key)):
                return await self._stored(answer_key)
        return None
