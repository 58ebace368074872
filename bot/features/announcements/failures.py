"""How the rank loop reports cycles that keep failing: one ERROR with the cause (and its
traceback) when an error starts, then at most one "still failing" line per
``repeat_seconds`` while the same error repeats, and one INFO line when a cycle succeeds
again. A different error starts a new episode (logged with its traceback)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

log = logging.getLogger(__name__)

#: How often a repeating failure is logged again (one line, no traceback).
REPEAT_SECONDS = 3600.0


def _cause(exc: BaseException) -> str:
    text = str(exc)
    return f"{exc.__class__.__name__}: {text}" if text else exc.__class__.__name__


@dataclass
class _Episode:
    cause: str
    since: datetime
    last_logged: float
    failed: int = 1


class CycleFailures:
    """The failing-cycle episode of one loop, logged to ``logger``. ``clock``: seconds,
    monotonic (tests pass their own); ``now``: the wall clock named in "since" lines."""

    def __init__(
        self,
        what: str = "Rank announcement cycle",
        *,
        repeat_seconds: float = REPEAT_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        logger: logging.Logger = log,
    ) -> None:
        self.what = what
        self.log = logger
        self.repeat_seconds = repeat_seconds
        self.clock = clock
        self.now = now
        self._episode: _Episode | None = None

    @property
    def failing(self) -> bool:
        return self._episode is not None

    @property
    def failed_cycles(self) -> int:
        """Failed cycles in the current episode (0: the last cycle succeeded)."""
        return 0 if self._episode is None else self._episode.failed

    def failed(self, exc: BaseException) -> None:
        cause = _cause(exc)
        episode = self._episode
        if episode is None or episode.cause != cause:
            self._episode = _Episode(cause, self.now(), self.clock())
            self.log.error("%s failed: %s", self.what, cause, exc_info=exc)
            return
        episode.failed += 1
        if self.clock() - episode.last_logged >= self.repeat_seconds:
            episode.last_logged = self.clock()
            self.log.error(
                "%s still failing since %s (%d failed cycles): %s",
                self.what,
                episode.since.strftime("%Y-%m-%d %H:%M:%S UTC"),
                episode.failed,
                cause,
            )

    def succeeded(self) -> None:
        episode, self._episode = self._episode, None
        if episode is not None:
            self.log.info(
                "%s recovered after %d failed cycles (failing since %s: %s)",
                self.what,
                episode.failed,
                episode.since.strftime("%Y-%m-%d %H:%M:%S UTC"),
                episode.cause,
            )
