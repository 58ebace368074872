"""Persistent storage: SQLite or PostgreSQL behind small typed repositories.

Open with ``db = await Database.open(path_or_postgresql_url)``; use ``db.accounts``,
``db.guilds``, ``db.tracked``, ``db.snapshots``, ``db.announcements``, ``db.players``,
``db.rank_roles``, ``db.verification`` and ``db.cycle_leases``; join several writes with
``async with db.transaction() as tx: ... (tx=tx)``.
Nothing outside this package sees SQL or driver (aiosqlite, asyncpg) types.
"""

from bot.storage.accounts import LinkedAccounts
from bot.storage.announcements import Announcements, announcement_key
from bot.storage.cycle_leases import CycleUnit, RankCycle, RankCycleLeases
from bot.storage.database import Database, Transaction, latest_schema_version
from bot.storage.guild_settings import EDITABLE_FIELDS, GuildSettingsRepo
from bot.storage.models import (
    AccountNotLinkedError,
    ConstraintError,
    DatabaseDamagedError,
    DatabaseInUseError,
    ForgottenMember,
    GuildSettings,
    GuildVerification,
    KnownPlayer,
    LinkCode,
    LinkedAccount,
    MigrationError,
    PendingAnnouncement,
    SchemaTooNewError,
    Snapshot,
    StorageError,
    StoredPlayer,
    TrackedMember,
)
from bot.storage.players import KnownPlayers
from bot.storage.rank_roles import RANK_ROLE_TIERS, RankRoles
from bot.storage.snapshots import RankSnapshots
from bot.storage.tracked import TrackedMembers
from bot.storage.verification import LinkVerifications

__all__ = [
    "EDITABLE_FIELDS",
    "RANK_ROLE_TIERS",
    "AccountNotLinkedError",
    "Announcements",
    "ConstraintError",
    "CycleUnit",
    "Database",
    "DatabaseDamagedError",
    "DatabaseInUseError",
    "ForgottenMember",
    "GuildSettings",
    "GuildSettingsRepo",
    "GuildVerification",
    "KnownPlayer",
    "KnownPlayers",
    "LinkCode",
    "LinkVerifications",
    "LinkedAccount",
    "LinkedAccounts",
    "MigrationError",
    "PendingAnnouncement",
    "RankCycle",
    "RankCycleLeases",
    "RankRoles",
    "RankSnapshots",
    "SchemaTooNewError",
    "Snapshot",
    "StorageError",
    "StoredPlayer",
    "TrackedMember",
    "TrackedMembers",
    "Transaction",
    "announcement_key",
    "latest_schema_version",
]
