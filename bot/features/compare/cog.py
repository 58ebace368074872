"""/compare: two players side by side, CSR per ranked playlist and service records."""

from __future__ import annotations

import logging

import discord
from discord import app_commands
from discord.ext import commands

from bot.common.errors import InvalidPlayerError, NoDataError
from bot.common.text import escape
from bot.core.aio import gather_pair
from bot.core.bot import HaloBot
from bot.core.lookup import begin_lookup, bot_of, player_autocomplete
from bot.core.playlists import KNOWN_PLAYLISTS
from bot.features.compare.embeds import compare_embed
from bot.features.stats.service import fetch_standings
from bot.halo.client import HaloClient
from bot.halo.models import ServiceRecord

log = logging.getLogger(__name__)

#: Both players are required (no "empty: you", unlike the other commands' player).
PLAYER_A_HELP = "First player: gamertag (with #1234 if it has one), XUID or @member"
PLAYER_B_HELP = "Second player: gamertag (with #1234 if it has one), XUID or @member"


async def _record_or_none(halo: HaloClient, xuid: str) -> ServiceRecord | None:
    """A private or missing record leaves its column empty instead of failing it all."""
    try:
        return await halo.get_service_record(xuid)
    except NoDataError:
        return None


class Compare(commands.Cog):
    def __init__(self, bot: HaloBot) -> None:
        self.bot = bot

    @app_commands.command(
        name="compare", description="Two players side by side: ranked CSR and key stats."
    )
    @app_commands.describe(player_a=PLAYER_A_HELP, player_b=PLAYER_B_HELP)
    @app_commands.autocomplete(player_a=player_autocomplete, player_b=player_autocomplete)
    async def compare(
        self,
        interaction: discord.Interaction,
        player_a: app_commands.Range[str, 1, 100],
        player_b: app_commands.Range[str, 1, 100],
    ) -> None:
        bot = bot_of(interaction)
        first = await begin_lookup(interaction, player_a)
        second = await bot.resolver.resolve(
            player_b, caller_id=interaction.user.id, guild_id=interaction.guild_id
        )
        if first.xuid == second.xuid:
            raise InvalidPlayerError(
                f"Both options name **{escape(first.gamertag)}**: pick two different players."
            )
        (standings_a, standings_b), (record_a, record_b) = await gather_pair(
            gather_pair(
                fetch_standings(bot.halo, first.xuid, KNOWN_PLAYLISTS),
                fetch_standings(bot.halo, second.xuid, KNOWN_PLAYLISTS),
            ),
            gather_pair(
                _record_or_none(bot.halo, first.xuid), _record_or_none(bot.halo, second.xuid)
            ),
        )
        has_data = any(s.has_data for s in (*standings_a, *standings_b)) or any(
            r is not None and not r.is_empty for r in (record_a, record_b)
        )
        if not has_data:
            raise NoDataError(
                f"Neither **{escape(first.gamertag)}** nor **{escape(second.gamertag)}** "
                "has ranked data or matchmaking matches to compare."
            )
        embed = compare_embed(
            first,
            second,
            list(zip(standings_a, standings_b, strict=True)),
            (record_a, record_b),
        )
        await interaction.followup.send(embed=embed)


async def setup(bot: HaloBot) -> None:
    await bot.add_cog(Compare(bot))
