"""Logging: one line per event, and no secret ever reaches a handler."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable

_FORMAT = "%(asctime)s %(levelname)-8s %(name)s: %(message)s"
REDACTED = "[redacted]"
# Things that look like bearer credentials even when we were not told about them.
_GENERIC_SECRET = re.compile(
    r"(?i)(authorization|x-343-authorization-spartan|343-clearance|access_token|refresh_token"
    r"|spartantoken|rpsticket|device_code)(['\"]?\s*[:=]\s*['\"]?)([^'\"\s,}&]+)"
)

# Interaction tokens travel in the URL path: ``/webhooks/{application_id}/{token}`` (follow-ups,
# edits) and ``/interactions/{interaction_id}/{token}/callback``. discord.py logs these routes
# (its webhook adapter at DEBUG, its rate-limit warnings at any level); the token is the
# password of the interaction's webhook for 15 minutes, so it is cut at every level.
_URL_PATH_TOKEN = re.compile(r"(?i)(/(?:webhooks|interactions)/[^/\s'\"]+/)([^/?#\s'\"]+)")


class SecretRedactingFilter(logging.Filter):
    """Replaces every known secret (and token-shaped key/value pairs) in a record."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._secrets: set[str] = set()
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        self._secrets.update(s for s in secrets if s and len(s) >= 4)

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        text = _URL_PATH_TOKEN.sub(lambda m: f"{m.group(1)}{REDACTED}", text)
        return _GENERIC_SECRET.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        clean = self.redact(message)
        if clean != message or record.args:
            record.msg, record.args = clean, None
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        return True


_redactor = SecretRedactingFilter()


def redactor() -> SecretRedactingFilter:
    """The process-wide filter; register secrets learnt at run time (fresh tokens) with it."""
    return _redactor


def setup_logging(level: int, secrets: Iterable[str] = ()) -> None:
    """Configure the root logger once: one line per event on stderr, secrets redacted."""
    _redactor.add(secrets)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(_FORMAT))
    guard(handler)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    quiet_libraries(level)


def guard(handler: logging.Handler) -> None:
    """Make ``handler`` redact every secret before anything is written."""
    handler.addFilter(_redactor)


def quiet_libraries(level: int) -> None:
    """Libraries whose DEBUG output is noise or holds sign-in exchanges stay at INFO."""
    # discord.py's gateway chatter is noisy at DEBUG and says nothing we need at INFO.
    logging.getLogger("discord.gateway").setLevel(max(level, logging.INFO))
    logging.getLogger("discord.http").setLevel(max(level, logging.INFO))
    # MSAL's DEBUG lines dump whole OAuth requests (device codes, grant data).
    logging.getLogger("msal").setLevel(max(level, logging.INFO))
