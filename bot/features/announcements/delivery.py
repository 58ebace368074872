"""Posting announcements to Discord, and finding out why a channel cannot be used.

:class:`RankWatcher` only knows the :class:`Poster` protocol, so it runs without
Discord (tests, benchmark); :class:`DiscordPoster` is the real one.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from typing import Protocol

import aiohttp
import discord

from bot.core.bot import holds_guild_shard

log = logging.getLogger(__name__)

#: What the bot needs in the announce channel: (attribute, name shown to admins).
REQUIRED_PERMISSIONS: tuple[tuple[str, str], ...] = (
    ("view_channel", "View Channel"),
    ("send_messages", "Send Messages"),
    ("embed_links", "Embed Links"),
)
NONCE_LENGTH = 25  # Discord's maximum for a string nonce

REMOVED_FROM_GUILD = (
    "I am no longer in this server (I was removed or the server was deleted), "
    "so announcements could not be posted."
)


class DeliveryError(Exception):
    """A post failed. ``problem`` is a sentence for admins (``/config show``).

    ``transient``: try again later (Discord 5xx, network); otherwise the posts are given
    up. ``channel_problem``: the announce channel itself is unusable (deleted, missing
    permission, bot removed) and ``problem`` is recorded for ``/config show``.
    """

    def __init__(self, problem: str, *, transient: bool = False, channel_problem: bool = True):
        super().__init__(problem)
        self.problem = problem
        self.transient = transient
        self.channel_problem = channel_problem and not transient


class Poster(Protocol):
    """Posts one message of announcement embeds; returns the message id."""

    async def post(
        self, guild_id: int, channel_id: int, embeds: Sequence[discord.Embed], nonce: str
    ) -> int: ...


def nonce_for(keys: Sequence[str]) -> str:
    """A stable nonce for the message carrying these outbox keys (order-independent)."""
    digest = hashlib.sha256("\n".join(sorted(keys)).encode("utf-8")).hexdigest()
    return digest[:NONCE_LENGTH]


def join_names(names: Sequence[str]) -> str:
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def missing_permissions(permissions: discord.Permissions) -> list[str]:
    """Names of the permissions from :data:`REQUIRED_PERMISSIONS` that are missing.

    Discord takes every other channel permission away without View Channel, and Embed
    Links without Send Messages, so only the permission that really blocks is named.
    """
    if not permissions.view_channel:
        return ["View Channel"]
    if not permissions.send_messages:
        return ["Send Messages"]
    return [name for attr, name in REQUIRED_PERMISSIONS if not getattr(permissions, attr)]


def missing_text(channel_mention: str, missing: Sequence[str]) -> str:
    word = "permission" if len(missing) == 1 else "permissions"
    return f"I'm missing the {join_names(missing)} {word} in {channel_mention}."


def channel_problem(guild: discord.Guild | None, channel_id: int | None) -> str | None:
    """Why the bot cannot post announcements in ``channel_id`` now (from Discord's cache),
    or None when it can (or when it cannot be told)."""
    if channel_id is None:
        return None
    if guild is None:
        return REMOVED_FROM_GUILD
    channel = guild.get_channel(channel_id)
    if channel is None:
        return (
            f"The announcement channel (<#{channel_id}>) was deleted: "
            "choose another with `/config announce-channel`."
        )
    if not isinstance(channel, discord.TextChannel):
        return f"{channel.mention} is not a text channel I can post announcements in."
    me = guild.me
    if me is None:
        return None
    missing = missing_permissions(channel.permissions_for(me))
    return missing_text(channel.mention, missing) if missing else None


class DiscordPoster:
    """Posts through discord.py, checking the cached permissions first."""

    def __init__(self, client: discord.Client) -> None:
        self.client = client

    def is_guild_active(self, guild_id: int) -> bool:
        """Whether the bot is (still) in the guild; True while that cannot be told yet,
        and for a guild of a shard another process runs (that one can tell)."""
        if not self.client.is_ready() or not holds_guild_shard(self.client, guild_id):
            return True
        return self.client.get_guild(guild_id) is not None

    async def post(
        self, guild_id: int, channel_id: int, embeds: Sequence[discord.Embed], nonce: str
    ) -> int:
        if not self.client.is_ready():
            raise DeliveryError("not connected to Discord yet", transient=True)
        guild = self.client.get_guild(guild_id)
        if guild is None:
            raise DeliveryError(REMOVED_FROM_GUILD)
        if guild.unavailable:
            raise DeliveryError("the server is unavailable (Discord outage)", transient=True)
        cached = guild.get_channel(channel_id)
        target: discord.abc.Messageable
        if cached is None:
            # Not in the cache: let Discord say whether it still exists.
            target = self.client.get_partial_messageable(channel_id, guild_id=guild_id)
        else:
            problem = channel_problem(guild, channel_id)
            if problem is not None:
                raise DeliveryError(problem)
            assert isinstance(cached, discord.TextChannel)
            target = cached
        try:
            # discord.py sends ``enforce_nonce: true`` with every nonce: Discord answers a
            # repeated nonce (for a few minutes) with the message it already created.
            message = await target.send(
                embeds=list(embeds),
                nonce=nonce,
                allowed_mentions=discord.AllowedMentions.none(),
            )
        except discord.NotFound as exc:
            raise DeliveryError(
                f"The announcement channel (<#{channel_id}>) was deleted: "
                "choose another with `/config announce-channel`."
            ) from exc
        except discord.Forbidden as exc:
            raise DeliveryError(
                f"Discord refused my announcement in <#{channel_id}> ({exc.text or 'Forbidden'}): "
                f"I need the {join_names([n for _, n in REQUIRED_PERMISSIONS])} permissions there."
            ) from exc
        except discord.HTTPException as exc:
            if exc.status >= 500:
                raise DeliveryError(f"Discord error {exc.status}", transient=True) from exc
            raise DeliveryError(
                f"Discord rejected an announcement (HTTP {exc.status}: {exc.text})",
                channel_problem=False,
            ) from exc
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise DeliveryError(
                f"Discord could not be reached ({exc.__class__.__name__})", transient=True
            ) from exc
        return message.id
