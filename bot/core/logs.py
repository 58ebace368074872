"""Logging: one line per event (text, or JSON with ``LOG_FORMAT=json``), and no secret ever
reaches a handler."""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterable
from datetime import UTC, datetime

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
# "Unexpected error 1a2b3c4d in ...": the id users are shown (see bot.core.embeds).
_ERROR_ID = re.compile(r"\bUnexpected error ([0-9a-f]{8})\b")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, error_id, exception."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": message,
        }
        error_id = getattr(record, "error_id", None)
        if error_id is None and (match := _ERROR_ID.search(message)):
            error_id = match.group(1)
        if error_id is not None:
            entry["error_id"] = str(error_id)
        if record.exc_info and not record.exc_text:
            record.exc_text = _redactor.redact(self.formatException(record.exc_info))
        if record.exc_text:
            entry["exception"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False)


class NetworkErrorsInOneLine(logging.Filter):
    """discord.py logs its reconnect attempts with a whole traceback, and so would the bot's
    own loggers when Discord or Halo cannot be reached; a network failure (refused, DNS,
    TLS, timeout) becomes the same message plus one cause instead, from any logger."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.exc_info:
            return True
        from bot.core.netcheck import NETWORK_ERRORS, cause_of

        error = record.exc_info[1]
        if isinstance(error, NETWORK_ERRORS):
            record.msg = f"{record.getMessage()} ({cause_of(error)})"
            record.args = None
            record.exc_info = None
            record.exc_text = None
        return True


def redactor() -> SecretRedactingFilter:
    """The process-wide filter; register secrets learnt at run time (fresh tokens) with it."""
    return _redactor


def setup_logging(level: int, secrets: Iterable[str] = (), log_format: str = "text") -> None:
    """Configure the root logger once: one line per event on stderr (``log_format`` "text"
    or "json"), secrets redacted, network failures without tracebacks."""
    _redactor.add(secrets)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else logging.Formatter(_FORMAT))
    handler.addFilter(NetworkErrorsInOneLine())
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
