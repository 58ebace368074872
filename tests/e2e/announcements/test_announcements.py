"""Rank-change announcements end to end: real bot, fake Discord, fake Halo, real database."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import discord
import pytest

from bot.core.config import load_settings
from bot.core.services import Services, build_services
from bot.features.announcements.cog import RankAnnouncements
from bot.features.announcements.cycle import CycleReport, RankWatcher
from bot.features.announcements.delivery import DeliveryError, nonce_for
from tests.e2e.accounts.verifying import link_verified
from tests.fakes.discord_server import MANAGE_GUILD, SEND_MESSAGES, FakeDiscord
from tests.fakes.halo_server import (
    DEFAULT_CLEARANCE,
    MODERN_PLAYER,
    NOBLE_SIX,
    RANKED_ARENA,
    RANKED_DOUBLES,
    RANKED_SLAYER,
    SKILL_HOST,
    STATIC_SPARTAN_TOKEN,
    FakeHalo,
)
from tests.support.discord import (
    ADMIN_USER_ID,
    ANNOUNCE_CHANNEL_ID,
    GENERAL_CHANNEL_ID,
    GUILD_ID,
    OTHER_USER_ID,
    READONLY_CHANNEL_ID,
    USER_ID,
    running_fake,
)
from tests.support.sql import announcement, count, was_announced
from tests.support.world import Caller, World, running_world

GUILD2_ID = 1_300_000_000_000_020_000
GUILD2_CHANNEL_ID = 1_300_000_000_000_020_001
GUILD2_ROLE_ID = 1_300_000_000_000_020_100
GUILD2_ADMIN_ID = 1_300_000_000_000_020_200
CSR_REQUESTS = f"{SKILL_HOST}/hi/playlist"
CALENDAR_PATH = "/hi/progression/file/Csr/Calendars/CsrSeasonCalendar.json"


# ---------------------------------------------------------------------- helpers


def cog_of(world: World) -> RankAnnouncements:
    # The bot imports its extensions itself, so compare by name, not by class identity.
    cog = world.bot.get_cog("RankAnnouncements")
    assert cog is not None and type(cog).__name__ == "RankAnnouncements"
    return cast("RankAnnouncements", cog)


async def cycle(world: World) -> CycleReport:
    report = await cog_of(world).run_once()
    assert report.errors == [] or report.failed_batches, report.errors
    return report


def posted(world: World, channel_id: int = ANNOUNCE_CHANNEL_ID) -> list[list[dict[str, Any]]]:
    """The embeds of every message the bot posted in the channel (not interaction replies)."""
    return [m.embeds for m in world.discord.channel_messages(channel_id) if m.kind == "channel"]


def fields(embed: dict[str, Any]) -> dict[str, str]:
    return {f["name"]: f["value"] for f in embed.get("fields", [])}


async def set_channel(world: World, channel_id: int = ANNOUNCE_CHANNEL_ID, **kwargs: Any) -> None:
    kwargs.setdefault("user_id", ADMIN_USER_ID)
    rec = await world.invoke("config announce-channel", {"channel": channel_id}, **kwargs)
    assert rec.final_message()["embeds"][0]["title"] == "Announcement channel set"


async def link(world: World, gamertag: str, user_id: int = USER_ID, **kwargs: Any) -> None:
    """/link and verify through the service tag, as a member does (servers require
    verified links by default)."""
    await link_verified(world, gamertag, user_id, **kwargs)


async def show_problem(world: World, **kwargs: Any) -> str | None:
    kwargs.setdefault("user_id", ADMIN_USER_ID)
    rec = await world.invoke("config show", **kwargs)
    return fields(rec.final_message()["embeds"][0]).get("Problem")


async def eventually(predicate: Callable[[], bool], what: str, seconds: float = 10.0) -> None:
    for _ in range(int(seconds / 0.02)):
        if predicate():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def two_guild_fake(fake: FakeDiscord) -> None:
    """A second server: #ranks, a Mods role with Manage Server, its admin and our member."""
    fake.add_guild(
        GUILD2_ID,
        "Second Guild",
        channels=[{"id": GUILD2_CHANNEL_ID, "name": "ranks"}],
        roles=[{"id": GUILD2_ROLE_ID, "name": "Mods", "permissions": MANAGE_GUILD}],
        members=[
            {"id": GUILD2_ADMIN_ID, "username": "admin2", "roles": [GUILD2_ROLE_ID]},
            {"id": USER_ID, "username": "tester"},
        ],
    )


