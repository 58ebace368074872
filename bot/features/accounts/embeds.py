"""What /link, the Verify button, /unlink and /whois show."""

from __future__ import annotations

import discord

from bot.common.text import escape, plural
from bot.core.embeds import COLOUR_INFO, COLOUR_OK, COLOUR_WARNING, SafeEmbed
from bot.features.accounts.service import (
    CODE_LIFETIME,
    MAX_CHECKS,
    LinkOutcome,
    UnlinkOutcome,
    VerifyOutcome,
    WhoisOutcome,
)

_MINUTES = int(CODE_LIFETIME.total_seconds() // 60)


def service_tag_steps(code: str) -> str:
    return (
        f"1. In Halo Infinite, open **Customize → Spartan → Service Tag** (or halowaypoint.com) "
        f"and set it to `{code}`.\n"
        "2. Press **Verify** below (Halo can take a minute to show a new tag).\n"
        "3. Once verified, change your service tag back if you like."
    )


def link_embed(outcome: LinkOutcome) -> SafeEmbed:
    player = outcome.player
    lines = [f"Your Discord account is now linked to **{escape(player.gamertag)}**."]
    previous = outcome.previous
    if previous and previous.xuid != player.xuid:
        lines.append(f"It replaces **{escape(previous.gamertag)}**.")
    lines.append("Leave `player` empty in any command to look yourself up.")
    if outcome.tracked_here:
        lines.append("This server now follows your rank for announcements.")
    code = outcome.code
    if code is None:
        lines.append("Your link is **verified**.")
        colour = COLOUR_OK
    else:
        lines += [
            "",
            "Your link is **not verified** yet: servers that require verified links do not "
            "announce your rank, give you rank roles or list you on the leaderboard until "
            "you prove the account is yours.",
            f"Your code: `{code.code}` (valid {_MINUTES} minutes, {MAX_CHECKS} checks)",
            service_tag_steps(code.code),
        ]
        colour = COLOUR_INFO
    embed = SafeEmbed(title="Account linked", description="\n".join(lines), colour=colour)
    embed.set_footer(text=f"XUID {player.xuid}")
    return embed


def verify_embed(outcome: VerifyOutcome) -> SafeEmbed:
    name = escape(outcome.gamertag)
    code = outcome.code
    match outcome.kind:
        case "verified":
            text = (
                f"**{name}** is verified as yours: servers that require verified links now "
                "count it. You can change your service tag back now."
            )
            if outcome.taken_from:
                text += (
                    "\nAnother Discord account had verified this Halo account before: "
                    "it is no longer verified."
                )
            return SafeEmbed(title="Account verified", description=text, colour=COLOUR_OK)
        case "not_yet":
            seen = f"`{escape(outcome.seen_tag)}`" if outcome.seen_tag else "empty"
            text = (
                f"Halo shows the service tag of **{name}** as {seen}, not `{code}`. Set it "
                "to the code and try again in a minute: Halo can take a little while to show "
                f"a new tag. {plural(outcome.checks_left, 'check')} left."
            )
            return SafeEmbed(title="Not verified yet", description=text, colour=COLOUR_WARNING)
        case "already":
            text = f"**{name}** is already verified as yours: nothing to do."
            return SafeEmbed(title="Already verified", description=text, colour=COLOUR_INFO)
        case "expired":
            text = (
                f"The code `{code}` has expired ({_MINUTES} minutes). Run `/link` again "
                "for a new code."
            )
            return SafeEmbed(title="Code expired", description=text, colour=COLOUR_WARNING)
        case "too_many":
            text = (
                f"The code `{code}` was checked {MAX_CHECKS} times, the most allowed. Run "
                "`/link` again for a new code."
            )
            return SafeEmbed(title="Too many checks", description=text, colour=COLOUR_WARNING)
        case "private":
            text = (
                f"Halo does not show the customization of **{name}** (it is private or "
                "unavailable), so I cannot read the service tag. Try again later; nothing "
                "was counted against your checks."
            )
            return SafeEmbed(
                title="Customization unavailable", description=text, colour=COLOUR_WARNING
            )
        case "no_code":
            text = "There is no code waiting for this link. Run `/link` again for a new code."
            return SafeEmbed(title="No code", description=text, colour=COLOUR_WARNING)
        case _:
            text = (
                "This button belongs to a link you replaced or removed. Run `/link` again "
                "for a new code."
            )
            return SafeEmbed(title="Link changed", description=text, colour=COLOUR_WARNING)


def not_yours_embed() -> SafeEmbed:
    return SafeEmbed(
        title="Not your button",
        description="Only the member who ran `/link` can verify this link.",
        colour=COLOUR_WARNING,
    )


#: What /unlink alone keeps, said in its reply and in the README.
KEPT_BY_UNLINK = (
    "Kept: the players you looked up (for this server's suggestions) and the rank history "
    "of that Halo account. `/unlink forget:True` deletes those too."
)


def unlink_embed(outcome: UnlinkOutcome) -> SafeEmbed:
    forgotten = outcome.forgotten
    removed = outcome.removed
    if forgotten is None:
        assert removed is not None
        text = (
            f"**{escape(removed.gamertag)}** is no longer linked to your Discord account, "
            "and no server follows your rank any more. Rank roles I gave you are taken "
            f"back.\n{KEPT_BY_UNLINK}"
        )
        return SafeEmbed(title="Account unlinked", description=text, colour=COLOUR_OK)
    lines = [
        f"**{escape(removed.gamertag)}** is no longer linked to your Discord account."
        if removed is not None
        else "You had no linked Halo account.",
        "Deleted everything I stored about you:",
        f"- lookups: {plural(forgotten.lookups, 'note')} of who was looked up",
        f"- rank history: {plural(forgotten.snapshots, 'snapshot')}",
        f"- announcements about your account: {plural(forgotten.announcements, 'post')}",
        f"- tracking: {plural(forgotten.tracking, 'server')}",
        f"- verification: {plural(forgotten.verifications, 'record')}",
        "- rank roles I gave you: taken back and forgotten",
    ]
    if outcome.roles_left:
        lines.append(
            f"{plural(outcome.roles_left, 'rank role')} could not be taken back now "
            f"({outcome.roles_left_why}): a server admin can remove them by hand."
        )
    return SafeEmbed(title="Forgotten", description="\n".join(lines), colour=COLOUR_OK)


def whois_embed(outcome: WhoisOutcome, display_name: str) -> SafeEmbed:
    account = outcome.account
    embed = SafeEmbed(
        title=f"{escape(display_name)}'s Halo account",
        description=f"**{escape(account.gamertag)}**",
        colour=COLOUR_INFO,
    )
    embed.add_field(name="XUID", value=account.xuid)
    embed.add_field(name="Linked", value=discord.utils.format_dt(account.linked_at, "R"))
    if account.verified:
        state = "Yes (service tag)"
    elif outcome.vouched is not None:
        state = (
            "Yes (by an admin of this server)"
            if outcome.vouched.source == "admin"
            else "Yes (linked before verification existed)"
        )
    else:
        state = "No"
    embed.add_field(name="Verified", value=state)
    return embed
