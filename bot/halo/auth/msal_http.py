"""The HTTP client MSAL uses for Microsoft sign-in: a ``requests`` session that applies
``HALO_API_BASE_URL`` and never follows a redirect.

MSAL's requests carry a refresh token or a device code in their POST body, and
``requests`` re-sends that body on a 307/308. A 3xx answer therefore becomes an
:class:`~bot.common.errors.UpstreamRedirectError`, which MSAL lets through to the caller.
MSAL is synchronous: everything here runs in a worker thread, never on the event loop.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import msal
import requests

from bot.common.errors import UpstreamRedirectError
from bot.halo.urls import MICROSOFT_LOGIN_HOST, host_of, rewrite_url

log = logging.getLogger(__name__)

AUTHORITY = f"https://{MICROSOFT_LOGIN_HOST}/consumers"
SCOPES = ["XboxLive.signin", "XboxLive.offline_access"]
SIGN_IN_REDIRECTED = (
    "Halo's sign-in servers answered with a redirect to another address, which the bot "
    "never follows because it would carry the bot's sign-in along. Please try again later."
)


def refuse_redirect(step: str, status: int, location: str | None) -> UpstreamRedirectError:
    """Log a redirect answer (host only: a Location may hold anything) and make its error."""
    where = host_of(location or "") or "an unknown host"
    log.warning("%s answered HTTP %s, a redirect to %s: not followed", step, status, where)
    return UpstreamRedirectError(SIGN_IN_REDIRECTED)


class NoRedirectHttpClient:
    """The ``http_client`` given to MSAL."""

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
        kwargs["allow_redirects"] = False
        response = self._session.post(
            rewrite_url(url, self._api_base), params=params, data=data, headers=headers, **kwargs
        )
        return self._checked(response)

    def get(
        self,
        url: str,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> requests.Response:
        kwargs.setdefault("timeout", self._timeout)
        kwargs["allow_redirects"] = False
        response = self._session.get(
            rewrite_url(url, self._api_base), params=params, headers=headers, **kwargs
        )
        return self._checked(response)

    @staticmethod
    def _checked(response: requests.Response) -> requests.Response:
        if 300 <= response.status_code < 400:
            location = response.headers.get("Location")
            response.close()
            raise refuse_redirect("Microsoft sign-in", response.status_code, location)
        return response

    def close(self) -> None:
        self._session.close()


def build_msal_app(
    client_id: str, cache: msal.SerializableTokenCache, http_client: NoRedirectHttpClient
) -> msal.PublicClientApplication:
    """A public client for personal accounts. Blocking: it fetches the OpenID configuration."""
    return msal.PublicClientApplication(
        client_id,
        authority=AUTHORITY,
        token_cache=cache,
        http_client=http_client,
        instance_discovery=False,
    )
