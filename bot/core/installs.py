"""Where each command can be installed and used (Discord integration types and contexts).

The lookup commands can also be installed to a user account and then run in DMs and in
servers that never invited the bot; /link, /unlink and /whois are server-installed but
answer in the bot's DM too; every other command (announcements, /config ...) stays
server-only. Applied once to the whole tree by
name, after the extensions load, so no cog has to repeat it.
"""

from __future__ import annotations

from discord import app_commands

#: Commands a user can install to their own account and run anywhere.
USER_INSTALLABLE: tuple[str, ...] = (
    "csr",
    "servicerecord",
    "operation",
    "events",
    "matches",
    "compare",
    "help",
    "about",
)

#: Server-installed commands that also answer in the member's DM with the bot (context
#: 1): a member who shares no server with the bot any more can still see and remove
#: their link (``/unlink forget:True``).
DM_TOO: tuple[str, ...] = ("link", "unlink", "whois")

_Installs = app_commands.AppInstallationType
_Contexts = app_commands.AppCommandContext
ANYWHERE_INSTALLS = _Installs(guild=True, user=True)
ANYWHERE_CONTEXTS = _Contexts(guild=True, dm_channel=True, private_channel=True)
SERVER_INSTALLS = _Installs(guild=True, user=False)
SERVER_CONTEXTS = _Contexts(guild=True, dm_channel=False, private_channel=False)
SERVER_AND_DM_CONTEXTS = _Contexts(guild=True, dm_channel=True, private_channel=False)


def apply_installs(tree: app_commands.CommandTree) -> list[str]:
    """Set ``allowed_installs``/``allowed_contexts`` on every global top-level command;
    returns the names made user-installable."""
    anywhere: list[str] = []
    for command in tree.get_commands():
        if command.name in USER_INSTALLABLE:
            command.allowed_installs = ANYWHERE_INSTALLS
            command.allowed_contexts = ANYWHERE_CONTEXTS
            anywhere.append(command.name)
        elif command.name in DM_TOO:
            command.allowed_installs = SERVER_INSTALLS
            command.allowed_contexts = SERVER_AND_DM_CONTEXTS
        else:
            command.allowed_installs = SERVER_INSTALLS
            command.allowed_contexts = SERVER_CONTEXTS
    return anywhere
