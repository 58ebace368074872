"""Embed builders: pure functions from models to ``discord.Embed``.

Discord's limits are enforced here (see :mod:`bot.embeds.limits`), so no
builder can fail on a long name.
"""

from bot.embeds.common import (
    COLOUR_ERROR,
    COLOUR_INFO,
    COLOUR_OK,
    COLOUR_WARNING,
    error_embed,
    unexpected_error_embed,
)
from bot.embeds.limits import SafeEmbed, clean, truncate

__all__ = [
    "COLOUR_ERROR",
    "COLOUR_INFO",
    "COLOUR_OK",
    "COLOUR_WARNING",
    "SafeEmbed",
    "clean",
    "error_embed",
    "truncate",
    "unexpected_error_embed",
]
