"""Charts are drawn in a worker process: matplotlib never enters the bot's process."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.support.paths import ROOT

SCRIPT = """
import asyncio, json, sys
from datetime import UTC, datetime, timedelta
from bot.features.history.chart import Point, draw_csr_chart, shutdown_worker

async def main():
    now = datetime.now(UTC)
    run = (Point(now - timedelta(days=2), 1200), Point(now - timedelta(days=1), 1350))
    png = await draw_csr_chart([run], "Ranked Arena", since=now - timedelta(days=3), now=now)
    again = await draw_csr_chart([run], "Ranked Arena", since=now - timedelta(days=3), now=now)
    return png, again

png, again = asyncio.run(main())
shutdown_worker()
print(json.dumps({
    "png": png[:8].hex(),
    "same": png == again,
    "width": int.from_bytes(png[16:20], "big"),
    "height": int.from_bytes(png[20:24], "big"),
    "matplotlib": sorted(m for m in sys.modules if m.split(".")[0] in ("matplotlib", "numpy")),
}))
"""


def test_chart_is_drawn_in_a_worker_and_matplotlib_stays_out_of_the_bot() -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    got = json.loads(done.stdout.strip().splitlines()[-1])
    assert got["png"] == "89504e470d0a1a0a"  # a PNG
    assert (got["width"], got["height"]) == (1000, 500)
    assert got["same"] is True
    assert got["matplotlib"] == []
