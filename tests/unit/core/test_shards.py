"""SHARD_COUNT and SHARD_IDS: parsed from the environment, checked, and turned into the
bot class and discord.py's shard arguments."""

from __future__ import annotations

import discord
import pytest

from bot.common.errors import ConfigError
from bot.core.bot import (
    HaloBot,
    ShardedHaloBot,
    bot_class,
    holds_guild_shard,
    shard_of,
    shard_options,
)
from bot.core.config import load_settings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SHARD_COUNT", "SHARD_IDS"):
        monkeypatch.delenv(name, raising=False)


def settings(monkeypatch: pytest.MonkeyPatch, **env: str):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return load_settings(None)


def test_unset_is_one_unsharded_process(monkeypatch: pytest.MonkeyPatch) -> None:
    plain = settings(monkeypatch)
    assert (plain.shard_count, plain.shard_ids, plain.process_shard_ids) == (1, None, (0,))
    assert shard_options(plain) == {} and bot_class(plain) is HaloBot


def test_ids_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    two = settings(monkeypatch, SHARD_COUNT="4", SHARD_IDS=" 3, 1 ")
    assert two.shard_ids == (1, 3) and two.process_shard_ids == (1, 3)
    assert shard_options(two) == {"shard_ids": [1, 3], "shard_count": 4}
    assert bot_class(two) is ShardedHaloBot and issubclass(ShardedHaloBot, HaloBot)
    one = settings(monkeypatch, SHARD_COUNT="3", SHARD_IDS="2")
    assert shard_options(one) == {"shard_id": 2, "shard_count": 3}
    assert bot_class(one) is HaloBot
    every = settings(monkeypatch, SHARD_COUNT="2", SHARD_IDS="")
    assert every.shard_ids is None and every.process_shard_ids == (0, 1)
    assert bot_class(every) is ShardedHaloBot


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        (
            {"SHARD_COUNT": "2", "SHARD_IDS": "2"},
            "SHARD_IDS: shard 2 does not exist: shards are numbered 0 to 1 (SHARD_COUNT=2)",
        ),
        ({"SHARD_IDS": "0,x"}, "SHARD_IDS: must be shard numbers separated by commas"),
        ({"SHARD_COUNT": "3", "SHARD_IDS": "1,1"}, "SHARD_IDS: names a shard twice"),
        ({"SHARD_COUNT": "0"}, "SHARD_COUNT: Input should be greater than or equal to 1"),
    ],
)
def test_bad_values_name_the_variable(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], expected: str
) -> None:
    with pytest.raises(ConfigError) as info:
        settings(monkeypatch, **env)
    assert expected in str(info.value)


def test_which_process_holds_a_server() -> None:
    guild = (1_000_000_007 << 22) | 5
    assert shard_of(guild, 3) == 1_000_000_007 % 3
    assert holds_guild_shard(discord.Client(intents=discord.Intents.none()), guild)
    shard = shard_of(guild, 3)
    none = discord.Intents.none()
    mine = discord.Client(intents=none, shard_id=shard, shard_count=3)
    other = discord.Client(intents=none, shard_id=(shard + 1) % 3, shard_count=3)
    assert holds_guild_shard(mine, guild) and not holds_guild_shard(other, guild)
    several = discord.AutoShardedClient(
        intents=discord.Intents.none(), shard_ids=[0, 2], shard_count=3
    )
    assert holds_guild_shard(several, guild) == (shard in (0, 2))