async def sync_guild2(world: World) -> None:
    guild = discord.Object(id=GUILD2_ID)
    world.bot.tree.copy_global_to(guild=guild)
    await world.bot.tree.sync(guild=guild)


# ---------------------------------------------------------------------- scripted cycles


async def test_scripted_changes_post_exactly_the_expected_messages(world: World) -> None:
    await set_channel(world)
    await link(world, NOBLE_SIX.gamertag)  # 1325 (Diamond 3) everywhere
    await link(world, MODERN_PLAYER.gamertag, OTHER_USER_ID)  # Onyx 1550 everywhere

    first = await cycle(world)  # first sight: a baseline, not an announcement
    assert (first.players, first.baselines, first.queued) == (2, 8, 0)
    assert first.csr_requests == 4  # both players in one request per playlist
    assert await count(world.db, "rank_snapshots") == 8
    second = await cycle(world)  # nothing changed: no post, no new history rows
    assert (second.changes, second.snapshots_written) == (0, 0)
    assert posted(world) == []

    world.halo.set_csr(NOBLE_SIX.xuid, RANKED_ARENA, 1180, season_max=1325)  # -> Platinum 6
    world.halo.set_csr(MODERN_PLAYER.xuid, RANKED_SLAYER, 1600)  # season high: off by default
    await cycle(world)
    assert len(posted(world)) == 1
    [[drop]] = posted(world)
    assert drop["title"] == "Noble Six dropped to Platinum"
    assert drop["description"] == f"<@{USER_ID}> · Ranked Arena"
    assert fields(drop) == {"Rank": "Diamond 3 → **Platinum 6**", "CSR": "1,325 → **1,180** (-145)"}
    assert drop["thumbnail"]["url"].endswith("/platinum_6.png")

    world.halo.set_csr(NOBLE_SIX.xuid, RANKED_ARENA, 1205, season_max=1325)  # -> Diamond 1
    world.halo.set_csr(NOBLE_SIX.xuid, RANKED_SLAYER, 1380, season_max=1380)  # sub-tier: off
    await cycle(world)
    assert [e[0]["title"] for e in posted(world)] == [
        "Noble Six dropped to Platinum",
        "Noble Six reached Diamond",
    ]

    rec = await world.invoke(
        "config triggers", {"subtier_change": True, "season_high": True}, user_id=ADMIN_USER_ID
    )
    assert "Every sub-tier change (e.g. Gold 2 → Gold 3): **on**" in rec.embeds()[0]["description"]
    world.halo.set_csr(NOBLE_SIX.xuid, RANKED_SLAYER, 1420, season_max=1420)  # Diamond 5
    await cycle(world)
    assert len(posted(world)) == 3
    [[up]] = posted(world)[2:]
    assert up["title"] == "Noble Six ranked up to Diamond 5"
    assert fields(up)["New season high"] == "**1,420** (was 1,380)"
    assert posted(world, GENERAL_CHANNEL_ID) == []

    history = await world.db.snapshots.history(str(NOBLE_SIX.xuid), RANKED_ARENA)
    assert [s.value for s in history] == [1325, 1180, 1205]
    assert await world.db.announcements.pending() == []


async def test_many_changes_in_one_server_are_grouped_into_few_messages(world: World) -> None:
    await set_channel(world)
    for n in range(12):
        xuid = 2_533_274_800_100_000 + n
        world.halo.add_player(xuid, f"Spartan {n:02d}", csr=880)  # Gold 6
        await world.db.accounts.link(1_300_000_000_000_030_000 + n, str(xuid), f"Spartan {n:02d}")
        await world.db.tracked.track(GUILD_ID, 1_300_000_000_000_030_000 + n)
    await cycle(world)
    for n in range(12):
        world.halo.set_csr(2_533_274_800_100_000 + n, RANKED_ARENA, 905, season_max=905)
    report = await cycle(world)
    assert report.queued == 12
    assert report.flush is not None and (report.flush.messages, report.flush.sent) == (2, 12)
    messages = posted(world)
    assert [len(m) for m in messages] == [10, 2]
    titles = sorted(e["title"] for m in messages for e in m)
    assert titles == [f"Spartan {n:02d} reached Platinum" for n in range(12)]


