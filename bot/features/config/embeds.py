"""What /config answers: a titled notice, or the whole of a server's settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from bot.common.text import escape, plural
from bot.core.embeds import COLOUR_INFO, COLOUR_OK, COLOUR_WARNING, SafeEmbed
from bot.features.announcements.changes import enabled_playlists
from bot.features.announcements.roles import playlist_label
from bot.halo.playlists import ranked_playlist_name
from bot.storage import GuildSettings, TrackedMember

MAX_LISTED_MEMBERS = 20
TRIGGER_NAMES: tuple[tuple[str, str], ...] = (
    ("trigger_tier_change", "Tier changes (e.g. Gold → Platinum)"),
    ("trigger_subtier_change", "Every sub-tier change (e.g. Gold 2 → Gold 3)"),
    ("trigger_placement", "Placement finished"),
    ("trigger_season_high", "New season high"),
)
Tone = Literal["ok", "info", "warning"]
_COLOURS: dict[Tone, int] = {"ok": COLOUR_OK, "info": COLOUR_INFO, "warning": COLOUR_WARNING}


@dataclass(frozen=True)
class Notice:
    """A short private answer: a title and its lines."""

    title: str
    lines: tuple[str, ...]
    tone: Tone = "ok"


def notice(title: str, *lines: str, tone: Tone = "ok") -> Notice:
    return Notice(title, tuple(lines), tone)


def notice_embed(answer: Notice) -> SafeEmbed:
    return SafeEmbed(
        title=answer.title, description="\n".join(answer.lines), colour=_COLOURS[answer.tone]
    )


def on_off(value: bool) -> str:
    return "on" if value else "off"


def playlist_names(settings: GuildSettings) -> str:
    names = [ranked_playlist_name(p) or p for p in enabled_playlists(settings)]
    return ", ".join(names) if names else "None (nothing is announced)"


def triggers_text(settings: GuildSettings) -> str:
    return "\n".join(
        f"{label}: **{on_off(getattr(settings, attr))}**" for attr, label in TRIGGER_NAMES
    )


def default_triggers(settings: GuildSettings) -> list[str]:
    return [
        label.split(" (")[0].lower() for attr, label in TRIGGER_NAMES if getattr(settings, attr)
    ]


def rank_roles_text(mapping: dict[str, int], settings: GuildSettings) -> str:
    if not mapping:
        return "None: map tiers to roles with `/config rank-roles`."
    lines = [f"{tier}: <@&{role_id}>" for tier, role_id in mapping.items()]
    lines.append(f"Tier from: {playlist_label(settings.rank_role_playlist)}")
    return "\n".join(lines)


def verification_text(settings: GuildSettings, carried_over: int, vouched: int) -> str:
    if settings.require_verified:
        lines = [
            "**Required**: only verified links are announced, get rank roles and appear "
            "on the leaderboard (`/config require-verified`)."
        ]
    else:
        lines = [
            "**Not required**: every tracked link counts, verified or not "
            "(`/config require-verified`)."
        ]
    if vouched:
        lines.append(f"{plural(vouched, 'link')} verified here by an admin (`/config link`).")
    if carried_over:
        lines.append(
            f"{plural(carried_over, 'link')} made before verification existed "
            "count as verified by an admin here."
        )
    return "\n".join(lines)


@dataclass(frozen=True)
class ServerOverview:
    """Everything ``/config show`` tells about one server."""

    settings: GuildSettings
    members: list[TrackedMember]
    mapping: dict[str, int]
    channel_problem: str | None
    roles_problem: str | None
    vouched: int = 0
    carried_over: int = 0
    role_warnings: list[str] = field(default_factory=list)


def _member_line(member: TrackedMember) -> str:
    state = "verified" if member.verified else "**not verified**"
    return f"<@{member.user_id}> ({escape(member.gamertag)}, {state})"


def overview_embed(view: ServerOverview) -> SafeEmbed:
    settings = view.settings
    warning = view.channel_problem or view.roles_problem or view.role_warnings
    embed = SafeEmbed(
        title="Rank announcement settings", colour=COLOUR_WARNING if warning else COLOUR_INFO
    )
    channel_id = settings.announce_channel_id
    embed.add_field(
        name="Announce channel",
        value=f"<#{channel_id}>" if channel_id else "Not set: use `/config announce-channel`",
        inline=False,
    )
    embed.add_field(name="Playlists", value=playlist_names(settings), inline=False)
    embed.add_field(name="Announced changes", value=triggers_text(settings), inline=False)
    embed.add_field(
        name="Admin role",
        value=(
            f"<@&{settings.admin_role_id}>"
            if settings.admin_role_id
            else "None (Manage Server only)"
        ),
        inline=False,
    )
    embed.add_field(name="Rank roles", value=rank_roles_text(view.mapping, settings), inline=False)
    embed.add_field(
        name="Verified links",
        value=verification_text(settings, view.carried_over, view.vouched),
        inline=False,
    )
    members = view.members
    listed = [_member_line(m) for m in members[:MAX_LISTED_MEMBERS]]
    if len(members) > MAX_LISTED_MEMBERS:
        listed.append(f"… and {len(members) - MAX_LISTED_MEMBERS} more")
    unverified = sum(1 for m in members if not m.verified)
    title = f"Tracked members ({len(members)})"
    if unverified:
        title = f"Tracked members ({len(members)}, {unverified} not verified)"
    embed.add_field(
        name=title,
        value="\n".join(listed) if listed else "Nobody yet: members join with `/link`.",
        inline=False,
    )
    if view.channel_problem:
        embed.add_field(name="Problem", value=view.channel_problem, inline=False)
    if view.roles_problem:
        embed.add_field(name="Rank roles problem", value=view.roles_problem, inline=False)
    if view.role_warnings:
        embed.add_field(
            name="Rank roles warning", value="\n".join(view.role_warnings), inline=False
        )
    return embed
