"""The ``/leaderboard`` pages.

Example::

    Leaderboard: Ranked Arena
    `#1`  Sïerra#2468 · Onyx 1550 · @sierra
    `#2`  ▶ **Noble Six · Diamond 3 (1,325)** · @you
    ...
    Page 1 of 3 · 24 ranked, 3 not ranked yet · from the last rank checks
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.common.text import escape
from bot.core.embeds import COLOUR_INFO, SafeEmbed
from bot.features.leaderboard.board import Board, Entry

MARK = "▶"


def entry_line(entry: Entry, *, you: bool) -> str:
    rank = entry.rank if entry.value >= 1500 else f"{entry.rank} ({entry.value:,})"
    text = f"{escape(entry.gamertag)} · {rank}"
    if you:
        return f"`#{entry.position}` {MARK} **{text}** · <@{entry.user_id}>"
    return f"`#{entry.position}` {text} · <@{entry.user_id}>"


def absent_line(playlist: str, *, tracked: bool) -> str:
    """Why the caller has no line on the board."""
    if tracked:
        return f"Not ranked in {escape(playlist)} yet (placement, or no rank check since)."
    return "You are not tracked in this server: `/link` your account to join the board."


def leaderboard_pages(
    board: Board, playlist: str, *, caller_id: int, caller_tracked: bool = True
) -> list[SafeEmbed]:
    """One embed per page; the caller's line is marked where it is, and repeated under
    every other page (or why they have none)."""
    pages = board.pages()
    mine = board.entry_of(caller_id)
    embeds: list[SafeEmbed] = []
    for number, page in enumerate(pages, start=1):
        lines: Sequence[str] = [entry_line(e, you=e.user_id == caller_id) for e in page]
        embed = SafeEmbed(
            title=f"Leaderboard: {escape(playlist)}",
            description="\n".join(lines),
            colour=COLOUR_INFO,
        )
        if mine is None:
            embed.add_field(
                name="You", value=absent_line(playlist, tracked=caller_tracked), inline=False
            )
        elif mine not in page:
            embed.add_field(name="You", value=entry_line(mine, you=True), inline=False)
        not_ranked = f", {board.unranked} not ranked yet" if board.unranked else ""
        embed.set_footer(
            text=f"Page {number} of {len(pages)} · {len(board.entries)} ranked{not_ranked}"
            " · from the last rank checks"
        )
        embeds.append(embed)
    return embeds
