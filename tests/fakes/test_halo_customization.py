"""The fake Halo's public customization route, and the client model reading it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from bot.halo.models import PlayerCustomization
from tests.fakes.halo_server import ECONOMY_HOST, NOBLE_SIX, STATIC_SPARTAN_TOKEN, FakeHalo

HEADERS = {"x-343-authorization-spartan": STATIC_SPARTAN_TOKEN, "343-clearance": "flight"}


@pytest.fixture
async def fake() -> AsyncIterator[FakeHalo]:
    async with FakeHalo() as server:
        yield server


async def get(fake: FakeHalo, path: str) -> tuple[int, bytes]:
    url = f"{fake.base_url}/{ECONOMY_HOST}{path}"
    async with aiohttp.ClientSession() as http, http.get(url, headers=HEADERS) as resp:
        return resp.status, await resp.read()


async def test_customization_shows_the_service_tag_a_test_set(fake: FakeHalo) -> None:
    path = f"/hi/players/xuid({NOBLE_SIX.xuid})/customization?view=public"
    status, body = await get(fake, path)
    assert status == 200
    assert PlayerCustomization.parse(body).service_tag == "SPTN"
    fake.set_service_tag(NOBLE_SIX.xuid, "k7qx")
    status, body = await get(fake, path)
    parsed = PlayerCustomization.parse(body)
    assert parsed.service_tag == "k7qx" and parsed.has_service_tag("K7QX")
    assert not parsed.has_service_tag("K7Q") and not parsed.has_service_tag("")


async def test_private_unknown_and_non_public_views_are_refused(fake: FakeHalo) -> None:
    fake.set_service_tag(NOBLE_SIX.xuid, None)
    assert (await get(fake, f"/hi/players/xuid({NOBLE_SIX.xuid})/customization?view=public"))[
        0
    ] == 403
    assert (await get(fake, "/hi/players/xuid(2533274899999999)/customization?view=public"))[
        0
    ] == 404
    fake.set_service_tag(NOBLE_SIX.xuid, "ABCD")
    assert (await get(fake, f"/hi/players/xuid({NOBLE_SIX.xuid})/customization"))[0] == 403


def test_a_customization_without_appearance_has_no_tag() -> None:
    assert PlayerCustomization.parse({}).service_tag == ""
    assert PlayerCustomization.parse({"Appearance": None}).service_tag == ""
    assert PlayerCustomization.parse({"Appearance": {"ServiceTag": " AB12 "}}).service_tag == "AB12"
