"""The Docker image's entry point and paths, without a Docker daemon.

The image (see the Dockerfile) installs the bot in a root-owned /app, runs as a non-root
user in its working directory, and keeps its data in the /data volume; operators start it
with ``--env-file .env`` copied from ``.env.example``. This lays the same out in a temp
folder (app root-owned, the volume owned by ``nobody``), takes the Dockerfile's ENV,
WORKDIR, CMD and HEALTHCHECK and the .env.example values as ``docker run --env-file``
would, and runs ``check``, ``run`` and the health check as ``nobody``.
"""

from __future__ import annotations

import asyncio
import json
import os
import pwd
import re
import shutil
import signal
import socket
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.discord_server import FakeDiscord
from tests.fakes.halo_server import DEFAULT_CLEARANCE, STATIC_SPARTAN_TOKEN, FakeHalo
from tests.support.discord import GUILD_ID, TOKEN
from tests.support.paths import ROOT

SETPRIV = shutil.which("setpriv")
pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or SETPRIV is None, reason="needs root and setpriv to run as nobody"
)


def dockerfile() -> str:
    return (ROOT / "Dockerfile").read_text(encoding="utf-8")


def docker_env() -> dict[str, str]:
    """The ENV instructions of the Dockerfile (``KEY=VALUE`` pairs, continued lines)."""
    text = dockerfile().replace("\\\n", " ")
    env: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("ENV "):
            env.update(dict(re.findall(r"(\w+)=(\S+)", line)))
    return env


def instruction(name: str) -> list[str]:
    text = dockerfile().replace("\\\n", " ")
    found = [line[len(name) + 1 :].strip() for line in text.splitlines() if line.startswith(name)]
    assert found, name
    return found


def env_file(path: Path) -> dict[str, str]:
    """``docker run --env-file``: every ``KEY=VALUE`` line, values taken literally."""
    values: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value
    return values


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def layout() -> Iterator[tuple[Path, Path]]:
    """``(app, data)``: the bot copied into a root-owned app folder, an empty volume."""
    root = Path(tempfile.mkdtemp(prefix="halo-image-", dir="/tmp"))
    try:
        root.chmod(0o755)
        app, data = root / "app", root / "data"
        app.mkdir(mode=0o755)
        shutil.copytree(ROOT / "bot", app / "bot", ignore=shutil.ignore_patterns("__pycache__"))
        for name in ("pyproject.toml", "README.md", "LICENSE"):
            shutil.copy(ROOT / name, app / name)
        data.mkdir(mode=0o755)
        nobody = pwd.getpwnam("nobody")
        os.chown(data, nobody.pw_uid, nobody.pw_gid)
        yield app, data
    finally:
        shutil.rmtree(root, ignore_errors=True)


def image_env(app: Path, data: Path, discord: FakeDiscord, halo: FakeHalo) -> dict[str, str]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(data)}
    for key, value in docker_env().items():
        env[key] = value.replace("/data", str(data)).replace("/app", str(app))
    env.update(env_file(ROOT / ".env.example"))  # docker run --env-file .env
    env.update(
        {
            "PYTHONPATH": str(app),  # the image's installed package
            "DISCORD_TOKEN": TOKEN,
            "DISCORD_API_BASE": discord.api_base,
            "HALO_API_BASE_URL": halo.base_url,
            "HALO_SPARTAN_TOKEN": STATIC_SPARTAN_TOKEN,
            "HALO_CLEARANCE_TOKEN": DEFAULT_CLEARANCE,
            "METRICS_HOST": "127.0.0.1",
            "METRICS_PORT": str(free_port()),  # the image's 8080, moved for parallel tests
        }
    )
    return env


def as_nobody(*argv: str) -> list[str]:
    assert SETPRIV is not None
    nobody = pwd.getpwnam("nobody")
    return [
        SETPRIV,
        f"--reuid={nobody.pw_uid}",
        f"--regid={nobody.pw_gid}",
        "--clear-groups",
        "--",
        *argv,
    ]


def entry_point(args: list[str]) -> list[str]:
    """The image's ``halo-bot`` console script is ``bot.core.cli:main`` = ``python -m bot``."""
    assert args[0] == "halo-bot"
    return [sys.executable, "-m", "bot", *args[1:]]


def workdir(app: Path, data: Path) -> Path:
    last = instruction("WORKDIR")[-1]
    return Path(last.replace("/data", str(data)).replace("/app", str(app)))


async def run(cmd: list[str], env: dict[str, str], cwd: Path) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        *cmd, env=env, cwd=cwd, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode()


async def test_image_layout_runs_as_non_root_with_the_readme_env(
    fakes: tuple[FakeDiscord, FakeHalo], layout: tuple[Path, Path]
) -> None:
    discord, halo = fakes
    app, data = layout
    env = image_env(app, data, discord, halo)
    cwd = workdir(app, data)
    cmd = json.loads(instruction("CMD")[-1])
    assert cmd == ["halo-bot", "run"]

    code, out = await run(as_nobody(*entry_point(["halo-bot", "check"])), env, cwd)
    assert code == 0, out
    assert "Traceback" not in out
    database = Path(env.get("DATABASE_PATH") or "data/bot.db")
    database = database if database.is_absolute() else cwd / database
    assert database.is_relative_to(data), database  # in the volume, whatever .env says
    assert f"Database: {database}" in out

    env["DISCORD_DEV_GUILD_ID"] = str(GUILD_ID)
    proc = await asyncio.create_subprocess_exec(
        *as_nobody(*entry_point(cmd)),
        env=env,
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        await discord.wait_gateway("identify", timeout=30)
        health = json.loads(instruction("HEALTHCHECK")[-1].split(" CMD ", 1)[1])
        assert health[0] == "python"
        for _ in range(100):
            code, out = await run(as_nobody(sys.executable, *health[1:]), env, cwd)
            if code == 0:
                break
            await asyncio.sleep(0.1)
        assert code == 0, out
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
        out_bytes, _ = await asyncio.wait_for(proc.communicate(), 30)
    out = out_bytes.decode()
    assert proc.returncode == 0, out
    assert "Traceback" not in out and "PermissionError" not in out
    nobody = pwd.getpwnam("nobody")
    assert database.exists() and database.stat().st_uid == nobody.pw_uid
    written = {p for p in app.rglob("*") if p.stat().st_uid != 0}
    assert not written  # nothing in the root-owned app folder
