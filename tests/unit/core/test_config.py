"""Configuration: every public variable, its default, and a clear line for bad values."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.common.errors import ConfigError
from bot.core.config import DEFAULT_DISCORD_API_BASE, load_settings

ALL_VARS = (
    "DISCORD_TOKEN",
    "DISCORD_API_BASE",
    "DISCORD_DEV_GUILD_ID",
    "HALO_API_BASE_URL",
    "HALO_SPARTAN_TOKEN",
    "HALO_CLEARANCE_TOKEN",
    "AZURE_CLIENT_ID",
    "HALO_TOKEN_CACHE",
    "DATABASE_PATH",
    "RANK_POLL_SECONDS",
    "LOG_LEVEL",
    "HALO_REQUESTS_PER_SECOND",
    "GUILD_COMMANDS_PER_MINUTE",
    "USER_COOLDOWN_SECONDS",
    "HALO_REQUEST_DEADLINE_SECONDS",
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ALL_VARS:
        monkeypatch.delenv(name, raising=False)


def load(**env: str):
    return load_settings(None, **{k.lower(): v for k, v in env.items()})


def error_of(**env: str) -> str:
    with pytest.raises(ConfigError) as info:
        load(**env)
    return str(info.value)


def test_defaults() -> None:
    s = load()
    assert s.discord_token is None
    assert s.discord_api_base == DEFAULT_DISCORD_API_BASE
    assert s.discord_dev_guild_id is None
    assert s.halo_api_base_url is None
    assert s.database_path == Path("data/bot.db")
    assert s.rank_poll_seconds == 300
    assert s.log_level == "INFO"
    assert s.halo_auth_mode is None


def test_reads_environment_variables(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    env = {
        "DISCORD_TOKEN": "discord-token-value",
        "DISCORD_API_BASE": "http://127.0.0.1:9999/api/v10/",
        "DISCORD_DEV_GUILD_ID": "123456789012345678",
        "HALO_API_BASE_URL": "http://127.0.0.1:8888",
        "HALO_SPARTAN_TOKEN": "spartan-value",
        "HALO_CLEARANCE_TOKEN": "clearance-value",
        "AZURE_CLIENT_ID": "00000000-0000-0000-0000-000000000000",
        "HALO_TOKEN_CACHE": str(tmp_path / "cache.json"),
        "DATABASE_PATH": str(tmp_path / "x.db"),
        "RANK_POLL_SECONDS": "1",
        "LOG_LEVEL": "debug",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    s = load_settings(None)
    assert s.discord_token is not None
    assert s.discord_token.get_secret_value() == "discord-token-value"
    assert s.discord_api_base == "http://127.0.0.1:9999/api/v10"
    assert s.discord_dev_guild_id == 123456789012345678
    assert s.halo_api_base_url == "http://127.0.0.1:8888"
    assert s.halo_auth_mode == "static"
    assert s.halo_token_cache == tmp_path / "cache.json"
    assert s.database_path == tmp_path / "x.db"
    assert s.rank_poll_seconds == 1
    assert s.log_level == "DEBUG"


def test_reads_dotenv_file(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("DISCORD_TOKEN=from-file\nRANK_POLL_SECONDS=42\n")
    s = load_settings(env_file)
    assert s.discord_token is not None
    assert s.discord_token.get_secret_value() == "from-file"
    assert s.rank_poll_seconds == 42


def test_msal_mode_when_only_azure_is_set() -> None:
    assert load(AZURE_CLIENT_ID="abc").halo_auth_mode == "msal"


def test_static_tokens_win_over_msal() -> None:
    s = load(AZURE_CLIENT_ID="abc", HALO_SPARTAN_TOKEN="s1", HALO_CLEARANCE_TOKEN="c1")
    assert s.halo_auth_mode == "static"


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"RANK_POLL_SECONDS": "0"}, "RANK_POLL_SECONDS"),
        ({"RANK_POLL_SECONDS": "abc"}, "RANK_POLL_SECONDS"),
        ({"RANK_POLL_SECONDS": "-5"}, "RANK_POLL_SECONDS"),
        ({"LOG_LEVEL": "LOUD"}, "LOG_LEVEL"),
        ({"DISCORD_DEV_GUILD_ID": "not-a-number"}, "DISCORD_DEV_GUILD_ID"),
        ({"DISCORD_DEV_GUILD_ID": "-1"}, "DISCORD_DEV_GUILD_ID"),
        ({"DISCORD_API_BASE": "ftp://example"}, "DISCORD_API_BASE"),
        ({"DISCORD_API_BASE": "discord.com/api"}, "DISCORD_API_BASE"),
        ({"HALO_API_BASE_URL": "not a url"}, "HALO_API_BASE_URL"),
        ({"HALO_API_BASE_URL": "http://127.0.0.1:1/?q=1"}, "HALO_API_BASE_URL"),
        ({"HALO_REQUESTS_PER_SECOND": "0"}, "HALO_REQUESTS_PER_SECOND"),
        ({"GUILD_COMMANDS_PER_MINUTE": "0"}, "GUILD_COMMANDS_PER_MINUTE"),
        ({"USER_COOLDOWN_SECONDS": "-1"}, "USER_COOLDOWN_SECONDS"),
        ({"HALO_REQUEST_DEADLINE_SECONDS": "0"}, "HALO_REQUEST_DEADLINE_SECONDS"),
        ({"HALO_SPARTAN_TOKEN": "only-one"}, "HALO_CLEARANCE_TOKEN"),
        ({"HALO_CLEARANCE_TOKEN": "only-one"}, "HALO_SPARTAN_TOKEN"),
        ({"DISCORD_TOKEN": "has space"}, "DISCORD_TOKEN"),
    ],
)
def test_bad_values_name_the_variable_in_one_line(env: dict[str, str], expected: str) -> None:
    message = error_of(**env)
    assert expected in message
    assert "\n" not in message
    assert message.startswith("Configuration error:")


def test_secret_values_are_never_echoed() -> None:
    message = error_of(DISCORD_TOKEN="super secret token", HALO_SPARTAN_TOKEN="sp4rtan-secret")
    assert "super secret" not in message
    assert "sp4rtan-secret" not in message
    s = load(DISCORD_TOKEN="visible-nowhere")
    assert "visible-nowhere" not in repr(s)
    assert "visible-nowhere" not in str(s.model_dump())


def test_non_secret_bad_value_is_shown() -> None:
    assert "'LOUD'" in error_of(LOG_LEVEL="LOUD")


def test_empty_values_mean_unset() -> None:
    s = load(DISCORD_TOKEN="", DISCORD_DEV_GUILD_ID="", HALO_API_BASE_URL="", AZURE_CLIENT_ID=" ")
    assert s.discord_token is None
    assert s.discord_dev_guild_id is None
    assert s.halo_api_base_url is None
    assert s.azure_client_id is None


def test_require_discord_names_the_variable() -> None:
    with pytest.raises(ConfigError, match="DISCORD_TOKEN is not set"):
        load().require_discord()


def test_require_halo_auth_names_both_modes() -> None:
    with pytest.raises(ConfigError) as info:
        load().require_halo_auth()
    assert "HALO_SPARTAN_TOKEN" in str(info.value)
    assert "AZURE_CLIENT_ID" in str(info.value)
    load(HALO_SPARTAN_TOKEN="a1234", HALO_CLEARANCE_TOKEN="b1234").require_halo_auth()


def test_require_azure() -> None:
    with pytest.raises(ConfigError, match="AZURE_CLIENT_ID"):
        load().require_azure()
    assert load(AZURE_CLIENT_ID="id-1").require_azure() == "id-1"


# -- plain-text endpoints: http:// only to this machine ---------------------------------

URL_VARS = ("DISCORD_API_BASE", "HALO_API_BASE_URL")


@pytest.mark.parametrize("name", URL_VARS)
@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080",
        "http://127.1.2.3/api",
        "http://[::1]:9000/x",
        "http://localhost:1234",
        "http://LOCALHOST",
        "https://discord.com/api/v10",
        "https://proxy.example.org:8443/halo",
    ],
)
def test_loopback_http_and_any_https_are_accepted(name: str, url: str) -> None:
    s = load(**{name: url})
    assert getattr(s, name.lower()) == url.rstrip("/")


@pytest.mark.parametrize("name", URL_VARS)
@pytest.mark.parametrize(
    "url",
    [
        "http://discord.com/api/v10",
        "http://halo-proxy.example.org",
        "http://10.0.0.5:8080",
        "http://192.168.1.10",
        "http://128.0.0.1",
        "http://[::2]:80",
        "http://localhost.example.org",
        "http://127.0.0.1.nip.io",
        "http://0.0.0.0:8080",
    ],
)
def test_plain_http_to_another_host_is_a_one_line_error(name: str, url: str) -> None:
    message = error_of(**{name: url})
    assert message.startswith("Configuration error: ")
    assert name in message
    assert "https://" in message
    assert "\n" not in message
