"""Whether a user is a member of a server now, asked of Discord (the bot has no member
list: it asks for one member, and remembers the answer for a minute)."""

from __future__ import annotations

import logging
import time
from collections import OrderedDict

import discord

log = logging.getLogger(__name__)

REMEMBER_SECONDS = 60.0
REMEMBERED = 5_000


class DiscordMembership:
    """``await membership(guild_id, user_id)``: the check the player resolver uses before
    it shows which account a mentioned member linked."""

    def __init__(self, client: discord.Client) -> None:
        self.client = client
        self._known: OrderedDict[tuple[int, int], tuple[bool, float]] = OrderedDict()

    async def __call__(self, guild_id: int, user_id: int) -> bool:
        key = (guild_id, user_id)
        known = self._known.get(key)
        if known is not None and time.monotonic() < known[1]:
            return known[0]
        guild = self.client.get_guild(guild_id)
        if guild is None:
            return False  # the bot is not in that server: nothing is shown there
        if guild.get_member(user_id) is not None:
            return True
        try:
            await self.client.http.get_member(guild_id, user_id)
            member = True
        except discord.NotFound:
            member = False
        self._known[key] = (member, time.monotonic() + REMEMBER_SECONDS)
        self._known.move_to_end(key)
        while len(self._known) > REMEMBERED:
            self._known.popitem(last=False)
        return member
