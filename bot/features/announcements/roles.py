"""Rank roles: keeping members' server roles in step with their CSR tier.

A server maps tiers to roles (``/config rank-roles``) and picks the playlist whose
tier counts (Ranked Arena unless chosen). After each rank cycle, and right after a
mapping changes, :class:`RoleSync` gives every tracked member the role of the tier in
their newest stored snapshot and takes back the other rank roles it gave. It reads
only the database (the CSR the cycle already fetched): no Halo request of its own.

The bot remembers the roles it gave (``db.rank_roles`` grants), so it calls Discord
only when a member's role has to change and never takes away a role it did not give.
What stops it (no Manage Roles, a role above the bot's highest role, a deleted or
integration-managed role, Discord refusing) is recorded per server and shown by
``/config show``; the roles it can manage are still kept in step.

With several instances, a server's roles are kept by the instance whose shards hold
it: :meth:`RoleEditor.check` answers None for a server not in this process's cache
(``bot.guilds``), and the sync leaves that server to its own instance.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

import aiohttp
import discord

from bot.common.text import escape
from bot.halo.playlists import RANKED_ARENA, ranked_playlist_name

if TYPE_CHECKING:
    from bot.storage import Database

log = logging.getLogger(__name__)

UNKNOWN_MEMBER = 10007
UNKNOWN_ROLE = 10011
UNKNOWN_USER = 10013
#: How long a member Discord said left a server is not asked about (unless an admin
#: changes the rank roles, which asks again at once).
GONE_SECONDS = 6 * 3600.0

NO_MANAGE_ROLES = (
    "I need the **Manage Roles** permission to give rank roles: "
    "give it to my role in Server Settings → Roles."
)


def rank_role_playlist(playlist_id: str | None) -> str:
    """The playlist whose tier decides the roles (Ranked Arena unless chosen)."""
    return playlist_id or RANKED_ARENA


def playlist_label(playlist_id: str | None) -> str:
    playlist = rank_role_playlist(playlist_id)
    return ranked_playlist_name(playlist) or playlist


# --------------------------------------------------------------------------- checks


def manage_roles_problem(guild: discord.Guild) -> str | None:
    """Why the bot cannot give roles at all in ``guild`` (from Discord's cache)."""
    me = guild.me
    if me is None:
        return None
    if not me.guild_permissions.manage_roles:
        return NO_MANAGE_ROLES
    return None


#: Permissions a role handed out by rank must not carry: anybody could reach them by
#: playing ranked. (attribute, name shown to admins)
ELEVATED_PERMISSIONS: tuple[tuple[str, str], ...] = (
    ("administrator", "Administrator"),
    ("manage_guild", "Manage Server"),
    ("manage_roles", "Manage Roles"),
    ("manage_channels", "Manage Channels"),
    ("manage_webhooks", "Manage Webhooks"),
    ("manage_messages", "Manage Messages"),
    ("kick_members", "Kick Members"),
    ("ban_members", "Ban Members"),
    ("moderate_members", "Timeout Members"),
    ("manage_nicknames", "Manage Nicknames"),
    ("manage_threads", "Manage Threads"),
    ("manage_events", "Manage Events"),
    ("manage_expressions", "Manage Expressions"),
    ("view_audit_log", "View Audit Log"),
    ("mute_members", "Mute Members"),
    ("deafen_members", "Deafen Members"),
    ("move_members", "Move Members"),
    ("mention_everyone", "Mention @everyone"),
)


def deleted_text(tier: str) -> str:
    return f"The {tier} role was deleted: map {tier} to another role with `/config rank-roles`."


def role_problem(
    guild: discord.Guild, role: discord.Role, label: str, *, giving: bool = True
) -> str | None:
    """Why the bot cannot (or should not) give ``role`` (``giving``) or take it back;
    None when it can. ``label`` says what the role is for (``Diamond``)."""
    if role.is_default():
        return "@everyone can't be a rank role: everybody has it already."
    if role.managed:
        return (
            f"{role.mention} ({label}) belongs to an integration or to Server Boosting, "
            "so nobody can give or take it: choose another role."
        )
    if giving:
        elevated = [
            name for attr, name in ELEVATED_PERMISSIONS if getattr(role.permissions, attr, False)
        ]
        if elevated:
            return (
                f"{role.mention} ({label}) has moderator permissions ({', '.join(elevated)}): "
                "rank roles are given to whoever reaches the tier, so choose a role without "
                "them."
            )
    me = guild.me
    if me is not None and role >= me.top_role:
        return (
            f"{role.mention} ({label}) is not below my highest role ({me.top_role.mention}): "
            "drag my role above it in Server Settings → Roles."
        )
    return None


@dataclass(frozen=True)
class GuildCheck:
    """What stops role management in one server, from Discord's cache."""

    #: Nothing can be changed (no Manage Roles).
    problem: str | None = None
    #: Mapped roles the bot may not give, and why.
    give_problems: dict[int, str] = field(default_factory=dict)
    #: Roles the bot gave that it cannot take back now, and why.
    take_problems: dict[int, str] = field(default_factory=dict)
    #: Roles that no longer exist (mapped or given).
    deleted: frozenset[int] = frozenset()

    def text(self) -> str | None:
        lines = [self.problem] if self.problem else []
        lines += [*self.give_problems.values(), *self.take_problems.values()]
        unique = list(dict.fromkeys(lines))
        return "\n".join(unique) if unique else None


def check_guild(
    guild: discord.Guild, mapping: Mapping[str, int], given: Iterable[int] = ()
) -> GuildCheck:
    """Every problem with ``mapping`` and with taking back the ``given`` roles."""
    give: dict[int, str] = {}
    take: dict[int, str] = {}
    deleted: set[int] = set()
    tier_of = {role_id: tier for tier, role_id in reversed(list(mapping.items()))}
    for tier, role_id in mapping.items():
        role = guild.get_role(role_id)
        if role is None:
            deleted.add(role_id)
            give.setdefault(role_id, deleted_text(tier))
            continue
        text = role_problem(guild, role, tier)
        if text is not None:
            give.setdefault(role_id, text)
    for role_id in sorted(set(given)):
        role = guild.get_role(role_id)
        if role is None:
            deleted.add(role_id)
            continue
        text = role_problem(guild, role, tier_of.get(role_id, "a former rank role"), giving=False)
        if text is not None:
            take.setdefault(role_id, text)
    return GuildCheck(manage_roles_problem(guild), give, take, frozenset(deleted))


def overwrite_warnings(guild: discord.Guild, mapping: Mapping[str, int]) -> list[str]:
    """Mapped roles that gain moderator permissions in some channel through that channel's
    permission overwrites (the role itself carries none, so mapping it was allowed)."""
    lines: list[str] = []
    for tier, role_id in mapping.items():
        role = guild.get_role(role_id)
        if role is None:
            continue
        for channel in sorted(guild.channels, key=lambda c: (c.position, c.id)):
            allow, _ = channel.overwrites_for(role).pair()
            elevated = [name for attr, name in ELEVATED_PERMISSIONS if getattr(allow, attr, False)]
            if elevated:
                lines.append(
                    f"{role.mention} ({tier}) gets moderator permissions in {channel.mention} "
                    f"({', '.join(elevated)}) through that channel's permission overwrites: "
                    f"whoever reaches {tier} gets them there. Remove them, or map another role."
                )
    return lines


def member_mapping_problem(member: discord.Member, role: discord.Role) -> str | None:
    """Why ``member`` may not hand ``role`` out by rank: they could not give it
    themselves. Needs Manage Roles (the server owner and Administrators have it) and
    the role below their highest role (only the owner is above every role)."""
    guild = member.guild
    if guild.owner_id == member.id:
        return None
    permissions = member.guild_permissions
    if not (permissions.manage_roles or permissions.administrator):
        return (
            "You need the **Manage Roles** permission to hand out roles by rank: a rank "
            "role is a role you could give yourself by linking an account that reached the "
            "tier."
        )
    if role >= member.top_role:
        return (
            f"{role.mention} is not below your highest role ({member.top_role.mention}): you "
            "can only hand out by rank the roles you could give yourself."
        )
    return None


# --------------------------------------------------------------------------- editing


class RoleEditError(Exception):
    """A role change failed. ``kind``: ``member_gone`` (left the server), ``role_gone``
    (role deleted), ``forbidden`` (Discord refused), ``transient`` (try again later)."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(detail)
        self.kind = kind
        self.detail = detail


class RoleEditor(Protocol):
    """Checks and changes members' roles; :class:`DiscordRoles` is the real one."""

    def check(
        self, guild_id: int, mapping: Mapping[str, int], given: Iterable[int]
    ) -> GuildCheck | None:
        """Problems now, or None when the bot is not in the server (skip it)."""
        ...

    async def add(self, guild_id: int, user_id: int, role_id: int, reason: str) -> None: ...

    async def remove(self, guild_id: int, user_id: int, role_id: int, reason: str) -> None: ...


class DiscordRoles:
    """Role changes through discord.py's REST client (no member cache needed)."""

    def __init__(self, client: discord.Client) -> None:
        self.client = client

    def check(
        self, guild_id: int, mapping: Mapping[str, int], given: Iterable[int]
    ) -> GuildCheck | None:
        if not self.client.is_ready():
            return None
        guild = self.client.get_guild(guild_id)
        if guild is None or guild.unavailable:
            return None
        return check_guild(guild, mapping, given)

    async def add(self, guild_id: int, user_id: int, role_id: int, reason: str) -> None:
        await self._call(self.client.http.add_role, guild_id, user_id, role_id, reason)

    async def remove(self, guild_id: int, user_id: int, role_id: int, reason: str) -> None:
        await self._call(self.client.http.remove_role, guild_id, user_id, role_id, reason)

    @staticmethod
    async def _call(
        method: Callable[..., object], guild_id: int, user_id: int, role_id: int, reason: str
    ) -> None:
        try:
            await method(guild_id, user_id, role_id, reason=reason)  # type: ignore[misc]
        except discord.NotFound as exc:
            if exc.code == UNKNOWN_ROLE:
                raise RoleEditError("role_gone", "the role was deleted") from exc
            if exc.code in (UNKNOWN_MEMBER, UNKNOWN_USER):
                raise RoleEditError("member_gone", "the member left the server") from exc
            # Unknown Guild (removed a moment ago) or anything else: try again later.
            raise RoleEditError("transient", f"Discord: {exc.text or 'Not Found'}") from exc
        except discord.Forbidden as exc:
            raise RoleEditError("forbidden", exc.text or "Missing Permissions") from exc
        except discord.HTTPException as exc:
            raise RoleEditError("transient", f"Discord error {exc.status}") from exc
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise RoleEditError("transient", exc.__class__.__name__) from exc


# --------------------------------------------------------------------------- planning


@dataclass(frozen=True)
class RoleChange:
    user_id: int
    role_id: int
    add: bool
    reason: str


def plan_changes(
    mapping: Mapping[str, int],
    tiers: Mapping[int, str],
    granted: Mapping[int, set[int]],
    playlist: str,
    *,
    reapply: bool = False,
) -> list[RoleChange]:
    """The role changes that bring the members in step.

    ``tiers``: each tracked member's current tier (``Unranked`` or absent: no role);
    ``granted``: the roles the bot gave, by member (members no longer tracked included).
    A member gets the role of their tier and loses every other role the bot gave them.
    ``reapply``: give the role of their tier again even where it was given already (it
    may have been taken away by hand; giving a role a member has changes nothing).
    """
    changes: list[RoleChange] = []
    for user_id in sorted(set(tiers) | set(granted)):
        tier = tiers.get(user_id)
        wanted = mapping.get(tier) if tier is not None else None
        have = granted.get(user_id, set())
        for role_id in sorted(have):
            if role_id != wanted:
                reason = (
                    f"Halo rank: now {tier} in {playlist}"
                    if tier is not None
                    else "Halo rank: no longer followed on this server"
                )
                changes.append(RoleChange(user_id, role_id, add=False, reason=reason))
        if wanted is not None and (reapply or wanted not in have):
            changes.append(
                RoleChange(user_id, wanted, add=True, reason=f"Halo rank: {tier} in {playlist}")
            )
    return changes


# --------------------------------------------------------------------------- syncing


@dataclass
class RoleSyncReport:
    guilds: int = 0
    added: int = 0
    removed: int = 0
    failed: int = 0  # changes Discord refused or could not make now
    problems: dict[int, str] = field(default_factory=dict)  # guild -> recorded problem
    seconds: float = 0.0


class RoleSync:
    """Brings rank roles in step with the stored snapshots, server by server."""

    def __init__(
        self,
        db: Database,
        editor: RoleEditor,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.db = db
        self.editor = editor
        self.clock = clock
        self._lock = asyncio.Lock()
        #: Members Discord said left a server, and until when they are not asked about.
        self._gone: dict[tuple[int, int], float] = {}

    async def sync(
        self, guild_ids: Iterable[int] | None = None, *, reapply: bool = False
    ) -> RoleSyncReport:
        """Sync ``guild_ids`` (an admin's change: asked about even without a mapping, so
        an old problem is cleared, and members who left are asked about again), else
        every server with a mapping, a role given or a problem recorded.
        ``reapply``: give every member's role again (see :func:`plan_changes`)."""
        report = RoleSyncReport()
        started = time.perf_counter()
        async with self._lock:
            if guild_ids is not None:
                wanted = set(guild_ids)
                self._gone = {k: v for k, v in self._gone.items() if k[0] not in wanted}
            else:
                wanted = (
                    set(await self.db.rank_roles.all_mappings())
                    | await self.db.rank_roles.guilds_with_grants()
                    | await self.db.guilds.ids_with_role_problem()
                )
            for guild_id in sorted(wanted):
                try:
                    await self._sync_guild(guild_id, report, reapply=reapply)
                except Exception:
                    log.exception("Rank roles of guild %s could not be synced", guild_id)
                    report.failed += 1
        report.seconds = time.perf_counter() - started
        if report.added or report.removed or report.failed:
            log.info(
                "Rank roles: %d given, %d taken back, %d failed in %d servers",
                report.added,
                report.removed,
                report.failed,
                report.guilds,
            )
        return report

    def _is_gone(self, guild_id: int, user_id: int) -> bool:
        until = self._gone.get((guild_id, user_id))
        if until is None:
            return False
        if self.clock() >= until:
            del self._gone[(guild_id, user_id)]
            return False
        return True

    async def _sync_guild(self, guild_id: int, report: RoleSyncReport, *, reapply: bool) -> None:
        mapping = await self.db.rank_roles.mapping(guild_id)
        granted = await self.db.rank_roles.granted(guild_id)
        given = {role_id for roles in granted.values() for role_id in roles}
        if not mapping and not given:  # rank roles not used (any more): no problem either
            if (await self.db.guilds.get(guild_id)).role_problem is not None:
                await self.db.guilds.set_role_problem(guild_id, None)
            return
        check = self.editor.check(guild_id, mapping, given)
        if check is None:
            return  # not in that server (or not connected yet): nothing can be done
        report.guilds += 1
        settings = await self.db.guilds.get(guild_id)
        playlist_id = rank_role_playlist(settings.rank_role_playlist)
        members = await self.db.tracked.list_for_guild(guild_id)
        snapshots = await self.db.snapshots.latest_many((m.xuid for m in members), playlist_id)
        tiers = {m.user_id: snapshots[m.xuid].tier for m in members if m.xuid in snapshots}
        changes = plan_changes(
            mapping, tiers, granted, playlist_label(settings.rank_role_playlist), reapply=reapply
        )
        refused: dict[int, str] = {}  # role -> why Discord refused it this time
        if check.problem is not None:
            changes = []  # nothing can be changed; kept for when it is fixed
        for change in changes:
            role_id, user_id = change.role_id, change.user_id
            if self._is_gone(guild_id, user_id) or role_id in refused:
                continue
            if role_id in check.deleted:
                if not change.add:  # nothing left to take back
                    await self.db.rank_roles.forget_grants(guild_id, user_id, [role_id])
                continue
            blocked = check.give_problems if change.add else check.take_problems
            if role_id in blocked:
                continue  # kept for when the problem is fixed
            if change.add:
                # Recorded first: if the bot stops right after Discord gave the role, it
                # still knows to take it back later.
                await self.db.rank_roles.record_grant(guild_id, user_id, role_id)
            try:
                if change.add:
                    await self.editor.add(guild_id, user_id, role_id, change.reason)
                else:
                    await self.editor.remove(guild_id, user_id, role_id, change.reason)
            except RoleEditError as exc:
                report.failed += 1
                if exc.kind == "member_gone":
                    self._gone[(guild_id, user_id)] = self.clock() + GONE_SECONDS
                    await self.db.rank_roles.forget_grants(guild_id, user_id)
                    continue
                if change.add or exc.kind == "role_gone":
                    await self.db.rank_roles.forget_grants(guild_id, user_id, [role_id])
                if exc.kind == "role_gone":
                    continue
                if exc.kind == "forbidden":
                    verb = "give" if change.add else "take back"
                    refused[role_id] = (
                        f"Discord refused to {verb} <@&{role_id}> ({escape(exc.detail)}): I "
                        "need the **Manage Roles** permission, and my role must be above it."
                    )
                    continue
                log.warning("Rank roles in guild %s paused: %s", guild_id, exc.detail)
                break  # Discord trouble: the rest waits for the next round
            if change.add:
                report.added += 1
            else:
                await self.db.rank_roles.forget_grants(guild_id, user_id, [role_id])
                report.removed += 1
        lines = [text for text in (check.text(), *refused.values()) if text]
        problem = "\n".join(dict.fromkeys(lines)) or None
        if problem != settings.role_problem:
            if problem is not None:
                log.warning("Rank roles in guild %s: %s", guild_id, problem.replace("\n", " "))
            await self.db.guilds.set_role_problem(guild_id, problem)
        if problem is not None:
            report.problems[guild_id] = problem
