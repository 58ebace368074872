"""The ``/servicerecord`` embed: matchmaking stats, career or one season.

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

from bot.embeds.common import COLOUR_INFO
from bot.embeds.limits import SafeEmbed
from bot.halo.models import ServiceRecord
from bot.players import Player
from bot.seasons import Season
from bot.stats import MedalTally
from bot.text import escape, human_duration


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
