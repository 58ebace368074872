"""Several bot instances on PostgreSQL + Redis (issue 13): a script that prints, never asserts.

1. Cached lookups per second with 1, 2 and 3 instances: real bot processes
   (``python -m bot run``, ``SHARD_COUNT=n``, one shard each) sharing one PostgreSQL
   database and one Redis key prefix, the fake Discord in a process of its own routing
   each server's interactions to its shard (one server per shard), the fake Halo in this
   process, which also sends the interactions (closed loop, ``/csr`` of a cached player,
   a new member each time). The three clusters run side by side (each its own database,
   key prefix and fake Discord) and take turns, round after round, so that other work on
   the machine hits all three alike; the best and the median round of each are shown
   (the best is the least disturbed by other work on the machine). CPU time of
   every process is read from ``/proc``, to show where the machine's cores went.
2. Per-lookup latency, p50 / p99, of ``/csr`` through the same path: one bot process on
   SQLite + in-process limits and cache against one on PostgreSQL + Redis, cached (the
   same player again) and uncached (a player nobody looked up before), one lookup at a
   time, taking turns between the two bots so that other work on the machine hits both.

The services come from ``BENCH_DATABASE_URL`` and ``BENCH_REDIS_URL`` (default: the
local ones); each run makes its own database (dropped after) and Redis key prefix
(``REDIS_KEY_PREFIX``, deleted after). Without them it says which is missing and stops.

    .venv/bin/python bench/instances.py [--instances 1,2,3] [--rounds 3] [--seconds 5]
        [--senders 64] [--cached 400] [--uncached 150] [--skip-lookups] [--skip-latency]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import resource
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
from redis.asyncio import Redis

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.drive import (  # noqa: E402
    RemoteDiscord,
    bot_process_env,
    cached_lookups,
    halo_quiet,
    ms,
    pct,
    remote_discord,
    row,
    start_bot_process,
    stop_processes,
)
from bench.load import FIRST_USER  # noqa: E402
from tests.e2e.scale.cluster import guild_on_shard  # noqa: E402
from tests.fakes.halo_server import NOBLE_SIX, FakeHalo  # noqa: E402
from tests.support.discord import GUILD_ID, world_spec  # noqa: E402

DATABASE_URL = os.environ.get("BENCH_DATABASE_URL") or "postgresql://root@127.0.0.1:5432/test"
REDIS_URL = os.environ.get("BENCH_REDIS_URL") or "redis://127.0.0.1:6379/0"
FIRST_XUID = 2_533_274_710_000_000
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


# ---------------------------------------------------------------------- the services


def where(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port}"  # never the password


async def missing_services(database_url: str, redis_url: str) -> list[str]:
    """One line per service that does not answer."""
    missing: list[str] = []
    try:
        conn = await asyncpg.connect(database_url, timeout=5)
        await conn.close()
    except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
        missing.append(
            f"PostgreSQL at {where(database_url)} does not answer ({exc.__class__.__name__}): "
            "start it or set BENCH_DATABASE_URL"
        )
    client = Redis.from_url(redis_url, socket_connect_timeout=5)
    try:
        await client.ping()
    except Exception as exc:  # refused, timed out, or a Redis error
        missing.append(
            f"Redis at {where(redis_url)} does not answer ({exc.__class__.__name__}): "
            "start it or set BENCH_REDIS_URL"
        )
    finally:
        await client.aclose()
    return missing


async def require_services(database_url: str, redis_url: str) -> bool:
    """Print why not and return False when a service is missing."""
    missing = await missing_services(database_url, redis_url)
    for line in missing:
        print(f"SKIPPED: {line}")
    return not missing


def database_url_of(server_url: str, name: str) -> str:
    return urlunsplit(urlsplit(server_url)._replace(path=f"/{name}"))


@contextlib.asynccontextmanager
async def scratch_database(server_url: str, template: str | None = None) -> AsyncIterator[str]:
    """A new database on the server at ``server_url`` (a copy of ``template``, a URL, if
    given); yields its URL and drops it after."""
    name = f"bench_{uuid.uuid4().hex[:12]}"
    copy = f' TEMPLATE "{urlsplit(template).path.lstrip("/")}"' if template else ""
    conn = await asyncpg.connect(server_url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"{copy}')
    finally:
        await conn.close()
    try:
        yield database_url_of(server_url, name)
    finally:
        conn = await asyncpg.connect(server_url)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()


@contextlib.asynccontextmanager
async def redis_prefix(redis_url: str) -> AsyncIterator[str]:
    """A key prefix of this run's own; every key under it is deleted after."""
    prefix = f"bench:{uuid.uuid4().hex[:12]}:"
    try:
        yield prefix
    finally:
        client = Redis.from_url(redis_url)
        try:
            keys = [key async for key in client.scan_iter(match=prefix + "*")]
            if keys:
                await client.delete(*keys)
        finally:
            await client.aclose()


