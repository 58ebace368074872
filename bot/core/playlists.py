"""The ``playlist`` option: the known ranked playlists, suggestions as members type, and
resolving what they typed (a name, a short name like ``arena``, or any ranked playlist id)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.common.errors import NoDataError, UserFacingError
from bot.common.text import escape
from bot.halo.playlists import RANKED_PLAYLISTS

if TYPE_CHECKING:
    from bot.halo.client import HaloClient

GUID_RE = re.compile(r"^[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
MAX_SUGGESTIONS = 25


class UnknownPlaylistError(UserFacingError):
    """``playlist`` names no ranked playlist."""

    title = "Unknown playlist"


@dataclass(frozen=True)
class RankedPlaylist:
    playlist_id: str
    name: str

    @property
    def short_name(self) -> str:
        """``Arena`` for ``Ranked Arena``."""
        return self.name.removeprefix("Ranked ").strip() or self.name


KNOWN_PLAYLISTS: tuple[RankedPlaylist, ...] = tuple(
    RankedPlaylist(pid, name) for pid, name in RANKED_PLAYLISTS.items()
)


def suggest_playlists(text: str) -> list[RankedPlaylist]:
    """Known ranked playlists whose name contains ``text``."""
    wanted = text.strip().casefold()
    return [p for p in KNOWN_PLAYLISTS if wanted in p.name.casefold()][:MAX_SUGGESTIONS]


def known_playlist(text: str) -> RankedPlaylist | None:
    """The known ranked playlist with this id, name or short name (``arena``)."""
    wanted = text.strip().casefold()
    for playlist in KNOWN_PLAYLISTS:
        if wanted in (
            playlist.playlist_id,
            playlist.name.casefold(),
            playlist.short_name.casefold(),
        ):
            return playlist
    return None


def known_playlist_or_default(text: str | None) -> RankedPlaylist:
    """The known ranked playlist ``text`` names; Ranked Arena when empty."""
    if text is None or not text.strip():
        return KNOWN_PLAYLISTS[0]
    found = known_playlist(text)
    if found is None:
        raise UnknownPlaylistError(
            f"No ranked playlist is called **{escape(text.strip()[:100])}**. "
            "Pick one from the list as you type."
        )
    return found


async def resolve_playlist(halo: HaloClient, text: str) -> RankedPlaylist:
    """A known playlist by name or id; any other playlist id if Halo says it reports CSR."""
    known = known_playlist(text)
    if known is not None:
        return known
    cleaned = text.strip()
    if not GUID_RE.fullmatch(cleaned):
        raise UnknownPlaylistError(
            f"No ranked playlist is called **{escape(cleaned[:100])}**. "
            "Pick one from the list as you type, or give a playlist id."
        )
    try:
        asset = await halo.get_playlist(cleaned.lower())
    except NoDataError:
        raise UnknownPlaylistError(
            f"Halo has no playlist with the id `{cleaned.lower()}`."
        ) from None
    name = asset.public_name.strip() or f"Playlist {cleaned[:8]}"
    if not asset.is_ranked:
        raise UnknownPlaylistError(f"**{escape(name)}** is not ranked: it has no CSR.")
    return RankedPlaylist(cleaned.lower(), name)
