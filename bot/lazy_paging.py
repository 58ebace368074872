"""A :class:`~bot.paging.Pager` whose pages are built when first shown, then kept.

For pages that cost upstream requests: only the pages somebody looks at are
fetched, each once; going back shows the kept page at once.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable

import discord

from bot import embeds
from bot.paging import PAGER_TIMEOUT, Pager
from bot.tree import describe

log = logging.getLogger(__name__)

#: Builds page ``index`` (0-based).
PageBuilder = Callable[[int], Awaitable[discord.Embed]]


class LazyPager(Pager):
    """``count`` pages, the first already built; the others by ``build`` on first view."""

    def __init__(
        self,
        first: discord.Embed,
        count: int,
        build: PageBuilder,
        *,
        owner_id: int,
        timeout: float = PAGER_TIMEOUT,
    ) -> None:
        # Unbuilt pages hold the first one as a placeholder; they are never shown as such.
        super().__init__([first] * max(1, count), owner_id=owner_id, timeout=timeout)
        self._build = build
        self._built: set[int] = {0}
        self._lock = asyncio.Lock()

    async def _show(self, interaction: discord.Interaction, index: int) -> None:
        index = min(max(index, 0), len(self.pages) - 1)
        if index in self._built:
            await super()._show(interaction, index)
            return
        # Fetching may take longer than Discord's three seconds: acknowledge first.
        await interaction.response.defer()
        async with self._lock:
            if index not in self._built:
                self.pages[index] = await self._build(index)
                self._built.add(index)
        self.index = index
        self._sync()
        self.interaction = interaction
        await interaction.edit_original_response(embed=self.current, view=self)

    async def on_error(
        self, interaction: discord.Interaction, error: Exception, item: discord.ui.Item
    ) -> None:
        """A failed press is told to the presser only; the pages stay as they were."""
        known = describe(error)
        if known is not None:
            embed = embeds.error_embed(known)
        else:
            error_id = secrets.token_hex(4)
            log.error("Unexpected error %s turning a page", error_id, exc_info=error)
            embed = embeds.unexpected_error_embed(error_id)
        none = discord.AllowedMentions.none()
        try:
            if interaction.response.is_done():
                await interaction.followup.send(embed=embed, ephemeral=True, allowed_mentions=none)
            else:
                await interaction.response.send_message(
                    embed=embed, ephemeral=True, allowed_mentions=none
                )
        except discord.HTTPException as exc:
            log.warning("Could not report a paging error: %s", exc)
