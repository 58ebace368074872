"""The command tree and its one error handler: every failure becomes a clear, private message."""

from __future__ import annotations

import logging
import secrets

import discord
from discord import app_commands

from bot.common.errors import PermissionDeniedError, RateLimitedError, UserFacingError
from bot.common.metrics import INTERACTIONS
from bot.core import embeds

log = logging.getLogger(__name__)


def unwrap(error: BaseException) -> BaseException:
    """The error a command really raised, through discord.py's wrappers."""
    seen = 0
    while seen < 5 and isinstance(
        error, app_commands.CommandInvokeError | app_commands.TransformerError
    ):
        inner = error.__cause__ if isinstance(error, app_commands.TransformerError) else None
        error = inner or getattr(error, "original", None) or error
        seen += 1
        if not isinstance(error, app_commands.AppCommandError):
            break
    return error


def describe(error: BaseException) -> UserFacingError | None:
    """Map an error to the user-facing error to show, or None when it is unexpected."""
    error = unwrap(error)
    if isinstance(error, UserFacingError):
        return error
    if isinstance(error, app_commands.CommandOnCooldown):
        seconds = max(1, round(error.retry_after))
        return RateLimitedError(
            f"You're going a bit fast: try again in {seconds} seconds.", float(seconds)
        )
    if isinstance(error, app_commands.MissingPermissions):
        names = ", ".join(p.replace("_", " ").title() for p in error.missing_permissions)
        return PermissionDeniedError(f"You need the {names} permission to use this command.")
    if isinstance(error, app_commands.BotMissingPermissions):
        names = ", ".join(p.replace("_", " ").title() for p in error.missing_permissions)
        return PermissionDeniedError(f"I need the {names} permission here to do that.")
    if isinstance(error, app_commands.NoPrivateMessage):
        return PermissionDeniedError("This command only works inside a server.")
    if isinstance(error, app_commands.CheckFailure):
        return PermissionDeniedError("You are not allowed to use this command here.")
    return None


async def send_private(interaction: discord.Interaction, embed: discord.Embed) -> None:
    """Show ``embed`` to the invoker only, whatever state the interaction is in.

    A public ``defer()`` makes the first followup public too, so a deferred reply
    is deleted first and the message goes out as an ephemeral followup.
    """
    none = discord.AllowedMentions.none()
    if not interaction.response.is_done():
        await interaction.response.send_message(embed=embed, ephemeral=True, allowed_mentions=none)
        return
    try:
        await interaction.delete_original_response()
    except discord.HTTPException:
        log.debug("No original response to delete for interaction %s", interaction.id)
    await interaction.followup.send(embed=embed, ephemeral=True, allowed_mentions=none)


class HaloCommandTree(app_commands.CommandTree):
    """Command tree whose ``on_error`` answers every failed interaction."""

    async def on_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        known = describe(error)
        INTERACTIONS.labels(_command_name(interaction), "user_error" if known else "error").inc()
        if known is not None:
            log.info(
                "Command %s failed for user %s: %s",
                _command_name(interaction),
                interaction.user.id,
                type(known).__name__,
            )
            embed = embeds.error_embed(known)
        else:
            error_id = secrets.token_hex(4)
            log.error(
                "Unexpected error %s in command %s",
                error_id,
                _command_name(interaction),
                exc_info=unwrap(error),
            )
            embed = embeds.unexpected_error_embed(error_id)
        try:
            await send_private(interaction, embed)
        except discord.HTTPException as exc:
            log.warning("Could not report an error to the user: %s", exc)


def _command_name(interaction: discord.Interaction) -> str:
    command = interaction.command
    return f"/{command.qualified_name}" if command else "(unknown)"
