"""/leaderboard end to end: ranks come from the snapshots the rank checks stored."""

from __future__ import annotations

from typing import Any, cast

import pytest

from bot.features.announcements.cog import RankAnnouncements
from bot.features.leaderboard.cog import Leaderboard
from tests.fakes.halo_server import NOBLE_SIX, RANKED_SLAYER
from tests.support.discord import GUILD_ID, OTHER_USER_ID, USER_ID
from tests.support.world import World

FIRST_XUID = 2533274800001000
FIRST_USER = 1_300_000_000_000_060_000


async def track(world: World, user_id: int, xuid: int, gamertag: str, csr: int | None) -> None:
    if xuid not in world.halo.players:
        world.halo.add_player(xuid, gamertag, csr=csr)
    await world.db.accounts.link(user_id, str(xuid), gamertag)
    await world.db.tracked.track(GUILD_ID, user_id)


async def rank_check(world: World) -> None:
    cog = cast(RankAnnouncements, world.bot.get_cog("RankAnnouncements"))
    report = await cog.run_once()
    assert report.errors == [], report.errors


def components(msg: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for row in msg.get("components") or [] for c in row["components"]]


def leaderboard_cog(world: World) -> Leaderboard:
    return cast(Leaderboard, world.bot.get_cog("Leaderboard"))


def page(msg: dict[str, Any]) -> tuple[list[str], str]:
    embed = msg["embeds"][0]
    return embed["description"].split("\n"), embed["footer"]["text"]


async def test_ranks_order_highlight_and_paging(world: World) -> None:
    # 12 ranked players (CSR 1600, 1550, ... 1050) and one still in placement.
    for i in range(12):
        await track(world, FIRST_USER + i, FIRST_XUID + i, f"Ranked {i:02d}", 1600 - 50 * i)
    await track(world, FIRST_USER + 99, FIRST_XUID + 99, "Placement Pal", None)
    await track(world, USER_ID, NOBLE_SIX.xuid, NOBLE_SIX.gamertag, None)  # Diamond 3, 1325
    await rank_check(world)
    before = len(world.halo.requests)

    rec = await world.invoke("leaderboard", {}, user_id=USER_ID)
    msg = rec.final_message()
    assert not rec.is_ephemeral(msg)
    lines, footer = page(msg)
    assert msg["embeds"][0]["title"] == "Leaderboard: Ranked Arena"
    assert footer == "Page 1 of 2 · 13 ranked, 1 not ranked yet · from the last rank checks"
    assert lines[0] == f"`#1` Ranked 00 · Onyx 1600 · <@{FIRST_USER}>"
    assert lines[2] == f"`#3` Ranked 02 · Onyx 1500 · <@{FIRST_USER + 2}>"
    assert lines[3] == f"`#4` Ranked 03 · Diamond 6 (1,450) · <@{FIRST_USER + 3}>"
    # Noble Six (1325) sits between 1350 and 1300, highlighted, on page 1.
    assert lines[6] == f"`#7` ▶ **Noble Six · Diamond 3 (1,325)** · <@{USER_ID}>"
    assert lines[7] == f"`#8` Ranked 06 · Diamond 3 (1,300) · <@{FIRST_USER + 6}>"
    assert len(lines) == 10
    assert rec.callbacks[0].data["allowed_mentions"]["parse"] == []  # mentions never ping

    click = await world.discord.click(msg["id"], "page:next", user_id=USER_ID)
    await click.wait_final()
    lines, footer = page(click.callbacks[-1].data)
    assert footer.startswith("Page 2 of 2")
    assert lines[0] == f"`#11` Ranked 09 · Platinum 6 (1,150) · <@{FIRST_USER + 9}>"
    assert len(lines) == 3
    you = click.callbacks[-1].data["embeds"][0]["fields"][0]
    assert you["name"] == "You" and "Noble Six" in you["value"]

    # Somebody else cannot turn the pages of this one.
    other = await world.discord.click(msg["id"], "page:prev", user_id=OTHER_USER_ID)
    await other.wait_final()
    assert other.is_ephemeral()
    assert "run it yourself" in (other.content() or "")
    assert page(msg)[1].startswith("Page 2 of 2")  # the shared message did not move

    back = await world.discord.click(msg["id"], "page:prev", user_id=USER_ID)
    await back.wait_final()
    lines, footer = page(back.callbacks[-1].data)
    assert footer.startswith("Page 1 of 2") and lines[6].startswith("`#7` ▶ **Noble Six")
    assert not back.callbacks[-1].data["embeds"][0].get("fields")  # own line is on this page
    buttons = {c.get("custom_id"): c for c in components(msg)}
    assert buttons["page:prev"]["disabled"] and not buttons["page:next"]["disabled"]

    assert len(world.halo.requests) == before  # never asks Halo


async def test_caller_far_down_starts_on_their_page(world: World) -> None:
    for i in range(15):
        await track(world, FIRST_USER + i, FIRST_XUID + i, f"Ranked {i:02d}", 1600 - 40 * i)
    await rank_check(world)
    rec = await world.invoke("leaderboard", {}, user_id=FIRST_USER + 13)
    lines, footer = page(rec.final_message())
    assert footer.startswith("Page 2 of 2")
    assert f"`#14` ▶ **Ranked 13 · Platinum 4 (1,080)** · <@{FIRST_USER + 13}>" in lines


