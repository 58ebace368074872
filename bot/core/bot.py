"""The ``commands.Bot`` subclass: holds the shared services and loads every feature's cog."""

from __future__ import annotations

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

    async def on_ready(self) -> None:
        user = self.user
        log.info(
            "Connected as %s (%s) to %d servers", user, user.id if user else "?", len(self.guilds)
        )
