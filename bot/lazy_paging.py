"""A :class:`~bot.paging.Pager` whose pages are built when first shown, then kept if complete.

For pages that cost upstream requests: only the pages somebody looks at are
fetched; a complete page is fetched once and going back shows it at once, while a
page the builder reports incomplete (Halo did not answer for some of it) is built
again each time it is shown.

Presses while a page is being built are not lost: every press moves the page to
show (the target) from the latest target, and whoever builds shows the latest
target when done, building it too if needed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import discord

from bot.paging import PAGER_TIMEOUT, Pager

log = logging.getLogger(__name__)

#: Builds page ``index`` (0-based): the page, and whether it is complete (kept).
PageBuilder = Callable[[int], Awaitable[tuple[discord.Embed, bool]]]


class LazyPager(Pager):
    """``count`` pages, the first already built; the others by ``build`` on first view.
    ``first_complete=False`` has the first page built again when it is shown again."""

    def __init__(
        self,
        first: discord.Embed,
        count: int,
        build: PageBuilder,
        *,
        owner_id: int,
        timeout: float = PAGER_TIMEOUT,
        first_complete: bool = True,
    ) -> None:
        # Unbuilt pages hold the first one as a placeholder; they are never shown as such.
        super().__init__([first] * max(1, count), owner_id=owner_id, timeout=timeout)
        self._build = build
        #: Pages built completely: shown as they are.
        self._kept: set[int] = {0} if first_complete else set()
        #: The page the latest press asked for.
        self._target = 0
        #: Held while building and showing, so edits go out in press order.
        self._lock = asyncio.Lock()

    async def _turn(self, interaction: discord.Interaction, step: int) -> None:
        await self._show(interaction, self._target + step)

    async def _show(self, interaction: discord.Interaction, index: int) -> None:
        self._target = min(max(index, 0), len(self.pages) - 1)
        try:
            if self._target in self._kept and not self._lock.locked():
                async with self._lock:
                    await super()._show(interaction, self._target)
                return
            # Building may take longer than Discord's three seconds: acknowledge first.
            await interaction.response.defer()
            async with self._lock:
                shown = self.index
                self.index = await self._latest()
                self._sync()
                try:
                    await interaction.edit_original_response(embed=self.current, view=self)
                except BaseException:
                    self.index = shown
                    self._sync()
                    raise
                self.interaction = interaction
        except BaseException:
            self._target = self.index  # the next press counts from the page on screen
            raise

    async def _latest(self) -> int:
        """Build until the latest target is ready (presses may move it meanwhile)."""
        built: set[int] = set()
        while (target := self._target) not in self._kept and target not in built:
            page, complete = await self._build(target)
            self.pages[target] = page
            built.add(target)
            if complete:
                self._kept.add(target)
        return target
