"""bot.core.discord_http: pointing discord.py's REST base and gateway at DISCORD_API_BASE."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import discord
import pytest
import yarl
from discord.gateway import DiscordWebSocket
from discord.http import Route
from discord.webhook import async_ as webhook_async

from bot.core.config import DEFAULT_DISCORD_API_BASE
from bot.core.discord_http import (
    ApiGatewayMixin,
    configure_discord_api,
    current_api_base,
    is_default_base,
    use_api_gateway,
)

STOCK_GATEWAY = yarl.URL("wss://gateway.discord.gg/")


@pytest.fixture(autouse=True)
def _restore() -> Iterator[None]:
    yield
    configure_discord_api(DEFAULT_DISCORD_API_BASE)  # stock discord.py again


class _FakeHTTP:
    def __init__(self, url: str) -> None:
        self.url = url
        self.calls = 0

    async def get_bot_gateway(self) -> tuple[int, str, dict[str, Any]]:
        self.calls += 1
        return (
            1,
            self.url,
            {"total": 1000, "remaining": 999, "reset_after": 0, "max_concurrency": 1},
        )


class _FakeClient:
    def __init__(self, url: str) -> None:
        self.http = _FakeHTTP(url)


@pytest.mark.parametrize(
    ("base", "expected"),
    [
        (None, True),
        ("", True),
        ("  ", True),
        ("https://discord.com/api/v10", True),
        ("https://discord.com/api/v10/", True),
        ("HTTPS://Discord.com/api/v10", True),
        ("https://discord.com/api/v9", False),
        ("http://discord.com/api/v10", False),
        ("http://127.0.0.1:8080/api/v10", False),
        ("https://discord.com/api/v10?x=1", False),
    ],
)
def test_is_default_base(base: str | None, expected: bool) -> None:
    assert is_default_base(base) is expected


def test_configure_sets_rest_and_webhook_base() -> None:
    configure_discord_api("http://127.0.0.1:9999/api/v10/")
    assert current_api_base() == "http://127.0.0.1:9999/api/v10"
    assert Route("GET", "/users/@me").url == "http://127.0.0.1:9999/api/v10/users/@me"
    # interaction callbacks/followups use the same Route class (no separate webhook base)
    assert webhook_async.Route is Route  # pyright: ignore[reportPrivateImportUsage]
    route = webhook_async.Route(  # pyright: ignore[reportPrivateImportUsage]
        "POST", "/webhooks/{webhook_id}/{webhook_token}", webhook_id=1, webhook_token="t"
    )
    assert route.url == "http://127.0.0.1:9999/api/v10/webhooks/1/t"
    assert DiscordWebSocket.DEFAULT_GATEWAY == STOCK_GATEWAY  # only use_api_gateway changes it


def test_default_base_restores_stock() -> None:
    configure_discord_api("http://127.0.0.1:1/api/v10")
    DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL("ws://127.0.0.1:1/gateway")
    configure_discord_api(DEFAULT_DISCORD_API_BASE)
    assert Route.BASE == "https://discord.com/api/v10"
    assert DiscordWebSocket.DEFAULT_GATEWAY == STOCK_GATEWAY


@pytest.mark.parametrize("bad", ["127.0.0.1:80/api/v10", "ftp://x/api", "http://h/api?q=1"])
def test_configure_rejects_bad_urls(bad: str) -> None:
    with pytest.raises(ValueError):
        configure_discord_api(bad)
    assert Route.BASE == "https://discord.com/api/v10"


async def test_use_api_gateway_is_a_no_op_for_discord() -> None:
    client = _FakeClient("ws://127.0.0.1:1/gateway")
    assert await use_api_gateway(client) is None  # type: ignore[arg-type]
    assert client.http.calls == 0
    assert DiscordWebSocket.DEFAULT_GATEWAY == STOCK_GATEWAY


async def test_use_api_gateway_takes_the_advertised_url() -> None:
    configure_discord_api("http://127.0.0.1:9999/api/v10")
    client = _FakeClient("ws://127.0.0.1:9999/gateway")
    gateway = await use_api_gateway(client)  # type: ignore[arg-type]
    assert gateway == yarl.URL("ws://127.0.0.1:9999/gateway")
    assert gateway == DiscordWebSocket.DEFAULT_GATEWAY
    assert client.http.calls == 1


async def test_mixin_resolves_gateway_then_connects() -> None:
    order: list[str] = []

    class Base:
        async def connect(self, *, reconnect: bool = True) -> None:
            order.append(
                f"connect reconnect={reconnect} gateway={DiscordWebSocket.DEFAULT_GATEWAY}"
            )

    class Client(ApiGatewayMixin, Base):
        def __init__(self) -> None:
            self.http = _FakeHTTP("ws://127.0.0.1:7/gateway")

    configure_discord_api("http://127.0.0.1:7/api/v10")
    client = Client()
    await client.connect(reconnect=False)
    assert order == ["connect reconnect=False gateway=ws://127.0.0.1:7/gateway"]
    assert client.http.calls == 1


def test_mixin_keeps_client_signature() -> None:
    class Bot(ApiGatewayMixin, discord.Client):
        pass

    assert Bot.connect is ApiGatewayMixin.connect
    assert issubclass(Bot, discord.Client)
