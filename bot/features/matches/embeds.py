"""The ``/matches`` pages: a player's recent matches, five to a page.

Example (one match)::

    ✅ Win · Slayer on Aquarius
    Ranked Arena · <t:1738124225:R> · 9 min
    K/D/A 18 / 8 / 5 · CSR 1,530 → 1,532 (+2)
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import discord

from bot.common.text import escape
from bot.core.embeds import COLOUR_INFO, SafeEmbed
from bot.core.resolver import Player
from bot.features.matches.details import PAGE_SIZE, CsrChange, MatchLine, page_count
from bot.features.stats.embeds import rank_text
from bot.halo import tiers
from bot.halo.models import MatchHistoryEntry

OUTCOME_MARKS = {"Win": "✅", "Loss": "❌", "Tie": "➖"}
RECORD_ORDER = (("Win", "W"), ("Loss", "L"), ("Tie", "T"), ("Did not finish", "DNF"))
INCOMPLETE = "Halo did not answer for some details: try again in a moment."


def csr_text(change: CsrChange) -> str:
    """``CSR 1,530 → 1,532 (+2)``, ``Placed: Diamond 3 (1,325)`` or ``Placement 3 of 5``."""
    delta = change.delta
    if delta is not None:
        return f"CSR {change.before.value:,} → {change.after.value:,} ({delta:+d})"
    if change.after.has_value:
        return f"Placed: {rank_text(change.after)}"
    return tiers.placement_text(change.after) or "Unranked"


def _minutes(line: MatchLine) -> str | None:
    duration = line.entry.match_info.duration
    if duration is None or duration.total_seconds() <= 0:
        return None
    return f"{max(1, round(duration.total_seconds() / 60))} min"


def match_field(line: MatchLine) -> tuple[str, str]:
    """The field name (result and mode) and value (where, when, how it went)."""
    outcome = line.entry.outcome_name
    name = f"{OUTCOME_MARKS.get(outcome, '•')} {outcome} · {escape(line.mode)}"
    info = line.entry.match_info
    when = discord.utils.format_dt(info.end_time or info.start_time, "R")
    first = [escape(line.playlist_name)] if line.playlist_name else []
    first += [when] + ([m] if (m := _minutes(line)) else [])
    second = []
    if line.kda is not None:
        second.append(f"K/D/A {line.kda.kills} / {line.kda.deaths} / {line.kda.assists}")
    if line.csr is not None:
        second.append(csr_text(line.csr))
    if line.incomplete:
        second.append("some details unavailable")
    value = " · ".join(first) + ("\n" + " · ".join(second) if second else "")
    return name, value


def record_text(entries: Sequence[MatchHistoryEntry]) -> str:
    """``Last 25 matches: 12 W · 12 L · 1 T``."""
    counts = Counter(e.outcome_name for e in entries)
    parts = [f"{counts[name]} {short}" for name, short in RECORD_ORDER if counts[name]]
    noun = "match" if len(entries) == 1 else f"{len(entries)} matches"
    return f"Last {noun}: " + (" · ".join(parts) or "no result yet")


def matches_embed(
    player: Player,
    entries: Sequence[MatchHistoryEntry],
    lines: Sequence[MatchLine],
    index: int,
) -> SafeEmbed:
    """Page ``index`` (0-based) of ``entries``, with ``lines`` the details of its matches."""
    description = f"Matchmaking, newest first. {record_text(entries)}"
    if any(line.incomplete for line in lines):
        description += f"\n{INCOMPLETE}"
    embed = SafeEmbed(
        title=f"{escape(player.gamertag)}: recent matches",
        description=description,
        colour=COLOUR_INFO,
    )
    for line in lines:
        name, value = match_field(line)
        embed.add_field(name=name, value=value, inline=False)
    first = index * PAGE_SIZE + 1
    last = first + len(lines) - 1
    shown = f"Match {first}" if first == last else f"Matches {first}–{last}"
    pages = page_count(len(entries))
    paging = f" · page {index + 1} of {pages}" if pages > 1 else ""
    embed.set_footer(text=f"{shown} of {len(entries)}{paging} · XUID {player.xuid}")
    return embed
