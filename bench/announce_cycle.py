"""Benchmark rank-announcement cycles (a script, not a test: it prints, never asserts).

Part 1, one cycle: 1,000 tracked memberships (600 unique players) across 50 servers,
4 ranked playlists, the fake Halo API answering every CSR request in 50 ms, the default
global Halo rate limit (5 requests/s). The cycle runs through :class:`RankWatcher` without Discord;
every server maps Platinum, Diamond and Onyx to rank roles, given through a counting
stand-in for Discord, to show what keeping rank roles in step adds to a cycle.

Part 2, the Halo budget (issue 16): requests per cycle and the share of the default
budget (5 requests/s x 300 s = 1,500 requests per 5-minute cycle) for 1,000, 10,000
and 50,000 tracked players, every player every cycle (before adaptive polling) and with
adaptive polling, under the activity model of bench/README.md: each player has played
two of the four ranked playlists (Ranked Arena and one other) and never the other two;
in any hour 20% of the players play, a one-hour session in one of their two
playlists, a match (a CSR change) every 12 minutes. Time is simulated through the clock
the cycle uses (300 s per cycle); the Halo answers come from the fake at full speed.
Adaptive polling is measured in steady state: a baseline cycle, then the schedule as
after a day of running (each pair quiet for a random 0-24 h, its next check a random
part of its wait away), then 24 simulated cycles (2 hours), all of them reported.

    .venv/bin/python bench/announce_cycle.py [--players 600] [--memberships 1000]
        [--guilds 50] [--latency 0.05] [--rate 5] [--populations 1000,10000,50000]
        [--skip-cycle] [--skip-budget]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import math
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.load import halo_budget  # noqa: E402
from bot.core.config import Settings, load_settings  # noqa: E402
from bot.core.launcher import build_services  # noqa: E402
from bot.features.announcements.cycle import CycleReport, RankWatcher  # noqa: E402
from bot.features.announcements.roles import GuildCheck, RoleSync  # noqa: E402
from bot.features.announcements.schedule import MAX_INTERVAL, SLOW_SWEEP, PollPolicy  # noqa: E402
from bot.halo.client import HaloClient  # noqa: E402
from bot.halo.playlists import RANKED_PLAYLISTS  # noqa: E402
from bot.halo.ratelimit import LocalSendSlots  # noqa: E402
from bot.storage import Database  # noqa: E402
from bot.storage.schedule import PollSlot  # noqa: E402
from tests.fakes.halo_server import (  # noqa: E402
    DEFAULT_CLEARANCE,
    SKILL_HOST,
    STATIC_SPARTAN_TOKEN,
    FakeHalo,
    FakePlayer,
    csr_result,
    unranked_result,
)

FIRST_XUID = 2_533_274_900_000_000
FIRST_USER = 1_400_000_000_000_000_000
FIRST_GUILD = 1_500_000_000_000_000_000
FIRST_CHANNEL = 1_600_000_000_000_000_000
FIRST_ROLE = 1_700_000_000_000_000_000


class CountingRoles:
    """Stands in for Discord: every role change succeeds and is counted."""

    def __init__(self) -> None:
        self.added = 0
        self.removed = 0

    def check(self, guild_id: int, mapping: object, given: object) -> GuildCheck:
        return GuildCheck()

    async def add(self, guild_id: int, user_id: int, role_id: int, reason: str) -> None:
        self.added += 1

    async def remove(self, guild_id: int, user_id: int, role_id: int, reason: str) -> None:
        self.removed += 1


def _line(label: str, value: object) -> None:
    print(f"  {label:<44} {value}")


def _print_report(
    title: str, report: CycleReport, halo_csr_requests: int, halo_all: int, wall: float
) -> None:
    print(title)
    _line("CSR requests (get_csr batches)", report.csr_requests)
    _line("CSR requests the fake Halo received", halo_csr_requests)
    _line("HTTP requests sent to Halo (all hosts)", report.upstream_requests)
    _line("(player, playlist) answers", report.results)
    _line("baselines (first sight, no announcement)", report.baselines)
    _line("changes detected", report.changes)
    _line("snapshots written", report.snapshots_written)
    _line("outbox rows queued (one per server)", report.queued)
    _line("errors", len(report.errors))
    roles = report.roles
    if roles is not None:
        _line("rank roles given / taken back", f"{roles.added} / {roles.removed}")
        _line("  keeping rank roles in step took", f"{roles.seconds:.2f} s")
    _line("HTTP requests the fake Halo received (roles incl.)", halo_all)
    _line("cycle time", f"{wall:.2f} s")
    _line("  of which waiting for Halo", f"{report.fetch_seconds:.2f} s")
    _line("  of which comparing + DB transactions", f"{report.store_seconds:.2f} s")


async def main(args: argparse.Namespace) -> None:
    players, memberships, guilds = args.players, args.memberships, args.guilds
    playlists = list(RANKED_PLAYLISTS)
    with tempfile.TemporaryDirectory() as tmp:
        async with FakeHalo() as fake:
            settings = bench_settings(
                fake, database_path=Path(tmp) / "bench.db", halo_requests_per_second=args.rate
            )
            services = await build_services(settings)
            try:
                db, halo = services.db, services.halo
                xuids = [FIRST_XUID + i for i in range(players)]
                for i, xuid in enumerate(xuids):
                    fake.add_player(xuid, f"Bench Player {i}", csr=900 + (i * 7) % 500)
                for i, xuid in enumerate(xuids):
                    await db.accounts.link(FIRST_USER + i, str(xuid), f"Bench Player {i}")
                per_guild = math.ceil(memberships / guilds)
                for m in range(memberships):
                    guild = FIRST_GUILD + m // per_guild
                    await db.tracked.track(guild, FIRST_USER + m % players)
                for g in range(guilds):
                    await db.guilds.update(FIRST_GUILD + g, announce_channel_id=FIRST_CHANNEL + g)
                    for n, tier in enumerate(("Platinum", "Diamond", "Onyx")):
                        await db.rank_roles.set_role(FIRST_GUILD + g, tier, FIRST_ROLE + 3 * g + n)
                # Every CSR request waits 50 ms before the normal answer.
                fake.fail(f"{SKILL_HOST}/hi/playlist", delay=args.latency, times=None)

                unique = len(await db.tracked.unique_xuids())
                batch = halo.csr_batch_size
                print(
                    f"{len(await db.tracked.memberships())} memberships, {unique} unique players, "
                    f"{guilds} servers, {len(playlists)} playlists; batch size {batch}, "
                    f"Halo latency {args.latency * 1000:.0f} ms, rate limit {args.rate:g} req/s"
                )
                _line(
                    "target CSR requests: playlists x ceil(players / batch)",
                    f"{len(playlists)} x {math.ceil(unique / batch)} = "
                    f"{len(playlists) * math.ceil(unique / batch)}",
                )
                _line(
                    "one request per membership and playlist",
                    f"{memberships} x {len(playlists)} = {memberships * len(playlists)}",
                )

                requests = len(playlists) * math.ceil(unique / batch)
                floor = max(0.0, requests - 1) / args.rate  # no burst: every request 1/rate apart
                _line("rate-limit floor for the CSR requests", f"~{floor:.1f} s")

                # No poster: queued posts stay in the outbox.
                watcher = RankWatcher(db, halo)
                roles = RoleSync(db, CountingRoles())  # as the scheduler runs it: after a cycle
                await halo.get_csr_season_calendar()  # static content, cached for hours
                for title, change in (("cycle 1 (baseline)", False), ("cycle 2", True)):
                    if change:
                        # Move 1 player in 10 across a tier boundary in Ranked Arena.
                        for xuid in xuids[::10]:
                            fake.set_csr(xuid, playlists[0], 1510)
                    before = fake.count(f"{SKILL_HOST}/hi/playlist")
                    before_all = len(fake.requests)
                    started = time.perf_counter()
                    report = await watcher.run_cycle()
                    report.roles = await roles.sync()
                    wall = time.perf_counter() - started
                    received = fake.count(f"{SKILL_HOST}/hi/playlist") - before
                    _print_report(title, report, received, len(fake.requests) - before_all, wall)
                pending = await db.announcements.pending(limit=10_000)
                _line("pending announcements in the outbox", len(pending))
            finally:
                await services.close()


# ---------------------------------------------------------------------- part 2: the budget

CYCLE = timedelta(seconds=300)
BUDGET_PER_CYCLE = 5 * 300  # requests: the default HALO_REQUESTS_PER_SECOND x 5 minutes
PLAYING_SHARE = 0.20  # of the players play in any given hour
MATCH_MINUTES = 12  # a CSR change every 12 minutes while playing
STEADY_CYCLES = 24
#: Requests/s while time is simulated: nobody waits for the Halo budget.
UNLIMITED = 1_000_000.0


class Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


class ActivityModel:
    """Who plays when (see the module docstring); scripts the fake Halo's CSR."""

    def __init__(self, fake: FakeHalo, xuids: list[int], playlists: list[str], seed: int) -> None:
        self.fake = fake
        self.xuids = xuids
        self.rng = random.Random(seed)
        # Ranked Arena and one other playlist played; the other two never played.
        self.played = {
            x: (playlists[0], playlists[1 + self.rng.randrange(len(playlists) - 1)]) for x in xuids
        }
        self.value = {(x, p): 900 + self.rng.randrange(600) for x in xuids for p in self.played[x]}
        self.sessions: dict[int, str] = {}  # playing this hour -> playlist

    def new_hour(self) -> None:
        playing = self.rng.sample(self.xuids, int(len(self.xuids) * PLAYING_SHARE))
        self.sessions = {x: self.rng.choice(self.played[x]) for x in playing}

    def five_minutes(self) -> int:
        """Matches end for about 5/12 of the players in a session; their CSR moves."""
        changes = 0
        for xuid, playlist in self.sessions.items():
            if self.rng.random() < 5 / MATCH_MINUTES:
                value = max(0, self.value[(xuid, playlist)] + self.rng.choice((-1, 1)) * 12)
                self.value[(xuid, playlist)] = value
                self.fake.csr[(xuid, playlist.lower())] = csr_result(value)
                changes += 1
        return changes


