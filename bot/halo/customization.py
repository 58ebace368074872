"""A player's public customization (``economy``: ``/hi/players/xuid(N)/customization?view=public``).

Only the service tag is read: the 4-character tag a player shows in game and can change
at any time, which the bot uses to let a member prove they own a Halo account. Every
other key (armor cores, weapon cores, emblem, ...) is ignored.
"""

from __future__ import annotations

from pydantic import Field

from bot.halo.models import HaloModel, OrDefault, Text


class Appearance(HaloModel):
    """``Appearance``: only the service tag is kept."""

    service_tag: Text = ""


class PlayerCustomization(HaloModel):
    """``GET economy /hi/players/xuid(N)/customization?view=public``."""

    appearance: OrDefault[Appearance] = Field(default_factory=Appearance)

    @property
    def service_tag(self) -> str:
        """The tag as the player set it, without surrounding spaces ("" when none)."""
        return self.appearance.service_tag.strip()

    def has_service_tag(self, tag: str) -> bool:
        """Whether the player's service tag is ``tag`` (letter case does not matter)."""
        return bool(tag) and self.service_tag.casefold() == tag.strip().casefold()
