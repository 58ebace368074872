"""Turning what a member typed (or left empty) into a Halo player: XUID and gamertag.

Order of lookups: a Discord member means their linked account (only when that member
is in the server where the command runs, or is the caller: which account a member
linked is not shown to other servers or in DMs); a XUID is used
as is (its gamertag from the local cache, or one batch lookup); a gamertag is
looked up in the local cache first, then resolved once upstream and stored.

Gamertags change hands: a player renames and somebody else takes the old name. So
a remembered gamertag <-> XUID pair is trusted for :data:`GAMERTAG_MAX_AGE`, then
asked again (and used as it was if Halo cannot answer just then). A new gamertag
Halo gives for a XUID is also stored on the accounts linked to it, so /leaderboard,
announcements and /whois show the new name.

The local cache is the database plus a bounded in-memory copy of the players seen
lately, so a busy server's repeated lookups cost no database round trip. Lookups
(the "recent" suggestions of the ``player`` autocomplete) are written behind, a
second's worth at a time in one transaction, and flushed before they are read.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot.common.errors import (
    HaloDataError,
    HaloUnavailableError,
    NotLinkedError,
    PermissionDeniedError,
    PlayerNotFoundError,
    RateLimitedError,
    SignInExpiredError,
    UserFacingError,
)
from bot.halo.xuid import PlayerRef, parse_player
from bot.storage.models import StoredPlayer, fold, utc_now

if TYPE_CHECKING:
    from bot.halo.client import HaloClient
    from bot.storage import Database

log = logging.getLogger(__name__)

#: Players kept in memory (XUID and gamertag), most recently used first out last.
KNOWN_IN_MEMORY = 20_000
#: How long lookups wait to be written, together with the ones that follow.
LOOKUP_FLUSH_SECONDS = 1.0
#: How long a remembered gamertag <-> XUID pair is trusted before Halo is asked again.
GAMERTAG_MAX_AGE = timedelta(hours=24)
#: Whether a user is a member of a guild now: ``(guild_id, user_id) -> bool``.
MembershipCheck = Callable[[int, int], Awaitable[bool]]
#: Whether the bot itself is in a guild (was added there): ``guild_id -> bool``.
GuildCheck = Callable[[int], bool]
NOT_A_MEMBER_HERE = (
    "I only look up a member's linked account in a server they are in: name their gamertag instead."
)
NOT_ADDED_HERE = (
    "I look up members' linked accounts only in servers where I was added, not in servers "
    "where I am installed to somebody's account: name their gamertag instead."
)
MEMBERSHIP_UNKNOWN = (
    "Discord did not answer whether that member is in this server, so I did not look up "
    "their linked account: try again in a minute, or name their gamertag instead."
)


class DiscordUnavailableError(UserFacingError):
    """Discord could not answer a question the command needs (5xx, refused, timed out)."""

    title = "Discord did not answer"


#: Halo failing now: a remembered (if old) answer is better than none.
_HALO_DOWN = (HaloUnavailableError, RateLimitedError, HaloDataError, SignInExpiredError)


@dataclass(frozen=True)
class Player:
    """A resolved player."""

    xuid: str
    gamertag: str

    @property
    def player_id(self) -> str:
        return f"xuid({self.xuid})"


class PlayerResolver:
    """Resolves ``player`` options for every command, with the database as a cache."""

    def __init__(
        self,
        halo: HaloClient,
        db: Database,
        *,
        known_in_memory: int = KNOWN_IN_MEMORY,
        flush_after: float = LOOKUP_FLUSH_SECONDS,
        max_age: timedelta = GAMERTAG_MAX_AGE,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._halo = halo
        self._db = db
        self._capacity = max(1, known_in_memory)
        self._flush_after = flush_after
        self.max_age = max_age
        self._clock = clock
        #: xuid -> (gamertag, when Halo confirmed it), least recently used first
        self._names: OrderedDict[str, tuple[str, datetime]] = OrderedDict()
        self._xuids: dict[str, str] = {}  # folded gamertag -> xuid
        self._pending: dict[tuple[int, int, str], datetime] = {}
        self._flusher: asyncio.Task[None] | None = None
        #: Linked players whose gamertag is being confirmed with Halo in the background.
        self._confirming: dict[str, asyncio.Task[None]] = {}
        #: Tells whether a mentioned member is in the server (set by the bot once it
        #: can ask Discord); without it, nobody else's link is shown by mention.
        self._membership: MembershipCheck | None = None
        #: Tells whether the bot is in a server (set by the bot); lookups are noted only
        #: for servers it was added to, never for servers a user-installed command runs
        #: in. Without it (no Discord at hand) every server's lookups are noted.
        self._bot_in_guild: GuildCheck | None = None

    def use_membership(self, check: MembershipCheck) -> None:
        """How to tell whether a mentioned member is in the server of the command."""
        self._membership = check

    def use_guild_check(self, check: GuildCheck) -> None:
        """How to tell whether the bot is in a server (lookups are noted only there)."""
        self._bot_in_guild = check

    async def may_show_link(self, user_id: int, *, caller_id: int, guild_id: int | None) -> bool:
        """Whether ``caller_id`` may see which account ``user_id`` linked: their own, or
        a member of the server where the command runs (never in a DM). Raises
        PermissionDeniedError in a server the bot was not added to, and
        DiscordUnavailableError when Discord cannot tell whether they are a member."""
        if user_id == caller_id:
            return True
        if guild_id is None or self._membership is None:
            return False
        if self._bot_in_guild is not None and not self._bot_in_guild(guild_id):
            raise PermissionDeniedError(NOT_ADDED_HERE)
        try:
            return await self._membership(guild_id, user_id)
        except Exception as exc:
            log.warning(
                "Could not check whether user %s is in guild %s: %s",
                user_id,
                guild_id,
                type(exc).__name__,
            )
            raise DiscordUnavailableError(MEMBERSHIP_UNKNOWN) from exc

    async def resolve(
        self,
        text: str | None,
        *,
        caller_id: int,
        guild_id: int | None = None,
        confirm_links: bool = True,
    ) -> Player:
        """The player named by ``text``; empty means the caller's linked account.
        ``confirm_links=False``: a linked account is used as stored, Halo is not asked
        about its gamertag (for commands that read only stored data)."""
        if text is None or not text.strip():
            player = await self.linked(caller_id, is_caller=True, confirm=confirm_links)
        else:
            ref = parse_player(text)
            if ref.kind == "member":
                # Asked before the link is read: the answer must not tell whether they linked.
                user_id = int(ref.value)
                if not await self.may_show_link(user_id, caller_id=caller_id, guild_id=guild_id):
                    raise PermissionDeniedError(NOT_A_MEMBER_HERE)
                player = await self.linked(
                    user_id, is_caller=user_id == caller_id, confirm=confirm_links
                )
            else:
                player = await self.resolve_ref(ref, confirm_links=confirm_links)
        if guild_id is not None and (self._bot_in_guild is None or self._bot_in_guild(guild_id)):
            self._note_lookup(guild_id, caller_id, player.xuid)
        return player

    async def resolve_ref(
        self, ref: PlayerRef, *, confirm: bool = False, confirm_links: bool = True
    ) -> Player:
        """The player ``ref`` names. ``confirm``: ask Halo even when the answer is
        remembered (for ``/link``: a name may have changed hands since); the remembered
        answer is still used when Halo is down. A member mention is answered without
        the membership check of :meth:`resolve`: callers showing it to somebody else
        must ask :meth:`may_show_link` first."""
        if ref.kind == "member":
            return await self.linked(int(ref.value), is_caller=False, confirm=confirm_links)
        if ref.kind == "xuid":
            return await self._by_xuid(ref.value, confirm=confirm)
        return await self._by_gamertag(ref.value, confirm=confirm)

    async def linked(self, user_id: int, *, is_caller: bool, confirm: bool = True) -> Player:
        account = await self._db.accounts.get(user_id)
        if account is None:
            if is_caller:
                raise NotLinkedError(
                    "You haven't linked a Halo account yet. Use `/link` with your gamertag, "
                    "or name a player in the `player` option."
                )
            raise NotLinkedError(
                "That member hasn't linked a Halo account. Name their gamertag instead."
            )
        remembered = self._remembered(account.xuid) or await self._db.players.by_xuid(account.xuid)
        if remembered is not None and self._fresh(remembered):
            return self._know(remembered)
        # Not confirmed lately: the player may have renamed. The link answers now; Halo is
        # asked in the background (a new gamertag is stored on the link for next time),
        # so a slow or failing Halo never delays the lookup itself.
        if confirm:
            self._confirm_later(account.xuid)
        return Player(account.xuid, account.gamertag)

    def _confirm_later(self, xuid: str) -> None:
        if xuid in self._confirming:
            return
        task = asyncio.get_running_loop().create_task(
            self._confirm(xuid), name=f"confirm-gamertag-{xuid}"
        )
        self._confirming[xuid] = task
        task.add_done_callback(lambda _: self._confirming.pop(xuid, None))

    async def _confirm(self, xuid: str) -> None:
        try:
            await self._by_xuid(xuid)
        except UserFacingError as exc:
            log.info("Could not confirm the gamertag of %s: %s", xuid, type(exc).__name__)
        except Exception:
            log.exception("Confirming the gamertag of %s failed", xuid)

    async def _by_xuid(self, xuid: str, *, confirm: bool = False) -> Player:
        remembered = self._remembered(xuid) or await self._db.players.by_xuid(xuid)
        if remembered is not None and not confirm and self._fresh(remembered):
            return self._know(remembered)

        async def ask() -> tuple[str, str]:
            users = await self._halo.get_users([xuid])
            if not users:
                raise PlayerNotFoundError(f"No Halo player has the XUID {xuid}.")
            return users[0].xuid, users[0].gamertag

        return await self._ask_halo(ask, remembered)

    async def _by_gamertag(self, gamertag: str, *, confirm: bool = False) -> Player:
        xuid = self._xuids.get(fold(gamertag.strip()))
        remembered = self._remembered(xuid) if xuid is not None else None
        if remembered is None:
            remembered = await self._db.players.by_gamertag(gamertag)
        if remembered is not None and not confirm and self._fresh(remembered):
            return self._know(remembered)

        async def ask() -> tuple[str, str]:
            user = await self._halo.get_user(gamertag)
            return user.xuid, user.gamertag

        return await self._ask_halo(ask, remembered)

    async def _ask_halo(
        self, ask: Callable[[], Awaitable[tuple[str, str]]], remembered: StoredPlayer | None
    ) -> Player:
        """Ask Halo, store the answer; the remembered answer when Halo is down now."""
        try:
            xuid, gamertag = await ask()
        except _HALO_DOWN as exc:
            if remembered is None:
                raise
            log.info("Using a remembered gamertag, Halo did not answer: %s", type(exc).__name__)
            return self._know(remembered)
        now = self._clock()
        async with self._db.transaction() as tx:
            await self._db.players.remember(xuid, gamertag, tx=tx)
            renamed = await self._db.accounts.update_gamertag(xuid, gamertag, tx=tx)
        if renamed:
            log.info("Player %s is now %r on %d linked account(s)", xuid, gamertag, renamed)
        return self._know(StoredPlayer(xuid, gamertag, now))

    # -- the in-memory copy ---------------------------------------------------------------

    def _fresh(self, player: StoredPlayer) -> bool:
        return self._clock() - player.updated_at < self.max_age

    def _remembered(self, xuid: str) -> StoredPlayer | None:
        entry = self._names.get(xuid)
        return None if entry is None else StoredPlayer(xuid, *entry)

    def _know(self, player: StoredPlayer) -> Player:
        xuid, gamertag = player.xuid, player.gamertag
        old = self._names.pop(xuid, None)
        if old is not None and self._xuids.get(fold(old[0])) == xuid:
            del self._xuids[fold(old[0])]
        self._names[xuid] = (gamertag, player.updated_at)
        self._xuids[fold(gamertag)] = xuid
        while len(self._names) > self._capacity:
            gone_xuid, (gone_tag, _) = self._names.popitem(last=False)
            if self._xuids.get(fold(gone_tag)) == gone_xuid:
                del self._xuids[fold(gone_tag)]
        return Player(xuid, gamertag)

    # -- lookups, written behind ------------------------------------------------------------

    def _note_lookup(self, guild_id: int, user_id: int, xuid: str) -> None:
        self._pending[(guild_id, user_id, xuid)] = utc_now()
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.get_running_loop().create_task(
                self._flush_later(), name="record-lookups"
            )

    async def _flush_later(self) -> None:
        await asyncio.sleep(self._flush_after)
        await self.flush()

    async def flush(self) -> None:
        """Write the lookups noted so far (one transaction). Failures are only logged:
        these are suggestions, not records anyone relies on."""
        if not self._pending:
            return
        batch, self._pending = self._pending, {}
        try:
            await self._db.players.record_lookups([(*key, when) for key, when in batch.items()])
        except Exception:
            log.warning("Could not record %d player lookups", len(batch), exc_info=True)

    async def close(self) -> None:
        """Write what is pending (the bot is stopping)."""
        for confirming in list(self._confirming.values()):
            confirming.cancel()
        await asyncio.gather(*self._confirming.values(), return_exceptions=True)
        task, self._flusher = self._flusher, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.flush()
