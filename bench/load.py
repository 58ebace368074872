"""Load and memory benchmark (a script, not a test: it prints a table, never asserts).

1. Open-loop load: RATE interactions/s for SECONDS from 100 servers (a mix of /csr,
   /servicerecord, /operation and /events over a pool of players) against a fake
   Discord and a fake Halo on loopback, each from a different member, with the default
   3 s cooldown and 120 commands a minute per server. Every interaction must be
   answered; p50/p99 of the time to the deferral and to the final message.
   Target: p99 deferral < 250 ms.
2. Peak sustained throughput of cached lookups (closed loop, many senders), with the
   fake Discord and the bot each in their own process. Target: at least 500/s.
3. Resident memory of the real bot process (``python -m bot run``) with 2,500 servers
   configured, 50,000 linked and tracked accounts and a warm cache (target < 200 MB):
   every command for WARM players, about as many answers as the cache may hold. Then
   one announcement cycle for that population (its upstream requests), then one
   /history chart (drawn in a worker process: the bot's RSS and the worker's).

Part 1 runs the bot in this process, beside the fakes, so they share its CPU (the
numbers are a floor for the bot alone). Parts 2 and 3 run the bot as its own process.

    .venv/bin/python bench/load.py [--rate 100] [--seconds 30] [--skip-memory]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import inspect
import logging
import math
import os
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.drive import (  # noqa: E402
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
from bot.halo.client import CSR_BATCH_SIZE, HaloClient  # noqa: E402
from bot.halo.playlists import RANKED_PLAYLISTS  # noqa: E402
from bot.halo.ratelimit import LocalSendSlots, UpstreamLimiter  # noqa: E402
from bot.storage import Database  # noqa: E402
from tests.fakes.discord_server import FakeDiscord  # noqa: E402
from tests.fakes.halo_server import (  # noqa: E402
    MODERN_PLAYER,
    NOBLE_SIX,
    SKILL_HOST,
    FakeHalo,
    FakePlayer,
    fixture,
)
from tests.support.discord import GUILD_ID, running_fake, world_spec  # noqa: E402
from tests.support.processes import start_bot  # noqa: E402
from tests.support.world import World, running_world  # noqa: E402

FIRST_GUILD = 1_800_000_000_000_000_000
FIRST_USER = 1_810_000_000_000_000_000
FIRST_XUID = 2_533_274_700_000_000
MIX = ("csr", "servicerecord", "operation", "events")
#: The bound of the bot's Halo answer cache (HaloClient's default).
MAX_CACHE_ENTRIES: int = inspect.signature(HaloClient).parameters["max_cache_entries"].default


@dataclass
class Sample:
    to_deferral: float | None
    to_final: float | None
    title: str


def add_guilds(discord: FakeDiscord, count: int) -> list[int]:
    ids = [FIRST_GUILD + i for i in range(count)]
    for gid in ids:
        discord.add_guild(gid, f"Load {gid % 10000}", channels=[{"id": gid + 1, "name": "ranks"}])
    return ids


@contextlib.asynccontextmanager
async def load_world(tmp: Path, guilds: int, players: int) -> AsyncIterator[tuple[World, list]]:
    async with running_fake() as discord, FakeHalo() as halo:
        guild_ids = add_guilds(discord, guilds)
        pool = [NOBLE_SIX.gamertag, MODERN_PLAYER.gamertag]
        for known in (NOBLE_SIX, MODERN_PLAYER):
            halo.set_event_progress(known.xuid, "ritualSynthwave", 3)
        for i in range(players):
            halo.add_player(FIRST_XUID + i, f"Load Player {i}", csr=800 + 37 * i % 700)
            halo.set_event_progress(FIRST_XUID + i, "ritualSynthwave", 1 + i % 5)
            pool.append(f"Load Player {i}")
        async with running_world(
            tmp,
            discord=discord,
            halo=halo,
            discord_dev_guild_id=None,  # commands usable in every server of the fake
            # As a deployment would set them: 100/s over 100 servers is 60 a minute in
            # each (the default 30 would refuse half); every interaction comes from a
            # different member, so the default 3 s cooldown never applies.
            guild_commands_per_minute=120,
            user_cooldown_seconds=3,  # the default
            halo_requests_per_second=5,  # the default global limit
            halo_request_deadline_seconds=10,  # the default
        ) as world:
            yield world, [guild_ids, pool]


async def one(world: World, index: int, guild: int, command: str, player: str) -> Sample:
    loop = asyncio.get_running_loop()
    options: dict[str, Any] = {"player": player}
    sent = loop.time()
    rec = await world.discord.invoke(command, options, user_id=FIRST_USER + index, guild_id=guild)
    deferral = final = None
    try:
        await rec.wait_until(lambda r: r.acknowledged, timeout=15, what="the deferral")
        deferral = loop.time() - sent
        await rec.wait_final(timeout=60)
        await rec.wait_until(lambda r: r.final_message() is not None, timeout=30, what="a message")
        final = loop.time() - sent
        msg = rec.final_message()
        title = str(msg["embeds"][0]["title"]) if msg and msg.get("embeds") else "(no embed)"
    except TimeoutError:
        title = "UNANSWERED"
    return Sample(deferral, final, title)


def summarize(samples: list[Sample], wall: float) -> None:
    deferrals = [s.to_deferral for s in samples if s.to_deferral is not None]
    finals = [s.to_final for s in samples if s.to_final is not None]
    unanswered = sum(1 for s in samples if s.title == "UNANSWERED")
    row("interactions sent", len(samples))
    row("achieved rate", f"{len(samples) / wall:.1f}/s")
    row("unanswered", unanswered, "target 0")
    row("deferral p50", ms(pct(deferrals, 50)))
    row("deferral p99", ms(pct(deferrals, 99)), "target < 250 ms")
    row("final message p50", ms(pct(finals, 50)))
    row("final message p99", ms(pct(finals, 99)))
    kinds = Counter(
        "result" if ":" in s.title or s.title.startswith(("Banished", "Combined")) else s.title
        for s in samples
    )
    row("answers", ", ".join(f"{k} {v}" for k, v in kinds.most_common(5)))


@contextlib.contextmanager
def halo_budget(limiter: UpstreamLimiter, rate: float) -> Iterator[None]:
    """``rate`` requests/s of this process's own meanwhile (the limiter's send slots
    swapped; setting ``limiter.rate`` alone changes nothing)."""
    slots, limiter.slots = limiter.slots, LocalSendSlots(rate)
    try:
        yield
    finally:
        limiter.slots = slots


async def warm_up(world: World, guild: int, pool: list[str]) -> None:
    """Every command once for every player of the pool (Halo limit lifted meanwhile)."""
    with halo_budget(world.services.halo.http.limiter, 100.0):
        for n, player in enumerate(pool):
            await asyncio.gather(
                *(
                    one(world, 2_000_000 + n * 10 + k, guild, command, player)
                    for k, command in enumerate(MIX)
                )
            )


async def open_loop(rate: float, seconds: float, guilds: int, cold_every: int) -> None:
    print(
        f"1. Open loop: {rate:g} interactions/s for {seconds:g} s from {guilds} servers; "
        f"1 in {cold_every} looks up a player nobody asked for before"
    )
    with tempfile.TemporaryDirectory() as tmp:
        cold_players = int(rate * seconds / cold_every) + 1
        async with load_world(Path(tmp), guilds, players=8 + cold_players) as (
            world,
            (guild_ids, pool),
        ):
            warm, cold = pool[:10], pool[10:]
            await warm_up(world, guild_ids[0], warm)
            before = len(world.halo.requests)
            loop = asyncio.get_running_loop()
            total = int(rate * seconds)
            tasks: list[asyncio.Task[Sample]] = []
            started = loop.time()
            for i in range(total):
                delay = started + i / rate - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                if i % cold_every == cold_every - 1:
                    command, player = "csr", cold[(i // cold_every) % len(cold)]
                else:
                    command, player = MIX[i % len(MIX)], warm[(i * 7) % len(warm)]
                tasks.append(
                    asyncio.create_task(one(world, i, guild_ids[i % guilds], command, player))
                )
            sent_for = loop.time() - started
            samples = await asyncio.gather(*tasks)
            summarize(samples, sent_for)
            row("upstream Halo requests meanwhile", len(world.halo.requests) - before)
    print()


async def closed_loop(seconds: float, senders: int) -> None:
    """Cached /csr lookups with the fake Discord and the bot each in their own process
    (``python -m tests.fakes.discord_server`` and ``python -m bot run``); this process
    only sends the interactions (``POST /_admin/invoke``, waiting for the answer)."""
    print(
        f"2. Cached lookups, closed loop: {senders} senders for {seconds:g} s (/csr, cached); "
        "fake Discord and bot in their own processes"
    )
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        async with remote_discord() as discord, FakeHalo() as halo:
            await discord.add_guild(world_spec())
            env = bot_process_env(discord.api_base, halo, tmp)
            bot = await start_bot_process(env, tmp)
            try:
                await discord.wait_identified(1)
                assert await discord.csr(NOBLE_SIX.gamertag, GUILD_ID, FIRST_USER), (
                    "the first /csr was not answered"
                )
                await halo_quiet(halo)
                before = len(halo.requests)
                result = await cached_lookups(discord, seconds, senders, [GUILD_ID], FIRST_USER)
                row("interactions answered with the CSR embed", result.answered)
                row("not answered / other answers", result.failed, "target 0")
                row("throughput", f"{result.rate:.0f}/s", "target >= 500/s")
                row("upstream Halo requests meanwhile", len(halo.requests) - before)
            finally:
                await stop_processes(bot)
    print()


def rss_kib(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) of a process, in KiB."""
    fields: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0])
    return fields["VmRSS"], fields["VmHWM"]


