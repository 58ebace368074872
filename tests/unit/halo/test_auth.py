"""Halo sign-in: the MSAL -> Xbox -> XSTS -> Spartan -> clearance chain against FakeHalo."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import stat
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
from pydantic import SecretStr

from bot.common.errors import (
    ConfigError,
    HaloDataError,
    HaloUnavailableError,
    SignInExpiredError,
    XboxAccountError,
)
from bot.core.config import load_settings
from bot.halo.auth import (
    CHILD_ACCOUNT,
    HaloTokens,
    MsalTokenProvider,
    StaticTokenProvider,
    build_token_provider,
    device_code_login,
    write_private_file,
)

try:
    from tests.fakes.halo_server import (
        HALO_RELYING_PARTY,
        XERR_CHILD_ACCOUNT,
        XERR_NO_XBOX_PROFILE,
        FakeHalo,
    )
except ModuleNotFoundError:  # tests/ is on sys.path, the project root is not
    from fakes.halo_server import (
        HALO_RELYING_PARTY,
        XERR_CHILD_ACCOUNT,
        XERR_NO_XBOX_PROFILE,
        FakeHalo,
    )

CLIENT_ID = "00000000-1111-2222-3333-444444444444"
SIGN_IN_EXPIRED = "The bot's Halo sign-in has expired: an admin must run `halo-bot login`."
STATIC_EXPIRED = (
    "The bot's Halo sign-in has expired: an admin must update HALO_SPARTAN_TOKEN and "
    "HALO_CLEARANCE_TOKEN or run `halo-bot login`."
)
NO_XBOX_PROFILE = (
    "The bot's Microsoft account has no Xbox profile: sign in once at xbox.com to create one, "
    "then run `halo-bot login` again."
)
SPARTAN = "settings.svc.halowaypoint.com/spartan-token"
TOKEN_ENDPOINT = "login.microsoftonline.com/consumers/oauth2/v2.0/token"


class Clock:
    """The wall clock and the monotonic clock of a provider, moved together by tests."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)
        self.ticks = 1000.0

    def __call__(self) -> datetime:
        return self.now

    def monotonic(self) -> float:
        return self.ticks

    def set(self, moment: datetime) -> None:
        """Let time pass until ``moment`` (by the wall clock the provider was given)."""
        self.ticks += (moment - self.now).total_seconds()
        self.now = moment


@pytest.fixture
async def fake() -> AsyncIterator[FakeHalo]:
    async with FakeHalo() as server:
        # Access tokens that MSAL considers expired at once (it keeps a 5-minute margin):
        # every chain then redeems the refresh token, as after a few hours of uptime.
        server.access_token_lifetime = 60
        yield server


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


@pytest.fixture
def cache_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "halo_token_cache.json"


@pytest.fixture
async def signed_in(fake: FakeHalo, cache_path: Path) -> Path:
    await device_code_login(CLIENT_ID, cache_path, api_base=fake.base_url, prompt=lambda _: None)
    return cache_path


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def make_provider(
    fake: FakeHalo, session: aiohttp.ClientSession, clock: Clock
) -> AsyncIterator[Callable[..., MsalTokenProvider]]:
    made: list[MsalTokenProvider] = []

    def make(cache: Path, **kwargs: object) -> MsalTokenProvider:
        kwargs.setdefault("retry_delay", 0)
        provider = MsalTokenProvider(
            CLIENT_ID,
            cache,
            session,
            api_base=fake.base_url,
            clock=clock,
            monotonic=clock.monotonic,
            **kwargs,  # type: ignore[arg-type]
        )
        made.append(provider)
        return provider

    yield make
    for provider in made:
        await provider.close()


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def put(path: Path, text: str, permissions: int = 0o600) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    path.chmod(permissions)


def exists(path: Path) -> bool:
    return path.exists()


def listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# -- device-code login ----------------------------------------------------------------


async def test_device_code_login_saves_a_private_cache(fake: FakeHalo, cache_path: Path) -> None:
    prompts: list[str] = []
    who = await device_code_login(
        CLIENT_ID, cache_path, api_base=fake.base_url, prompt=prompts.append
    )
    assert who == fake.account_username
    assert len(prompts) == 1 and "FAKE0001" in prompts[0]
    assert mode(cache_path) == 0o600
    devicecode = fake.requests_to("oauth2/v2.0/devicecode")[0].form()
    assert devicecode["client_id"] == CLIENT_ID
    assert {"XboxLive.signin", "XboxLive.offline_access"} <= set(devicecode["scope"].split())
    cached = json.loads(read(cache_path))
    assert fake.issued["refresh"][0] in json.dumps(cached["RefreshToken"])
    assert all(token not in who for token in fake.issued["access"] + fake.issued["refresh"])


