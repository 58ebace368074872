"""Errors the bot turns into messages for users.

Every failure a user can meet has its own subclass of :class:`UserFacingError`
carrying the sentence shown to them. The API layer raises these; the cogs and
the tree-level error handler only ever read ``.message``.
"""

from __future__ import annotations


class BotError(Exception):
    """Base of every error this project raises on purpose."""


class ConfigError(BotError):
    """The configuration is missing or invalid. ``str(err)`` is one line for the operator."""


class UserFacingError(BotError):
    """An error whose ``message`` may be shown to a Discord user as is."""

    title: str = "Something went wrong"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidPlayerError(UserFacingError):
    """The text given is neither a gamertag nor a XUID."""

    title = "Invalid gamertag or XUID"


class PlayerNotFoundError(UserFacingError):
    """Halo knows no player with that gamertag or XUID."""

    title = "Player not found"


class NoDataError(UserFacingError):
    """The player exists but has no data here: never played ranked, empty or private record."""

    title = "No data"


class NotLinkedError(UserFacingError):
    """A member left ``player`` empty (or named a member) with no linked account."""

    title = "No linked account"


class RateLimitedError(UserFacingError):
    """A local limit (user cooldown, guild limit) or Halo's own 429 stopped the request."""

    title = "Slow down"

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class HaloUnavailableError(UserFacingError):
    """Halo's servers failed, timed out or could not be reached."""

    title = "Halo is not answering"


class HaloDataError(UserFacingError):
    """Halo answered with data we could not read (malformed JSON, wrong shape)."""

    title = "Unreadable answer from Halo"


class UpstreamRedirectError(HaloUnavailableError):
    """Halo or a sign-in server answered with a redirect (3xx). The bot never follows one:
    the request carries its Spartan token, clearance or refresh token, and a redirect
    could hand them to another host."""

    title = "Halo is not answering"


class SignInExpiredError(UserFacingError):
    """The bot's own Halo sign-in is dead; an admin must run ``halo-bot login``."""

    title = "Halo sign-in expired"


class XboxAccountError(UserFacingError):
    """XSTS refused the bot's account (no Xbox profile, child account, ...)."""

    title = "Xbox account problem"


class PermissionDeniedError(UserFacingError):
    """The member may not use this command here."""

    title = "Not allowed"


class InvalidOptionError(UserFacingError):
    """The command's options do not go together; the message says how to fix them."""

    title = "Check the options"


class BotPermissionError(UserFacingError):
    """The bot lacks a Discord permission it needs; the message names it."""

    title = "Missing permission"
