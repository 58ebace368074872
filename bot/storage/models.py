"""Records returned by the storage repositories, storage errors and value helpers.

Everything here is plain Python: no database types. Times are timezone-aware
UTC :class:`~datetime.datetime` objects; XUIDs are canonical decimal strings.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple, TypeVar

from bot.common.errors import BotError
from bot.halo.xuid import normalise_gamertag

T = TypeVar("T")

MAX_SNOWFLAKE = 2**63 - 1
MAX_GAMERTAG_LENGTH = 64
# Bound parameters per statement; SQLite's historic limit is 999.
MAX_VARIABLES = 500


# --------------------------------------------------------------------------- errors


class StorageError(BotError):
    """The database failed or was used wrongly (closed, bad transaction, ...)."""


class SchemaTooNewError(StorageError):
    """The database file was written by a newer version of the bot."""


class MigrationError(StorageError):
    """A migration file is malformed or failed to apply."""


class ConstraintError(StorageError):
    """A write broke a database constraint (foreign key, check, unique)."""


class DatabaseInUseError(StorageError):
    """Another bot process already has this database open."""


class DatabaseDamagedError(StorageError):
    """The database file failed its integrity check at open."""


class AccountNotLinkedError(StorageError):
    """The Discord user has no linked account (needed e.g. to track them)."""

    def __init__(self, user_id: int) -> None:
        super().__init__(f"user {user_id} has no linked account")
        self.user_id = user_id


# --------------------------------------------------------------------------- records


@dataclass(frozen=True, slots=True)
class LinkedAccount:
    """A Discord user linked to an Xbox account."""

    user_id: int
    xuid: str
    gamertag: str
    linked_at: datetime
    #: When the member proved they own the XUID (service tag); None = not proven.
    verified_at: datetime | None = None

    @property
    def verified(self) -> bool:
        """Proven by the member themselves (admins vouch per server: ``guild_verified``)."""
        return self.verified_at is not None


@dataclass(frozen=True, slots=True)
class GuildSettings:
    """One guild's settings; ``updated_at is None`` means nothing is stored (defaults)."""

    guild_id: int
    announce_channel_id: int | None = None
    playlists: tuple[str, ...] | None = None  # None = the default ranked set
    trigger_tier_change: bool = True
    trigger_subtier_change: bool = False
    trigger_placement: bool = True
    trigger_season_high: bool = False
    admin_role_id: int | None = None
    channel_problem: str | None = None
    #: Whose tier decides the rank roles (None = Ranked Arena).
    rank_role_playlist: str | None = None
    #: Why rank roles could not be managed at the last try (None = no problem).
    role_problem: str | None = None
    #: Only verified links are announced, get rank roles and appear on the leaderboard.
    require_verified: bool = True
    updated_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class TrackedMember:
    """A linked member tracked in one guild."""

    guild_id: int
    user_id: int
    xuid: str
    gamertag: str
    #: The link is verified for this guild (by the member's service tag, or an admin).
    verified: bool = True


@dataclass(frozen=True, slots=True)
class LinkCode:
    """The code a member must set as their Halo service tag to verify their link."""

    user_id: int
    xuid: str
    code: str
    created_at: datetime
    checks: int = 0


@dataclass(frozen=True, slots=True)
class GuildVerification:
    """A link an admin vouched for in one guild (``source`` ``admin`` or ``migration``)."""

    guild_id: int
    user_id: int
    xuid: str
    source: str
    verified_by: int | None
    verified_at: datetime


@dataclass(frozen=True, slots=True)
class ForgottenMember:
    """What ``forget`` deleted about one member (counts of rows)."""

    lookups: int = 0
    snapshots: int = 0
    announcements: int = 0
    tracking: int = 0
    verifications: int = 0
    grants: int = 0
    grant_guilds: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class Snapshot:
    """One observation of a player's CSR in one playlist (value -1 = unranked)."""

    xuid: str
    playlist_id: str
    csr_season: str | None
    value: int
    tier: str
    sub_tier: int
    matches_remaining: int
    season_max: int | None
    all_time_max: int | None
    taken_at: datetime

    def same_rank(self, other: Snapshot) -> bool:
        """True when everything but ``taken_at`` is equal."""
        return (
            self.xuid,
            self.playlist_id,
            self.csr_season,
            self.value,
            self.tier,
            self.sub_tier,
            self.matches_remaining,
            self.season_max,
            self.all_time_max,
        ) == (
            other.xuid,
            other.playlist_id,
            other.csr_season,
            other.value,
            other.tier,
            other.sub_tier,
            other.matches_remaining,
            other.season_max,
            other.all_time_max,
        )


@dataclass(frozen=True, slots=True)
class PendingAnnouncement:
    """One outbox row; ``status`` is ``"pending"``, ``"sent"`` or ``"failed"``."""

    key: str
    guild_id: int
    channel_id: int
    payload: dict[str, Any] = field(hash=False)
    status: str
    created_at: datetime
    updated_at: datetime
    message_id: int | None = None
    failure: str | None = None


class KnownPlayer(NamedTuple):
    """A gamertag and its XUID."""

    xuid: str
    gamertag: str


@dataclass(frozen=True, slots=True)
class StoredPlayer:
    """A remembered gamertag and XUID, and when Halo last confirmed them."""

    xuid: str
    gamertag: str
    updated_at: datetime


# --------------------------------------------------------------------------- helpers


def utc_now() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


def to_db_time(value: datetime) -> str:
    """Fixed-width, sortable UTC text for a timezone-aware datetime."""
    if not isinstance(value, datetime):
        raise TypeError(f"expected a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("naive datetime: pass a timezone-aware (UTC) datetime")
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def from_db_time(text: str) -> datetime:
    """Inverse of :func:`to_db_time`."""
    return datetime.fromisoformat(text).astimezone(UTC)


def checked_gamertag(value: str) -> str:
    """Strip a gamertag and check it is plausible (non-empty, not huge)."""
    if not isinstance(value, str):
        raise TypeError(f"a gamertag must be str, got {type(value).__name__}")
    text = value.strip()
    if not text or len(text) > MAX_GAMERTAG_LENGTH:
        raise ValueError(f"invalid gamertag: {value!r}")
    return text


def fold(text: str) -> str:
    """Case-insensitive key for gamertags: the parser's one rule
    (:func:`bot.halo.xuid.normalise_gamertag`)."""
    return normalise_gamertag(text)


def like_prefix(prefix: str) -> str:
    """A LIKE pattern (with ``ESCAPE '\\'``) matching folded text starting with ``prefix``."""
    escaped = fold(prefix).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"


def check_id(name: str, value: int) -> int:
    """A Discord snowflake must be a positive int."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if not 0 < value <= MAX_SNOWFLAKE:
        raise ValueError(f"{name} out of range: {value}")
    return value


def check_optional_id(name: str, value: int | None) -> int | None:
    """Like :func:`check_id` but allows None."""
    return None if value is None else check_id(name, value)


def check_limit(limit: int) -> int:
    """A LIMIT must be a positive int."""
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ValueError(f"limit must be a positive int, got {limit!r}")
    return limit


def unique(values: Iterable[T]) -> list[T]:
    """Values without duplicates, first occurrence order."""
    return list(dict.fromkeys(values))


def placeholders(count: int) -> str:
    """``?, ?, ...`` for an IN list of ``count`` bound values."""
    return ", ".join(["?"] * count)
