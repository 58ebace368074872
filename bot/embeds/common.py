"""Colours and the embeds every command shares (errors)."""

from __future__ import annotations

from bot.embeds.limits import SafeEmbed
from bot.errors import (
    NotLinkedError,
    PermissionDeniedError,
    RateLimitedError,
    UserFacingError,
)

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
