"""Parsing answers from their bytes: pydantic's durations against every recorded value,
dates, and the client handing Halo's bytes straight to the models (fake Halo on loopback)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import pytest

from bot.common.errors import HaloDataError
from bot.halo import models as m
from tests.fakes.halo_server import (
    NOBLE_SIX,
    RANKED_ARENA,
    RECORDED_PLAYER,
)
from tests.support.paths import HALO_FIXTURES

FIXTURES = HALO_FIXTURES
ANSWERS = sorted(
    p for p in FIXTURES.glob("*/*.json") if p.parent.name in {"recorded", "from-seeds"}
)
DURATION = re.compile(r"P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?", re.ASCII)
DATE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z?", re.ASCII)


def strings(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for inner in value.values():
            yield from strings(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from strings(inner)
    elif isinstance(value, str):
        yield value


def recorded(pattern: re.Pattern[str]) -> list[str]:
    found = {
        text
        for path in ANSWERS
        for text in strings(json.loads(path.read_bytes()))
        if text != "P" and pattern.fullmatch(text)
    }
    return sorted(found)


def exact(text: str) -> timedelta:
    """The duration in exact decimal arithmetic, rounded half to even to the microsecond."""
    match = DURATION.fullmatch(text)
    assert match is not None
    days, hours, minutes, seconds = (Decimal(g or 0) for g in match.groups())
    total = ((days * 24 + hours) * 60 + minutes) * 60 + seconds
    micros = (total * 1_000_000).quantize(Decimal(1), rounding=ROUND_HALF_EVEN)
    return timedelta(microseconds=int(micros))


class _Timed(m.HaloModel):
    took: m.HaloDuration


class _Dated(m.HaloModel):
    when: m.HaloDateTime


RECORDED_DURATIONS = recorded(DURATION)


def test_recordings_have_durations_with_seven_fraction_digits() -> None:
    assert len(RECORDED_DURATIONS) >= 60
    assert any(re.search(r"\.\d{7}S$", d) for d in RECORDED_DURATIONS)


@pytest.mark.parametrize("text", RECORDED_DURATIONS)
def test_every_recorded_duration_reads_exactly(text: str) -> None:
    body = json.dumps({"Took": text}).encode()
    assert _Timed.parse(body).took == exact(text)


@pytest.mark.parametrize("text", recorded(DATE))
def test_every_recorded_date_reads_as_utc(text: str) -> None:
    plain = _Dated.parse(json.dumps({"When": text}).encode()).when
    wrapped = _Dated.parse(json.dumps({"When": {"ISO8601Date": text}}).encode()).when
    assert plain == wrapped
    assert plain.tzinfo is UTC
    assert plain.isoformat().startswith(text[:19])


# -- the client: Halo's bytes straight into the models ------------------------------------


async def test_client_reads_the_recorded_service_record_byte_for_byte(fake, client) -> None:
    record = await client.get_service_record(str(RECORDED_PLAYER.xuid))
    expected = m.ServiceRecord.parse((FIXTURES / "recorded/get_service_record.json").read_bytes())
    assert record == expected
    assert record.time_played == timedelta(days=17, seconds=39353, microseconds=768551)


async def test_malformed_json_is_unreadable(fake, client, caplog) -> None:
    fake.fail("servicerecord", status=200, body=b'{"MatchesCompleted": 3,', times=None)
    with pytest.raises(HaloDataError) as caught:
        await client.get_service_record(str(NOBLE_SIX.xuid))
    assert caught.value.message == "Halo returned data we could not read. Please try again later."
    assert "Unreadable JSON from halostats.svc.halowaypoint.com" in caplog.text
    assert "MatchesCompleted" not in caplog.text


async def test_wrong_shape_is_unreadable(fake, client) -> None:
    fake.fail("servicerecord", wrong_shape=True, times=None)
    with pytest.raises(HaloDataError) as caught:
        await client.get_service_record(str(NOBLE_SIX.xuid))
    assert caught.value.message == "Halo returned data we could not read."


async def test_answer_with_a_byte_order_mark_is_read(fake, client) -> None:
    answer = {"Value": [{"Id": f"xuid({NOBLE_SIX.xuid})", "ResultCode": 0, "Result": {}}]}
    body = b"\xef\xbb\xbf" + json.dumps(answer).encode()
    fake.fail("/csrs", status=200, body=body)
    results = await client.get_csr(RANKED_ARENA, [NOBLE_SIX.xuid])
    result = results[str(NOBLE_SIX.xuid)]
    assert result is not None and result.current.value == -1
