"""The real `halo-bot run` process, driven from outside by the fake Discord and fake Halo.

The fakes run in the test process; the bot is a separate OS process that only
knows them through DISCORD_API_BASE and HALO_API_BASE_URL.
"""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

from tests.fakes.discord_server import FakeDiscord
from tests.fakes.halo_server import NOBLE_SIX, STATIC_SPARTAN_TOKEN, FakeHalo
from tests.support.discord import GUILD_ID, TOKEN, USER_ID
from tests.support.processes import cli_env, spawn_cli, start_bot


async def test_process_answers_interactions_and_stops_cleanly_on_sigterm(
    fakes: tuple[FakeDiscord, FakeHalo], tmp_path: Path
) -> None:
    discord, halo = fakes
    bot = await start_bot(discord, halo, tmp_path)
    try:
        names = {c["name"] for c in discord.synced_commands(GUILD_ID)}
        assert {"link", "unlink", "whois"} <= names
        rec = await discord.invoke("link", {"gamertag": NOBLE_SIX.gamertag}, user_id=USER_ID)
        await rec.wait_final(timeout=20)
        await rec.wait_until(lambda r: r.latest_message() is not None, timeout=20)
        assert rec.embeds()[0]["title"] == "Account linked"
        assert halo.count("profile.svc.halowaypoint.com/users/gt") == 1
    finally:
        code = await bot.stop(signal.SIGTERM)
    log = bot.stderr.decode()
    assert code == 0, log
    assert "Stopped cleanly" in log
    assert TOKEN not in log
    assert STATIC_SPARTAN_TOKEN not in log


async def test_link_survives_a_restart(fakes: tuple[FakeDiscord, FakeHalo], tmp_path: Path) -> None:
    discord, halo = fakes
    bot = await start_bot(discord, halo, tmp_path)
    rec = await discord.invoke("link", {"gamertag": NOBLE_SIX.gamertag}, user_id=USER_ID)
    await rec.wait_final(timeout=20)
    await rec.wait_until(lambda r: r.latest_message() is not None, timeout=20)
    assert await bot.stop(signal.SIGKILL) != 0
    bot = await start_bot(discord, halo, tmp_path)
    try:
        rec = await discord.invoke("whois", {}, user_id=USER_ID)
        await rec.wait_final(timeout=20)
        assert "Noble Six" in rec.embeds()[0]["description"]
    finally:
        assert await bot.stop() == 0


async def run_cli(env: dict[str, str], tmp_path: Path, *args: str) -> tuple[int, str, str]:
    proc = await spawn_cli(
        tmp_path, env, *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_check_validates_both_credentials(
    fakes: tuple[FakeDiscord, FakeHalo], tmp_path: Path
) -> None:
    discord, halo = fakes
    code, out, err = await run_cli(cli_env(discord, halo, tmp_path), tmp_path, "check")
    assert code == 0, err
    assert "Discord: signed in as" in out
    assert "Halo: signed in as" in out
    assert halo.count("profile.svc.halowaypoint.com/users/me") == 1


async def test_check_reports_expired_halo_tokens(
    fakes: tuple[FakeDiscord, FakeHalo], tmp_path: Path
) -> None:
    discord, halo = fakes
    env = cli_env(discord, halo, tmp_path)
    env["HALO_SPARTAN_TOKEN"] = "expired-static-token"
    code, out, err = await run_cli(env, tmp_path, "check")
    assert code == 2
    assert "Halo:" in err and "expired" in err
    assert "expired-static-token" not in out + err
    assert "Traceback" not in err


async def test_sync_commands_publishes_globally(
    fakes: tuple[FakeDiscord, FakeHalo], tmp_path: Path
) -> None:
    discord, halo = fakes
    code, out, err = await run_cli(cli_env(discord, halo, tmp_path), tmp_path, "sync-commands")
    assert code == 0, err
    names = {c["name"] for c in discord.synced_commands(None)}
    assert {"link", "unlink", "whois"} <= names
    assert f"Synced {len(names)} global commands" in out
