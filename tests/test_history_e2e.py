"""/history end to end: the chart is drawn from the snapshots the database holds."""

from __future__ import annotations

import io
import struct
from datetime import UTC, datetime, timedelta

import matplotlib.image

from bot.charts import csr_series
from bot.storage.models import Snapshot
from tests.discord_harness import USER_ID
from tests.e2e import World, world_fixture  # noqa: F401
from tests.fakes.halo_server import MODERN_PLAYER, NOBLE_SIX, RANKED_ARENA, RANKED_SLAYER

NOW = datetime.now(UTC)


def snap(xuid: int, value: int, days_ago: float, playlist: str = RANKED_ARENA) -> Snapshot:
    return Snapshot(
        xuid=str(xuid),
        playlist_id=playlist,
        csr_season="CsrSeason9-1",
        value=value,
        tier="",
        sub_tier=0,
        matches_remaining=0,
        season_max=None,
        all_time_max=None,
        taken_at=NOW - timedelta(days=days_ago),
    )


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


async def store(world: World, *snapshots: Snapshot) -> None:
    for snapshot in snapshots:
        await world.db.snapshots.record(snapshot)


def fields(embed: dict) -> dict[str, str]:
    return {f["name"]: f["value"] for f in embed.get("fields", [])}


async def test_chart_from_stored_history(world: World) -> None:
    history = [
        snap(NOBLE_SIX.xuid, 1180, 45),  # before the period: the starting level
        snap(NOBLE_SIX.xuid, 1230, 20),
        snap(NOBLE_SIX.xuid, 1510, 10),
        snap(NOBLE_SIX.xuid, 1460, 2),
        snap(NOBLE_SIX.xuid, 900, 5, RANKED_SLAYER),  # another playlist: not drawn
    ]
    await store(world, *history)
    rec = await world.invoke("history", {"player": NOBLE_SIX.gamertag})
    msg = rec.final_message()
    assert not rec.is_ephemeral(msg) and rec.deferred
    embed = msg["embeds"][0]
    assert embed["title"] == "Noble Six: Ranked Arena CSR"
    assert embed["image"]["url"] == "attachment://csr-history.png"
    got = fields(embed)
    assert got["Now"] == "Diamond 6 (1,460)"
    assert got["Highest"] == "Onyx 1510"
    assert got["Lowest"] == "Platinum 6 (1,180)"
    assert got["Change"] == "+280"
    assert got["Changes recorded"] == "3"

    [upload] = [f for sent in rec.followups for f in sent.files]
    assert upload.filename == "csr-history.png"
    assert png_size(upload.data) == (1000, 500)
    pixels = matplotlib.image.imread(io.BytesIO(upload.data), format="png")
    assert pixels.shape[:2] == (500, 1000)

    # The points drawn are exactly the stored rows (plus the level at the start, and now).
    stored = await world.db.snapshots.history(str(NOBLE_SIX.xuid), RANKED_ARENA)
    series = csr_series(stored, NOW - timedelta(days=30), NOW)
    assert [p.value for p in series] == [1180, 1230, 1510, 1460, 1460]
    assert [s.value for s in stored] == [1180, 1230, 1510, 1460]
    assert world.halo.count("skill.svc") == 0  # history never asks Halo


async def test_days_and_playlist_and_own_link(world: World) -> None:
    await world.db.accounts.link(USER_ID, str(MODERN_PLAYER.xuid), MODERN_PLAYER.gamertag)
    await store(world, snap(MODERN_PLAYER.xuid, 700, 3, RANKED_SLAYER))
    rec = await world.invoke("history", {"playlist": "slayer", "days": 7})
    embed = rec.final_message()["embeds"][0]
    assert embed["title"] == "Sïerra\\#2468: Ranked Slayer CSR"
    assert embed["description"] == "The last 7 days, from the bot's rank checks."
    assert fields(embed)["Now"] == "Gold 3 (700)"


async def test_no_history(world: World) -> None:
    await store(world, snap(NOBLE_SIX.xuid, 1200, 90))
    rec = await world.invoke("history", {"player": MODERN_PLAYER.gamertag})
    embed = rec.final_message()["embeds"][0]
    assert rec.is_ephemeral() and embed["title"] == "No data"
    assert "No Ranked Arena history for **Sïerra\\#2468**" in embed["description"]
    # An old level still counts as the level at the start of the period.
    rec = await world.invoke("history", {"player": NOBLE_SIX.gamertag}, user_id=USER_ID + 5)
    assert fields(rec.final_message()["embeds"][0])["Now"] == "Diamond 1 (1,200)"


async def test_placement_is_a_gap_and_bad_options(world: World) -> None:
    await store(world, snap(NOBLE_SIX.xuid, 1300, 20), snap(NOBLE_SIX.xuid, -1, 5))
    stored = await world.db.snapshots.history(str(NOBLE_SIX.xuid), RANKED_ARENA)
    series = csr_series(stored, NOW - timedelta(days=30), NOW)
    assert [p.value for p in series] == [1300]  # no zero, no line to "now" while unranked
    rec = await world.invoke("history", {"player": NOBLE_SIX.gamertag, "playlist": "Swat"})
    assert rec.final_message()["embeds"][0]["title"] == "Unknown playlist"
    rec = await world.invoke("history", user_id=USER_ID + 9)
    assert rec.final_message()["embeds"][0]["title"] == "No linked account"
