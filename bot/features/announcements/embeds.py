"""Rank-change announcement embeds, and packing them into as few messages as allowed."""

from __future__ import annotations

from collections.abc import Sequence

from bot.common.text import escape
from bot.core.embeds import COLOUR_INFO, COLOUR_OK, COLOUR_WARNING, TOTAL_MAX, SafeEmbed
from bot.features.announcements.changes import DOWN_KINDS, UP_KINDS, Announcement

#: Discord allows 10 embeds per message, 6000 characters of embed text in total.
EMBEDS_PER_MESSAGE = 10
MESSAGE_EMBED_TEXT_MAX = TOTAL_MAX
COLOUR_SEASON_HIGH = 0xEAB308
ARROW = "→"


def _signed(value: int) -> str:
    return f"+{value:,}" if value > 0 else f"{value:,}"


def _title(a: Announcement) -> str:
    name = escape(a.gamertag)
    kinds = set(a.kinds)
    new = a.new.display
    if "placement" in kinds:
        return f"{name} finished placement: {new}"
    if "tier_up" in kinds:
        return f"{name} reached {a.new.tier}"
    if "tier_down" in kinds:
        return f"{name} dropped to {a.new.tier}"
    if "sub_tier_up" in kinds:
        return f"{name} ranked up to {new}"
    if "sub_tier_down" in kinds:
        return f"{name} dropped to {new}"
    return f"{name} set a new season high"


def _colour(a: Announcement) -> int:
    kinds = set(a.kinds)
    if kinds & UP_KINDS:
        return COLOUR_OK
    if kinds & DOWN_KINDS:
        return COLOUR_WARNING
    if "placement" in kinds:
        return COLOUR_INFO
    return COLOUR_SEASON_HIGH


def announcement_embed(a: Announcement) -> SafeEmbed:
    """One player's change in one playlist: old -> new tier, CSR and delta, the tier icon."""
    who = " ".join(f"<@{user_id}>" for user_id in a.user_ids[:5])
    description = f"{who} · {a.playlist_name}" if who else a.playlist_name
    embed = SafeEmbed(
        title=_title(a), description=description, colour=_colour(a), timestamp=a.taken_at
    )
    if "placement" in a.kinds:
        embed.add_field(name="Rank", value=f"Placement {ARROW} **{a.new.display}**")
        embed.add_field(name="CSR", value=f"**{a.new.value:,}**")
    else:
        embed.add_field(name="Rank", value=f"{a.old.display} {ARROW} **{a.new.display}**")
        embed.add_field(
            name="CSR",
            value=f"{a.old.value:,} {ARROW} **{a.new.value:,}** ({_signed(a.delta)})",
        )
    if "season_high" in a.kinds and a.new_season_max is not None:
        before = "" if a.old_season_max is None else f" (was {a.old_season_max:,})"
        embed.add_field(name="New season high", value=f"**{a.new_season_max:,}**{before}")
    embed.set_thumbnail(url=a.new.icon_url)
    if a.season:
        embed.set_footer(text=f"Ranked season {a.season}")
    return embed


def pack_sizes(sizes: Sequence[int]) -> list[list[int]]:
    """Indices of items of these embed-text sizes grouped into messages, in order: at most
    10 embeds and 6000 characters of embed text each. Greedy, so the messages left after
    posting the first ones regroup exactly the same (what keeps a resent message, and its
    nonce, identical)."""
    messages: list[list[int]] = []
    current: list[int] = []
    total = 0
    for index, size in enumerate(sizes):
        if current and (
            len(current) >= EMBEDS_PER_MESSAGE or total + size > MESSAGE_EMBED_TEXT_MAX
        ):
            messages.append(current)
            current, total = [], 0
        current.append(index)
        total += size
    if current:
        messages.append(current)
    return messages