async def test_two_servers_with_different_settings_share_one_fetch(tmp_path: Path) -> None:
    async with running_fake() as fake:
        two_guild_fake(fake)
        async with running_world(tmp_path, discord=fake) as world:
            await sync_guild2(world)
            await set_channel(world)
            await link(world, NOBLE_SIX.gamertag)  # tracked in guild 1
            g2: Caller = {"guild_id": GUILD2_ID, "user_id": GUILD2_ADMIN_ID}
            await set_channel(world, GUILD2_CHANNEL_ID, **g2)
            await world.invoke("config track", {"member": USER_ID}, **g2)
            await world.invoke(
                "config playlists", {"arena": False, "doubles": False, "ffa": False}, **g2
            )
            await world.invoke("config triggers", {"subtier_change": True}, **g2)

            before = world.halo.count(CSR_REQUESTS)
            report = await cycle(world)
            assert report.memberships == 2 and report.players == 1
            assert world.halo.count(CSR_REQUESTS) - before == 4  # fetched once, not per server

            world.halo.set_csr(NOBLE_SIX.xuid, RANKED_ARENA, 1510)  # tier up
            world.halo.set_csr(NOBLE_SIX.xuid, RANKED_SLAYER, 1380, season_max=1380)  # sub-tier
            await cycle(world)
            [[one]] = posted(world)
            assert one["title"] == "Noble Six reached Onyx"
            [[two]] = posted(world, GUILD2_CHANNEL_ID)
            assert two["title"] == "Noble Six ranked up to Diamond 4"
            assert "Ranked Slayer" in two["description"]

            # Each server sees only its own settings, and one server's admin is nobody elsewhere.
            rec = await world.invoke("config show", **g2)
            shown = fields(rec.final_message()["embeds"][0])
            assert shown["Announce channel"] == f"<#{GUILD2_CHANNEL_ID}>"
            assert shown["Playlists"] == "Ranked Slayer"
            rec = await world.invoke("config show", user_id=GUILD2_ADMIN_ID)
            assert rec.final_message()["embeds"][0]["title"] == "Not allowed"
            settings = await world.db.guilds.get(GUILD_ID)
            assert settings.playlists is None and not settings.trigger_subtier_change


# ---------------------------------------------------------------------- crash safety


async def test_restart_between_snapshot_and_post_posts_exactly_once(tmp_path: Path) -> None:
    async with running_fake() as fake, FakeHalo() as halo:
        async with running_world(tmp_path, discord=fake, halo=halo) as first:
            await set_channel(first)
            await link(first, NOBLE_SIX.gamertag)
            await cycle(first)
            halo.set_csr(NOBLE_SIX.xuid, RANKED_ARENA, 1510)
            # The process "dies" right after the snapshot + outbox transaction.
            report = await cog_of(first).watcher.run_cycle(flush=False)
            assert report.queued == 1 and report.flush is None
            assert posted(first) == []
            old_cog = cog_of(first)
        assert not old_cog.poll.is_running()  # the loop stopped with the cog

        async with running_world(tmp_path, discord=fake, halo=halo) as second:
            await cog_of(second).wait_started()  # the start posts the outbox first
            assert [m[0]["title"] for m in posted(second)] == ["Noble Six reached Onyx"]
            again = await cycle(second)  # the snapshot already has 1510: nothing new
            assert again.changes == 0
            assert len(posted(second)) == 1
            assert await second.db.announcements.pending() == []


