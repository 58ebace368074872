"""Driving real bot processes against the fakes, for the benchmarks.

The environment of a bot process, starting and stopping it, the fake Discord in a
process of its own (:class:`RemoteDiscord`, driven through its admin API), closed loops
of cached ``/csr`` lookups (:func:`cached_lookups`), and the table helpers the scripts
print with. ``load.py`` and ``instances.py`` use them.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import signal
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.fakes.halo_server import (  # noqa: E402
    DEFAULT_CLEARANCE,
    NOBLE_SIX,
    STATIC_SPARTAN_TOKEN,
    FakeHalo,
)
from tests.support.discord import TOKEN  # noqa: E402
from tests.support.processes import spawn_cli  # noqa: E402


def pct(values: list[float], p: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, math.ceil(p / 100 * len(ordered)) - 1))
    return ordered[index]


def ms(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value * 1000:.0f} ms"


def row(label: str, value: object, target: str = "") -> None:
    print(f"  {label:<50} {value!s:>16}  {target}")


def bot_process_env(api_base: str, halo: FakeHalo, folder: Path, **extra: str) -> dict[str, str]:
    """The environment of a bot process against the fakes (``extra``: more settings)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DISCORD_", "HALO_", "AZURE_", "DATABASE_", "RANK_", "REDIS_"))
    }
    env.update(
        PYTHONPATH=str(ROOT),
        DISCORD_TOKEN=TOKEN,
        DISCORD_API_BASE=api_base,
        HALO_API_BASE_URL=halo.base_url,
        HALO_SPARTAN_TOKEN=STATIC_SPARTAN_TOKEN,
        HALO_CLEARANCE_TOKEN=DEFAULT_CLEARANCE,
        DATABASE_PATH=str(folder / "bot.db"),
        GUILD_COMMANDS_PER_MINUTE="1000000",
        # The catalogue a bot loads at start-up (30-odd files) is done in a second.
        HALO_REQUESTS_PER_SECOND="100",
        LOG_LEVEL="WARNING",
    )
    env.update(extra)
    return env


async def halo_quiet(halo: FakeHalo, for_seconds: float = 1.0) -> None:
    """Until the fake Halo got no request for ``for_seconds`` (start-up loads done)."""
    seen = -1
    while seen != len(halo.requests):
        seen = len(halo.requests)
        await asyncio.sleep(for_seconds)


async def start_bot_process(env: dict[str, str], folder: Path) -> asyncio.subprocess.Process:
    """``python -m bot run`` in ``folder`` (its logs go to this process's output)."""
    return await spawn_cli(folder, env, "run")


async def stop_processes(*procs: asyncio.subprocess.Process | None) -> None:
    """SIGTERM, then SIGKILL after 20 s."""
    for proc in procs:
        if proc is not None and proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(proc.wait(), 20)
            if proc.returncode is None:
                proc.kill()
                await proc.wait()


@dataclass
class RemoteDiscord:
    """The fake Discord in a process of its own (``python -m tests.fakes.discord_server``),
    driven through its admin API."""

    proc: asyncio.subprocess.Process
    api_base: str
    http: aiohttp.ClientSession

    @property
    def admin(self) -> str:
        return self.api_base.split("/api/")[0] + "/_admin"

    async def add_guild(self, spec: dict[str, Any]) -> None:
        async with self.http.post(f"{self.admin}/guilds", json=spec) as response:
            response.raise_for_status()

    async def wait_identified(self, count: int, timeout: float = 60) -> None:  # noqa: ASYNC109
        """Until ``count`` gateway sessions have identified (READY follows at once)."""
        query = f"wait=identify&count={count}&timeout={timeout}"
        async with self.http.get(f"{self.admin}/gateway?{query}") as response:
            response.raise_for_status()
        await asyncio.sleep(1)  # READY and GUILD_CREATE processed

    async def csr(self, player: str, guild_id: int, user_id: int) -> bool:
        """``/csr player`` as ``user_id`` in ``guild_id``; True if its CSR embed came."""
        body = {
            "name": "csr",
            "options": {"player": player},
            "guild_id": guild_id,
            "user_id": user_id,
            "wait": True,
            "timeout": 30,
        }
        async with self.http.post(f"{self.admin}/invoke", json=body) as response:
            record = await response.json()
        return response.status == 200 and "ranked CSR" in str(record)


@contextlib.asynccontextmanager
async def remote_discord() -> AsyncIterator[RemoteDiscord]:
    fake = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.fakes.discord_server",
        "--token",
        TOKEN,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert fake.stdout is not None
        api_base = (await asyncio.wait_for(fake.stdout.readline(), 30)).decode().strip()
        async with aiohttp.ClientSession() as http:
            yield RemoteDiscord(fake, api_base, http)
    finally:
        await stop_processes(fake)


@dataclass
class Throughput:
    answered: int
    failed: int
    wall: float

    @property
    def rate(self) -> float:
        return self.answered / self.wall


async def cached_lookups(
    discord: RemoteDiscord, seconds: float, senders: int, guilds: list[int], first_user: int
) -> Throughput:
    """``senders`` closed loops of ``/csr`` for Noble Six (cached) for ``seconds``, each
    interaction from a new member, taking turns over ``guilds``."""
    loop = asyncio.get_running_loop()
    stop = loop.time() + seconds
    result = Throughput(0, 0, 0.0)
    counter = 0

    async def sender() -> None:
        nonlocal counter
        while loop.time() < stop:
            counter += 1
            guild = guilds[counter % len(guilds)]
            if await discord.csr(NOBLE_SIX.gamertag, guild, first_user + counter):
                result.answered += 1
            else:
                result.failed += 1

    started = loop.time()
    await asyncio.gather(*(sender() for _ in range(senders)))
    result.wall = loop.time() - started
    return result
