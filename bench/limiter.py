"""The Halo limiter's worst window (issue 16): never more than rate x t + 1 requests in
any window t, idle or not.

    .venv-bench/bin/python bench/limiter.py [--rate 5] [--requests 25] [--idle 2]

Waits ``--idle`` seconds after the limiter's first request (the spell after which a token
bucket would have saved up a burst), then sends ``--requests`` at once through the real
:class:`~bot.halo.ratelimit.UpstreamLimiter`, and prints the busiest one-second window,
the smallest gap between two sends and the worst excess over ``rate x t + 1`` in any
window, on the real clock.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.halo.ratelimit import UpstreamLimiter  # noqa: E402
from tests.support.windows import worst_excess  # noqa: E402


async def measure(rate: float, requests: int, idle: float) -> None:
    limiter = UpstreamLimiter(rate)
    await limiter.acquire("skill")  # the request before the idle spell
    await asyncio.sleep(idle)
    sent: list[float] = []

    async def one() -> None:
        await limiter.acquire("skill")
        sent.append(time.monotonic())

    await asyncio.gather(*(one() for _ in range(requests)))
    sent.sort()
    busiest = max(sum(1 for t in sent if start <= t < start + 1.0) for start in sent)
    gaps = [b - a for a, b in itertools.pairwise(sent)]
    print(f"rate {rate:g}/s, {requests} requests after {idle:g} s idle:")
    print(f"  busiest one-second window: {busiest} requests (bound: {rate:g} + 1)")
    print(f"  smallest gap: {min(gaps) * 1000:.1f} ms (1/rate = {1000 / rate:.1f} ms)")
    print(f"  worst excess over rate x t + 1 in any window: {worst_excess(sent, rate) - 1:+.2f}")
    print(f"  all sent in {sent[-1] - sent[0]:.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rate", type=float, default=5.0)
    parser.add_argument("--requests", type=int, default=25)
    parser.add_argument("--idle", type=float, default=2.0)
    args = parser.parse_args()
    asyncio.run(measure(args.rate, args.requests, args.idle))


if __name__ == "__main__":
    main()
