"""Linked accounts and tracked members."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.storage import AccountNotLinkedError, Database, LinkedAccount, TrackedMember
from tests.support.sql import count, integrity_ok

# --------------------------------------------------------------------------- accounts


async def test_link_get_and_relink_replaces(db: Database) -> None:
    first = await db.accounts.link(1, "2533274800000001", "  First  ")
    # Linked through the repository without saying otherwise: verified when linked.
    assert first == LinkedAccount(1, "2533274800000001", "First", first.linked_at, first.linked_at)
    assert first.linked_at.tzinfo is UTC
    assert await db.accounts.get(1) == first

    second = await db.accounts.link(1, "2533274800000002", "Second")
    assert await db.accounts.get(1) == second
    assert await db.accounts.count() == 1


async def test_xuids_are_canonical_decimal_strings(db: Database) -> None:
    account = await db.accounts.link(1, "00042", "Zeroes")
    assert account.xuid == "42"
    as_int = await db.accounts.link(2, 2533274800000001, "Int")  # pyright: ignore[reportArgumentType]
    assert as_int.xuid == "2533274800000001"
    # One parser everywhere: the xuid(N) form Halo writes is canonicalised too.
    assert (await db.accounts.link(4, "xuid(123)", "Called")).xuid == "123"
    for bad in ("12a", "", "-5", "0", "12345678901234567", str(2**64)):
        with pytest.raises(ValueError):
            await db.accounts.link(3, bad, "Bad")
    assert await db.accounts.get(3) is None


async def test_invalid_ids_and_gamertags_are_rejected(db: Database) -> None:
    with pytest.raises(ValueError):
        await db.accounts.link(0, "1", "Gt")
    with pytest.raises(TypeError):
        await db.accounts.link(True, "1", "Gt")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        await db.accounts.link(1, "1", "   ")
    assert await db.accounts.count() == 0


async def test_unlink_returns_removed_account(db: Database) -> None:
    linked = await db.accounts.link(1, "11", "Gone")
    assert await db.accounts.unlink(1) == linked
    assert await db.accounts.unlink(1) is None
    assert await db.accounts.get(1) is None
    assert await db.accounts.count() == 0


async def test_for_xuid_and_update_gamertag(db: Database) -> None:
    await db.accounts.link(1, "77", "OldName")
    await db.accounts.link(2, "77", "OldName")
    await db.accounts.link(3, "78", "Other")
    assert [a.user_id for a in await db.accounts.for_xuid("77")] == [1, 2]
    assert await db.accounts.update_gamertag("77", "NewName") == 2
    assert await db.accounts.update_gamertag("77", "NewName") == 0
    assert (await db.accounts.get(2)).gamertag == "NewName"
    assert (await db.accounts.get(3)).gamertag == "Other"


# --------------------------------------------------------------------------- tracking


async def test_track_untrack_and_listing(db: Database) -> None:
    await db.accounts.link(1, "11", "bravo")
    await db.accounts.link(2, "12", "Alpha")
    assert await db.tracked.track(100, 1) is True
    assert await db.tracked.track(100, 1) is False
    assert await db.tracked.track(100, 2) is True
    assert await db.tracked.list_for_guild(100) == [
        TrackedMember(100, 2, "12", "Alpha"),
        TrackedMember(100, 1, "11", "bravo"),
    ]
    assert await db.tracked.count_for_guild(100) == 2
    assert await db.tracked.untrack(100, 1) is True
    assert await db.tracked.untrack(100, 1) is False
    assert [m.user_id for m in await db.tracked.list_for_guild(100)] == [2]
    assert await db.tracked.count_for_guild(100) == 1


async def test_guilds_of_chunks_large_inputs(db: Database) -> None:
    # More ids than one statement may bind (MAX_VARIABLES): the query runs in parts.
    for user in range(1, 1201, 3):
        await db.accounts.link(user, str(10_000 + user), f"P{user}")
        await db.tracked.track(5_000 + user, user)
    found = await db.tracked.guilds_of([*range(1, 1201), 1, 4])
    assert sorted(found) == [5_000 + user for user in range(1, 1201, 3)]
    assert await db.tracked.guilds_of([]) == set()


async def test_tracking_requires_a_link(db: Database) -> None:
    with pytest.raises(AccountNotLinkedError) as err:
        await db.tracked.track(100, 5)
    assert err.value.user_id == 5
    assert await db.tracked.count_for_guild(100) == 0


async def test_guilds_are_isolated(db: Database) -> None:
    await db.accounts.link(1, "11", "One")
    await db.tracked.track(100, 1)
    await db.tracked.track(200, 1)
    assert await db.tracked.untrack(300, 1) is False
    await db.tracked.untrack(100, 1)
    assert [m.guild_id for m in await db.tracked.memberships()] == [200]
    await db.tracked.track(100, 1)
    # The bot left server 200 and its grace period is over: only its tracking goes.
    await db.departures.mark_left(200, datetime(2025, 1, 1, tzinfo=UTC))
    assert await db.departures.purge(datetime(2025, 1, 8, tzinfo=UTC)) == [200]
    assert await count(db, "tracked_members", "guild_id = ?", 200) == 0
    assert [m.guild_id for m in await db.tracked.memberships()] == [100]


async def test_unlink_cascades_tracking_everywhere_but_relink_keeps_it(db: Database) -> None:
    await db.accounts.link(1, "11", "One")
    await db.accounts.link(2, "12", "Two")
    for guild in (100, 200, 300):
        await db.tracked.track(guild, 1)
    await db.tracked.track(100, 2)

    await db.accounts.link(1, "99", "Relinked")  # upsert, not delete+insert
    assert [m.xuid for m in await db.tracked.memberships() if m.user_id == 1] == ["99"] * 3

    await db.accounts.unlink(1)
    assert await db.tracked.memberships() == [TrackedMember(100, 2, "12", "Two")]
    assert await integrity_ok(db)


async def test_unique_xuids_and_memberships(db: Database) -> None:
    await db.accounts.link(1, "30", "A")
    await db.accounts.link(2, "20", "B")
    await db.accounts.link(3, "20", "B alt")  # two users on one Xbox account
    await db.accounts.link(4, "40", "Untracked")
    await db.tracked.track(100, 1)
    await db.tracked.track(200, 1)
    await db.tracked.track(100, 2)
    await db.tracked.track(300, 3)
    assert await db.tracked.unique_xuids() == ["20", "30"]
    assert [(m.guild_id, m.user_id) for m in await db.tracked.memberships()] == [
        (100, 1),
        (100, 2),
        (200, 1),
        (300, 3),
    ]


async def test_linked_in_guild_prefix_search(db: Database) -> None:
    names = {1: "Spartan_One", 2: "spartan%two", 3: "SPARTANTHREE", 4: "Elite", 5: "SpartanFive"}
    for user, name in names.items():
        await db.accounts.link(user, str(100 + user), name)
        await db.tracked.track(100 if user != 5 else 200, user)

    found = await db.tracked.linked_in_guild(100, "spartan")  # sorted case-insensitively
    assert [m.gamertag for m in found] == ["spartan%two", "Spartan_One", "SPARTANTHREE"]
    assert [m.gamertag for m in await db.tracked.linked_in_guild(100, "SPARTAN_")] == [
        "Spartan_One"  # "_" is literal, not a wildcard
    ]
    assert [m.gamertag for m in await db.tracked.linked_in_guild(100, "spartan%")] == [
        "spartan%two"
    ]
    assert len(await db.tracked.linked_in_guild(100, "", limit=2)) == 2
    assert await db.tracked.linked_in_guild(100, "x") == []
    with pytest.raises(ValueError):
        await db.tracked.linked_in_guild(100, "", limit=0)


async def test_linked_at_round_trips_as_utc(db: Database) -> None:
    before = datetime.now(UTC)
    await db.accounts.link(1, "1", "Timed")
    stored = (await db.accounts.get(1)).linked_at
    assert before <= stored <= datetime.now(UTC)
