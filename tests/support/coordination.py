"""What the coordination tests run against: in-process objects or Redis.

:class:`Coordination` builds the pieces a bot instance shares (Halo send slots, cached
answers, command limits). In-process, every "instance" gets the same object, as the
parts of one process do; with Redis each instance gets its own connection and its own
objects, sharing only what Redis holds under the test's own key prefix.
:class:`ThrowawayRedis` runs a private ``redis-server`` that a test may kill and restart.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from bot.coordination.answers import RedisAnswers
from bot.coordination.command_limits import RedisCommandLimits
from bot.coordination.link import RedisLink
from bot.coordination.pauses import RedisPauses
from bot.coordination.send_slots import RedisSendSlots
from bot.core.limits import CommandLimits
from bot.halo.cache import CachedFetcher
from bot.halo.ratelimit import LocalSendSlots, UpstreamLimiter


class Coordination:
    """Factories for the shared pieces of bot instances, in-process or on Redis."""

    def __init__(self, kind: str, url: str | None = None, prefix: str = "") -> None:
        self.kind = kind
        self.url = url
        self.prefix = prefix
        self.links: list[RedisLink] = []
        self._limiters: dict[float, UpstreamLimiter] = {}
        self._fetcher: CachedFetcher[str, Any] | None = None
        self._limits: dict[tuple[int, float], CommandLimits] = {}

    @property
    def redis(self) -> bool:
        return self.url is not None

    def link(self, **kwargs: Any) -> RedisLink:
        """A new connection to the test's Redis (one per instance)."""
        assert self.url is not None
        link = RedisLink.from_url(self.url, prefix=self.prefix, **kwargs)
        self.links.append(link)
        return link

    def limiter(self, rate: float) -> UpstreamLimiter:
        if self.url is None:
            if rate not in self._limiters:
                self._limiters[rate] = UpstreamLimiter(rate)
            return self._limiters[rate]
        link = self.link()
        return UpstreamLimiter(
            rate,
            slots=RedisSendSlots(link, rate, fallback=LocalSendSlots(rate)),
            pauses=RedisPauses(link),
        )

    def fetcher(self) -> CachedFetcher[str, Any]:
        if self.url is None:
            if self._fetcher is None:
                self._fetcher = CachedFetcher()
            return self._fetcher
        return CachedFetcher(shared=RedisAnswers(self.link(), wait_seconds=5.0))

    def command_limits(self, guild_limit: int, user_cooldown: float) -> CommandLimits:
        if self.url is None:
            key = (guild_limit, user_cooldown)
            if key not in self._limits:
                self._limits[key] = CommandLimits(guild_limit, user_cooldown)
            return self._limits[key]
        shared = RedisCommandLimits(
            self.link(), guild_limit=guild_limit, guild_period=60.0, user_cooldown=user_cooldown
        )
        return CommandLimits(guild_limit, user_cooldown, shared=shared)

    async def close(self) -> None:
        """Delete every key under the prefix and close the connections."""
        if self.url is not None:
            client = Redis.from_url(self.url)
            try:
                keys = [key async for key in client.scan_iter(match=self.prefix + "*")]
                if keys:
                    await client.delete(*keys)
            finally:
                await client.aclose()
        for link in self.links:
            await link.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ThrowawayRedis:
    """A private ``redis-server`` on a free loopback port, no persistence."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._process: asyncio.subprocess.Process | None = None

    @staticmethod
    def available() -> bool:
        return shutil.which("redis-server") is not None

    async def start(self) -> None:
        """Start the server and wait until it answers; after :meth:`kill`, a restart on
        the same port (and empty: nothing is persisted)."""
        self._process = await asyncio.create_subprocess_exec(
            "redis-server",
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        client = Redis.from_url(self.url)
        try:
            for _ in range(200):
                try:
                    if await client.ping():
                        return
                except (OSError, RedisConnectionError):
                    pass  # not listening yet
                await asyncio.sleep(0.025)
            raise RuntimeError(f"redis-server did not start on port {self.port}")
        finally:
            await client.aclose()

    async def kill(self) -> None:
        if self._process is not None and self._process.returncode is None:
            self._process.kill()
            await self._process.wait()
        self._process = None
