"""`halo-bot run` that ends on a fatal error says so in its one line and does not claim
to have "Stopped cleanly" first; a stop by SIGTERM still does (test_cli_process)."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.process.test_network_failures import cli_env, run_cli
from tests.fakes.discord_server import FakeDiscord
from tests.fakes.halo_server import FakeHalo


async def test_a_refused_token_ends_run_without_stopped_cleanly(
    fakes: tuple[FakeDiscord, FakeHalo], tmp_path: Path
) -> None:
    discord, halo = fakes
    env = cli_env(discord, halo, tmp_path, DISCORD_TOKEN="not-the-fake-token.x.y")
    code, output = await run_cli(env, tmp_path, "run")
    assert code != 0, output
    assert "Traceback" not in output
    assert "DISCORD_TOKEN was refused by Discord (401)" in output
    assert "Stopped cleanly" not in output, output
