"""What /help and /about show, read from the running bot (never a hand-kept list).

/help walks the registered command tree, so a new command appears by itself; each
command needs an example in :data:`EXAMPLES` (a test fails when one is missing).
/about reads the version, uptime, servers, Halo status and the invite links.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlencode

import discord
from discord import app_commands

from bot import __version__
from bot.core.installs import USER_INSTALLABLE

#: One example per command, keyed by its full name (``"config show"``). Every option
#: named in an example must be an option of that command (tested).
EXAMPLES: dict[str, str] = {
    "csr": "/csr player:Noble Six",
    "servicerecord": "/servicerecord player:@member",
    "operation": "/operation player:Noble Six",
    "events": "/events",
    "matches": "/matches player:Noble Six count:10",
    "compare": "/compare player_a:Noble Six player_b:@member",
    "history": "/history playlist:Ranked Arena days:30",
    "leaderboard": "/leaderboard",
    "link": "/link gamertag:Noble Six",
    "unlink": "/unlink",
    "whois": "/whois member:@member",
    "help": "/help",
    "about": "/about",
    "config announce-channel": "/config announce-channel channel:#ranks",
    "config playlists": "/config playlists arena:True doubles:False",
    "config triggers": "/config triggers placement:False",
    "config track": "/config track member:@member",
    "config untrack": "/config untrack member:@member",
    "config admin-role": "/config admin-role role:@Moderators",
    "config rank-roles": "/config rank-roles tier:Diamond role:@Diamond",
    "config require-verified": "/config require-verified enabled:True",
    "config link": "/config link member:@member gamertag:Noble Six",
    "config show": "/config show",
    "config reset": "/config reset",
}

#: What the bot needs in a server: read and answer in channels, post embeds (rank
#: announcements), and Manage Roles for the optional rank roles. Nothing attaches files.
INVITE_PERMISSIONS = discord.Permissions(
    view_channel=True, send_messages=True, embed_links=True, manage_roles=True
)
INVITE_SCOPES = ("bot", "applications.commands")
AUTHORIZE_URL = "https://discord.com/oauth2/authorize"


@dataclass(frozen=True)
class HelpEntry:
    name: str  # full name without the slash: "csr", "config show"
    description: str
    example: str | None
    anywhere: bool  # can be user-installed and used in DMs


AnyCommand = app_commands.Command | app_commands.Group | app_commands.ContextMenu


def _leaves(commands: Iterable[AnyCommand]) -> Iterable[app_commands.Command]:
    for command in commands:
        if isinstance(command, app_commands.Group):
            yield from _leaves(command.commands)
        elif isinstance(command, app_commands.Command):
            yield command


def help_entries(tree: app_commands.CommandTree) -> list[HelpEntry]:
    """Every slash command of ``tree`` (subcommands by their full name), sorted by name."""
    entries = [
        HelpEntry(
            name=command.qualified_name,
            description=command.description,
            example=EXAMPLES.get(command.qualified_name),
            anywhere=command.qualified_name.split()[0] in USER_INSTALLABLE,
        )
        for command in _leaves(tree.get_commands())
    ]
    return sorted(entries, key=lambda e: e.name)


def server_invite_url(application_id: int) -> str:
    """Adds the bot to a server: scopes bot + applications.commands, the permissions above."""
    return discord.utils.oauth_url(
        application_id, permissions=INVITE_PERMISSIONS, scopes=INVITE_SCOPES
    )


def user_install_url(application_id: int) -> str:
    """Installs the lookup commands to the user's own account (integration type 1)."""
    query = urlencode(
        {"client_id": application_id, "integration_type": 1, "scope": "applications.commands"}
    )
    return f"{AUTHORIZE_URL}?{query}"


@dataclass(frozen=True)
class AboutInfo:
    version: str
    uptime_seconds: float
    servers: int
    halo_last_success: float | None  # time.time() of the last 2xx from Halo
    halo_wait_seconds: float  # what a request sent now would wait for the limiter
    server_invite: str | None
    user_install: str | None
    privacy_url: str | None


class Uptime:
    """Seconds since the feature was loaded (with the bot, at start)."""

    def __init__(self) -> None:
        self._started = time.monotonic()

    def seconds(self) -> float:
        return time.monotonic() - self._started


def about_info(
    *,
    application_id: int | None,
    servers: int,
    uptime: Uptime,
    last_success: float | None,
    wait_seconds: float,
    project_url: str | None,
) -> AboutInfo:
    return AboutInfo(
        version=__version__,
        uptime_seconds=uptime.seconds(),
        servers=servers,
        halo_last_success=last_success,
        halo_wait_seconds=wait_seconds,
        server_invite=server_invite_url(application_id) if application_id else None,
        user_install=user_install_url(application_id) if application_id else None,
        privacy_url=f"{project_url}#privacy" if project_url else None,
    )