async def test_crash_after_discord_accepted_resends_with_the_same_nonce(tmp_path: Path) -> None:
    async with running_fake() as fake, FakeHalo() as halo:
        async with running_world(tmp_path, discord=fake, halo=halo) as first:
            await set_channel(first)
            await link(first, NOBLE_SIX.gamertag)
            await cycle(first)
            halo.set_csr(NOBLE_SIX.xuid, RANKED_ARENA, 1510)

            async def dies(*args: object, **kwargs: object) -> bool:
                raise RuntimeError("process killed before mark_sent committed")

            first.db.announcements.mark_sent = dies  # type: ignore[method-assign]
            report = await cog_of(first).run_once()
            assert report.errors and "process killed" in report.errors[0]
        async with running_world(tmp_path, discord=fake, halo=halo) as second:
            await cog_of(second).wait_started()
            [sent] = [m.payload for m in fake.channel_messages(ANNOUNCE_CHANNEL_ID)]
            [repeat] = [m.payload for m in fake.deduplicated_posts]  # Discord dropped it
            assert sent["nonce"] == repeat["nonce"]
            assert sent["enforce_nonce"] is True and repeat["enforce_nonce"] is True
            assert await second.db.announcements.pending() == []


# ---------------------------------------------------------------------- upstream trouble


async def test_upstream_failure_mid_cycle_is_never_a_change(world: World) -> None:
    await set_channel(world)
    await link(world, NOBLE_SIX.gamertag)
    await cycle(world)
    world.halo.set_csr(NOBLE_SIX.xuid, RANKED_ARENA, 1510)
    world.halo.set_csr(NOBLE_SIX.xuid, RANKED_SLAYER, 1510)
    world.halo.fail(f"{SKILL_HOST}/hi/playlist/{RANKED_SLAYER}", status=500, times=None)
    world.halo.fail(f"{SKILL_HOST}/hi/playlist/{RANKED_DOUBLES}", wrong_shape=True, times=None)

    report = await cog_of(world).run_once()
    # Slayer: HTTP 500s; doubles: an answer that is not a CSR answer at all.
    assert report.failed_batches == 2 and len(report.errors) == 2
    assert report.missing == 2
    assert [m[0]["description"] for m in posted(world)] == [f"<@{USER_ID}> · Ranked Arena"]
    slayer = await world.db.snapshots.latest(str(NOBLE_SIX.xuid), RANKED_SLAYER)
    assert slayer is not None and slayer.value == 1325  # nothing stored from the failure

    world.halo.reset_faults()
    report = await cycle(world)
    assert report.failed_batches == 0 and report.changes == 2  # slayer tier up + season high
    assert [m[0]["description"] for m in posted(world)] == [
        f"<@{USER_ID}> · Ranked Arena",
        f"<@{USER_ID}> · Ranked Slayer",
    ]


async def test_season_rollover_does_not_flood(world: World) -> None:
    def calendar(current: str) -> dict[str, Any]:
        past = {"ISO8601Date": "2020-01-01T00:00:00.000Z"}
        future = {"ISO8601Date": "2099-01-01T00:00:00.000Z"}
        return {
            "Seasons": [
                {
                    "CsrSeasonFilePath": f"Csr/Seasons/{current}.json",
                    "StartDate": past,
                    "EndDate": future,
                }
            ]
        }

    world.halo.set_file(CALENDAR_PATH, calendar("CsrSeason9-1"))
    await set_channel(world)
    await link(world, NOBLE_SIX.gamertag)
    await link(world, MODERN_PLAYER.gamertag, OTHER_USER_ID)
    assert (await cycle(world)).season == "CsrSeason9-1"

    # The new season starts: everyone is back in placement or soft-reset lower.
    world.halo.set_file(CALENDAR_PATH, calendar("CsrSeason10-1"))
    world.services.halo.cache.cache.clear()  # the calendar's cache time is over
    for playlist in (RANKED_ARENA, RANKED_SLAYER, RANKED_DOUBLES):
        world.halo.set_csr(NOBLE_SIX.xuid, playlist, -1, matches_remaining=5)
        world.halo.set_csr(MODERN_PLAYER.xuid, playlist, 700, season_max=700)
    report = await cycle(world)
    assert report.season == "CsrSeason10-1"
    assert report.baselines == 8 and report.changes == 0 and report.queued == 0
    assert posted(world) == []
    latest = await world.db.snapshots.latest(str(MODERN_PLAYER.xuid), RANKED_ARENA)
    assert latest is not None and latest.csr_season == "CsrSeason10-1"

    # Inside the new season changes are announced again.
    world.halo.set_csr(NOBLE_SIX.xuid, RANKED_ARENA, 1005, matches_remaining=0)
    world.halo.set_csr(MODERN_PLAYER.xuid, RANKED_ARENA, 905, season_max=905)
    await cycle(world)
    titles = sorted(e["title"] for m in posted(world) for e in m)
    assert titles == ["Noble Six finished placement: Platinum 3", "Sïerra\\#2468 reached Platinum"]


