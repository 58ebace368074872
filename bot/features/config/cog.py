"""/config: a server's rank-announcement settings.

Only members with Manage Server (the commands' default permission, checked again
at run time) or the server's chosen admin role may use it. Every answer is
private; every setting belongs to the server it was run in.
"""

from __future__ import annotations

import logging

import discord
from discord import app_commands
from discord.ext import commands

from bot.common.errors import (
    BotPermissionError,
    InvalidOptionError,
    NotLinkedError,
    PermissionDeniedError,
)
from bot.common.text import escape, plural
from bot.core.bot import HaloBot
from bot.core.embeds import COLOUR_INFO, COLOUR_OK, COLOUR_WARNING, SafeEmbed
from bot.core.lookup import bot_of
from bot.features.announcements.changes import enabled_playlists
from bot.features.announcements.delivery import (
    channel_problem,
    join_names,
    missing_permissions,
    missing_text,
)
from bot.features.announcements.roles import (
    check_guild,
    manage_roles_problem,
    playlist_label,
    role_problem,
)
from bot.halo.playlists import (
    RANKED_ARENA,
    RANKED_DOUBLES,
    RANKED_FFA,
    RANKED_PLAYLISTS,
    RANKED_SLAYER,
    ranked_playlist_name,
)
from bot.storage import RANK_ROLE_TIERS, AccountNotLinkedError, GuildSettings

log = logging.getLogger(__name__)

MAX_LISTED_MEMBERS = 20
TIER_CHOICES = [app_commands.Choice(name=tier, value=tier) for tier in RANK_ROLE_TIERS]
RANKED_PLAYLIST_CHOICES = [
    app_commands.Choice(name=ranked_playlist_name(p) or p, value=p) for p in RANKED_PLAYLISTS
]
TRIGGER_NAMES: tuple[tuple[str, str], ...] = (
    ("trigger_tier_change", "Tier changes (e.g. Gold → Platinum)"),
    ("trigger_subtier_change", "Every sub-tier change (e.g. Gold 2 → Gold 3)"),
    ("trigger_placement", "Placement finished"),
    ("trigger_season_high", "New season high"),
)


class AdminOnlyError(app_commands.CheckFailure, PermissionDeniedError):
    """A /config check failed; the tree shows ``message`` to the member only."""

    def __init__(self, message: str) -> None:
        app_commands.CheckFailure.__init__(self, message)
        PermissionDeniedError.__init__(self, message)


def _on_off(value: bool) -> str:
    return "on" if value else "off"


def _playlist_names(settings: GuildSettings) -> str:
    names = [ranked_playlist_name(p) or p for p in enabled_playlists(settings)]
    return ", ".join(names) if names else "None (nothing is announced)"


def _triggers_text(settings: GuildSettings) -> str:
    return "\n".join(
        f"{label}: **{_on_off(getattr(settings, attr))}**" for attr, label in TRIGGER_NAMES
    )


def _rank_roles_text(mapping: dict[str, int], settings: GuildSettings) -> str:
    if not mapping:
        return "None: map tiers to roles with `/config rank-roles`."
    lines = [f"{tier}: <@&{role_id}>" for tier, role_id in mapping.items()]
    lines.append(f"Tier from: {playlist_label(settings.rank_role_playlist)}")
    return "\n".join(lines)


def _can_manage(interaction: discord.Interaction) -> bool:
    perms = interaction.permissions
    return perms.manage_guild or perms.administrator


