"""Embeds of ``/operation`` and ``/events``: pure functions of the player and their standings."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime

import discord
from discord import app_commands

from bot.common.text import escape, plural
from bot.core.embeds import (
    CHOICE_MAX,
    COLOUR_INFO,
    COLOUR_OK,
    FIELD_VALUE_MAX,
    SafeEmbed,
    truncate,
)
from bot.core.resolver import Player
from bot.features.progression.calendar import Run
from bot.features.progression.catalogue import TrackInfo
from bot.features.progression.standing import Standing

DASH = "–"
CHECK = "✓"
#: Runs listed for one event at most (the rest are counted).
MAX_RUNS_SHOWN = 8


def format_run(run: Run | None) -> str:
    """``<t:..:D> – <t:..:D>``; ``""`` when neither end is known."""
    if run is None:
        return ""
    start = discord.utils.format_dt(run.start, "D") if run.start else "?"
    end = discord.utils.format_dt(run.end, "D") if run.end else "?"
    if run.start is None and run.end is None:
        return ""
    return f"{start} {DASH} {end}"


def rank_text(standing: Standing) -> str:
    """``12 of 20``; ``20 of 20 (max)`` when complete; ``12`` when the track's size is
    unknown (or its file disagrees with the player's rank)."""
    if standing.max_rank > 0 and standing.rank <= standing.max_rank:
        text = f"{standing.rank:,} of {standing.max_rank:,}"
    else:
        text = f"{standing.rank:,}"
    return f"{text} (max)" if standing.complete else text


def xp_text(standing: Standing) -> str:
    """``250 / 1,000 XP toward rank 6``; ``Max rank reached``; XP alone when unknown."""
    if standing.complete:
        return "Max rank reached"
    needed = standing.xp_needed
    if needed is None or needed <= 0:
        return f"{standing.partial_xp:,} XP toward rank {standing.rank + 1:,}"
    return f"{standing.partial_xp:,} / {needed:,} XP toward rank {standing.rank + 1:,}"


def _timing(info: TrackInfo, at: datetime) -> str:
    current = info.current_run(at)
    if current is not None:
        line = format_run(current)
        if current.end is not None:
            line += f" · ends {discord.utils.format_dt(current.end, 'R')}"
        return line
    return format_run(info.shown_run(at))


def _lines_within(lines: Sequence[str], limit: int = FIELD_VALUE_MAX) -> str:
    """Whole lines up to ``limit`` characters, then ``…and N more``."""
    shown: list[str] = []
    used = 0
    for index, line in enumerate(lines):
        rest = len(lines) - index - 1
        tail = len(f"\n…and {rest} more") if rest else 0
        cost = len(line) + (1 if shown else 0)
        if used + cost + tail > limit:
            shown.append(f"…and {len(lines) - index} more")
            break
        shown.append(line)
        used += cost
    return "\n".join(shown)


def owned_line(standing: Standing, *, with_id: bool = False) -> str:
    """``**Name**: 20 of 20 (max) ✓`` or ``**Name**: 12 of 20 · 60%``; ``with_id`` adds
    the TrackId (for Operations that share a name)."""
    name = f"**{escape(standing.info.name)}**"
    if with_id:
        name += f" ({escape(standing.info.track_id)})"
    if standing.complete:
        return f"{name}: {rank_text(standing)} {CHECK}"
    percent = standing.percent
    suffix = f" · {percent}%" if percent is not None else ""
    return f"{name}: {rank_text(standing)}{suffix}"


def operation_embed(
    player: Player,
    standing: Standing,
    *,
    others: Sequence[Standing],
    active: bool,
    at: datetime,
) -> SafeEmbed:
    """One Operation: rank x of max, XP into the rank, premium track; other owned Operations."""
    info = standing.info
    what = "Active Operation" if active else "Operation"
    lines = [f"{what} of **{escape(player.gamertag)}**"]
    timing = _timing(info, at)
    if timing:
        lines.append(timing)
    embed = SafeEmbed(
        title=f"{escape(info.name)}",
        description="\n".join(lines),
        colour=COLOUR_OK if standing.complete else COLOUR_INFO,
    )
    embed.add_field(name="Rank", value=rank_text(standing))
    embed.add_field(name="XP", value=xp_text(standing))
    embed.add_field(name="Premium track", value="Owned" if standing.owned else "Not owned")
    if others:
        names = Counter(s.info.name.casefold() for s in (standing, *others))
        embed.add_field(
            name=f"Other owned Operations ({len(others)})",
            value=_lines_within(
                [owned_line(s, with_id=names[s.info.name.casefold()] > 1) for s in others]
            ),
            inline=False,
        )
    embed.set_footer(text=f"{info.track_id} · XUID {player.xuid}")
    return embed


def event_line(standing: Standing, at: datetime) -> str:
    """The value of one event's field in ``/events``."""
    lines = [f"Rank {rank_text(standing)}" if standing.played else "Not played"]
    timing = _timing(standing.info, at)
    if timing:
        lines.append(timing)
    runs = len(standing.info.runs)
    if runs > 1:
        lines.append(f"Ran {plural(runs, 'time')}")
    return "\n".join(lines)


def event_field_name(info: TrackInfo, at: datetime) -> str:
    name = escape(info.name)
    return f"{name} (running now)" if info.is_running(at) else name


def events_embed(player: Player, standings: Sequence[Standing], *, at: datetime) -> SafeEmbed:
    """Current and recent events (and those the calendar misses) with the player's rank."""
    played = sum(1 for s in standings if s.played)
    embed = SafeEmbed(
        title=f"{escape(player.gamertag)}: events",
        description=(
            "Current and recent events, and those missing from Halo's calendar. "
            "Pick any other one with the `event` option."
        ),
        colour=COLOUR_INFO,
    )
    for standing in standings:
        embed.add_field(
            name=event_field_name(standing.info, at),
            value=event_line(standing, at),
            inline=False,
        )
    embed.set_footer(
        text=f"Ranks earned in {played} of {plural(len(standings), 'event')} · XUID {player.xuid}"
    )
    return embed


def event_embed(player: Player, standing: Standing, *, at: datetime) -> SafeEmbed:
    """One event: the player's rank x of max, its dates (every run) and its description."""
    info = standing.info
    lines = [f"Event progress of **{escape(player.gamertag)}**"]
    if info.description:
        lines.append(escape(info.description))
    embed = SafeEmbed(
        title=event_field_name(info, at),
        description="\n".join(lines),
        colour=COLOUR_OK if standing.complete else COLOUR_INFO,
    )
    embed.add_field(name="Rank", value=rank_text(standing))
    if not standing.complete and (standing.xp_needed or 0) > 1:
        embed.add_field(name="XP", value=xp_text(standing))
    runs = [r for r in info.runs if format_run(r)]
    if runs:
        newest = list(reversed(runs))
        shown = [
            format_run(r) + (" (now)" if r.is_running(at) else "") for r in newest[:MAX_RUNS_SHOWN]
        ]
        if len(newest) > MAX_RUNS_SHOWN:
            shown.append(f"…and {len(newest) - MAX_RUNS_SHOWN} earlier")
        label = "Dates" if len(runs) == 1 else f"Dates (ran {plural(len(runs), 'time')})"
        embed.add_field(name=label, value="\n".join(shown), inline=False)
    embed.set_footer(text=f"{info.track_id} · XUID {player.xuid}")
    return embed


def track_choice(info: TrackInfo, at: datetime) -> app_commands.Choice[str]:
    """One ``operation``/``event`` suggestion: the name, and ``now`` or the month it ran."""
    run = info.shown_run(at)
    if info.is_running(at):
        when = "now"
    elif run is not None and (run.start or run.end):
        moment = run.start or run.end
        assert moment is not None
        when = moment.strftime("%b %Y")
    else:
        when = ""
    label = truncate(f"{info.name} · {when}" if when else info.name, CHOICE_MAX)
    return app_commands.Choice(name=label, value=info.track_id[:CHOICE_MAX])
