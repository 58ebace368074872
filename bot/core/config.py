"""Configuration from the environment and ``.env``, validated once at start.

Every variable name here is part of the public interface (documented in
``.env.example`` and the README). A bad or missing value becomes one
:class:`~bot.common.errors.ConfigError` line naming the variable; secret values are
never echoed.
"""

from __future__ import annotations

import ipaddress
import logging
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_core import ErrorDetails
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.common.errors import ConfigError
from bot.coordination.link import DEFAULT_PREFIX

DEFAULT_DISCORD_API_BASE = "https://discord.com/api/v10"
#: Never echoed in errors (DATABASE_URL and REDIS_URL may hold a password).
SECRET_FIELDS = frozenset(
    {"discord_token", "halo_spartan_token", "halo_clearance_token", "database_url", "redis_url"}
)
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def check_http_url(value: str | None) -> str | None:
    """``value`` trimmed, without a trailing slash, or None when blank; ``ValueError``
    unless it is an https:// URL (or http:// to this machine) with no query or fragment."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("must be an http:// or https:// URL")
    if parts.query or parts.fragment:
        raise ValueError("must not contain a query string or fragment")
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise ValueError(
            "must be an https:// URL: plain http:// is accepted only for this machine "
            "(127.0.0.1, ::1, localhost), since tokens travel in the requests"
        )
    return value.rstrip("/")


def _is_loopback(host: str | None) -> bool:
    """127.0.0.0/8, ::1 or ``localhost``: the only hosts tokens may reach in plain text."""
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_redis_url(value: str) -> str | None:
    value = value.strip()
    if not value:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("redis", "rediss") or not parts.hostname:
        raise ValueError(
            "must be a redis:// or rediss:// URL, for example redis://127.0.0.1:6379/0"
        )
    return value


class Settings(BaseSettings):
    """All settings. Field names are the environment variable names, lower-cased."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=False,
        hide_input_in_errors=True,
    )

    discord_token: SecretStr | None = None
    discord_api_base: str = DEFAULT_DISCORD_API_BASE
    discord_dev_guild_id: int | None = Field(default=None, gt=0)

    halo_api_base_url: str | None = None
    halo_spartan_token: SecretStr | None = None
    halo_clearance_token: SecretStr | None = None
    azure_client_id: str | None = None
    halo_token_cache: Path = Path("data/halo_token_cache.json")

    database_path: Path = Path("data/bot.db")
    #: PostgreSQL instead of the SQLite file at database_path when set.
    database_url: str | None = None
    rank_poll_seconds: int = Field(default=300, ge=1)
    #: Discord shards of the whole bot, and the ones this process connects (all when unset).
    shard_count: int = Field(default=1, ge=1)
    shard_ids: Annotated[tuple[int, ...] | None, NoDecode] = None
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    log_format: Literal["text", "json"] = "text"
    # Operations: /metrics and /healthz on METRICS_HOST:METRICS_PORT (unset: off).
    metrics_port: int | None = Field(default=None, ge=1, le=65535)
    metrics_host: str = "0.0.0.0"  # noqa: S104 - inside a container; set 127.0.0.1 on a host
    # Where this bot's README is published; /about links its Privacy section.
    project_url: str | None = None

    # Tuning knobs with sane defaults.
    halo_requests_per_second: float = Field(default=5.0, gt=0, le=100)
    guild_commands_per_minute: int = Field(default=30, ge=1)
    user_cooldown_seconds: float = Field(default=3.0, ge=0)
    halo_request_deadline_seconds: float = Field(default=10.0, gt=0, le=600)
    #: Players per CSR request; lowered for the rest of the run if Halo rejects a batch.
    halo_csr_batch_size: int = Field(default=30, ge=1, le=50)
    #: Days a server's data is kept after the bot was removed from it (0: deleted at once).
    guild_data_grace_days: float = Field(default=7, ge=0, le=365)

    # Running more than one instance (with the shards above).
    redis_url: SecretStr | None = None
    #: Every Redis key starts with this, so bots sharing one Redis keep apart.
    redis_key_prefix: str = Field(default=DEFAULT_PREFIX, max_length=64)

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: Any) -> Any:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("log_format", mode="before")
    @classmethod
    def _lower_format(cls, value: Any) -> Any:
        return value.strip().lower() or "text" if isinstance(value, str) else value

    @field_validator("metrics_port", mode="before")
    @classmethod
    def _empty_port_is_none(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("metrics_host", mode="before")
    @classmethod
    def _host(cls, value: Any) -> Any:
        return value.strip() or "0.0.0.0" if isinstance(value, str) else value  # noqa: S104

    @field_validator("discord_api_base", mode="before")
    @classmethod
    def _discord_base(cls, value: Any) -> Any:
        if isinstance(value, str):
            return check_http_url(value) or DEFAULT_DISCORD_API_BASE
        return value

    @field_validator("project_url", mode="before")
    @classmethod
    def _project_url(cls, value: Any) -> Any:
        return check_http_url(value) if isinstance(value, str) else value

    @field_validator("halo_api_base_url", mode="before")
    @classmethod
    def _halo_base(cls, value: Any) -> Any:
        return check_http_url(value) if isinstance(value, str) else value

    @field_validator("database_url", mode="before")
    @classmethod
    def _database_url(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        value = value.strip()
        if not value:
            return None
        if not value.lower().startswith(("postgresql://", "postgres://")):
            raise ValueError(
                "must be a PostgreSQL URL (postgresql://user@host:port/database); "
                "leave it unset to use the SQLite file at DATABASE_PATH"
            )
        return value

    @field_validator("shard_ids", mode="before")
    @classmethod
    def _shard_ids(cls, value: Any) -> Any:
        if isinstance(value, int):
            return (value,)
        if not isinstance(value, str):
            return value
        parts = [part.strip() for part in value.split(",")]
        if not any(parts):
            return None
        if not all(part.isdigit() for part in parts):
            raise ValueError("must be shard numbers separated by commas, for example 0,1")
        return tuple(int(part) for part in parts)

    @model_validator(mode="after")
    def _shards_in_range(self) -> Settings:
        if self.shard_ids is None:
            return self
        if not self.shard_ids:
            raise ValueError("SHARD_IDS: must name at least one shard")
        if len(set(self.shard_ids)) != len(self.shard_ids):
            raise ValueError("SHARD_IDS: names a shard twice")
        outside = [i for i in self.shard_ids if not 0 <= i < self.shard_count]
        if outside:
            raise ValueError(
                f"SHARD_IDS: shard {outside[0]} does not exist: shards are numbered "
                f"0 to {self.shard_count - 1} (SHARD_COUNT={self.shard_count})"
            )
        self.shard_ids = tuple(sorted(self.shard_ids))
        return self

    @field_validator("discord_dev_guild_id", mode="before")
    @classmethod
    def _empty_guild_is_none(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("azure_client_id", mode="before")
    @classmethod
    def _client_id(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip()
            return value or None
        return value

    @field_validator("redis_url", mode="before")
    @classmethod
    def _redis_url(cls, value: Any) -> Any:
        return _check_redis_url(value) if isinstance(value, str) else value

    @field_validator("redis_key_prefix", mode="before")
    @classmethod
    def _key_prefix(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip()
            if not value:
                return DEFAULT_PREFIX
            if any(ch.isspace() for ch in value):
                raise ValueError("must not contain spaces")
        return value

    @field_validator("discord_token", "halo_spartan_token", "halo_clearance_token", mode="before")
    @classmethod
    def _empty_secret_is_none(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip()
            if not value:
                return None
            if any(ch.isspace() for ch in value):
                raise ValueError("must not contain spaces")
        return value

    @model_validator(mode="after")
    def _token_pair(self) -> Settings:
        if bool(self.halo_spartan_token) != bool(self.halo_clearance_token):
            missing = "HALO_CLEARANCE_TOKEN" if self.halo_spartan_token else "HALO_SPARTAN_TOKEN"
            raise ValueError(
                f"{missing} is not set: HALO_SPARTAN_TOKEN and HALO_CLEARANCE_TOKEN go together"
            )
        return self

    # -- derived --------------------------------------------------------------

    @property
    def halo_auth_mode(self) -> Literal["static", "msal"] | None:
        if self.halo_spartan_token and self.halo_clearance_token:
            return "static"
        if self.azure_client_id:
            return "msal"
        return None

    @property
    def process_shard_ids(self) -> tuple[int, ...]:
        """The shards this process connects: ``SHARD_IDS``, or all of ``SHARD_COUNT``."""
        if self.shard_ids is not None:
            return self.shard_ids
        return tuple(range(self.shard_count))

    @property
    def instance_share(self) -> float:
        """This process's share of the whole bot: its shards over all shards. Without
        Redis each process spends this share of ``HALO_REQUESTS_PER_SECOND``."""
        return len(self.process_shard_ids) / self.shard_count

    @property
    def log_level_number(self) -> int:
        return logging.getLevelNamesMapping()[self.log_level]

    def require_discord(self) -> SecretStr:
        """The Discord token, or a ConfigError telling the operator what to set."""
        if self.discord_token is None:
            raise ConfigError(
                "DISCORD_TOKEN is not set: copy .env.example to .env and put your bot's token "
                "there (Discord Developer Portal -> your application -> Bot -> Reset Token)."
            )
        return self.discord_token

    def require_halo_auth(self) -> None:
        """Raise a ConfigError unless one Halo sign-in mode is configured."""
        if self.halo_auth_mode is None:
            raise ConfigError(
                "No Halo credentials: set HALO_SPARTAN_TOKEN and HALO_CLEARANCE_TOKEN, "
                "or set AZURE_CLIENT_ID and run `halo-bot login`."
            )

    def require_azure(self) -> str:
        if not self.azure_client_id:
            raise ConfigError(
                "AZURE_CLIENT_ID is not set: register an Azure app (personal Microsoft accounts, "
                "public client flows on) and put its Application (client) ID in .env."
            )
        return self.azure_client_id


def _describe(error: ErrorDetails) -> str:
    loc = [str(part) for part in error.get("loc", ()) if part != "__root__"]
    message = str(error.get("msg", "invalid value"))
    message = message.removeprefix("Value error, ")
    if not loc:
        return message
    field = loc[0]
    name = field.upper()
    if field not in SECRET_FIELDS and "input" in error and error["type"] != "missing":
        shown = repr(error["input"])
        if len(shown) > 60:
            shown = shown[:57] + "..."
        return f"{name}: {message} (got {shown})"
    return f"{name}: {message}"


def load_settings(env_file: str | Path | None = ".env", **overrides: Any) -> Settings:
    """Read and validate the settings, or raise one ConfigError line per problem."""
    try:
        return Settings(_env_file=env_file, **overrides)  # type: ignore[call-arg]
    except ValidationError as exc:
        problems = "; ".join(_describe(err) for err in exc.errors(include_url=False))
        raise ConfigError(f"Configuration error: {problems}") from None