# ---------------------------------------------------------------------- Discord trouble


async def test_deleted_channel_is_shown_and_skipped(world: World) -> None:
    await set_channel(world)
    await link(world, NOBLE_SIX.gamertag)
    await cycle(world)
    channel = world.discord.guilds[GUILD_ID].channels.pop(ANNOUNCE_CHANNEL_ID)
    await world.discord.dispatch_event("CHANNEL_DELETE", channel.to_json(), guild_id=GUILD_ID)
    await eventually(lambda: world.bot.get_channel(ANNOUNCE_CHANNEL_ID) is None, "deleted")

    world.halo.set_csr(NOBLE_SIX.xuid, RANKED_ARENA, 1510)
    report = await cycle(world)
    assert report.flush is not None and report.flush.failed == 1 and report.flush.sent == 0
    attempts = world.discord.requests_to("POST", rf"^/channels/{ANNOUNCE_CHANNEL_ID}/messages")
    assert [r.status for r in attempts] == [404]
    problem = await show_problem(world)
    assert problem is not None and "was deleted" in problem
    assert await world.db.announcements.pending() == []  # given up, not retried forever

    # The loop goes on: a new channel gets the next change, and the problem is gone.
    await set_channel(world, GENERAL_CHANNEL_ID)
    world.halo.set_csr(NOBLE_SIX.xuid, RANKED_SLAYER, 1510)
    await cycle(world)
    assert [m[0]["title"] for m in posted(world, GENERAL_CHANNEL_ID)] == ["Noble Six reached Onyx"]
    assert await show_problem(world) is None


async def test_read_only_channel_is_refused_and_shown(world: World) -> None:
    rec = await world.invoke(
        "config announce-channel", {"channel": READONLY_CHANNEL_ID}, user_id=ADMIN_USER_ID
    )
    msg = rec.final_message()
    assert rec.is_ephemeral(msg)
    assert msg["embeds"][0]["title"] == "Missing permission"
    assert "Send Messages" in msg["embeds"][0]["description"]
    assert (await world.db.guilds.get(GUILD_ID)).announce_channel_id is None

    # Permissions change after the setup (as if an overwrite was added later).
    await world.db.guilds.update(GUILD_ID, announce_channel_id=READONLY_CHANNEL_ID)
    await link(world, NOBLE_SIX.gamertag)
    await cycle(world)
    world.halo.set_csr(NOBLE_SIX.xuid, RANKED_ARENA, 1510)
    report = await cycle(world)
    assert report.flush is not None and report.flush.problems
    assert world.discord.channel_messages(READONLY_CHANNEL_ID) == []
    recorded = (await world.db.guilds.get(GUILD_ID)).channel_problem
    assert recorded == f"I'm missing the Send Messages permission in <#{READONLY_CHANNEL_ID}>."
    assert await show_problem(world) == recorded


async def test_permission_lost_without_notice_is_recorded_then_cleared(world: World) -> None:
    await set_channel(world)
    await link(world, NOBLE_SIX.gamertag)
    await cycle(world)
    # An overwrite denies us Send Messages, but Discord's cache never heard of it:
    # the REST answer is a 403.
    overwrites = world.discord.guilds[GUILD_ID].channels[ANNOUNCE_CHANNEL_ID].permission_overwrites
    deny = {"id": world.discord.bot.id, "type": 1, "allow": 0, "deny": SEND_MESSAGES}
    overwrites.append(deny)
    world.halo.set_csr(NOBLE_SIX.xuid, RANKED_ARENA, 1510)
    await cycle(world)
    assert posted(world) == []
    problem = (await world.db.guilds.get(GUILD_ID)).channel_problem
    assert problem is not None and "Send Messages" in problem
    assert "Missing Permissions" in problem

    overwrites.remove(deny)
    world.halo.set_csr(NOBLE_SIX.xuid, RANKED_SLAYER, 1510)
    await cycle(world)
    assert [m[0]["title"] for m in posted(world)] == ["Noble Six reached Onyx"]
    assert (await world.db.guilds.get(GUILD_ID)).channel_problem is None


