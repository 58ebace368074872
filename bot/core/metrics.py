"""``/metrics`` (Prometheus text) and ``/healthz`` on ``METRICS_HOST:METRICS_PORT``.

The metric objects are in :mod:`bot.common.metrics` (re-exported here); this module
serves them. ``/healthz`` answers 200 while the gateway is connected and the database
answers, 503 otherwise, with one line saying which.
"""

from __future__ import annotations

import asyncio
import logging
import math
from typing import TYPE_CHECKING

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from bot.common.errors import ConfigError
from bot.common.metrics import (
    ANNOUNCEMENTS_POSTED,
    CACHE_LOOKUPS,
    GATEWAY_LATENCY,
    HALO_REQUESTS,
    INTERACTIONS,
    LIMITER_WAIT,
    RANK_CYCLE_PLAYERS,
    RANK_CYCLE_SECONDS,
    SHARDS_CONNECTED,
    observe_cycle,
)

if TYPE_CHECKING:
    from bot.core.bot import HaloBot

log = logging.getLogger(__name__)

DATABASE_TIMEOUT = 3.0


def gateway_connected(bot: HaloBot) -> bool:
    """Whether the bot has a live gateway connection (identified, socket open)."""
    ws = bot.ws
    return ws is not None and ws.open and ws.session_id is not None and not bot.is_closed()


async def database_answers(bot: HaloBot) -> bool:
    try:
        await asyncio.wait_for(bot.db.accounts.count(), DATABASE_TIMEOUT)
    except Exception as exc:  # any failure means "does not answer"
        log.warning("Health check: the database did not answer (%s)", type(exc).__name__)
        return False
    return True


def _refresh_gateway_gauges(bot: HaloBot) -> None:
    connected = gateway_connected(bot)
    SHARDS_CONNECTED.set(1 if connected else 0)
    latency = bot.latency
    GATEWAY_LATENCY.set(latency if connected and math.isfinite(latency) else math.nan)


class MetricsServer:
    """The HTTP server for ``/metrics`` and ``/healthz``; does nothing when ``port`` is None."""

    def __init__(self, bot: HaloBot, host: str, port: int | None) -> None:
        self.bot = bot
        self.host = host
        self.port = port
        self._runner: web.AppRunner | None = None

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/healthz", self._healthz)
        return app

    async def start(self) -> None:
        if self.port is None:
            return
        runner = web.AppRunner(self.app(), access_log=None)
        await runner.setup()
        try:
            await web.TCPSite(runner, self.host, self.port).start()
        except OSError as exc:
            await runner.cleanup()
            raise ConfigError(
                f"METRICS_PORT: cannot listen on {self.host}:{self.port} ({exc.strerror})."
            ) from None
        self._runner = runner
        log.info("Metrics on http://%s:%d/metrics, health on /healthz", self.host, self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _metrics(self, request: web.Request) -> web.Response:
        _refresh_gateway_gauges(self.bot)
        body = generate_latest(REGISTRY)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def _healthz(self, request: web.Request) -> web.Response:
        if not gateway_connected(self.bot):
            return web.Response(status=503, text="gateway: not connected\n")
        if not await database_answers(self.bot):
            return web.Response(status=503, text="database: not answering\n")
        return web.Response(text="ok\n")


__all__ = [
    "ANNOUNCEMENTS_POSTED",
    "CACHE_LOOKUPS",
    "GATEWAY_LATENCY",
    "HALO_REQUESTS",
    "INTERACTIONS",
    "LIMITER_WAIT",
    "RANK_CYCLE_PLAYERS",
    "RANK_CYCLE_SECONDS",
    "SHARDS_CONNECTED",
    "MetricsServer",
    "database_answers",
    "gateway_connected",
    "observe_cycle",
]
