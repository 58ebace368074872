"""The Halo HTTP layer against the fake Halo server: headers, retries, limits, errors."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import aiohttp
import pytest

from bot.common.errors import (
    HaloDataError,
    HaloUnavailableError,
    RateLimitedError,
    SignInExpiredError,
)
from bot.halo.auth import HaloTokens, StaticTokenProvider
from bot.halo.http import HaloHttp, RetryPolicy, UpstreamStatusError
from bot.halo.ratelimit import UpstreamLimiter
from bot.halo.urls import PROFILE_HOST, SKILL_HOST, build_url, segment
from tests.fakes.halo_server import (
    DEFAULT_CLEARANCE,
    NOBLE_SIX,
    STATIC_SPARTAN_TOKEN,
    FakeHalo,
)

USER_URL = build_url(PROFILE_HOST, f"/users/gt({segment(NOBLE_SIX.gamertag)})")


class CountingTokens:
    """A real provider whose refresh hands out the fake's static token; counts refreshes."""

    def __init__(self, first: str) -> None:
        self.current = HaloTokens(first, DEFAULT_CLEARANCE, expires_at=_far())
        self.refreshes = 0

    async def get(self) -> HaloTokens:
        return self.current

    async def refresh(self, stale: HaloTokens | None = None) -> HaloTokens:
        self.refreshes += 1
        self.current = HaloTokens(STATIC_SPARTAN_TOKEN, DEFAULT_CLEARANCE, expires_at=_far())
        return self.current

    async def close(self) -> None:
        return None


def _far():
    from datetime import UTC, datetime

    return datetime(2999, 1, 1, tzinfo=UTC)


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


def make_http(fake: FakeHalo, session: aiohttp.ClientSession, tokens=None, **policy) -> HaloHttp:
    tokens = tokens or StaticTokenProvider(STATIC_SPARTAN_TOKEN, DEFAULT_CLEARANCE)
    defaults = {"deadline": 5.0, "attempt_timeout": 1.0, "max_retries": 2, "backoff_base": 0.01}
    defaults.update(policy)
    return HaloHttp(
        session,
        tokens,
        UpstreamLimiter(rate=1000),
        api_base=fake.base_url,
        policy=RetryPolicy(**defaults),
    )


async def test_sends_both_halo_headers_to_halo_hosts(fake, session) -> None:
    http = make_http(fake, session)
    data = json.loads(await http.request("GET", USER_URL))
    assert data["gamertag"] == NOBLE_SIX.gamertag
    sent = fake.requests_to("profile.svc.halowaypoint.com/users/gt")[-1]
    assert sent.headers["x-343-authorization-spartan"] == STATIC_SPARTAN_TOKEN
    assert sent.headers["343-clearance"] == DEFAULT_CLEARANCE


async def test_no_tokens_for_other_hosts(fake, session) -> None:
    http = make_http(fake, session)
    with pytest.raises((UpstreamStatusError, HaloDataError, HaloUnavailableError)):
        json.loads(await http.request("GET", "https://example.com/anything"))
    other = [r for r in fake.requests if r.host == "example.com"]
    assert other, "the request should still reach the rewritten base"
    assert "x-343-authorization-spartan" not in other[-1].headers
    assert "343-clearance" not in other[-1].headers


async def test_500_is_retried_then_succeeds(fake, session) -> None:
    fake.fail("users/gt", status=500, times=2)
    http = make_http(fake, session)
    data = json.loads(await http.request("GET", USER_URL))
    assert data["xuid"] == str(NOBLE_SIX.xuid)
    assert fake.count("users/gt") == 3


async def test_persistent_503_surfaces_as_unavailable(fake, session) -> None:
    fake.fail("users/gt", status=503, times=None)
    http = make_http(fake, session)
    with pytest.raises(HaloUnavailableError, match="aren't answering"):
        json.loads(await http.request("GET", USER_URL))
    assert fake.count("users/gt") == 3  # one try and two retries


async def test_timeout_is_retried_then_surfaces(fake, session) -> None:
    fake.fail("users/gt", hang=True, times=None)
    http = make_http(fake, session, attempt_timeout=0.2, deadline=3.0, max_retries=1)
    with pytest.raises(HaloUnavailableError):
        json.loads(await http.request("GET", USER_URL))
    assert fake.count("users/gt") == 2
    fake.release_hangs()


async def test_connection_refused_is_unavailable(session) -> None:
    tokens = StaticTokenProvider("a-token", "a-clearance")
    http = HaloHttp(
        session,
        tokens,
        UpstreamLimiter(rate=1000),
        api_base="http://127.0.0.1:9",
        policy=RetryPolicy(deadline=2, attempt_timeout=0.5, max_retries=1, backoff_base=0.01),
    )
    with pytest.raises(HaloUnavailableError):
        json.loads(await http.request("GET", USER_URL))


