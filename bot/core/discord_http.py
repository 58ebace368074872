"""Point discord.py at another Discord API (``DISCORD_API_BASE``), e.g. a local fake.

discord.py has two hard-coded endpoints:

* REST: :attr:`discord.http.Route.BASE` (``https://discord.com/api/v10``). Every REST
  call builds its URL from it when the :class:`~discord.http.Route` is created, and
  so do the interaction webhooks (callbacks, followups, ``@original`` edits):
  ``discord/webhook/async_.py`` imports ``Route`` from ``discord.http`` and has no
  base of its own. (``Webhook.url`` is hard-coded to discord.com, but only as a
  display string; nothing is requested through it.)
* Gateway: :attr:`discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY`
  (``wss://gateway.discord.gg/``). A plain :class:`discord.Client` never asks
  ``GET /gateway/bot``: :meth:`~discord.Client.connect` calls
  ``DiscordWebSocket.from_client(self, initial=True, shard_id=...)`` without a
  ``gateway``, so ``from_client`` uses ``gateway or cls.DEFAULT_GATEWAY``. The same
  class attribute is the fallback after ``INVALID_SESSION`` (``self.gateway =
  self.DEFAULT_GATEWAY``) and for every re-IDENTIFY that is not a resume; only
  RESUMEs use ``resume_gateway_url`` from READY.

So :func:`configure_discord_api` sets ``Route.BASE``, and
:func:`use_api_gateway` (called by :class:`ApiGatewayMixin` from ``connect``) asks
``GET {api_base}/gateway/bot`` -- what Discord recommends and what
:class:`discord.AutoShardedClient` already does -- and stores the answer in
``DiscordWebSocket.DEFAULT_GATEWAY`` so every path above reaches the same server.

With the default base nothing is touched: no extra request, stock values.
Both settings are process-wide class attributes, as the bot is one client per process.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import yarl
from discord.gateway import DiscordWebSocket
from discord.http import Route

from bot.core.config import DEFAULT_DISCORD_API_BASE, check_http_url

if TYPE_CHECKING:
    import discord

log = logging.getLogger(__name__)

# What discord.py ships with, captured at import so it can always be restored.
_STOCK_ROUTE_BASE: str = Route.BASE
_STOCK_GATEWAY: yarl.URL = DiscordWebSocket.DEFAULT_GATEWAY


def _normalise(api_base: str) -> str:
    return api_base.strip().rstrip("/")


def is_default_base(api_base: str | None) -> bool:
    """Whether ``api_base`` means the real Discord API (``None``/blank count as default)."""
    if api_base is None or not api_base.strip():
        return True
    value = _normalise(api_base)
    parts = urlsplit(value)
    default = urlsplit(DEFAULT_DISCORD_API_BASE)
    return (
        parts.scheme.lower() == default.scheme
        and parts.netloc.lower() == default.netloc
        and parts.path == default.path
        and not parts.query
        and not parts.fragment
    )


def configure_discord_api(api_base: str) -> None:
    """Make discord.py's REST calls (and interaction webhooks) go to ``api_base``.

    ``api_base`` is the versioned base, e.g. ``http://127.0.0.1:8080/api/v10``. The
    default base restores stock discord.py (REST base *and* default gateway).
    """
    value = check_http_url(api_base)  # the rule DISCORD_API_BASE is checked with
    if value is None or is_default_base(value):
        Route.BASE = _STOCK_ROUTE_BASE
        DiscordWebSocket.DEFAULT_GATEWAY = _STOCK_GATEWAY
        return
    Route.BASE = value
    log.info("Discord REST API base set to %s", value)


def current_api_base() -> str:
    """The REST base discord.py uses right now."""
    return Route.BASE


async def use_api_gateway(client: discord.Client) -> yarl.URL | None:
    """Take the gateway URL from ``GET {api_base}/gateway/bot`` (after ``login``).

    Does nothing and returns ``None`` when the REST base is Discord's own, so stock
    behaviour is unchanged. Otherwise sets and returns the gateway discord.py will
    IDENTIFY against. Raises :class:`discord.GatewayNotFound` when the call fails.
    """
    if is_default_base(Route.BASE):
        return None
    _shards, url, _limits = await client.http.get_bot_gateway()
    gateway = yarl.URL(url)
    DiscordWebSocket.DEFAULT_GATEWAY = gateway
    log.info("Discord gateway from %s/gateway/bot: %s", Route.BASE, gateway)
    return gateway


class ApiGatewayMixin:
    """Put first in a :class:`discord.Client` subclass's bases::

        class HaloBot(ApiGatewayMixin, commands.Bot): ...

    ``connect`` (and so ``start``) then asks the configured API for the gateway
    before connecting, exactly once per ``connect`` call. With the default API base
    it is a plain pass-through.
    """

    async def connect(self, *, reconnect: bool = True) -> None:
        await use_api_gateway(self)  # type: ignore[arg-type]
        parent: Any = super()
        await parent.connect(reconnect=reconnect)
