"""Benchmark the Halo API layer (a script, not a test: it prints, never asserts).

1. Coalescing: 50 members run ``/csr`` for the same player at the same moment, through
   the real bot, a fake Discord and a fake Halo on loopback. Target: one upstream call
   per endpoint.
2. Parsing: the recorded service record and CSR answers parsed by this bot's pydantic
   models and, side by side, by the SPNKr package's models (installed only in the
   benchmark environment, ``python3 dev.py bench``).

    .venv-bench/bin/python bench/halo_api.py [--users 50] [--parse-rounds 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
import timeit
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.halo.models import PlaylistCsr, ServiceRecord  # noqa: E402
from tests.fakes.halo_server import NOBLE_SIX  # noqa: E402
from tests.support.world import running_world  # noqa: E402

RECORDED = ROOT / "tests" / "fixtures" / "halo" / "recorded"
FIRST_USER = 1_700_000_000_000_000_000


def _line(label: str, value: object) -> None:
    print(f"  {label:<52} {value}")


async def coalescing(users: int) -> None:
    print(f"1. {users} concurrent /csr of the same player (real bot, fake Discord + Halo)")
    with tempfile.TemporaryDirectory() as tmp:
        async with running_world(
            Path(tmp),
            guild_commands_per_minute=10_000,
            user_cooldown_seconds=0,
            halo_requests_per_second=5,  # the default global limit
        ) as world:
            # The player is known (as after any earlier lookup): only CSR calls remain.
            await world.services.resolver.resolve(
                NOBLE_SIX.gamertag, caller_id=FIRST_USER, guild_id=None
            )
            world.halo.clear_requests()
            loop = asyncio.get_running_loop()
            started = loop.time()
            records = await asyncio.gather(
                *(
                    world.invoke("csr", {"player": NOBLE_SIX.gamertag}, user_id=FIRST_USER + i)
                    for i in range(users)
                )
            )
            wall = loop.time() - started
            answered = sum(
                1
                for r in records
                if (m := r.final_message()) and m["embeds"][0]["title"] == "Noble Six: ranked CSR"
            )
            per_endpoint = Counter(f"{r.host}{r.path}" for r in world.halo.requests)
    _line("interactions answered with the CSR embed", f"{answered} / {users}")
    _line("wall time for all of them", f"{wall:.2f} s")
    _line("upstream requests, all endpoints", sum(per_endpoint.values()))
    for endpoint, count in sorted(per_endpoint.items()):
        _line(f"  {endpoint[:70]}", count)
    _line("naive (one request per interaction and playlist)", users * 4)
    print()


def _timed(parse: Callable[[], Any], rounds: int) -> float:
    """Best of 5 runs, microseconds per parse."""
    best = min(timeit.repeat(parse, number=rounds, repeat=5))
    return best / rounds * 1e6


def parsing(rounds: int) -> None:
    print(f"2. Parse time of recorded answers, best of 5 x {rounds} parses")
    record_bytes = (RECORDED / "get_service_record.json").read_bytes()
    csr_bytes = (RECORDED / "get_playlist_csr.json").read_bytes()
    ours = {
        "service record": lambda: ServiceRecord.parse(record_bytes),
        "CSR": lambda: PlaylistCsr.parse(csr_bytes),
    }
    theirs: dict[str, Callable[[], Any]] = {}
    spnkr_version = None
    try:
        from importlib.metadata import version

        from spnkr.models.skill import PlaylistCsr as SpnkrPlaylistCsr
        from spnkr.models.stats import ServiceRecord as SpnkrServiceRecord

        spnkr_version = version("spnkr")
        theirs = {
            "service record": lambda: SpnkrServiceRecord.model_validate_json(record_bytes),
            "CSR": lambda: SpnkrPlaylistCsr.model_validate_json(csr_bytes),
        }
    except ImportError:
        pass
    header = f"  {'answer':<16} {'bytes':>8} {'ours µs':>10}"
    if theirs:
        header += f" {'SPNKr µs':>10} {'ours / SPNKr':>13}"
    print(header)
    for name, parse in ours.items():
        size = len(record_bytes if name == "service record" else csr_bytes)
        mine = _timed(parse, rounds)
        row = f"  {name:<16} {size:>8,} {mine:>10.1f}"
        if name in theirs:
            other = _timed(theirs[name], rounds)
            row += f" {other:>10.1f} {mine / other:>13.2f}"
        print(row)
    if spnkr_version:
        print(f"  (SPNKr {spnkr_version}, same pydantic, same bytes)")
    else:
        print("  SPNKr is not installed here: run `python3 dev.py bench` to compare with it.")
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--parse-rounds", type=int, default=2000)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    asyncio.run(coalescing(args.users))
    parsing(args.parse_rounds)


if __name__ == "__main__":
    main()
