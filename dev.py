#!/usr/bin/env python3
"""Set-up and run in one step, on a fresh machine with only Python 3.11+.

    python3 dev.py run     # create .venv, install the bot, start it (reads .env)
    python3 dev.py test    # create .venv, install the bot and test tools, lint, run the tests
    python3 dev.py bench   # install, then run the benchmarks in bench/

Installs happen only when pyproject.toml changed since the last install.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".installed"


def ensure_env(extras: str) -> None:
    if sys.version_info < (3, 11):
        sys.exit(f"Python 3.11 or newer is needed (this is {sys.version.split()[0]}).")
    if not PY.exists():
        print("Creating .venv ...", flush=True)
        venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
    spec = (ROOT / "pyproject.toml").read_bytes() + extras.encode()
    wanted = hashlib.sha256(spec).hexdigest()
    if STAMP.exists() and STAMP.read_text().strip() == wanted:
        return
    print(f"Installing the bot{' with ' + extras if extras else ''} into .venv ...", flush=True)
    target = f".[{extras}]" if extras else "."
    pip = [str(PY), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "--upgrade", "pip"], check=True, cwd=ROOT)
    subprocess.run([*pip, "-e", target], check=True, cwd=ROOT)
    STAMP.write_text(wanted)


def run(*args: str) -> int:
    return subprocess.run([str(PY), *args], cwd=ROOT).returncode


def main(argv: list[str]) -> int:
    command = argv[0] if argv else ""
    rest = argv[1:]
    if command == "run":
        ensure_env("test")
        return run("-m", "bot", "run", *rest)
    if command == "test":
        ensure_env("test")
        for step in (
            ["-m", "ruff", "check", "."],
            ["-m", "ruff", "format", "--check", "."],
            ["-m", "pytest", *rest],
        ):
            code = run(*step)
            if code:
                return code
        return 0
    if command == "bench":
        ensure_env("test,bench")
        return run("bench/run_all.py", *rest)
    if command in ("halo-bot", "cli"):
        ensure_env("test")
        return run("-m", "bot", *rest)
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
