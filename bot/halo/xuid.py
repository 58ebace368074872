"""What a member typed -> a player reference, rejecting anything else before any request.

Accepted forms (after Unicode NFC normalisation, trimming and collapsing runs of
spaces into one):

* ``xuid(2533274800000000)`` (any case) or a bare XUID: 1 to 16 ASCII digits;
* a Discord member mention ``<@123>`` / ``<@!123>``;
* a classic gamertag: 1 to 15 ASCII letters, digits and single spaces, not
  starting with a digit;
* a modern gamertag: 1 to 12 Unicode letters, digits and single spaces
  (combining marks allowed after the first character, for scripts that need
  them), plus an optional ``#1234`` suffix of 1 to 4 digits.

Error messages never repeat what was typed, so no markdown or mention can be
echoed back into a channel.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

from bot.common.errors import InvalidPlayerError

MAX_XUID_DIGITS = 16
MAX_CLASSIC_LENGTH = 15
MAX_MODERN_LENGTH = 12
MAX_SUFFIX_DIGITS = 4
#: Longest text we even look at; anything longer is "too long" straight away.
MAX_INPUT_LENGTH = 100

MSG_EMPTY = "Give a gamertag or a XUID, or mention a member."
MSG_TOO_LONG = (
    "That's too long for a gamertag: classic gamertags have at most 15 characters, "
    "modern ones at most 12 plus an optional #1234 suffix."
)
MSG_BAD_CHARACTERS = (
    "Gamertags can only contain letters, numbers and single spaces, "
    "plus an optional # suffix of up to 4 digits."
)
MSG_DIGIT_START = (
    "Gamertags longer than 12 characters are classic gamertags, and those can't start with a digit."
)
MSG_BAD_SUFFIX = "The # suffix of a gamertag must be 1 to 4 digits, like Name#1234."
MSG_NO_NAME = "A gamertag needs a name before its # suffix, like Name#1234."
MSG_XUID_TOO_LONG = "That XUID is too long: a XUID has at most 16 digits."
MSG_XUID_FORMAT = (
    "A XUID is a number of up to 16 digits, written like 2533274800000000 "
    "or xuid(2533274800000000)."
)
MSG_XUID_ZERO = "That XUID is not valid: it can't be zero."
MSG_NOT_A_MEMBER = "Mention a member (not a role or a channel), or give a gamertag or a XUID."

_ASCII_DIGITS = re.compile(r"[0-9]+", re.ASCII)
_XUID_CALL = re.compile(r"xuid\((?P<inner>.*)\)", re.IGNORECASE | re.DOTALL)
_MEMBER_MENTION = re.compile(r"<@!?(?P<id>[0-9]{1,20})>", re.ASCII)
_OTHER_MENTION = re.compile(r"<(?:@&|#)[0-9]{1,20}>", re.ASCII)
_SPACE_RUN = re.compile(r" {2,}")
_CLASSIC = re.compile(r"[A-Za-z][A-Za-z0-9 ]{0,14}", re.ASCII)

PlayerKind = Literal["xuid", "gamertag", "member"]


@dataclass(frozen=True)
class PlayerRef:
    """A validated reference to a player: a XUID, a gamertag or a Discord member id."""

    kind: PlayerKind
    value: str


def _normalise(text: str) -> str:
    """NFC, trimmed, runs of spaces collapsed into one."""
    return _SPACE_RUN.sub(" ", unicodedata.normalize("NFC", text).strip())


def normalise_gamertag(gamertag: str) -> str:
    """A case-insensitive key for a gamertag (lookups are case-insensitive)."""
    return _normalise(gamertag).casefold()


def format_xuid(xuid: str | int) -> str:
    """``123`` or ``"xuid(123)"`` -> ``"xuid(123)"``; ``ValueError`` for anything else."""
    return f"xuid({canonical_xuid(xuid)})"


def xuid_problem(digits: str) -> str | None:
    """The one rule for a XUID's digits: why ``digits`` is not a XUID (a sentence for the
    member), or None when it is one: ASCII digits, at most 16 of them, not zero."""
    if not _ASCII_DIGITS.fullmatch(digits):
        return MSG_XUID_FORMAT
    if len(digits) > MAX_XUID_DIGITS:
        return MSG_XUID_TOO_LONG
    if int(digits) == 0:
        return MSG_XUID_ZERO
    return None


def canonical_xuid(value: str | int) -> str:
    """The one XUID parser: ``123``, ``"0123"``, ``" xuid(123) "`` -> ``"123"``.

    Raises ``ValueError`` (``TypeError`` for a bool or another type) when ``value`` breaks
    :func:`xuid_problem`'s rule. Every layer (Halo answers, storage, member input) uses it.
    """
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise TypeError(f"a XUID must be str or int, got {type(value).__name__}")
    text = str(value).strip()
    call = _XUID_CALL.fullmatch(text)
    digits = call.group("inner").strip() if call else text
    problem = xuid_problem(digits)
    if problem is not None:
        raise ValueError(problem)
    return str(int(digits))


def xuid_or_none(value: object) -> str | None:
    """:func:`canonical_xuid`, or None for anything that is not a XUID (tolerant reads)."""
    try:
        return canonical_xuid(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def _xuid_ref(digits: str) -> PlayerRef:
    problem = xuid_problem(digits)
    if problem is not None:
        raise InvalidPlayerError(problem)
    return PlayerRef("xuid", str(int(digits)))


def _allowed_name(name: str) -> bool:
    """Letters, numbers and spaces; combining marks only after the first character."""
    for index, char in enumerate(name):
        category = unicodedata.category(char)
        if char == " " or category[0] in "LN":
            continue
        if category[0] == "M" and index > 0:
            continue
        return False
    return True


def _gamertag_ref(text: str) -> PlayerRef:
    if len(text) > MAX_INPUT_LENGTH:
        raise InvalidPlayerError(MSG_TOO_LONG)
    name, hash_sign, suffix = text.rpartition("#")
    if not hash_sign:
        name, suffix = text, ""
    else:
        name = name.rstrip(" ")
        if not name:
            raise InvalidPlayerError(MSG_NO_NAME)
        if "#" in name or not _allowed_name(name):
            raise InvalidPlayerError(MSG_BAD_CHARACTERS)
        if not _ASCII_DIGITS.fullmatch(suffix) or len(suffix) > MAX_SUFFIX_DIGITS:
            raise InvalidPlayerError(MSG_BAD_SUFFIX)
        if len(name) > MAX_MODERN_LENGTH:
            raise InvalidPlayerError(MSG_TOO_LONG)
        return PlayerRef("gamertag", f"{name}#{suffix}")
    if not _allowed_name(name):
        raise InvalidPlayerError(MSG_BAD_CHARACTERS)
    if len(name) <= MAX_MODERN_LENGTH or _CLASSIC.fullmatch(name):
        return PlayerRef("gamertag", name)
    if len(name) <= MAX_CLASSIC_LENGTH and name.isascii() and name[0].isdigit():
        raise InvalidPlayerError(MSG_DIGIT_START)
    raise InvalidPlayerError(MSG_TOO_LONG)


def parse_player(text: str) -> PlayerRef:
    """Turn what a member typed into a :class:`PlayerRef`; ``InvalidPlayerError`` otherwise."""
    cleaned = _normalise(text)
    if not cleaned:
        raise InvalidPlayerError(MSG_EMPTY)
    if mention := _MEMBER_MENTION.fullmatch(cleaned):
        return PlayerRef("member", mention.group("id"))
    if _OTHER_MENTION.fullmatch(cleaned):
        raise InvalidPlayerError(MSG_NOT_A_MEMBER)
    if call := _XUID_CALL.fullmatch(cleaned):
        return _xuid_ref(call.group("inner").strip())
    if cleaned.lower().startswith("xuid("):
        raise InvalidPlayerError(MSG_XUID_FORMAT)
    if _ASCII_DIGITS.fullmatch(cleaned):
        return _xuid_ref(cleaned)
    return _gamertag_ref(cleaned)
