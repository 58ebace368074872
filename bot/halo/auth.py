"""Halo sign-in: where the Spartan and clearance tokens come from.

Two providers share the :class:`TokenProvider` protocol:

* :class:`StaticTokenProvider` hands out the tokens an admin pasted into
  ``HALO_SPARTAN_TOKEN`` / ``HALO_CLEARANCE_TOKEN``; it cannot refresh them.
* :class:`MsalTokenProvider` keeps a Microsoft refresh token in an MSAL token
  cache (written by ``halo-bot login``) and runs the whole chain when the
  Spartan token nears expiry: MSAL -> Xbox user token -> XSTS (Halo relying
  party) -> Spartan token -> clearance (flight id).

Only one refresh runs at a time and every caller waiting for it shares its
result, so a burst of commands on an expired token costs one chain. Token
values are never logged and never put into exception messages.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import aiohttp
import msal
import requests
from pydantic import SecretStr

from bot.common.errors import (
    HaloDataError,
    HaloUnavailableError,
    SignInExpiredError,
    UserFacingError,
    XboxAccountError,
)
from bot.halo.urls import (
    MICROSOFT_LOGIN_HOST,
    SETTINGS_HOST,
    XBOX_USER_HOST,
    XSTS_HOST,
    rewrite_url,
)

if TYPE_CHECKING:
    from bot.core.config import Settings

log = logging.getLogger(__name__)

AUTHORITY = f"https://{MICROSOFT_LOGIN_HOST}/consumers"
SCOPES = ["XboxLive.signin", "XboxLive.offline_access"]
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
# Used when the Spartan answer has no readable expiry: shorter than the real ~4 h.
FALLBACK_SPARTAN_LIFETIME = timedelta(hours=1)
# A static token's expiry is unknown; it is treated as valid until Halo says otherwise.
STATIC_EXPIRY = datetime(9999, 1, 1, tzinfo=UTC)

XERR_NO_XBOX_PROFILE = 2148916233
XERR_CHILD_ACCOUNT = 2148916238

SIGN_IN_EXPIRED = "The bot's Halo sign-in has expired: an admin must run `halo-bot login`."
STATIC_SIGN_IN_EXPIRED = (
    "The bot's Halo sign-in has expired: an admin must update HALO_SPARTAN_TOKEN and "
    "HALO_CLEARANCE_TOKEN or run `halo-bot login`."
)
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
class HaloTokens:
    """The two header values every Halo request needs, and when the Spartan token expires."""

    spartan: str
    clearance: str
    expires_at: datetime

    def __repr__(self) -> str:
        return f"HaloTokens(spartan=<hidden>, clearance=<hidden>, expires_at={self.expires_at!s})"

    __str__ = __repr__


class TokenProvider(Protocol):
    """Where :class:`~bot.halo.http.HaloHttp` gets its tokens."""

    async def get(self) -> HaloTokens:
        """Current tokens, refreshed first if they are about to expire."""
        ...

    async def refresh(self, stale: HaloTokens | None = None) -> HaloTokens:
        """Force new tokens; if ``stale`` was already replaced, return the replacement."""
        ...

    async def close(self) -> None: ...


def _secret(value: SecretStr | str) -> str:
    return value.get_secret_value() if isinstance(value, SecretStr) else value


class StaticTokenProvider:
    """Tokens from the configuration. They cannot be refreshed: a 401 means an admin must act."""

    def __init__(self, spartan: SecretStr | str, clearance: SecretStr | str) -> None:
        self._tokens = HaloTokens(_secret(spartan), _secret(clearance), STATIC_EXPIRY)
        self._expired_logged = False

    async def get(self) -> HaloTokens:
        return self._tokens

    async def refresh(self, stale: HaloTokens | None = None) -> HaloTokens:
        if not self._expired_logged:
            self._expired_logged = True
            log.error(
                "Halo refused HALO_SPARTAN_TOKEN: it has expired. Update HALO_SPARTAN_TOKEN "
                "and HALO_CLEARANCE_TOKEN, or set AZURE_CLIENT_ID and run `halo-bot login`."
            )
        raise SignInExpiredError(STATIC_SIGN_IN_EXPIRED)

    async def close(self) -> None:
        return None


# -- token cache file -----------------------------------------------------------


def write_private_file(path: Path, text: str) -> None:
    """Atomically replace ``path`` with ``text``, readable by the owner only (0600).

    The data goes to a temporary file created with mode 0600 in the same folder,
    is flushed to disk, then renamed over ``path``: a crash leaves either the old
    or the new file, never half of one, and never a world-readable copy.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            os.fchmod(handle.fileno(), 0o600)
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def _file_signature(path: Path) -> tuple[int, int, int] | None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


