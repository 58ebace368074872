"""Link verification storage: what verifying, vouching, re-linking and forgetting store,
and which tracked links count in a server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.storage import AccountNotLinkedError, Database
from bot.storage.models import utc_now

A, B = 2533274800000001, 2533274800000002
GUILD, OTHER_GUILD = 9001, 9002
ANN, BEA = 11, 12


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database.open(tmp_path / "bot.db")
    yield database
    await database.close()


async def counted(db: Database, guild: int = GUILD) -> list[tuple[int, bool]]:
    return [(m.user_id, m.verified) for m in await db.tracked.list_for_guild(guild)]


async def test_relinking_keeps_a_verification_only_for_the_same_xuid(db: Database) -> None:
    first = await db.accounts.link(ANN, str(A), "Ann", verified=False)
    assert not first.verified
    assert await db.verification.verify(ANN, str(A)) == []
    again = await db.accounts.link(ANN, str(A), "Ann", verified=False)
    assert again.verified and again.verified_at == (await db.accounts.get(ANN)).verified_at  # type: ignore[union-attr]
    other = await db.accounts.link(ANN, str(B), "Bea's", verified=False)
    assert not other.verified


async def test_verifying_takes_the_xuid_from_everybody_else(db: Database) -> None:
    await db.accounts.link(ANN, str(A), "Ann", verified=False)
    await db.accounts.link(BEA, str(A), "Ann", verified=False)
    await db.verification.verify(ANN, str(A))
    await db.verification.vouch(OTHER_GUILD, ANN, str(A), by=1)
    assert await db.verification.verify(BEA, str(A)) == [ANN]
    assert not (await db.accounts.get(ANN)).verified  # type: ignore[union-attr]
    assert await db.verification.vouched(OTHER_GUILD, ANN) is None
    # A link to another XUID is not verified by pressing for the old one.
    await db.accounts.link(ANN, str(B), "Bea", verified=False)
    assert await db.verification.verify(ANN, str(A)) == []
    assert not (await db.accounts.get(ANN)).verified  # type: ignore[union-attr]


async def test_which_tracked_links_count(db: Database) -> None:
    await db.accounts.link(ANN, str(A), "Ann", verified=False)
    await db.accounts.link(BEA, str(B), "Bea", verified=False)
    await db.tracked.track(GUILD, ANN)
    await db.tracked.track(GUILD, BEA)
    assert await counted(db) == []  # required by default
    await db.verification.verify(ANN, str(A))
    assert await counted(db) == [(ANN, True)]
    await db.verification.vouch(GUILD, BEA, str(B), by=1)
    assert await counted(db) == [(ANN, True), (BEA, True)]
    assert await db.tracked.unique_xuids() == [str(A), str(B)]
    # Vouching is for that XUID: a new link must be verified again.
    await db.accounts.link(BEA, str(A), "Ann", verified=False)
    assert await counted(db) == [(ANN, True)]
    # An admin vouching for BEA with A here: one verified owner of A in this server.
    await db.verification.vouch(GUILD, BEA, str(A), by=1)
    assert await counted(db) == [(BEA, True)]
    await db.guilds.update(GUILD, require_verified=False)
    assert await counted(db) == [(ANN, False), (BEA, True)]
    assert len(await db.tracked.memberships()) == 2


async def test_codes_need_a_link_and_count_checks(db: Database) -> None:
    with pytest.raises(AccountNotLinkedError):
        await db.verification.new_code(ANN, str(A), "K7QX")
    await db.accounts.link(ANN, str(A), "Ann", verified=False)
    await db.verification.new_code(ANN, str(A), "K7QX")
    assert [await db.verification.count_check(ANN) for _ in range(3)] == [1, 2, 3]
    code = await db.verification.new_code(ANN, str(A), "ZZ99")
    stored = await db.verification.code(ANN)
    assert stored is not None and (stored.code, stored.checks) == ("ZZ99", 0) == (code.code, 0)
    await db.accounts.unlink(ANN)
    assert await db.verification.code(ANN) is None  # removed with the link


async def test_forget_member_deletes_their_rows_only(db: Database) -> None:
    await db.accounts.link(ANN, str(A), "Ann", verified=True)
    await db.accounts.link(BEA, str(B), "Bea", verified=True)
    await db.tracked.track(GUILD, ANN)
    await db.verification.vouch(GUILD, ANN, str(A), by=1)
    await db.players.record_lookups(
        [(GUILD, ANN, str(B), utc_now()), (GUILD, BEA, str(A), utc_now())]
    )
    await db.rank_roles.record_grant(GUILD, ANN, 77)
    forgotten = await db.verification.forget_member(ANN)
    assert (forgotten.lookups, forgotten.tracking, forgotten.verifications) == (2, 1, 2)
    assert await db.accounts.get(ANN) is None and await db.accounts.get(BEA) is not None
    assert await db.rank_roles.guilds_granted_to(ANN) == {GUILD}  # taken back first
    assert await db.rank_roles.forget_member(ANN) == 1
