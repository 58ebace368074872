"""Nothing a user types can ping anyone, and no secret ever reaches Discord or the logs."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from tests.fakes.halo_server import DEFAULT_CLEARANCE, NOBLE_SIX, STATIC_SPARTAN_TOKEN
from tests.support.discord import GUILD_ID, OTHER_USER_ID, TOKEN
from tests.support.world import World, running_world

MESSAGE_WRITES = ("/callback", "/webhooks/", "/messages")


def sent_payloads(world: World) -> list[dict]:
    out = []
    for req in world.discord.requests:
        writes = req.method in ("POST", "PATCH") and any(p in req.path for p in MESSAGE_WRITES)
        if writes and isinstance(req.body, dict):
            out.append(req.body)
    return out


def assert_no_pings(world: World) -> None:
    payloads = sent_payloads(world)
    assert payloads
    for body in payloads:
        data = body.get("data", body) if "type" in body and "data" in body else body
        if not isinstance(data, dict) or not ({"content", "embeds"} & data.keys()):
            continue
        mentions = data.get("allowed_mentions")
        assert mentions is not None, data
        assert mentions.get("parse") == [], mentions
        assert not mentions.get("users") and not mentions.get("roles"), mentions


async def test_member_names_cannot_ping_or_format(tmp_path: Path) -> None:
    async with running_world(tmp_path) as world:
        world.discord.add_member(
            GUILD_ID, {"id": OTHER_USER_ID, "username": "x", "global_name": "@everyone **bold**"}
        )
        await world.db.accounts.link(OTHER_USER_ID, str(NOBLE_SIX.xuid), NOBLE_SIX.gamertag)
        rec = await world.invoke("whois", {"member": OTHER_USER_ID})
        title = rec.embeds()[0]["title"]
        assert "@\u200beveryone" in title  # broken mention: renders as text, pings nobody
        assert "**bold**" not in title
        assert_no_pings(world)


@pytest.mark.parametrize(
    "text", ["@everyone", "<@&123456789012345678>", "**x**", "a/../b", "@here"]
)
async def test_hostile_player_text_is_refused_without_upstream_calls(
    tmp_path: Path, text: str
) -> None:
    async with running_world(tmp_path) as world:
        before = len(world.halo.requests)
        rec = await world.invoke("link", {"gamertag": text})
        msg = rec.final_message()
        assert rec.is_ephemeral(msg)
        assert msg["embeds"][0]["title"] == "Invalid gamertag or XUID"
        assert text not in json.dumps(msg)
        assert len(world.halo.requests) == before
        assert_no_pings(world)


async def test_secrets_never_reach_discord_or_logs(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with running_world(tmp_path) as world:
        world.halo.fail("users/gt", status=401, times=None)
        await world.invoke("link", {"gamertag": NOBLE_SIX.gamertag})
        world.halo.reset_faults()
        world.halo.fail("users/gt", status=500, times=None)
        await world.invoke("link", {"gamertag": "Someone Else"})
        world.halo.reset_faults()
        world.halo.fail("users/gt", status=200, body=b"{broken")
        await world.invoke("link", {"gamertag": "Third One"})
        await world.invoke("link", {"gamertag": NOBLE_SIX.gamertag})
        sent = json.dumps(sent_payloads(world))
    for secret in (TOKEN, STATIC_SPARTAN_TOKEN, DEFAULT_CLEARANCE):
        assert secret not in sent
        assert secret not in caplog.text
