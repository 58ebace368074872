"""The one place where requests to Halo are sent.

Adds the two Halo headers (only for Halo hosts), rewrites URLs for
``HALO_API_BASE_URL``, spaces requests through the global limiter, honours
``Retry-After``, refreshes the Spartan token once on a 401, retries 5xx and
timeouts with jittered backoff inside a total deadline, and turns every
failure into an error from :mod:`bot.common.errors`.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp

from bot.common.errors import (
    HaloUnavailableError,
    RateLimitedError,
    SignInExpiredError,
    UpstreamRedirectError,
)
from bot.common.metrics import HALO_REQUESTS
from bot.halo.auth import HaloTokens, TokenProvider
from bot.halo.ratelimit import PausedPastDeadline, Priority, UpstreamLimiter, parse_retry_after
from bot.halo.urls import host_of, is_halo_host, rewrite_url

log = logging.getLogger(__name__)

SPARTAN_HEADER = "x-343-authorization-spartan"
CLEARANCE_HEADER = "343-clearance"
UNAVAILABLE = "Halo's servers aren't answering right now. Please try again in a few minutes."
UNREADABLE = "Halo returned data we could not read. Please try again later."
REDIRECTED = (
    "Halo's servers answered with a redirect to another address, which the bot never "
    "follows because it would carry the bot's sign-in along. Please try again later."
)


@dataclass(frozen=True)
class UpstreamStatusError(Exception):
    """A 4xx answer other than 401/429; the client decides what it means for its endpoint."""

    status: int
    url: str
    body: bytes = b""

    def __str__(self) -> str:
        return f"HTTP {self.status} from {host_of(self.url)}"


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try before giving up, sized for a Discord interaction."""

    deadline: float = 10.0
    attempt_timeout: float = 4.0
    max_retries: int = 2
    backoff_base: float = 0.25
    max_retry_after: float = 8.0


class HaloHttp:
    """Sends Halo requests with auth, limits, retries and error mapping."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        tokens: TokenProvider,
        limiter: UpstreamLimiter,
        *,
        api_base: str | None = None,
        policy: RetryPolicy | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._session = session
        self._tokens = tokens
        self._limiter = limiter
        self._api_base = api_base
        self.policy = policy or RetryPolicy()
        self._sleep = sleep
        self._clock = clock
        self.requests_sent: Counter[str] = Counter()
        #: Wall-clock time (``time.time()``) of the last 2xx answer, for /about.
        self.last_success: float | None = None

    @property
    def limiter(self) -> UpstreamLimiter:
        return self._limiter

    async def request(
        self,
        method: str,
        url: str,
        *,
        json_body: Any = None,
        priority: Priority = Priority.INTERACTIVE,
    ) -> bytes:
        """Send one logical request (with retries) and return the 2xx body. ``priority``:
        the rank cycle's requests wait while interactive lookups are queued."""
        policy = self.policy
        host = host_of(url)
        halo = is_halo_host(url)
        target = rewrite_url(url, self._api_base)
        deadline = self._clock() + policy.deadline
        refreshed = False
        retries = 0
        tokens: HaloTokens | None = None
        while True:
            remaining = deadline - self._clock()
            paused = self._limiter.paused_for(host)
            if paused > 0 and paused > remaining:
                raise _rate_limited(paused)
            try:
                await self._limiter.acquire(host, max_wait=remaining, priority=priority)
            except PausedPastDeadline as exc:
                raise _rate_limited(exc.seconds) from None
            remaining = deadline - self._clock()
            if remaining <= 0:
                raise HaloUnavailableError(UNAVAILABLE)
            headers = {"Accept": "application/json"}
            if halo:
                tokens = await self._tokens.get()
                headers[SPARTAN_HEADER] = tokens.spartan
                headers[CLEARANCE_HEADER] = tokens.clearance
            timeout = aiohttp.ClientTimeout(total=min(policy.attempt_timeout, remaining))
            self.requests_sent[host] += 1
            try:
                # Never follow a redirect: aiohttp would re-send the Spartan token and the
                # clearance to wherever the Location points.
                async with self._session.request(
                    method,
                    target,
                    headers=headers,
                    json=json_body,
                    timeout=timeout,
                    allow_redirects=False,
                ) as resp:
                    status = resp.status
                    retry_after_header = resp.headers.get("Retry-After")
                    location = resp.headers.get("Location")
                    body = await resp.read()
            except (TimeoutError, aiohttp.ClientError) as exc:
                log.warning("Halo request to %s failed: %s", host, exc.__class__.__name__)
                status, body, retry_after_header, location = 0, b"", None, None
            HALO_REQUESTS.labels(host, str(status)).inc()
            if 200 <= status < 300:
                self.last_success = time.time()
                return body
            if 300 <= status < 400:
                log.warning(
                    "Halo request to %s answered HTTP %s, a redirect to %s: not followed",
                    host,
                    status,
                    host_of(location or "") or "an unknown host",
                )
                raise UpstreamRedirectError(REDIRECTED)
            if status == 401 and halo:
                if refreshed:
                    log.error("Halo still answers 401 after a token refresh (%s)", host)
                    raise SignInExpiredError(
                        "The bot's Halo sign-in was refused: an admin must run `halo-bot login`."
                    )
                refreshed = True
                await self._tokens.refresh(tokens)
                continue
            if status == 429:
                wait = parse_retry_after(retry_after_header)
                wait = 1.0 if wait is None else wait
                self._limiter.pause(host, wait)
                log.warning("Halo rate limit on %s: pausing %.1fs", host, wait)
                if retries < policy.max_retries and wait <= min(
                    policy.max_retry_after, deadline - self._clock()
                ):
                    retries += 1
                    continue
                raise _rate_limited(wait)
            if 400 <= status < 500:
                raise UpstreamStatusError(status, url, body[:2048])
            # 5xx, 0 (connection error / timeout) or anything unexpected: retry.
            if retries < policy.max_retries:
                delay = policy.backoff_base * (2**retries) * random.uniform(0.5, 1.5)
                if self._clock() + delay < deadline - 0.5:
                    retries += 1
                    log.info("Retrying %s after status %s in %.2fs", host, status, delay)
                    await self._sleep(delay)
                    continue
            raise HaloUnavailableError(UNAVAILABLE)


def _rate_limited(wait: float) -> RateLimitedError:
    seconds = max(1, math.ceil(wait))
    unit = "second" if seconds == 1 else "seconds"
    return RateLimitedError(
        f"Halo is limiting how fast the bot can ask for stats: try again in {seconds} {unit}.",
        retry_after=float(seconds),
    )
