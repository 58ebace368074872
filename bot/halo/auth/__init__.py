"""Halo sign-in, in four parts:

* :mod:`~bot.halo.auth.tokens`: the token types, the providers, token freshness;
* :mod:`~bot.halo.auth.msal_cache`: the MSAL token cache file (locked, re-read on change);
* :mod:`~bot.halo.auth.xbox`: the Microsoft -> Xbox -> XSTS -> Spartan -> clearance chain;
* :mod:`~bot.halo.auth.login`: ``halo-bot login`` (device code);

and :mod:`~bot.halo.auth.msal_http`, the HTTP client MSAL uses (never follows redirects).
The names other modules use are re-exported here.
"""

from bot.halo.auth.login import device_code_login
from bot.halo.auth.msal_cache import write_private_file
from bot.halo.auth.msal_http import AUTHORITY, SCOPES
from bot.halo.auth.tokens import (
    STATIC_EXPIRY,
    STATIC_SIGN_IN_EXPIRED,
    HaloTokens,
    MsalTokenProvider,
    StaticTokenProvider,
    TokenProvider,
    build_token_provider,
)
from bot.halo.auth.xbox import (
    AUTH_UNAVAILABLE,
    AUTH_UNREADABLE,
    CHILD_ACCOUNT,
    NO_XBOX_PROFILE,
    SIGN_IN_EXPIRED,
    XBOX_REFUSED,
)

__all__ = [
    "AUTHORITY",
    "AUTH_UNAVAILABLE",
    "AUTH_UNREADABLE",
    "CHILD_ACCOUNT",
    "NO_XBOX_PROFILE",
    "SCOPES",
    "SIGN_IN_EXPIRED",
    "STATIC_EXPIRY",
    "STATIC_SIGN_IN_EXPIRED",
    "XBOX_REFUSED",
    "HaloTokens",
    "MsalTokenProvider",
    "StaticTokenProvider",
    "TokenProvider",
    "build_token_provider",
    "device_code_login",
    "write_private_file",
]
