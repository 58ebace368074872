"""Redirects are never followed: a Halo or sign-in request carries the Spartan token, the
clearance, a Microsoft refresh token or a device code, and a 302/307 to another host would
hand them over (aiohttp re-sends the headers, a 307 re-sends a POST body).

The fake Halo answers a redirect to a second local listener (another fake on 127.0.0.1),
which must receive nothing at all; the caller gets a plain-words error.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest

from bot.common.errors import HaloUnavailableError, UpstreamRedirectError
from bot.core.logs import guard, quiet_libraries, redactor
from bot.halo.auth import MsalTokenProvider, StaticTokenProvider, device_code_login
from bot.halo.http import HaloHttp, RetryPolicy
from bot.halo.ratelimit import UpstreamLimiter
from bot.halo.urls import PROFILE_HOST, build_url, segment
from tests.fakes.halo_server import DEFAULT_CLEARANCE, NOBLE_SIX, STATIC_SPARTAN_TOKEN, FakeHalo

CLIENT_ID = "00000000-1111-2222-3333-444444444444"
USER_PATH = f"{PROFILE_HOST}/users/gt({NOBLE_SIX.gamertag})"
USER_URL = build_url(PROFILE_HOST, f"/users/gt({segment(NOBLE_SIX.gamertag)})")
TOKEN_ENDPOINT = "login.microsoftonline.com/consumers/oauth2/v2.0/token"
DEVICECODE = "login.microsoftonline.com/consumers/oauth2/v2.0/devicecode"
OPENID = "login.microsoftonline.com/consumers/v2.0/.well-known/openid-configuration"
XBOX_USER = "user.auth.xboxlive.com/user/authenticate"
XSTS = "xsts.auth.xboxlive.com/xsts/authorize"
SPARTAN = "settings.svc.halowaypoint.com/spartan-token"
CLEARANCE = (
    "settings.svc.halowaypoint.com/oban/flight-configurations/titles/hi/audiences/RETAIL/active"
)


@pytest.fixture(autouse=True)
def _debug_logs(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Capture at DEBUG through the same guard (and library levels) as the bot's own logs."""
    caplog.set_level(logging.DEBUG)
    guard(caplog.handler)
    msal_level = logging.getLogger("msal").level
    quiet_libraries(logging.DEBUG)
    yield
    caplog.handler.removeFilter(redactor())
    logging.getLogger("msal").setLevel(msal_level)


@pytest.fixture
async def fake() -> AsyncIterator[FakeHalo]:
    async with FakeHalo() as server:
        server.access_token_lifetime = 60  # every chain redeems the refresh token
        yield server


@pytest.fixture
async def elsewhere() -> AsyncIterator[FakeHalo]:
    """The host a redirect points to: it records every request it gets."""
    async with FakeHalo() as server:
        yield server


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


def redirect(fake: FakeHalo, elsewhere: FakeHalo, target: str, status: int) -> None:
    fake.fail(target, status=status, location=f"{elsewhere.base_url}/{target}", times=None)


def credentials(fake: FakeHalo) -> list[str]:
    issued = [t for tokens in fake.issued.values() for t in tokens]
    return [STATIC_SPARTAN_TOKEN, DEFAULT_CLEARANCE, *issued]


def assert_nothing_reached(elsewhere: FakeHalo, fake: FakeHalo) -> None:
    assert elsewhere.requests == [], [r.target for r in elsewhere.requests]


def assert_plain_error(error: BaseException) -> None:
    assert isinstance(error, UpstreamRedirectError)
    assert isinstance(error, HaloUnavailableError)  # every handler shows it like an outage
    assert "redirect" in error.message
    assert "Please try again" in error.message


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
async def test_halo_api_redirect_is_not_followed(
    fake: FakeHalo,
    elsewhere: FakeHalo,
    session: aiohttp.ClientSession,
    status: int,
    caplog: pytest.LogCaptureFixture,
) -> None:
    http = HaloHttp(
        session,
        StaticTokenProvider(STATIC_SPARTAN_TOKEN, DEFAULT_CLEARANCE),
        UpstreamLimiter(rate=1000),
        api_base=fake.base_url,
        policy=RetryPolicy(deadline=5.0, attempt_timeout=1.0, max_retries=2, backoff_base=0.01),
    )
    redirect(fake, elsewhere, USER_PATH, status)
    with pytest.raises(UpstreamRedirectError) as info:
        json.loads(await http.request("GET", USER_URL))
    assert_plain_error(info.value)
    assert_nothing_reached(elsewhere, fake)
    assert fake.count("users/gt") == 1  # a redirect is an answer, not a failure to retry
    assert "redirect" in caplog.text
    for secret in credentials(fake):
        assert secret not in caplog.text


@pytest.mark.parametrize("status", [302, 307])
@pytest.mark.parametrize(
    "step",
    [TOKEN_ENDPOINT, XBOX_USER, XSTS, SPARTAN, CLEARANCE],
    ids=["msal-refresh", "xbox-user", "xsts", "spartan", "clearance"],
)
async def test_sign_in_redirect_is_not_followed(
    fake: FakeHalo,
    elsewhere: FakeHalo,
    session: aiohttp.ClientSession,
    tmp_path: Path,
    step: str,
    status: int,
    caplog: pytest.LogCaptureFixture,
) -> None:
    cache = tmp_path / "cache.json"
    await device_code_login(CLIENT_ID, cache, api_base=fake.base_url, prompt=lambda _: None)
    provider = MsalTokenProvider(CLIENT_ID, cache, session, api_base=fake.base_url, retry_delay=0)
    try:
        fake.clear_requests()
        redirect(fake, elsewhere, step, status)
        with pytest.raises(UpstreamRedirectError) as info:
            await provider.get()
        assert_plain_error(info.value)
        assert_nothing_reached(elsewhere, fake)
        assert fake.count(step) == 1
        assert "redirect" in caplog.text
        for secret in credentials(fake):
            assert secret not in caplog.text

        # A redirect is no dead sign-in: once the server answers normally, it works.
        fake.reset_faults()
        tokens = await provider.get()
        assert tokens.spartan == fake.issued["spartan"][-1]
    finally:
        await provider.close()


@pytest.mark.parametrize("status", [302, 307])
@pytest.mark.parametrize("step", [OPENID, DEVICECODE, TOKEN_ENDPOINT])
async def test_login_redirect_is_not_followed(
    fake: FakeHalo,
    elsewhere: FakeHalo,
    tmp_path: Path,
    step: str,
    status: int,
    caplog: pytest.LogCaptureFixture,
) -> None:
    cache = tmp_path / "cache.json"
    redirect(fake, elsewhere, step, status)
    with pytest.raises(UpstreamRedirectError) as info:
        await device_code_login(CLIENT_ID, cache, api_base=fake.base_url, prompt=lambda _: None)
    assert_plain_error(info.value)
    assert_nothing_reached(elsewhere, fake)
    assert not cache.exists()
    assert "redirect" in caplog.text
    for secret in credentials(fake):
        assert secret not in caplog.text
