"""The ``/csr`` and ``/servicerecord`` embeds.

``/csr``: a player's ranked standing per playlist.

Example (Discord shows the tier art as the thumbnail)::

    Noble Six: ranked CSR
    Best: Ranked Arena · Diamond 3
    ┌ Ranked Arena ────────────────────────────────────
    │ Diamond 3 · 1,325 CSR
    │ ▰▰▰▰▰▱▱▱▱▱ 25 / 50 to Diamond 4
    │ Season max: Diamond 3 (1,325) · All-time max: Diamond 3 (1,325)
    ┌ Ranked Doubles ──────────────────────────────────
    │ Unranked · Placement 3 of 5
    XUID 2533274800000001

``/servicerecord``: matchmaking stats, career or one season.

Example::

    aCurtis X89: service record
    All matchmaking · career
    Matches 1,234      Record 700 W · 500 L · 34 T     Win rate 56.7%
    Kills / deaths / assists 12,345 / 10,000 / 5,000   K/D 1.23   KDA 5.01
    Accuracy 48.2%     Damage 1,234,567 dealt · 1,000,000 taken
    Kills by type   Headshots 5,000 · Melee 1,200 · Grenades 800 · Power weapons 900
    Time played 12 days 4 hours
    Top medals   Double Kill ×1,234 · Killing Spree ×300 · ...
    XUID 2535445291321133
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from discord import app_commands

from bot.common.text import escape, human_duration
from bot.core.embeds import CHOICE_MAX, COLOUR_INFO, SafeEmbed, truncate
from bot.core.resolver import Player
from bot.features.stats.seasons import Season
from bot.features.stats.standings import MedalTally, PlaylistStanding, best_standing
from bot.halo import tiers
from bot.halo.models import CsrValue, ServiceRecord

#: Embed colour per tier (the in-game palette, roughly).
TIER_COLOURS = {
    "Bronze": 0xB0703C,
    "Silver": 0xA9B4C2,
    "Gold": 0xE3B53B,
    "Platinum": 0x6FC3C9,
    "Diamond": 0x4EA8E8,
    "Onyx": 0x3A3A3A,
}

PLACEMENT_BAR = 5


def rank_text(csr: CsrValue) -> str:
    """``Diamond 4 (1,347)``, ``Onyx 1549`` (in-game style, as /leaderboard and /history
    write it) or ``Unranked``."""
    if not csr.has_value:
        return tiers.UNRANKED.name
    name, _ = tiers.tier_of(csr)
    if name == tiers.ONYX.name:
        return f"{name} {csr.value}"
    return f"{csr.display_name} ({csr.value:,})"


def _next_step(csr: CsrValue, into: int, span: int) -> str:
    """What the bar leads to: the next sub-tier's name."""
    return tiers.display_name(csr.value - into + span)


def progress_line(csr: CsrValue) -> str | None:
    """``▰▰▰▰▱▱▱▱▱▱ 47 / 50 to Diamond 5``; ``None`` for Onyx and the unranked."""
    done = tiers.progress(csr)
    if done is None:
        return None
    into, span = done
    return f"{tiers.progress_bar(csr)} {into} / {span} to {_next_step(csr, into, span)}"


def placement_line(csr: CsrValue) -> str:
    """``▰▰▰▱▱ Placement 3 of 5``."""
    initial = max(csr.initial_measurement_matches, 0)
    played = tiers.placement_matches_played(csr)
    width = max(1, min(initial, 10)) if initial else PLACEMENT_BAR
    cells = played * width // initial if initial else 0
    bar = tiers.BAR_FULL * cells + tiers.BAR_EMPTY * (width - cells)
    return f"{bar} {tiers.placement_text(csr)}"


def standing_text(standing: PlaylistStanding) -> str:
    """The value of one playlist's field."""
    result = standing.result
    if result is None or not standing.has_data:
        return "Not played"
    current = result.current
    lines: list[str] = []
    if current.has_value:
        name, _ = tiers.tier_of(current)
        title = name if name == tiers.ONYX.name else current.display_name
        lines.append(f"**{title}** · {current.value:,} CSR")
        step = progress_line(current)
        if step:
            lines.append(step)
    elif current.in_placement:
        lines.append("**Unranked**")
        lines.append(placement_line(current))
    else:
        lines.append("**Unranked** this season")
    bests = []
    if result.season_max is not None and result.season_max.has_value:
        bests.append(f"Season max: {rank_text(result.season_max)}")
    if result.all_time_max is not None and result.all_time_max.has_value:
        bests.append(f"All-time max: {rank_text(result.all_time_max)}")
    if bests:
        lines.append(" · ".join(bests))
    return "\n".join(lines)


