"""Pages of embeds behind Previous / Next buttons, for the member who asked.

:class:`Pager` holds pages built up front; :class:`LazyPager` builds each page when first
shown. Only the pages somebody looks at are
fetched; a complete page is fetched once and going back shows it at once, while a
page the builder reports incomplete (Halo did not answer for some of it) is built
again each time it is shown.

Presses while a page is being built are not lost: every press moves the page to
show (the target) from the latest target, and whoever builds shows the latest
target when done, building it too if needed.

A press that has a page built (it reaches Halo) counts against the presser's and the
server's :class:`~bot.core.limits.CommandLimits` like a command; a refused press is told
the wait privately and changes nothing. Presses that show a kept page cost nothing.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING

import discord

from bot.core import embeds
from bot.core.tree import describe

if TYPE_CHECKING:
    from bot.core.limits import CommandLimits

log = logging.getLogger(__name__)

#: Seconds after the last press when the buttons are disabled.
PAGER_TIMEOUT = 300.0


class Pager(discord.ui.View):
    """``pages`` shown one at a time; only ``owner_id`` may turn them (others are told
    to run the command themselves), and the buttons go grey after :data:`PAGER_TIMEOUT`.
    A press that fails is told to the presser (:meth:`on_error`)."""

    def __init__(
        self,
        pages: Sequence[discord.Embed],
        *,
        owner_id: int,
        start: int = 0,
        timeout: float = PAGER_TIMEOUT,
    ) -> None:
        super().__init__(timeout=timeout)
        if not pages:
            raise ValueError("a pager needs at least one page")
        self.pages = list(pages)
        self.owner_id = owner_id
        self.index = min(max(start, 0), len(self.pages) - 1)
        self.message: discord.Message | discord.WebhookMessage | None = None
        #: The newest interaction that showed these pages (the command, then each press):
        #: its token edits the message when the buttons are disabled. A token lives 15
        #: minutes, longer than any timeout from the last press.
        self.interaction: discord.Interaction | None = None
        self._sync()

    @property
    def current(self) -> discord.Embed:
        return self.pages[self.index]

    def _sync(self) -> None:
        self.previous.disabled = self.index == 0
        self.next.disabled = self.index >= len(self.pages) - 1
        self.position.label = f"{self.index + 1} / {len(self.pages)}"

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        if interaction.user.id == self.owner_id:
            return True
        await interaction.response.send_message(
            "These pages belong to whoever ran the command: run it yourself to browse.",
            ephemeral=True,
        )
        return False

    async def send(self, interaction: discord.Interaction) -> None:
        """Answer ``interaction`` with the current page and the buttons."""
        self.interaction = interaction
        if interaction.response.is_done():
            await interaction.followup.send(embed=self.current, view=self)
        else:
            await interaction.response.send_message(embed=self.current, view=self)

    async def _turn(self, interaction: discord.Interaction, step: int) -> None:
        """Show the page ``step`` pages after (``-1``: before) the current one."""
        await self._show(interaction, self.index + step)

    async def _show(self, interaction: discord.Interaction, index: int) -> None:
        shown = self.index
        self.index = min(max(index, 0), len(self.pages) - 1)
        self._sync()
        try:
            await interaction.response.edit_message(embed=self.current, view=self)
        except BaseException:
            self.index = shown  # not shown: the next press counts from the page on screen
            self._sync()
            raise
        self.interaction = interaction

    @discord.ui.button(label="Previous", style=discord.ButtonStyle.secondary, custom_id="page:prev")
    async def previous(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        await self._turn(interaction, -1)

    @discord.ui.button(label="1 / 1", style=discord.ButtonStyle.secondary, disabled=True)
    async def position(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        await interaction.response.defer()  # never enabled: shows where we are

    @discord.ui.button(label="Next", style=discord.ButtonStyle.secondary, custom_id="page:next")
    async def next(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        await self._turn(interaction, 1)

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

    async def on_timeout(self) -> None:
        for item in self.children:
            if isinstance(item, discord.ui.Button):
                item.disabled = True
        try:
            if self.interaction is not None:
                await self.interaction.edit_original_response(view=self)
            elif self.message is not None:
                await self.message.edit(view=self)
        except discord.HTTPException as exc:
            log.debug("Could not disable the page buttons: %s", exc)


#: Builds page ``index`` (0-based): the page, and whether it is complete (kept).
PageBuilder = Callable[[int], Awaitable[tuple[discord.Embed, bool]]]


class LazyPager(Pager):
    """``count`` pages, the first already built; the others by ``build`` on first view.
    ``first_complete=False`` has the first page built again when it is shown again.
    ``limits``: a press that builds a page counts as a command against them."""

    def __init__(
        self,
        first: discord.Embed,
        count: int,
        build: PageBuilder,
        *,
        owner_id: int,
        limits: CommandLimits | None = None,
        timeout: float = PAGER_TIMEOUT,
        first_complete: bool = True,
    ) -> None:
        # Unbuilt pages hold the first one as a placeholder; they are never shown as such.
        super().__init__([first] * max(1, count), owner_id=owner_id, timeout=timeout)
        self._build = build
        self._limits = limits
        #: Pages built completely: shown as they are.
        self._kept: set[int] = {0} if first_complete else set()
        #: The page the latest press asked for.
        self._target = 0
        #: Held while building and showing, so edits go out in press order.
        self._lock = asyncio.Lock()

    async def _turn(self, interaction: discord.Interaction, step: int) -> None:
        await self._show(interaction, self._target + step)

    async def _show(self, interaction: discord.Interaction, index: int) -> None:
        wanted = min(max(index, 0), len(self.pages) - 1)
        if wanted not in self._kept and self._limits is not None:
            # Raises RateLimitedError before the target moves: on_error tells the presser.
            await self._limits.check(interaction.guild_id, interaction.user.id)
        self._target = wanted
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
