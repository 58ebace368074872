"""Secrets never reach a log line."""

from __future__ import annotations

import logging

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
