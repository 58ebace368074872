"""The work behind /config: read and change one server's settings, tracking, rank roles
and verified links. Every method is scoped to the ``guild_id`` it is given; what the
member sees is built from the returned :class:`Notice` or :class:`ServerOverview`."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import discord

from bot.common.errors import (
    BotPermissionError,
    InvalidOptionError,
    InvalidPlayerError,
    NotLinkedError,
    PermissionDeniedError,
)
from bot.common.text import escape, plural
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
    member_mapping_problem,
    overwrite_warnings,
    role_problem,
)
from bot.features.config.embeds import (
    Notice,
    ServerOverview,
    default_triggers,
    notice,
    playlist_names,
    rank_roles_text,
    triggers_text,
)
from bot.halo.playlists import (
    RANKED_ARENA,
    RANKED_DOUBLES,
    RANKED_FFA,
    RANKED_PLAYLISTS,
    RANKED_SLAYER,
)
from bot.halo.xuid import parse_player
from bot.storage import RANK_ROLE_TIERS, AccountNotLinkedError, GuildSettings

if TYPE_CHECKING:
    from bot.core.resolver import PlayerResolver
    from bot.features.announcements.service import RankRoleService
    from bot.storage import Database

log = logging.getLogger(__name__)

__all__ = ["RANK_ROLE_TIERS", "ConfigService", "RankRolesRequest"]


@dataclass(frozen=True)
class RankRolesRequest:
    """The options of ``/config rank-roles``."""

    tier: str | None = None
    role: discord.Role | None = None
    playlist: str | None = None
    clear_all: bool = False
    resync: bool = False

    @property
    def shows_only(self) -> bool:
        return (
            self.tier is None and self.playlist is None and not self.clear_all and not self.resync
        )


class ConfigService:
    """One server's configuration; the rank roles are brought in step through the
    shared :class:`RankRoleService` after every change that affects them."""

    def __init__(self, db: Database, resolver: PlayerResolver, rank_roles: RankRoleService) -> None:
        self.db = db
        self.resolver = resolver
        self.rank_roles = rank_roles

    async def admin_role(self, guild_id: int) -> int | None:
        """The role this server lets use /config besides Manage Server."""
        return (await self.db.guilds.get(guild_id)).admin_role_id

    # ---------------------------------------------------------------- announcements

    async def set_announce_channel(
        self, guild_id: int, channel: discord.TextChannel | None
    ) -> Notice:
        if channel is None:
            await self.db.guilds.update(guild_id, announce_channel_id=None, channel_problem=None)
            log.info("Guild %s turned announcements off", guild_id)
            return notice("Announcements off", "Rank changes are no longer posted in this server.")
        me = channel.guild.me
        if me is not None:
            missing = missing_permissions(channel.permissions_for(me))
            if missing:
                raise BotPermissionError(
                    f"{missing_text(channel.mention, missing)} Give me "
                    f"{'it' if len(missing) == 1 else 'them'} there, or choose another channel. "
                    "Nothing was changed."
                )
        await self.db.guilds.update(guild_id, announce_channel_id=channel.id, channel_problem=None)
        log.info("Guild %s announces in channel %s", guild_id, channel.id)
        return notice(
            "Announcement channel set",
            f"Rank changes of tracked members will be posted in {channel.mention}.",
        )

    async def set_playlists(self, guild_id: int, chosen: dict[str, bool | None]) -> Notice:
        """``chosen``: ``arena``/``slayer``/``doubles``/``ffa`` -> on, off or unchanged."""
        ids = {
            "arena": RANKED_ARENA,
            "slayer": RANKED_SLAYER,
            "doubles": RANKED_DOUBLES,
            "ffa": RANKED_FFA,
        }
        settings = await self.db.guilds.get(guild_id)
        if all(v is None for v in chosen.values()):
            return notice(
                "Announced playlists",
                playlist_names(settings),
                "Set `arena`, `slayer`, `doubles` or `ffa` to change.",
                tone="info",
            )
        current = set(enabled_playlists(settings))
        for name, value in chosen.items():
            if value is True:
                current.add(ids[name])
            elif value is False:
                current.discard(ids[name])
        ordered = [p for p in RANKED_PLAYLISTS if p in current]
        extra = sorted(current - set(RANKED_PLAYLISTS))
        value = None if ordered == list(RANKED_PLAYLISTS) and not extra else (*ordered, *extra)
        settings = await self.db.guilds.update(guild_id, playlists=value)
        log.info("Guild %s playlists: %s", guild_id, value)
        lines = [f"Announced: {playlist_names(settings)}."]
        if not enabled_playlists(settings):
            lines.append("No playlist is announced, so nothing will be posted.")
        return notice("Playlists updated", *lines)

    async def set_triggers(self, guild_id: int, chosen: dict[str, bool | None]) -> Notice:
        """``chosen``: ``tier_change``, ... -> on, off or unchanged."""
        changes: dict[str, Any] = {
            f"trigger_{name}": value for name, value in chosen.items() if value is not None
        }
        if not changes:
            settings = await self.db.guilds.get(guild_id)
            return notice("Announced changes", triggers_text(settings), tone="info")
        settings = await self.db.guilds.update(guild_id, **changes)
        log.info("Guild %s triggers: %s", guild_id, changes)
        return notice("Triggers updated", triggers_text(settings))

    # ---------------------------------------------------------------- members

    async def track(self, guild_id: int, member: discord.abc.User) -> Notice:
        """Follow ``member``'s rank here. Only a member of this server (Discord resolves a
        member of the server as :class:`discord.Member`): anybody else is refused before
        anything about their link is read, so nothing about them is revealed or stored."""
        if not isinstance(member, discord.Member) or member.guild.id != guild_id:
            raise InvalidOptionError(
                "I can only track members of this server. Nothing was changed."
            )
        name = escape(member.display_name)
        try:
            added = await self.db.tracked.track(guild_id, member.id)
        except AccountNotLinkedError:
            raise NotLinkedError(
                f"**{name}** hasn't linked a Halo account yet: they need to run `/link` first."
            ) from None
        account = await self.db.accounts.get(member.id)
        gamertag = escape(account.gamertag) if account else "?"
        if not added:
            return notice(
                "Member tracked", f"This server already follows **{name}** (**{gamertag}**)."
            )
        log.info("Guild %s tracks user %s", guild_id, member.id)
        lines = [f"This server now follows **{name}** (**{gamertag}**)."]
        tracked = await self.db.tracked.list_for_guild(guild_id, include_unverified=True)
        entry = next((m for m in tracked if m.user_id == member.id), None)
        settings = await self.db.guilds.get(guild_id)
        if entry is not None and not entry.verified and settings.require_verified:
            lines.append(
                "Their link is not verified, so it counts here only once they verify it "
                "(the Verify button of `/link`) or you vouch for it with `/config link`."
            )
        return notice("Member tracked", *lines)

    async def untrack(self, guild_id: int, member: discord.abc.User) -> Notice:
        name = escape(member.display_name)
        if not await self.db.tracked.untrack(guild_id, member.id):
            return notice(
                "Not tracked",
                f"This server was not following **{name}**; nothing changed.",
                tone="info",
            )
        log.info("Guild %s untracked user %s", guild_id, member.id)
        self.rank_roles.sync_soon(guild_id)
        return notice("Member untracked", f"This server no longer follows **{name}**.")

    async def link_member(
        self,
        guild_id: int,
        member: discord.abc.User,
        gamertag: str,
        *,
        admin_id: int,
        may_vouch_for_self: bool = False,
    ) -> Notice:
        """An admin links ``member`` to ``gamertag`` as verified in this server (checked
        in person): linked if they were not, vouched for here, tracked here, in one
        transaction. A member linked to another account keeps it: only they change it.
        Vouching for yourself needs ``may_vouch_for_self`` (server owner or Administrator),
        and a XUID another member proved with their service tag stays theirs."""
        name = escape(member.display_name)
        if member.bot:
            raise InvalidOptionError("Bots can't have a Halo account. Nothing was changed.")
        if member.id == admin_id and not may_vouch_for_self:
            raise PermissionDeniedError(
                "Only the server owner or a member with Administrator can vouch for their "
                "own link: ask another admin, or verify it yourself with `/link` and its "
                "Verify button. Nothing was changed."
            )
        ref = parse_player(gamertag)
        if ref.kind == "member":
            raise InvalidPlayerError("Give the member's gamertag or XUID, not a mention.")
        player = await self.resolver.resolve_ref(ref, confirm=True)
        db = self.db
        async with db.transaction() as tx:
            current = await db.accounts.get(member.id, tx=tx)
            if current is not None and current.xuid != player.xuid:
                raise PermissionDeniedError(
                    f"**{name}** is linked to **{escape(current.gamertag)}**, another account: "
                    "only they can change that (`/link`, or `/unlink` first). Nothing was changed."
                )
            owners = [
                a.user_id
                for a in await db.accounts.for_xuid(player.xuid, tx=tx)
                if a.verified and a.user_id != member.id
            ]
            if owners:
                raise PermissionDeniedError(
                    f"**{escape(player.gamertag)}** was verified by <@{owners[0]}> with its "
                    "service tag: they proved they own it, so it can't be vouched for "
                    "another member. Nothing was changed."
                )
            if current is None:
                await db.accounts.link(
                    member.id, player.xuid, player.gamertag, verified=False, tx=tx
                )
            others = await db.verification.vouch(
                guild_id, member.id, player.xuid, by=admin_id, source="admin", tx=tx
            )
            await db.tracked.track(guild_id, member.id, tx=tx)
        log.info("Guild %s: admin %s vouched for user %s", guild_id, admin_id, member.id)
        lines = [
            f"**{name}** is linked to **{escape(player.gamertag)}**, verified for this server "
            "by you, and this server follows their rank.",
        ]
        if others:
            mentions = ", ".join(f"<@{o}>" for o in others)
            lines.append(
                f"That account is no longer counted as verified here for {mentions}: "
                "their link stops counting in this server."
            )
        self.rank_roles.sync_soon(guild_id)
        return notice("Member linked", *lines)

    async def require_verified(self, guild_id: int, value: bool | None) -> Notice:
        settings = await self.db.guilds.get(guild_id)
        if value is None:
            state = "required" if settings.require_verified else "not required"
            return notice(
                "Verified links",
                f"Verified links are **{state}** here.",
                "Set `enabled` to change it.",
                tone="info",
            )
        await self.db.guilds.update(guild_id, require_verified=value)
        log.info("Guild %s require_verified: %s", guild_id, value)
        self.rank_roles.sync_soon(guild_id)
        if value:
            return notice(
                "Verified links required",
                "Only verified links are announced, get rank roles and appear on the "
                "leaderboard here. Rank roles of unverified links are being taken back.",
            )
        return notice(
            "Verified links not required",
            "Every tracked link counts here, verified or not: anybody can link any gamertag, "
            "so rank roles and announcements may go to someone who does not own the account.",
            tone="warning",
        )

    async def set_admin_role(self, guild_id: int, role: discord.Role | None) -> Notice:
        if role is None:
            await self.db.guilds.update(guild_id, admin_role_id=None)
            log.info("Guild %s cleared its admin role", guild_id)
            return notice(
                "Admin role cleared", "Only members with Manage Server can use `/config` now."
            )
        if role.is_default():
            raise PermissionDeniedError(
                "@everyone can't be the admin role: choose a role that only some members have."
            )
        await self.db.guilds.update(guild_id, admin_role_id=role.id)
        log.info("Guild %s admin role: %s", guild_id, role.id)
        return notice(
            "Admin role set",
            f"Members with {role.mention} can now use `/config`.",
            "Discord only shows `/config` to members with Manage Server by default: "
            "allow the role in Server Settings → Integrations too.",
        )

    # ---------------------------------------------------------------- rank roles

    async def rank_roles_command(
        self, guild_id: int, guild: discord.Guild | None, caller: object, request: RankRolesRequest
    ) -> Notice:
        """Show, change or re-give the rank roles. ``caller``: the member running it (a
        role can be mapped only by someone who could give it themselves)."""
        _check_options(request)
        if request.tier is not None and request.role is not None:
            if guild is None:
                raise PermissionDeniedError(
                    "Discord did not tell me about this server's roles, so I can't check "
                    f"that {request.role.mention} is one I may give and you could give "
                    "yourself: no role was mapped. Try again in a minute. Nothing was changed."
                )
            _check_mappable(guild, caller, request.role, request.tier)
        only_resync = request.resync and request.tier is None and request.playlist is None
        if only_resync and not await self.db.rank_roles.mapping(guild_id):
            raise InvalidOptionError(
                "No tier is mapped to a role yet, so there is nothing to give again: map "
                "one with `tier` and `role`. Nothing was changed."
            )
        if request.shows_only:
            return await self._show_rank_roles(guild_id)
        settings, mapping = await self._store_rank_roles(guild_id, request)
        log.info("Guild %s rank roles: %s from %s", guild_id, mapping, settings.rank_role_playlist)
        lines = [rank_roles_text(mapping, settings)]
        if mapping:
            lines += await self._mapped_lines(guild_id, resync=request.resync)
        else:
            lines.append("The rank roles I gave are being taken back.")
        warning = check_guild(guild, mapping).text() if guild is not None and mapping else None
        if warning:
            lines.append(f"**But:** {warning}")
        self.rank_roles.sync_soon(guild_id, reapply=request.resync)
        return notice("Rank roles updated", *lines, tone="warning" if warning else "ok")

    async def _show_rank_roles(self, guild_id: int) -> Notice:
        settings = await self.db.guilds.get(guild_id)
        mapping = await self.db.rank_roles.mapping(guild_id)
        lines = [rank_roles_text(mapping, settings)]
        if not mapping:
            lines.append(
                "Set `tier` and `role` to map one, and `playlist` to choose whose tier "
                "counts (Ranked Arena by default)."
            )
        return notice("Rank roles", *lines, tone="info")

    async def _store_rank_roles(
        self, guild_id: int, request: RankRolesRequest
    ) -> tuple[GuildSettings, dict[str, int]]:
        db = self.db
        async with db.transaction() as tx:
            if request.clear_all:
                await db.rank_roles.clear(guild_id, tx=tx)
            if request.tier is not None:
                role_id = request.role.id if request.role is not None else None
                await db.rank_roles.set_role(guild_id, request.tier, role_id, tx=tx)
            if request.playlist is not None:
                await db.guilds.update(guild_id, rank_role_playlist=request.playlist, tx=tx)
            settings = await db.guilds.get(guild_id, tx=tx)
            mapping = await db.rank_roles.mapping(guild_id, tx=tx)
        return settings, mapping

    async def _mapped_lines(self, guild_id: int, *, resync: bool) -> list[str]:
        tracked = await self.db.tracked.count_for_guild(guild_id)
        lines = [
            f"Tracked members ({tracked}) get the role of their tier now, from their last "
            "known rank, and after every rank check; I take back the rank roles I gave "
            "when their tier changes."
        ]
        if resync:
            lines.append(
                "Every tracked member's rank role is given again, so roles taken away "
                "by hand are put right."
            )
        if not tracked:
            lines.append("Nobody is tracked yet: members join with `/link`.")
        return lines

    # ---------------------------------------------------------------- show and reset

    async def overview(self, guild_id: int, guild: discord.Guild | None) -> ServerOverview:
        db = self.db
        settings = await db.guilds.get(guild_id)
        members = await db.tracked.list_for_guild(guild_id, include_unverified=True)
        live = channel_problem(guild, settings.announce_channel_id) if guild else None
        mapping = await db.rank_roles.mapping(guild_id)
        given = {r for roles in (await db.rank_roles.granted(guild_id)).values() for r in roles}
        live_roles = (
            check_guild(guild, mapping, given).text() if guild and (mapping or given) else None
        )
        vouched = await db.verification.count_by_source(guild_id)
        return ServerOverview(
            settings=settings,
            members=members,
            mapping=mapping,
            channel_problem=live or settings.channel_problem,
            roles_problem=live_roles or settings.role_problem,
            vouched=vouched.get("admin", 0),
            carried_over=vouched.get("migration", 0),
            role_warnings=overwrite_warnings(guild, mapping) if guild is not None else [],
        )

    async def reset(self, guild_id: int) -> Notice:
        db = self.db
        async with db.transaction() as tx:
            had = await db.guilds.reset(guild_id, tx=tx)
            unmapped = await db.rank_roles.clear(guild_id, tx=tx)
        tracked = await db.tracked.count_for_guild(guild_id)
        log.info("Guild %s reset its settings", guild_id)
        defaults = GuildSettings(guild_id=guild_id)
        lines = [
            "Settings are back to the defaults: no announce channel (announcements off), "
            f"all ranked playlists, {join_names(default_triggers(defaults))} announced, "
            "verified links required, and no rank roles."
            if had or unmapped
            else "There was nothing to reset: this server already uses the defaults.",
            f"Tracked members are kept ({plural(tracked, 'member')}); "
            "remove them with `/config untrack`.",
        ]
        if unmapped:
            lines.append("The rank roles I gave are being taken back.")
        if had or unmapped:
            self.rank_roles.sync_soon(guild_id)
        return notice("Settings reset", *lines)


def _check_options(request: RankRolesRequest) -> None:
    if request.role is not None and request.tier is None:
        raise InvalidOptionError(
            f"Choose the `tier` that {request.role.mention} is for. Nothing was changed."
        )
    if request.clear_all and request.tier is not None:
        raise InvalidOptionError(
            "`clear_all` unmaps every tier: use it without `tier` and `role`. Nothing was changed."
        )
    if request.clear_all and request.resync:
        raise InvalidOptionError(
            "`clear_all` takes the rank roles back and `resync` gives them again: "
            "choose one. Nothing was changed."
        )


def _check_mappable(guild: discord.Guild, caller: object, role: discord.Role, tier: str) -> None:
    """Refuse a role the bot cannot give, or the member could not give themselves."""
    if not isinstance(caller, discord.Member):
        raise PermissionDeniedError(
            "I could not check your roles in this server, so no role was mapped. "
            "Nothing was changed."
        )
    problem = member_mapping_problem(caller, role)
    if problem is not None:
        raise PermissionDeniedError(f"{problem} Nothing was changed.")
    problem = manage_roles_problem(guild) or role_problem(guild, role, tier)
    if problem is not None:
        raise BotPermissionError(f"{problem} Nothing was changed.")
