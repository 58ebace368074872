"""What every Halo-backed command does first: limits and defer (:func:`begin_lookup`);
the feature's service then resolves the player with :class:`~bot.core.resolver.PlayerResolver`.

Also the ``player`` autocomplete, answered from local data only (linked members
of this server and recent lookups), never from Halo.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

import discord
from discord import app_commands

from bot.core.playlists import suggest_playlists

if TYPE_CHECKING:
    from bot.core.bot import HaloBot

log = logging.getLogger(__name__)

MAX_CHOICES = 25
#: The description of every ``player`` option.
PLAYER_HELP = "Gamertag (with #1234 if it has one), XUID or @member; empty: you"


@dataclass(frozen=True)
class Caller:
    """Who ran a command, and where (``guild_id`` is None in DMs)."""

    user_id: int
    guild_id: int | None


async def begin_lookup(
    interaction: discord.Interaction[HaloBot], *, ephemeral: bool = False
) -> Caller:
    """Check the caller's limits and defer (the answer may take longer than Discord's
    three seconds); who asked, for the feature's service.

    Raises :class:`~bot.common.errors.RateLimitedError` when the caller or the server is
    over its limit; the tree's error handler shows it to the caller only.
    """
    await interaction.client.limits.check(interaction.guild_id, interaction.user.id)
    await interaction.response.defer(thinking=True, ephemeral=ephemeral)
    return Caller(interaction.user.id, interaction.guild_id)


def _choice_name(gamertag: str, note: str) -> str:
    name = f"{gamertag} ({note})" if note else gamertag
    return name[:100]


async def player_autocomplete(
    interaction: discord.Interaction[HaloBot], current: str
) -> list[app_commands.Choice[str]]:
    """Linked members of this server, then this server's recent lookups; at most 25."""
    bot = interaction.client
    prefix = current.strip()[:32]
    choices: list[app_commands.Choice[str]] = []
    seen: set[str] = set()

    def offer(xuid: str, gamertag: str, note: str) -> None:
        if xuid not in seen:
            seen.add(xuid)
            choices.append(
                app_commands.Choice(name=_choice_name(gamertag, note), value=f"xuid({xuid})")
            )

    try:
        own = await bot.db.accounts.get(interaction.user.id)
        if own and own.gamertag.casefold().startswith(prefix.casefold()):
            offer(own.xuid, own.gamertag, "you")
        if interaction.guild_id is not None:
            for member in await bot.db.tracked.linked_in_guild(
                interaction.guild_id, prefix, MAX_CHOICES
            ):
                offer(member.xuid, member.gamertag, "linked")
            await bot.resolver.flush()  # lookups are written behind: include the latest
            for known in await bot.db.players.recent_lookups(
                interaction.guild_id, prefix, MAX_CHOICES
            ):
                offer(known.xuid, known.gamertag, "recent")
    except Exception:
        log.exception("player autocomplete failed")
        return []
    return choices[:MAX_CHOICES]


async def playlist_autocomplete(
    interaction: discord.Interaction[HaloBot], current: str
) -> list[app_commands.Choice[str]]:
    """The known ranked playlists whose name contains what was typed."""
    return [
        app_commands.Choice(name=p.name, value=p.playlist_id)
        for p in suggest_playlists(current[:100])
    ]
