"""/link, /unlink, /whois end to end, and the player autocomplete."""

from __future__ import annotations

from tests.e2e.accounts.verifying import code_of, verify_button
from tests.fakes.halo_server import MODERN_PLAYER, NOBLE_SIX
from tests.support.discord import GUILD_ID, OTHER_USER_ID, USER_ID
from tests.support.world import World

EPHEMERAL = 64


async def test_link_verifies_stores_and_tracks(world: World) -> None:
    rec = await world.invoke("link", {"gamertag": "noble six"})
    msg = rec.final_message()
    assert rec.is_ephemeral(msg)
    embed = msg["embeds"][0]
    assert embed["title"] == "Account linked"
    assert "Noble Six" in embed["description"]
    account = await world.db.accounts.get(USER_ID)
    assert account is not None and account.xuid == str(NOBLE_SIX.xuid)
    tracked = await world.db.tracked.list_for_guild(GUILD_ID, include_unverified=True)
    assert [(m.user_id, m.verified) for m in tracked] == [(USER_ID, False)]
    assert world.halo.count("profile.svc.halowaypoint.com/users/gt") == 1
    # Unverified: a code and a Verify button.
    assert len(code_of(rec)) == 4
    assert "service tag" in embed["description"]
    assert verify_button(rec)["custom_id"].startswith(f"verify-link:{USER_ID}:")


async def test_link_modern_gamertag(world: World) -> None:
    rec = await world.invoke("link", {"gamertag": MODERN_PLAYER.gamertag})
    assert "Sïerra\\#2468" in rec.embeds()[0]["description"]
    account = await world.db.accounts.get(USER_ID)
    assert account is not None and account.xuid == str(MODERN_PLAYER.xuid)


async def test_link_unknown_gamertag_changes_nothing(world: World) -> None:
    rec = await world.invoke("link", {"gamertag": "Nobody Here 42"})
    msg = rec.final_message()
    assert rec.is_ephemeral(msg)
    assert msg["embeds"][0]["title"] == "Player not found"
    assert "Nobody Here 42" in msg["embeds"][0]["description"]
    assert await world.db.accounts.get(USER_ID) is None


async def test_link_invalid_text_is_refused_before_any_request(world: World) -> None:
    before = len(world.halo.requests)
    rec = await world.invoke("link", {"gamertag": "bad/name?x=1"})
    msg = rec.final_message()
    assert rec.is_ephemeral(msg)
    assert msg["embeds"][0]["title"] == "Invalid gamertag or XUID"
    assert len(world.halo.requests) == before
    assert await world.db.accounts.get(USER_ID) is None


async def test_unlink_removes_link_and_tracking(world: World) -> None:
    await world.invoke("link", {"gamertag": NOBLE_SIX.gamertag})
    rec = await world.invoke("unlink")
    msg = rec.final_message()
    assert rec.is_ephemeral(msg)
    assert "no longer linked" in msg["embeds"][0]["description"]
    assert await world.db.accounts.get(USER_ID) is None
    assert await world.db.tracked.list_for_guild(GUILD_ID) == []


async def test_unlink_without_link(world: World) -> None:
    rec = await world.invoke("unlink")
    msg = rec.final_message()
    assert rec.is_ephemeral(msg)
    assert "nothing to unlink" in msg["embeds"][0]["description"]


async def test_whois_shows_linked_member(world: World) -> None:
    await world.invoke("link", {"gamertag": NOBLE_SIX.gamertag}, user_id=OTHER_USER_ID)
    rec = await world.invoke("whois", {"member": OTHER_USER_ID})
    embed = rec.embeds()[0]
    assert "Noble Six" in embed["description"]
    assert embed["fields"][0]["value"] == str(NOBLE_SIX.xuid)


async def test_whois_unlinked_member(world: World) -> None:
    rec = await world.invoke("whois", {"member": OTHER_USER_ID})
    msg = rec.final_message()
    assert rec.is_ephemeral(msg)
    assert "hasn't linked" in msg["embeds"][0]["description"]