class _RewritingHttpClient:
    """The HTTP client MSAL uses: a requests session that applies ``HALO_API_BASE_URL``."""

    def __init__(self, api_base: str | None, timeout: float) -> None:
        self._api_base = api_base
        self._timeout = timeout
        self._session: requests.Session = requests.Session()

    def post(
        self,
        url: str,
        params: Mapping[str, Any] | None = None,
        data: Any = None,
        headers: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> requests.Response:
        kwargs.setdefault("timeout", self._timeout)
        return self._session.post(
            rewrite_url(url, self._api_base), params=params, data=data, headers=headers, **kwargs
        )

    def get(
        self,
        url: str,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> requests.Response:
        kwargs.setdefault("timeout", self._timeout)
        return self._session.get(
            rewrite_url(url, self._api_base), params=params, headers=headers, **kwargs
        )

    def close(self) -> None:
        self._session.close()


def _build_msal_app(
    client_id: str, cache: msal.SerializableTokenCache, http_client: _RewritingHttpClient
) -> msal.PublicClientApplication:
    """A public client for personal accounts. Blocking: it fetches the OpenID configuration."""
    return msal.PublicClientApplication(
        client_id,
        authority=AUTHORITY,
        token_cache=cache,
        http_client=http_client,
        instance_discovery=False,
    )


def _utcnow() -> datetime:
    return datetime.now(UTC)


class _Failed(Exception):
    """Internal: carries a user-facing error out of the MSAL worker thread."""

    def __init__(self, error: UserFacingError) -> None:
        super().__init__(error.message)
        self.error = error


class MsalTokenProvider:
    """Tokens from a Microsoft account signed in with ``halo-bot login``.

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
        refresh_margin: timedelta = timedelta(minutes=5),
        clock: Callable[[], datetime] = _utcnow,
        request_timeout: float = 10.0,
        retries: int = 1,
        retry_delay: float = 0.5,
    ) -> None:
        self._client_id = client_id
        self._cache_path = Path(cache_path)
        self._session = session
        self._api_base = api_base
        self._margin = refresh_margin
        self._clock = clock
        self._timeout = request_timeout
        self._retries = retries
        self._retry_delay = retry_delay
        self._tokens: HaloTokens | None = None
        self._lock = asyncio.Lock()
        self._inflight: asyncio.Task[HaloTokens] | None = None
        self._closed = False
        # MSAL state; touched only from the worker thread of the single running refresh.
        self._msal_lock = threading.Lock()
        self._http_client: _RewritingHttpClient | None = None
        self._cache: msal.SerializableTokenCache | None = None
        self._app: msal.PublicClientApplication | None = None
        self._cache_signature: tuple[int, int, int] | None = None
        # Set when the sign-in is dead; cleared when the cache file changes (a new login).
        self._dead: UserFacingError | None = None
        self._dead_signature: tuple[int, int, int] | None = None
        self.chains_run = 0

    # -- public API -------------------------------------------------------------

    async def get(self) -> HaloTokens:
        tokens = self._tokens
        if tokens is not None and self._is_fresh(tokens):
            return tokens
        return await self._shared_refresh(stale=None, force=False)

    async def refresh(self, stale: HaloTokens | None = None) -> HaloTokens:
        return await self._shared_refresh(stale=stale, force=True)

    async def close(self) -> None:
        self._closed = True
        task = self._inflight
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        client = self._http_client
        self._http_client = None
        self._app = None
        if client is not None:
            client.close()

    # -- refresh coordination ---------------------------------------------------

    def _is_fresh(self, tokens: HaloTokens) -> bool:
        return tokens.expires_at - self._clock() > self._margin

    async def _shared_refresh(self, *, stale: HaloTokens | None, force: bool) -> HaloTokens:
        async with self._lock:
            current = self._tokens
            if current is not None:
                if not force and self._is_fresh(current):
                    return current
                if force and stale is not None and current.spartan != stale.spartan:
                    # Someone refreshed since the caller got its tokens: use theirs.
                    return current
            task = self._inflight
            if task is None:
                if self._closed:
                    raise HaloUnavailableError(AUTH_UNAVAILABLE)
                task = asyncio.create_task(self._run_chain(), name="halo-token-refresh")
                self._inflight = task
        # Every waiter shares the one chain; one waiter's cancellation does not stop it.
        return await asyncio.shield(task)

    async def _run_chain(self) -> HaloTokens:
        try:
            tokens = await self._chain()
            self._tokens = tokens
            return tokens
        finally:
            self._inflight = None

    async def _chain(self) -> HaloTokens:
        self.chains_run += 1
        started = time.monotonic()
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
        spartan, expires_at = await self._spartan_token(xsts_token)
        clearance = await self._clearance(spartan)
        log.info(
            "Halo tokens refreshed in %.1fs; the Spartan token is valid until %s",
            time.monotonic() - started,
            expires_at.isoformat(timespec="seconds"),
        )
        return HaloTokens(spartan, clearance, expires_at)

    def _mark_dead(self, error: UserFacingError, reason: str) -> UserFacingError:
        """Remember that the sign-in is unusable and log it once, at ERROR."""
        if self._dead is None:
            log.error("Halo sign-in is unusable: %s. %s", reason, error.message)
        self._dead = error
        self._dead_signature = _file_signature(self._cache_path)
        return error

    # -- step 1: MSAL -----------------------------------------------------------

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
        with self._msal_lock:
            self._reload_cache_if_changed()
            if self._dead is not None:
                raise _Failed(self._dead)
            cache = self._cache
            assert cache is not None
            if self._app is None:
                if self._http_client is None:
                    self._http_client = _RewritingHttpClient(self._api_base, self._timeout)
                self._app = _build_msal_app(self._client_id, cache, self._http_client)
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
                self._save_cache_if_changed()
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

    def _reload_cache_if_changed(self) -> None:
        signature = _file_signature(self._cache_path)
        if self._cache is not None and signature == self._cache_signature:
            return
        if self._dead is not None and signature != self._dead_signature:
            log.info("The Halo token cache changed on disk; trying the new sign-in")
            self._dead = None
        if self._cache is None:
            self._cache = msal.SerializableTokenCache()
        self._cache_signature = signature
        if signature is None:
            self._cache.deserialize(None)
            return
        try:
            self._cache.deserialize(self._cache_path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            self._cache.deserialize(None)
            log.error(
                "Cannot read the Halo token cache %s (%s)", self._cache_path, exc.__class__.__name__
            )

    def _save_cache_if_changed(self) -> None:
        cache = self._cache
        if cache is None or not cache.has_state_changed:
            return
        try:
            write_private_file(self._cache_path, cache.serialize())
        except OSError as exc:
            log.error(
                "Cannot save the Halo token cache to %s: %s",
                self._cache_path,
                exc.__class__.__name__,
            )
            return
        self._cache_signature = _file_signature(self._cache_path)

    # -- steps 2 to 5: Xbox and Halo over aiohttp -------------------------------

    async def _send(
        self,
        step: str,
        method: str,
        url: str,
        *,
        json_body: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> tuple[int, bytes]:
        """One request with a retry on 5xx/timeouts. Returns (status, body) for any non-5xx."""
        target = rewrite_url(url, self._api_base)
        timeout = aiohttp.ClientTimeout(total=self._timeout)
        all_headers = {"Accept": "application/json", **(headers or {})}
        attempt = 0
        while True:
            try:
                async with self._session.request(
                    method, target, json=json_body, headers=all_headers, timeout=timeout
                ) as resp:
                    status = resp.status
                    body = await resp.read()
            except (TimeoutError, aiohttp.ClientError) as exc:
                log.warning("%s request failed: %s", step, exc.__class__.__name__)
                status, body = 0, b""
            if status and status < 500:
                return status, body
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
        status, body = await self._send(
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
        status, body = await self._send(
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

    async def _spartan_token(self, xsts_token: str) -> tuple[str, datetime]:
        step = "Halo Spartan token"
        status, body = await self._send(
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
        expires_at = _parse_expiry(data.get("ExpiresUtc"))
        if expires_at is None:
            log.warning("%s answer has no readable ExpiresUtc; assuming a short lifetime", step)
            expires_at = self._clock() + FALLBACK_SPARTAN_LIFETIME
        return spartan, expires_at

    async def _clearance(self, spartan: str) -> str:
        step = "Halo clearance"
        status, body = await self._send(
            step, "GET", CLEARANCE_URL, headers={SPARTAN_HEADER: spartan}
        )
        if status >= 300:
            log.warning("%s answered HTTP %s", step, status)
            raise HaloUnavailableError(AUTH_UNAVAILABLE)
        return self._string(step, self._decode(step, body), "FlightConfigurationId")


class _AccessTokenRejected(Exception):
    """Internal: Xbox user authentication refused the Microsoft access token."""


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


def _parse_expiry(value: Any) -> datetime | None:
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


# -- halo-bot login ---------------------------------------------------------------


async def device_code_login(
    client_id: str,
    cache_path: Path,
    *,
    api_base: str | None,
    prompt: Callable[[str], None],
    request_timeout: float = 30.0,
) -> str:
    """Sign in with the device-code flow and save a fresh token cache (mode 0600).

    ``prompt`` receives Microsoft's instruction (a URL and a code to type there).
    Returns the signed-in account's name, never a token.
    """
    cache_path = Path(cache_path)
    cache = msal.SerializableTokenCache()  # a new login replaces any previous account
    http_client = _RewritingHttpClient(api_base, request_timeout)
    stop = threading.Event()
    try:
        try:
            app = await asyncio.to_thread(_build_msal_app, client_id, cache, http_client)
            flow = await asyncio.to_thread(app.initiate_device_flow, scopes=SCOPES)
        except Exception as exc:
            log.warning("Could not start the Microsoft sign-in: %s", exc.__class__.__name__)
            raise HaloUnavailableError(
                "Microsoft's sign-in service isn't answering: check the network and "
                "AZURE_CLIENT_ID, then run `halo-bot login` again."
            ) from None
        if "user_code" not in flow:
            error = str(flow.get("error", "unknown error"))
            log.error("Microsoft refused to start a device-code sign-in: %s", error)
            raise SignInExpiredError(
                f"Microsoft refused to start the sign-in ({error}): check that AZURE_CLIENT_ID "
                "is a public client for personal Microsoft accounts."
            )
        prompt(str(flow.get("message") or _default_prompt(flow)))

        def exit_condition(flow: dict[str, Any]) -> bool:
            return stop.is_set() or flow.get("expires_at", 0) < time.time()

        try:
            result = await asyncio.to_thread(
                app.acquire_token_by_device_flow, flow, exit_condition=exit_condition
            )
        except asyncio.CancelledError:
            stop.set()
            raise
        except Exception as exc:
            log.warning("Microsoft sign-in failed: %s", exc.__class__.__name__)
            raise HaloUnavailableError(
                "Microsoft's sign-in service stopped answering: run `halo-bot login` again."
            ) from None
        if "access_token" not in result:
            error = str(result.get("error", "unknown error"))
            log.error("Microsoft sign-in did not complete: %s", error)
            raise SignInExpiredError(_login_failure(error))
        await asyncio.to_thread(write_private_file, cache_path, cache.serialize())
        claims = result.get("id_token_claims") or {}
        who = claims.get("preferred_username") or claims.get("name") or claims.get("email")
        log.info("Signed in to Halo; token cache saved at %s", cache_path)
        return str(who) if who else "a Microsoft account"
    finally:
        stop.set()
        http_client.close()


def _default_prompt(flow: Mapping[str, Any]) -> str:
    return (
        f"To sign in, open {flow.get('verification_uri', 'https://www.microsoft.com/link')} "
        f"and enter the code {flow.get('user_code')}."
    )


def _login_failure(error: str) -> str:
    if error == "authorization_declined":
        return "The sign-in was declined. Run `halo-bot login` again to retry."
    if error in ("expired_token", "code_expired", "authorization_pending"):
        return "The sign-in code expired before it was used. Run `halo-bot login` again."
    return f"The sign-in failed ({error}). Run `halo-bot login` again."


# -- wiring -------------------------------------------------------------------------


def build_token_provider(settings: Settings, session: aiohttp.ClientSession) -> TokenProvider:
    """The provider for the configured sign-in mode (static tokens win over MSAL)."""
    settings.require_halo_auth()
    if settings.halo_auth_mode == "static":
        assert settings.halo_spartan_token is not None
        assert settings.halo_clearance_token is not None
        return StaticTokenProvider(settings.halo_spartan_token, settings.halo_clearance_token)
    return MsalTokenProvider(
        settings.require_azure(),
        settings.halo_token_cache,
        session,
        api_base=settings.halo_api_base_url,
    )
