"""The work behind /link, the Verify button, /unlink and /whois.

``/link`` links at once, unverified, and tracks the member in the server it ran in, in
one transaction, with a code of :data:`CODE_LENGTH` characters. The member sets the
code as their Halo service tag and presses Verify: the bot reads the player's public
customization and, on a match, verifies the link (taking the verification from any
other member who held that XUID). A code lives :data:`CODE_LIFETIME` and allows
:data:`MAX_CHECKS` checks; ``/link`` again gives a new one.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import string
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal

from bot.common.errors import InvalidPlayerError, NoDataError, NotLinkedError, PermissionDeniedError
from bot.halo.xuid import parse_player
from bot.storage.models import ForgottenMember, GuildVerification, LinkCode, LinkedAccount, utc_now

if TYPE_CHECKING:
    from bot.core.resolver import Player, PlayerResolver
    from bot.features.announcements.roles import RoleSyncReport
    from bot.features.announcements.service import RankRoleService
    from bot.halo.client import HaloClient
    from bot.storage import Database

log = logging.getLogger(__name__)

CODE_ALPHABET = string.ascii_uppercase + string.digits
CODE_LENGTH = 4
CODE_LIFETIME = timedelta(minutes=30)
MAX_CHECKS = 10
#: How long /unlink forget waits for the rank roles to be taken back.
FORGET_ROLES_SECONDS = 15.0


def new_code() -> str:
    """4 random characters from ``A-Z0-9`` (a service tag allows them all)."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


@dataclass(frozen=True)
class LinkOutcome:
    player: Player
    account: LinkedAccount
    previous: LinkedAccount | None
    tracked_here: bool
    code: LinkCode | None  # None: the link was verified already


VerifyKind = Literal[
    "verified", "not_yet", "already", "stale", "no_code", "expired", "too_many", "private"
]


@dataclass(frozen=True)
class VerifyOutcome:
    kind: VerifyKind
    gamertag: str = ""
    code: str = ""
    seen_tag: str = ""
    checks_left: int = 0
    taken_from: tuple[int, ...] = ()


@dataclass(frozen=True)
class UnlinkOutcome:
    removed: LinkedAccount | None
    forgotten: ForgottenMember | None = None
    roles_left: int = 0  # rank roles that could not be taken back (forget only)
    #: Why they could not, in words (forget only, when ``roles_left``).
    roles_left_why: str = ""


@dataclass(frozen=True)
class WhoisOutcome:
    account: LinkedAccount
    is_caller: bool
    vouched: GuildVerification | None  # an admin vouched for it in this server

    @property
    def verified(self) -> bool:
        return self.account.verified or self.vouched is not None


