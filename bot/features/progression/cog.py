"""/operation and /events: a player's Operation (battle pass) and event progress."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

import discord
from discord import app_commands
from discord.ext import commands

from bot.common.errors import NoDataError, PlayerNotFoundError
from bot.common.text import escape
from bot.core.aio import gather_all, gather_pair
from bot.core.bot import HaloBot
from bot.core.lookup import PLAYER_HELP, begin_lookup, bot_of, player_autocomplete
from bot.core.resolver import Player
from bot.features.progression.embeds import event_embed, events_embed, operation_embed
from bot.features.progression.service import (
    MAX_EVENT_QUERIES,
    Catalogue,
    CatalogueService,
    Standing,
    TrackInfo,
    TrackKind,
    UnknownEventError,
    UnknownOperationError,
)
from bot.halo.models import PlayerOperations, PlayerRewardTrack

log = logging.getLogger(__name__)


#: Before the first catalogue is built, autocomplete waits this long for it at most.
AUTOCOMPLETE_WAIT = 1.0


def _now() -> datetime:
    return datetime.now(UTC)


def _choice(info: TrackInfo, at: datetime) -> app_commands.Choice[str]:
    run = info.shown_run(at)
    if info.is_running(at):
        when = "now"
    elif run is not None and (run.start or run.end):
        moment = run.start or run.end
        assert moment is not None
        when = moment.strftime("%b %Y")
    else:
        when = ""
    label = f"{info.name} · {when}" if when else info.name
    if len(label) > 100:
        label = label[:99] + "…"
    return app_commands.Choice(name=label, value=info.track_id[:100])


class Progression(commands.Cog):
    """Operation and event progress, with a catalogue of every Operation and event."""

    def __init__(self, bot: HaloBot) -> None:
        self.bot = bot
        self.catalogue = CatalogueService(bot.halo)
        self.warm_task: asyncio.Task[None] | None = None

    async def cog_load(self) -> None:
        # In the background: startup must not wait for Halo, and failures are only logged.
        self.warm_task = self.catalogue.refresh_soon()

    async def cog_unload(self) -> None:
        await self.catalogue.close()

    # -- autocomplete --------------------------------------------------------------------

    async def _suggest(self, kind: TrackKind, current: str) -> list[app_commands.Choice[str]]:
        try:
            catalogue = await self.catalogue.for_autocomplete(AUTOCOMPLETE_WAIT)
            if catalogue is None:
                return []
            at = _now()
            return [_choice(info, at) for info in catalogue.suggest(kind, current[:100], at)]
        except Exception:
            log.exception("%s autocomplete failed", kind)
            return []

    # -- /operation ----------------------------------------------------------------------

    @app_commands.command(
        name="operation",
        description="A player's Operation: rank, XP, premium track and other owned Operations.",
    )
    @app_commands.describe(
        player=PLAYER_HELP,
        operation="The Operation to show (default: the player's active one)",
    )
    @app_commands.autocomplete(player=player_autocomplete)
    async def operation(
        self,
        interaction: discord.Interaction,
        player: app_commands.Range[str, 1, 100] | None = None,
        operation: app_commands.Range[str, 1, 100] | None = None,
    ) -> None:
        bot = bot_of(interaction)
        target = await begin_lookup(interaction, player)
        catalogue, operations = await gather_pair(
            self.catalogue.get(), bot.halo.get_player_operations(target.xuid)
        )
        at = _now()
        if operation is not None and operation.strip():
            standing, active = await self._chosen_operation(
                catalogue, operations, target, operation
            )
        else:
            standing, active = await self._current_operation(catalogue, operations, target)
        owned = [
            t
            for t in operations.operation_reward_tracks
            if (t.is_owned or t.current_progress.is_owned)
            and t.track_id.casefold() != standing.info.track_id.casefold()
        ]
        infos = await gather_all(
            *(self.catalogue.track_info(catalogue, "operation", t.track_id) for t in owned)
        )
        others = [Standing(info, t) for info, t in zip(infos, owned, strict=True)]
        others.sort(key=lambda s: _catalogue_order(catalogue, s.info))
        embed = operation_embed(target, standing, others=others, active=active, at=at)
        await interaction.followup.send(embed=embed)

    async def _current_operation(
        self, catalogue: Catalogue, operations: PlayerOperations, target: Player
    ) -> tuple[Standing, bool]:
        """The active Operation; else the scheduled one; else the last one owned."""
        track = operations.active
        active = track is not None
        if track is None:
            track = operations.scheduled
        if track is None:
            owned = [t for t in operations.operation_reward_tracks if t.is_owned]
            if owned:
                infos = {t.track_id: catalogue.get("operation", t.track_id) for t in owned}
                owned.sort(key=lambda t: _catalogue_order(catalogue, infos[t.track_id]))
                track = owned[0]
        if track is None:
            raise NoDataError(
                f"**{escape(target.gamertag)}** has no Operations: they own none and have "
                "none active."
            )
        info = await self.catalogue.track_info(catalogue, "operation", track.track_id)
        return Standing(info, track), active

    async def _chosen_operation(
        self,
        catalogue: Catalogue,
        operations: PlayerOperations,
        target: Player,
        text: str,
    ) -> tuple[Standing, bool]:
        info = catalogue.find("operation", text)
        listed = operations.track(info.track_id if info else text.strip())
        if info is None:
            if listed is None:
                raise UnknownOperationError(
                    f"No Operation is called **{escape(text.strip())}**. "
                    "Pick one from the list as you type."
                )
            info = await self.catalogue.track_info(catalogue, "operation", listed.track_id)
        track = listed
        if track is None:
            track = await self._operation_progress(target, info)
        active_track = operations.active
        active = (
            active_track is not None
            and active_track.track_id.casefold() == info.track_id.casefold()
        )
        return Standing(info, track), active

    async def _operation_progress(self, target: Player, info: TrackInfo) -> PlayerRewardTrack:
        try:
            return await self.bot.halo.get_operation_progress(target.xuid, info.track_id)
        except PlayerNotFoundError:
            # The player exists (just resolved): Halo has no progress of theirs here.
            raise NoDataError(
                f"**{escape(target.gamertag)}** has no progress in {escape(info.name)}."
            ) from None

    # -- /events -------------------------------------------------------------------------

    @app_commands.command(
        name="events",
        description="A player's rank in the current and recent events, or in one event.",
    )
    @app_commands.describe(
        player=PLAYER_HELP,
        event="One event to show (default: current and recent ones)",
    )
    @app_commands.autocomplete(player=player_autocomplete)
    async def events(
        self,
        interaction: discord.Interaction,
        player: app_commands.Range[str, 1, 100] | None = None,
        event: app_commands.Range[str, 1, 100] | None = None,
    ) -> None:
        bot = bot_of(interaction)
        target = await begin_lookup(interaction, player)
        catalogue = await self.catalogue.get()
        at = _now()
        if event is not None and event.strip():
            info = catalogue.find("event", event)
            if info is None:
                raise UnknownEventError(
                    f"No event is called **{escape(event.strip())}**. "
                    "Pick one from the list as you type."
                )
            standing = Standing(info, await bot.halo.get_event_progress(target.xuid, info.track_id))
            if not standing.played:
                raise NoDataError(
                    f"**{escape(target.gamertag)}** never earned a rank in {escape(info.name)}."
                )
            await interaction.followup.send(embed=event_embed(target, standing, at=at))
            return

        chosen = catalogue.events_to_show(at, MAX_EVENT_QUERIES)
        if not chosen:
            raise NoDataError("Halo lists no events right now.")
        progress = await gather_all(
            *(bot.halo.get_event_progress(target.xuid, info.track_id) for info in chosen)
        )
        standings = [Standing(info, p) for info, p in zip(chosen, progress, strict=True)]
        if not any(s.played for s in standings):
            raise NoDataError(
                f"**{escape(target.gamertag)}** has no rank in the current or recent events. "
                "Pick an older one with the `event` option."
            )
        await interaction.followup.send(embed=events_embed(target, standings, at=at))

    @operation.autocomplete("operation")
    async def operation_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return await self._suggest("operation", current)

    @events.autocomplete("event")
    async def event_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return await self._suggest("event", current)


def _catalogue_order(catalogue: Catalogue, info: TrackInfo | None) -> tuple[int, int]:
    """Newest first as in the catalogue; tracks it does not list come last."""
    if info is not None:
        for index, known in enumerate(catalogue.operations):
            if known.track_id.casefold() == info.track_id.casefold():
                return (0, index)
    return (1, 0)


async def setup(bot: HaloBot) -> None:
    await bot.add_cog(Progression(bot))
