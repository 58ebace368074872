"""How far a series of send times goes over a rate, in its worst window."""

from __future__ import annotations


def worst_excess(sent: list[float], rate: float, slack: float = 0.0) -> float:
    """max over every window ``[sent[i], sent[j]]`` of ``count - rate * (length + slack)``
    (0.0 for no sends): a limiter that keeps to ``rate x t + 1`` scores at most 1.

    ``slack`` widens every window, for send times observed after an event loop's late
    wake-up rather than when they were granted."""
    times = sorted(sent)
    worst = 0.0
    for i, start in enumerate(times):
        for j in range(i, len(times)):
            worst = max(worst, (j - i + 1) - rate * (times[j] - start + slack))
    return worst