async def test_device_code_login_replaces_a_world_readable_cache(
    fake: FakeHalo, cache_path: Path
) -> None:
    put(cache_path, "{}", 0o644)
    await device_code_login(CLIENT_ID, cache_path, api_base=fake.base_url, prompt=lambda _: None)
    assert mode(cache_path) == 0o600
    assert "RefreshToken" in json.loads(read(cache_path))
    # No temporary file left behind; only the cache and its lock file.
    assert listing(cache_path.parent) == [cache_path.name, f"{cache_path.name}.lock"]


async def test_device_code_login_declined(fake: FakeHalo, cache_path: Path) -> None:
    fake.device_flow_outcome = "decline"
    with pytest.raises(SignInExpiredError, match="declined"):
        await device_code_login(
            CLIENT_ID, cache_path, api_base=fake.base_url, prompt=lambda _: None
        )
    assert not exists(cache_path)


# -- the chain ------------------------------------------------------------------------


async def test_full_chain_sends_the_right_requests(
    fake: FakeHalo, signed_in: Path, make_provider
) -> None:
    fake.clear_requests()
    provider = make_provider(signed_in)
    tokens = await provider.get()

    refresh = fake.requests_to(TOKEN_ENDPOINT)[0].form()
    assert refresh["grant_type"] == "refresh_token"
    assert refresh["refresh_token"] == fake.issued["refresh"][0]
    assert refresh["client_id"] == CLIENT_ID

    (user,) = fake.requests_to("user.auth.xboxlive.com/user/authenticate")
    assert user.method == "POST"
    assert user.headers["x-xbl-contract-version"] == "1"
    assert user.json() == {
        "RelyingParty": "http://auth.xboxlive.com",
        "TokenType": "JWT",
        "Properties": {
            "AuthMethod": "RPS",
            "SiteName": "user.auth.xboxlive.com",
            "RpsTicket": f"d={fake.issued['access'][-1]}",
        },
    }
    (xsts,) = fake.requests_to("xsts.auth.xboxlive.com/xsts/authorize")
    assert xsts.headers["x-xbl-contract-version"] == "1"
    assert xsts.json() == {
        "RelyingParty": HALO_RELYING_PARTY,
        "TokenType": "JWT",
        "Properties": {"SandboxId": "RETAIL", "UserTokens": [fake.issued["user"][-1]]},
    }
    (spartan,) = fake.requests_to(SPARTAN)
    assert spartan.json() == {
        "Audience": "urn:343:s3:services",
        "MinVersion": "4",
        "Proof": [{"Token": fake.issued["xsts"][-1], "TokenType": "Xbox_XSTSv3"}],
    }
    (clearance,) = fake.requests_to("oban/flight-configurations/titles/hi/audiences/RETAIL/active")
    assert clearance.method == "GET"
    assert clearance.headers["x-343-authorization-spartan"] == fake.issued["spartan"][-1]

    assert tokens.spartan == fake.issued["spartan"][-1]
    assert tokens.clearance == fake.clearance
    expected = datetime.now(UTC) + fake.spartan_lifetime
    assert abs(tokens.expires_at - expected) < timedelta(minutes=1)
    # The rotated refresh token was saved, and the file stayed private.
    assert fake.issued["refresh"][-1] in read(signed_in)
    assert mode(signed_in) == 0o600


async def test_cache_saved_as_0600_even_if_it_was_world_readable(
    fake: FakeHalo, signed_in: Path, make_provider
) -> None:
    put(signed_in, read(signed_in), 0o644)
    await make_provider(signed_in).get()
    assert len(fake.issued["refresh"]) == 2  # the chain redeemed (and rotated) the token
    assert fake.issued["refresh"][-1] in read(signed_in)
    assert mode(signed_in) == 0o600


async def test_tokens_are_reused_until_near_expiry(
    fake: FakeHalo, signed_in: Path, make_provider, clock: Clock
) -> None:
    provider = make_provider(signed_in)
    first = await provider.get()
    assert await provider.get() is first
    clock.set(first.expires_at - timedelta(minutes=6))
    assert await provider.get() is first
    assert fake.count(SPARTAN) == 1

    clock.set(first.expires_at - timedelta(minutes=4))  # inside the 5-minute margin
    second = await provider.get()
    assert second.spartan != first.spartan
    assert second.spartan == fake.issued["spartan"][-1]
    assert fake.count(SPARTAN) == 2