async def test_kicked_from_one_server_the_others_still_get_posts(tmp_path: Path) -> None:
    async with running_fake() as fake:
        two_guild_fake(fake)
        async with running_world(tmp_path, discord=fake) as world:
            await sync_guild2(world)
            await set_channel(world)
            await set_channel(world, GUILD2_CHANNEL_ID, guild_id=GUILD2_ID, user_id=GUILD2_ADMIN_ID)
            await link(world, NOBLE_SIX.gamertag)
            await world.invoke(
                "config track", {"member": USER_ID}, guild_id=GUILD2_ID, user_id=GUILD2_ADMIN_ID
            )
            await cycle(world)
            await fake.remove_guild(GUILD2_ID)
            await eventually(lambda: world.bot.get_guild(GUILD2_ID) is None, "guild removed")

            world.halo.set_csr(NOBLE_SIX.xuid, RANKED_ARENA, 1510)
            report = await cycle(world)
            assert report.queued == 1  # only for the server the bot is still in
            assert [m[0]["title"] for m in posted(world)] == ["Noble Six reached Onyx"]
            assert posted(world, GUILD2_CHANNEL_ID) == []
            problem = (await world.db.guilds.get(GUILD2_ID)).channel_problem
            assert problem is not None and "no longer in this server" in problem


async def test_discord_429_on_the_post_is_retried(world: World) -> None:
    await set_channel(world)
    await link(world, NOBLE_SIX.gamertag)
    await cycle(world)
    world.discord.fail(
        "POST", rf"^/channels/{ANNOUNCE_CHANNEL_ID}/messages$", status=429, retry_after=0.2
    )
    world.halo.set_csr(NOBLE_SIX.xuid, RANKED_ARENA, 1510)
    report = await cycle(world)
    attempts = world.discord.requests_to("POST", rf"^/channels/{ANNOUNCE_CHANNEL_ID}/messages$")
    assert [r.status for r in attempts] == [429, 200]
    assert [m[0]["title"] for m in posted(world)] == ["Noble Six reached Onyx"]
    assert report.flush is not None and report.flush.sent == 1
    assert await world.db.announcements.pending() == []


# ---------------------------------------------------------------------- the loop itself


@pytest.mark.slow
async def test_the_loop_polls_on_its_own_and_survives_a_failing_cycle(tmp_path: Path) -> None:
    async with running_world(tmp_path, rank_poll_seconds=1) as world:
        cog = cog_of(world)
        assert cog.poll.is_running()
        await set_channel(world)
        await link(world, NOBLE_SIX.gamertag)
        original = cog.watcher.run_cycle
        calls = 0

        async def flaky(**kwargs: Any) -> CycleReport:
            nonlocal calls
            calls += 1
            if calls == 1:
                raise RuntimeError("database on fire")
            return await original(**kwargs)

        cog.watcher.run_cycle = flaky  # type: ignore[method-assign]
        await eventually(lambda: calls >= 2, "a cycle after the failing one", seconds=10)
        await eventually(lambda: cog.last_report is not None, "a finished cycle", seconds=10)
        world.halo.set_csr(NOBLE_SIX.xuid, RANKED_ARENA, 1510)
        await eventually(lambda: len(posted(world)) == 1, "the post", seconds=10)
        assert posted(world)[0][0]["title"] == "Noble Six reached Onyx"