def child_pids(pid: int) -> list[int]:
    """The processes a process started (the chart worker, for the bot)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            found.extend(int(p) for p in (task / "children").read_text().split())
    return found


async def populate(path: Path, guilds: list[int], accounts: int) -> None:
    db = await Database.open(path)
    try:
        per_guild = math.ceil(accounts / len(guilds))
        async with db.transaction() as tx:
            for i in range(accounts):
                user = FIRST_USER + i
                await db.accounts.link(user, str(FIRST_XUID + i), f"Mem Player {i}", tx=tx)
                await db.tracked.track(guilds[i // per_guild], user, tx=tx)
            for gid in guilds:
                await db.guilds.update(gid, announce_channel_id=gid + 1, tx=tx)
    finally:
        await db.close()


async def memory(guilds: int, accounts: int, warm: int, rate: float) -> None:
    print(f"3. Memory of the bot process: {guilds:,} servers, {accounts:,} linked accounts")
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        async with running_fake() as discord, FakeHalo() as halo:
            guild_ids = add_guilds(discord, guilds)
            # One shared answer object per kind keeps the fake small; the players looked
            # up in the warm-up have a full service record and Operations.
            empty_record = fixture("recorded/get_service_record_empty.json")
            no_ops: dict[str, Any] = {"OperationRewardTracks": []}
            full_record = fixture("recorded/get_service_record.json")
            full_ops = fixture("from-seeds/economy_player_operations.json")
            for i in range(accounts):
                halo._store_player(
                    FakePlayer(
                        FIRST_XUID + i,
                        f"Mem Player {i}",
                        service_record=full_record if i < warm else empty_record,
                        operations=full_ops if i < warm else no_ops,
                        csr=800 + 37 * i % 700,
                    )
                )
                if i < warm:
                    halo.set_event_progress(FIRST_XUID + i, "ritualSynthwave", 1 + i % 5)
            started = time.monotonic()
            await populate(tmp / "bot.db", guild_ids, accounts)
            row("database populated in", f"{time.monotonic() - started:.1f} s")
            # The first cycle runs one interval after the start: after the warm-up.
            poll = max(60, math.ceil(warm * 14 / rate) + 30)
            started = time.monotonic()
            bot = await start_bot(
                discord,
                halo,
                tmp,
                RANK_POLL_SECONDS=str(poll),
                HALO_REQUESTS_PER_SECOND=f"{rate:g}",
                GUILD_COMMANDS_PER_MINUTE="100000",
                LOG_LEVEL="WARNING",
            )
            try:
                await asyncio.sleep(2)
                idle, _ = rss_kib(bot.proc.pid)
                row("RSS after start (all servers cached)", f"{idle / 1024:.0f} MB")
                # Warm the cache: every command for many different players, until the
                # cache holds about as many answers as it may (HaloClient's bound).
                halo.clear_requests()
                for chunk in range(0, warm, 10):
                    recs = await asyncio.gather(
                        *(
                            discord.invoke(
                                command,
                                {"player": f"xuid({FIRST_XUID + i})"},
                                user_id=FIRST_USER + 5_000_000 + 10 * i + k,
                                guild_id=GUILD_ID,
                            )
                            for i in range(chunk, min(warm, chunk + 10))
                            for k, command in enumerate(MIX)
                        )
                    )
                    for rec in recs:
                        await rec.wait_final(timeout=60)
                warm_rss, _ = rss_kib(bot.proc.pid)
                row(
                    f"RSS with a warm cache ({warm} players x {len(MIX)} commands)",
                    f"{warm_rss / 1024:.0f} MB",
                )
                row(
                    "  answers cached (upstream requests of the warm-up)",
                    f"{min(len(halo.requests), MAX_CACHE_ENTRIES):,}",
                    f"(the cache holds at most {MAX_CACHE_ENTRIES:,})",
                )
                # One announcement cycle over every tracked player (first: baseline).
                warmed = time.monotonic() - started
                row("warm-up took", f"{warmed:.0f} s since the start")
                if warmed > poll:
                    print(f"  (the first cycle began during the warm-up, {poll} s after the start)")
                halo.clear_requests()
                while halo.count(f"{SKILL_HOST}/hi/playlist") == 0:  # noqa: ASYNC110
                    await asyncio.sleep(0.2)
                cycle_started = time.monotonic()
                want = len(RANKED_PLAYLISTS) * math.ceil(accounts / CSR_BATCH_SIZE)
                while halo.count(f"{SKILL_HOST}/hi/playlist") < want:
                    if time.monotonic() - cycle_started > 600:
                        break
                    await asyncio.sleep(0.5)
                cycle_time = time.monotonic() - cycle_started
                got = halo.count(f"{SKILL_HOST}/hi/playlist")  # (the next cycle may follow)
                await asyncio.sleep(3)  # let the cycle store its last snapshots

                rss, peak = rss_kib(bot.proc.pid)
                row("RSS after an announcement cycle", f"{rss / 1024:.0f} MB", "target < 200 MB")
                row("peak RSS (VmHWM)", f"{peak / 1024:.0f} MB")
                row(
                    "CSR requests in one cycle",
                    got,
                    f"= {len(RANKED_PLAYLISTS)} x ceil({accounts:,} / {CSR_BATCH_SIZE})"
                    f" = {want:,}; one per member and playlist: {accounts * 4:,}",
                )
                row(
                    "that cycle's time at this rate limit",
                    f"{cycle_time:.0f} s",
                    f"({rate:g} req/s; at the default 5 req/s: ~{want / 5:.0f} s)",
                )
                # A chart needs the plotting library: its memory counts once drawn.
                rec = await discord.invoke(
                    "history",
                    {"player": f"xuid({FIRST_XUID})"},
                    user_id=FIRST_USER + 9_000_000,
                    guild_id=GUILD_ID,
                )
                await rec.wait_final(timeout=60)
                msg = rec.final_message()
                drew = bool(msg and msg.get("attachments"))
                rss, peak = rss_kib(bot.proc.pid)
                row(
                    "RSS after one /history chart",
                    f"{rss / 1024:.0f} MB",
                    f"peak {peak / 1024:.0f} MB" + ("" if drew else " (no chart was drawn)"),
                )
                for child in child_pids(bot.proc.pid):
                    worker, _ = rss_kib(child)
                    row("  the chart worker process (matplotlib)", f"{worker / 1024:.0f} MB")
            finally:
                await bot.stop()
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rate", type=float, default=100)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--guilds", type=int, default=100)
    parser.add_argument("--cold-every", type=int, default=200)
    parser.add_argument("--senders", type=int, default=64)
    parser.add_argument("--cached-seconds", type=float, default=10)
    parser.add_argument("--memory-guilds", type=int, default=2500)
    parser.add_argument("--memory-accounts", type=int, default=50_000)
    parser.add_argument("--warm", type=int, default=300, help="players looked up (x4 commands)")
    parser.add_argument("--memory-rate", type=float, default=100)
    parser.add_argument("--skip-memory", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    print(f"(machine: {os.cpu_count()} CPUs, Python {sys.version.split()[0]})\n")
    asyncio.run(open_loop(args.rate, args.seconds, args.guilds, args.cold_every))
    asyncio.run(closed_loop(args.cached_seconds, args.senders))
    if not args.skip_memory:
        asyncio.run(memory(args.memory_guilds, args.memory_accounts, args.warm, args.memory_rate))


if __name__ == "__main__":
    main()