def load_average() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} CPUs"


# ---------------------------------------------------------------------- CPU accounting


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def machine_busy_seconds() -> float:
    """CPU seconds every process of the machine used so far (from ``/proc/stat``)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return (sum(values[:8]) - idle) / CLOCK_TICKS


# ---------------------------------------------------------------------- 1. throughput


async def start_instances(
    discord: RemoteDiscord, halo: FakeHalo, folder: Path, count: int, **extra: str
) -> list[asyncio.subprocess.Process]:
    """``count`` bot processes, shard ``i`` of ``count`` each, connected and ready."""
    procs: list[asyncio.subprocess.Process] = []
    try:
        for shard in range(count):
            home = folder / f"instance{shard}"
            home.mkdir()
            env = bot_process_env(
                discord.api_base,
                halo,
                home,
                SHARD_COUNT=str(count),
                SHARD_IDS=str(shard),
                **extra,
            )
            procs.append(await start_bot_process(env, home))
        await discord.wait_identified(count)
    except BaseException:
        await stop_processes(*procs)
        raise
    return procs


async def add_guilds(discord: RemoteDiscord, count: int) -> list[int]:
    """One server per shard of ``count``."""
    guilds = [guild_on_shard(shard, count) for shard in range(count)]
    for gid in guilds:
        await discord.add_guild({"id": gid, "name": f"Server {gid % 1000}"})
    return guilds


@dataclass
class Cluster:
    """``count`` bot processes, their fake Discord (one server per shard) and fake Halo."""

    count: int
    discord: RemoteDiscord
    halo: FakeHalo
    guilds: list[int]
    procs: list[asyncio.subprocess.Process]


@contextlib.asynccontextmanager
async def running_cluster(
    database_url: str, redis_url: str, count: int, folder: Path
) -> AsyncIterator[Cluster]:
    async with (
        scratch_database(database_url) as db_url,
        redis_prefix(redis_url) as prefix,
        remote_discord() as discord,
        FakeHalo() as halo,
    ):
        guilds = await add_guilds(discord, count)
        procs = await start_instances(
            discord,
            halo,
            folder,
            count,
            DATABASE_URL=db_url,
            REDIS_URL=redis_url,
            REDIS_KEY_PREFIX=prefix,
        )
        try:
            for gid in guilds:  # every instance answers once (and caches the answer)
                if not await discord.csr(NOBLE_SIX.gamertag, gid, FIRST_USER - gid % 1000):
                    print(f"  (the first /csr in server {gid} was not answered)")
            await halo_quiet(halo)
            yield Cluster(count, discord, halo, guilds, procs)
        finally:
            await stop_processes(*procs)


@dataclass
class Round:
    rate: float
    cpu: dict[str, float]  # CPU cores used, by whom


async def measure(cluster: Cluster, seconds: float, senders: int) -> Round:
    """Cached lookups per second through ``cluster``, and the CPU each process used."""
    pids = [*(p.pid for p in cluster.procs), cluster.discord.proc.pid]
    before = [cpu_seconds(p) for p in pids]
    own, machine = own_cpu_seconds(), machine_busy_seconds()
    upstream = len(cluster.halo.requests)
    result = await cached_lookups(cluster.discord, seconds, senders, cluster.guilds, FIRST_USER)
    used = [(cpu_seconds(p) - b) / result.wall for p, b in zip(pids, before, strict=True)]
    if result.failed:
        print(f"  ({result.failed} lookups were not answered with the CSR embed)")
    if len(cluster.halo.requests) != upstream:
        fetched = len(cluster.halo.requests) - upstream
        print(f"  ({fetched} Halo requests meanwhile: a cached answer lives 60 s)")
    return Round(
        result.rate,
        {
            "bots": sum(used[:-1]),
            "Discord": used[-1],
            "sender": (own_cpu_seconds() - own) / result.wall,
            "machine": (machine_busy_seconds() - machine) / result.wall,
        },
    )


async def lookups(
    database_url: str, redis_url: str, counts: list[int], seconds: float, senders: int, rounds: int
) -> None:
    print(
        f"1. Cached lookups per second: {senders} senders (/csr, cached), bot processes on "
        "PostgreSQL + Redis, one shard each, the fake Discord in its own process; the "
        f"clusters take turns, {rounds} rounds of {seconds:g} s each; {load_average()} before"
    )
    measured: dict[int, list[Round]] = {count: [] for count in counts}
    with tempfile.TemporaryDirectory() as tmp:
        async with contextlib.AsyncExitStack() as stack:
            clusters = []
            for count in counts:
                folder = Path(tmp) / f"cluster{count}"
                folder.mkdir()
                clusters.append(
                    await stack.enter_async_context(
                        running_cluster(database_url, redis_url, count, folder)
                    )
                )
            for _ in range(rounds):
                for cluster in clusters:
                    measured[cluster.count].append(await measure(cluster, seconds, senders))
    print(
        f"  {'':>9} {'best round':-^17} {'median round':-^17} {'CPU cores, median round':-^35}"
        f" {'CPU ms per lookup':-^19}\n"
        f"  {'instances':>9} {'lookups/s':>10} {'ratio':>6} {'lookups/s':>10} {'ratio':>6}"
        f" {'bots':>6} {'Discord':>8} {'sender':>7} {'machine':>9} {'bots':>8} {'machine':>10}"
    )
    first: tuple[float, float] | None = None
    for count, results in measured.items():
        ordered = sorted(results, key=lambda r: r.rate)
        best, median = ordered[-1].rate, ordered[len(ordered) // 2]
        cpu = median.cpu
        first = first or (best, median.rate)
        print(
            f"  {count:>9} {best:>10.0f} {best / first[0]:>6.2f} {median.rate:>10.0f}"
            f" {median.rate / first[1]:>6.2f} {cpu['bots']:>6.2f} {cpu['Discord']:>8.2f}"
            f" {cpu['sender']:>7.2f} {cpu['machine']:>9.2f}"
            f" {cpu['bots'] / median.rate * 1000:>8.2f}"
            f" {cpu['machine'] / median.rate * 1000:>10.2f}"
        )
        print(f"  {'':>9} rounds: " + " ".join(f"{r.rate:.0f}" for r in results))
    print(f"  ({load_average()} after)\n")


# ---------------------------------------------------------------------- 2. latency


async def timed_csr(discord: RemoteDiscord, player: str, user: int) -> float | None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    answered = await discord.csr(player, GUILD_ID, user)
    return loop.time() - started if answered else None


async def latency(database_url: str, redis_url: str, cached: int, uncached: int) -> None:
    print(
        f"2. Latency of one /csr at a time: {cached} cached, {uncached} uncached (a player "
        "nobody looked up before), two bot processes taking "
        f"turns; {load_average()} before"
    )
    players = [f"Latency {i}" for i in range(uncached)]  # gamertags: 15 characters at most
    async with (
        scratch_database(database_url) as db_url,
        redis_prefix(redis_url) as prefix,
        remote_discord() as local_discord,
        remote_discord() as shared_discord,
        FakeHalo() as halo,
    ):
        for i, name in enumerate(players):
            halo.add_player(FIRST_XUID + i, name, csr=900 + 7 * i % 600)
        with tempfile.TemporaryDirectory() as tmp:
            bots: dict[str, tuple[RemoteDiscord, asyncio.subprocess.Process]] = {}
            try:
                for label, discord, extra in (
                    ("SQLite + in-process", local_discord, {}),
                    (
                        "PostgreSQL + Redis",
                        shared_discord,
                        {
                            "DATABASE_URL": db_url,
                            "REDIS_URL": redis_url,
                            "REDIS_KEY_PREFIX": prefix,
                        },
                    ),
                ):
                    await discord.add_guild(world_spec())
                    home = Path(tmp) / label.split()[0]
                    home.mkdir()
                    proc = await start_bot_process(
                        bot_process_env(discord.api_base, halo, home, **extra), home
                    )
                    bots[label] = (discord, proc)
                    await discord.wait_identified(1)
                    await discord.csr(NOBLE_SIX.gamertag, GUILD_ID, FIRST_USER)
                await halo_quiet(halo)
                times: dict[tuple[str, str], list[float]] = {}
                failed = upstream = 0
                runs = [("cached", NOBLE_SIX.gamertag, n) for n in range(cached)]
                runs += [("uncached", name, cached + n) for n, name in enumerate(players)]
                for kind, player, n in runs:
                    if n == cached:
                        upstream = len(halo.requests)
                    for label, (discord, _) in bots.items():
                        took = await timed_csr(discord, player, FIRST_USER + 1 + n)
                        if took is None:
                            failed += 1
                        else:
                            times.setdefault((label, kind), []).append(took)
                per_lookup = (len(halo.requests) - upstream) / max(1, 2 * uncached)
            finally:
                await stop_processes(*(proc for _, proc in bots.values()))
    print(f"  {'':<22} {'cached p50':>11} {'p99':>8} {'uncached p50':>13} {'p99':>8}")
    for label in ("SQLite + in-process", "PostgreSQL + Redis"):
        hit, miss = times.get((label, "cached"), []), times.get((label, "uncached"), [])
        print(
            f"  {label:<22} {ms(pct(hit, 50)):>11} {ms(pct(hit, 99)):>8}"
            f" {ms(pct(miss, 50)):>13} {ms(pct(miss, 99)):>8}"
        )
    if uncached:
        row("upstream Halo requests per uncached lookup", f"{per_lookup:.1f}")
    if failed:
        row("lookups not answered with the CSR embed", failed)
    print(f"  ({load_average()} after)\n")


async def main(args: argparse.Namespace) -> int:
    print(f"(machine: {os.cpu_count()} CPUs, Python {sys.version.split()[0]})\n")
    if not await require_services(args.database_url, args.redis_url):
        return 0
    if not args.skip_lookups:
        counts = [int(n) for n in args.instances.split(",")]
        await lookups(
            args.database_url, args.redis_url, counts, args.seconds, args.senders, args.rounds
        )
    if not args.skip_latency:
        await latency(args.database_url, args.redis_url, args.cached, args.uncached)
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--database-url", default=DATABASE_URL, help="BENCH_DATABASE_URL")
    parser.add_argument("--redis-url", default=REDIS_URL, help="BENCH_REDIS_URL")
    parser.add_argument("--instances", default="1,2,3")
    parser.add_argument("--seconds", type=float, default=5, help="of each round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--senders", type=int, default=64)
    parser.add_argument("--cached", type=int, default=400)
    parser.add_argument("--uncached", type=int, default=150)
    parser.add_argument("--skip-lookups", action="store_true")
    parser.add_argument("--skip-latency", action="store_true")
    logging.basicConfig(level=logging.ERROR)
    sys.exit(asyncio.run(main(parser.parse_args())))
