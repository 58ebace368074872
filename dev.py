#!/usr/bin/env python3
"""Set-up and run in one step, on a fresh machine with only Python 3.11+.

    python3 dev.py run     # create .venv, install the bot, start it (reads .env)
    python3 dev.py test    # create .venv, install bot + test tools, lint, type-check, run tests
    python3 dev.py bench   # set up .venv-bench (the bot + SPNKr), run the benchmarks in bench/

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
#: The bot and its tests.
VENV = ROOT / ".venv"
#: The benchmarks: the above plus packages measured against (SPNKr), kept out of .venv.
BENCH_VENV = ROOT / ".venv-bench"


def python_of(env: Path) -> Path:
    return (
        env
        / ("Scripts" if os.name == "nt" else "bin")
        / ("python.exe" if os.name == "nt" else "python")
    )


def ensure_env(extras: str, env: Path = VENV) -> Path:
    """Create ``env`` and install the bot with ``extras`` (only when something changed);
    return its Python."""
    if sys.version_info < (3, 11):
        sys.exit(f"Python 3.11 or newer is needed (this is {sys.version.split()[0]}).")
    py = python_of(env)
    if not py.exists():
        print(f"Creating {env.name} ...", flush=True)
        venv.EnvBuilder(with_pip=True, clear=True).create(env)
    stamp = env / ".installed"
    spec = (ROOT / "pyproject.toml").read_bytes() + extras.encode()
    wanted = hashlib.sha256(spec).hexdigest()
    if stamp.exists() and stamp.read_text().strip() == wanted:
        return py
    print(
        f"Installing the bot{' with ' + extras if extras else ''} into {env.name} ...", flush=True
    )
    target = f".[{extras}]" if extras else "."
    pip = [str(py), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "--upgrade", "pip"], check=True, cwd=ROOT)
    subprocess.run([*pip, "-e", target], check=True, cwd=ROOT)
    stamp.write_text(wanted)
    return py


def run(*args: str, py: Path | None = None, env: dict[str, str] | None = None) -> int:
    return subprocess.run([str(py or python_of(VENV)), *args], cwd=ROOT, env=env).returncode


def compiled_once() -> dict[str, str]:
    """The environment for the tests, with Python's bytecode cache on (in .venv/pycache,
    out of the tree) even where PYTHONDONTWRITEBYTECODE is set: every pytest worker and
    every bot process a test starts would otherwise compile the bot, and pytest rewrite
    every test module, from source again."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.setdefault("PYTHONPYCACHEPREFIX", str(VENV / "pycache"))
    return env


def pytest_workers(rest: list[str]) -> list[str]:
    """Three pytest workers per core unless ``-n`` is given (``-n 0`` runs in-process).

    The suite is mostly waiting (real processes starting, sockets, short deadlines): with one
    worker per core the CPU sat half idle. Deadlines in tests come from configuration and
    are generous next to what a loaded core needs, so more workers only fill the waits.
    ``--maxschedchunk 2``: xdist hands each worker two tests at a time instead of a quarter
    of its share in one block, so the slow tests that ``tests/conftest.py`` puts first go
    to every worker, not all to the first one (that block alone took 207 s).
    """
    if any(a == "-n" or a.startswith(("-n", "--numprocesses")) for a in rest):
        return []
    return ["-n", str(3 * (os.cpu_count() or 1)), "--maxschedchunk", "2"]


def test(rest: list[str]) -> int:
    """Lint, then the type checker and the tests side by side (pyright is CPU for ~20 s while
    the tests mostly wait); pyright's report is printed after the tests'."""
    for step in (["-m", "ruff", "check", "."], ["-m", "ruff", "format", "--check", "."]):
        if code := run(*step):
            return code
    pyright = subprocess.Popen(
        [str(python_of(VENV)), "-m", "pyright", "--project", "."],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        tests = run("-m", "pytest", *pytest_workers(rest), *rest, env=compiled_once())
    finally:
        report, _ = pyright.communicate()
    print(f"pyright: {report.decode(errors='replace').strip()}", flush=True)
    return pyright.returncode or tests


def main(argv: list[str]) -> int:
    command = argv[0] if argv else ""
    rest = argv[1:]
    if command == "run":
        ensure_env("test")
        return run("-m", "bot", "run", *rest)
    if command == "test":
        ensure_env("test")
        return test(rest)
    if command == "bench":
        py = ensure_env("test,bench", BENCH_VENV)
        return run("bench/run_all.py", *rest, py=py)
    if command in ("halo-bot", "cli"):
        ensure_env("test")
        return run("-m", "bot", *rest)
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
