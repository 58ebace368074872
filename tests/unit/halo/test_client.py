"""The typed Halo client against the fake Halo server: batching, caching, coalescing, errors."""

from __future__ import annotations

import asyncio

import pytest

from bot.common.errors import NoDataError, PlayerNotFoundError
from tests.fakes.halo_server import (
    EMPTY_PLAYER,
    MODERN_PLAYER,
    NOBLE_SIX,
    RANKED_ARENA,
    RANKED_SLAYER,
    RECORDED_PLAYER,
    UNRANKED_PLAYER,
)


@pytest.mark.parametrize("player", [NOBLE_SIX, MODERN_PLAYER])
async def test_gamertag_resolves_to_xuid(fake, client, player) -> None:
    user = await client.get_user(player.gamertag)
    assert user.xuid == str(player.xuid)
    assert user.gamertag == player.gamertag


async def test_unknown_gamertag_is_player_not_found(fake, client) -> None:
    with pytest.raises(PlayerNotFoundError) as info:
        await client.get_user("No Such Spartan")
    assert "No Such Spartan" in info.value.message


async def test_batch_users(fake, client) -> None:
    users = await client.get_users([NOBLE_SIX.xuid, MODERN_PLAYER.xuid])
    assert {u.gamertag for u in users} == {NOBLE_SIX.gamertag, MODERN_PLAYER.gamertag}


async def test_csr_for_many_players_is_batched(fake, client) -> None:
    xuids = [str(NOBLE_SIX.xuid), str(MODERN_PLAYER.xuid), str(UNRANKED_PLAYER.xuid)]
    for i in range(7):
        xuid = 2533274800001000 + i
        fake.add_player(xuid, f"Batch Player {i}")
        fake.set_csr(xuid, RANKED_ARENA, 300 + 50 * i)
        xuids.append(str(xuid))
    results = await client.get_csr(RANKED_ARENA, xuids)
    assert len(results) == 10
    assert fake.count("skill.svc.halowaypoint.com/hi/playlist") == 3  # ceil(10 / 4)
    assert results[str(NOBLE_SIX.xuid)].current.value == 1325
    assert results["2533274800001002"].current.display_name == "Silver 3"
    assert results[str(UNRANKED_PLAYER.xuid)].current.value == -1


async def test_bad_xuid_in_a_batch_does_not_sink_the_others(fake, client) -> None:
    unknown = "2533274899999999"
    xuids = [str(NOBLE_SIX.xuid), unknown, str(MODERN_PLAYER.xuid), str(RECORDED_PLAYER.xuid)]
    results = await client.get_csr(RANKED_SLAYER, xuids)
    assert results[unknown] is None
    assert results[str(NOBLE_SIX.xuid)] is not None
    assert results[str(MODERN_PLAYER.xuid)] is not None
    assert results[str(RECORDED_PLAYER.xuid)] is not None


async def test_fifty_concurrent_identical_requests_make_one_upstream_call(fake, client) -> None:
    calls = [client.get_player_csr(RANKED_ARENA, str(NOBLE_SIX.xuid)) for _ in range(50)]
    results = await asyncio.gather(*calls)
    assert all(r is not None and r.current.value == 1325 for r in results)
    assert fake.count("skill.svc.halowaypoint.com/hi/playlist") == 1


async def test_player_cache_expires(fake, client) -> None:
    client.player_ttl = 0.05
    await client.get_player_csr(RANKED_ARENA, str(NOBLE_SIX.xuid))
    await client.get_player_csr(RANKED_ARENA, str(NOBLE_SIX.xuid))
    assert fake.count("/csrs") == 1
    await asyncio.sleep(0.1)
    fake.set_csr(NOBLE_SIX.xuid, RANKED_ARENA, 1400)
    again = await client.get_player_csr(RANKED_ARENA, str(NOBLE_SIX.xuid))
    assert fake.count("/csrs") == 2
    assert again is not None and again.current.value == 1400


async def test_service_record_with_filters(fake, client) -> None:
    record = await client.get_service_record(
        str(RECORDED_PLAYER.xuid), season_id="Csr/Seasons/CsrSeason5-1.json", ranked=True
    )
    assert record.matches_completed == 2664
    sent = fake.requests_to("servicerecord")[-1]
    assert sent.path == f"/hi/players/xuid({RECORDED_PLAYER.xuid})/Matchmade/servicerecord"
    assert sent.query["seasonId"] == "Csr/Seasons/CsrSeason5-1.json"
    assert sent.query["isRanked"] == "true"


async def test_empty_service_record(fake, client) -> None:
    record = await client.get_service_record(str(EMPTY_PLAYER.xuid))
    assert record.is_empty


async def test_static_content_is_cached(fake, client) -> None:
    first = await client.get_season_calendar()
    second = await client.get_season_calendar()
    assert first is second
    assert fake.count("seasoncalendar.json") == 1
    medals = await client.get_medal_metadata()
    assert medals.medals


async def test_operations_and_tracks(fake, client) -> None:
    ops = await client.get_player_operations(str(NOBLE_SIX.xuid))
    active = ops.active
    assert active is not None
    track = await client.get_operation_track(active.track_id)
    assert track.max_rank > 0


async def test_missing_static_file_is_no_data(fake, client) -> None:
    with pytest.raises(NoDataError):
        await client.get_operation_track("NoSuchTrack")


async def test_event_progress_missing_is_none(fake, client) -> None:
    assert await client.get_event_progress(str(NOBLE_SIX.xuid), "ritualNoSuchEvent") is None
