"""Crash safety of the real bot process: SIGKILL at seeded random moments during rank
cycles and during /link, then a restart. No announcement may be posted twice or lost,
and no row may be half-written. SIGTERM during a cycle stops cleanly.

The fakes live in this process; the bot is a separate OS process (``python -m bot run``)
polling ranks every second. The database is read with a separate sqlite3 connection:
what is on disk, whatever the killed process believed.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import signal
import sqlite3
from collections.abc import Callable
from pathlib import Path

from tests.e2e.accounts.verifying import code_of, reply_of, verify_button
from tests.fakes.discord_server import FakeDiscord
from tests.fakes.halo_server import (
    MODERN_PLAYER,
    NOBLE_SIX,
    RANKED_ARENA,
    RECORDED_USER,
    FakeHalo,
)
from tests.support.discord import ADMIN_USER_ID, ANNOUNCE_CHANNEL_ID, OTHER_USER_ID, USER_ID
from tests.support.processes import BotProcess, start_bot

#: Every second; a higher Halo budget so the start-up catalogue build does not delay cycles.
POLL = {"RANK_POLL_SECONDS": "1", "HALO_REQUESTS_PER_SECOND": "50"}
#: Each player swings between two tiers: every round is one tier change each.
SWINGS = {
    NOBLE_SIX.xuid: (1325, 1510),  # Diamond <-> Onyx
    MODERN_PLAYER.xuid: (1550, 1400),  # Onyx <-> Diamond
    RECORDED_USER.xuid: (997, 1210),  # Platinum <-> Diamond
}
NAMES = {
    NOBLE_SIX.xuid: "Noble Six",
    MODERN_PLAYER.xuid: "Sïerra\\#2468",
    RECORDED_USER.xuid: "GAMERTAG",
}


def db_path(tmp_path: Path) -> Path:
    return tmp_path / "bot.db"


def query(tmp_path: Path, sql: str, *args: object) -> list[tuple[object, ...]]:
    with contextlib.closing(sqlite3.connect(db_path(tmp_path), timeout=10)) as conn:
        return conn.execute(sql, args).fetchall()


def integrity_ok(tmp_path: Path) -> bool:
    return query(tmp_path, "PRAGMA integrity_check") == [("ok",)]


async def until(predicate: Callable[[], bool], what: str, seconds: float = 20.0) -> None:
    for _ in range(int(seconds / 0.05)):
        if predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


async def command(discord: FakeDiscord, name: str, options: dict[str, object], user: int) -> str:
    rec = await discord.invoke(name, options, user_id=user)
    await rec.wait_final(timeout=20)
    await rec.wait_until(lambda r: r.latest_message() is not None, timeout=20)
    return str(rec.embeds()[0]["title"])


async def link_verified(
    discord: FakeDiscord, halo: FakeHalo, gamertag: str, xuid: int, user: int
) -> None:
    """/link, set the code as the service tag, press Verify (announced servers require
    verified links)."""
    rec = await discord.invoke("link", {"gamertag": gamertag}, user_id=user)
    await rec.wait_final(timeout=20)
    await rec.wait_until(lambda r: r.latest_message() is not None, timeout=20)
    halo.set_service_tag(xuid, code_of(rec))
    press = await discord.click(reply_of(rec), verify_button(rec)["custom_id"], user_id=user)
    await press.wait_final(timeout=20)
    await press.wait_until(lambda r: r.latest_message() is not None, timeout=20)
    assert press.embeds()[0]["title"] == "Account verified", press.embeds()


def titles(discord: FakeDiscord) -> list[str]:
    """Every announcement visible in the channel, in order of posting."""
    return [
        embed["title"]
        for sent in discord.channel_messages(ANNOUNCE_CHANNEL_ID)
        for embed in sent.embeds
    ]


def expected_titles(rounds: int) -> dict[str, list[str]]:
    """Per player, the announcement titles after ``rounds`` swings."""
    out: dict[str, list[str]] = {}
    for xuid, (start, other) in SWINGS.items():
        seen: list[str] = []
        before = start
        for index in range(rounds):
            after = other if index % 2 == 0 else start
            seen.append(_title(NAMES[xuid], before, after))
            before = after
        out[NAMES[xuid]] = seen
    return out


def _title(name: str, before: int, after: int) -> str:
    tier = _tier(after)
    return f"{name} reached {tier}" if after > before else f"{name} dropped to {tier}"


def _tier(value: int) -> str:
    for name, start in (("Onyx", 1500), ("Diamond", 1200), ("Platinum", 900)):
        if value >= start:
            return name
    return "Gold"


def by_player(all_titles: list[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {name: [] for name in NAMES.values()}
    for title in all_titles:
        for name in NAMES.values():
            if title.startswith(name + " "):
                out[name].append(title)
    return out


async def setup_server(discord: FakeDiscord, halo: FakeHalo, tmp_path: Path) -> BotProcess:
    for xuid, (start, _) in SWINGS.items():
        halo.set_csr(xuid, RANKED_ARENA, start)
    bot = await start_bot(discord, halo, tmp_path, **POLL)
    assert (
        await command(
            discord, "config announce-channel", {"channel": ANNOUNCE_CHANNEL_ID}, ADMIN_USER_ID
        )
        == "Announcement channel set"
    )
    for user, player in (
        (USER_ID, NOBLE_SIX),
        (OTHER_USER_ID, MODERN_PLAYER),
        (ADMIN_USER_ID, RECORDED_USER),
    ):
        await link_verified(discord, halo, player.gamertag, player.xuid, user)
    # The first cycle after the links is the baseline: no posts.
    await until(
        lambda: (
            query(
                tmp_path,
                "SELECT COUNT(DISTINCT xuid) FROM rank_snapshots WHERE playlist_id = ?",
                RANKED_ARENA,
            )
            == [(3,)]
        ),
        "the baseline snapshots",
    )
    return bot


async def test_sigkill_during_rank_cycles_neither_repeats_nor_loses_announcements(
    fakes: tuple[FakeDiscord, FakeHalo], tmp_path: Path
) -> None:
    discord, halo = fakes
    rng = random.Random(20261124)
    bot = await setup_server(discord, halo, tmp_path)
    rounds = 4
    try:
        for index in range(rounds):
            for xuid, (start, other) in SWINGS.items():
                halo.set_csr(xuid, RANKED_ARENA, other if index % 2 == 0 else start)
            # Somewhere in the next cycle(s): fetching, storing, posting or in between.
            await asyncio.sleep(rng.uniform(0.0, 1.6))
            assert await bot.stop(signal.SIGKILL) == -signal.SIGKILL
            assert integrity_ok(tmp_path)
            bot = await start_bot(discord, halo, tmp_path, **POLL)
            want = expected_titles(index + 1)
            await until(
                lambda want=want: by_player(titles(discord)) == want,  # type: ignore[misc]
                f"the announcements of round {index + 1}",
            )
        await asyncio.sleep(2.5)  # two more cycles: nothing new, nothing repeated
        assert by_player(titles(discord)) == expected_titles(rounds)
        assert len(titles(discord)) == rounds * len(SWINGS)
        assert query(tmp_path, "SELECT COUNT(*) FROM announcements WHERE status != 'sent'") == [
            (0,)
        ]
    finally:
        await bot.stop(signal.SIGKILL)
    assert integrity_ok(tmp_path)


#: A trigger that keeps the tracking write of /link busy for about two seconds (SQLite
#: has no sleep; counting a 120^4 cross join does it), installed by the test in the
#: bot's database. If the link and the tracking were two transactions, the link would
#: be on disk for those two seconds while the tracking is not: the test sees the link
#: row appear and kills the bot right then. In one transaction nothing is on disk before
#: the end, and a kill anywhere in the window leaves neither.
SLOW_TRACKING = (
    "CREATE TABLE crash_burn (x INTEGER)",
    "INSERT INTO crash_burn (x) WITH RECURSIVE n(i) AS"
    " (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 120) SELECT i FROM n",
    "CREATE TRIGGER crash_slow_tracking BEFORE INSERT ON tracked_members BEGIN"
    " SELECT COUNT(*) FROM crash_burn AS a, crash_burn AS b, crash_burn AS c, crash_burn AS d;"
    " END",
)


def install(tmp_path: Path, statements: tuple[str, ...]) -> None:
    with contextlib.closing(sqlite3.connect(db_path(tmp_path), timeout=10)) as conn:
        for statement in statements:
            conn.execute(statement)
        conn.commit()


async def test_sigkill_between_link_and_tracking_leaves_all_or_nothing(
    fakes: tuple[FakeDiscord, FakeHalo], tmp_path: Path
) -> None:
    discord, halo = fakes
    rng = random.Random(7)
    new_xuid = 2533274800000099
    halo.add_player(new_xuid, "Crash Test")
    bot = await start_bot(discord, halo, tmp_path, **POLL)
    install(tmp_path, SLOW_TRACKING)
    loop = asyncio.get_running_loop()
    landed_between = inside = 0
    try:
        for attempt in range(4):
            user = USER_ID + attempt
            await discord.invoke("link", {"gamertag": "Crash Test"}, user_id=user)
            # Kill as soon as the link is on disk (the moment between the two writes, if
            # they were two), or at a seeded moment inside the slow tracking write.
            deadline = loop.time() + rng.uniform(0.2, 1.5)
            while loop.time() < deadline:
                if query(tmp_path, "SELECT 1 FROM linked_accounts WHERE user_id = ?", user):
                    landed_between += 1
                    break
                await asyncio.sleep(0.005)
            await bot.stop(signal.SIGKILL)
            linked = query(tmp_path, "SELECT xuid FROM linked_accounts WHERE user_id = ?", user)
            tracked = query(
                tmp_path, "SELECT guild_id FROM tracked_members WHERE user_id = ?", user
            )
            codes = query(tmp_path, "SELECT code FROM link_codes WHERE user_id = ?", user)
            assert integrity_ok(tmp_path)
            assert (linked == []) == (tracked == []) == (codes == []), (linked, tracked, codes)
            assert linked in ([], [(str(new_xuid),)])
            inside += linked == []
            bot = await start_bot(discord, halo, tmp_path, **POLL)
        # The kills landed inside the write (nothing on disk), never after a half of it.
        assert inside >= 1
        assert landed_between == 0
        install(tmp_path, ("DROP TRIGGER crash_slow_tracking",))
        # After it all, linking works and stays.
        assert (
            await command(discord, "link", {"gamertag": "Crash Test"}, OTHER_USER_ID)
            == "Account linked"
        )
    finally:
        await bot.stop(signal.SIGKILL)
    assert query(
        tmp_path, "SELECT COUNT(*) FROM tracked_members WHERE user_id = ?", OTHER_USER_ID
    ) == [(1,)]


async def test_sigterm_during_a_cycle_stops_cleanly_and_the_change_is_announced_once(
    fakes: tuple[FakeDiscord, FakeHalo], tmp_path: Path
) -> None:
    discord, halo = fakes
    bot = await setup_server(discord, halo, tmp_path)
    halo.set_csr(NOBLE_SIX.xuid, RANKED_ARENA, 1510)
    halo.fail("skill.svc.halowaypoint.com", delay=1.5, times=None)  # a cycle in flight
    await until(lambda: halo.count("skill.svc.halowaypoint.com") > 0, "a cycle to start")
    halo.clear_requests()
    await until(lambda: halo.count("skill.svc.halowaypoint.com") > 0, "a cycle in flight")
    code = await bot.stop(signal.SIGTERM, timeout=15)
    log = bot.stderr.decode()
    assert code == 0, log
    assert "Stopped cleanly" in log
    assert "Traceback" not in log
    assert integrity_ok(tmp_path)
    halo.reset_faults()
    bot = await start_bot(discord, halo, tmp_path, **POLL)
    try:
        await until(lambda: titles(discord) == ["Noble Six reached Onyx"], "the announcement")
        await asyncio.sleep(2.5)
        assert titles(discord) == ["Noble Six reached Onyx"]
    finally:
        assert await bot.stop() == 0
