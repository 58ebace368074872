"""Option values and autocomplete, fuzzed: whatever a member types into `playlist`,
`season`, `operation` or `event`, the bot answers (a result or a clear refusal), never
pings, never crashes, and never sends the text anywhere but as one encoded value."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, cast
from urllib.parse import unquote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.common.errors import UserFacingError
from bot.core.playlists import known_playlist, resolve_playlist, suggest_playlists
from bot.features.stats.seasons import build_directory
from bot.halo.client import HaloClient
from bot.halo.models import CsrSeasonCalendar, SeasonCalendar
from tests.e2e.core.test_security import assert_no_pings
from tests.fakes.halo_server import NOBLE_SIX
from tests.support.paths import HALO_FIXTURES
from tests.support.world import World
from tests.unit.halo.test_xuid_property import NASTY

FIXTURES = HALO_FIXTURES
DIRECTORY = build_directory(
    SeasonCalendar.parse((FIXTURES / "from-seeds" / "gamecms_seasoncalendar.json").read_bytes()),
    CsrSeasonCalendar.parse((FIXTURES / "recorded" / "get_csr_season_calendar.json").read_bytes()),
    {},
)
option_text = st.one_of(
    st.text(max_size=120),
    st.sampled_from(NASTY),
    st.lists(st.sampled_from([*NASTY, "Ranked", "Arena", "Season", "1", " "]), max_size=6).map(
        "".join
    ),
)


class NoHalo:
    """Any call to Halo fails the test: these inputs must be settled locally."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"unexpected Halo call {name}")


@given(option_text)
def test_playlist_matching_never_fails(text: str) -> None:
    suggestions = suggest_playlists(text)
    assert len(suggestions) <= 25
    known = known_playlist(text)
    assert known is None or text.strip().casefold() in (
        known.playlist_id,
        known.name.casefold(),
        known.short_name.casefold(),
    )


@settings(max_examples=200)
@given(option_text)
async def test_playlist_text_that_is_no_id_is_refused_without_asking_halo(text: str) -> None:
    if known_playlist(text) is not None:
        return
    try:
        await resolve_playlist(cast(HaloClient, NoHalo()), text)
    except UserFacingError as exc:
        assert exc.title == "Unknown playlist"
        assert "@everyone" not in exc.message and "<@" not in exc.message
    except AssertionError:
        # Only a well-formed playlist id may be looked up.
        assert len(text.strip()) == 36 and text.strip().count("-") == 4


@given(option_text, st.sampled_from(["csr", "record"]))
def test_season_matching_never_fails(text: str, kind: str) -> None:
    at = datetime(2024, 5, 1, tzinfo=UTC)
    suggestions = DIRECTORY.suggest(kind, text, at)  # type: ignore[arg-type]
    assert len(suggestions) <= 25
    for season in suggestions:
        assert len(season.label(at)) < 200
    found = DIRECTORY.find(kind, text)  # type: ignore[arg-type]
    assert found is None or found.kind == kind


# -- through the real bot --------------------------------------------------------------

OPTIONS = [
    ("csr", "playlist"),
    ("csr", "season"),
    ("servicerecord", "season"),
    ("operation", "operation"),
    ("events", "event"),
]
HOSTILE = [
    "@everyone",
    "<@&1300000000000010100>",
    "**bold** `code` [link](https://evil.example)",
    "../../hi/players/xuid(1)/matchmade/servicerecord?x=1",
    "%2e%2e%2f%3F",
    "a" * 100,
    "\u202e\u0000\r\n",
]


@pytest.mark.parametrize(("command", "option"), OPTIONS)
async def test_hostile_option_values_get_clear_answers(
    world: World, command: str, option: str
) -> None:
    for index, text in enumerate(HOSTILE):
        choices = await world.autocomplete(command, {option: text}, option)
        assert len(choices) <= 25
        rec = await world.invoke(
            command, {"player": NOBLE_SIX.gamertag, option: text}, user_id=10_000 + index
        )
        msg = rec.final_message()
        assert msg is not None
        embed = msg["embeds"][0]
        assert embed["title"] != "Something went wrong", (text, embed)  # no crash
        body = json.dumps(msg)
        assert "@everyone" not in body.replace("@\u200beveryone", "")
        assert "<@&" not in body
    for request in world.halo.requests:
        # The text never became a path of its own upstream.
        assert "/../" not in unquote(request.path)
        assert "evil.example" not in request.host
    assert_no_pings(world)
    world.discord.assert_healthy()
