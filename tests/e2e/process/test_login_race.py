"""Sign-in behaviour seen from outside: the event loop stays free while MSAL works, a skewed
wall clock costs no extra sign-ins, and `halo-bot login` and a running bot share the token
cache file without overwriting each other. Everything runs against the fake Halo."""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.halo.auth import MsalTokenProvider, device_code_login
from bot.halo.http import HaloHttp
from bot.halo.ratelimit import UpstreamLimiter
from bot.halo.urls import PROFILE_HOST, build_url, segment
from tests.fakes.halo_server import NOBLE_SIX, FakeHalo
from tests.support.paths import ROOT
from tests.support.processes import spawn_cli

CLIENT_ID = "00000000-1111-2222-3333-444444444444"
TOKEN_ENDPOINT = "login.microsoftonline.com/consumers/oauth2/v2.0/token"
SPARTAN = "settings.svc.halowaypoint.com/spartan-token"
USER_URL = build_url(PROFILE_HOST, f"/users/gt({segment(NOBLE_SIX.gamertag)})")
#: Every request of a sign-in chain goes to one of these.
SIGN_IN = r"login\.microsoftonline\.com|xboxlive\.com|spartan-token|flight-configurations"


@pytest.fixture
async def fake() -> AsyncIterator[FakeHalo]:
    async with FakeHalo() as server:
        server.access_token_lifetime = 60  # every chain redeems the refresh token
        yield server


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


@pytest.fixture
async def cache(fake: FakeHalo, tmp_path: Path) -> Path:
    path = tmp_path / "data" / "halo_token_cache.json"
    await device_code_login(CLIENT_ID, path, api_base=fake.base_url, prompt=lambda _: None)
    return path


@pytest.fixture
async def make_provider(
    fake: FakeHalo, session: aiohttp.ClientSession
) -> AsyncIterator[Callable[..., MsalTokenProvider]]:
    made: list[MsalTokenProvider] = []

    def make(path: Path, **kwargs: Any) -> MsalTokenProvider:
        kwargs.setdefault("retry_delay", 0)
        provider = MsalTokenProvider(CLIENT_ID, path, session, api_base=fake.base_url, **kwargs)
        made.append(provider)
        return provider

    yield make
    for provider in made:
        await provider.close()


async def loop_stalls_during(work: Any) -> tuple[Any, float]:
    """Run ``work`` while a ticker wakes every 10 ms; return its result and the longest
    time the event loop went without running the ticker."""
    gaps: list[float] = []
    done = asyncio.Event()

    async def tick() -> None:
        last = time.perf_counter()
        while not done.is_set():
            await asyncio.sleep(0.01)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    ticker = asyncio.create_task(tick())
    try:
        result = await work
    finally:
        done.set()
        await ticker
    return result, max(gaps)


async def until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 5.0
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.01)


# -- MSAL is synchronous: it runs in a thread ----------------------------------------


async def test_msal_refresh_and_login_leave_the_event_loop_free(
    fake: FakeHalo, tmp_path: Path, make_provider: Callable[..., MsalTokenProvider]
) -> None:
    path = tmp_path / "cache.json"
    fake.fail(TOKEN_ENDPOINT, delay=0.6, times=1)  # the device-code grant is slow
    login = device_code_login(CLIENT_ID, path, api_base=fake.base_url, prompt=lambda _: None)
    who, stall = await loop_stalls_during(login)
    assert who == fake.account_username
    assert stall < 0.3, f"the event loop stalled {stall:.2f}s during the login"

    fake.fail(TOKEN_ENDPOINT, delay=0.6, times=1)  # the refresh-token grant is slow
    tokens, stall = await loop_stalls_during(make_provider(path).get())
    assert tokens.spartan == fake.issued["spartan"][-1]
    assert fake.count(TOKEN_ENDPOINT) == 2
    assert stall < 0.3, f"the event loop stalled {stall:.2f}s during the MSAL refresh"


# -- clock skew -----------------------------------------------------------------------


def skewed(offset: timedelta) -> Callable[[], datetime]:
    return lambda: datetime.now(UTC) + offset


def spartan_without_duration(fake: FakeHalo, token: str) -> None:
    """Halo answers with ExpiresUtc only (no TokenDuration): the lifetime then comes from
    the server's own Date header, not from the local clock."""
    expires = datetime.now(UTC) + timedelta(hours=4)
    fake.allow_spartan_token(token, expires)
    body = {"SpartanToken": token, "ExpiresUtc": {"ISO8601Date": expires.isoformat()}}
    fake.fail(SPARTAN, status=200, body=json.dumps(body).encode(), times=None)


