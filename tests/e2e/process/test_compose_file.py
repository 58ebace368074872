"""compose.yaml, which this machine cannot run (it has the docker CLI but no daemon).

What can be checked without Docker is checked here: every bot service's environment is
valid settings for the bot (read by the bot's own settings class), the services split the
shards of one SHARD_COUNT between them exactly once, share one PostgreSQL database and one
Redis, wait for both to be healthy, and keep what lasts on named volumes.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.core.config import load_settings
from tests.support.paths import ROOT

COMPOSE = ROOT / "compose.yaml"
#: Variables the bot reads: cleared first, so only the service's own settings count.
BOT_PREFIXES = ("DISCORD_", "HALO_", "AZURE_", "DATABASE_", "RANK_", "REDIS_", "SHARD_")


def interpolated(value: Any) -> str:
    """``${NAME:-default}`` as Compose reads it with NAME unset."""
    return re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", str(value))


def compose_file() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


def test_the_bot_services_are_instances_of_one_bot(monkeypatch: pytest.MonkeyPatch) -> None:
    compose = compose_file()
    bots = {name: s for name, s in compose["services"].items() if name.startswith("bot-")}
    assert len(bots) == 2, sorted(compose["services"])
    shards: list[int] = []
    databases, redises = set(), set()
    for name, service in bots.items():
        for var in list(os.environ):
            if var.startswith(BOT_PREFIXES):
                monkeypatch.delenv(var)
        for var, value in service["environment"].items():
            monkeypatch.setenv(var, interpolated(value))
        settings = load_settings(None)  # a bad value raises ConfigError naming it
        assert settings.shard_count == 2, name
        assert settings.shard_ids is not None, f"{name} sets no SHARD_IDS"
        shards.extend(settings.process_shard_ids)
        assert settings.database_url is not None and settings.redis_url is not None, name
        databases.add(settings.database_url)
        redises.add(settings.redis_url.get_secret_value())
        # The token cache the instances share is on the data volume.
        assert Path(settings.halo_token_cache).parent == Path("/data"), name
        assert service["volumes"] == ["bot-data:/data"], name
        assert {dep: c["condition"] for dep, c in service["depends_on"].items()} == {
            "postgres": "service_healthy",
            "redis": "service_healthy",
        }
    assert sorted(shards) == [0, 1]
    assert databases == {"postgresql://halo:halo@postgres:5432/halo"}
    assert redises == {"redis://redis:6379/0"}


def test_postgres_and_redis_keep_their_data_on_volumes() -> None:
    compose = compose_file()
    services = compose["services"]
    postgres, redis = services["postgres"], services["redis"]
    assert postgres["volumes"] == ["postgres-data:/var/lib/postgresql/data"]
    assert redis["volumes"] == ["redis-data:/data"]
    assert set(compose["volumes"]) == {"postgres-data", "redis-data", "bot-data"}
    # The database the bots are pointed at is the one the postgres service creates.
    env = {k: interpolated(v) for k, v in postgres["environment"].items()}
    assert (env["POSTGRES_USER"], env["POSTGRES_PASSWORD"], env["POSTGRES_DB"]) == (
        "halo",
        "halo",
        "halo",
    )
    for service in (postgres, redis):
        assert service["healthcheck"]["test"], service
