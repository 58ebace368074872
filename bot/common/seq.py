"""Splitting a list into batches: Halo requests, SQL ``IN`` lists, pages."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TypeVar, cast

S = TypeVar("S", bound=Sequence[object])


def chunks(values: S, size: int) -> Iterator[S]:
    """Consecutive slices of ``values`` (of its own type) of at most ``size`` items."""
    for start in range(0, len(values), size):
        yield cast("S", values[start : start + size])