async def test_fifty_concurrent_callers_share_one_chain(
    fake: FakeHalo, signed_in: Path, make_provider, clock: Clock
) -> None:
    provider = make_provider(signed_in)
    results = await asyncio.gather(*(provider.get() for _ in range(50)))
    assert len({id(r) for r in results}) == 1
    assert fake.count(SPARTAN) == 1
    assert fake.count("xsts/authorize") == 1
    assert fake.count(TOKEN_ENDPOINT) == 2  # the login, then one refresh

    clock.set(results[0].expires_at + timedelta(seconds=1))  # expired
    again = await asyncio.gather(*(provider.get() for _ in range(50)))
    assert len({r.spartan for r in again}) == 1
    assert again[0].spartan != results[0].spartan
    assert fake.count(SPARTAN) == 2
    assert provider.chains_run == 2


async def test_refresh_with_a_stale_token_reuses_a_newer_one(
    fake: FakeHalo, signed_in: Path, make_provider
) -> None:
    provider = make_provider(signed_in)
    first = await provider.get()
    refreshed = await asyncio.gather(*(provider.refresh(first) for _ in range(10)))
    assert len({r.spartan for r in refreshed}) == 1
    assert refreshed[0].spartan != first.spartan
    assert fake.count(SPARTAN) == 2
    # A caller still holding the first tokens gets the newer ones without a new chain.
    assert (await provider.refresh(first)).spartan == refreshed[0].spartan
    assert fake.count(SPARTAN) == 2
    # No stale token given: a forced refresh always runs.
    assert (await provider.refresh()).spartan != refreshed[0].spartan
    assert fake.count(SPARTAN) == 3


async def test_rejected_access_token_is_renewed_once(
    fake: FakeHalo, signed_in: Path, make_provider
) -> None:
    fake.access_token_lifetime = 3600  # MSAL would reuse this access token...
    provider = make_provider(signed_in)
    await provider.get()
    fake.revoke_access_tokens()  # ...but Xbox no longer accepts it
    tokens = await provider.refresh()
    assert tokens.spartan == fake.issued["spartan"][-1]
    assert fake.count("user/authenticate") == 3
    assert fake.requests_to("user/authenticate")[-1].json()["Properties"]["RpsTicket"] == (
        f"d={fake.issued['access'][-1]}"
    )


# -- failures -------------------------------------------------------------------------


