"""The halo-bot command line, run as a real process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.support.paths import ROOT


def run_cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None):
    base = {
        k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "HALO_", "AZURE_"))
    }
    base.update(env or {})
    base["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        capture_output=True,
        text=True,
        env=base,
        cwd=cwd or ROOT,
        timeout=60,
    )


def test_help_lists_every_command() -> None:
    result = run_cli("--help")
    assert result.returncode == 0
    for name in ("run", "login", "check", "sync-commands"):
        assert name in result.stdout


def test_run_without_token_prints_one_clear_line(tmp_path: Path) -> None:
    result = run_cli("--env-file", str(tmp_path / "missing.env"), "run", cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "DISCORD_TOKEN is not set" in lines[0]
    assert "Traceback" not in result.stderr


def test_run_without_halo_credentials_says_what_to_set(tmp_path: Path) -> None:
    result = run_cli("run", env={"DISCORD_TOKEN": "abc.def.ghi"}, cwd=tmp_path)
    assert result.returncode == 2
    assert "HALO_SPARTAN_TOKEN" in result.stderr
    assert "AZURE_CLIENT_ID" in result.stderr
    assert "Traceback" not in result.stderr


def test_invalid_value_is_one_line_and_hides_secrets(tmp_path: Path) -> None:
    env = {"DISCORD_TOKEN": "secret-token-xyz", "RANK_POLL_SECONDS": "soon"}
    result = run_cli("run", env=env, cwd=tmp_path)
    assert result.returncode == 2
    assert "RANK_POLL_SECONDS" in result.stderr
    assert "secret-token-xyz" not in result.stderr + result.stdout
    assert len(result.stderr.strip().splitlines()) == 1


def test_login_without_azure_client_id(tmp_path: Path) -> None:
    result = run_cli("login", cwd=tmp_path)
    assert result.returncode == 2
    assert "AZURE_CLIENT_ID is not set" in result.stderr


def test_no_command_prints_help_and_fails() -> None:
    result = run_cli()
    assert result.returncode == 2
    assert "usage: halo-bot" in result.stdout