@pytest.mark.parametrize("hours", [5, -5, 0])
@pytest.mark.parametrize("answer", ["TokenDuration", "ExpiresUtc only"])
async def test_a_skewed_wall_clock_costs_no_extra_sign_ins(
    fake: FakeHalo,
    session: aiohttp.ClientSession,
    cache: Path,
    make_provider: Callable[..., MsalTokenProvider],
    hours: int,
    answer: str,
) -> None:
    if answer == "ExpiresUtc only":
        spartan_without_duration(fake, "fake-spartan-no-duration-0123456789")
    fake.clear_requests()
    provider = make_provider(cache, clock=skewed(timedelta(hours=hours)))
    http = HaloHttp(session, provider, UpstreamLimiter(rate=1000), api_base=fake.base_url)
    for _ in range(10):
        user = json.loads(await http.request("GET", USER_URL))
        assert user["gamertag"] == NOBLE_SIX.gamertag
    # One chain: MSAL's OpenID configuration, one refresh-token grant, one Xbox user token,
    # one XSTS token, one Spartan token, one clearance.
    assert fake.count(SIGN_IN) == 6, [r.target for r in fake.requests_to(SIGN_IN)]
    assert fake.count(SPARTAN) == 1
    assert fake.count("users/gt") == 10


async def test_a_token_is_renewed_when_its_lifetime_runs_out_whatever_the_clock_says(
    fake: FakeHalo, cache: Path, make_provider: Callable[..., MsalTokenProvider]
) -> None:
    # Halo's token lives 5 min 1 s; the provider renews 5 min before the end: after 1 s.
    fake.spartan_lifetime = timedelta(minutes=5, seconds=1)
    provider = make_provider(cache, clock=skewed(timedelta(hours=-5)))  # the clock lags
    first = await provider.get()
    assert await provider.get() is first
    await asyncio.sleep(1.2)
    second = await provider.get()
    assert second.spartan != first.spartan
    assert fake.count(SPARTAN) == 2


# -- the token cache file is shared with `halo-bot login` -----------------------------


def cached_accounts(path: Path) -> set[str]:
    data = json.loads(path.read_text(encoding="utf-8"))
    return {str(a.get("username")) for a in data.get("Account", {}).values()}


def cached_refresh_tokens(path: Path) -> set[str]:
    data = json.loads(path.read_text(encoding="utf-8"))
    return {str(t["secret"]) for t in data.get("RefreshToken", {}).values()}


async def test_a_login_during_a_refresh_is_not_overwritten(
    fake: FakeHalo, cache: Path, make_provider: Callable[..., MsalTokenProvider]
) -> None:
    first_account = fake.account_username
    provider = make_provider(cache)
    fake.fail(TOKEN_ENDPOINT, delay=0.8, times=1)  # the bot's refresh-token grant is slow
    refreshing = asyncio.create_task(provider.get())
    await until(lambda: fake.count(TOKEN_ENDPOINT) == 2)  # the bot's refresh reached Microsoft

    # Meanwhile an admin signs in again, with another account.
    fake.account_username = "new.admin@example.com"
    who = await device_code_login(CLIENT_ID, cache, api_base=fake.base_url, prompt=lambda _: None)
    assert who == "new.admin@example.com"
    await refreshing

    # The login is the newest sign-in: the running bot must not have written over it...
    assert cached_accounts(cache) == {"new.admin@example.com"}, first_account
    saved = cached_refresh_tokens(cache)
    # ...and the bot's next sign-in uses it.
    fake.clear_requests()
    await provider.refresh()
    (grant,) = fake.requests_to(TOKEN_ENDPOINT)
    assert grant.form()["refresh_token"] in saved
    assert cached_accounts(cache) == {"new.admin@example.com"}


async def test_a_halo_bot_login_process_is_not_overwritten_by_a_running_bot(
    fake: FakeHalo, cache: Path, make_provider: Callable[..., MsalTokenProvider]
) -> None:
    """The same race with the real command: ``python -m bot login`` in its own process."""
    provider = make_provider(cache)
    fake.fail(TOKEN_ENDPOINT, delay=4.0, times=1)  # the bot's refresh-token grant is slow
    refreshing = asyncio.create_task(provider.get())
    await until(lambda: fake.count(TOKEN_ENDPOINT) == 2)

    fake.account_username = "new.admin@example.com"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "HALO_", "AZURE_"))}
    env.update(
        PYTHONPATH=str(ROOT),
        AZURE_CLIENT_ID=CLIENT_ID,
        HALO_API_BASE_URL=fake.base_url,
        HALO_TOKEN_CACHE=str(cache),
    )
    login = await spawn_cli(
        cache.parent,
        env,
        "login",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(login.communicate(), 60)
    assert login.returncode == 0, err.decode()
    assert "Signed in as new.admin@example.com" in out.decode()
    await refreshing

    assert cached_accounts(cache) == {"new.admin@example.com"}
    saved = cached_refresh_tokens(cache)
    fake.clear_requests()
    await provider.refresh()
    (grant,) = fake.requests_to(TOKEN_ENDPOINT)
    assert grant.form()["refresh_token"] in saved
