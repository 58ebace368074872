"""The ``/compare`` embed: two players side by side.

Example::

    Noble Six vs Sïerra#2468
    Ranked Arena     Noble Six: Diamond 3 (1,325)  ·  Sïerra#2468: Onyx 1550 ▲
    ...
    Service record (all matchmaking, career)
                    Noble Six  Sïerra#2468
    Matches            2,664 ▲       1,012
    Win rate           52.7% ▲       50.1%
    ...
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bot.common.text import escape
from bot.core.embeds import COLOUR_INFO, SafeEmbed
from bot.core.resolver import Player
from bot.features.stats.embeds import rank_text
from bot.features.stats.standings import PlaylistStanding
from bot.halo.models import ServiceRecord

LEAD = "▲"
NAME_WIDTH = 14


@dataclass(frozen=True)
class Line:
    label: str
    value: Callable[[ServiceRecord], float | None]
    shown: Callable[[float], str]
    higher_is_better: bool = True


def _per_match(total: Callable[[ServiceRecord], float]) -> Callable[[ServiceRecord], float | None]:
    def value(record: ServiceRecord) -> float | None:
        return total(record) / record.matches_completed if record.matches_completed else None

    return value


LINES: tuple[Line, ...] = (
    Line("Matches", lambda r: r.matches_completed, lambda v: f"{v:,.0f}"),
    Line("Win rate", lambda r: r.win_rate, lambda v: f"{v:.1f}%"),
    Line("K/D", lambda r: r.kd_ratio if r.matches_completed else None, lambda v: f"{v:.2f}"),
    Line("KDA", lambda r: r.average_kda if r.matches_completed else None, lambda v: f"{v:+.2f}"),
    Line("Accuracy", lambda r: r.accuracy, lambda v: f"{v:.1f}%"),
    Line("Kills / match", _per_match(lambda r: r.core_stats.kills), lambda v: f"{v:.1f}"),
    Line("Damage / match", _per_match(lambda r: r.core_stats.damage_dealt), lambda v: f"{v:,.0f}"),
    Line("Deaths / match", _per_match(lambda r: r.core_stats.deaths), lambda v: f"{v:.1f}", False),
)


def _plain(name: str, width: int = NAME_WIDTH) -> str:
    """A gamertag for a code block: no backticks, cut to ``width``; a cut modern
    gamertag keeps its ``#1234`` suffix (``Masterch…#1234``)."""
    clean = "".join(ch for ch in name if ch != "`" and ch >= " ")
    if len(clean) <= width:
        return clean
    base, sep, suffix = clean.rpartition("#")
    if sep and base and suffix.isdigit() and len(suffix) + 3 <= width:
        return base[: width - len(suffix) - 2].rstrip() + "…#" + suffix
    return clean[: width - 1] + "…"


def _headers(a: str, b: str) -> tuple[str, str]:
    """The two column headers, never the same (the players differ, their cut names
    may not)."""
    ha, hb = _plain(a), _plain(b)
    if ha == hb:
        ha, hb = _plain(a, NAME_WIDTH - 4) + " (A)", _plain(b, NAME_WIDTH - 4) + " (B)"
    return ha, hb


def _rank_key(standing: PlaylistStanding) -> tuple[int, int, int]:
    return standing.rank_key


def playlist_line(a: Player, sa: PlaylistStanding, b: Player, sb: PlaylistStanding) -> str:
    def text(player: Player, standing: PlaylistStanding, lead: bool) -> str:
        current = standing.result.current if standing.result is not None else None
        shown = rank_text(current) if current is not None and standing.has_data else "Not played"
        return f"**{escape(player.gamertag)}**: {shown}{' ' + LEAD if lead else ''}"

    ka, kb = _rank_key(sa), _rank_key(sb)
    return f"{text(a, sa, ka > kb)}\n{text(b, sb, kb > ka)}"


def record_table(a: Player, ra: ServiceRecord | None, b: Player, rb: ServiceRecord | None) -> str:
    ha, hb = _headers(a.gamertag, b.gamertag)
    rows = [f"{'':<15}{ha:>{NAME_WIDTH + 2}}{hb:>{NAME_WIDTH + 2}}"]
    for line in LINES:
        va = line.value(ra) if ra is not None and not ra.is_empty else None
        vb = line.value(rb) if rb is not None and not rb.is_empty else None
        lead_a = va is not None and (vb is None or (va > vb if line.higher_is_better else va < vb))
        lead_b = vb is not None and (va is None or (vb > va if line.higher_is_better else vb < va))
        cells = [
            (line.shown(v) if v is not None else "–") + (f" {LEAD}" if lead else "  ")
            for v, lead in ((va, lead_a), (vb, lead_b))
        ]
        rows.append(f"{line.label:<15}{cells[0]:>{NAME_WIDTH + 2}}{cells[1]:>{NAME_WIDTH + 2}}")
    return "```\n" + "\n".join(rows) + "\n```"


def compare_embed(
    a: Player,
    b: Player,
    standings: Sequence[tuple[PlaylistStanding, PlaylistStanding]],
    records: tuple[ServiceRecord | None, ServiceRecord | None],
) -> SafeEmbed:
    embed = SafeEmbed(
        title=f"{escape(a.gamertag)} vs {escape(b.gamertag)}",
        description=f"{LEAD} marks who is ahead. Ranked CSR: current season.",
        colour=COLOUR_INFO,
    )
    for sa, sb in standings:
        embed.add_field(name=escape(sa.playlist.name), value=playlist_line(a, sa, b, sb))
    embed.add_field(
        name="Service record (all matchmaking, career)",
        value=record_table(a, records[0], b, records[1]),
        inline=False,
    )
    embed.set_footer(text=f"XUIDs {a.xuid} · {b.xuid}")
    return embed
