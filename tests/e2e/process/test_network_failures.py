"""Unreachable Discord or Halo: one line naming what and what to check, never a traceback.

Real `halo-bot` processes; Discord is a closed loopback port, a name that does not
resolve, TLS spoken to a plain-HTTP server, or the fake answering 401.
"""

from __future__ import annotations

import asyncio
import signal
import socket
from pathlib import Path

from tests.fakes.discord_server import FakeDiscord
from tests.fakes.halo_server import FakeHalo
from tests.support.processes import cli_env, spawn_cli

UNREACHABLE = "could not be reached"


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def run_cli(env: dict[str, str], tmp_path: Path, *args: str) -> tuple[int, str]:
    proc = await spawn_cli(
        tmp_path, env, *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode()


def lines_with(text: str, needle: str) -> list[str]:
    return [line for line in text.splitlines() if needle in line]


async def test_run_retries_an_unreachable_discord_one_line_each_until_stopped(
    fakes: tuple[FakeDiscord, FakeHalo], tmp_path: Path
) -> None:
    discord, halo = fakes
    port = closed_port()
    env = cli_env(discord, halo, tmp_path, DISCORD_API_BASE=f"http://127.0.0.1:{port}/api/v10")
    proc = await spawn_cli(
        tmp_path, env, "run", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    assert proc.stdout is not None
    seen: list[str] = []
    try:
        async with asyncio.timeout(30):
            while len(lines_with("\n".join(seen), UNREACHABLE)) < 3:
                line = (await proc.stdout.readline()).decode()
                assert line, "\n".join(seen)
                seen.append(line.rstrip("\n"))
    finally:
        proc.send_signal(signal.SIGTERM)
    rest, _ = await asyncio.wait_for(proc.communicate(), 20)
    output = "\n".join(seen) + "\n" + rest.decode()
    assert proc.returncode == 0, output
    assert "Traceback" not in output
    failures = lines_with(output, UNREACHABLE)
    assert len(failures) >= 3
    assert f"Discord (127.0.0.1:{port}) could not be reached: connection refused" in failures[0]
    assert "check DISCORD_API_BASE" in failures[0]
    assert "Retrying in 1s" in failures[0] and "Retrying in 2s" in failures[1]
    assert "SIGTERM received" in output


async def test_sync_commands_names_the_refused_connection_in_one_line(
    fakes: tuple[FakeDiscord, FakeHalo], tmp_path: Path
) -> None:
    discord, halo = fakes
    port = closed_port()
    env = cli_env(discord, halo, tmp_path, DISCORD_API_BASE=f"http://127.0.0.1:{port}/api/v10")
    code, output = await run_cli(env, tmp_path, "sync-commands")
    assert code == 1
    assert "Traceback" not in output
    assert lines_with(output, "halo-bot:") == [
        f"halo-bot: Discord (127.0.0.1:{port}) could not be reached: connection refused; "
        "check DISCORD_API_BASE and that nothing blocks outgoing connections."
    ]
    assert discord.command_syncs == []


async def test_check_names_dns_tls_and_refused(
    fakes: tuple[FakeDiscord, FakeHalo], tmp_path: Path
) -> None:
    discord, halo = fakes
    port = closed_port()
    plain_http = discord.api_base.replace("http://", "https://")
    cases = {
        "https://discord-api.invalid/api/v10": "DNS lookup failed",
        plain_http: "TLS handshake failed",
        f"http://127.0.0.1:{port}/api/v10": "connection refused",
    }
    for base, cause in cases.items():
        env = cli_env(discord, halo, tmp_path, DISCORD_API_BASE=base)
        code, output = await run_cli(env, tmp_path, "check")
        assert code == 2, output
        assert "Traceback" not in output
        assert len(lines_with(output, "halo-bot:")) == 1, output
        assert f"could not be reached: {cause};" in output, output


async def test_check_names_a_refused_discord_token(
    fakes: tuple[FakeDiscord, FakeHalo], tmp_path: Path
) -> None:
    discord, halo = fakes
    env = cli_env(discord, halo, tmp_path, DISCORD_TOKEN="not-the-fake-token.x.y")
    code, output = await run_cli(env, tmp_path, "check")
    assert code == 2
    assert "Traceback" not in output
    assert "DISCORD_TOKEN was refused (401)" in output
    assert "not-the-fake-token" not in output


async def test_check_says_not_signed_in_yet_without_a_token_cache(
    fakes: tuple[FakeDiscord, FakeHalo], tmp_path: Path
) -> None:
    discord, halo = fakes
    env = cli_env(discord, halo, tmp_path, AZURE_CLIENT_ID="00000000-0000-0000-0000-000000000001")
    env.pop("HALO_SPARTAN_TOKEN")
    env.pop("HALO_CLEARANCE_TOKEN")
    env["HALO_TOKEN_CACHE"] = str(tmp_path / "never-written.json")
    code, output = await run_cli(env, tmp_path, "check")
    assert code == 2
    assert output.strip() == "halo-bot: Halo: not signed in yet: run `halo-bot login`."
    assert "expired" not in output


async def test_check_names_an_unreachable_halo(
    fakes: tuple[FakeDiscord, FakeHalo], tmp_path: Path
) -> None:
    discord, halo = fakes
    port = closed_port()
    env = cli_env(
        discord,
        halo,
        tmp_path,
        HALO_API_BASE_URL=f"http://127.0.0.1:{port}",
        HALO_REQUEST_DEADLINE_SECONDS="2",
    )
    code, output = await run_cli(env, tmp_path, "check")
    assert code == 2, output
    assert "Traceback" not in output
    assert lines_with(output, "halo-bot:") == [
        f"halo-bot: Halo (127.0.0.1:{port}) could not be reached: connection refused; "
        "check HALO_API_BASE_URL and that nothing blocks outgoing connections."
    ]
