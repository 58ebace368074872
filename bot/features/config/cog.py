"""/config: a server's rank-announcement settings (Discord glue; the work is in
:mod:`bot.features.config.service`).

Only members with Manage Server (the commands' default permission, checked again
at run time) or the server's chosen admin role may use it. Every answer is
private; every setting belongs to the server it was run in.
"""

from __future__ import annotations

import logging

import discord
from discord import app_commands
from discord.ext import commands

from bot.common.errors import PermissionDeniedError
from bot.core.bot import HaloBot
from bot.features.announcements.service import rank_role_service
from bot.features.config.embeds import Notice, notice_embed, overview_embed
from bot.features.config.service import RANK_ROLE_TIERS, ConfigService, RankRolesRequest
from bot.halo.playlists import RANKED_PLAYLISTS, ranked_playlist_name

log = logging.getLogger(__name__)

TIER_CHOICES = [app_commands.Choice(name=tier, value=tier) for tier in RANK_ROLE_TIERS]
RANKED_PLAYLIST_CHOICES = [
    app_commands.Choice(name=ranked_playlist_name(p) or p, value=p) for p in RANKED_PLAYLISTS
]
Interaction = discord.Interaction[HaloBot]


class AdminOnlyError(app_commands.CheckFailure, PermissionDeniedError):
    """A /config check failed; the tree shows ``message`` to the member only."""

    def __init__(self, message: str) -> None:
        app_commands.CheckFailure.__init__(self, message)
        PermissionDeniedError.__init__(self, message)


def _can_manage(interaction: Interaction) -> bool:
    perms = interaction.permissions
    return perms.manage_guild or perms.administrator


def _guild_id(interaction: Interaction) -> int:
    if interaction.guild_id is None:  # interaction_check already refused DMs
        raise AdminOnlyError("This command only works inside a server.")
    return interaction.guild_id


async def _reply(interaction: Interaction, answer: Notice) -> None:
    await interaction.response.send_message(embed=notice_embed(answer), ephemeral=True)


