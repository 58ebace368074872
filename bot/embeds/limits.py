"""Discord's embed limits, and escaping of text that came from players."""

from __future__ import annotations

from typing import Any

import discord

TITLE_MAX = 256
DESCRIPTION_MAX = 4096
FIELDS_MAX = 25
FIELD_NAME_MAX = 256
FIELD_VALUE_MAX = 1024
FOOTER_MAX = 2048
AUTHOR_MAX = 256
TOTAL_MAX = 6000
ELLIPSIS = "…"


def truncate(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, ending in an ellipsis when cut."""
    if len(text) <= limit:
        return text
    return text[: max(0, limit - 1)].rstrip() + ELLIPSIS


def clean(text: object) -> str:
    """Player-controlled text made inert: no markdown, no mentions, no links."""
    escaped = discord.utils.escape_markdown(str(text))
    escaped = discord.utils.escape_mentions(escaped)
    # Keep invisible and control characters from hiding or reshaping the layout.
    return "".join(ch for ch in escaped if ch >= " " or ch == "\n")


class SafeEmbed(discord.Embed):
    """An embed whose setters truncate to Discord's limits and keep the total under 6000."""

    def __init__(self, **kwargs: Any) -> None:
        if kwargs.get("title"):
            kwargs["title"] = truncate(str(kwargs["title"]), TITLE_MAX)
        if kwargs.get("description"):
            kwargs["description"] = truncate(str(kwargs["description"]), DESCRIPTION_MAX)
        kwargs.setdefault("colour", 0x3B82F6)
        super().__init__(**kwargs)

    def add_field(self, *, name: Any, value: Any, inline: bool = True) -> SafeEmbed:
        if len(self.fields) >= FIELDS_MAX:
            return self
        name_text = truncate(str(name) or "\u200b", FIELD_NAME_MAX)
        value_text = truncate(str(value) or "\u200b", FIELD_VALUE_MAX)
        room = TOTAL_MAX - len(self) - len(name_text)
        if room < 16:
            return self
        super().add_field(name=name_text, value=truncate(value_text, room), inline=inline)
        return self

    def set_footer(self, *, text: Any = None, icon_url: Any = None) -> SafeEmbed:
        text_value = truncate(str(text), FOOTER_MAX) if text is not None else None
        super().set_footer(text=text_value, icon_url=icon_url)
        return self

    def set_author(self, *, name: Any, url: Any = None, icon_url: Any = None) -> SafeEmbed:
        super().set_author(name=truncate(str(name), AUTHOR_MAX), url=url, icon_url=icon_url)
        return self
