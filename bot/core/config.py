"""Configuration from the environment and ``.env``, validated once at start.

Every variable name here is part of the public interface (documented in
``.env.example`` and the README). A bad or missing value becomes one
:class:`~bot.common.errors.ConfigError` line naming the variable; secret values are
never echoed.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.common.errors import ConfigError

DEFAULT_DISCORD_API_BASE = "https://discord.com/api/v10"
SECRET_FIELDS = frozenset({"discord_token", "halo_spartan_token", "halo_clearance_token"})
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def _check_http_url(value: str | None) -> str | None:
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
    return value.rstrip("/")


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
    rank_poll_seconds: int = Field(default=300, ge=1)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"

    # Tuning knobs with sane defaults.
    halo_requests_per_second: float = Field(default=5.0, gt=0, le=100)
    guild_commands_per_minute: int = Field(default=30, ge=1)
    user_cooldown_seconds: float = Field(default=3.0, ge=0)
    halo_request_deadline_seconds: float = Field(default=10.0, gt=0, le=600)
    #: Players per CSR request; lowered for the rest of the run if Halo rejects a batch.
    halo_csr_batch_size: int = Field(default=30, ge=1, le=50)
    #: Days a server's data is kept after the bot was removed from it (0: deleted at once).
    guild_data_grace_days: float = Field(default=7, ge=0, le=365)

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: Any) -> Any:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("discord_api_base", mode="before")
    @classmethod
    def _discord_base(cls, value: Any) -> Any:
        if isinstance(value, str):
            return _check_http_url(value) or DEFAULT_DISCORD_API_BASE
        return value

    @field_validator("halo_api_base_url", mode="before")
    @classmethod
    def _halo_base(cls, value: Any) -> Any:
        return _check_http_url(value) if isinstance(value, str) else value

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


def _describe(error: dict[str, Any]) -> str:
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
