"""The base of every Halo model, the one way to parse an answer, and shared helpers.

Every model is frozen and ignores fields it does not know, so Halo adding a field
never breaks the bot. Halo spells its keys in PascalCase (the profile service and
the medal file in camelCase); Python attributes are snake_case and either spelling
is accepted on input. Enum-like values (tier names, game variant categories,
outcomes, result codes) stay plain ``str``/``int`` so a value the game adds later is
kept, not rejected; lookup tables give names with a fallback.

Turn raw bytes, text or decoded JSON into a model with :func:`parse` (or the
``parse`` classmethod every model has): bytes and text go straight to pydantic-core's
JSON parser. Anything unreadable becomes :class:`bot.common.errors.HaloDataError` with a
fixed, friendly message.
"""

from __future__ import annotations

from typing import Any, Self, TypeVar

from pydantic import BaseModel, ConfigDict, GetCoreSchemaHandler, ValidationError
from pydantic.alias_generators import to_camel, to_pascal
from pydantic_core import core_schema

from bot.common.errors import HaloDataError
from bot.halo.models.types import Text

HALO_DATA_MESSAGE = "Halo returned data we could not read."
_UTF8_BOM = b"\xef\xbb\xbf"

M = TypeVar("M", bound=BaseModel)


def parse(model_cls: type[M], raw: bytes | bytearray | memoryview | str | object) -> M:
    """Validate ``raw`` (JSON bytes/text, or already decoded JSON) as ``model_cls``.

    Raises :class:`HaloDataError` (cause chained, no payload in the message) when
    the JSON is malformed or has the wrong shape.
    """
    try:
        if isinstance(raw, memoryview):
            raw = raw.tobytes()
        if isinstance(raw, bytes | bytearray):
            if raw.startswith(_UTF8_BOM):  # json.loads allows it, pydantic-core does not
                raw = raw[len(_UTF8_BOM) :]
            return model_cls.model_validate_json(raw)
        if isinstance(raw, str):
            return model_cls.model_validate_json(raw)
        return model_cls.model_validate(raw)
    except (ValidationError, ValueError, TypeError, RecursionError) as err:
        raise HaloDataError(HALO_DATA_MESSAGE) from err


def is_malformed_json(error: HaloDataError) -> bool:
    """True when :func:`parse` failed on the JSON syntax, not on the answer's shape."""
    cause = error.__cause__
    return isinstance(cause, ValidationError) and any(
        e["type"] == "json_invalid" for e in cause.errors(include_url=False)
    )


def track_id_from_path(path: str) -> str:
    """``"RewardTracks/Operations/S07Op01.json"`` -> ``"S07Op01"``."""
    name = path.strip().replace("\\", "/").rsplit("/", 1)[-1]
    if name.lower().endswith(".json"):
        name = name[: -len(".json")]
    return name


class HaloModel(BaseModel):
    """Base of every model: frozen, unknown fields ignored, PascalCase aliases."""

    model_config = ConfigDict(
        frozen=True,
        extra="ignore",
        alias_generator=to_pascal,
        populate_by_name=True,
    )

    @classmethod
    def parse(cls, raw: bytes | bytearray | memoryview | str | object) -> Self:
        """:func:`parse` for this model."""
        return parse(cls, raw)


class CamelModel(HaloModel):
    """Models of the services that spell keys in camelCase (profile, medal metadata)."""

    model_config = ConfigDict(alias_generator=to_camel)


class LocalizedText(BaseModel):
    """A CMS string: ``{"status", "value", "translations"}``, or a plain string, or null.

    Only the default (English) value is read; translations are skipped.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    value: Text = ""
    status: str | None = None

    def __str__(self) -> str:
        return self.value

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        # The object natively; a plain string or null only when that fails.
        return core_schema.union_schema(
            [
                handler(source),
                core_schema.no_info_after_validator_function(
                    lambda text: cls(value=text), core_schema.str_schema()
                ),
                core_schema.no_info_after_validator_function(
                    lambda _: cls(), core_schema.none_schema()
                ),
            ],
            mode="left_to_right",
        )
