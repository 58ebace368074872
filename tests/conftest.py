"""Fixtures every test folder shares.

* ``world``: the real bot with its real services against a fake Discord and a fake Halo,
  in this process (:mod:`tests.support.world`);
* ``fake_discord``: a started fake Discord with a populated server (:mod:`tests.support.discord`);
* ``fakes``: a fake Discord and a fake Halo for tests that start the bot as a real process
  (:mod:`tests.support.processes`);
* ``db`` and ``db_target``: a database on each engine, SQLite and (with ``TEST_DATABASE_URL``)
  PostgreSQL in a schema of its own; ``pg_url``: such a schema's URL
  (:mod:`tests.support.engines`);
* ``coordination``: the shared pieces of bot instances, in-process and on Redis
  (``TEST_REDIS_URL``; skipped without it unless ``REQUIRE_SERVICES=1``);
* ``throwaway_redis``: a private redis-server to kill and restart (outage tests).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.fakes.discord_server import FakeDiscord
from tests.fakes.halo_server import FakeHalo
from tests.support.coordination import Coordination, ThrowawayRedis
from tests.support.discord import running_fake
from tests.support.world import World, running_world

#: Folders whose every test starts real bot processes: seconds each, like ``slow`` tests.
SLOW_FOLDERS = ("tests/e2e/process/", "tests/e2e/scale/")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Process tests, then other slow tests, then the rest, each in a stable order.

    xdist hands tests out in collection order, so the long waits start at once on every
    worker and the short tests fill in around them, instead of one long test starting last
    and stretching the run."""

    def rank(item: pytest.Item) -> int:
        path = item.path.as_posix()
        if any(folder in path for folder in SLOW_FOLDERS):
            return 0
        return 1 if item.get_closest_marker("slow") is not None else 2

    items.sort(key=rank)


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


def _service_missing(reason: str) -> None:
    """Skip with one line, or fail when ``REQUIRE_SERVICES=1`` (CI on a machine that has it)."""
    if os.environ.get("REQUIRE_SERVICES") == "1":
        pytest.fail(f"{reason} (REQUIRE_SERVICES=1)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(name="coordination", params=["in-process", "redis"])
async def coordination_fixture(request: pytest.FixtureRequest) -> AsyncIterator[Coordination]:
    """The shared pieces of bot instances, in-process or on ``TEST_REDIS_URL`` under a key
    prefix of the test's own (deleted afterwards)."""
    if request.param == "in-process":
        yield Coordination("in-process")
        return
    url = os.environ.get("TEST_REDIS_URL", "").strip()
    if not url:
        _service_missing("TEST_REDIS_URL is not set: the Redis variant is skipped")
    coordination = Coordination("redis", url, prefix=f"test:{uuid.uuid4().hex}:")
    try:
        yield coordination
    finally:
        await coordination.close()


@pytest.fixture(name="throwaway_redis")
async def throwaway_redis_fixture() -> AsyncIterator[ThrowawayRedis]:
    """A private redis-server a test may kill and restart (for outage tests)."""
    if not ThrowawayRedis.available():
        _service_missing("redis-server is not installed: the Redis outage tests are skipped")
    server = ThrowawayRedis()
    await server.start()
    try:
        yield server
    finally:
        await server.kill()
