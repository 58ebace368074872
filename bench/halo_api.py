"""Benchmark the Halo API layer (a script, not a test: it prints, never asserts).

1. Coalescing: 50 members run ``/csr`` for the same player at the same moment, through
   the real bot, a fake Discord and a fake Halo on loopback. Target: one upstream call
   per endpoint.
2. Parsing: the service record and CSR answers of the fake Halo (the recorded service
   record), parsed from the same response bytes the way each client really does it:
   the bot's client hands the bytes to its model's ``model_validate_json``; SPNKr
   (installed only in the benchmark environment, ``python3 dev.py bench``) runs
   ``JsonResponse.parse()``, i.e. aiohttp's ``ClientResponse.json()`` then its model
   built from the decoded dict.

    .venv-bench/bin/python bench/halo_api.py [--users 50] [--parse-rounds 2000] [--parse-only]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
import timeit
from collections import Counter
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402

from bot.halo import client  # noqa: E402
from bot.halo.auth import StaticTokenProvider  # noqa: E402
from bot.halo.http import CLEARANCE_HEADER, SPARTAN_HEADER, HaloHttp  # noqa: E402
from bot.halo.ratelimit import UpstreamLimiter  # noqa: E402
from bot.halo.urls import SKILL_HOST, STATS_HOST, build_url, rewrite_url  # noqa: E402
from tests.fakes.halo_server import (  # noqa: E402
    DEFAULT_CLEARANCE,
    NOBLE_SIX,
    RANKED_ARENA,
    RECORDED_PLAYER,
    STATIC_SPARTAN_TOKEN,
    FakeHalo,
)
from tests.support.world import running_world  # noqa: E402

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


class _SpnkrSession:
    """What SPNKr asks of its session, answered by the fake Halo on loopback: each GET
    goes to the fake (URL rewritten as the bot's ``HALO_API_BASE_URL`` does, without
    SPNKr's explicit ``:443``) and comes
    back as a real, fully read ``aiohttp.ClientResponse``."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str) -> None:
        self._session = session
        self._base_url = base_url

    async def get(self, url: str, **kwargs: Any) -> aiohttp.ClientResponse:
        headers = {SPARTAN_HEADER: STATIC_SPARTAN_TOKEN, CLEARANCE_HEADER: DEFAULT_CLEARANCE}
        target = rewrite_url(url.replace(":443/", "/", 1), self._base_url)
        resp = await self._session.get(target, headers=headers, **kwargs)
        await resp.read()
        return resp


def _run_now(coro: Coroutine[Any, Any, Any]) -> Any:
    """Run a coroutine that never suspends (SPNKr's parse of a response already read)."""
    try:
        coro.send(None)
    except StopIteration as done:
        return done.value
    raise RuntimeError("the parse suspended")


def _timed(parsers: dict[str, Callable[[], Any]], rounds: int) -> dict[str, float]:
    """Microseconds per parse of each, best of 7, the parsers taking turns (one run)."""
    best = dict.fromkeys(parsers, float("inf"))
    for _ in range(7):
        for name, parse in parsers.items():
            best[name] = min(best[name], timeit.timeit(parse, number=rounds))
    return {name: seconds / rounds * 1e6 for name, seconds in best.items()}


async def _answers() -> dict[str, tuple[bytes, Callable[[], Any], Callable[[], Any] | None]]:
    """For each answer: the bytes the bot received, the bot's parse of them (the parser
    its client hands the body to) and SPNKr's real parse of the same response
    (``JsonResponse.parse()``: aiohttp's ``ClientResponse.json()``, then SPNKr's model
    built from the dict), or ``None`` without SPNKr."""
    xuid = RECORDED_PLAYER.xuid
    async with FakeHalo() as fake, aiohttp.ClientSession() as session:
        http = HaloHttp(
            session,
            StaticTokenProvider(STATIC_SPARTAN_TOKEN, DEFAULT_CLEARANCE),
            UpstreamLimiter(rate=1000),
            api_base=fake.base_url,
        )
        record_url = build_url(STATS_HOST, f"/hi/players/xuid({xuid})/Matchmade/servicerecord")
        csr_url = build_url(
            SKILL_HOST, f"/hi/playlist/{RANKED_ARENA}/csrs", {"players": f"xuid({xuid})"}
        )
        record_bytes = await http.request("GET", record_url)
        csr_bytes = await http.request("GET", csr_url)
        answers: dict[str, tuple[bytes, Callable[[], Any], Callable[[], Any] | None]] = {
            "service record": (record_bytes, lambda: client._service_record(record_bytes), None),
            "CSR": (csr_bytes, lambda: client._csr(csr_bytes), None),
        }
        try:
            from spnkr.services.skill import SkillService  # pyright: ignore[reportMissingImports]  (.venv-bench only)
            from spnkr.services.stats import StatsService  # pyright: ignore[reportMissingImports]  (.venv-bench only)
        except ImportError:
            return answers
        spnkr_session = _SpnkrSession(session, fake.base_url)
        record = await StatsService(spnkr_session).get_service_record(xuid)  # type: ignore[arg-type]
        csr = await SkillService(spnkr_session).get_playlist_csr(RANKED_ARENA, [xuid])  # type: ignore[arg-type]
        for name, response in (("service record", record), ("CSR", csr)):
            body, ours, _ = answers[name]
            assert response.response._body == body, "both must parse the same bytes"
            answers[name] = (body, ours, lambda r=response: _run_now(r.parse()))
    return answers


def parsing(rounds: int) -> None:
    print(f"2. Parse time of one answer from its bytes, best of 7 x {rounds} parses, in turns")
    print("   bot:   HaloClient's parser: bytes -> Model.model_validate_json")
    print("   SPNKr: JsonResponse.parse(): aiohttp ClientResponse.json() -> Model(**data)")
    answers = asyncio.run(_answers())
    with_spnkr = any(theirs is not None for _, _, theirs in answers.values())
    header = f"  {'answer':<16} {'bytes':>8} {'bot µs':>10}"
    if with_spnkr:
        header += f" {'SPNKr µs':>10} {'bot / SPNKr':>12}"
    print(header)
    for name, (body, ours, theirs) in answers.items():
        parsers = {"bot": ours} if theirs is None else {"bot": ours, "spnkr": theirs}
        times = _timed(parsers, rounds)
        row = f"  {name:<16} {len(body):>8,} {times['bot']:>10.1f}"
        if "spnkr" in times:
            row += f" {times['spnkr']:>10.1f} {times['bot'] / times['spnkr']:>12.2f}"
        print(row)
    if with_spnkr:
        from importlib.metadata import version

        print(f"  (SPNKr {version('spnkr')}, pydantic {version('pydantic')}, same bytes)")
    else:
        print("  SPNKr is not installed here: run `python3 dev.py bench` to compare with it.")
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--parse-rounds", type=int, default=2000)
    parser.add_argument("--parse-only", action="store_true", help="skip the coalescing run")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    if not args.parse_only:
        asyncio.run(coalescing(args.users))
    parsing(args.parse_rounds)


if __name__ == "__main__":
    main()
