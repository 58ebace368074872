"""One line for a network failure: what could not be reached, why, and what to check.

Used by ``halo-bot run``/``sync-commands``/``check`` and by the log filter that keeps
discord.py's reconnect messages to one line. Never includes a traceback.
"""

from __future__ import annotations

import errno
import socket
import ssl
from urllib.parse import urlsplit

import aiohttp
import discord

#: Errors that mean "the other side could not be reached (or answered badly)", not a bug.
NETWORK_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    aiohttp.ClientError,
    discord.GatewayNotFound,
    discord.DiscordServerError,
    discord.ConnectionClosed,
)


def host_of(url: str) -> str:
    """``host[:port]`` of ``url`` (the URL itself when it has none)."""
    return urlsplit(url).netloc or url


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen and len(seen) < 8:
        seen.append(current)
        nested = getattr(current, "os_error", None)
        current = current.__cause__ or current.__context__ or nested
    return seen


def cause_of(exc: BaseException) -> str:
    """A short cause: ``DNS lookup failed``, ``connection refused``, ``TLS handshake failed``,
    ``timed out``, ``HTTP 503`` or the exception's class name."""
    chain = _chain(exc)
    for err in chain:
        if isinstance(err, aiohttp.ClientConnectorDNSError | socket.gaierror):
            return "DNS lookup failed"
    for err in chain:
        if isinstance(
            err,
            aiohttp.ClientConnectorCertificateError
            | aiohttp.ClientSSLError
            | ssl.SSLError
            | ssl.CertificateError,
        ):
            return "TLS handshake failed"
    for err in chain:
        if isinstance(err, ConnectionRefusedError) or (
            isinstance(err, OSError) and err.errno == errno.ECONNREFUSED
        ):
            return "connection refused"
    for err in chain:
        if isinstance(err, TimeoutError | aiohttp.ServerTimeoutError):
            return "timed out"
    for err in chain:
        if isinstance(err, discord.HTTPException):
            return f"HTTP {err.status}"
        if isinstance(err, aiohttp.ClientResponseError):
            return f"HTTP {err.status}"
        if isinstance(err, discord.ConnectionClosed):
            return f"gateway closed (code {err.code})"
    for err in chain:
        if isinstance(err, ConnectionResetError | aiohttp.ServerDisconnectedError):
            return "connection reset"
    return type(exc).__name__


_ADVICE = {
    "DNS lookup failed": "check the network and DNS, and the host name in {setting}",
    "TLS handshake failed": "check the system clock, the CA certificates, and any proxy "
    "that intercepts HTTPS",
    "connection refused": "check {setting} and that nothing blocks outgoing connections",
    "timed out": "check the network and firewall",
    "connection reset": "check the network and any proxy in between",
}


def advice(cause: str, setting: str) -> str:
    """What an operator should check for ``cause`` (``setting``: the URL variable)."""
    if cause.startswith("HTTP 5"):
        return "the service is having trouble; it usually passes"
    if cause.startswith("HTTP 401"):
        return "the credentials were refused"
    template = _ADVICE.get(cause, "check the network and {setting}")
    return template.format(setting=setting)


def unreachable(what: str, url: str, exc: BaseException, setting: str) -> str:
    """``"Discord (discord.com) could not be reached: connection refused; check ..."``."""
    cause = cause_of(exc)
    return f"{what} ({host_of(url)}) could not be reached: {cause}; {advice(cause, setting)}."
