"""Where the Spartan and clearance tokens come from, and how long they stay good.

Two providers share the :class:`TokenProvider` protocol:

* :class:`StaticTokenProvider` hands out the tokens an admin pasted into
  ``HALO_SPARTAN_TOKEN`` / ``HALO_CLEARANCE_TOKEN``; it cannot refresh them.
* :class:`MsalTokenProvider` runs the sign-in chain (:mod:`bot.halo.auth.xbox`) when the
  Spartan token nears the end of its life.

A token's life is counted on ``time.monotonic()`` from when it was asked for, for as
long as Halo said it lives: the wall clock is only used to show an expiry time, so a
clock hours off costs no extra sign-ins and keeps no dead token. Only one refresh runs
at a time and every caller waiting for it shares its result, so a burst of commands on
an expired token costs one chain. Token values are never logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import aiohttp
from pydantic import SecretStr

from bot.common.errors import HaloUnavailableError, SignInExpiredError
from bot.halo.auth.xbox import AUTH_UNAVAILABLE, XboxSignIn

if TYPE_CHECKING:
    from bot.core.config import Settings

log = logging.getLogger(__name__)

# A static token's expiry is unknown; it is treated as valid until Halo says otherwise.
STATIC_EXPIRY = datetime(9999, 1, 1, tzinfo=UTC)
STATIC_SIGN_IN_EXPIRED = (
    "The bot's Halo sign-in has expired: an admin must update HALO_SPARTAN_TOKEN and "
    "HALO_CLEARANCE_TOKEN or run `halo-bot login`."
)


@dataclass(frozen=True)
class HaloTokens:
    """The two header values every Halo request needs, and when the Spartan token expires.

    ``expires_at`` is for people (logs); ``good_until`` (a ``time.monotonic()`` value) is
    what decides freshness.
    """

    spartan: str
    clearance: str
    expires_at: datetime
    good_until: float = field(default=math.inf, compare=False)

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


def _utcnow() -> datetime:
    return datetime.now(UTC)


class MsalTokenProvider:
    """Tokens from a Microsoft account signed in with ``halo-bot login``.

    ``session`` is shared and not closed here. ``api_base`` is ``HALO_API_BASE_URL``:
    when set, every request of the chain, MSAL's included, goes there instead.
    ``clock`` (wall time) only labels expiries; ``monotonic`` measures token lives.
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
        monotonic: Callable[[], float] = time.monotonic,
        request_timeout: float = 10.0,
        retries: int = 1,
        retry_delay: float = 0.5,
    ) -> None:
        self._margin = refresh_margin.total_seconds()
        self._clock = clock
        self._monotonic = monotonic
        self._sign_in = XboxSignIn(
            client_id,
            cache_path,
            session,
            api_base=api_base,
            request_timeout=request_timeout,
            retries=retries,
            retry_delay=retry_delay,
            monotonic=monotonic,
        )
        self._tokens: HaloTokens | None = None
        self._lock = asyncio.Lock()
        self._inflight: asyncio.Task[HaloTokens] | None = None
        self._closed = False
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
        self._sign_in.close()

    # -- refresh coordination ---------------------------------------------------

    def _is_fresh(self, tokens: HaloTokens) -> bool:
        return tokens.good_until - self._monotonic() > self._margin

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
            self.chains_run += 1
            started = self._monotonic()
            signed_in = await self._sign_in.run()
            tokens = HaloTokens(
                signed_in.spartan,
                signed_in.clearance,
                expires_at=self._clock() + signed_in.lifetime,
                good_until=signed_in.requested_at + signed_in.lifetime.total_seconds(),
            )
            log.info(
                "Halo tokens refreshed in %.1fs; the Spartan token is valid for %.0f min "
                "(until about %s)",
                self._monotonic() - started,
                signed_in.lifetime.total_seconds() / 60,
                tokens.expires_at.isoformat(timespec="seconds"),
            )
            self._tokens = tokens
            return tokens
        finally:
            self._inflight = None


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
