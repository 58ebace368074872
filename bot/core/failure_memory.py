"""Remembering that Halo just failed, so autocomplete does not ask again at every keystroke.

Autocomplete runs on every keystroke and bypasses the command limits (Discord gives it
three seconds and no way to say "wait"). The lookup tables behind it (seasons, the
Operations and events catalogue) are built from Halo; when a build fails, the keystrokes
that follow within :data:`FAILURE_MEMORY_SECONDS` answer from what is cached (or nothing)
and start no build, whatever was typed.
"""

from __future__ import annotations

import time
from collections.abc import Callable

#: After a failed build, autocomplete starts no other one for this long.
FAILURE_MEMORY_SECONDS = 30.0


class FailureMemory:
    """When the last failure was, forgotten after ``seconds`` or at the next success."""

    def __init__(
        self,
        seconds: float = FAILURE_MEMORY_SECONDS,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.seconds = seconds
        self._clock = clock
        self._failed_at: float | None = None

    def failed(self) -> None:
        self._failed_at = self._clock()

    def succeeded(self) -> None:
        self._failed_at = None

    def remembered(self) -> bool:
        """A failure less than ``seconds`` ago (and no success since)."""
        return self._failed_at is not None and self._clock() - self._failed_at < self.seconds