async def test_429_retry_after_is_honoured_for_the_host(fake, session) -> None:
    fake.fail("users/gt", retry_after=0.3, times=1)
    http = make_http(fake, session)
    data = json.loads(await http.request("GET", USER_URL))
    assert data["gamertag"] == NOBLE_SIX.gamertag
    times = [r for r in fake.requests_to("users/gt")]
    assert len(times) == 2
    assert http.limiter.pauses >= 1


async def test_long_retry_after_becomes_rate_limited_with_seconds(fake, session) -> None:
    fake.fail("users/gt", retry_after=30, times=1)
    http = make_http(fake, session)
    with pytest.raises(RateLimitedError) as info:
        json.loads(await http.request("GET", USER_URL))
    assert info.value.retry_after == 30
    assert "30 seconds" in info.value.message
    # The whole host is paused: the next call fails fast without reaching Halo.
    before = fake.count("profile.svc")
    with pytest.raises(RateLimitedError):
        json.loads(await http.request("GET", USER_URL))
    assert fake.count("profile.svc") == before


async def test_401_refreshes_once_and_retries_once(fake, session) -> None:
    tokens = CountingTokens("stale-token")
    http = make_http(fake, session, tokens=tokens)
    data = json.loads(await http.request("GET", USER_URL))
    assert data["gamertag"] == NOBLE_SIX.gamertag
    assert tokens.refreshes == 1
    sent = [r.headers["x-343-authorization-spartan"] for r in fake.requests_to("users/gt")]
    assert sent == ["stale-token", STATIC_SPARTAN_TOKEN]


async def test_persistent_401_is_sign_in_expired(fake, session) -> None:
    fake.fail("users/gt", status=401, times=None)
    tokens = CountingTokens(STATIC_SPARTAN_TOKEN)
    http = make_http(fake, session, tokens=tokens)
    with pytest.raises(SignInExpiredError, match="halo-bot login"):
        json.loads(await http.request("GET", USER_URL))
    assert tokens.refreshes == 1
    assert fake.count("users/gt") == 2


async def test_static_tokens_rejected_is_sign_in_expired(fake, session) -> None:
    http = make_http(fake, session, tokens=StaticTokenProvider("revoked", "c"))
    with pytest.raises(SignInExpiredError, match="expired"):
        json.loads(await http.request("GET", USER_URL))


async def test_404_is_an_upstream_status_for_the_caller(fake, session) -> None:
    http = make_http(fake, session)
    url = build_url(PROFILE_HOST, f"/users/gt({segment('Nobody Here')})")
    with pytest.raises(UpstreamStatusError) as info:
        json.loads(await http.request("GET", url))
    assert info.value.status == 404
    assert "halowaypoint" in str(info.value)


async def test_truncated_body_is_retried(fake, session) -> None:
    fake.fail("users/gt", truncate=True, times=1)
    http = make_http(fake, session)
    data = json.loads(await http.request("GET", USER_URL))
    assert data["gamertag"] == NOBLE_SIX.gamertag
    assert fake.count("users/gt") == 2


async def test_always_truncated_body_is_unavailable(fake, session) -> None:
    fake.fail("users/gt", truncate=True, times=None)
    http = make_http(fake, session)
    with pytest.raises(HaloUnavailableError):
        json.loads(await http.request("GET", USER_URL))


async def test_user_text_cannot_leave_the_path(fake, session) -> None:
    http = make_http(fake, session)
    evil = "../../skill.svc.halowaypoint.com/x?players=1#frag"
    url = build_url(PROFILE_HOST, f"/users/gt({segment(evil)})")
    with pytest.raises(UpstreamStatusError):
        json.loads(await http.request("GET", url))
    last = fake.requests[-1]
    assert last.host == PROFILE_HOST
    assert last.path.startswith("/users/gt(")
    assert not last.query
    assert not [r for r in fake.requests if r.host == SKILL_HOST]


async def test_requests_are_counted_per_host(fake, session) -> None:
    http = make_http(fake, session)
    await asyncio.gather(*(http.request("GET", USER_URL) for _ in range(3)))
    assert http.requests_sent[PROFILE_HOST] == 3


async def test_requests_queued_behind_a_429_fail_fast_instead_of_waiting_it_out(
    fake, session
) -> None:
    fake.fail("users/gt", retry_after=30, times=1)
    http = HaloHttp(
        session,
        StaticTokenProvider(STATIC_SPARTAN_TOKEN, DEFAULT_CLEARANCE),
        UpstreamLimiter(rate=2),  # the second and third requests queue
        api_base=fake.base_url,
        policy=RetryPolicy(deadline=5.0, attempt_timeout=1.0, max_retries=2, backoff_base=0.01),
    )
    started = asyncio.get_running_loop().time()
    results = await asyncio.gather(
        *(http.request("GET", USER_URL) for _ in range(3)), return_exceptions=True
    )
    elapsed = asyncio.get_running_loop().time() - started
    assert all(isinstance(r, RateLimitedError) for r in results), results
    assert elapsed < 3  # not the 30 s pause, nor the 5 s deadline
    assert fake.count("users/gt") == 1  # only the first reached Halo