async def test_a_check_longer_than_the_interval_tells_the_operator(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with running_world(tmp_path, rank_poll_seconds=1) as world:
        await link(world, NOBLE_SIX.gamertag)
        world.halo.fail(CSR_REQUESTS, delay=0.3, times=None)  # 4 playlists: > 1 s
        with caplog.at_level(logging.WARNING, logger="bot.features.announcements.cog"):
            report = await cog_of(world).run_once()
        assert report.duration > 1
        # (the loop's own checks, every second, may warn as well)
        warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert any(
            w.startswith("The rank check of 1 player took") and "raise RANK_POLL_SECONDS" in w
            for w in warnings
        ), warnings


# ---------------------------------------------------------------------- without Discord


class RecordingPoster:
    """A Poster that fails as scripted, then records what it was asked to post."""

    def __init__(self, failures: list[DeliveryError] | None = None) -> None:
        self.failures = list(failures or [])
        self.posts: list[tuple[int, int, list[str], str]] = []

    async def post(
        self, guild_id: int, channel_id: int, embeds: Sequence[discord.Embed], nonce: str
    ) -> int:
        if self.failures:
            raise self.failures.pop(0)
        self.posts.append((guild_id, channel_id, [e.title or "" for e in embeds], nonce))
        return 1_300_000_000_000_090_000 + len(self.posts)


@contextlib.asynccontextmanager
async def watcher_world(tmp_path: Path) -> AsyncIterator[tuple[Services, FakeHalo]]:
    async with FakeHalo() as halo:
        settings = load_settings(
            None,
            halo_api_base_url=halo.base_url,
            halo_spartan_token=STATIC_SPARTAN_TOKEN,
            halo_clearance_token=DEFAULT_CLEARANCE,
            database_path=tmp_path / "watcher.db",
            halo_requests_per_second=100,
        )
        services = await build_services(settings)
        try:
            await services.db.accounts.link(USER_ID, str(NOBLE_SIX.xuid), NOBLE_SIX.gamertag)
            await services.db.tracked.track(GUILD_ID, USER_ID)
            await services.db.guilds.update(GUILD_ID, announce_channel_id=ANNOUNCE_CHANNEL_ID)
            yield services, halo
        finally:
            await services.close()


async def test_discord_outage_keeps_posts_pending_and_resends_the_same_message(
    tmp_path: Path,
) -> None:
    async with watcher_world(tmp_path) as (services, halo):
        poster = RecordingPoster([DeliveryError("Discord error 503", transient=True)])
        watcher = RankWatcher(services.db, services.halo, poster=poster)
        await watcher.run_cycle()
        halo.set_csr(NOBLE_SIX.xuid, RANKED_ARENA, 1510)
        report = await watcher.run_cycle()
        assert report.flush is not None and report.flush.deferred == 1
        assert poster.posts == []
        [row] = await services.db.announcements.pending()
        assert row.key.startswith(f"{GUILD_ID}:{NOBLE_SIX.xuid}:{RANKED_ARENA}:-:1325->1510:")

        flushed = await watcher.flush_outbox()
        assert (flushed.messages, flushed.sent) == (1, 1)
        [(guild, channel, titles, nonce)] = poster.posts
        assert (guild, channel, titles) == (
            GUILD_ID,
            ANNOUNCE_CHANNEL_ID,
            ["Noble Six reached Onyx"],
        )
        assert nonce == nonce_for([row.key])
        assert await was_announced(services.db, row.key)


async def test_posts_pending_for_too_long_are_given_up(tmp_path: Path) -> None:
    async with watcher_world(tmp_path) as (services, halo):
        watcher = RankWatcher(services.db, services.halo)  # no poster: nothing is posted
        await watcher.run_cycle()
        halo.set_csr(NOBLE_SIX.xuid, RANKED_ARENA, 1510)
        assert (await watcher.run_cycle()).queued == 1
        [row] = await services.db.announcements.pending()

        poster = RecordingPoster()
        later = RankWatcher(
            services.db,
            services.halo,
            poster=poster,
            clock=lambda: datetime.now(UTC) + timedelta(days=2),
        )
        flushed = await later.flush_outbox()
        assert (flushed.sent, flushed.failed) == (0, 1) and poster.posts == []
        stored = await announcement(services.db, row.key)
        assert stored is not None and stored.status == "failed"
        assert stored.failure == "not delivered within 24 hours"
