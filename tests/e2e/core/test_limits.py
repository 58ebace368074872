"""Per-user cooldowns and per-server limits, as members see them."""

from __future__ import annotations

from pathlib import Path

from tests.fakes.halo_server import MODERN_PLAYER, NOBLE_SIX, RECORDED_PLAYER, FakeHalo
from tests.support.discord import OTHER_USER_ID, USER_ID
from tests.support.world import running_world


async def test_user_cooldown_names_the_wait(tmp_path: Path) -> None:
    async with running_world(tmp_path, user_cooldown_seconds=30) as world:
        first = await world.invoke("link", {"gamertag": NOBLE_SIX.gamertag})
        assert first.embeds()[0]["title"] == "Account linked"
        second = await world.invoke("link", {"gamertag": MODERN_PLAYER.gamertag})
        msg = second.final_message()
        assert second.is_ephemeral(msg)
        assert "going a bit fast" in msg["embeds"][0]["description"]
        assert "30 seconds" in msg["embeds"][0]["description"]
        account = await world.db.accounts.get(USER_ID)
        assert account is not None and account.gamertag == NOBLE_SIX.gamertag
        # Another member is not slowed down by the first one's cooldown.
        other = await world.invoke(
            "link", {"gamertag": MODERN_PLAYER.gamertag}, user_id=OTHER_USER_ID
        )
        assert other.embeds()[0]["title"] == "Account linked"


async def test_server_limit_stops_a_busy_server_only(tmp_path: Path) -> None:
    async with running_world(tmp_path, guild_commands_per_minute=1) as world:
        await world.invoke("link", {"gamertag": NOBLE_SIX.gamertag})
        rec = await world.invoke(
            "link", {"gamertag": MODERN_PLAYER.gamertag}, user_id=OTHER_USER_ID
        )
        text = rec.final_message()["embeds"][0]["description"]
        assert "This server is making a lot of Halo lookups" in text
        assert await world.db.accounts.get(OTHER_USER_ID) is None
        # The same member in a DM (no server budget) is not limited.
        dm = await world.invoke(
            "link",
            {"gamertag": MODERN_PLAYER.gamertag},
            user_id=OTHER_USER_ID,
            guild_id=None,
            strict=False,
        )
        assert dm.embeds()[0]["title"] == "Account linked"


# -- presses and autocomplete that reach Halo (issue 15 item 7) ----------------------------

STATS = r"/hi/matches/[^/]+/stats$"
CALENDARS = r"(seasoncalendar|CsrSeasonCalendar)\.json"


async def test_pager_presses_that_reach_halo_count_against_the_server_limit(
    tmp_path: Path,
) -> None:
    """During a Halo 503 every /matches page is incomplete, so every press would fetch it
    again: 12 presses once made 13 pages' worth of requests. Now the command and the first
    two presses spend the server's budget of 3; the other 10 presses are refused privately,
    with the wait, and reach no Halo route."""
    async with running_world(tmp_path, guild_commands_per_minute=3) as world:
        world.halo.fail(STATS, status=503, times=None)
        rec = await world.invoke("matches", {"player": RECORDED_PLAYER.gamertag, "count": 10})
        msg = rec.final_message()
        assert msg is not None and not rec.is_ephemeral(msg)
        # Five matches' stats, each tried up to three times (the client's retries inside
        # its deadline, so the exact number varies).
        assert 5 <= world.halo.count(STATS) <= 15

        refused = []
        for _ in range(12):
            on_first = "page 1 of 2" in msg["embeds"][0]["footer"]["text"]
            button = "page:next" if on_first else "page:prev"
            click = await world.discord.click(msg["id"], button, user_id=USER_ID)
            await click.wait_final()
            answer = click.final_message()
            if answer is not None and click.is_ephemeral(answer):
                refused.append(answer["embeds"][0]["description"])
        assert len(refused) == 10
        assert all("This server is making a lot of Halo lookups" in r for r in refused)
        assert all("try again in" in r and "seconds" in r for r in refused)
        # Three page builds in all (the command's and two presses'), not thirteen.
        assert 15 <= world.halo.count(STATS) <= 3 * 15
        # The refused presses left the pages where the last allowed press put them.
        assert "page 1 of 2" in msg["embeds"][0]["footer"]["text"]


async def test_a_refused_press_names_the_member_cooldown(tmp_path: Path) -> None:
    async with running_world(tmp_path, user_cooldown_seconds=60) as world:
        rec = await world.invoke("matches", {"player": RECORDED_PLAYER.gamertag, "count": 10})
        msg = rec.final_message()
        assert msg is not None
        asked = world.halo.count(STATS)
        click = await world.discord.click(msg["id"], "page:next", user_id=USER_ID)
        await click.wait_final()
        answer = click.final_message()
        assert answer is not None and click.is_ephemeral(answer)
        assert "going a bit fast" in answer["embeds"][0]["description"]
        assert "seconds" in answer["embeds"][0]["description"]
        assert world.halo.count(STATS) == asked  # page 2 was not fetched
        assert "page 1 of 2" in msg["embeds"][0]["footer"]["text"]


async def test_season_keystrokes_during_an_outage_ask_halo_once(tmp_path: Path) -> None:
    """20 keystrokes in the season option while Halo answers 503: once 60 requests (a
    directory build per keystroke), now one build; the failure is remembered for 30 s."""
    async with running_world(tmp_path) as world:
        world.halo.fail(CALENDARS, status=503, times=None)
        typed = "Banished Honor Season"[:20]
        answers = [
            await world.autocomplete("csr", {"season": typed[:end]}, "season")
            for end in range(1, 21)
        ]
        assert answers == [[]] * 20
        # One build: the two calendars, each tried at most three times (the client's
        # retries inside its deadline).
        assert 2 <= world.halo.count(CALENDARS) <= 6

        # Commands still try (within their limits), and what they build serves autocomplete.
        world.halo.reset_faults()
        rec = await world.invoke("csr", {"player": NOBLE_SIX.gamertag, "season": "CsrSeason7-1"})
        msg = rec.final_message()
        assert msg is not None and "Banished Honor" in msg["embeds"][0]["description"]
        choices = await world.autocomplete("csr", {"season": "banished"}, "season")
        assert choices and choices[0]["value"] == "CsrSeason7-1"


async def test_operation_keystrokes_after_a_failed_start_ask_halo_nothing(
    tmp_path: Path,
) -> None:
    """The Operations catalogue failed to build at start-up (Halo down): the keystrokes
    within 30 s answer nothing and start no build."""
    async with FakeHalo() as halo:
        halo.fail("seasoncalendar", status=503, times=None)
        async with running_world(tmp_path, halo=halo) as world:
            at_start = halo.count("")
            assert halo.count("seasoncalendar") >= 1
            for text in ("b", "ba", "ban", "bani", "banis", "banish", "banishe", "banished"):
                assert await world.autocomplete("operation", {"operation": text}, "operation") == []
                assert await world.autocomplete("events", {"event": text}, "event") == []
            assert halo.count("") == at_start
