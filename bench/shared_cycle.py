"""One rank cycle of 50,000 players over 1 and over 3 instances (issue 13): a script that
prints, never asserts.

The players, their activity and the schedule are bench/announce_cycle.py's (part 2): a
baseline cycle, the schedule as after a day of running, then one cycle's worth of matches;
that state is made once in a PostgreSQL database and copied (``CREATE DATABASE ...
TEMPLATE``), so both runs start from the same rows. Each run is one cycle, at the same
simulated time, through the real ``RankWatcher`` with leased work units
(``SharedCycle``). Each instance is built by the bot's composition root
(``build_services``): a database pool, a Redis connection and a Halo client of its own,
``SHARD_COUNT=n`` with one shard each; they run in this process, one event loop. All share
the PostgreSQL database, one Redis key prefix (so one Halo budget,
``HALO_REQUESTS_PER_SECOND``) and the fake Halo, which counts every CSR request: how many
each instance sent, the total, and the (player, playlist) pairs asked for twice.

    .venv/bin/python bench/shared_cycle.py [--players 50000] [--rate 5] [--polling adaptive]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import math
import random
import re
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.announce_cycle import (  # noqa: E402
    CYCLE,
    FIRST_XUID,
    ActivityModel,
    Clock,
    bench_settings,
    prepare,
    start_of_hour,
)
from bench.instances import (  # noqa: E402
    DATABASE_URL,
    REDIS_URL,
    load_average,
    redis_prefix,
    require_services,
    scratch_database,
)
from bot.core.services import Services, build_services  # noqa: E402
from bot.features.announcements.cycle import CycleReport, RankWatcher  # noqa: E402
from bot.features.announcements.leases import SharedCycle  # noqa: E402
from bot.features.announcements.schedule import PollPolicy  # noqa: E402
from bot.halo.playlists import RANKED_PLAYLISTS  # noqa: E402
from tests.fakes.halo_server import SKILL_HOST, FakeHalo  # noqa: E402

CSR_PATH = re.compile(r"/playlist/([^/]+)/csrs$")


@dataclass
class Run:
    instances: int
    reports: list[CycleReport]
    requests: int  # CSR requests the fake Halo received
    twice: int  # (player, playlist) pairs asked for more than once
    wall: float
    unsplit: int  # requests for the same pairs in whole batches, without work units


def csr_requests(fake: FakeHalo, since: int) -> tuple[int, Counter[tuple[str, str]]]:
    """CSR requests the fake Halo received from index ``since`` on, and how often each
    (player, playlist) was in one."""
    requests = 0
    asked: Counter[tuple[str, str]] = Counter()
    for request in fake.requests[since:]:
        found = CSR_PATH.search(request.path)
        if request.host != SKILL_HOST or found is None:
            continue
        requests += 1
        for ref in request.query.get("players", "").split(","):
            asked[(ref.strip(), found.group(1).lower())] += 1
    return requests, asked


async def one_cycle(
    fake: FakeHalo,
    database_url: str,
    redis_url: str,
    instances: int,
    clock: Clock,
    *,
    rate: float,
    adaptive: bool,
    seed: int,
) -> Run:
    """One cycle run by ``instances`` instances on ``database_url`` (state as prepared)."""
    async with redis_prefix(redis_url) as prefix:
        services: list[Services] = []
        try:
            for shard in range(instances):
                settings = bench_settings(
                    fake,
                    database_url=database_url,
                    redis_url=redis_url,
                    redis_key_prefix=prefix,
                    shard_count=instances,
                    shard_ids=str(shard),
                    halo_requests_per_second=rate,
                )
                services.append(await build_services(settings))
            watchers = [
                RankWatcher(
                    s.db,
                    s.halo,
                    clock=clock,
                    policy=PollPolicy(adaptive=adaptive, random=random.Random(seed + n).random),
                    leases=SharedCycle(s.db, interval=CYCLE, clock=clock),
                    observe_lookups=False,
                )
                for n, s in enumerate(services)
            ]
            for s in services:  # static content, cached for hours: not part of the cycle
                await s.halo.get_csr_season_calendar()
            since = len(fake.requests)
            started = time.perf_counter()
            reports = await asyncio.gather(*(w.run_cycle() for w in watchers))
            wall = time.perf_counter() - started
        finally:
            for s in services:
                await s.close()
    requests, asked = csr_requests(fake, since)
    twice = sum(1 for n in asked.values() if n > 1)
    per_playlist = Counter(playlist for _, playlist in asked)
    batch = services[0].halo.csr_batch_size
    unsplit = sum(math.ceil(n / batch) for n in per_playlist.values())
    return Run(instances, reports, requests, twice, wall, unsplit)


def show(runs: list[Run], rate: float) -> None:
    first = runs[0]
    print(
        f"  {'instances':>9} {'CSR requests':>13} {'per instance':>22} {'asked twice':>12}"
        f" {'pairs checked':>14} {'changes':>8} {'wall time':>10} {'ratio':>6}"
    )
    for run in runs:
        per = " / ".join(str(r.csr_requests) for r in run.reports)
        checked = sum(r.checked for r in run.reports)
        changes = sum(r.changes for r in run.reports)
        print(
            f"  {run.instances:>9} {run.requests:>13,} {per:>22} {run.twice:>12}"
            f" {checked:>14,} {changes:>8,} {run.wall:>9.1f}s {run.wall / first.wall:>6.3f}"
        )
    floor = max(0, first.requests - 1) / rate
    print(f"  the budget's floor for {first.requests:,} requests at {rate:g}/s: {floor:.1f} s")
    print(
        f"  the same pairs in whole batches (one process on SQLite, no work units): "
        f"{first.unsplit:,} requests"
    )
    for run in runs:
        units = " / ".join(str(r.units) for r in run.reports)
        errors = sum(len(r.errors) for r in run.reports)
        print(f"  {run.instances} instance(s): work units per instance {units}, errors {errors}")


async def main(args: argparse.Namespace) -> int:
    if not await require_services(args.database_url, args.redis_url):
        return 0
    adaptive = args.polling == "adaptive"
    print(
        f"A rank cycle of {args.players:,} players ({args.polling} polling) at "
        f"HALO_REQUESTS_PER_SECOND={args.rate:g}, over 1 and over 3 instances; "
        f"{load_average()} before"
    )
    async with FakeHalo() as fake:
        xuids = [FIRST_XUID + i for i in range(args.players)]
        model = ActivityModel(fake, xuids, list(RANKED_PLAYLISTS), args.seed)
        clock = start_of_hour()
        async with scratch_database(args.database_url) as template:
            started = time.perf_counter()
            services = await build_services(
                bench_settings(fake, database_url=template, halo_requests_per_second=100)
            )
            try:
                await prepare(
                    services.db, services.halo, model, clock, seed=args.seed, adaptive=adaptive
                )
            finally:
                await services.close()
            # Five minutes on: an hour of play begins, the checks due by then are done.
            clock.now += CYCLE
            model.new_hour()
            moves = model.five_minutes()
            print(
                f"  state prepared in {time.perf_counter() - started:.0f} s "
                f"(baseline cycle{', schedule' if adaptive else ''}; {moves:,} CSR moves since)"
            )
            runs: list[Run] = []
            for instances in (1, 3):
                async with scratch_database(args.database_url, template=template) as copy:
                    runs.append(
                        await one_cycle(
                            fake,
                            copy,
                            args.redis_url,
                            instances,
                            Clock(clock.now),
                            rate=args.rate,
                            adaptive=adaptive,
                            seed=args.seed,
                        )
                    )
    show(runs, args.rate)
    print(f"  ({load_average()} after)")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--database-url", default=DATABASE_URL, help="BENCH_DATABASE_URL")
    parser.add_argument("--redis-url", default=REDIS_URL, help="BENCH_REDIS_URL")
    parser.add_argument("--players", type=int, default=50_000)
    parser.add_argument("--rate", type=float, default=5.0, help="HALO_REQUESTS_PER_SECOND")
    parser.add_argument("--polling", choices=("adaptive", "every"), default="adaptive")
    parser.add_argument("--seed", type=int, default=16)
    logging.basicConfig(level=logging.ERROR)
    sys.exit(asyncio.run(main(parser.parse_args())))
