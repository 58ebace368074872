"""What a command sends back: built by a feature's service, sent by its cog."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import discord

from bot.core.paging import Pager


@dataclass
class Reply:
    """One message: an embed, with buttons (``view``, a :class:`Pager` for pages) or an
    attached ``file`` when the command has them."""

    embed: discord.Embed
    view: discord.ui.View | None = None
    file: discord.File | None = None

    async def send(self, interaction: discord.Interaction[Any]) -> None:
        """Answer ``interaction`` (deferred or not) with this message."""
        if isinstance(self.view, Pager):
            await self.view.send(interaction)
            return
        kwargs: dict[str, Any] = {"embed": self.embed}
        if self.view is not None:
            kwargs["view"] = self.view
        if self.file is not None:
            kwargs["file"] = self.file
        if interaction.response.is_done():
            await interaction.followup.send(**kwargs)
        else:
            await interaction.response.send_message(**kwargs)
