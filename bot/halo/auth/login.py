"""``halo-bot login``: the device-code sign-in that writes the token cache.

MSAL is synchronous, so every MSAL call runs in a worker thread; its HTTP client never
follows a redirect. The new cache is written under the cache file's lock, so a running
bot saving a rotated refresh token at the same moment cannot write over it.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import msal

from bot.common.errors import HaloUnavailableError, SignInExpiredError, UserFacingError
from bot.halo.auth.msal_cache import replace_cache_file
from bot.halo.auth.msal_http import SCOPES, NoRedirectHttpClient, build_msal_app

log = logging.getLogger(__name__)


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
    http_client = NoRedirectHttpClient(api_base, request_timeout)
    stop = threading.Event()
    try:
        try:
            app = await asyncio.to_thread(build_msal_app, client_id, cache, http_client)
            flow = await asyncio.to_thread(app.initiate_device_flow, scopes=SCOPES)
        except UserFacingError:
            raise
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
        except UserFacingError:
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
        await asyncio.to_thread(replace_cache_file, cache_path, cache.serialize())
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
