"""Property tests: whatever a member types, either it is refused or its URLs stay in their lane."""

from __future__ import annotations

import unicodedata
from urllib.parse import unquote, urlsplit

from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot.common.errors import InvalidPlayerError
from bot.halo.urls import PROFILE_HOST, STATS_HOST, build_url, segment
from bot.halo.xuid import PlayerRef, format_xuid, normalise_gamertag, parse_player

NASTY = [
    "/",
    "?",
    "#",
    "%",
    "%2F",
    "%2e%2e",
    ".",
    "..",
    "...",
    "../..",
    "a/../b",
    "@evil.example",
    "//evil.example",
    "\\",
    "\x00",
    "\r\n",
    " ",
    "(",
    ")",
    "gt(x)",
    "xuid(1)/x",
    "名前",
    "😀",
    "\u202e",
]

# Text that often looks like a gamertag, a XUID or a mention, so the accepting
# paths are exercised as much as the refusing ones.
gamertag_like = st.one_of(
    st.from_regex(r"[A-Za-z][A-Za-z0-9 ]{0,14}", fullmatch=True),
    st.from_regex(r"\w{1,12}(#[0-9]{1,4})?", fullmatch=True),
    st.text(st.characters(categories=["L", "N", "Zs", "M"]), min_size=1, max_size=16),
)
xuid_like = st.one_of(
    st.from_regex(r"[0-9]{1,18}", fullmatch=True),
    st.from_regex(r"(?i:xuid)\([0-9 ]{0,18}\)", fullmatch=True),
    st.from_regex(r"<@!?[0-9]{1,21}>", fullmatch=True),
)
anything = st.one_of(
    st.text(),
    st.text(st.characters(codec="ascii")),
    st.sampled_from(NASTY),
    gamertag_like,
    xuid_like,
    st.lists(st.sampled_from([*NASTY, "Noble", "Six", "1", " "]), max_size=6).map("".join),
)


def _check_profile_url(ref: PlayerRef) -> None:
    url = build_url(PROFILE_HOST, f"/users/gt({segment(ref.value)})")
    parts = urlsplit(url)
    assert parts.scheme == "https"
    assert parts.netloc == PROFILE_HOST
    assert parts.hostname == PROFILE_HOST
    assert parts.query == ""
    assert parts.fragment == ""
    assert "?" not in url and "#" not in url
    pieces = parts.path.split("/")
    assert pieces[:2] == ["", "users"]
    assert len(pieces) == 3
    last = pieces[2]
    assert last.startswith("gt(") and last.endswith(")")
    assert unquote(last[3:-1]) == ref.value


def _check_stats_url(ref: PlayerRef) -> None:
    """Stats paths take a XUID as the client writes it (a gamertag is resolved first)."""
    token = format_xuid(ref.value)
    url = build_url(STATS_HOST, f"/hi/players/{segment(token)}/Matchmade/servicerecord")
    parts = urlsplit(url)
    assert parts.scheme == "https"
    assert parts.netloc == STATS_HOST
    assert parts.query == "" and parts.fragment == ""
    pieces = parts.path.split("/")
    assert len(pieces) == 6
    assert pieces[:3] == ["", "hi", "players"]
    assert pieces[4:] == ["Matchmade", "servicerecord"]
    assert unquote(pieces[3]) == token


def _check_shape(ref: PlayerRef) -> None:
    if ref.kind == "xuid":
        assert ref.value.isascii() and ref.value.isdigit()
        assert 1 <= len(ref.value) <= 16
        assert ref.value == str(int(ref.value)) and ref.value != "0"
        assert format_xuid(ref.value) == f"xuid({ref.value})"
    elif ref.kind == "member":
        assert ref.value.isascii() and ref.value.isdigit()
        assert 1 <= len(ref.value) <= 20
    else:
        assert ref.kind == "gamertag"
        name, _, suffix = ref.value.partition("#")
        assert name == name.strip() and name
        assert "  " not in name
        assert len(name) <= 15
        assert all(ch == " " or unicodedata.category(ch)[0] in "LNM" for ch in name)
        assert suffix == "" or (suffix.isascii() and suffix.isdigit() and len(suffix) <= 4)
        if suffix or not name.isascii():
            assert len(name) <= 12
        assert ref.value == unicodedata.normalize("NFC", ref.value)
        assert normalise_gamertag(ref.value) == ref.value.casefold()


@settings(max_examples=600, deadline=None)
@given(anything)
@example("Noble Six#1234")
@example("xuid(2533274800000000)")
@example("<@!1234>")
@example("..")
@example("%2F")
def test_parse_player_refuses_or_builds_safe_urls(text: str) -> None:
    try:
        ref = parse_player(text)
    except InvalidPlayerError as err:
        assert err.message
        assert err.message == err.message.strip()
        return
    _check_shape(ref)
    # Parsing is stable: the cleaned value means the same player.
    assert parse_player(ref.value if ref.kind != "member" else text) == ref
    if ref.kind == "member":
        return
    if ref.kind == "gamertag":
        _check_profile_url(ref)
    else:
        _check_stats_url(ref)


@settings(max_examples=300, deadline=None)
@given(gamertag_like)
def test_gamertag_like_text_that_passes_is_a_gamertag_or_xuid(text: str) -> None:
    try:
        ref = parse_player(text)
    except InvalidPlayerError:
        return
    assert ref.kind in {"gamertag", "xuid"}
    if ref.kind == "gamertag":
        assert normalise_gamertag(text) == normalise_gamertag(ref.value)


@settings(max_examples=600, deadline=None)
@given(st.one_of(st.text(), st.sampled_from(NASTY), st.lists(st.sampled_from(NASTY)).map("".join)))
@example("..")
@example(".")
@example("%")
def test_segment_is_one_opaque_segment(value: str) -> None:
    encoded = segment(value)
    assert unquote(encoded) == value
    assert encoded.isascii()
    assert not set(encoded) & set("/?#\\ \t\r\n") and encoded not in {".", ".."}
    assert all(ch.isalnum() or ch in "-._~%()" for ch in encoded)
    for host in (PROFILE_HOST, STATS_HOST):
        url = build_url(host, f"/hi/players/{encoded}/Matchmade/servicerecord")
        parts = urlsplit(url)
        assert parts.netloc == host
        assert parts.query == "" and parts.fragment == ""
        pieces = parts.path.split("/")
        assert len(pieces) == 6
        assert unquote(pieces[3]) == value
