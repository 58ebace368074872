"""The ``commands.Bot`` subclass: holds the shared services and loads every feature's cog.

Shards (``SHARD_COUNT``, ``SHARD_IDS``): Discord sends a server's events, interactions
included, only to the shard ``(guild_id >> 22) % SHARD_COUNT`` (DMs to shard 0). A process
runs one shard with a plain :class:`HaloBot` (``shard_id``) or several with
:class:`ShardedHaloBot` (discord.py's :class:`~discord.ext.commands.AutoShardedBot`);
:func:`bot_class` picks one. Unset, the bot is one unsharded connection, as always.
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import pkgutil
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.common.metrics import INTERACTIONS
from bot.core.discord_http import ApiGatewayMixin
from bot.core.installs import apply_installs
from bot.core.tree import HaloCommandTree

if TYPE_CHECKING:
    from bot.core.config import Settings
    from bot.core.limits import CommandLimits
    from bot.core.resolver import PlayerResolver
    from bot.halo.client import HaloClient
    from bot.storage import Database

log = logging.getLogger(__name__)


def discover_extensions() -> tuple[str, ...]:
    """The ``cog`` module of every feature package under :mod:`bot.features`."""
    import bot.features

    return tuple(
        f"bot.features.{info.name}.cog"
        for info in sorted(pkgutil.iter_modules(bot.features.__path__), key=lambda i: i.name)
        if info.ispkg
        and not info.name.startswith("_")
        and importlib.util.find_spec(f"bot.features.{info.name}.cog") is not None
    )


EXTENSIONS: tuple[str, ...] = discover_extensions()


def shard_of(guild_id: int, shard_count: int) -> int:
    """The shard Discord sends ``guild_id``'s events to."""
    return (guild_id >> 22) % max(1, shard_count)


def holds_guild_shard(client: discord.Client, guild_id: int) -> bool:
    """Whether one of ``client``'s shards is the one ``guild_id``'s events go to (always
    True unsharded): the servers this process answers, posts to and gives roles in."""
    count = client.shard_count
    if not count or count <= 1:
        return True
    ids: list[int] | None = getattr(client, "shard_ids", None)
    if ids is None:
        one = client.shard_id
        if one is None:
            return True  # AutoShardedClient without shard_ids: every shard
        ids = [one]
    return shard_of(guild_id, count) in ids


def shard_options(settings: Settings) -> dict[str, object]:
    """discord.py's keyword arguments for this process's shards (none when unsharded)."""
    if settings.shard_count <= 1:
        return {}
    ids = settings.process_shard_ids
    if len(ids) == 1:
        return {"shard_id": ids[0], "shard_count": settings.shard_count}
    return {"shard_ids": list(ids), "shard_count": settings.shard_count}


class HaloBot(ApiGatewayMixin, commands.Bot):
    """The bot. Services are built outside (see :mod:`bot.core.services`) and injected."""

    def __init__(
        self,
        *,
        settings: Settings,
        db: Database,
        halo: HaloClient,
        resolver: PlayerResolver,
        limits: CommandLimits,
        extensions: tuple[str, ...] = EXTENSIONS,
        sync_dev_guild: bool = True,
    ) -> None:
        # Only the guilds intent: slash commands carry everything else we need,
        # and no privileged intent (members, message content) is requested.
        intents = discord.Intents.none()
        intents.guilds = True
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=intents,
            tree_cls=HaloCommandTree,
            allowed_mentions=discord.AllowedMentions.none(),
            help_command=None,
            **shard_options(settings),  # type: ignore[arg-type]
        )
        self.settings = settings
        self.db = db
        self.halo = halo
        self.resolver = resolver
        self.limits = limits
        self._extensions = extensions
        self._sync_dev_guild = sync_dev_guild
        self.failed_extensions: dict[str, str] = {}

    async def setup_hook(self) -> None:
        for name in self._extensions:
            if name in self.extensions:
                continue  # a retried login runs this again
            try:
                await self.load_extension(name)
            except commands.ExtensionError as exc:
                # One broken cog must not take the others down with it.
                self.failed_extensions[name] = str(exc)
                log.exception("Could not load extension %s", name)
        apply_installs(self.tree)
        guild_id = self.settings.discord_dev_guild_id
        if guild_id and self._sync_dev_guild:
            guild = discord.Object(id=guild_id)
            self.tree.copy_global_to(guild=guild)
            synced = await self.tree.sync(guild=guild)
            log.info("Synced %d commands to the dev guild %s", len(synced), guild_id)

    async def on_app_command_completion(
        self,
        interaction: discord.Interaction,
        command: app_commands.Command[Any, ..., Any] | app_commands.ContextMenu,
    ) -> None:
        INTERACTIONS.labels(f"/{command.qualified_name}", "ok").inc()

    async def close(self) -> None:
        # discord.py leaves its READY delay task (waiting for the servers to arrive)
        # running on close; it would then dispatch "ready" on a client that has dropped
        # its event loop, and log an AttributeError traceback at shutdown.
        ready_task: asyncio.Task[None] | None = getattr(self._connection, "_ready_task", None)
        if ready_task is not None and not ready_task.done():
            ready_task.cancel()
        await super().close()

    async def on_ready(self) -> None:
        user = self.user
        shards = ""
        if self.settings.shard_count > 1:
            ids = ",".join(map(str, self.settings.process_shard_ids))
            shards = f" on shards {ids} of {self.settings.shard_count}"
        log.info(
            "Connected as %s (%s) to %d servers%s",
            user,
            user.id if user else "?",
            len(self.guilds),
            shards,
        )


class ShardedHaloBot(HaloBot, commands.AutoShardedBot):
    """The bot running several shards in one process (one gateway connection each)."""


def bot_class(settings: Settings) -> type[HaloBot]:
    """:class:`ShardedHaloBot` when this process runs more than one shard, else :class:`HaloBot`."""
    if settings.shard_count > 1 and len(settings.process_shard_ids) > 1:
        return ShardedHaloBot
    return HaloBot
