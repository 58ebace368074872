"""Turning what a member typed (or left empty) into a Halo player: XUID and gamertag.

Order of lookups: a Discord member means their linked account; a XUID is used
as is (its gamertag from the local cache, or one batch lookup); a gamertag is
looked up in the local cache first, then resolved once upstream and stored.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.errors import NotLinkedError, PlayerNotFoundError
from bot.halo.players import PlayerRef, parse_player

if TYPE_CHECKING:
    from bot.halo.client import HaloClient
    from bot.storage import Database

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Player:
    """A resolved player."""

    xuid: str
    gamertag: str

    @property
    def player_id(self) -> str:
        return f"xuid({self.xuid})"


class PlayerResolver:
    """Resolves ``player`` options for every command, with the database as a cache."""

    def __init__(self, halo: HaloClient, db: Database) -> None:
        self._halo = halo
        self._db = db

    async def resolve(
        self,
        text: str | None,
        *,
        caller_id: int,
        guild_id: int | None = None,
    ) -> Player:
        """The player named by ``text``; empty means the caller's linked account."""
        if text is None or not text.strip():
            player = await self.linked(caller_id, is_caller=True)
        else:
            player = await self.resolve_ref(parse_player(text))
        if guild_id is not None:
            await self._db.players.record_lookup(guild_id, caller_id, player.xuid, player.gamertag)
        return player

    async def resolve_ref(self, ref: PlayerRef) -> Player:
        if ref.kind == "member":
            return await self.linked(int(ref.value), is_caller=False)
        if ref.kind == "xuid":
            return await self._by_xuid(ref.value)
        return await self._by_gamertag(ref.value)

    async def linked(self, user_id: int, *, is_caller: bool) -> Player:
        account = await self._db.accounts.get(user_id)
        if account is None:
            if is_caller:
                raise NotLinkedError(
                    "You haven't linked a Halo account yet. Use `/link` with your gamertag, "
                    "or name a player in the `player` option."
                )
            raise NotLinkedError(
                "That member hasn't linked a Halo account. Name their gamertag instead."
            )
        return Player(account.xuid, account.gamertag)

    async def _by_xuid(self, xuid: str) -> Player:
        known = await self._db.players.gamertag_for(xuid)
        if known:
            return Player(xuid, known)
        users = await self._halo.get_users([xuid])
        if not users:
            raise PlayerNotFoundError(f"No Halo player has the XUID {xuid}.")
        user = users[0]
        await self._db.players.remember(user.xuid, user.gamertag)
        return Player(user.xuid, user.gamertag)

    async def _by_gamertag(self, gamertag: str) -> Player:
        xuid = await self._db.players.xuid_for(gamertag)
        if xuid:
            known = await self._db.players.gamertag_for(xuid)
            return Player(xuid, known or gamertag)
        user = await self._halo.get_user(gamertag)
        await self._db.players.remember(user.xuid, user.gamertag)
        return Player(user.xuid, user.gamertag)