async def test_dead_refresh_token_is_reported_once(
    fake: FakeHalo, signed_in: Path, make_provider, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.halo.auth")
    fake.kill_refresh_tokens()
    provider = make_provider(signed_in)
    results = await asyncio.gather(*(provider.get() for _ in range(5)), return_exceptions=True)
    assert all(isinstance(r, SignInExpiredError) for r in results)
    assert {r.message for r in results if isinstance(r, SignInExpiredError)} == {SIGN_IN_EXPIRED}
    with pytest.raises(SignInExpiredError) as info:
        await provider.get()
    assert info.value.message == SIGN_IN_EXPIRED
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert fake.count(TOKEN_ENDPOINT) == 2  # login + one refused refresh, no retry storm
    assert fake.count("xboxlive.com") == 0

    # An admin runs `halo-bot login` again: the running provider picks up the new cache.
    await device_code_login(CLIENT_ID, signed_in, api_base=fake.base_url, prompt=lambda _: None)
    tokens = await provider.get()
    assert tokens.spartan == fake.issued["spartan"][-1]


async def test_no_signed_in_account(fake: FakeHalo, cache_path: Path, make_provider) -> None:
    provider = make_provider(cache_path)  # no file at all
    with pytest.raises(SignInExpiredError) as info:
        await provider.get()
    assert info.value.message == SIGN_IN_EXPIRED
    put(cache_path, "not json")
    with pytest.raises(SignInExpiredError):
        await make_provider(cache_path).get()


@pytest.mark.parametrize(
    ("xerr", "message"),
    [(XERR_NO_XBOX_PROFILE, NO_XBOX_PROFILE), (XERR_CHILD_ACCOUNT, CHILD_ACCOUNT)],
)
async def test_xsts_errors_have_their_own_messages(
    fake: FakeHalo, signed_in: Path, make_provider, xerr: int, message: str
) -> None:
    fake.xsts_error = xerr
    provider = make_provider(signed_in)
    with pytest.raises(XboxAccountError) as info:
        await provider.get()
    assert info.value.message == message
    assert fake.count(SPARTAN) == 0


async def test_child_account_message_says_so() -> None:
    assert "child account" in CHILD_ACCOUNT
    assert "halo-bot login" in CHILD_ACCOUNT


async def test_server_errors_and_timeouts_are_unavailable(
    fake: FakeHalo, signed_in: Path, make_provider
) -> None:
    fake.fail("xsts.auth.xboxlive.com", status=503, times=None)
    provider = make_provider(signed_in, retries=1)
    with pytest.raises(HaloUnavailableError):
        await provider.get()
    assert fake.count("xsts/authorize") == 2  # one retry

    fake.reset_faults()
    fake.fail(SPARTAN, hang=True, times=None)
    provider = make_provider(signed_in, retries=0, request_timeout=0.2)
    with pytest.raises(HaloUnavailableError):
        await provider.get()
    fake.release_hangs()

    fake.reset_faults()
    assert (await provider.get()).spartan == fake.issued["spartan"][-1]


async def test_unreadable_answer_is_a_data_error(
    fake: FakeHalo, signed_in: Path, make_provider
) -> None:
    fake.fail("oban/flight-configurations", wrong_shape=True)
    with pytest.raises(HaloDataError):
        await make_provider(signed_in).get()


async def test_microsoft_outage_is_unavailable(
    fake: FakeHalo, signed_in: Path, make_provider
) -> None:
    fake.fail(TOKEN_ENDPOINT, status=503, times=None)
    with pytest.raises(HaloUnavailableError):
        await make_provider(signed_in).get()


async def test_tokens_never_reach_the_logs(
    fake: FakeHalo,
    signed_in: Path,
    make_provider,
    clock: Clock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    provider = make_provider(signed_in)
    tokens = await provider.get()
    clock.set(tokens.expires_at)
    await provider.get()
    fake.revoke_access_tokens()
    await provider.refresh()
    fake.xsts_error = XERR_NO_XBOX_PROFILE
    with pytest.raises(XboxAccountError):
        await provider.refresh()
    await device_code_login(CLIENT_ID, signed_in, api_base=fake.base_url, prompt=lambda _: None)
    fake.kill_refresh_tokens()
    with pytest.raises(SignInExpiredError):
        await provider.refresh()
    secrets = [t for kind, issued in fake.issued.items() if kind != "device_code" for t in issued]
    assert len(secrets) >= 10
    text = caplog.text + repr(tokens) + str(tokens)
    assert "Halo tokens refreshed" in caplog.text
    leaked = [t for t in secrets if t in text]
    assert leaked == []


# -- static tokens and wiring ---------------------------------------------------------


async def test_static_provider_cannot_refresh(caplog: pytest.LogCaptureFixture) -> None:
    provider = StaticTokenProvider(SecretStr("spartan-secret-value"), "clearance-value")
    tokens = await provider.get()
    assert (tokens.spartan, tokens.clearance) == ("spartan-secret-value", "clearance-value")
    assert "spartan-secret-value" not in repr(tokens)
    for _ in range(3):
        with pytest.raises(SignInExpiredError) as info:
            await provider.refresh(tokens)
        assert info.value.message == STATIC_EXPIRED
    assert len([r for r in caplog.records if r.levelno >= logging.ERROR]) == 1
    assert "spartan-secret-value" not in caplog.text
    await provider.close()


def test_halo_tokens_repr_hides_values() -> None:
    tokens = HaloTokens("s3cr3t-spartan", "s3cr3t-clearance", datetime(2030, 1, 1, tzinfo=UTC))
    for text in (repr(tokens), str(tokens), f"{tokens}"):
        assert "s3cr3t" not in text
        assert "2030" in text


def test_write_private_file_replaces_atomically(tmp_path: Path) -> None:
    target = tmp_path / "cache.json"
    target.write_text("old")
    target.chmod(0o666)
    write_private_file(target, "new")
    assert target.read_text() == "new"
    assert mode(target) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["cache.json"]


async def test_build_token_provider_picks_the_mode(
    session: aiohttp.ClientSession, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in list(os.environ):
        if name.startswith(("HALO_", "AZURE_", "DISCORD_")):
            monkeypatch.delenv(name)
    static = load_settings(None, halo_spartan_token="sp", halo_clearance_token="cl")
    provider = build_token_provider(static, session)
    assert isinstance(provider, StaticTokenProvider)
    assert (await provider.get()).spartan == "sp"

    msal_settings = load_settings(
        None, azure_client_id=CLIENT_ID, halo_token_cache=tmp_path / "c.json"
    )
    provider = build_token_provider(msal_settings, session)
    assert isinstance(provider, MsalTokenProvider)
    await provider.close()

    with pytest.raises(ConfigError):
        build_token_provider(load_settings(None), session)
