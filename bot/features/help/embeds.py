"""The /help and /about embeds."""

from __future__ import annotations

from collections.abc import Sequence

from bot.common.text import plural
from bot.core.embeds import SafeEmbed
from bot.features.help.service import AboutInfo, HelpEntry

PRIVACY_SUMMARY = (
    "Stored: linked accounts (Discord user id, XUID, gamertag), the players members looked "
    "up recently in a server (for suggestions), server settings, tracked members and the "
    "rank roles given, rank snapshots of tracked players, and gamertags seen on Halo. "
    "`/unlink` deletes your link and your tracking."
)


def _line(entry: HelpEntry) -> str:
    text = f"`/{entry.name}`: {entry.description}"
    if entry.example:
        text += f"\n  e.g. `{entry.example}`"
    return text


def help_embed(entries: Sequence[HelpEntry]) -> SafeEmbed:
    anywhere = [e for e in entries if e.anywhere]
    servers = [e for e in entries if not e.anywhere]
    parts = ["**Lookups** (in servers, and in DMs when installed to your account)"]
    parts += [_line(e) for e in anywhere]
    parts += ["", "**Server features**"]
    parts += [_line(e) for e in servers]
    embed = SafeEmbed(title="Commands", description="\n".join(parts))
    embed.set_footer(text="A player is a gamertag (with #1234 if it has one), a XUID or @member.")
    return embed


def duration_text(seconds: float) -> str:
    minutes, _ = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        return f"{plural(days, 'day')} {plural(hours, 'hour')}"
    if hours:
        return f"{plural(hours, 'hour')} {plural(minutes, 'minute')}"
    return plural(minutes, "minute") if minutes else "less than a minute"


def about_embed(info: AboutInfo) -> SafeEmbed:
    embed = SafeEmbed(
        title="Halo Infinite stats for Discord",
        description="Ranked CSR, service records, Operations, events, matches and "
        "rank-change announcements.",
    )
    embed.add_field(name="Version", value=info.version)
    embed.add_field(name="Uptime", value=duration_text(info.uptime_seconds))
    embed.add_field(name="Servers", value=str(info.servers))
    if info.halo_last_success is None:
        last = "no successful call yet"
    else:
        last = f"<t:{int(info.halo_last_success)}:R>"
    wait = info.halo_wait_seconds
    queue = "none" if wait < 0.05 else f"{wait:.1f} s"
    embed.add_field(
        name="Halo", value=f"Last successful call: {last}\nCurrent wait: {queue}", inline=False
    )
    if info.server_invite and info.user_install:
        embed.add_field(
            name="Add the bot",
            value=f"[Add to a server]({info.server_invite}) · "
            f"[Install to your account]({info.user_install})",
            inline=False,
        )
    privacy = PRIVACY_SUMMARY
    if info.privacy_url:
        privacy += f" [Privacy]({info.privacy_url})"
    embed.add_field(name="Privacy", value=privacy, inline=False)
    return embed
