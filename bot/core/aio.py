"""Small asyncio helpers shared by the commands."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar, cast

T = TypeVar("T")
A = TypeVar("A")
B = TypeVar("B")


async def gather_all(*calls: Awaitable[T]) -> list[T]:
    """Run ``calls`` together and return their results in order.

    Fails fast: the first failure cancels the calls still running and is raised at
    once. (A request queued behind a Halo 429 pause would otherwise wait the whole
    pause before the answer could go out.)
    """
    tasks = [asyncio.ensure_future(call) for call in calls]
    if not tasks:
        return []
    try:
        done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
    except BaseException:
        for task in tasks:
            task.cancel()
        raise
    failures = [t.exception() for t in tasks if t in done and not t.cancelled()]
    first = next((exc for exc in failures if exc is not None), None)
    if first is not None:
        for task in pending:
            task.cancel()
        raise first
    return [task.result() for task in tasks]


async def gather_pair(first: Awaitable[A], second: Awaitable[B]) -> tuple[A, B]:
    """:func:`gather_all` for two calls of different types."""
    a, b = await gather_all(first, second)  # type: ignore[arg-type]
    return cast(A, a), cast(B, b)
