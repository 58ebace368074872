"""The work of ``/operation`` and ``/events``: resolve the player, read the catalogue and
their progress, build the reply; and the suggestions of the ``operation`` and ``event``
options. The catalogue is built in the background at start-up (:meth:`start`)."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from discord import app_commands

from bot.core.lookup import Caller
from bot.core.reply import Reply
from bot.core.resolver import Player, PlayerResolver
from bot.features.progression.calendar import TrackKind
from bot.features.progression.catalogue import CatalogueService
from bot.features.progression.embeds import event_embed, events_embed, operation_embed, track_choice
from bot.features.progression.events import one_event, recent_events
from bot.features.progression.operations import operation_view
from bot.halo.client import HaloClient

log = logging.getLogger(__name__)

#: Before the first catalogue is built, autocomplete waits this long for it at most.
AUTOCOMPLETE_WAIT = 1.0


def _now() -> datetime:
    return datetime.now(UTC)


class ProgressionService:
    """Operation and event progress, with a catalogue of every Operation and event."""

    def __init__(self, halo: HaloClient, resolver: PlayerResolver) -> None:
        self.halo = halo
        self.resolver = resolver
        self.catalogue = CatalogueService(halo)
        #: The start-up build of the catalogue, while it runs (None when it was fresh).
        self.warm_task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Build the catalogue in the background: start-up must not wait for Halo, and a
        failure is only logged (commands try again)."""
        self.warm_task = self.catalogue.refresh_soon()

    async def close(self) -> None:
        await self.catalogue.close()

    async def operation(self, caller: Caller, player: str | None, operation: str | None) -> Reply:
        target = await self._resolve(caller, player)
        view = await operation_view(self.halo, self.catalogue, target, operation)
        embed = operation_embed(
            target, view.standing, others=view.others, active=view.active, at=_now()
        )
        return Reply(embed)

    async def events(self, caller: Caller, player: str | None, event: str | None) -> Reply:
        target = await self._resolve(caller, player)
        catalogue = await self.catalogue.get()
        at = _now()
        if event is not None and event.strip():
            standing = await one_event(self.halo, catalogue, target, event)
            return Reply(event_embed(target, standing, at=at))
        standings = await recent_events(self.halo, catalogue, target, at)
        return Reply(events_embed(target, standings, at=at))

    async def suggest(self, kind: TrackKind, current: str) -> list[app_commands.Choice[str]]:
        """The ``operation``/``event`` autocomplete, from the catalogue built already; never
        raises."""
        try:
            catalogue = await self.catalogue.for_autocomplete(AUTOCOMPLETE_WAIT)
            if catalogue is None:
                return []
            at = _now()
            return [track_choice(info, at) for info in catalogue.suggest(kind, current[:100], at)]
        except Exception:
            log.exception("%s autocomplete failed", kind)
            return []

    async def _resolve(self, caller: Caller, player: str | None) -> Player:
        return await self.resolver.resolve(
            player, caller_id=caller.user_id, guild_id=caller.guild_id
        )
