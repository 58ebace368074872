"""Secrets never reach a log line."""

from __future__ import annotations

import json
import logging
from datetime import datetime

import pytest

from bot.core.logs import REDACTED, SecretRedactingFilter, redactor, setup_logging


@pytest.fixture(autouse=True)
def restore_root_logger():
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)


def test_known_secrets_are_redacted_in_messages_and_args(capsys: pytest.CaptureFixture) -> None:
    setup_logging(logging.INFO, ["discord-secret-123", "spartan-secret-456"])
    log = logging.getLogger("test.redaction")
    log.info("token is %s and %s", "discord-secret-123", "spartan-secret-456")
    log.info("plain discord-secret-123 in text")
    err = capsys.readouterr().err
    assert "discord-secret-123" not in err
    assert "spartan-secret-456" not in err
    assert err.count(REDACTED) == 3


def test_secrets_learnt_later_are_redacted(capsys: pytest.CaptureFixture) -> None:
    setup_logging(logging.INFO)
    redactor().add(["fresh-spartan-token-789"])
    logging.getLogger("test.redaction").warning("got fresh-spartan-token-789")
    assert "fresh-spartan-token-789" not in capsys.readouterr().err


def test_token_shaped_pairs_are_redacted_even_if_unknown() -> None:
    f = SecretRedactingFilter()
    text = f.redact('headers {"x-343-authorization-spartan": "abc.def", "Accept": "json"}')
    assert "abc.def" not in text
    assert "Accept" in text
    assert "refresh_token=zzz" not in f.redact("body refresh_token=zzz&x=1")


def test_exception_text_is_redacted(capsys: pytest.CaptureFixture) -> None:
    setup_logging(logging.INFO, ["exc-secret-000"])
    try:
        raise RuntimeError("failed with exc-secret-000")
    except RuntimeError:
        logging.getLogger("test.redaction").exception("boom")
    err = capsys.readouterr().err
    assert "exc-secret-000" not in err
    assert "RuntimeError" in err


@pytest.mark.parametrize("level", [logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR])
def test_interaction_tokens_in_routes_are_redacted_at_every_level(
    capsys: pytest.CaptureFixture, level: int
) -> None:
    setup_logging(logging.DEBUG)
    token = "aW50ZXJhY3Rpb246" + "Zx_9-Qw" * 9
    log = logging.getLogger("discord.webhook.async_")
    log.log(level, "POST https://discord.com/api/v10/webhooks/123456/%s has returned 200", token)
    log.log(level, "POST /interactions/987654/%s/callback responded with 429", token)
    log.log(level, "PATCH http://127.0.0.1:5/api/v10/webhooks/1/%s/messages/@original", token)
    err = capsys.readouterr().err
    assert token not in err
    assert "/webhooks/123456/[redacted] has returned 200" in err
    assert "/interactions/987654/[redacted]/callback" in err
    assert "/webhooks/1/[redacted]/messages/@original" in err


def test_json_format_is_one_object_per_line_with_the_error_id_and_redaction(
    capsys: pytest.CaptureFixture,
) -> None:
    setup_logging(logging.INFO, ["json-secret-111"], "json")
    log = logging.getLogger("test.json")
    log.info("plain line with json-secret-111")
    try:
        raise RuntimeError("broke with json-secret-111\nsecond line")
    except RuntimeError as exc:
        log.error("Unexpected error %s in command %s", "0a1b2c3d", "/csr", exc_info=exc)
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 2
    first, second = (json.loads(line) for line in lines)
    assert first["level"] == "INFO" and first["logger"] == "test.json"
    assert first["message"] == f"plain line with {REDACTED}"
    assert "error_id" not in first and "exception" not in first
    assert datetime.fromisoformat(first["time"]).tzinfo is not None
    assert second["error_id"] == "0a1b2c3d"
    assert second["message"] == "Unexpected error 0a1b2c3d in command /csr"
    assert "RuntimeError" in second["exception"]
    assert "json-secret-111" not in "\n".join(lines)


def test_network_failures_logged_by_discord_py_lose_their_traceback(
    capsys: pytest.CaptureFixture,
) -> None:
    setup_logging(logging.INFO)
    try:
        raise ConnectionRefusedError(111, "Connect call failed")
    except ConnectionRefusedError:
        logging.getLogger("discord.client").exception("Attempting a reconnect in %.2fs", 4.0)
    try:
        raise ValueError("a real bug")
    except ValueError:
        logging.getLogger("discord.client").exception("Ignoring exception")
    err = capsys.readouterr().err
    assert "Attempting a reconnect in 4.00s (connection refused)" in err
    assert err.count("Traceback") == 1  # the bug keeps its traceback
    assert "ValueError: a real bug" in err
