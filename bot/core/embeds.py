"""Embeds every command shares: Discord's limits (:class:`SafeEmbed`), escaping of text that
came from players, the colours, and the error embeds.

Every builder uses :class:`SafeEmbed`, so none can fail on a long name."""

from __future__ import annotations

from typing import Any

import discord

from bot.common.errors import (
    NotLinkedError,
    PermissionDeniedError,
    RateLimitedError,
    UserFacingError,
)

TITLE_MAX = 256
DESCRIPTION_MAX = 4096
FIELDS_MAX = 25
FIELD_NAME_MAX = 256
FIELD_VALUE_MAX = 1024
FOOTER_MAX = 2048
AUTHOR_MAX = 256
TOTAL_MAX = 6000
#: A slash-command choice's name and value.
CHOICE_MAX = 100
ELLIPSIS = "…"


def truncate(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, ending in an ellipsis when cut."""
    if len(text) <= limit:
        return text
    return text[: max(0, limit - 1)].rstrip() + ELLIPSIS


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


COLOUR_INFO = 0x3B82F6
COLOUR_OK = 0x22C55E
COLOUR_WARNING = 0xF59E0B
COLOUR_ERROR = 0xEF4444


def error_embed(error: UserFacingError) -> SafeEmbed:
    """The private message for a known failure: its title and its sentence."""
    warning = isinstance(error, RateLimitedError | NotLinkedError | PermissionDeniedError)
    colour = COLOUR_WARNING if warning else COLOUR_ERROR
    return SafeEmbed(title=error.title, description=error.message, colour=colour)


def unexpected_error_embed(error_id: str) -> SafeEmbed:
    """The apology for a bug, with the id under which it was logged."""
    return SafeEmbed(
        title="Something went wrong",
        description=(
            "Sorry, something went wrong on our side and the command could not finish. "
            f"It has been logged as error `{error_id}`: mention it if you report this."
        ),
        colour=COLOUR_ERROR,
    )
