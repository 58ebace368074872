"""Gamertag renames end to end: a remembered gamertag is trusted for a while, then Halo
is asked again; a new name reaches the linked account; Halo down falls back to memory."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from tests.e2e.stats.test_csr_and_servicerecord import private_error, public_embed
from tests.fakes.halo_server import NOBLE_SIX, PROFILE_HOST, SKILL_HOST
from tests.support.discord import USER_ID
from tests.support.world import World

NEW_OWNER_XUID = 2533274800000099  # takes the name "Noble Six" once it is free


def a_day_later(world: World) -> None:
    """Nothing remembered is trusted any more, and the client's one-hour answers are gone."""
    world.services.resolver.max_age = timedelta(0)
    world.services.halo.cache.cache.clear()


def csr_players(world: World) -> list[str]:
    """The ``players`` of every CSR request Halo received, oldest first."""
    return [r.query.get("players", "") for r in world.halo.requests if r.host == SKILL_HOST]


async def test_a_renamed_player_and_the_new_owner_of_the_name(world: World) -> None:
    rec = await world.invoke("link", {"gamertag": NOBLE_SIX.gamertag})
    assert rec.final_message()["embeds"][0]["title"] == "Account linked"
    world.halo.rename_player(NOBLE_SIX.xuid, "Noble Seven")
    world.halo.add_player(NEW_OWNER_XUID, "Noble Six", csr=700)

    # Remembered within the day: no profile request, still the old owner.
    profile_before = world.halo.count(PROFILE_HOST)
    public_embed(await world.invoke("csr", {"player": "Noble Six"}))
    assert world.halo.count(PROFILE_HOST) == profile_before
    assert csr_players(world)[-1] == f"xuid({NOBLE_SIX.xuid})"

    a_day_later(world)
    embed = public_embed(await world.invoke("csr", {"player": "Noble Six"}))
    assert embed["title"] == "Noble Six: ranked CSR"
    assert csr_players(world)[-1] == f"xuid({NEW_OWNER_XUID})"  # the name's new owner

    embed = public_embed(await world.invoke("csr", {"player": f"xuid({NOBLE_SIX.xuid})"}))
    assert embed["title"] == "Noble Seven: ranked CSR"
    account = await world.db.accounts.get(USER_ID)
    assert account is not None and account.gamertag == "Noble Seven"
    rec = await world.invoke("whois", {"member": USER_ID})
    assert "Noble Seven" in str(rec.final_message()["embeds"][0])


async def test_halo_down_uses_the_remembered_name_else_says_so(world: World) -> None:
    public_embed(await world.invoke("csr", {"player": NOBLE_SIX.gamertag}))
    a_day_later(world)
    world.halo.fail(PROFILE_HOST, status=503, times=None)

    embed = public_embed(await world.invoke("csr", {"player": NOBLE_SIX.gamertag}))
    assert embed["title"] == "Noble Six: ranked CSR"  # remembered, if old
    assert world.halo.count(PROFILE_HOST) >= 1  # Halo was asked first

    embed = private_error(await world.invoke("csr", {"player": "Never Looked Up"}))
    assert embed["title"] == "Halo is not answering"


async def test_a_name_nobody_has_any_more_is_not_found(world: World) -> None:
    public_embed(await world.invoke("csr", {"player": NOBLE_SIX.gamertag}))
    world.halo.rename_player(NOBLE_SIX.xuid, "Noble Seven")
    a_day_later(world)
    embed = private_error(await world.invoke("csr", {"player": NOBLE_SIX.gamertag}))
    assert embed["title"] == "Player not found"


async def test_a_linked_member_who_renamed_sees_the_new_name(world: World) -> None:
    rec = await world.invoke("link", {"gamertag": NOBLE_SIX.gamertag})
    assert rec.final_message()["embeds"][0]["title"] == "Account linked"
    world.halo.rename_player(NOBLE_SIX.xuid, "Noble Seven")
    embed = public_embed(await world.invoke("csr"))
    assert embed["title"] == "Noble Six: ranked CSR"  # confirmed today: not asked again

    a_day_later(world)
    world.halo.fail(PROFILE_HOST, hang=True, times=1)  # Halo slow: the lookup never waits
    embed = public_embed(await world.invoke("csr"))
    assert embed["title"] == "Noble Six: ranked CSR"  # the link answers; Halo asked aside
    world.halo.release_hangs()
    for _ in range(250):
        account = await world.db.accounts.get(USER_ID)
        if account is not None and account.gamertag == "Noble Seven":
            break
        await asyncio.sleep(0.02)
    assert account is not None and account.gamertag == "Noble Seven"
    embed = public_embed(await world.invoke("csr"))
    assert embed["title"] == "Noble Seven: ranked CSR"


async def test_link_checks_the_name_with_halo(world: World) -> None:
    public_embed(await world.invoke("csr", {"player": "Noble Six"}))  # remembered now
    world.halo.rename_player(NOBLE_SIX.xuid, "Noble Seven")
    world.halo.add_player(NEW_OWNER_XUID, "Noble Six", csr=700)
    world.services.halo.cache.cache.clear()  # an hour later; the name is still "remembered"

    rec = await world.invoke("link", {"gamertag": "Noble Six"})
    assert rec.final_message()["embeds"][0]["title"] == "Account linked"
    account = await world.db.accounts.get(USER_ID)
    assert account is not None and account.xuid == str(NEW_OWNER_XUID)
