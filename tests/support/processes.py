"""Running the real bot process (``python -m bot run``) against the in-process fakes.

The bot only knows the fakes through DISCORD_API_BASE and HALO_API_BASE_URL.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path
from typing import Any

from tests.fakes.discord_server import FakeDiscord
from tests.fakes.halo_server import DEFAULT_CLEARANCE, STATIC_SPARTAN_TOKEN, FakeHalo
from tests.support.discord import GUILD_ID, TOKEN
from tests.support.paths import ROOT

#: The Halo request deadline of a bot process in tests (seconds).
PROCESS_DEADLINE = 3.0


def bot_env(discord: FakeDiscord, halo: FakeHalo, tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DISCORD_", "HALO_", "AZURE_", "DATABASE_", "RANK_"))
    }
    env.update(
        {
            "PYTHONPATH": str(ROOT),
            "DISCORD_TOKEN": TOKEN,
            "DISCORD_API_BASE": discord.api_base,
            "DISCORD_DEV_GUILD_ID": str(GUILD_ID),
            "HALO_API_BASE_URL": halo.base_url,
            "HALO_SPARTAN_TOKEN": STATIC_SPARTAN_TOKEN,
            "HALO_CLEARANCE_TOKEN": DEFAULT_CLEARANCE,
            "DATABASE_PATH": str(tmp_path / "bot.db"),
            "USER_COOLDOWN_SECONDS": "0",
            # Short, like the in-process world's (tests/support/world.py), but above the
            # 1.5 s answer delays the crash tests give Halo.
            "HALO_REQUEST_DEADLINE_SECONDS": str(PROCESS_DEADLINE),
            # The most the settings accept: at the default 5 a second, the catalogue the
            # bot builds at start-up (30-odd files) held commands behind it for seconds.
            "HALO_REQUESTS_PER_SECOND": "100",
            "LOG_LEVEL": "INFO",
        }
    )
    env.update(extra)
    return env


def cli_env(discord: FakeDiscord, halo: FakeHalo, tmp_path: Path, **extra: str) -> dict[str, str]:
    """:func:`bot_env` without a dev guild: what an operator's ``halo-bot`` command sees."""
    env = bot_env(discord, halo, tmp_path, **extra)
    env.pop("DISCORD_DEV_GUILD_ID")
    return env


async def spawn_cli(
    folder: Path, env: dict[str, str], *command: str, **streams: Any
) -> asyncio.subprocess.Process:
    """``python -m bot COMMAND...`` (``run``, ``check``, ``login``...) in ``folder`` with only
    ``env`` (no .env file is read); ``streams``: where stdout and stderr go (inherited
    when not given)."""
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "--env-file",
        str(folder / "none.env"),
        *command,
        cwd=folder,
        env=env,
        **streams,
    )


class BotProcess:
    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.stderr = b""

    async def stop(self, sig: int = signal.SIGTERM, timeout: float = 20) -> int:  # noqa: ASYNC109
        if self.proc.returncode is None:
            self.proc.send_signal(sig)
        _, err = await asyncio.wait_for(self.proc.communicate(), timeout)
        self.stderr += err
        assert self.proc.returncode is not None
        return self.proc.returncode


async def start_bot(
    discord: FakeDiscord, halo: FakeHalo, tmp_path: Path, **extra: str
) -> BotProcess:
    identified = len(discord.gateway_events("identify"))
    proc = await spawn_cli(
        tmp_path,
        bot_env(discord, halo, tmp_path, **extra),
        "run",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    bot = BotProcess(proc)
    try:
        await discord.wait_gateway("identify", count=identified + 1, timeout=30)
        for _ in range(300):
            if discord.synced_commands(GUILD_ID):
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)  # READY and GUILD_CREATE processed
    except BaseException:
        await bot.stop(signal.SIGKILL)
        raise
    return bot
