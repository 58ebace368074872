"""Fixtures every test folder shares.

* ``world``: the real bot with its real services against a fake Discord and a fake Halo,
  in this process (:mod:`tests.support.world`);
* ``fake_discord``: a started fake Discord with a populated server (:mod:`tests.support.discord`);
* ``fakes``: a fake Discord and a fake Halo for tests that start the bot as a real process
  (:mod:`tests.support.processes`);
* ``db`` and ``db_target``: a database on each engine, SQLite and (with ``TEST_DATABASE_URL``)
  PostgreSQL in a schema of its own; ``pg_url``: such a schema's URL
  (:mod:`tests.support.engines`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.fakes.discord_server import FakeDiscord
from tests.fakes.halo_server import FakeHalo
from tests.support.discord import running_fake
from tests.support.world import World, running_world

#: ``db`` / ``db_target`` (every storage test on SQLite and on PostgreSQL) and ``pg_url``.
pytest_plugins = ["tests.support.engines"]


@pytest.fixture(name="world")
async def world_fixture(tmp_path: Path) -> AsyncIterator[World]:
    async with running_world(tmp_path) as world:
        yield world
        world.discord.assert_healthy()


@pytest.fixture(name="fake_discord")
async def fake_discord_fixture() -> AsyncIterator[FakeDiscord]:
    """A started fake with :func:`populate_world`; fails the test on unknown routes."""
    async with running_fake() as fake:
        yield fake
        fake.assert_healthy()


@pytest.fixture(name="fakes")
async def fakes_fixture() -> AsyncIterator[tuple[FakeDiscord, FakeHalo]]:
    async with running_fake() as discord, FakeHalo() as halo:
        yield discord, halo
