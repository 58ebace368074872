"""The ``commands.Bot`` subclass: holds the shared services and loads the cogs."""

from __future__ import annotations

import logging
import pkgutil
from typing import TYPE_CHECKING

import discord
from discord.ext import commands

from bot.discord_http import ApiGatewayMixin
from bot.tree import HaloCommandTree

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.halo.client import HaloClient
    from bot.halo.ratelimit import CommandLimits
    from bot.players import PlayerResolver
    from bot.storage import Database

log = logging.getLogger(__name__)


def discover_extensions() -> tuple[str, ...]:
    """Every module of the ``cogs`` package (names starting with ``_`` are helpers)."""
    import cogs

    return tuple(
        f"cogs.{info.name}"
        for info in sorted(pkgutil.iter_modules(cogs.__path__), key=lambda i: i.name)
        if not info.name.startswith("_")
    )


EXTENSIONS: tuple[str, ...] = discover_extensions()


class HaloBot(ApiGatewayMixin, commands.Bot):
    """The bot. Services are built outside (see :mod:`bot.runner`) and injected."""

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
            try:
                await self.load_extension(name)
            except commands.ExtensionError as exc:
                # One broken cog must not take the others down with it.
                self.failed_extensions[name] = str(exc)
                log.exception("Could not load extension %s", name)
        guild_id = self.settings.discord_dev_guild_id
        if guild_id and self._sync_dev_guild:
            guild = discord.Object(id=guild_id)
            self.tree.copy_global_to(guild=guild)
            synced = await self.tree.sync(guild=guild)
            log.info("Synced %d commands to the dev guild %s", len(synced), guild_id)

    async def on_ready(self) -> None:
        user = self.user
        log.info(
            "Connected as %s (%s) to %d servers", user, user.id if user else "?", len(self.guilds)
        )