async def test_other_playlist_and_ties(world: World) -> None:
    await track(world, FIRST_USER, FIRST_XUID, "Tie A", 1000)
    await track(world, FIRST_USER + 1, FIRST_XUID + 1, "Tie B", 1000)
    world.halo.set_csr(FIRST_XUID, RANKED_SLAYER, 700)
    world.halo.set_csr(FIRST_XUID + 1, RANKED_SLAYER, 900)
    await rank_check(world)
    rec = await world.invoke("leaderboard", {})
    lines, _ = page(rec.final_message())
    assert [line.split(" · ")[0] for line in lines] == ["`#1` Tie A", "`#1` Tie B"]
    rec = await world.invoke("leaderboard", {"playlist": RANKED_SLAYER})
    msg = rec.final_message()
    assert msg["embeds"][0]["title"] == "Leaderboard: Ranked Slayer"
    lines, _ = page(msg)
    assert lines[0].startswith("`#1` Tie B · Platinum 1 (900)")
    assert "components" not in msg or not msg["components"]  # one page: no buttons


async def test_nobody_tracked_or_nobody_ranked_yet(world: World) -> None:
    rec = await world.invoke("leaderboard", {})
    embed = rec.final_message()["embeds"][0]
    assert rec.is_ephemeral()
    assert embed["title"] == "No data" and "Nobody is tracked" in embed["description"]
    await track(world, FIRST_USER, FIRST_XUID, "Fresh Face", 1200)
    rec = await world.invoke("leaderboard", {})  # no rank check yet
    embed = rec.final_message()["embeds"][0]
    assert "after the next rank check" in embed["description"]


async def test_unknown_playlist_and_autocomplete(world: World) -> None:
    rec = await world.invoke("leaderboard", {"playlist": "Big Team"})
    embed = rec.final_message()["embeds"][0]
    assert rec.is_ephemeral() and embed["title"] == "Unknown playlist"
    choices = await world.autocomplete("leaderboard", {"playlist": "dou"}, "playlist")
    assert choices == [{"name": "Ranked Doubles", "value": "fa5aa2a3-2428-4912-a023-e1eeea7b877c"}]


async def test_buttons_go_grey_after_the_timeout(world: World) -> None:
    leaderboard_cog(world).service.pager_timeout = 0.3
    for i in range(11):
        await track(world, FIRST_USER + i, FIRST_XUID + i, f"Ranked {i:02d}", 1500 - 10 * i)
    await rank_check(world)

    # Untouched: the command's own token edits the message.
    rec = await world.invoke("leaderboard", {}, user_id=FIRST_USER)
    msg = rec.final_message()
    await rec.wait_until(lambda r: bool(r.edits), timeout=5, what="the buttons disabled")
    assert all(c["disabled"] for c in components(rec.edits[-1].payload))
    with pytest.raises(ValueError, match="disabled"):
        await world.discord.click(msg["id"], "page:next", user_id=FIRST_USER)

    # Paged: the timeout counts from the last press, whose token edits the message.
    leaderboard_cog(world).service.pager_timeout = 1.0  # room for the press on a busy machine
    rec = await world.invoke("leaderboard", {}, user_id=FIRST_USER)
    msg = rec.final_message()
    click = await world.discord.click(msg["id"], "page:next", user_id=FIRST_USER)
    await click.wait_final()
    await click.wait_until(lambda r: bool(r.edits), timeout=5, what="the buttons disabled")
    assert all(c["disabled"] for c in components(msg))
    assert page(msg)[1].startswith("Page 2 of 2")  # the page shown stays


async def test_callers_without_a_line_are_told_why(world: World) -> None:
    await track(world, FIRST_USER, FIRST_XUID, "Ranked One", 1400)
    await track(world, FIRST_USER + 1, FIRST_XUID + 1, "In Placement", None)
    await rank_check(world)
    rec = await world.invoke("leaderboard", {}, user_id=FIRST_USER + 1)
    [you] = rec.final_message()["embeds"][0]["fields"]
    assert you == {
        "name": "You",
        "value": "Not ranked in Ranked Arena yet (placement, or no rank check since).",
        "inline": False,
    }
    rec = await world.invoke("leaderboard", {}, user_id=OTHER_USER_ID)
    [you] = rec.final_message()["embeds"][0]["fields"]
    assert "not tracked in this server" in you["value"] and "`/link`" in you["value"]


async def test_a_failed_page_turn_is_told_to_the_presser(world: World) -> None:
    for i in range(21):  # three pages
        await track(world, FIRST_USER + i, FIRST_XUID + i, f"Ranked {i:02d}", 1600 - 20 * i)
    await rank_check(world)
    rec = await world.invoke("leaderboard", {}, user_id=USER_ID)
    msg = rec.final_message()
    assert page(msg)[1].startswith("Page 1 of 3")

    # Discord refuses the page edit: the presser is told, not left with "interaction failed".
    world.discord.fail("POST", r"^/interactions/\d+/[^/]+/callback$", status=400, times=1)
    click = await world.discord.click(msg["id"], "page:next", user_id=USER_ID)
    await click.wait_final()
    assert click.is_ephemeral()
    assert click.embeds()[0]["title"] == "Something went wrong"
    assert page(msg)[1].startswith("Page 1 of 3")

    # The next press turns from the page on screen.
    click = await world.discord.click(msg["id"], "page:next", user_id=USER_ID)
    await click.wait_final()
    assert page(msg)[1].startswith("Page 2 of 3")
