"""parse_player: what members may type, and the message for everything else."""

from __future__ import annotations

import pytest

from bot.common.errors import InvalidPlayerError
from bot.halo import xuid as p
from bot.halo.xuid import PlayerRef, canonical_xuid, format_xuid, normalise_gamertag, parse_player

VALID: list[tuple[str, PlayerRef]] = [
    # XUIDs
    ("xuid(2533274800000000)", PlayerRef("xuid", "2533274800000000")),
    ("XUID(12)", PlayerRef("xuid", "12")),
    ("Xuid( 12 )", PlayerRef("xuid", "12")),
    ("2533274800000000", PlayerRef("xuid", "2533274800000000")),
    ("  42  ", PlayerRef("xuid", "42")),
    ("0042", PlayerRef("xuid", "42")),
    ("1", PlayerRef("xuid", "1")),
    ("9" * 16, PlayerRef("xuid", "9" * 16)),
    # member mentions
    ("<@123456789012345678>", PlayerRef("member", "123456789012345678")),
    ("<@!42>", PlayerRef("member", "42")),
    (" <@7> ", PlayerRef("member", "7")),
    # classic gamertags
    ("Noble Six", PlayerRef("gamertag", "Noble Six")),
    ("a", PlayerRef("gamertag", "a")),
    ("ABCDEFGHIJKLMNO", PlayerRef("gamertag", "ABCDEFGHIJKLMNO")),
    ("Master Chief117", PlayerRef("gamertag", "Master Chief117")),
    ("  Noble   Six  ", PlayerRef("gamertag", "Noble Six")),
    ("aCurtis X89", PlayerRef("gamertag", "aCurtis X89")),
    # modern gamertags
    ("Noble#1234", PlayerRef("gamertag", "Noble#1234")),
    ("Noble Six#1", PlayerRef("gamertag", "Noble Six#1")),
    ("Noble #12", PlayerRef("gamertag", "Noble#12")),
    ("Ñoño", PlayerRef("gamertag", "Ñoño")),
    ("Ñoño#0007", PlayerRef("gamertag", "Ñoño#0007")),
    ("日本語ゲーマー", PlayerRef("gamertag", "日本語ゲーマー")),
    ("Ωμέγα 2", PlayerRef("gamertag", "Ωμέγα 2")),
    ("1abc", PlayerRef("gamertag", "1abc")),
    ("12 34", PlayerRef("gamertag", "12 34")),
    ("1234#12", PlayerRef("gamertag", "1234#12")),
    ("ÀÉÎÕÜÇÑßØÅÆŒ", PlayerRef("gamertag", "ÀÉÎÕÜÇÑßØÅÆŒ")),
    ("प्रिया", PlayerRef("gamertag", "प्रिया")),
    ("e\u0301clair", PlayerRef("gamertag", "\u00e9clair")),  # NFC
    ("١٢٣", PlayerRef("gamertag", "١٢٣")),  # Arabic-Indic digits are not a XUID
]


@pytest.mark.parametrize(("text", "expected"), VALID)
def test_valid(text: str, expected: PlayerRef) -> None:
    assert parse_player(text) == expected


