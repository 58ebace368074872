"""The ``/history`` embed around the chart.

Example::

    Noble Six: Ranked Arena CSR
    The last 30 days, from the bot's rank checks.
     Now Diamond 6 (1,460) · Highest Onyx 1510 · Lowest Platinum 6 (1,180)
     Change +280 · Changes recorded 3
     [chart]
    XUID 2533274800000001 · times in UTC
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import discord

from bot.common.text import escape, plural
from bot.core.embeds import COLOUR_INFO, SafeEmbed
from bot.core.resolver import Player
from bot.features.history.chart import Run, points_of
from bot.halo import tiers
from bot.storage.models import Snapshot

CHART_FILE = "csr-history.png"


def rank_text(value: int) -> str:
    """``Diamond 3 (1,325)``, ``Onyx 1550``, or ``Unranked (placement)``."""
    if value < 0:
        return "Unranked (placement)"
    name = tiers.display_name(value)
    return name if value >= tiers.ONYX_START else f"{name} ({value:,})"


def chart_title(playlist: str, days: int) -> str:
    """The title drawn on the image: no player text (see :mod:`bot.features.history.chart`)."""
    return f"{playlist} CSR · last {plural(days, 'day')}"


def history_embed(
    player: Player,
    playlist: str,
    days: int,
    runs: Sequence[Run],
    *,
    latest: Snapshot,
    recorded: int,
    cut_to: int | None = None,
) -> SafeEmbed:
    """Now / highest / lowest / change of the drawn ``runs``, the chart as the image.
    ``latest`` is the player's newest snapshot (unranked shows as such), ``recorded`` the
    rows in the period, ``cut_to`` set when only the newest rows could be drawn."""
    values = [p.value for p in points_of(runs)]
    description = f"The last {plural(days, 'day')}, from the bot's rank checks."
    if cut_to is not None:
        description += f" Only the newest {cut_to:,} recorded changes are drawn."
    embed = SafeEmbed(
        title=f"{escape(player.gamertag)}: {escape(playlist)} CSR",
        description=description,
        colour=COLOUR_INFO,
    )
    embed.add_field(name="Now", value=rank_text(latest.value))
    embed.add_field(name="Highest", value=rank_text(max(values)))
    embed.add_field(name="Lowest", value=rank_text(min(values)))
    embed.add_field(name="Change", value=f"{values[-1] - values[0]:+,}")
    embed.add_field(name="Changes recorded", value=f"{recorded:,}")
    embed.set_image(url=f"attachment://{CHART_FILE}")
    embed.set_footer(text=f"XUID {player.xuid} · times in UTC")
    return embed


def chart_file(png: bytes) -> discord.File:
    """The chart as the attachment the embed shows (``attachment://`` :data:`CHART_FILE`)."""
    return discord.File(io.BytesIO(png), filename=CHART_FILE)
