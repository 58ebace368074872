"""Known ranked playlists (README "Ranked CSR").

More ranked playlists can be discovered at run time from a service record's
``Subqueries.PlaylistAssetIds`` and each playlist asset's ``HasCsr``; this table
is the starting set and the display names for the well-known ones.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Final

RANKED_ARENA: Final = "edfef3ac-9cbe-4fa2-b949-8f29deafd483"
RANKED_SLAYER: Final = "dcb2e24e-05fb-4390-8076-32a0cdb4326e"
RANKED_DOUBLES: Final = "fa5aa2a3-2428-4912-a023-e1eeea7b877c"
RANKED_FFA: Final = "71734db4-4b8e-4682-9206-62b6eff92582"

#: Playlist asset id (lower case) -> display name, in display order.
RANKED_PLAYLISTS: Final = MappingProxyType(
    {
        RANKED_ARENA: "Ranked Arena",
        RANKED_SLAYER: "Ranked Slayer",
        RANKED_DOUBLES: "Ranked Doubles",
        RANKED_FFA: "Ranked FFA",
    }
)


def ranked_playlist_name(playlist_id: str) -> str | None:
    """The display name of a known ranked playlist (ids compare case-insensitively)."""
    return RANKED_PLAYLISTS.get(playlist_id.strip().lower())


def is_known_ranked(playlist_id: str) -> bool:
    """True when ``playlist_id`` is one of :data:`RANKED_PLAYLISTS`."""
    return ranked_playlist_name(playlist_id) is not None
