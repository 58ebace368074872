"""Fault matrix: every Halo-backed command and the announcement loop against every upstream
fault, and the Discord-side faults, end to end over loopback.

For each upstream fault one world runs every command at once (each command's own Halo
endpoint carries the fault, so the cases cannot disturb each other), then an
announcement cycle against the same fault. Every interaction must be acknowledged
within Discord's 3 seconds, end with a message naming the problem (never "thinking"
forever), the bot must stay up (a normal lookup works afterwards) and the database
must be exactly as before.

The bot signs in through the full MSAL -> Xbox -> XSTS -> Spartan chain against the
fake, so a 401 really triggers a token refresh and a dead refresh token really ends
in "sign-in expired".
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import sqlite3
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import pytest

from bot.core.logs import guard, quiet_libraries, redactor
from bot.features.announcements.cog import RankAnnouncements
from bot.halo.auth import device_code_login
from tests.e2e.accounts.verifying import link_verified
from tests.fakes.discord_server import InteractionRecord
from tests.fakes.halo_server import MODERN_PLAYER, NOBLE_SIX, RANKED_ARENA, FakeHalo
from tests.support.discord import ADMIN_USER_ID, ANNOUNCE_CHANNEL_ID, TOKEN, USER_ID
from tests.support.world import REAL_DEFAULT, TEST_DEADLINE, World, running_world

CLIENT_ID = "00000000-0000-4000-8000-00000000c11d"
SKILL = "skill.svc.halowaypoint.com/hi/playlist/"
RECORD = "halostats.svc.halowaypoint.com/hi/players/xuid({xuid})/matchmade/servicerecord"
OPERATIONS = "economy.svc.halowaypoint.com/hi/players/xuid({xuid})/rewardtracks/operations"
EVENTS = "economy.svc.halowaypoint.com/hi/players/xuid({xuid})/rewardtracks/events/"
NEW_GAMERTAG = "profile.svc.halowaypoint.com/users/gt(Brand New One)"
#: Interaction users: one per command, so cooldowns never interfere.
FIRST_USER = 1_300_000_000_000_050_000
DEFERRAL_LIMIT = 3.0
DEADLINE = TEST_DEADLINE


@dataclass(frozen=True)
class Case:
    command: str
    options: dict[str, Any]
    pattern: str  # the Halo endpoint this command cannot do without
    #: The answer when that endpoint says 404 (what a 404 means differs per endpoint).
    not_found: tuple[str, str]


#: Noble Six is linked and tracked (baseline), so these look up the other players.
PLAYER = MODERN_PLAYER
CASES = [
    Case(
        "csr",
        {"player": PLAYER.gamertag},
        SKILL,
        ("No data", "has no ranked data yet"),
    ),
    Case(
        "servicerecord",
        {"player": PLAYER.gamertag},
        RECORD.format(xuid=PLAYER.xuid),
        ("Player not found", "no record of that player"),
    ),
    Case(
        "operation",
        {"player": PLAYER.gamertag},
        OPERATIONS.format(xuid=PLAYER.xuid),
        ("Player not found", "no record of that player"),
    ),
    Case(
        "events",
        {"player": PLAYER.gamertag, "event": "Cyber Showdown"},
        EVENTS.format(xuid=PLAYER.xuid),
        ("No data", "never earned a rank"),
    ),
    Case(
        "link",
        {"gamertag": "Brand New One"},
        NEW_GAMERTAG,
        ("Player not found", "Brand New One"),
    ),
]
UNAVAILABLE = ("Halo is not answering", "aren't answering")
UNREADABLE = ("Unreadable answer from Halo", "could not read")
REDIRECTED = ("Halo is not answering", "redirect to another address")
EXPIRED = ("Halo sign-in expired", "`halo-bot login`")
SLOW_DOWN = ("Slow down", "try again in 3 seconds")
OK = ("", "")  # the normal answer


#: Stands for the second listener's URL in a fault's ``location``.
ELSEWHERE = "{elsewhere}"


@dataclass(frozen=True)
class Fault:
    kwargs: dict[str, Any]
    expect: tuple[str, str] | None  # None: the 404 meaning of each case
    #: What an announcement cycle reports: True when the CSR batch fails.
    cycle_fails: bool = True


FAULTS: dict[str, Fault] = {
    "401 then success": Fault({"status": 401, "times": 1}, OK, cycle_fails=False),
    "404": Fault({"status": 404, "times": None}, None, cycle_fails=False),
    "429 retry-after": Fault({"retry_after": 3, "times": None}, SLOW_DOWN),
    "500": Fault({"status": 500, "times": None}, UNAVAILABLE),
    "503": Fault({"status": 503, "times": None}, UNAVAILABLE),
    "connection dropped": Fault({"disconnect": True, "times": None}, UNAVAILABLE),
    "never answers": Fault({"hang": True, "times": None}, UNAVAILABLE),
    "5 s stall": Fault({"delay": 5, "times": None}, UNAVAILABLE),
    # Cut off before Content-Length: a broken transfer (retried), not unreadable data.
    "truncated JSON": Fault({"truncate": True, "times": None}, UNAVAILABLE),
    "malformed JSON": Fault({"status": 200, "body": b'{"Value": [{', "times": None}, UNREADABLE),
    "wrong shape": Fault({"wrong_shape": True, "times": None}, UNREADABLE),
    # A redirect to another host (a second listener, see ``elsewhere``): never followed, since
    # the request carries the Spartan token and the clearance.
    "302 to another host": Fault({"status": 302, "location": ELSEWHERE, "times": None}, REDIRECTED),
    "307 to another host": Fault({"status": 307, "location": ELSEWHERE, "times": None}, REDIRECTED),
}


# ---------------------------------------------------------------------- the world


@contextlib.asynccontextmanager
async def msal_world(tmp_path: Path, halo: FakeHalo | None = None) -> AsyncIterator[World]:
    """A bot signed in with a Microsoft account (``halo-bot login`` done), Noble Six linked
    and tracked with a baseline snapshot, an announcement channel set."""
    async with contextlib.AsyncExitStack() as stack:
        if halo is None:
            halo = await stack.enter_async_context(FakeHalo())
        cache = tmp_path / "token_cache.json"
        await device_code_login(CLIENT_ID, cache, api_base=halo.base_url, prompt=lambda _: None)
        world = await stack.enter_async_context(
            running_world(
                tmp_path,
                halo=halo,
                azure_client_id=CLIENT_ID,
                halo_token_cache=cache,
                halo_spartan_token=None,
                halo_clearance_token=None,
                halo_request_deadline_seconds=DEADLINE,
            )
        )
        world.services.halo.player_ttl = 0  # every lookup reaches Halo (and its fault)
        halo.set_event_progress(PLAYER.xuid, "ritualSynthwave", 3)  # Cyber Showdown
        halo.add_player(2533274800000077, "Brand New One")  # for /link
        rec = await world.invoke(
            "config announce-channel", {"channel": ANNOUNCE_CHANNEL_ID}, user_id=ADMIN_USER_ID
        )
        assert rec.final_message()["embeds"][0]["title"] == "Announcement channel set"
        await link_verified(world, NOBLE_SIX.gamertag)  # counted: announced
        # The looked-up player's gamertag is known from now on: the commands' own endpoints
        # are the only Halo requests they make.
        rec = await world.invoke("csr", {"player": PLAYER.gamertag}, user_id=FIRST_USER + 98)
        assert rec.final_message()["embeds"][0]["title"].endswith("ranked CSR")
        report = await announcer(world).run_once()
        assert report.errors == [], report.errors
        yield world


def secrets_in_use(world: World) -> list[str]:
    """Every credential of this run: the Discord token, each interaction token the fake
    Discord issued (it is the password of the interaction's webhook), and each Microsoft,
    Xbox and Halo token the fake Halo issued (access, refresh, user, XSTS, Spartan...)."""
    issued = [token for tokens in world.halo.issued.values() for token in tokens]
    interactions = [rec.token for rec in world.discord.interactions.values()]
    assert interactions, "no interaction ran"
    return [TOKEN, *interactions, *(t for t in issued if len(t) >= 12)]


def assert_no_secrets(world: World, log_text: str) -> None:
    """No credential in any log line or in anything the bot sent to Discord."""
    sent = json.dumps([r.body for r in world.discord.requests], default=str)
    for secret in secrets_in_use(world):
        assert secret not in log_text, "a credential was logged"
        assert secret not in sent, "a credential was sent to Discord"


def announcer(world: World) -> RankAnnouncements:
    cog = world.bot.get_cog("RankAnnouncements")
    assert cog is not None
    return cast("RankAnnouncements", cog)


def database_rows(world: World) -> dict[str, list[tuple[Any, ...]]]:
    """Everything the bot keeps that a failure must not touch (read with a separate
    connection: what is on disk, not what one connection believes)."""
    path = world.settings.database_path
    with contextlib.closing(sqlite3.connect(path)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        # Player names/recent lookups are a cache that a lookup may legitimately refresh.
        kept = [t for t in tables if t not in ("known_players", "player_lookups")]
        return {t: conn.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall() for t in kept}


async def run_case(world: World, case: Case, user_id: int) -> InteractionRecord:
    """Invoke like Discord: the deferral must come within 3 s, then a final message."""
    loop = asyncio.get_running_loop()
    sent = loop.time()
    rec = await world.discord.invoke(case.command, case.options, user_id=user_id)
    await rec.wait_until(lambda r: r.acknowledged, timeout=DEFERRAL_LIMIT, what="the deferral")
    assert loop.time() - sent < DEFERRAL_LIMIT
    await rec.wait_final(timeout=DEADLINE * 4 + 5)
    await rec.wait_until(lambda r: r.latest_message() is not None, timeout=5, what="a message")
    return rec


def check_answer(case: Case, rec: InteractionRecord, expect: tuple[str, str]) -> None:
    msg = rec.final_message()
    assert msg is not None, f"/{case.command}: no message"
    embed = msg["embeds"][0]
    if expect == OK:
        # Lookups answer publicly; /link always privately.
        assert rec.is_ephemeral(msg) == (case.command == "link"), f"/{case.command}: {embed}"
        assert embed["title"] not in {
            UNAVAILABLE[0],
            UNREADABLE[0],
            EXPIRED[0],
            SLOW_DOWN[0],
        }, f"/{case.command}: {embed}"
        return
    title, words = expect
    assert rec.is_ephemeral(msg), f"/{case.command}: error shown publicly: {embed}"
    assert embed["title"] == title, f"/{case.command}: {embed}"
    assert words in embed["description"], f"/{case.command}: {embed}"
    if rec.deferred and not rec.deferred_ephemeral:
        assert rec.deleted_original, f"/{case.command}: the public 'thinking...' was left"


async def still_up(world: World) -> None:
    """The bot still answers a normal lookup."""
    world.halo.reset_faults()
    world.halo.release_hangs()
    limiter = world.services.halo.http.limiter
    await asyncio.sleep(limiter.paused_for("skill.svc.halowaypoint.com"))  # a 429's pause
    rec = await world.invoke("csr", {"player": NOBLE_SIX.gamertag}, user_id=FIRST_USER + 99)
    embed = rec.final_message()["embeds"][0]
    assert embed["title"] == "Noble Six: ranked CSR", embed
    world.discord.assert_healthy()


# ---------------------------------------------------------------------- upstream faults


@pytest.fixture(autouse=True)
def _debug_logs(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Capture at DEBUG through the same guard as the bot's own log handler."""
    caplog.set_level(logging.DEBUG)
    guard(caplog.handler)
    quiet_libraries(logging.DEBUG)
    yield
    caplog.handler.removeFilter(redactor())


@pytest.mark.slow
@pytest.mark.parametrize("name", list(FAULTS))
async def test_every_command_and_the_announcement_loop_survive(
    tmp_path: Path, name: str, caplog: pytest.LogCaptureFixture
) -> None:
    fault = FAULTS[name]
    async with FakeHalo() as elsewhere, msal_world(tmp_path) as world:

        def inject(pattern: str) -> None:
            kwargs = dict(fault.kwargs)
            if kwargs.get("location") == ELSEWHERE:
                kwargs["location"] = f"{elsewhere.base_url}/{pattern}"
            world.halo.fail(pattern, **kwargs)

        before = database_rows(world)
        for case in CASES:
            inject(case.pattern)
        recs = await asyncio.gather(
            *(run_case(world, case, FIRST_USER + i) for i, case in enumerate(CASES))
        )
        for case, rec in zip(CASES, recs, strict=True):
            check_answer(case, rec, fault.expect or case.not_found)
            assert world.halo.count(case.pattern.split("/")[0]) >= 1  # it did reach Halo
        if fault.expect != OK:
            assert database_rows(world) == before, "a failed lookup changed stored data"

        # The announcement loop: a failure is never a rank change, nothing is posted, the
        # loop keeps running.
        world.halo.reset_faults()
        world.halo.release_hangs()
        world.halo.set_csr(NOBLE_SIX.xuid, RANKED_ARENA, 1510)  # would be a tier change
        inject(SKILL)
        report = await announcer(world).run_once()
        if fault.cycle_fails:
            assert report.failed_batches >= 1, report
            assert world.discord.channel_messages(ANNOUNCE_CHANNEL_ID) == []
            after = database_rows(world)
            assert after["rank_snapshots"] == before["rank_snapshots"]
        assert announcer(world).poll.is_running()
        await still_up(world)
        assert_no_secrets(world, caplog.text)
        assert elsewhere.requests == [], "a request followed a redirect to another host"


async def test_dead_refresh_token_means_sign_in_expired_everywhere(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with FakeHalo() as halo:
        halo.access_token_lifetime = 60  # MSAL must redeem the refresh token to go on
        async with msal_world(tmp_path, halo) as world:
            before = database_rows(world)
            halo.kill_refresh_tokens()
            for case in CASES:
                halo.fail(case.pattern, status=401, times=None)
            recs = await asyncio.gather(
                *(run_case(world, case, FIRST_USER + i) for i, case in enumerate(CASES))
            )
            for case, rec in zip(CASES, recs, strict=True):
                check_answer(case, rec, EXPIRED)
            report = await announcer(world).run_once()
            assert report.failed_batches >= 1
            assert world.discord.channel_messages(ANNOUNCE_CHANNEL_ID) == []
            assert database_rows(world) == before
            assert announcer(world).poll.is_running()
            world.discord.assert_healthy()
            assert_no_secrets(world, caplog.text)


#: Each request of the sign-in chain, and the redirect it answers.
SIGN_IN_REDIRECTS = {
    "Microsoft refresh-token grant": ("login.microsoftonline.com/consumers/oauth2/v2.0/token", 307),
    "Xbox user token": ("user.auth.xboxlive.com/user/authenticate", 307),
    "XSTS token": ("xsts.auth.xboxlive.com/xsts/authorize", 307),
    "Spartan token": ("settings.svc.halowaypoint.com/spartan-token", 307),
    "clearance": (
        "settings.svc.halowaypoint.com/oban/flight-configurations/titles/hi/audiences/RETAIL/active",
        302,
    ),
}


@pytest.mark.parametrize("step", list(SIGN_IN_REDIRECTS))
async def test_a_redirect_during_sign_in_is_never_followed(
    tmp_path: Path, step: str, caplog: pytest.LogCaptureFixture
) -> None:
    target, status = SIGN_IN_REDIRECTS[step]
    async with FakeHalo() as halo, FakeHalo() as elsewhere:
        halo.access_token_lifetime = 60  # MSAL must redeem the refresh token to go on
        async with msal_world(tmp_path, halo) as world:
            before = database_rows(world)
            # Halo refuses the current Spartan token once: every command needs a new sign-in,
            # and one step of it answers a redirect to another host.
            halo.revoke_spartan_tokens()
            halo.fail(target, status=status, location=f"{elsewhere.base_url}/{target}", times=None)
            recs = await asyncio.gather(
                *(run_case(world, case, FIRST_USER + i) for i, case in enumerate(CASES))
            )
            for case, rec in zip(CASES, recs, strict=True):
                check_answer(case, rec, REDIRECTED)
            assert halo.count(target) >= 1
            assert database_rows(world) == before
            await still_up(world)  # the next sign-in, without the redirect, works
            assert elsewhere.requests == [], "a sign-in request followed a redirect"
            assert_no_secrets(world, caplog.text)


async def test_connection_refused(tmp_path: Path) -> None:
    # Nothing listens on the port: every request, sign-in included, is refused.
    with contextlib.closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}"
    async with running_world(
        tmp_path, halo_api_base_url=closed, halo_request_deadline_seconds=DEADLINE
    ) as world:
        before = database_rows(world)
        recs = await asyncio.gather(
            *(run_case(world, case, FIRST_USER + i) for i, case in enumerate(CASES))
        )
        for case, rec in zip(CASES, recs, strict=True):
            check_answer(case, rec, UNAVAILABLE)
        assert database_rows(world) == before
        world.discord.assert_healthy()


# ---------------------------------------------------------------------- Discord faults


@contextlib.asynccontextmanager
async def static_world(tmp_path: Path) -> AsyncIterator[World]:
    async with running_world(tmp_path) as world:
        yield world


async def test_discord_429_on_the_followup_is_waited_out(tmp_path: Path) -> None:
    async with static_world(tmp_path) as world:
        world.discord.fail("POST", r"^/webhooks/", status=429, retry_after=0.3, times=1)
        rec = await world.invoke("csr", {"player": NOBLE_SIX.gamertag})
        assert rec.final_message()["embeds"][0]["title"] == "Noble Six: ranked CSR"
        assert len(world.discord.requests_to("POST", r"^/webhooks/")) == 2  # retried once
        world.discord.assert_healthy()


async def test_discord_500_on_the_followup_is_retried_and_the_bot_goes_on(
    tmp_path: Path,
) -> None:
    async with static_world(tmp_path) as world:
        world.discord.fail("POST", r"^/webhooks/", status=500, times=1)
        rec = await world.invoke("csr", {"player": NOBLE_SIX.gamertag})
        assert rec.final_message()["embeds"][0]["title"] == "Noble Six: ranked CSR"
        assert len(world.discord.requests_to("POST", r"^/webhooks/")) == 2
        rec = await world.invoke("csr", {"player": MODERN_PLAYER.gamertag}, user_id=USER_ID + 1)
        assert rec.final_message()["embeds"][0]["title"] == "Sïerra\\#2468: ranked CSR"
        world.discord.assert_healthy()


async def test_gateway_disconnect_and_resume(tmp_path: Path) -> None:
    async with static_world(tmp_path) as world:
        await world.discord.disconnect_gateway(4000)
        await world.discord.wait_gateway("resume", timeout=15)
        rec = await world.invoke("csr", {"player": NOBLE_SIX.gamertag})
        assert rec.final_message()["embeds"][0]["title"] == "Noble Six: ranked CSR"
        assert announcer(world).poll.is_running()
        world.discord.assert_healthy()


@pytest.mark.slow
async def test_the_real_default_deadline(tmp_path: Path) -> None:
    """Every other test gives Halo a short deadline (tests/support/world.py); this one keeps
    the bot's own: a lookup Halo never answers is deferred at once and told "Halo is not
    answering" after 10 s, well inside the 15 minutes Discord allows."""
    async with running_world(tmp_path, halo_request_deadline_seconds=REAL_DEFAULT) as world:
        assert world.settings.halo_request_deadline_seconds == 10.0
        world.halo.fail(RECORD.format(xuid=NOBLE_SIX.xuid), hang=True, times=None)
        loop = asyncio.get_running_loop()
        sent = loop.time()
        rec = await world.discord.invoke("servicerecord", {"player": NOBLE_SIX.gamertag})
        await rec.wait_until(lambda r: r.acknowledged, timeout=DEFERRAL_LIMIT, what="the deferral")
        await rec.wait_final(timeout=20)
        await rec.wait_until(lambda r: r.latest_message() is not None, timeout=5, what="a message")
        elapsed = loop.time() - sent
        assert 10.0 <= elapsed < 15.0, elapsed
        msg = rec.final_message()
        assert msg is not None and rec.is_ephemeral(msg)
        assert msg["embeds"][0]["title"] == UNAVAILABLE[0]
        world.discord.assert_healthy()