def bench_settings(fake: FakeHalo, **overrides: Any) -> Settings:
    """Settings for a bot against the fake Halo (``overrides``: more settings)."""
    return load_settings(
        None,
        halo_api_base_url=fake.base_url,
        halo_spartan_token=STATIC_SPARTAN_TOKEN,
        halo_clearance_token=DEFAULT_CLEARANCE,
        halo_request_deadline_seconds=60,
        **overrides,
    )


async def populate(db: Database, model: ActivityModel) -> None:
    """The model's players in the fake Halo, linked and tracked across population / 20
    servers (each with an announce channel)."""
    unranked = unranked_result()
    record: dict[str, Any] = {}
    for xuid in model.xuids:
        model.fake._store_player(FakePlayer(xuid, f"P{xuid}", service_record=record))
        for playlist in RANKED_PLAYLISTS:
            if playlist in model.played[xuid]:
                model.fake.csr[(xuid, playlist.lower())] = csr_result(model.value[(xuid, playlist)])
            else:
                model.fake.csr[(xuid, playlist.lower())] = unranked
    guilds = max(1, len(model.xuids) // 20)
    async with db.transaction() as tx:
        for i, xuid in enumerate(model.xuids):
            await db.accounts.link(FIRST_USER + i, str(xuid), f"P{xuid}", tx=tx)
            await db.tracked.track(FIRST_GUILD + i % guilds, FIRST_USER + i, tx=tx)
        for g in range(guilds):
            await db.guilds.update(FIRST_GUILD + g, announce_channel_id=FIRST_CHANNEL + g, tx=tx)


async def seed_schedule(db: Database, model: ActivityModel, now: datetime, seed: int) -> None:
    """The schedule as after a day of running: each pair quiet for a random 0-24 h, its
    next check a random part of its wait away."""
    rng = random.Random(seed + 1)
    slots = []
    for xuid in model.xuids:
        for playlist in RANKED_PLAYLISTS:
            quiet = timedelta(seconds=rng.uniform(0, 86_400))
            cap = MAX_INTERVAL if playlist in model.played[xuid] else SLOW_SWEEP
            wait = min(quiet, cap) * rng.uniform(0.75, 1.0)
            slots.append(
                PollSlot(
                    str(xuid),
                    playlist,
                    now - quiet,
                    int(wait.total_seconds()),
                    now + wait * rng.random(),
                )
            )
    await db.schedule.put(slots)


async def prepare(
    db: Database, halo: HaloClient, model: ActivityModel, clock: Clock, *, seed: int, adaptive: bool
) -> None:
    """:func:`populate`, a baseline cycle (everyone once: the first sight is never a
    change), one cycle later; with ``adaptive`` then :func:`seed_schedule`. Simulated
    time: ``clock`` ends one cycle on, and nobody waits for the Halo budget meanwhile."""
    with halo_budget(halo.http.limiter, UNLIMITED):
        await populate(db, model)
        baseline = RankWatcher(db, halo, clock=clock, policy=PollPolicy(adaptive=False))
        await halo.get_csr_season_calendar()
        await baseline.run_cycle()
    clock.now += CYCLE
    if adaptive:
        await seed_schedule(db, model, clock.now, seed)


def start_of_hour() -> Clock:
    return Clock(datetime.now(UTC).replace(minute=0, second=0, microsecond=0))


async def budget_run(population: int, adaptive: bool, seed: int = 16) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        async with FakeHalo() as fake:
            settings = bench_settings(
                fake, database_path=Path(tmp) / "budget.db", halo_requests_per_second=100
            )
            services = await build_services(settings)
            try:
                db, halo = services.db, services.halo
                # Simulated time: no real waiting for the Halo budget.
                services.halo.http.limiter.slots = LocalSendSlots(UNLIMITED)
                xuids = [FIRST_XUID + i for i in range(population)]
                model = ActivityModel(fake, xuids, list(RANKED_PLAYLISTS), seed)
                clock = start_of_hour()
                await prepare(db, halo, model, clock, seed=seed, adaptive=adaptive)
                policy = PollPolicy(adaptive=adaptive, random=random.Random(seed).random)
                watcher = RankWatcher(db, halo, clock=clock, policy=policy)
                cycles = STEADY_CYCLES if adaptive else 1
                requests: list[int] = []
                changes = detected = 0
                wall = time.perf_counter()
                for n in range(cycles):
                    if n % 12 == 0:
                        model.new_hour()
                    changes += model.five_minutes()
                    before = fake.count(f"{SKILL_HOST}/hi/playlist")
                    report = await watcher.run_cycle()
                    requests.append(fake.count(f"{SKILL_HOST}/hi/playlist") - before)
                    detected += report.changes
                    clock.now += CYCLE
                return {
                    "population": population,
                    "adaptive": adaptive,
                    "cycles": cycles,
                    "mean": sum(requests) / len(requests),
                    "max": max(requests),
                    "changes": changes,
                    "detected": detected,
                    "wall": time.perf_counter() - wall,
                }
            finally:
                await services.close()


async def budget(populations: list[int]) -> None:
    print(
        "Part 2: the Halo budget per 5-minute cycle "
        f"(5 req/s x 300 s = {BUDGET_PER_CYCLE:,} requests), batch size "
        f"{30}, {int(PLAYING_SHARE * 100)}% of the players play in any hour"
    )
    print(
        f"  {'players':>8} {'polling':<10} {'cycles':>6} {'requests/cycle':>15} "
        f"{'max':>6} {'budget share':>13} {'max share':>10} {'max time':>9}"
    )
    for population in populations:
        for adaptive in (False, True):
            r = await budget_run(population, adaptive)
            print(
                f"  {population:>8,} {'adaptive' if adaptive else 'every':<10} {r['cycles']:>6} "
                f"{r['mean']:>15,.0f} {r['max']:>6,} {r['mean'] / BUDGET_PER_CYCLE:>13.0%} "
                f"{r['max'] / BUDGET_PER_CYCLE:>10.0%} {r['max'] / 5:>8.0f}s"
                + (
                    f"   ({r['changes']:,} CSR moves, {r['detected']:,} announceable changes, "
                    f"{r['wall']:.0f} s wall)"
                    if adaptive
                    else ""
                )
            )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--players", type=int, default=600)
    parser.add_argument("--memberships", type=int, default=1000)
    parser.add_argument("--guilds", type=int, default=50)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--rate", type=float, default=5.0)
    parser.add_argument("--populations", default="1000,10000,50000")
    parser.add_argument("--skip-cycle", action="store_true")
    parser.add_argument("--skip-budget", action="store_true")
    logging.basicConfig(level=logging.ERROR)
    arguments = parser.parse_args()
    if not arguments.skip_cycle:
        asyncio.run(main(arguments))
        print()
    if not arguments.skip_budget:
        asyncio.run(budget([int(p) for p in arguments.populations.split(",")]))
