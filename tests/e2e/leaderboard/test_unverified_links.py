"""/leaderboard counts verified links only (the default `/config require-verified`): a
member who linked somebody else's gamertag with /link and never verified it is left out,
until the server stops requiring verified links."""

from __future__ import annotations

from tests.e2e.accounts.verifying import link, link_verified
from tests.e2e.config.test_verified_links import admin
from tests.e2e.leaderboard.test_leaderboard import page, rank_check
from tests.fakes.halo_server import MODERN_PLAYER, NOBLE_SIX
from tests.support.discord import GUILD_ID, OTHER_USER_ID, USER_ID
from tests.support.world import World


async def test_an_unverified_link_is_left_out_of_the_leaderboard(world: World) -> None:
    await link_verified(world, MODERN_PLAYER.gamertag, OTHER_USER_ID)
    await link(world, NOBLE_SIX.gamertag, USER_ID)  # linked, never verified
    everyone = await world.db.tracked.list_for_guild(GUILD_ID, include_unverified=True)
    assert {m.user_id: m.verified for m in everyone} == {OTHER_USER_ID: True, USER_ID: False}
    await rank_check(world)

    rec = await world.invoke("leaderboard", {}, user_id=USER_ID)
    lines, footer = page(rec.final_message())
    text = "\n".join(lines)
    assert f"<@{OTHER_USER_ID}>" in text
    assert f"<@{USER_ID}>" not in text and NOBLE_SIX.gamertag not in text, text

    assert "1 ranked" in footer and "not ranked yet" not in footer, footer

    # The server stops requiring verified links: the next rank check counts them too.
    await admin(world, "require-verified", {"enabled": False})
    await rank_check(world)
    rec = await world.invoke("leaderboard", {}, user_id=USER_ID)
    text = "\n".join(page(rec.final_message())[0])
    assert f"<@{OTHER_USER_ID}>" in text and f"<@{USER_ID}>" in text, text
