"""The sign-in chain: Microsoft access token (MSAL, from the token cache) -> Xbox user
token -> XSTS token (Halo relying party) -> Spartan token -> clearance (flight id).

One :class:`XboxSignIn` runs the whole chain on demand; :class:`~bot.halo.auth.tokens.
MsalTokenProvider` decides when. No redirect is ever followed (every request of the
chain carries a credential), token values are never logged and never put into
exception messages, and MSAL (synchronous) only ever runs in a worker thread.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import aiohttp
import msal

from bot.common.errors import (
    HaloDataError,
    HaloUnavailableError,
    SignInExpiredError,
    UserFacingError,
    XboxAccountError,
)
from bot.halo.auth.msal_cache import FileSignature, TokenCacheFile, locked
from bot.halo.auth.msal_http import SCOPES, NoRedirectHttpClient, build_msal_app, refuse_redirect
from bot.halo.urls import SETTINGS_HOST, XBOX_USER_HOST, XSTS_HOST, rewrite_url

log = logging.getLogger(__name__)

XBOX_USER_URL = f"https://{XBOX_USER_HOST}/user/authenticate"
XSTS_URL = f"https://{XSTS_HOST}/xsts/authorize"
SPARTAN_URL = f"https://{SETTINGS_HOST}/spartan-token"
CLEARANCE_URL = (
    f"https://{SETTINGS_HOST}/oban/flight-configurations/titles/hi/audiences/RETAIL/active"
    "?sandbox=UNDETERMINED&build=210921.22.01.10.1706-0"
)
XBOX_RELYING_PARTY = "http://auth.xboxlive.com"
HALO_RELYING_PARTY = "https://prod.xsts.halowaypoint.com/"
SPARTAN_AUDIENCE = "urn:343:s3:services"
SPARTAN_HEADER = "x-343-authorization-spartan"
# Used when the Spartan answer has no readable lifetime: shorter than the real ~4 h.
FALLBACK_SPARTAN_LIFETIME = timedelta(hours=1)

XERR_NO_XBOX_PROFILE = 2148916233
XERR_CHILD_ACCOUNT = 2148916238

SIGN_IN_EXPIRED = "The bot's Halo sign-in has expired: an admin must run `halo-bot login`."
NO_XBOX_PROFILE = (
    "The bot's Microsoft account has no Xbox profile: sign in once at xbox.com to create one, "
    "then run `halo-bot login` again."
)
CHILD_ACCOUNT = (
    "The bot's Microsoft account is a child account, which Xbox Live will not sign in "
    "without a parent's consent: use an adult account, then run `halo-bot login` again."
)
XBOX_REFUSED = (
    "Xbox Live refused the bot's Microsoft account (error {code}): check the account at "
    "xbox.com, then run `halo-bot login` again."
)
AUTH_UNAVAILABLE = (
    "Halo's sign-in servers aren't answering right now. Please try again in a few minutes."
)
AUTH_UNREADABLE = "Halo's sign-in servers returned data we could not read. Please try again later."


@dataclass(frozen=True)
class SignedIn:
    """What one chain produced. ``lifetime`` is how long Halo said the Spartan token lives,
    counted from ``requested_at`` (``time.monotonic()`` when it was asked for)."""

    spartan: str
    clearance: str
    lifetime: timedelta
    requested_at: float

    def __repr__(self) -> str:
        return f"SignedIn(spartan=<hidden>, clearance=<hidden>, lifetime={self.lifetime})"

    __str__ = __repr__


class _Failed(Exception):
    """Internal: carries a user-facing error out of the MSAL worker thread."""

    def __init__(self, error: UserFacingError) -> None:
        super().__init__(error.message)
        self.error = error


class _AccessTokenRejected(Exception):
    """Internal: Xbox user authentication refused the Microsoft access token."""


class XboxSignIn:
    """Runs the chain for the account in the token cache at ``cache_path``.

    ``session`` is shared and not closed here. ``api_base`` is ``HALO_API_BASE_URL``:
    when set, every request of the chain, MSAL's included, goes there instead.
    """

    def __init__(
        self,
        client_id: str,
        cache_path: Path,
        session: aiohttp.ClientSession,
        *,
        api_base: str | None = None,
        request_timeout: float = 10.0,
        retries: int = 1,
        retry_delay: float = 0.5,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client_id = client_id
        self._cache_path = Path(cache_path)
        self._session = session
        self._api_base = api_base
        self._timeout = request_timeout
        self._retries = retries
        self._retry_delay = retry_delay
        self._monotonic = monotonic
        # MSAL state; touched only from the worker thread of the single running chain.
        self._msal_lock = threading.Lock()
        self._http_client: NoRedirectHttpClient | None = None
        self._cache_file = TokenCacheFile(self._cache_path)
        self._app: msal.PublicClientApplication | None = None
        # Set when the sign-in is dead; cleared when the cache file changes (a new login).
        self._dead: UserFacingError | None = None
        self._dead_signature: FileSignature | None = None

    def close(self) -> None:
        client = self._http_client
        self._http_client = None
        self._app = None
        if client is not None:
            client.close()

    async def run(self) -> SignedIn:
        access_token = await self._msal_token(force_refresh=False)
        try:
            user_token = await self._xbox_user_token(access_token)
        except _AccessTokenRejected:
            log.info("Xbox refused the cached Microsoft access token; asking MSAL for a new one")
            access_token = await self._msal_token(force_refresh=True)
            try:
                user_token = await self._xbox_user_token(access_token)
            except _AccessTokenRejected:
                raise self._mark_dead(
                    SignInExpiredError(SIGN_IN_EXPIRED),
                    "Xbox Live refused a freshly refreshed Microsoft access token",
                ) from None
        xsts_token = await self._xsts_token(user_token)
        requested_at = self._monotonic()
        spartan, lifetime = await self._spartan_token(xsts_token)
        clearance = await self._clearance(spartan)
        return SignedIn(spartan, clearance, lifetime, requested_at)

    def _mark_dead(self, error: UserFacingError, reason: str) -> UserFacingError:
        """Remember that the sign-in is unusable and log it once, at ERROR."""
        if self._dead is None:
            log.error("Halo sign-in is unusable: %s. %s", reason, error.message)
        self._dead = error
        self._dead_signature = self._cache_file.signature()
        return error

    # -- step 1: MSAL, in a worker thread ----------------------------------------------

    async def _msal_token(self, *, force_refresh: bool) -> str:
        try:
            return await asyncio.to_thread(self._msal_token_sync, force_refresh)
        except _Failed as dead:
            raise dead.error from None
        except UserFacingError:
            raise
        except Exception as exc:
            # requests' connection errors and timeouts, MSAL's own errors on 5xx, ...
            log.warning("Microsoft sign-in request failed: %s", exc.__class__.__name__)
            raise HaloUnavailableError(AUTH_UNAVAILABLE) from None

    def _msal_token_sync(self, force_refresh: bool) -> str:
        # The file lock is held from reading the cache to saving the rotated refresh token:
        # a `halo-bot login` finishing meanwhile waits, then its new cache wins.
        with self._msal_lock, locked(self._cache_path):
            cache_file = self._cache_file
            cache_file.reload_if_changed()
            if self._dead is not None and cache_file.signature() != self._dead_signature:
                log.info("The Halo token cache changed on disk; trying the new sign-in")
                self._dead = None
            if self._dead is not None:
                raise _Failed(self._dead)
            if self._app is None:
                if self._http_client is None:
                    self._http_client = NoRedirectHttpClient(self._api_base, self._timeout)
                self._app = build_msal_app(self._client_id, cache_file.cache, self._http_client)
            app = self._app
            accounts = app.get_accounts()
            if not accounts:
                raise _Failed(
                    self._mark_dead(
                        SignInExpiredError(SIGN_IN_EXPIRED),
                        f"no signed-in Microsoft account in {self._cache_path}",
                    )
                )
            try:
                result = app.acquire_token_silent_with_error(
                    SCOPES, account=accounts[0], force_refresh=force_refresh
                )
            finally:
                cache_file.save_if_changed()
            if result and "access_token" in result:
                return str(result["access_token"])
            if result is None:
                reason = "the token cache holds no refresh token"
            else:
                error = str(result.get("error", "unknown"))
                if error in ("temporarily_unavailable", "server_error"):
                    log.warning("Microsoft sign-in is temporarily unavailable (%s)", error)
                    raise _Failed(HaloUnavailableError(AUTH_UNAVAILABLE))
                reason = f"Microsoft refused the refresh token ({error})"
            raise _Failed(self._mark_dead(SignInExpiredError(SIGN_IN_EXPIRED), reason))

    # -- steps 2 to 5: Xbox and Halo over aiohttp ------------------------------------

    async def _send(
        self,
        step: str,
        method: str,
        url: str,
        *,
        json_body: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> tuple[int, bytes, str | None]:
        """One request with a retry on 5xx/timeouts. Returns (status, body, Date header) for
        any non-5xx answer; a redirect is never followed and raises UpstreamRedirectError."""
        target = rewrite_url(url, self._api_base)
        timeout = aiohttp.ClientTimeout(total=self._timeout)
        all_headers = {"Accept": "application/json", **(headers or {})}
        attempt = 0
        while True:
            date: str | None = None
            try:
                async with self._session.request(
                    method,
                    target,
                    json=json_body,
                    headers=all_headers,
                    timeout=timeout,
                    allow_redirects=False,
                ) as resp:
                    status = resp.status
                    if 300 <= status < 400:
                        raise refuse_redirect(step, status, resp.headers.get("Location"))
                    date = resp.headers.get("Date")
                    body = await resp.read()
            except (TimeoutError, aiohttp.ClientError) as exc:
                log.warning("%s request failed: %s", step, exc.__class__.__name__)
                status, body = 0, b""
            if status and status < 500:
                return status, body, date
            if status:
                log.warning("%s answered HTTP %s", step, status)
            if attempt >= self._retries:
                raise HaloUnavailableError(AUTH_UNAVAILABLE)
            attempt += 1
            await asyncio.sleep(self._retry_delay * attempt)

    @staticmethod
    def _decode(step: str, body: bytes) -> dict[str, Any]:
        try:
            data = json.loads(body)
        except (UnicodeDecodeError, ValueError):
            data = None
        if not isinstance(data, dict):
            log.warning("%s returned an unreadable answer", step)
            raise HaloDataError(AUTH_UNREADABLE)
        return data

    @classmethod
    def _string(cls, step: str, data: Mapping[str, Any], key: str) -> str:
        value = data.get(key)
        if not isinstance(value, str) or not value:
            log.warning("%s answer has no %s", step, key)
            raise HaloDataError(AUTH_UNREADABLE)
        return value

    async def _xbox_user_token(self, access_token: str) -> str:
        step = "Xbox user authentication"
        status, body, _ = await self._send(
            step,
            "POST",
            XBOX_USER_URL,
            json_body={
                "RelyingParty": XBOX_RELYING_PARTY,
                "TokenType": "JWT",
                "Properties": {
                    "AuthMethod": "RPS",
                    "SiteName": XBOX_USER_HOST,
                    "RpsTicket": f"d={access_token}",
                },
            },
            headers={"x-xbl-contract-version": "1"},
        )
        if status in (400, 401, 403):
            raise _AccessTokenRejected
        if status >= 300:
            log.warning("%s answered HTTP %s", step, status)
            raise HaloUnavailableError(AUTH_UNAVAILABLE)
        return self._string(step, self._decode(step, body), "Token")

    async def _xsts_token(self, user_token: str) -> str:
        step = "Xbox XSTS authorization"
        status, body, _ = await self._send(
            step,
            "POST",
            XSTS_URL,
            json_body={
                "RelyingParty": HALO_RELYING_PARTY,
                "TokenType": "JWT",
                "Properties": {"SandboxId": "RETAIL", "UserTokens": [user_token]},
            },
            headers={"x-xbl-contract-version": "1"},
        )
        if status in (401, 403):
            code = _xerr(body)
            if code == XERR_NO_XBOX_PROFILE:
                error = XboxAccountError(NO_XBOX_PROFILE)
            elif code == XERR_CHILD_ACCOUNT:
                error = XboxAccountError(CHILD_ACCOUNT)
            else:
                error = XboxAccountError(XBOX_REFUSED.format(code=code or status))
            raise self._mark_dead(error, f"XSTS refused the account (XErr {code})")
        if status >= 300:
            log.warning("%s answered HTTP %s", step, status)
            raise HaloUnavailableError(AUTH_UNAVAILABLE)
        return self._string(step, self._decode(step, body), "Token")

    async def _spartan_token(self, xsts_token: str) -> tuple[str, timedelta]:
        step = "Halo Spartan token"
        status, body, date = await self._send(
            step,
            "POST",
            SPARTAN_URL,
            json_body={
                "Audience": SPARTAN_AUDIENCE,
                "MinVersion": "4",
                "Proof": [{"Token": xsts_token, "TokenType": "Xbox_XSTSv3"}],
            },
        )
        if status >= 300:
            log.warning("%s answered HTTP %s", step, status)
            raise HaloUnavailableError(AUTH_UNAVAILABLE)
        data = self._decode(step, body)
        spartan = self._string(step, data, "SpartanToken")
        lifetime = spartan_lifetime(data, date)
        if lifetime is None:
            log.warning("%s answer has no readable lifetime; assuming a short one", step)
            lifetime = FALLBACK_SPARTAN_LIFETIME
        return spartan, lifetime

    async def _clearance(self, spartan: str) -> str:
        step = "Halo clearance"
        status, body, _ = await self._send(
            step, "GET", CLEARANCE_URL, headers={SPARTAN_HEADER: spartan}
        )
        if status >= 300:
            log.warning("%s answered HTTP %s", step, status)
            raise HaloUnavailableError(AUTH_UNAVAILABLE)
        return self._string(step, self._decode(step, body), "FlightConfigurationId")


def _xerr(body: bytes) -> int | None:
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        return None
    if isinstance(data, dict):
        value = data.get("XErr")
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and value.isdigit():
            return int(value)
    return None


# -- how long a Spartan token lives, whatever the local clock says ------------------------

_DURATION = re.compile(
    r"^P(?:(?P<days>\d+(?:\.\d+)?)D)?"
    r"(?:T(?:(?P<hours>\d+(?:\.\d+)?)H)?(?:(?P<minutes>\d+(?:\.\d+)?)M)?"
    r"(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?$"
)


def parse_duration(value: Any) -> timedelta | None:
    """An ISO 8601 duration such as Halo's ``TokenDuration`` (``PT3H59M49.49S``)."""
    if not isinstance(value, str):
        return None
    match = _DURATION.match(value.strip().upper())
    if match is None or not any(match.groupdict().values()):
        return None
    parts = {k: float(v) for k, v in match.groupdict().items() if v}
    return timedelta(**parts)


def parse_expiry(value: Any) -> datetime | None:
    """Halo's ``ExpiresUtc`` (``{"ISO8601Date": ...}`` or the bare string)."""
    if isinstance(value, dict):
        value = value.get("ISO8601Date")
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _server_time(date_header: str | None) -> datetime | None:
    if not date_header:
        return None
    try:
        parsed = parsedate_to_datetime(date_header)
    except (TypeError, ValueError, IndexError):
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def spartan_lifetime(answer: Mapping[str, Any], date_header: str | None) -> timedelta | None:
    """How long the token lives from when it was issued, from Halo's own numbers only:
    ``TokenDuration``, else ``ExpiresUtc`` minus the server's ``Date``. The local wall
    clock is never used, so a skewed one changes nothing."""
    duration = parse_duration(answer.get("TokenDuration"))
    if duration is not None and duration > timedelta(0):
        return duration
    expires = parse_expiry(answer.get("ExpiresUtc"))
    issued = _server_time(date_header)
    if expires is not None and issued is not None and expires > issued:
        return expires - issued
    return None
