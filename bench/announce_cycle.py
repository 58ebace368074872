"""Benchmark one rank-announcement cycle (a script, not a test: it prints, never asserts).

1,000 tracked memberships (600 unique players) across 50 servers, 4 ranked playlists,
the fake Halo API answering every CSR request in 50 ms, the default global Halo rate
limit (5 requests/s). The cycle runs through :class:`RankWatcher` without Discord;
every server maps Platinum, Diamond and Onyx to rank roles, given through a counting
stand-in for Discord, to show what keeping rank roles in step adds to a cycle.

    .venv/bin/python bench/announce_cycle.py [--players 600] [--memberships 1000]
        [--guilds 50] [--latency 0.05] [--rate 5]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import math
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.core.config import load_settings  # noqa: E402
from bot.core.launcher import build_services  # noqa: E402
from bot.features.announcements.cycle import CycleReport, RankWatcher  # noqa: E402
from bot.features.announcements.roles import GuildCheck, RoleSync  # noqa: E402
from bot.halo.playlists import RANKED_PLAYLISTS  # noqa: E402
from tests.fakes.halo_server import (  # noqa: E402
    DEFAULT_CLEARANCE,
    SKILL_HOST,
    STATIC_SPARTAN_TOKEN,
    FakeHalo,
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
            settings = load_settings(
                None,
                halo_api_base_url=fake.base_url,
                halo_spartan_token=STATIC_SPARTAN_TOKEN,
                halo_clearance_token=DEFAULT_CLEARANCE,
                database_path=Path(tmp) / "bench.db",
                halo_requests_per_second=args.rate,
                halo_request_deadline_seconds=60,
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
                floor = max(0.0, requests - 2) / args.rate  # burst of 2, then 1/rate apart
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


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--players", type=int, default=600)
    parser.add_argument("--memberships", type=int, default=1000)
    parser.add_argument("--guilds", type=int, default=50)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--rate", type=float, default=5.0)
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(main(parser.parse_args()))