class AdminConfig(commands.Cog):
    """Per-server configuration of rank announcements."""

    config = app_commands.Group(
        name="config",
        description="Set up rank-change announcements for this server.",
        guild_only=True,
        default_permissions=discord.Permissions(manage_guild=True),
    )

    def __init__(self, service: ConfigService) -> None:
        self.service = service

    async def interaction_check(self, interaction: Interaction) -> bool:  # type: ignore[override]
        """Manage Server, or the admin role this server chose; raises otherwise."""
        if interaction.guild_id is None:
            raise AdminOnlyError("This command only works inside a server.")
        if _can_manage(interaction):
            return True
        role_id = await self.service.admin_role(interaction.guild_id)
        member = interaction.user
        if (
            role_id is not None
            and isinstance(member, discord.Member)
            and member.get_role(role_id) is not None
        ):
            return True
        log.info(
            "Refused /config for user %s in guild %s", interaction.user.id, interaction.guild_id
        )
        extra = f" or the <@&{role_id}> role" if role_id is not None else ""
        raise AdminOnlyError(
            f"You need the Manage Server permission{extra} to change this server's "
            "announcement settings. Nothing was changed."
        )

    @config.command(
        name="announce-channel",
        description="Choose the channel for rank announcements (empty: stop announcing).",
    )
    @app_commands.describe(channel="Where to post rank changes; leave empty to turn them off")
    async def announce_channel(
        self, interaction: Interaction, channel: discord.TextChannel | None = None
    ) -> None:
        answer = await self.service.set_announce_channel(_guild_id(interaction), channel)
        await _reply(interaction, answer)

    @config.command(name="playlists", description="Choose which ranked playlists are announced.")
    @app_commands.describe(
        arena="Announce Ranked Arena",
        slayer="Announce Ranked Slayer",
        doubles="Announce Ranked Doubles",
        ffa="Announce Ranked FFA",
    )
    async def playlists(
        self,
        interaction: Interaction,
        arena: bool | None = None,
        slayer: bool | None = None,
        doubles: bool | None = None,
        ffa: bool | None = None,
    ) -> None:
        chosen = {"arena": arena, "slayer": slayer, "doubles": doubles, "ffa": ffa}
        await _reply(interaction, await self.service.set_playlists(_guild_id(interaction), chosen))

    @config.command(name="triggers", description="Choose which rank changes are announced.")
    @app_commands.describe(
        tier_change="Tier changes, e.g. Gold -> Platinum",
        subtier_change="Every sub-tier change, e.g. Gold 2 -> Gold 3 (tier changes included)",
        placement="A member finishing their placement matches",
        season_high="A new season high CSR",
    )
    async def triggers(
        self,
        interaction: Interaction,
        tier_change: bool | None = None,
        subtier_change: bool | None = None,
        placement: bool | None = None,
        season_high: bool | None = None,
    ) -> None:
        chosen = {
            "tier_change": tier_change,
            "subtier_change": subtier_change,
            "placement": placement,
            "season_high": season_high,
        }
        await _reply(interaction, await self.service.set_triggers(_guild_id(interaction), chosen))

    @config.command(name="track", description="Follow a member's rank for announcements.")
    @app_commands.describe(member="A member who linked their Halo account with /link")
    async def track(self, interaction: Interaction, member: discord.User) -> None:
        await _reply(interaction, await self.service.track(_guild_id(interaction), member))

    @config.command(name="untrack", description="Stop following a member's rank here.")
    @app_commands.describe(member="The member to stop following")
    async def untrack(self, interaction: Interaction, member: discord.User) -> None:
        await _reply(interaction, await self.service.untrack(_guild_id(interaction), member))

    @config.command(
        name="link", description="Link a member's Halo account as verified for this server."
    )
    @app_commands.describe(
        member="The member (checked in person: they own the account)",
        gamertag="Their gamertag (with its #1234 if it has one) or XUID",
    )
    async def link(
        self,
        interaction: Interaction,
        member: discord.Member,
        gamertag: app_commands.Range[str, 1, 100],
    ) -> None:
        guild_id = _guild_id(interaction)
        await interaction.client.limits.check(guild_id, interaction.user.id)
        await interaction.response.defer(thinking=True, ephemeral=True)
        guild = interaction.guild
        is_owner = guild is not None and guild.owner_id == interaction.user.id
        answer = await self.service.link_member(
            guild_id,
            member,
            gamertag,
            admin_id=interaction.user.id,
            may_vouch_for_self=is_owner or interaction.permissions.administrator,
        )
        await interaction.followup.send(embed=notice_embed(answer), ephemeral=True)

    @config.command(
        name="require-verified",
        description="Count only verified links for announcements, rank roles, leaderboard.",
    )
    @app_commands.describe(enabled="True (default): only verified links count here")
    async def require_verified(self, interaction: Interaction, enabled: bool | None = None) -> None:
        answer = await self.service.require_verified(_guild_id(interaction), enabled)
        await _reply(interaction, answer)

    @config.command(name="admin-role", description="Let a role use /config (empty: clear it).")
    @app_commands.describe(role="Members with this role may use /config; leave empty to clear")
    async def admin_role(self, interaction: Interaction, role: discord.Role | None = None) -> None:
        guild_id = _guild_id(interaction)
        if not _can_manage(interaction):
            raise AdminOnlyError(
                "Only members with the Manage Server permission can change the admin role. "
                "Nothing was changed."
            )
        await _reply(interaction, await self.service.set_admin_role(guild_id, role))

    @config.command(
        name="rank-roles",
        description="Give tracked members a role for their CSR tier (no options: show them).",
    )
    @app_commands.describe(
        tier="The tier to map, Bronze to Onyx",
        role="The role for that tier; leave empty to unmap the tier",
        playlist="Whose tier counts (default Ranked Arena)",
        clear_all="Unmap every tier; the rank roles I gave are taken back",
        resync="Give every tracked member their rank role again (after roles were changed by hand)",
    )
    @app_commands.choices(tier=TIER_CHOICES, playlist=RANKED_PLAYLIST_CHOICES)
    async def rank_roles(
        self,
        interaction: Interaction,
        tier: app_commands.Choice[str] | None = None,
        role: discord.Role | None = None,
        playlist: app_commands.Choice[str] | None = None,
        clear_all: bool = False,
        resync: bool = False,
    ) -> None:
        request = RankRolesRequest(
            tier=tier.value if tier is not None else None,
            role=role,
            playlist=playlist.value if playlist is not None else None,
            clear_all=clear_all,
            resync=resync,
        )
        answer = await self.service.rank_roles_command(
            _guild_id(interaction), interaction.guild, interaction.user, request
        )
        await _reply(interaction, answer)

    @config.command(name="show", description="Show this server's announcement settings.")
    async def show(self, interaction: Interaction) -> None:
        overview = await self.service.overview(_guild_id(interaction), interaction.guild)
        await interaction.response.send_message(embed=overview_embed(overview), ephemeral=True)

    @config.command(name="reset", description="Put this server's announcement settings back.")
    async def reset(self, interaction: Interaction) -> None:
        await _reply(interaction, await self.service.reset(_guild_id(interaction)))


async def setup(bot: HaloBot) -> None:
    service = ConfigService(bot.db, bot.resolver, rank_role_service(bot))
    await bot.add_cog(AdminConfig(service))
