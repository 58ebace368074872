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
from bot.features.stats.seasons import SeasonDirectory, build_directory
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


#: The four known ranked playlists, in the order suggestions list them.
PLAYLIST_NAMES = ["Ranked Arena", "Ranked Slayer", "Ranked Doubles", "Ranked FFA"]


@given(option_text)
def test_playlist_suggestions_are_the_names_containing_the_text(text: str) -> None:
    wanted = text.strip().casefold()
    expected = [name for name in PLAYLIST_NAMES if wanted in name.casefold()]
    assert [p.name for p in suggest_playlists(text)] == expected
    known = known_playlist(text)
    assert known is None or text.strip().casefold() in (
        known.playlist_id,
        known.name.casefold(),
        known.short_name.casefold(),
    )


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("", PLAYLIST_NAMES),
        ("  RANKED ", PLAYLIST_NAMES),
        ("arena", ["Ranked Arena"]),
        ("s", ["Ranked Slayer", "Ranked Doubles"]),
        ("Ranked Arena 2", []),
    ],
)
def test_playlist_suggestions_examples(text: str, names: list[str]) -> None:
    assert [p.name for p in suggest_playlists(text)] == names


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


def _many_seasons(count: int) -> SeasonDirectory:
    """A directory of ``count`` seasons of each kind (more than autocomplete may list),
    one a month from July 2021, season 35 running in May 2024."""
    start = datetime(2021, 6, 1, 17, tzinfo=UTC)

    def when(months: int) -> dict[str, str]:
        year, month = divmod(start.month - 1 + months, 12)
        moment = start.replace(year=start.year + year, month=month + 1)
        return {"ISO8601Date": moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")}

    seasons = [
        {
            "CsrSeasonFilePath": f"Csr/Seasons/CsrSeason{n}-1.json",
            "SeasonMetadata": f"Seasons/Season{n}.json",
            "StartDate": when(n),
            "EndDate": when(n + 1),
        }
        for n in range(1, count + 1)
    ]
    csr = [{k: v for k, v in s.items() if k != "SeasonMetadata"} for s in seasons]
    return build_directory(
        SeasonCalendar.parse(json.dumps({"Seasons": seasons, "Events": []}).encode()),
        CsrSeasonCalendar.parse(json.dumps({"Seasons": csr}).encode()),
        {},
    )


MANY = _many_seasons(40)
MAY_2024 = datetime(2024, 5, 15, tzinfo=UTC)


def test_the_many_seasons_directory_has_more_than_25_of_each_kind() -> None:
    assert len(MANY.csr) == len(MANY.record) == 40
    assert [s.name for s in MANY.record if s.is_current(MAY_2024)] == ["Season 35"]


@given(option_text, st.sampled_from(["csr", "record"]))
def test_season_suggestions_are_the_first_25_matching_current_first(text: str, kind: str) -> None:
    seasons = MANY.of(kind)  # type: ignore[arg-type]
    wanted = text.strip().casefold()
    matching = [
        s
        for s in seasons
        if wanted in s.label(MAY_2024).casefold() or wanted in s.season_id.casefold()
    ]
    suggestions = MANY.suggest(kind, text, MAY_2024)  # type: ignore[arg-type]
    assert len(suggestions) == min(25, len(matching))
    assert all(s in matching for s in suggestions)
    current = [s for s in matching if s.is_current(MAY_2024)]
    if current:
        assert suggestions[0] == current[0]
    for season in suggestions:
        assert len(season.label(MAY_2024)) < 200
    found = DIRECTORY.find(kind, text)  # type: ignore[arg-type]
    assert found is None or found.kind == kind


@pytest.mark.parametrize("kind", ["csr", "record"])
def test_season_suggestions_stop_at_25_with_the_current_season_first(kind: str) -> None:
    suggestions = MANY.suggest(kind, "", MAY_2024)  # type: ignore[arg-type]
    assert len(suggestions) == 25
    assert suggestions[0].is_current(MAY_2024) and suggestions[0].name == "Season 35"
    # Then newest first: seasons 40 down to 17 (35 is already first).
    assert [s.name for s in suggestions[1:]] == [
        f"Season {n}" for n in range(40, 15, -1) if n != 35
    ][:24]


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
