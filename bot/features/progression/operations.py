"""``/operation``: which Operation to show for a player, their standing on it, and the other
Operations they own."""

from __future__ import annotations

from dataclasses import dataclass

from bot.common.errors import NoDataError, PlayerNotFoundError, UserFacingError
from bot.common.text import escape
from bot.core.aio import gather_all, gather_pair
from bot.core.resolver import Player
from bot.features.progression.catalogue import Catalogue, CatalogueService, TrackInfo
from bot.features.progression.standing import Standing
from bot.halo.client import HaloClient
from bot.halo.models import PlayerOperations, PlayerRewardTrack


class UnknownOperationError(UserFacingError):
    """``operation`` names no Operation the bot knows."""

    title = "Unknown Operation"


@dataclass(frozen=True)
class OperationView:
    """What ``/operation`` shows: the chosen Operation, whether it is the active one, and
    the other Operations owned (catalogue order)."""

    standing: Standing
    active: bool
    others: list[Standing]


async def operation_view(
    halo: HaloClient, catalogue_service: CatalogueService, target: Player, text: str | None
) -> OperationView:
    """The Operation ``text`` names (default: the player's current one) and the others owned."""
    catalogue, operations = await gather_pair(
        catalogue_service.get(), halo.get_player_operations(target.xuid)
    )
    if text is not None and text.strip():
        standing, active = await _chosen(
            halo, catalogue_service, catalogue, operations, target, text
        )
    else:
        standing, active = await _current(catalogue_service, catalogue, operations, target)
    owned = [
        t
        for t in operations.operation_reward_tracks
        if (t.is_owned or t.current_progress.is_owned)
        and t.track_id.casefold() != standing.info.track_id.casefold()
    ]
    infos = await gather_all(
        *(catalogue_service.track_info(catalogue, "operation", t.track_id) for t in owned)
    )
    others = [Standing(info, t) for info, t in zip(infos, owned, strict=True)]
    others.sort(key=lambda s: catalogue_order(catalogue, s.info))
    return OperationView(standing, active, others)


async def _current(
    catalogue_service: CatalogueService,
    catalogue: Catalogue,
    operations: PlayerOperations,
    target: Player,
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
            owned.sort(key=lambda t: catalogue_order(catalogue, infos[t.track_id]))
            track = owned[0]
    if track is None:
        raise NoDataError(
            f"**{escape(target.gamertag)}** has no Operations: they own none and have none active."
        )
    info = await catalogue_service.track_info(catalogue, "operation", track.track_id)
    return Standing(info, track), active


async def _chosen(
    halo: HaloClient,
    catalogue_service: CatalogueService,
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
        info = await catalogue_service.track_info(catalogue, "operation", listed.track_id)
    track = listed
    if track is None:
        track = await _progress(halo, target, info)
    active_track = operations.active
    active = (
        active_track is not None and active_track.track_id.casefold() == info.track_id.casefold()
    )
    return Standing(info, track), active


async def _progress(halo: HaloClient, target: Player, info: TrackInfo) -> PlayerRewardTrack:
    try:
        return await halo.get_operation_progress(target.xuid, info.track_id)
    except PlayerNotFoundError:
        # The player exists (just resolved): Halo has no progress of theirs here.
        raise NoDataError(
            f"**{escape(target.gamertag)}** has no progress in {escape(info.name)}."
        ) from None


def catalogue_order(catalogue: Catalogue, info: TrackInfo | None) -> tuple[int, int]:
    """Newest first as in the catalogue; tracks it does not list come last."""
    if info is not None:
        for index, known in enumerate(catalogue.operations):
            if known.track_id.casefold() == info.track_id.casefold():
                return (0, index)
    return (1, 0)
