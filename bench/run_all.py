"""Run every benchmark in bench/ in turn with its default (quick) settings.

    python3 dev.py bench            # sets up .venv-bench first, then runs this
    .venv-bench/bin/python bench/run_all.py [--only NAME]

Each script prints its own table; see bench/README.md for what they measure and for
the numbers of the last full run.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--only", help="run only the benchmark whose file name contains this")
    args = parser.parse_args()
    scripts = sorted(p for p in HERE.glob("*.py") if p.name != Path(__file__).name)
    if args.only:
        scripts = [p for p in scripts if args.only in p.stem]
    failed = 0
    for script in scripts:
        print(f"=== {script.stem} ===", flush=True)
        started = time.monotonic()
        code = subprocess.run([sys.executable, str(script)], cwd=HERE.parent).returncode
        print(f"=== {script.stem}: exit {code} in {time.monotonic() - started:.1f} s ===\n")
        failed += code != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