class AdminConfig(commands.Cog):
    """Per-server configuration of rank announcements."""

    config = app_commands.Group(
        name="config",
        description="Set up rank-change announcements for this server.",
        guild_only=True,
        default_permissions=discord.Permissions(manage_guild=True),
    )

    def __init__(self, bot: HaloBot) -> None:
        self.bot = bot

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        """Manage Server, or the admin role this server chose; raises otherwise."""
        if interaction.guild_id is None:
            raise AdminOnlyError("This command only works inside a server.")
        if _can_manage(interaction):
            return True
        settings = await bot_of(interaction).db.guilds.get(interaction.guild_id)
        member = interaction.user
        role_id = settings.admin_role_id
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

    # ---------------------------------------------------------------- helpers

    @staticmethod
    def _guild_id(interaction: discord.Interaction) -> int:
        if interaction.guild_id is None:  # interaction_check already refused DMs
            raise AdminOnlyError("This command only works inside a server.")
        return interaction.guild_id

    @staticmethod
    async def _reply(
        interaction: discord.Interaction, title: str, lines: list[str], colour: int = COLOUR_OK
    ) -> None:
        embed = SafeEmbed(title=title, description="\n".join(lines), colour=colour)
        await interaction.response.send_message(embed=embed, ephemeral=True)

    def _sync_roles_soon(self, guild_id: int, *, reapply: bool = False) -> None:
        """Bring the server's rank roles in step now, in the background."""
        announcements = self.bot.get_cog("RankAnnouncements")
        sync = getattr(announcements, "sync_roles_soon", None)
        if sync is not None:
            sync(guild_id, reapply=reapply)

    # ---------------------------------------------------------------- commands

    @config.command(
        name="announce-channel",
        description="Choose the channel for rank announcements (empty: stop announcing).",
    )
    @app_commands.describe(channel="Where to post rank changes; leave empty to turn them off")
    async def announce_channel(
        self, interaction: discord.Interaction, channel: discord.TextChannel | None = None
    ) -> None:
        guild_id = self._guild_id(interaction)
        db = bot_of(interaction).db
        if channel is None:
            await db.guilds.update(guild_id, announce_channel_id=None, channel_problem=None)
            log.info("Guild %s turned announcements off", guild_id)
            await self._reply(
                interaction,
                "Announcements off",
                ["Rank changes are no longer posted in this server."],
            )
            return
        me = channel.guild.me
        if me is not None:
            missing = missing_permissions(channel.permissions_for(me))
            if missing:
                raise BotPermissionError(
                    f"{missing_text(channel.mention, missing)} Give me "
                    f"{'it' if len(missing) == 1 else 'them'} there, or choose another channel. "
                    "Nothing was changed."
                )
        await db.guilds.update(guild_id, announce_channel_id=channel.id, channel_problem=None)
        log.info("Guild %s announces in channel %s", guild_id, channel.id)
        await self._reply(
            interaction,
            "Announcement channel set",
            [f"Rank changes of tracked members will be posted in {channel.mention}."],
        )

    @config.command(name="playlists", description="Choose which ranked playlists are announced.")
    @app_commands.describe(
        arena="Announce Ranked Arena",
        slayer="Announce Ranked Slayer",
        doubles="Announce Ranked Doubles",
        ffa="Announce Ranked FFA",
    )
    async def playlists(
        self,
        interaction: discord.Interaction,
        arena: bool | None = None,
        slayer: bool | None = None,
        doubles: bool | None = None,
        ffa: bool | None = None,
    ) -> None:
        guild_id = self._guild_id(interaction)
        db = bot_of(interaction).db
        settings = await db.guilds.get(guild_id)
        chosen = {
            RANKED_ARENA: arena,
            RANKED_SLAYER: slayer,
            RANKED_DOUBLES: doubles,
            RANKED_FFA: ffa,
        }
        if all(v is None for v in chosen.values()):
            await self._reply(
                interaction,
                "Announced playlists",
                [_playlist_names(settings), "Set `arena`, `slayer`, `doubles` or `ffa` to change."],
                COLOUR_INFO,
            )
            return
        current = set(enabled_playlists(settings))
        for playlist, value in chosen.items():
            if value is True:
                current.add(playlist)
            elif value is False:
                current.discard(playlist)
        ordered = [p for p in RANKED_PLAYLISTS if p in current]
        extra = sorted(current - set(RANKED_PLAYLISTS))
        value = None if ordered == list(RANKED_PLAYLISTS) and not extra else (*ordered, *extra)
        settings = await db.guilds.update(guild_id, playlists=value)
        log.info("Guild %s playlists: %s", guild_id, value)
        lines = [f"Announced: {_playlist_names(settings)}."]
        if not enabled_playlists(settings):
            lines.append("No playlist is announced, so nothing will be posted.")
        await self._reply(interaction, "Playlists updated", lines)

    @config.command(name="triggers", description="Choose which rank changes are announced.")
    @app_commands.describe(
        tier_change="Tier changes, e.g. Gold -> Platinum",
        subtier_change="Every sub-tier change, e.g. Gold 2 -> Gold 3 (tier changes included)",
        placement="A member finishing their placement matches",
        season_high="A new season high CSR",
    )
    async def triggers(
        self,
        interaction: discord.Interaction,
        tier_change: bool | None = None,
        subtier_change: bool | None = None,
        placement: bool | None = None,
        season_high: bool | None = None,
    ) -> None:
        guild_id = self._guild_id(interaction)
        db = bot_of(interaction).db
        changes = {
            name: value
            for name, value in (
                ("trigger_tier_change", tier_change),
                ("trigger_subtier_change", subtier_change),
                ("trigger_placement", placement),
                ("trigger_season_high", season_high),
            )
            if value is not None
        }
        if not changes:
            settings = await db.guilds.get(guild_id)
            await self._reply(
                interaction, "Announced changes", [_triggers_text(settings)], COLOUR_INFO
            )
            return
        settings = await db.guilds.update(guild_id, **changes)
        log.info("Guild %s triggers: %s", guild_id, changes)
        await self._reply(interaction, "Triggers updated", [_triggers_text(settings)])

    @config.command(name="track", description="Follow a member's rank for announcements.")
    @app_commands.describe(member="A member who linked their Halo account with /link")
    async def track(self, interaction: discord.Interaction, member: discord.User) -> None:
        guild_id = self._guild_id(interaction)
        db = bot_of(interaction).db
        name = escape(member.display_name)
        try:
            added = await db.tracked.track(guild_id, member.id)
        except AccountNotLinkedError:
            raise NotLinkedError(
                f"**{name}** hasn't linked a Halo account yet: they need to run `/link` first."
            ) from None
        account = await db.accounts.get(member.id)
        gamertag = escape(account.gamertag) if account else "?"
        if added:
            log.info("Guild %s tracks user %s", guild_id, member.id)
            lines = [f"This server now follows **{name}** (**{gamertag}**)."]
        else:
            lines = [f"This server already follows **{name}** (**{gamertag}**)."]
        await self._reply(interaction, "Member tracked", lines)

    @config.command(name="untrack", description="Stop following a member's rank here.")
    @app_commands.describe(member="The member to stop following")
    async def untrack(self, interaction: discord.Interaction, member: discord.User) -> None:
        guild_id = self._guild_id(interaction)
        db = bot_of(interaction).db
        name = escape(member.display_name)
        removed = await db.tracked.untrack(guild_id, member.id)
        if removed:
            log.info("Guild %s untracked user %s", guild_id, member.id)
            self._sync_roles_soon(guild_id)
            await self._reply(
                interaction, "Member untracked", [f"This server no longer follows **{name}**."]
            )
        else:
            await self._reply(
                interaction,
                "Not tracked",
                [f"This server was not following **{name}**; nothing changed."],
                COLOUR_INFO,
            )

    @config.command(name="admin-role", description="Let a role use /config (empty: clear it).")
    @app_commands.describe(role="Members with this role may use /config; leave empty to clear")
    async def admin_role(
        self, interaction: discord.Interaction, role: discord.Role | None = None
    ) -> None:
        guild_id = self._guild_id(interaction)
        if not _can_manage(interaction):
            raise AdminOnlyError(
                "Only members with the Manage Server permission can change the admin role. "
                "Nothing was changed."
            )
        db = bot_of(interaction).db
        if role is None:
            await db.guilds.update(guild_id, admin_role_id=None)
            log.info("Guild %s cleared its admin role", guild_id)
            await self._reply(
                interaction,
                "Admin role cleared",
                ["Only members with Manage Server can use `/config` now."],
            )
            return
        if role.is_default():
            raise PermissionDeniedError(
                "@everyone can't be the admin role: choose a role that only some members have."
            )
        await db.guilds.update(guild_id, admin_role_id=role.id)
        log.info("Guild %s admin role: %s", guild_id, role.id)
        await self._reply(
            interaction,
            "Admin role set",
            [
                f"Members with {role.mention} can now use `/config`.",
                "Discord only shows `/config` to members with Manage Server by default: "
                "allow the role in Server Settings → Integrations too.",
            ],
        )

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
        interaction: discord.Interaction,
        tier: app_commands.Choice[str] | None = None,
        role: discord.Role | None = None,
        playlist: app_commands.Choice[str] | None = None,
        clear_all: bool = False,
        resync: bool = False,
    ) -> None:
        guild_id = self._guild_id(interaction)
        db = bot_of(interaction).db
        guild = interaction.guild
        if role is not None and tier is None:
            raise InvalidOptionError(
                f"Choose the `tier` that {role.mention} is for. Nothing was changed."
            )
        if clear_all and tier is not None:
            raise InvalidOptionError(
                "`clear_all` unmaps every tier: use it without `tier` and `role`. "
                "Nothing was changed."
            )
        if clear_all and resync:
            raise InvalidOptionError(
                "`clear_all` takes the rank roles back and `resync` gives them again: "
                "choose one. Nothing was changed."
            )
        if tier is not None and role is not None and guild is not None:
            problem = manage_roles_problem(guild) or role_problem(guild, role, tier.value)
            if problem is not None:
                raise BotPermissionError(f"{problem} Nothing was changed.")
        if (
            resync
            and tier is None
            and playlist is None
            and not await db.rank_roles.mapping(guild_id)
        ):
            raise InvalidOptionError(
                "No tier is mapped to a role yet, so there is nothing to give again: map one "
                "with `tier` and `role`. Nothing was changed."
            )
        if tier is None and playlist is None and not clear_all and not resync:
            settings = await db.guilds.get(guild_id)
            mapping = await db.rank_roles.mapping(guild_id)
            lines = [_rank_roles_text(mapping, settings)]
            if not mapping:
                lines.append(
                    "Set `tier` and `role` to map one, and `playlist` to choose whose tier "
                    "counts (Ranked Arena by default)."
                )
            await self._reply(interaction, "Rank roles", lines, COLOUR_INFO)
            return

        async with db.transaction() as tx:
            if clear_all:
                await db.rank_roles.clear(guild_id, tx=tx)
            if tier is not None:
                await db.rank_roles.set_role(
                    guild_id, tier.value, role.id if role is not None else None, tx=tx
                )
            if playlist is not None:
                await db.guilds.update(guild_id, rank_role_playlist=playlist.value, tx=tx)
            settings = await db.guilds.get(guild_id, tx=tx)
            mapping = await db.rank_roles.mapping(guild_id, tx=tx)
        log.info("Guild %s rank roles: %s from %s", guild_id, mapping, settings.rank_role_playlist)
        lines = [_rank_roles_text(mapping, settings)]
        tracked = await db.tracked.count_for_guild(guild_id)
        if mapping:
            lines.append(
                f"Tracked members ({tracked}) get the role of their tier now, from their last "
                "known rank, and after every rank check; I take back the rank roles I gave "
                "when their tier changes."
            )
            if resync:
                lines.append(
                    "Every tracked member's rank role is given again, so roles taken away "
                    "by hand are put right."
                )
            if not tracked:
                lines.append("Nobody is tracked yet: members join with `/link`.")
        else:
            lines.append("The rank roles I gave are being taken back.")
        warning = check_guild(guild, mapping).text() if guild is not None and mapping else None
        if warning:
            lines.append(f"**But:** {warning}")
        self._sync_roles_soon(guild_id, reapply=resync)
        await self._reply(
            interaction,
            "Rank roles updated",
            lines,
            COLOUR_WARNING if warning else COLOUR_OK,
        )

    @config.command(name="show", description="Show this server's announcement settings.")
    async def show(self, interaction: discord.Interaction) -> None:
        guild_id = self._guild_id(interaction)
        db = bot_of(interaction).db
        settings = await db.guilds.get(guild_id)
        members = await db.tracked.list_for_guild(guild_id)
        guild = interaction.guild
        live = channel_problem(guild, settings.announce_channel_id) if guild else None
        problem = live or settings.channel_problem
        mapping = await db.rank_roles.mapping(guild_id)
        given = {r for roles in (await db.rank_roles.granted(guild_id)).values() for r in roles}
        live_roles = (
            check_guild(guild, mapping, given).text() if guild and (mapping or given) else None
        )
        roles_problem = live_roles or settings.role_problem
        embed = SafeEmbed(
            title="Rank announcement settings",
            colour=COLOUR_WARNING if problem or roles_problem else COLOUR_INFO,
        )
        channel_id = settings.announce_channel_id
        embed.add_field(
            name="Announce channel",
            value=f"<#{channel_id}>" if channel_id else "Not set: use `/config announce-channel`",
            inline=False,
        )
        embed.add_field(name="Playlists", value=_playlist_names(settings), inline=False)
        embed.add_field(name="Announced changes", value=_triggers_text(settings), inline=False)
        embed.add_field(
            name="Admin role",
            value=(
                f"<@&{settings.admin_role_id}>"
                if settings.admin_role_id
                else "None (Manage Server only)"
            ),
            inline=False,
        )
        embed.add_field(name="Rank roles", value=_rank_roles_text(mapping, settings), inline=False)
        listed = [f"<@{m.user_id}> ({escape(m.gamertag)})" for m in members[:MAX_LISTED_MEMBERS]]
        if len(members) > MAX_LISTED_MEMBERS:
            listed.append(f"… and {len(members) - MAX_LISTED_MEMBERS} more")
        embed.add_field(
            name=f"Tracked members ({len(members)})",
            value="\n".join(listed) if listed else "Nobody yet: members join with `/link`.",
            inline=False,
        )
        if problem:
            embed.add_field(name="Problem", value=problem, inline=False)
        if roles_problem:
            embed.add_field(name="Rank roles problem", value=roles_problem, inline=False)
        await interaction.response.send_message(embed=embed, ephemeral=True)

    @config.command(name="reset", description="Put this server's announcement settings back.")
    async def reset(self, interaction: discord.Interaction) -> None:
        guild_id = self._guild_id(interaction)
        db = bot_of(interaction).db
        async with db.transaction() as tx:
            had = await db.guilds.reset(guild_id, tx=tx)
            unmapped = await db.rank_roles.clear(guild_id, tx=tx)
        tracked = await db.tracked.count_for_guild(guild_id)
        log.info("Guild %s reset its settings", guild_id)
        defaults = GuildSettings(guild_id=guild_id)
        lines = [
            "Settings are back to the defaults: no announce channel (announcements off), "
            f"all ranked playlists, {join_names(_default_triggers(defaults))} announced, "
            "and no rank roles."
            if had or unmapped
            else "There was nothing to reset: this server already uses the defaults.",
            f"Tracked members are kept ({plural(tracked, 'member')}); "
            "remove them with `/config untrack`.",
        ]
        if unmapped:
            lines.append("The rank roles I gave are being taken back.")
            self._sync_roles_soon(guild_id)
        await self._reply(interaction, "Settings reset", lines)


def _default_triggers(settings: GuildSettings) -> list[str]:
    return [
        label.split(" (")[0].lower() for attr, label in TRIGGER_NAMES if getattr(settings, attr)
    ]


async def setup(bot: HaloBot) -> None:
    await bot.add_cog(AdminConfig(bot))
