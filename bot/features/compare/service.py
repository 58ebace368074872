"""The work of ``/compare``: two players' CSR per ranked playlist and service records."""

from __future__ import annotations

from bot.common.errors import InvalidPlayerError, NoDataError
from bot.common.text import escape
from bot.core.aio import gather_pair
from bot.core.lookup import Caller
from bot.core.playlists import KNOWN_PLAYLISTS
from bot.core.reply import Reply
from bot.core.resolver import PlayerResolver
from bot.features.compare.embeds import compare_embed
from bot.features.stats.standings import fetch_standings
from bot.halo.client import HaloClient
from bot.halo.models import ServiceRecord


class CompareService:
    def __init__(self, halo: HaloClient, resolver: PlayerResolver) -> None:
        self.halo = halo
        self.resolver = resolver

    async def compare(self, caller: Caller, player_a: str, player_b: str) -> Reply:
        first = await self.resolver.resolve(
            player_a, caller_id=caller.user_id, guild_id=caller.guild_id
        )
        second = await self.resolver.resolve(
            player_b, caller_id=caller.user_id, guild_id=caller.guild_id
        )
        if first.xuid == second.xuid:
            raise InvalidPlayerError(
                f"Both options name **{escape(first.gamertag)}**: pick two different players."
            )
        (standings_a, standings_b), (record_a, record_b) = await gather_pair(
            gather_pair(
                fetch_standings(self.halo, first.xuid, KNOWN_PLAYLISTS),
                fetch_standings(self.halo, second.xuid, KNOWN_PLAYLISTS),
            ),
            gather_pair(self._record_or_none(first.xuid), self._record_or_none(second.xuid)),
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
        return Reply(embed)

    async def _record_or_none(self, xuid: str) -> ServiceRecord | None:
        """A private or missing record leaves its column empty instead of failing it all."""
        try:
            return await self.halo.get_service_record(xuid)
        except NoDataError:
            return None
