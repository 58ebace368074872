"""Making text that came from players or users safe to show in Discord.

Kept free of discord.py so the API layer can build messages with it too.
"""

from __future__ import annotations

import re

_MARKDOWN = re.compile(r"([\\*_`~|>#\[\]()\-])")
_MENTION = re.compile(r"@(everyone|here|[!&]?\d+)")
_ZERO_WIDTH = "\u200b"


def escape(text: object) -> str:
    """Escape markdown and break mentions; strip control characters."""
    value = "".join(ch for ch in str(text) if ch == "\n" or (ch >= " " and ch != "\x7f"))
    value = _MARKDOWN.sub(r"\\\1", value)
    value = value.replace("<", "<" + _ZERO_WIDTH)
    return _MENTION.sub(lambda m: "@" + _ZERO_WIDTH + m.group(1), value)


def plural(count: int, word: str, words: str | None = None) -> str:
    """``1 match``, ``2 matches``."""
    return f"{count:,} {word if count == 1 else (words or word + 's')}"


def human_duration(seconds: float) -> str:
    """``3 days 4 hours 12 minutes``: the two or three largest units, or ``under a minute``."""
    total = int(seconds)
    if total < 60:
        return "under a minute"
    days, rest = divmod(total, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes = rest // 60
    parts = [
        plural(value, unit)
        for value, unit in ((days, "day"), (hours, "hour"), (minutes, "minute"))
        if value
    ]
    return " ".join(parts[:2] if days else parts)
