"""/config rank-roles never stores a mapping it could not check: without the server
(``interaction.guild`` missing) the mapping is refused instead of stored unchecked."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import discord
import pytest

from bot.common.errors import PermissionDeniedError
from bot.features.config.service import RankRolesRequest
from tests.e2e.announcements.test_rank_roles import ONYX_ROLE, rank_roles, roles_world
from tests.support.discord import ADMIN_USER_ID, GUILD_ID
from tests.support.world import World


@pytest.fixture(name="world")
async def world_fixture(tmp_path: Path) -> AsyncIterator[World]:
    async with roles_world(tmp_path) as world:
        yield world


async def test_a_mapping_without_the_server_is_refused_and_not_stored(world: World) -> None:
    guild = world.bot.get_guild(GUILD_ID)
    assert guild is not None
    caller = guild.get_member(ADMIN_USER_ID) or await guild.fetch_member(ADMIN_USER_ID)
    role = guild.get_role(ONYX_ROLE)
    assert isinstance(caller, discord.Member) and role is not None
    cog: Any = world.bot.get_cog("AdminConfig")
    request = RankRolesRequest(tier="Onyx", role=role)
    with pytest.raises(PermissionDeniedError) as refused:
        await cog.service.rank_roles_command(GUILD_ID, None, caller, request)
    assert "Nothing was changed" in str(refused.value)
    assert await world.db.rank_roles.mapping(GUILD_ID) == {}
    # With the server the same mapping goes through its checks and is stored.
    embed = await rank_roles(world, tier="Onyx", role=ONYX_ROLE)
    assert embed["title"] == "Rank roles updated", embed
    assert await world.db.rank_roles.mapping(GUILD_ID) == {"Onyx": ONYX_ROLE}