INVALID: list[tuple[str, str]] = [
    ("", p.MSG_EMPTY),
    ("   ", p.MSG_EMPTY),
    ("\n\t", p.MSG_EMPTY),
    ("12345678901234567", p.MSG_XUID_TOO_LONG),
    ("xuid(12345678901234567)", p.MSG_XUID_TOO_LONG),
    ("xuid()", p.MSG_XUID_FORMAT),
    ("xuid(abc)", p.MSG_XUID_FORMAT),
    ("xuid(-5)", p.MSG_XUID_FORMAT),
    ("xuid(12", p.MSG_XUID_FORMAT),
    ("xuid(12)x", p.MSG_XUID_FORMAT),
    ("xuid(１２)", p.MSG_XUID_FORMAT),  # full-width digits
    ("0", p.MSG_XUID_ZERO),
    ("xuid(000)", p.MSG_XUID_ZERO),
    ("-12", p.MSG_BAD_CHARACTERS),
    ("+12", p.MSG_BAD_CHARACTERS),
    ("<@&123>", p.MSG_NOT_A_MEMBER),
    ("<#123>", p.MSG_NOT_A_MEMBER),
    ("<@abc>", p.MSG_BAD_CHARACTERS),
    ("<@123456789012345678901>", p.MSG_BAD_CHARACTERS),
    ("@everyone", p.MSG_BAD_CHARACTERS),
    ("**Noble**", p.MSG_BAD_CHARACTERS),
    ("`Noble`", p.MSG_BAD_CHARACTERS),
    ("Noble_Six", p.MSG_BAD_CHARACTERS),
    ("Noble\tSix", p.MSG_BAD_CHARACTERS),
    ("Noble\nSix", p.MSG_BAD_CHARACTERS),
    ("Noble/Six", p.MSG_BAD_CHARACTERS),
    ("../admin", p.MSG_BAD_CHARACTERS),
    ("Noble?x=1", p.MSG_BAD_CHARACTERS),
    ("Noble%20Six", p.MSG_BAD_CHARACTERS),
    ("gt(Noble)", p.MSG_BAD_CHARACTERS),
    ("Noble\u200bSix", p.MSG_BAD_CHARACTERS),  # zero-width space
    ("Noble\u00a0Six", p.MSG_BAD_CHARACTERS),  # no-break space
    ("Noble\x00", p.MSG_BAD_CHARACTERS),
    ("Noble😀", p.MSG_BAD_CHARACTERS),
    ("\u0301e", p.MSG_BAD_CHARACTERS),  # starts with a combining mark
    ("a#b#1", p.MSG_BAD_CHARACTERS),
    ("No*ble#1234", p.MSG_BAD_CHARACTERS),
    ("Noble#", p.MSG_BAD_SUFFIX),
    ("Noble#12345", p.MSG_BAD_SUFFIX),
    ("Noble#12a", p.MSG_BAD_SUFFIX),
    ("Noble#１２", p.MSG_BAD_SUFFIX),
    ("#1234", p.MSG_NO_NAME),
    ("   #1", p.MSG_NO_NAME),
    ("ABCDEFGHIJKLMNOP", p.MSG_TOO_LONG),
    ("ABCDEFGHIJKLM#1234", p.MSG_TOO_LONG),
    ("日本語ゲーマー日本語ゲーマー", p.MSG_TOO_LONG),
    ("a" * 5000, p.MSG_TOO_LONG),
    ("1234567890abc", p.MSG_DIGIT_START),
    ("1 Noble Sixxxxx", p.MSG_DIGIT_START),
]


@pytest.mark.parametrize(("text", "message"), INVALID)
def test_invalid(text: str, message: str) -> None:
    with pytest.raises(InvalidPlayerError) as caught:
        parse_player(text)
    assert caught.value.message == message
    assert caught.value.title == "Invalid gamertag or XUID"


@pytest.mark.parametrize(
    "text", ["**bold**", "@everyone", "<@&123>", "`code`", "[x](https://e.x)", "||spoiler||"]
)
def test_messages_never_echo_the_input(text: str) -> None:
    with pytest.raises(InvalidPlayerError) as caught:
        parse_player(text)
    assert text not in caught.value.message
    for markdown in ("**", "@everyone", "`", "||", "](", "<@"):
        assert markdown not in caught.value.message


def test_every_message_is_a_sentence() -> None:
    messages = [value for name, value in vars(p).items() if name.startswith("MSG_")]
    assert len(messages) == 10
    assert all(message.endswith(".") and message[0].isupper() for message in messages)


def test_player_ref_is_frozen() -> None:
    ref = parse_player("Noble")
    with pytest.raises(AttributeError):
        ref.value = "other"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("gamertag", "key"),
    [
        ("Noble Six", "noble six"),
        ("  NOBLE   six ", "noble six"),
        ("Straße", "strasse"),
        ("E\u0301clair#12", "\u00e9clair#12"),
    ],
)
def test_normalise_gamertag(gamertag: str, key: str) -> None:
    assert normalise_gamertag(gamertag) == key


def test_normalise_gamertag_makes_case_variants_equal() -> None:
    assert normalise_gamertag("NoBlE SiX") == normalise_gamertag("noble six")
    assert normalise_gamertag("Noble Six") != normalise_gamertag("Noble Sixx")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (123, "xuid(123)"),
        ("123", "xuid(123)"),
        ("xuid(123)", "xuid(123)"),
        (" XUID(0042) ", "xuid(42)"),
    ],
)
def test_format_xuid(value: str | int, expected: str) -> None:
    assert format_xuid(value) == expected


@pytest.mark.parametrize(
    ("player_id", "expected"),
    [("xuid(123)", "123"), ("XUID(2535445291321133)", "2535445291321133"), ("77", "77")],
)
def test_canonical_xuid(player_id: str, expected: str) -> None:
    assert canonical_xuid(player_id) == expected


@pytest.mark.parametrize(
    "bad", ["", "xuid()", "xuid(12a)", "gt(Noble)", "MY_XUID", "1" * 17, "xuid(-1)", "١٢"]
)
def test_canonical_xuid_rejects(bad: str) -> None:
    with pytest.raises(ValueError, match="XUID"):
        canonical_xuid(bad)
    with pytest.raises(ValueError, match="XUID"):
        format_xuid(bad)
