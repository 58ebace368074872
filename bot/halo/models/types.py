"""The tolerant field types every Halo model is built from.

Each one reads Halo's usual value natively in pydantic-core (no Python call, no
intermediate Python objects when parsing JSON bytes) and falls back, left to right,
to the tolerant reading only when the native one fails:

- :data:`Text`, :data:`ListOf`, :data:`OrDefault`: ``null`` reads as ``""``, ``[]`` or
  the sub-object's defaults.
- :data:`HaloDateTime`: an ISO 8601 string, or one wrapped as ``{"ISO8601Date": ...}``;
  always timezone-aware UTC.
- :data:`HaloDuration`: an ISO 8601 duration (``P17DT10H55M53.7685509S``, pydantic's
  own parser, fractions rounded to the microsecond) or a number of seconds; ``null``
  is 0; lower case and surrounding blanks are accepted too.
- :data:`Xuid`: bare decimal digits; an int or ``xuid(N)`` is accepted too.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, TypeVar, get_origin

from pydantic import GetCoreSchemaHandler, TypeAdapter
from pydantic_core import PydanticCustomError, core_schema

from bot.halo.xuid import xuid_or_none

T = TypeVar("T")

_DURATION = TypeAdapter(timedelta)
_DATETIME = TypeAdapter(datetime)


def _fallback(
    native: core_schema.CoreSchema, *others: core_schema.CoreSchema
) -> core_schema.CoreSchema:
    """``native``, else each of ``others`` in turn: the first that accepts the value wins."""
    return core_schema.union_schema([native, *others], mode="left_to_right")


def _null_as(make: Callable[[], Any]) -> core_schema.CoreSchema:
    """Accepts only ``null`` and gives ``make()`` for it."""
    return core_schema.no_info_after_validator_function(lambda _: make(), core_schema.none_schema())


class _NullAsEmpty:
    """``Annotated`` marker: ``null`` reads as the type called with no arguments."""

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        make = get_origin(source) or source
        return _fallback(handler(source), _null_as(make))


_NULL_AS_EMPTY = _NullAsEmpty()

#: A string where Halo may send ``null`` for "nothing": ``None`` becomes ``""``.
Text = Annotated[str, _NULL_AS_EMPTY]
#: A list where Halo may send ``null`` for "none": ``None`` becomes ``[]``.
ListOf = Annotated[list[T], _NULL_AS_EMPTY]
#: A sub-object where Halo may send ``null``: ``None`` becomes its defaults.
OrDefault = Annotated[T, _NULL_AS_EMPTY]


def as_utc(value: datetime) -> datetime:
    """Aware UTC; a naive value is taken to be UTC already."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _unwrap_any_case(value: object) -> datetime:
    """``{"iso8601date": ...}`` in any spelling of the key (the usual one is native)."""
    if isinstance(value, Mapping):
        for key, inner in value.items():
            if isinstance(key, str) and key.casefold() == "iso8601date":
                return _DATETIME.validate_python(inner)
    raise PydanticCustomError("halo_datetime", "not a date or an ISO8601Date object")


class _HaloDate:
    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        wrapped = core_schema.typed_dict_schema(
            {
                "date": core_schema.typed_dict_field(
                    core_schema.datetime_schema(), validation_alias="ISO8601Date"
                )
            }
        )
        either = _fallback(
            core_schema.datetime_schema(),
            core_schema.no_info_after_validator_function(lambda d: d["date"], wrapped),
            core_schema.no_info_plain_validator_function(_unwrap_any_case),
        )
        return core_schema.no_info_after_validator_function(as_utc, either)


#: A UTC datetime given as an ISO 8601 string or wrapped as ``{"ISO8601Date": ...}``.
HaloDateTime = Annotated[datetime, _HaloDate()]


def _loose_duration(value: object) -> timedelta:
    """A duration string with blanks around it or in lower case."""
    if isinstance(value, str):
        return _DURATION.validate_python(value.strip().upper())
    raise PydanticCustomError("halo_duration", "not an ISO 8601 duration")


class _HaloDuration:
    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return _fallback(
            core_schema.timedelta_schema(),
            _null_as(timedelta),
            core_schema.no_info_plain_validator_function(_loose_duration),
        )


#: A ``timedelta`` given as an ISO 8601 duration string (or a number of seconds); null is 0.
HaloDuration = Annotated[timedelta, _HaloDuration()]


def xuid_text(value: object) -> object:
    """A XUID in any form Halo writes it (``123``, ``"xuid(123)"``) as canonical digits;
    anything else unchanged (so validation reports it)."""
    digits = xuid_or_none(value)
    return value if digits is None else digits


def xuid_digits(value: object) -> str | None:
    """The XUID digits of ``value`` (``123``, ``"xuid(123)"``), or ``None``."""
    return xuid_or_none(value)


def _loose_xuid(value: object) -> str:
    digits = xuid_digits(value)
    if digits is None:
        raise PydanticCustomError("xuid", "not a XUID")
    return digits


class _Xuid:
    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return _fallback(
            core_schema.str_schema(pattern=r"^[1-9][0-9]{0,15}$"),
            core_schema.no_info_plain_validator_function(_loose_xuid),
        )


#: A XUID as bare decimal digits; accepts ints and ``xuid(N)``.
Xuid = Annotated[str, _Xuid()]
