"""The profile service (``profile.svc.halowaypoint.com``): gamertags and XUIDs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Self

from pydantic import ConfigDict, RootModel

from bot.halo.models.base import CamelModel, parse
from bot.halo.models.types import Xuid


class Gamerpic(CamelModel):
    """Gamerpic URLs in four sizes."""

    small: str | None = None
    medium: str | None = None
    large: str | None = None
    xlarge: str | None = None


class ProfileUser(CamelModel):
    """``GET /users/gt({gamertag})``, ``/users/me`` and each entry of ``/users?xuids=``."""

    xuid: Xuid
    gamertag: str
    gamerpic: Gamerpic | None = None


class ProfileUsers(RootModel[list[ProfileUser]]):
    """``GET /users?xuids=1,2,3``: a JSON array of users."""

    model_config = ConfigDict(frozen=True)

    @classmethod
    def parse(cls, raw: bytes | bytearray | memoryview | str | object) -> Self:
        """:func:`parse` for this model."""
        return parse(cls, raw)

    def __iter__(self) -> Iterator[ProfileUser]:  # type: ignore[override]
        return iter(self.root)

    def __len__(self) -> int:
        return len(self.root)
