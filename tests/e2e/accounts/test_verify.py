"""Verifying a link by service tag, end to end: /link's code and button, the fake Halo's
public customization, one verified owner per XUID, expiry and the check budget."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from bot.features.accounts.service import CODE_LIFETIME, MAX_CHECKS
from bot.storage.models import utc_now
from tests.e2e.accounts.verifying import (
    code_of,
    link,
    link_verified,
    press_verify,
    reply_of,
    verify_button,
)
from tests.fakes.halo_server import ECONOMY_HOST, MODERN_PLAYER, NOBLE_SIX, FakeHalo
from tests.support.discord import GUILD_ID, OTHER_USER_ID, USER_ID, running_fake
from tests.support.world import World, running_world

CUSTOMIZATION = f"{ECONOMY_HOST}/hi/players/xuid({NOBLE_SIX.xuid})/customization"


async def test_link_shows_a_code_and_a_verify_button(world: World) -> None:
    rec = await link(world, NOBLE_SIX.gamertag)
    code = code_of(rec)
    assert len(code) == 4 and code.isascii() and code.isalnum() and code.upper() == code
    assert "Verify" in verify_button(rec)["label"]
    stored = await world.db.verification.code(USER_ID)
    assert stored is not None and stored.code == code and stored.checks == 0
    account = await world.db.accounts.get(USER_ID)
    assert account is not None and not account.verified
    # Another /link gives another code; the first one no longer counts.
    again = await link(world, NOBLE_SIX.gamertag)
    stored = await world.db.verification.code(USER_ID)
    assert stored is not None and stored.code == code_of(again)


async def test_verify_before_and_after_setting_the_service_tag(world: World) -> None:
    rec = await link(world, NOBLE_SIX.gamertag)
    code = code_of(rec)
    world.halo.clear_requests()

    embed = await press_verify(world, rec)
    assert embed["title"] == "Not verified yet"
    assert "`SPTN`" in embed["description"] and f"`{code}`" in embed["description"]
    assert f"{MAX_CHECKS - 1} checks left" in embed["description"]
    [request] = world.halo.requests_to(CUSTOMIZATION)
    assert request.method == "GET" and request.query == {"view": "public"}
    assert not (await world.db.accounts.get(USER_ID)).verified  # type: ignore[union-attr]

    world.halo.set_service_tag(NOBLE_SIX.xuid, code.lower())  # letter case does not matter
    embed = await press_verify(world, rec)
    assert embed["title"] == "Account verified"
    assert "change your service tag back" in embed["description"]
    assert len(world.halo.requests_to(CUSTOMIZATION)) == 2  # asked fresh, never cached
    account = await world.db.accounts.get(USER_ID)
    assert account is not None and account.verified
    assert await world.db.verification.code(USER_ID) is None
    tracked = await world.db.tracked.list_for_guild(GUILD_ID)
    assert [(m.user_id, m.verified) for m in tracked] == [(USER_ID, True)]

    # Verified: the button says so, /link again gives no code and keeps the verification.
    assert (await press_verify(world, rec))["title"] == "Already verified"
    again = await link(world, NOBLE_SIX.gamertag)
    assert "**verified**" in reply_of(again)["embeds"][0]["description"]
    assert not reply_of(again).get("components")
    assert (await world.db.accounts.get(USER_ID)).verified  # type: ignore[union-attr]


async def test_only_the_member_who_linked_can_press_verify(world: World) -> None:
    rec = await link(world, NOBLE_SIX.gamertag)
    world.halo.set_service_tag(NOBLE_SIX.xuid, code_of(rec))
    world.halo.clear_requests()
    embed = await press_verify(world, rec, user_id=OTHER_USER_ID)
    assert embed["title"] == "Not your button"
    assert world.halo.requests_to(CUSTOMIZATION) == []
    assert not (await world.db.accounts.get(USER_ID)).verified  # type: ignore[union-attr]


async def test_two_members_claiming_one_xuid_the_last_to_prove_it_owns_it(world: World) -> None:
    await link_verified(world, NOBLE_SIX.gamertag, user_id=OTHER_USER_ID)
    rec = await link(world, NOBLE_SIX.gamertag, user_id=USER_ID)
    # Linking alone takes nothing from the verified owner.
    assert (await world.db.accounts.get(OTHER_USER_ID)).verified  # type: ignore[union-attr]
    world.halo.set_service_tag(NOBLE_SIX.xuid, code_of(rec))
    embed = await press_verify(world, rec)
    assert embed["title"] == "Account verified"
    assert "no longer verified" in embed["description"]
    assert (await world.db.accounts.get(USER_ID)).verified  # type: ignore[union-attr]
    assert not (await world.db.accounts.get(OTHER_USER_ID)).verified  # type: ignore[union-attr]
    counted = await world.db.tracked.list_for_guild(GUILD_ID)
    assert [m.user_id for m in counted] == [USER_ID]
    whois = await world.invoke("whois", {"member": OTHER_USER_ID})
    fields = {f["name"]: f["value"] for f in whois.embeds()[0]["fields"]}
    assert fields["Verified"] == "No"
    whois = await world.invoke("whois", {"member": USER_ID}, user_id=OTHER_USER_ID)
    fields = {f["name"]: f["value"] for f in whois.embeds()[0]["fields"]}
    assert fields["Verified"] == "Yes (service tag)"


async def test_a_code_expires_after_30_minutes(world: World) -> None:
    rec = await link(world, NOBLE_SIX.gamertag)
    code = code_of(rec)
    world.halo.set_service_tag(NOBLE_SIX.xuid, code)
    old = utc_now() - CODE_LIFETIME - timedelta(seconds=5)
    await world.db.verification.new_code(USER_ID, str(NOBLE_SIX.xuid), code, now=old)
    world.halo.clear_requests()
    embed = await press_verify(world, rec)
    assert embed["title"] == "Code expired" and "/link" in embed["description"]
    assert world.halo.requests_to(CUSTOMIZATION) == []
    assert not (await world.db.accounts.get(USER_ID)).verified  # type: ignore[union-attr]
    # A fresh /link gives a new code that works.
    rec = await link(world, NOBLE_SIX.gamertag)
    world.halo.set_service_tag(NOBLE_SIX.xuid, code_of(rec))
    assert (await press_verify(world, rec))["title"] == "Account verified"


async def test_at_most_ten_checks_per_code(world: World) -> None:
    rec = await link(world, NOBLE_SIX.gamertag)
    world.halo.clear_requests()
    for left in range(MAX_CHECKS - 1, -1, -1):
        embed = await press_verify(world, rec)
        assert embed["title"] == "Not verified yet"
        assert f"{left} check" in embed["description"]
    world.halo.set_service_tag(NOBLE_SIX.xuid, code_of(rec))  # too late for this code
    embed = await press_verify(world, rec)
    assert embed["title"] == "Too many checks" and "/link" in embed["description"]
    assert len(world.halo.requests_to(CUSTOMIZATION)) == MAX_CHECKS
    assert not (await world.db.accounts.get(USER_ID)).verified  # type: ignore[union-attr]


async def test_private_customization_is_explained_and_costs_no_check(world: World) -> None:
    rec = await link(world, NOBLE_SIX.gamertag)
    world.halo.set_service_tag(NOBLE_SIX.xuid, None)  # Halo answers 403
    embed = await press_verify(world, rec)
    assert embed["title"] == "Customization unavailable"
    assert "private or unavailable" in embed["description"]
    stored = await world.db.verification.code(USER_ID)
    assert stored is not None and stored.checks == 0


async def test_halo_down_during_a_check_is_a_clear_error(world: World) -> None:
    rec = await link(world, NOBLE_SIX.gamertag)
    world.halo.fail(CUSTOMIZATION, status=503, times=None)
    embed = await press_verify(world, rec)
    assert embed["title"] == "Halo is not answering"
    assert not (await world.db.accounts.get(USER_ID)).verified  # type: ignore[union-attr]


async def test_a_button_of_a_replaced_link_does_not_verify_the_new_one(world: World) -> None:
    first = await link(world, NOBLE_SIX.gamertag)
    await link(world, MODERN_PLAYER.gamertag)
    world.halo.set_service_tag(NOBLE_SIX.xuid, code_of(first))
    embed = await press_verify(world, first)
    assert embed["title"] == "Link changed"
    assert not (await world.db.accounts.get(USER_ID)).verified  # type: ignore[union-attr]


async def test_the_button_keeps_working_after_a_restart(tmp_path: Path) -> None:
    async with running_fake() as fake, FakeHalo() as halo:
        async with running_world(tmp_path, discord=fake, halo=halo) as world:
            rec = await link(world, NOBLE_SIX.gamertag)
        halo.set_service_tag(NOBLE_SIX.xuid, code_of(rec))
        async with running_world(tmp_path, discord=fake, halo=halo) as world:
            assert (await press_verify(world, rec))["title"] == "Account verified"
            assert (await world.db.accounts.get(USER_ID)).verified  # type: ignore[union-attr]