class AccountsService:
    """Links, verifies, unlinks and shows members' Halo accounts."""

    def __init__(
        self,
        db: Database,
        resolver: PlayerResolver,
        halo: HaloClient,
        rank_roles: RankRoleService,
        *,
        clock: Callable[[], datetime] = utc_now,
        make_code: Callable[[], str] = new_code,
    ) -> None:
        self.db = db
        self.resolver = resolver
        self.halo = halo
        self.rank_roles = rank_roles
        self.clock = clock
        self.make_code = make_code

    # ---------------------------------------------------------------- /link

    async def link(self, user_id: int, guild_id: int | None, text: str) -> LinkOutcome:
        ref = parse_player(text)
        if ref.kind == "member":
            raise InvalidPlayerError("Give your own gamertag or XUID, not a member mention.")
        # Checked with Halo, not taken from the names the bot remembers: a gamertag may
        # belong to someone else by now.
        player = await self.resolver.resolve_ref(ref, confirm=True)
        db = self.db
        # One transaction: a crash can never leave a link without its tracking or code.
        async with db.transaction() as tx:
            previous = await db.accounts.get(user_id, tx=tx)
            account = await db.accounts.link(
                user_id, player.xuid, player.gamertag, verified=False, tx=tx
            )
            if guild_id is not None:
                await db.tracked.track(guild_id, user_id, tx=tx)
            code = None
            if not account.verified:
                code = await db.verification.new_code(
                    user_id, player.xuid, self.make_code(), now=self.clock(), tx=tx
                )
        log.info("User %s linked XUID %s", user_id, player.xuid)
        return LinkOutcome(player, account, previous, guild_id is not None, code)

    # ---------------------------------------------------------------- Verify button

    async def verify(self, user_id: int, xuid: str) -> VerifyOutcome:
        """The member pressed Verify for their link to ``xuid``."""
        db = self.db
        account = await db.accounts.get(user_id)
        if account is None or account.xuid != xuid:
            return VerifyOutcome("stale")
        gamertag = account.gamertag
        if account.verified:
            return VerifyOutcome("already", gamertag)
        code = await db.verification.code(user_id)
        if code is None or code.xuid != xuid:
            return VerifyOutcome("no_code", gamertag)
        if self.clock() - code.created_at > CODE_LIFETIME:
            await db.verification.drop_code(user_id)
            return VerifyOutcome("expired", gamertag, code.code)
        if code.checks >= MAX_CHECKS:
            return VerifyOutcome("too_many", gamertag, code.code)
        try:
            customization = await self.halo.get_customization(xuid)
        except NoDataError:
            return VerifyOutcome(
                "private", gamertag, code.code, checks_left=MAX_CHECKS - code.checks
            )
        checks = await db.verification.count_check(user_id)
        if not customization.has_service_tag(code.code):
            return VerifyOutcome(
                "not_yet",
                gamertag,
                code.code,
                seen_tag=customization.service_tag,
                checks_left=max(0, MAX_CHECKS - checks),
            )
        async with db.transaction() as tx:
            others = await db.verification.verify(user_id, xuid, tx=tx)
            guilds = await db.tracked.guilds_of([user_id, *others], tx=tx)
        log.info("User %s verified XUID %s", user_id, xuid)
        if guilds:
            self.rank_roles.sync_soon(guilds)
        return VerifyOutcome("verified", gamertag, code.code, taken_from=tuple(others))

    # ---------------------------------------------------------------- /unlink

    async def unlink(self, user_id: int, *, forget: bool = False) -> UnlinkOutcome:
        if not forget:
            guilds = await self.db.rank_roles.guilds_granted_to(user_id)
            removed = await self.db.accounts.unlink(user_id)
            if removed is None:
                raise NotLinkedError(
                    "You have no linked Halo account, so there is nothing to unlink."
                )
            log.info("User %s unlinked", user_id)
            if guilds:
                self.rank_roles.sync_soon(guilds)  # no server follows them: roles go back
            return UnlinkOutcome(removed)
        removed = await self.db.accounts.get(user_id)
        guilds = await self.db.rank_roles.guilds_granted_to(user_id)
        forgotten = await self.db.verification.forget_member(user_id)
        report: RoleSyncReport | None = None
        if guilds:
            # Untracked now, so the sync takes back every rank role given to them.
            task = self.rank_roles.sync_soon(guilds)
            try:
                report = await asyncio.wait_for(asyncio.shield(task), FORGET_ROLES_SECONDS)
            except Exception:
                log.warning("Taking back the rank roles of user %s did not finish", user_id)
        roles_left = await self.db.rank_roles.forget_member(user_id)
        log.info("User %s asked to be forgotten", user_id)
        why = _why_roles_left(report) if roles_left else ""
        return UnlinkOutcome(removed, forgotten, roles_left, why)

    # ---------------------------------------------------------------- /whois

    async def whois(
        self, target_id: int, *, caller_id: int, guild_id: int | None, target_in_guild: bool
    ) -> WhoisOutcome:
        """The account ``target_id`` linked, if the caller may see it: their own, or a
        member of this server (never another server's member, never in a DM). The
        refusal is the same whether the member linked or not."""
        is_caller = target_id == caller_id
        if not is_caller and (guild_id is None or not target_in_guild):
            raise PermissionDeniedError(
                "I only show the Halo account of a member in a server you share with them: "
                "run `/whois` there."
            )
        account = await self.db.accounts.get(target_id)
        if account is None:
            who = "You haven't" if is_caller else "That member hasn't"
            raise NotLinkedError(f"{who} linked a Halo account yet (`/link`).")
        vouched = (
            await self.db.verification.vouched(guild_id, target_id)
            if guild_id is not None
            else None
        )
        return WhoisOutcome(account, is_caller, vouched)


def _why_roles_left(report: RoleSyncReport | None) -> str:
    """Why rank roles were left on a forgotten member, from the sync that tried."""
    if report is None:
        return "Discord did not finish taking them back in time"
    if report.problems:
        return "I lack the permission to take them back there"
    if report.failed:
        return "Discord returned an error when I tried to take them back"
    return "I am not in that server any more, or not connected to it just now"
