"""The fake Halo upstream itself: routes, players, CSR batches, auth checks, faults, admin API."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

import aiohttp
import pytest

from tests.support.paths import ROOT

try:
    from tests.fakes.halo_server import (
        EMPTY_PLAYER,
        MODERN_PLAYER,
        NOBLE_SIX,
        RANKED_ARENA,
        RANKED_SLAYER,
        RECORDED_PLAYER,
        STATIC_SPARTAN_TOKEN,
        UNRANKED_PLAYER,
        WRONG_SHAPE,
        FakeHalo,
        csr_block,
        fixture,
    )
except ModuleNotFoundError:  # tests/ is on sys.path, the project root is not
    from fakes.halo_server import (
        EMPTY_PLAYER,
        MODERN_PLAYER,
        NOBLE_SIX,
        RANKED_ARENA,
        RANKED_SLAYER,
        RECORDED_PLAYER,
        STATIC_SPARTAN_TOKEN,
        UNRANKED_PLAYER,
        WRONG_SHAPE,
        FakeHalo,
        csr_block,
        fixture,
    )

PROFILE = "profile.svc.halowaypoint.com"
STATS = "halostats.svc.halowaypoint.com"
SKILL = "skill.svc.halowaypoint.com"
ECONOMY = "economy.svc.halowaypoint.com"
GAMECMS = "gamecms-hacs.svc.halowaypoint.com"
DISCOVERY = "discovery-infiniteugc.svc.halowaypoint.com"
HEADERS = {"x-343-authorization-spartan": STATIC_SPARTAN_TOKEN, "343-clearance": "flight"}


@pytest.fixture
async def fake() -> AsyncIterator[FakeHalo]:
    async with FakeHalo() as server:
        yield server


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def fetch(
    http: aiohttp.ClientSession,
    fake: FakeHalo,
    host: str,
    path: str,
    *,
    headers: dict[str, str] | None = None,
    seconds: float = 10,
) -> tuple[int, Any, Any]:
    url = f"{fake.base_url}/{host}{path}"
    async with http.get(
        url,
        headers=HEADERS if headers is None else headers,
        timeout=aiohttp.ClientTimeout(total=seconds),
    ) as resp:
        raw = await resp.read()
        data = json.loads(raw) if raw else None
        return resp.status, data, resp.headers


def csr_url(playlist: str, *xuids: int | str) -> str:
    players = ",".join(x if isinstance(x, str) else f"xuid({x})" for x in xuids)
    return f"/hi/playlist/{playlist}/csrs?players={players}&season=CsrSeason5-1"


# -- recorded routes ------------------------------------------------------------------


async def test_gamertag_lookup_answers_the_recording(fake: FakeHalo, http) -> None:
    status, data, _ = await fetch(http, fake, PROFILE, "/users/gt(GAMERTAG)")
    assert status == 200
    assert data == fixture("recorded/get_user.json")


async def test_gamertag_lookup_is_case_insensitive_and_handles_modern_suffix(
    fake: FakeHalo, http
) -> None:
    status, data, _ = await fetch(http, fake, PROFILE, "/users/gt(noble six)")
    assert (status, data["xuid"], data["gamertag"]) == (200, str(NOBLE_SIX.xuid), "Noble Six")
    path = f"/users/gt({quote(MODERN_PLAYER.gamertag, safe='')})"
    assert "%23" in path
    status, data, _ = await fetch(http, fake, PROFILE, path)
    assert (status, data["xuid"]) == (200, str(MODERN_PLAYER.xuid))


async def test_unknown_gamertag_is_404(fake: FakeHalo, http) -> None:
    status, data, _ = await fetch(http, fake, PROFILE, "/users/gt(Nobody%20Here)")
    assert (status, data) == (404, None)


async def test_users_batch_answers_one_entry_per_known_xuid(fake: FakeHalo, http) -> None:
    status, data, _ = await fetch(http, fake, PROFILE, "/users?xuids=1234567890123456")
    assert status == 200
    assert data == fixture("recorded/get_users.json")
    query = f"/users?xuids={NOBLE_SIX.xuid},999,{EMPTY_PLAYER.xuid}"
    status, data, _ = await fetch(http, fake, PROFILE, query)
    assert status == 200
    assert [d["gamertag"] for d in data] == ["Noble Six", "Empty Record"]


async def test_users_me_is_the_bot_account(fake: FakeHalo, http) -> None:
    status, data, _ = await fetch(http, fake, PROFILE, "/users/me")
    assert status == 200
    assert data["xuid"] == str(fake.bot_account.xuid)


async def test_service_record_by_xuid_gamertag_and_empty(fake: FakeHalo, http) -> None:
    path = f"/hi/players/xuid({RECORDED_PLAYER.xuid})/Matchmade/servicerecord"
    status, data, _ = await fetch(http, fake, STATS, path + "?seasonId=Csr%2FSeasons%2FX.json")
    assert (status, data) == (200, fixture("recorded/get_service_record.json"))
    assert fake.requests[-1].query == {"seasonId": "Csr/Seasons/X.json"}

    status, data, _ = await fetch(
        http, fake, STATS, "/hi/players/Noble%20Six/Matchmade/servicerecord?gameVariantCategory=6"
    )
    assert status == 200 and data["MatchesCompleted"] > 0
    assert fake.requests[-1].query == {"gameVariantCategory": "6"}

    path = f"/hi/players/xuid({EMPTY_PLAYER.xuid})/Matchmade/servicerecord"
    status, data, _ = await fetch(http, fake, STATS, path)
    assert (status, data) == (200, fixture("recorded/get_service_record_empty.json"))

    status, _, _ = await fetch(http, fake, STATS, "/hi/players/Ghost/Matchmade/servicerecord")
    assert status == 404


async def test_match_history_pages_and_empty_player(fake: FakeHalo, http) -> None:
    path = f"/hi/players/xuid({NOBLE_SIX.xuid})/matches?start=0&count=5&type=Matchmaking"
    status, data, _ = await fetch(http, fake, STATS, path)
    recorded = fixture("recorded/get_match_history.json")
    assert status == 200
    assert data["Results"] == recorded["Results"][:5]
    path = f"/hi/players/xuid({EMPTY_PLAYER.xuid})/matches?start=0&count=25"
    status, data, _ = await fetch(http, fake, STATS, path)
    assert (status, data["ResultCount"], data["Results"]) == (200, 0, [])


async def test_economy_routes(fake: FakeHalo, http) -> None:
    base = f"/hi/players/xuid({NOBLE_SIX.xuid})/rewardtracks"
    status, ops, _ = await fetch(http, fake, ECONOMY, base + "/operations")
    assert (status, ops) == (200, fixture("from-seeds/economy_player_operations.json"))
    status, one, _ = await fetch(http, fake, ECONOMY, base + "/operations/S06OpPassM03")
    assert status == 200
    assert one["RewardTrackPath"] == "RewardTracks/Operations/S06OpPassM03.json"
    assert one["CurrentProgress"]["Rank"] == 20
    status, _, _ = await fetch(http, fake, ECONOMY, base + "/operations/NoSuchOp")
    assert status == 404

    status, event, _ = await fetch(http, fake, ECONOMY, base + "/events/ritualWinterGiveaway")
    assert (status, event) == (200, fixture("from-seeds/economy_player_event_ritualWinter.json"))
    fake.set_event_progress(NOBLE_SIX.xuid, "ritualSynthwave", 10)
    status, event, _ = await fetch(http, fake, ECONOMY, base + "/events/ritualSynthwave")
    assert status == 200
    assert event["CurrentProgress"] == {
        "Rank": 10,
        "PartialProgress": 0,
        "IsOwned": False,
        "HasReachedMaxRank": True,
    }
    status, rank, _ = await fetch(http, fake, ECONOMY, base + "/careerranks/careerrank1")
    assert (status, rank) == (200, fixture("recorded/get_player_career_rank.json"))
    recorded = f"/hi/players/xuid({RECORDED_PLAYER.xuid})/rewardtracks/operations"
    status, ops, _ = await fetch(http, fake, ECONOMY, recorded)
    assert ops == fixture("recorded/get_player_reward_track_operations.json")


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (
            "/hi/progression/file/calendars/seasons/seasoncalendar.json",
            "from-seeds/gamecms_seasoncalendar.json",
        ),
        (
            "/hi/progression/file/Csr/Calendars/CsrSeasonCalendar.json",
            "recorded/get_csr_season_calendar.json",
        ),
        (
            "/hi/Progression/file/RewardTracks/Operations/S07Op01.json",
            "from-seeds/gamecms_rewardtrack_operation_S07Op01.json",
        ),
        (
            "/hi/Progression/file/RewardTracks/Events/Rituals/ritualOlympus.json",
            "from-seeds/gamecms_rewardtrack_event_ritualOlympus.json",
        ),
        (
            "/hi/Progression/file/Seasons/Season7-Op1.json",
            "from-seeds/gamecms_season_Season7-Op1.json",
        ),
        ("/hi/Waypoint/file/medals/metadata.json", "recorded/get_medal_metadata.json"),
        (
            "/hi/Progression/file/RewardTracks/CareerRanks/careerRank1.json",
            "recorded/get_career_reward_track.json",
        ),
    ],
)
async def test_gamecms_files(fake: FakeHalo, http, path: str, expected: str) -> None:
    status, data, headers = await fetch(http, fake, GAMECMS, path)
    assert status == 200
    assert data == fixture(expected)
    assert "max-age" in headers["Cache-Control"]


async def test_gamecms_templated_tracks_and_unknown_files(fake: FakeHalo, http) -> None:
    prefix = "/hi/Progression/file/RewardTracks"
    path = prefix + "/Events/Rituals/ritualSynthwave.json"
    status, data, _ = await fetch(http, fake, GAMECMS, path)
    assert (status, data["TrackId"], data["Name"]) == (200, "ritualSynthwave", "Cyber Showdown")
    status, data, _ = await fetch(http, fake, GAMECMS, prefix + "/Operations/S05OpPassM01.json")
    assert (status, data["TrackId"]) == (200, "S05OpPassM01")
    assert data["Ranks"] == fixture("recorded/get_operation_reward_track.json")["Ranks"]
    status, _, _ = await fetch(http, fake, GAMECMS, prefix + "/Operations/Made-Up.json")
    assert status == 404
    fake.set_file("/hi/Progression/file/RewardTracks/Operations/Made-Up.json", {"TrackId": "x"})
    status, data, _ = await fetch(http, fake, GAMECMS, prefix + "/Operations/Made-Up.json")
    assert (status, data) == (200, {"TrackId": "x"})


async def test_playlists(fake: FakeHalo, http) -> None:
    path = f"/hi/Multiplayer/file/playlists/assets/{RANKED_SLAYER}.json"
    status, data, _ = await fetch(http, fake, GAMECMS, path)
    assert (status, data["PublicName"], data["HasCsr"]) == (200, "Ranked Slayer", True)
    unranked = "bdceefb3-1c52-4848-a6b7-d49acd13109d"  # from the service record's subqueries
    path = f"/hi/Multiplayer/file/playlists/assets/{unranked}.json"
    status, data, _ = await fetch(http, fake, GAMECMS, path)
    assert (status, data["HasCsr"]) == (200, False)
    version = "6c1bb887-628f-4a16-a794-f07adad39a38"
    path = f"/hi/playlists/{RANKED_ARENA}/versions/{version}"
    status, data, _ = await fetch(http, fake, DISCOVERY, path)
    assert status == 200
    assert data["PublicName"] == "Ranked Arena"
    assert data["CustomData"] == fixture("recorded/get_playlist.json")["CustomData"]


# -- CSR ------------------------------------------------------------------------------


async def test_csr_batch_answers_one_entry_per_player_in_order(fake: FakeHalo, http) -> None:
    xuids = (RECORDED_PLAYER.xuid, NOBLE_SIX.xuid, UNRANKED_PLAYER.xuid)
    status, data, _ = await fetch(http, fake, SKILL, csr_url(RANKED_ARENA, *xuids))
    assert status == 200
    assert [v["Id"] for v in data["Value"]] == [f"xuid({x})" for x in xuids]
    recorded = fixture("recorded/get_playlist_csr.json")["Value"][0]
    assert data["Value"][0] == recorded
    assert data["Value"][1]["Result"]["Current"]["Tier"] == "Diamond"
    unranked = data["Value"][2]["Result"]["Current"]
    assert unranked["Value"] == -1
    assert unranked["MeasurementMatchesRemaining"] == unranked["InitialMeasurementMatches"]
    assert fake.requests[-1].query["season"] == "CsrSeason5-1"


@pytest.mark.parametrize("bad", ["xuid(42)", "Noble Six", "xuid(abc)", "12345"])
async def test_csr_batch_with_one_bad_id_fails_whole_call(fake: FakeHalo, http, bad: str) -> None:
    url = csr_url(RANKED_ARENA, NOBLE_SIX.xuid, quote(bad))
    status, data, _ = await fetch(http, fake, SKILL, url)
    assert status == 400
    assert "Value" not in data


async def test_csr_unknown_playlist_is_404(fake: FakeHalo, http) -> None:
    url = csr_url("00000000-0000-0000-0000-000000000000", NOBLE_SIX.xuid)
    status, _, _ = await fetch(http, fake, SKILL, url)
    assert status == 404


async def test_scripted_csr_and_maxima(fake: FakeHalo, http) -> None:
    fake.set_csr(NOBLE_SIX.xuid, RANKED_ARENA, 1490)
    fake.set_csr(NOBLE_SIX.xuid, RANKED_ARENA, 1420)
    status, data, _ = await fetch(http, fake, SKILL, csr_url(RANKED_ARENA, NOBLE_SIX.xuid))
    result = data["Value"][0]["Result"]
    assert status == 200
    assert result["Current"] == csr_block(1420)
    assert result["Current"]["Tier"] == "Diamond" and result["Current"]["SubTier"] == 4
    assert result["SeasonMax"]["Value"] == 1490
    assert result["AllTimeMax"]["Value"] == 1490
    # Other playlists keep the default.
    status, data, _ = await fetch(http, fake, SKILL, csr_url(RANKED_SLAYER, NOBLE_SIX.xuid))
    assert data["Value"][0]["Result"]["Current"]["Value"] == 1325


@pytest.mark.parametrize(
    ("value", "tier", "sub", "next_tier", "next_start"),
    [
        (0, "Bronze", 0, "Bronze", 50),
        (299, "Bronze", 5, "Silver", 300),
        (997, "Platinum", 1, "Platinum", 1000),
        (1499, "Diamond", 5, "Onyx", 1500),
        (1500, "Onyx", 0, "Onyx", 1500),
        (2100, "Onyx", 0, "Onyx", 1500),
    ],
)
def test_csr_block_tiers(value: int, tier: str, sub: int, next_tier: str, next_start: int) -> None:
    block = csr_block(value)
    assert (block["Tier"], block["SubTier"], block["NextTier"], block["NextTierStart"]) == (
        tier,
        sub,
        next_tier,
        next_start,
    )


# -- Halo auth check ------------------------------------------------------------------


async def test_halo_hosts_require_a_valid_spartan_token(fake: FakeHalo, http) -> None:
    status, _, _ = await fetch(http, fake, PROFILE, "/users/me", headers={})
    assert status == 401
    status, _, _ = await fetch(
        http, fake, PROFILE, "/users/me", headers={"x-343-authorization-spartan": "made-up"}
    )
    assert status == 401
    status, _, _ = await fetch(http, fake, PROFILE, "/users/me")
    assert status == 200
    fake.revoke_spartan_tokens(STATIC_SPARTAN_TOKEN)
    status, _, _ = await fetch(http, fake, PROFILE, "/users/me")
    assert status == 401


# -- faults ---------------------------------------------------------------------------


async def test_status_fault_with_retry_after_is_consumed(fake: FakeHalo, http) -> None:
    fault = fake.fail(f"{SKILL}/hi/playlist", status=429, retry_after=7)
    url = csr_url(RANKED_ARENA, NOBLE_SIX.xuid)
    status, _, headers = await fetch(http, fake, SKILL, url)
    assert (status, headers["Retry-After"]) == (429, "7")
    status, _, _ = await fetch(http, fake, SKILL, url)
    assert status == 200
    assert fault.hits == 1


async def test_faults_are_consumed_in_order_and_match_regex(fake: FakeHalo, http) -> None:
    fake.fail(r"profile\.svc.*/users/gt\(", status=503, times=2)
    fake.fail("profile.svc.halowaypoint.com", status=500)
    statuses = [(await fetch(http, fake, PROFILE, "/users/gt(Noble%20Six)"))[0] for _ in range(4)]
    assert statuses == [503, 503, 500, 200]


async def test_fault_forever_and_reset(fake: FakeHalo, http) -> None:
    fake.fail("users/me", status=502, times=None, body=b"<html>bad gateway</html>")
    async with http.get(f"{fake.base_url}/{PROFILE}/users/me", headers=HEADERS) as resp:
        assert resp.status == 502
        assert await resp.read() == b"<html>bad gateway</html>"
    async with http.get(f"{fake.base_url}/{PROFILE}/users/me", headers=HEADERS) as resp:
        assert resp.status == 502
    fake.reset_faults()
    assert (await fetch(http, fake, PROFILE, "/users/me"))[0] == 200


async def test_delay_alone_still_answers_normally(fake: FakeHalo, http) -> None:
    fake.fail("users/me", delay=0.05)
    status, data, _ = await fetch(http, fake, PROFILE, "/users/me")
    assert status == 200 and data["gamertag"] == fake.bot_account.gamertag


async def test_wrong_shape_fault(fake: FakeHalo, http) -> None:
    fake.fail("users/me", wrong_shape=True)
    status, data, _ = await fetch(http, fake, PROFILE, "/users/me")
    assert (status, data) == (200, WRONG_SHAPE)


async def test_hang_fault_never_answers(fake: FakeHalo, http) -> None:
    fake.fail("users/me", hang=True)
    with pytest.raises(asyncio.TimeoutError):
        await fetch(http, fake, PROFILE, "/users/me", seconds=0.3)
    fake.release_hangs()
    assert (await fetch(http, fake, PROFILE, "/users/me"))[0] == 200


async def test_truncate_fault_cuts_the_body(fake: FakeHalo, http) -> None:
    fake.fail("/users/gt(", truncate=True)
    with pytest.raises(aiohttp.ClientPayloadError):
        await fetch(http, fake, PROFILE, "/users/gt(Noble%20Six)")


async def test_disconnect_fault_drops_the_connection(fake: FakeHalo, http) -> None:
    # aiohttp retries an idempotent request once after a dropped connection: drop both.
    fake.fail("/users/gt(", disconnect=True, times=2)
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await fetch(http, fake, PROFILE, "/users/gt(Noble%20Six)")
    assert fake.count("/users/gt(") == 2
    assert (await fetch(http, fake, PROFILE, "/users/gt(Noble%20Six)"))[0] == 200


# -- request log ----------------------------------------------------------------------


async def test_requests_are_recorded(fake: FakeHalo, http) -> None:
    async with http.post(
        f"{fake.base_url}/xsts.auth.xboxlive.com/xsts/authorize?a=1",
        json={"RelyingParty": "x"},
        headers={"X-Xbl-Contract-Version": "1"},
    ) as resp:
        assert resp.status in (400, 401)
    await fetch(http, fake, PROFILE, "/users/gt(Noble%20Six)")
    first, second = fake.requests
    assert (first.method, first.host, first.path, first.query) == (
        "POST",
        "xsts.auth.xboxlive.com",
        "/xsts/authorize",
        {"a": "1"},
    )
    assert first.headers["x-xbl-contract-version"] == "1"
    assert first.json() == {"RelyingParty": "x"}
    assert second.path == "/users/gt(Noble Six)"
    assert fake.count("profile.svc") == 1
    assert fake.count("xsts", method="GET") == 0
    assert fake.count(r"^xsts\.auth.*authorize$") == 1


# -- admin API ------------------------------------------------------------------------


async def test_admin_api_from_another_client(fake: FakeHalo) -> None:
    admin = f"{fake.base_url}/_admin"
    xuid = "2533274899999999"
    async with aiohttp.ClientSession() as client:
        player = {"xuid": xuid, "gamertag": "Admin Made", "csr": 700}
        async with client.post(f"{admin}/players", json=player) as resp:
            assert resp.status == 200
        script = {"xuid": xuid, "playlist": RANKED_ARENA, "value": 1510}
        async with client.post(f"{admin}/csr", json=script) as resp:
            assert (await resp.json())["Current"]["Tier"] == "Onyx"
        async with client.post(
            f"{admin}/faults", json={"pattern": "skill.svc", "status": 503, "times": 1}
        ) as resp:
            assert (await resp.json())["status"] == 503

        url = f"{fake.base_url}/{SKILL}{csr_url(RANKED_ARENA, 2533274899999999)}"
        async with client.get(url, headers=HEADERS) as resp:
            assert resp.status == 503
        async with client.get(url, headers=HEADERS) as resp:
            body = await resp.json()
            assert body["Value"][0]["Result"]["Current"]["Value"] == 1510

        async with client.get(f"{admin}/requests", params={"pattern": "skill.svc"}) as resp:
            log = await resp.json()
        assert [r["path"] for r in log] == [f"/hi/playlist/{RANKED_ARENA}/csrs"] * 2
        assert log[0]["query"]["players"] == "xuid(2533274899999999)"
        async with client.get(f"{admin}/count", params={"pattern": "skill.svc"}) as resp:
            assert (await resp.json()) == {"count": 2}

        async with client.post(f"{admin}/reset") as resp:
            assert resp.status == 200
        async with client.get(url, headers=HEADERS) as resp:
            assert resp.status == 400  # the admin-made player is gone
        async with client.get(f"{admin}/nope") as resp:
            assert resp.status == 404
        async with client.post(f"{admin}/csr", json={"playlist": RANKED_ARENA}) as resp:
            assert resp.status == 400
    assert fake.player_by_gamertag("Admin Made") is None


def test_standalone_process_prints_base_url_and_serves_admin_api() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.halo_server", "--port", "0"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        base_url = proc.stdout.readline().strip()
        assert base_url.startswith("http://127.0.0.1:")

        async def drive() -> tuple[int, dict[str, Any], int]:
            async with aiohttp.ClientSession() as client:
                async with client.post(
                    f"{base_url}/_admin/auth", json={"xsts_error": 2148916233}
                ) as resp:
                    auth = await resp.json()
                async with client.get(
                    f"{base_url}/{PROFILE}/users/gt(Empty%20Record)", headers=HEADERS
                ) as resp:
                    status = resp.status
                async with client.get(f"{base_url}/_admin/count?pattern=users/gt") as resp:
                    count = (await resp.json())["count"]
            return status, auth, count

        status, auth, count = asyncio.run(drive())
        assert status == 200
        assert auth["xsts_error"] == 2148916233
        assert count == 1
    finally:
        proc.terminate()
        _, stderr = proc.communicate(timeout=10)
    assert proc.returncode == 0, stderr
