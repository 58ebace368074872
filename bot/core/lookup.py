"""What every Halo-backed command does first: limits, defer, resolve the player.

Also the ``player`` autocomplete, answered from local data only (linked members
of this server and recent lookups), never from Halo.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, cast

import discord
from discord import app_commands

from bot.core.playlists import suggest_playlists
from bot.core.resolver import Player

if TYPE_CHECKING:
    from bot.core.bot import HaloBot

log = logging.getLogger(__name__)

MAX_CHOICES = 25
#: The description of every ``player`` option.
PLAYER_HELP = "Gamertag (with #1234 if it has one), XUID or @member; empty: you"


def bot_of(interaction: discord.Interaction) -> HaloBot:
    return cast("HaloBot", interaction.client)


async def begin_lookup(
    interaction: discord.Interaction,
    player: str | None,
    *,
    ephemeral: bool = False,
    stored_only: bool = False,
) -> Player:
    """Check the caller's limits, defer, and resolve ``player`` (empty: the caller's link).
    ``stored_only``: the command reads only stored data, so a linked member's gamertag is
    not confirmed with Halo on the side (see :meth:`PlayerResolver.linked`).

    Raises a :class:`~bot.common.errors.UserFacingError` for every failure; the tree's error
    handler shows it to the caller only.
    """
    bot = bot_of(interaction)
    await bot.limits.check(interaction.guild_id, interaction.user.id)
    await interaction.response.defer(thinking=True, ephemeral=ephemeral)
    return await bot.resolver.resolve(
        player,
        caller_id=interaction.user.id,
        guild_id=interaction.guild_id,
        confirm_links=not stored_only,
    )


def _choice_name(gamertag: str, note: str) -> str:
    name = f"{gamertag} ({note})" if note else gamertag
    return name[:100]


async def player_autocomplete(
    interaction: discord.Interaction, current: str
) -> list[app_commands.Choice[str]]:
    """Linked members of this server, then this server's recent lookups; at most 25."""
    bot = bot_of(interaction)
    prefix = current.strip()[:32]
    choices: list[app_commands.Choice[str]] = []
    seen: set[str] = set()
    try:
        own = await bot.db.accounts.get(interaction.user.id)
        if own and own.gamertag.casefold().startswith(prefix.casefold()):
            seen.add(own.xuid)
            choices.append(
                app_commands.Choice(
                    name=_choice_name(own.gamertag, "you"), value=f"xuid({own.xuid})"
                )
            )
        if interaction.guild_id is not None:
            for member in await bot.db.tracked.linked_in_guild(
                interaction.guild_id, prefix, MAX_CHOICES
            ):
                if member.xuid not in seen:
                    seen.add(member.xuid)
                    choices.append(
                        app_commands.Choice(
                            name=_choice_name(member.gamertag, "linked"),
                            value=f"xuid({member.xuid})",
                        )
                    )
            await bot.resolver.flush()  # lookups are written behind: include the latest
            for known in await bot.db.players.recent_lookups(
                interaction.guild_id, prefix, MAX_CHOICES
            ):
                if known.xuid not in seen:
                    seen.add(known.xuid)
                    choices.append(
                        app_commands.Choice(
                            name=_choice_name(known.gamertag, "recent"),
                            value=f"xuid({known.xuid})",
                        )
                    )
    except Exception:
        log.exception("player autocomplete failed")
        return []
    return choices[:MAX_CHOICES]


async def playlist_autocomplete(
    interaction: discord.Interaction, current: str
) -> list[app_commands.Choice[str]]:
    """The known ranked playlists whose name contains what was typed."""
    return [
        app_commands.Choice(name=p.name, value=p.playlist_id)
        for p in suggest_playlists(current[:100])
    ]
