"""``/events``: a player's standing in one event, or in the current and recent ones."""

from __future__ import annotations

from datetime import datetime

from bot.common.errors import NoDataError, UserFacingError
from bot.common.text import escape
from bot.core.aio import gather_all
from bot.core.resolver import Player
from bot.features.progression.catalogue import MAX_EVENT_QUERIES, Catalogue
from bot.features.progression.standing import Standing
from bot.halo.client import HaloClient


class UnknownEventError(UserFacingError):
    """``event`` names no event the bot knows."""

    title = "Unknown event"


async def one_event(halo: HaloClient, catalogue: Catalogue, target: Player, text: str) -> Standing:
    """The player's standing in the event ``text`` names; they must have a rank in it."""
    info = catalogue.find("event", text)
    if info is None:
        raise UnknownEventError(
            f"No event is called **{escape(text.strip())}**. Pick one from the list as you type."
        )
    standing = Standing(info, await halo.get_event_progress(target.xuid, info.track_id))
    if not standing.played:
        raise NoDataError(
            f"**{escape(target.gamertag)}** never earned a rank in {escape(info.name)}."
        )
    return standing


async def recent_events(
    halo: HaloClient, catalogue: Catalogue, target: Player, at: datetime
) -> list[Standing]:
    """The player's standing in the running, uncalendared and most recent events (at most
    :data:`MAX_EVENT_QUERIES`); they must have a rank in one of them."""
    chosen = catalogue.events_to_show(at, MAX_EVENT_QUERIES)
    if not chosen:
        raise NoDataError("Halo lists no events right now.")
    progress = await gather_all(
        *(halo.get_event_progress(target.xuid, info.track_id) for info in chosen)
    )
    standings = [Standing(info, p) for info, p in zip(chosen, progress, strict=True)]
    if not any(s.played for s in standings):
        raise NoDataError(
            f"**{escape(target.gamertag)}** has no rank in the current or recent events. "
            "Pick an older one with the `event` option."
        )
    return standings
