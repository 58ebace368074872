"""Pages of embeds behind Previous / Next buttons, for the member who asked."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Sequence

import discord

from bot import embeds
from bot.tree import describe

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
