"""/link, /unlink and /whois, and the Verify button of /link (Discord glue; the work is
in :mod:`bot.features.accounts.service`)."""

from __future__ import annotations

import logging
import re
from typing import Any, ClassVar, Self

import discord
from discord import app_commands
from discord.ext import commands

from bot.common.errors import UserFacingError
from bot.core.bot import HaloBot
from bot.core.embeds import error_embed
from bot.features.accounts.embeds import (
    link_embed,
    not_yours_embed,
    unlink_embed,
    verify_embed,
    whois_embed,
)
from bot.features.accounts.membership import DiscordMembership
from bot.features.accounts.service import AccountsService
from bot.features.announcements.service import rank_role_service

log = logging.getLogger(__name__)

Interaction = discord.Interaction[HaloBot]
#: ``verify-link:<discord user id>:<xuid>``: all the button needs, so it keeps working
#: after a restart (the code itself is in the database).
VERIFY_TEMPLATE = re.compile(r"verify-link:(?P<user_id>[0-9]{1,20}):(?P<xuid>[0-9]{1,20})")


class VerifyButton(
    discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]], template=VERIFY_TEMPLATE
):
    """The Verify button under /link's reply; only the member who linked may press it."""

    accounts: ClassVar[AccountsService | None] = None

    def __init__(self, user_id: int, xuid: str) -> None:
        super().__init__(
            discord.ui.Button(
                label="Verify",
                style=discord.ButtonStyle.success,
                custom_id=f"verify-link:{user_id}:{xuid}",
            )
        )
        self.user_id = user_id
        self.xuid = xuid

    @classmethod
    async def from_custom_id(
        cls, interaction: Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> Self:
        return cls(int(match["user_id"]), match["xuid"])

    async def callback(self, interaction: Interaction) -> None:  # type: ignore[override]
        if interaction.user.id != self.user_id:
            await interaction.response.send_message(embed=not_yours_embed(), ephemeral=True)
            return
        service = self.accounts
        assert service is not None, "VerifyButton used without a bound service"
        try:
            await interaction.client.limits.check(interaction.guild_id, interaction.user.id)
            await interaction.response.defer(thinking=True, ephemeral=True)
            outcome = await service.verify(self.user_id, self.xuid)
        except UserFacingError as exc:
            embed = error_embed(exc)
            if interaction.response.is_done():
                await interaction.followup.send(embed=embed, ephemeral=True)
            else:
                await interaction.response.send_message(embed=embed, ephemeral=True)
            return
        await interaction.followup.send(embed=verify_embed(outcome), ephemeral=True)


def bind_verify_button(service: AccountsService) -> type[VerifyButton]:
    """A :class:`VerifyButton` class that answers with ``service`` (one per bot)."""

    class BoundVerifyButton(VerifyButton, template=VERIFY_TEMPLATE):
        accounts = service

    return BoundVerifyButton


class Accounts(commands.Cog):
    """Account linking, so members can leave ``player`` empty."""

    def __init__(self, service: AccountsService, button: type[VerifyButton]) -> None:
        self.service = service
        self.button = button

    @app_commands.command(
        name="link", description="Link your Halo gamertag to your Discord account."
    )
    @app_commands.describe(gamertag="Your gamertag (modern ones with their #1234) or your XUID")
    async def link(
        self, interaction: Interaction, gamertag: app_commands.Range[str, 1, 100]
    ) -> None:
        await interaction.client.limits.check(interaction.guild_id, interaction.user.id)
        await interaction.response.defer(thinking=True, ephemeral=True)
        outcome = await self.service.link(interaction.user.id, interaction.guild_id, gamertag)
        view = discord.ui.View(timeout=None)
        if outcome.code is not None:
            view.add_item(self.button(interaction.user.id, outcome.player.xuid))
        await interaction.followup.send(embed=link_embed(outcome), view=view, ephemeral=True)

    @app_commands.command(name="unlink", description="Remove the link to your Halo account.")
    @app_commands.describe(
        forget="Also delete everything stored about you: lookups, rank history, rank roles"
    )
    async def unlink(self, interaction: Interaction, forget: bool = False) -> None:
        await interaction.response.defer(thinking=True, ephemeral=True)
        outcome = await self.service.unlink(interaction.user.id, forget=forget)
        await interaction.followup.send(embed=unlink_embed(outcome), ephemeral=True)

    @app_commands.command(name="whois", description="Show the Halo account a member linked.")
    @app_commands.describe(member="The member (default: you)")
    async def whois(self, interaction: Interaction, member: discord.User | None = None) -> None:
        target = member or interaction.user
        # Discord sends a Member only for someone in the server the command runs in.
        in_guild = (
            isinstance(target, discord.Member)
            and interaction.guild_id is not None
            and target.guild.id == interaction.guild_id
        )
        outcome = await self.service.whois(
            target.id,
            caller_id=interaction.user.id,
            guild_id=interaction.guild_id,
            target_in_guild=in_guild,
        )
        await interaction.response.send_message(
            embed=whois_embed(outcome, target.display_name), ephemeral=not in_guild
        )


async def setup(bot: HaloBot) -> None:
    service = AccountsService(bot.db, bot.resolver, bot.halo, rank_role_service(bot))
    button = bind_verify_button(service)
    bot.add_dynamic_items(button)
    bot.resolver.use_membership(DiscordMembership(bot))
    bot.resolver.use_guild_check(lambda guild_id: bot.get_guild(guild_id) is not None)
    await bot.add_cog(Accounts(service, button))
