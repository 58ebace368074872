"""REDIS_URL, REDIS_KEY_PREFIX, SHARD_COUNT and SHARD_IDS: read from the environment, one
clear line if bad."""

from __future__ import annotations

import pytest

from bot.common.errors import ConfigError
from bot.core.backends import redis_link
from bot.core.config import load_settings

VARS = ("REDIS_URL", "REDIS_KEY_PREFIX", "SHARD_COUNT", "SHARD_IDS")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in VARS:
        monkeypatch.delenv(name, raising=False)


def test_defaults_are_one_process_without_redis() -> None:
    settings = load_settings(None)
    assert settings.redis_url is None
    assert settings.shard_count == 1
    assert settings.process_shard_ids == (0,)
    assert settings.instance_share == 1.0


@pytest.mark.parametrize("url", ["redis://127.0.0.1:6379/0", "rediss://user:pw@cache.example:6380"])
def test_redis_url_accepts_redis_and_rediss(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    monkeypatch.setenv("REDIS_URL", url)
    settings = load_settings(None)
    assert settings.redis_url is not None
    assert settings.redis_url.get_secret_value() == url
    assert "pw" not in repr(settings)


def test_empty_redis_url_is_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_URL", "  ")
    assert load_settings(None).redis_url is None


@pytest.mark.parametrize("url", ["http://u:hunter2@cache:6379", "127.0.0.1:6379", "redis://"])
def test_a_bad_redis_url_is_one_line_without_its_password(
    monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    monkeypatch.setenv("REDIS_URL", url)
    with pytest.raises(ConfigError) as caught:
        load_settings(None)
    message = str(caught.value)
    assert "\n" not in message
    assert "REDIS_URL: must be a redis:// or rediss:// URL" in message
    assert "hunter2" not in message


async def test_every_redis_key_starts_with_the_configured_prefix(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/0")
    default = redis_link(load_settings(None))
    monkeypatch.setenv("REDIS_KEY_PREFIX", " staging: ")
    staging = redis_link(load_settings(None))
    assert default is not None and staging is not None
    try:
        assert default.key("halo", "next-send") == "halo-bot:halo:next-send"
        assert staging.key("halo", "next-send") == "staging:halo:next-send"
    finally:
        await default.close()
        await staging.close()


@pytest.mark.parametrize(
    ("prefix", "expected"),
    [
        ("two words:", "REDIS_KEY_PREFIX: must not contain spaces"),
        ("x" * 65, "REDIS_KEY_PREFIX: String should have at most 64 characters"),
    ],
)
def test_a_bad_redis_key_prefix_is_one_line(
    monkeypatch: pytest.MonkeyPatch, prefix: str, expected: str
) -> None:
    monkeypatch.setenv("REDIS_KEY_PREFIX", prefix)
    with pytest.raises(ConfigError) as caught:
        load_settings(None)
    assert expected in str(caught.value)
    assert "\n" not in str(caught.value)


def test_shard_ids_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHARD_COUNT", "4")
    monkeypatch.setenv("SHARD_IDS", "3, 1")
    settings = load_settings(None)
    assert settings.shard_ids == (1, 3)
    assert settings.instance_share == 0.5


def test_no_shard_ids_means_all_of_them(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHARD_COUNT", "3")
    monkeypatch.setenv("SHARD_IDS", "")
    assert load_settings(None).process_shard_ids == (0, 1, 2)


@pytest.mark.parametrize(
    ("count", "ids", "expected"),
    [
        ("2", "0,2", "SHARD_IDS: shard 2 does not exist"),
        ("2", "-1", "SHARD_IDS: must be shard numbers separated by commas"),
        ("2", "zero", "SHARD_IDS: must be shard numbers separated by commas"),
        ("0", "", "SHARD_COUNT: Input should be greater than or equal to 1"),
    ],
)
def test_bad_shards_are_one_line(
    monkeypatch: pytest.MonkeyPatch, count: str, ids: str, expected: str
) -> None:
    monkeypatch.setenv("SHARD_COUNT", count)
    monkeypatch.setenv("SHARD_IDS", ids)
    with pytest.raises(ConfigError) as caught:
        load_settings(None)
    assert expected in str(caught.value)
    assert "\n" not in str(caught.value)
