"""A server's tracked players ranked by their current CSR, from stored snapshots only."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bot.common.seq import chunks
from bot.halo import tiers
from bot.storage.models import Snapshot, TrackedMember

PAGE_SIZE = 10


@dataclass(frozen=True)
class Entry:
    """One ranked member: ``position`` is 1-based, shared by equal CSR."""

    position: int
    user_id: int
    gamertag: str
    value: int

    @property
    def rank(self) -> str:
        """``Diamond 3`` or ``Onyx 1550``."""
        return tiers.display_name(self.value)


@dataclass(frozen=True)
class Board:
    entries: tuple[Entry, ...]
    unranked: int  # tracked members without a current CSR (placement, never seen)

    def pages(self, size: int = PAGE_SIZE) -> list[tuple[Entry, ...]]:
        return list(chunks(self.entries, size)) or [()]

    def page_of(self, user_id: int, size: int = PAGE_SIZE) -> int:
        """The 0-based page the member is on (0 when they are not ranked)."""
        for index, entry in enumerate(self.entries):
            if entry.user_id == user_id:
                return index // size
        return 0

    def entry_of(self, user_id: int) -> Entry | None:
        return next((e for e in self.entries if e.user_id == user_id), None)


def build_board(members: Sequence[TrackedMember], latest: Mapping[str, Snapshot]) -> Board:
    """Members with a current CSR, highest first (then by gamertag); the rest counted."""
    ranked: list[tuple[int, str, TrackedMember]] = []
    unranked = 0
    for member in members:
        snapshot = latest.get(member.xuid)
        if snapshot is None or snapshot.value < 0:
            unranked += 1
            continue
        ranked.append((snapshot.value, member.gamertag.casefold(), member))
    ranked.sort(key=lambda item: (-item[0], item[1], item[2].user_id))
    entries: list[Entry] = []
    for index, (value, _, member) in enumerate(ranked):
        shared = entries[-1].position if entries and entries[-1].value == value else index + 1
        entries.append(Entry(shared, member.user_id, member.gamertag, value))
    return Board(tuple(entries), unranked)
