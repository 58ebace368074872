"""Per-guild settings. Every method is scoped to one ``guild_id`` row."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import fields, replace
from typing import TYPE_CHECKING, Any

from bot.storage.models import (
    GuildSettings,
    check_id,
    check_optional_id,
    from_db_time,
    to_db_time,
    unique,
    utc_now,
)

if TYPE_CHECKING:
    from bot.storage.backend import Row
    from bot.storage.database import Database, Transaction

__all__ = ["EDITABLE_FIELDS", "GuildSettings", "GuildSettingsRepo"]

log = logging.getLogger(__name__)

MAX_PROBLEM_LENGTH = 1000
_BOOL_FIELDS = frozenset(
    {
        "trigger_tier_change",
        "trigger_subtier_change",
        "trigger_placement",
        "trigger_season_high",
        "require_verified",
    }
)
_ID_FIELDS = frozenset({"announce_channel_id", "admin_role_id"})
EDITABLE_FIELDS = frozenset(
    f.name for f in fields(GuildSettings) if f.name not in ("guild_id", "updated_at")
)
_PROBLEM_FIELDS = frozenset({"channel_problem", "role_problem"})
_COLUMNS = (
    "guild_id, announce_channel_id, playlists, trigger_tier_change, trigger_subtier_change,"
    " trigger_placement, trigger_season_high, admin_role_id, channel_problem,"
    " rank_role_playlist, role_problem, require_verified, updated_at"
)


def _playlists(value: object) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise ValueError("playlists must be None or an iterable of playlist ids")
    items = list(value)
    if not all(isinstance(p, str) and p.strip() for p in items):
        raise ValueError("playlist ids must be non-empty strings")
    return tuple(unique(p.strip() for p in items))


def _problem(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError("a problem must be a str or None")
    return value.strip()[:MAX_PROBLEM_LENGTH] or None


def _playlist_id(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ValueError("rank_role_playlist must be None or a non-empty playlist id")
    return value.strip()


def _validate(changes: dict[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(changes) - EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"unknown guild setting(s): {', '.join(unknown)}")
    clean: dict[str, Any] = {}
    for name, value in changes.items():
        if name in _BOOL_FIELDS:
            if not isinstance(value, bool):
                raise ValueError(f"{name} must be a bool")
            clean[name] = value
        elif name in _ID_FIELDS:
            try:
                clean[name] = check_optional_id(name, value)
            except TypeError as exc:
                raise ValueError(str(exc)) from exc
        elif name == "playlists":
            clean[name] = _playlists(value)
        elif name == "rank_role_playlist":
            clean[name] = _playlist_id(value)
        else:
            clean[name] = _problem(value)
    return clean


def _settings(row: Row) -> GuildSettings:
    playlists = row["playlists"]
    return GuildSettings(
        guild_id=row["guild_id"],
        announce_channel_id=row["announce_channel_id"],
        playlists=None if playlists is None else tuple(json.loads(playlists)),
        trigger_tier_change=bool(row["trigger_tier_change"]),
        trigger_subtier_change=bool(row["trigger_subtier_change"]),
        trigger_placement=bool(row["trigger_placement"]),
        trigger_season_high=bool(row["trigger_season_high"]),
        admin_role_id=row["admin_role_id"],
        channel_problem=row["channel_problem"],
        rank_role_playlist=row["rank_role_playlist"],
        role_problem=row["role_problem"],
        require_verified=bool(row["require_verified"]),
        updated_at=from_db_time(row["updated_at"]),
    )


class GuildSettingsRepo:
    """Repository of guild settings (``db.guilds``)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, guild_id: int, *, tx: Transaction | None = None) -> GuildSettings:
        """The guild's settings; defaults (``updated_at=None``) when nothing is stored."""
        row = await self._db._fetchone(
            f"SELECT {_COLUMNS} FROM guild_settings WHERE guild_id = ?",
            (check_id("guild_id", guild_id),),
            tx=tx,
        )
        return GuildSettings(guild_id=guild_id) if row is None else _settings(row)

    async def update(
        self, guild_id: int, /, *, tx: Transaction | None = None, **changes: Any
    ) -> GuildSettings:
        """Change some settings (names from :data:`EDITABLE_FIELDS`) and return the result.

        Changing ``announce_channel_id`` clears ``channel_problem`` unless it is given too.
        """
        check_id("guild_id", guild_id)
        clean = _validate(changes)
        async with self._db._writing(tx) as t:
            current = await self.get(guild_id, tx=t)
            if (
                "announce_channel_id" in clean
                and "channel_problem" not in clean
                and clean["announce_channel_id"] != current.announce_channel_id
            ):
                clean["channel_problem"] = None
            new = replace(current, **clean, updated_at=utc_now())
            await self._write(t, new)
        log.debug("guild %d settings changed: %s", guild_id, sorted(clean))
        return new

    async def reset(self, guild_id: int, *, tx: Transaction | None = None) -> bool:
        """Forget all of the guild's settings; True if something was stored."""
        check_id("guild_id", guild_id)
        async with self._db._writing(tx) as t:
            changed = await self._db._execute(
                t, "DELETE FROM guild_settings WHERE guild_id = ?", (guild_id,)
            )
        return changed > 0

    async def set_channel_problem(
        self, guild_id: int, text: str | None, *, tx: Transaction | None = None
    ) -> None:
        """Record (or clear, with None) why the announce channel cannot be used."""
        await self._set_problem("channel_problem", guild_id, text, tx=tx)

    async def set_role_problem(
        self, guild_id: int, text: str | None, *, tx: Transaction | None = None
    ) -> None:
        """Record (or clear, with None) why rank roles cannot be managed."""
        await self._set_problem("role_problem", guild_id, text, tx=tx)

    async def _set_problem(
        self, column: str, guild_id: int, text: str | None, *, tx: Transaction | None
    ) -> None:
        assert column in _PROBLEM_FIELDS
        check_id("guild_id", guild_id)
        problem = _problem(text)
        async with self._db._writing(tx) as t:
            if problem is None:
                await self._db._execute(
                    t,
                    f"UPDATE guild_settings SET {column} = NULL, updated_at = ?"
                    f" WHERE guild_id = ? AND {column} IS NOT NULL",
                    (to_db_time(utc_now()), guild_id),
                )
            else:
                current = await self.get(guild_id, tx=t)
                if getattr(current, column) == problem:
                    return
                new = replace(current, **{column: problem}, updated_at=utc_now())
                await self._write(t, new)

    async def ids_with_role_problem(self, *, tx: Transaction | None = None) -> set[int]:
        """Guilds with a rank-role problem recorded (re-checked by every role sync)."""
        rows = await self._db._fetchall(
            "SELECT guild_id FROM guild_settings WHERE role_problem IS NOT NULL", tx=tx
        )
        return {row["guild_id"] for row in rows}

    async def all_with_channel(self, *, tx: Transaction | None = None) -> list[GuildSettings]:
        """Settings of every guild that has an announce channel, by guild id."""
        rows = await self._db._fetchall(
            f"SELECT {_COLUMNS} FROM guild_settings"
            " WHERE announce_channel_id IS NOT NULL ORDER BY guild_id",
            tx=tx,
        )
        return [_settings(row) for row in rows]

    async def _write(self, tx: Transaction, settings: GuildSettings) -> None:
        assert settings.updated_at is not None
        playlists = None if settings.playlists is None else json.dumps(list(settings.playlists))
        await self._db._execute(
            tx,
            f"INSERT INTO guild_settings ({_COLUMNS}) VALUES ({', '.join(['?'] * 13)})"
            " ON CONFLICT (guild_id) DO UPDATE SET"
            " announce_channel_id = excluded.announce_channel_id,"
            " playlists = excluded.playlists,"
            " trigger_tier_change = excluded.trigger_tier_change,"
            " trigger_subtier_change = excluded.trigger_subtier_change,"
            " trigger_placement = excluded.trigger_placement,"
            " trigger_season_high = excluded.trigger_season_high,"
            " admin_role_id = excluded.admin_role_id,"
            " channel_problem = excluded.channel_problem,"
            " rank_role_playlist = excluded.rank_role_playlist,"
            " role_problem = excluded.role_problem,"
            " require_verified = excluded.require_verified,"
            " updated_at = excluded.updated_at",
            (
                settings.guild_id,
                settings.announce_channel_id,
                playlists,
                int(settings.trigger_tier_change),
                int(settings.trigger_subtier_change),
                int(settings.trigger_placement),
                int(settings.trigger_season_high),
                settings.admin_role_id,
                settings.channel_problem,
                settings.rank_role_playlist,
                settings.role_problem,
                int(settings.require_verified),
                to_db_time(settings.updated_at),
            ),
        )