def _colour(standing: PlaylistStanding | None) -> int:
    if standing is None or standing.result is None:
        return COLOUR_INFO
    name, _ = tiers.tier_of(standing.result.current)
    return TIER_COLOURS.get(name, COLOUR_INFO)


def csr_embed(
    player: Player,
    standings: Sequence[PlaylistStanding],
    *,
    season: Season | None = None,
    chosen: bool = False,
) -> SafeEmbed:
    """Every ranked playlist's standing (or the one ``chosen``), best tier as thumbnail."""
    gamertag = escape(player.gamertag)
    title = f"{gamertag}: ranked CSR"
    if chosen and standings:
        title = f"{gamertag}: {escape(standings[0].playlist.name)}"
    featured = standings[0] if chosen and standings else best_standing(standings)
    lines = []
    if season is not None:
        when = f" ({season.dates})" if season.dates else ""
        lines.append(f"Season: **{escape(season.name)}**{when}")
    else:
        lines.append("Current ranked season")
    if not chosen and featured is not None and featured.result is not None:
        lines.append(
            f"Best: **{escape(featured.playlist.name)}** · {featured.result.current.display_name}"
        )
    embed = SafeEmbed(title=title, description="\n".join(lines), colour=_colour(featured))
    for standing in standings:
        embed.add_field(
            name=escape(standing.playlist.name), value=standing_text(standing), inline=False
        )
    if featured is not None and featured.result is not None:
        embed.set_thumbnail(url=featured.result.current.icon_url)
    footer = f"XUID {player.xuid}"
    if season is not None:
        footer = f"{season.season_id} · {footer}"
    embed.set_footer(text=footer)
    return embed


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}%"


def scope_text(*, ranked: bool, season: Season | None) -> str:
    """``Ranked matchmaking · Season 7`` or ``All matchmaking · career``."""
    mode = "Ranked matchmaking" if ranked else "All matchmaking"
    if season is None:
        return f"{mode} · career"
    return f"{mode} · {escape(season.name)}"


def service_record_embed(
    player: Player,
    record: ServiceRecord,
    medals: Sequence[MedalTally],
    *,
    ranked: bool,
    season: Season | None = None,
) -> SafeEmbed:
    stats = record.core_stats
    embed = SafeEmbed(
        title=f"{escape(player.gamertag)}: service record",
        description=scope_text(ranked=ranked, season=season),
        colour=COLOUR_INFO,
    )
    embed.add_field(name="Matches", value=f"{record.matches_completed:,}")
    embed.add_field(
        name="Record", value=f"{record.wins:,} W · {record.losses:,} L · {record.ties:,} T"
    )
    embed.add_field(name="Win rate", value=_percent(record.win_rate))
    embed.add_field(
        name="Kills / deaths / assists",
        value=f"{stats.kills:,} / {stats.deaths:,} / {stats.assists:,}",
    )
    embed.add_field(name="K/D", value=f"{record.kd_ratio:.2f}")
    embed.add_field(name="KDA", value=f"{record.average_kda:+.2f}")
    embed.add_field(name="Accuracy", value=_percent(record.accuracy))
    embed.add_field(
        name="Damage",
        value=f"{stats.damage_dealt:,} dealt · {stats.damage_taken:,} taken",
    )
    embed.add_field(name="Time played", value=human_duration(record.time_played.total_seconds()))
    embed.add_field(
        name="Kills by type",
        value=(
            f"Headshots {stats.headshot_kills:,} · Melee {stats.melee_kills:,} · "
            f"Grenades {stats.grenade_kills:,} · Power weapons {stats.power_weapon_kills:,}"
        ),
        inline=False,
    )
    if medals:
        embed.add_field(
            name="Top medals",
            value="\n".join(f"{escape(m.name)} ×{m.count:,}" for m in medals),
            inline=False,
        )
    footer = f"XUID {player.xuid}"
    if season is not None:
        footer = f"{season.season_id} · {footer}"
    embed.set_footer(text=footer)
    return embed


def season_choice(season: Season, at: datetime) -> app_commands.Choice[str]:
    """One ``season`` suggestion: name, dates and whether it runs now (at most 100 each)."""
    label = truncate(season.label(at), CHOICE_MAX)
    return app_commands.Choice(name=label, value=season.season_id[:CHOICE_MAX])
