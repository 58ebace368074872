"""Unexpected failures: an apology with an error id, logged with it, never left thinking."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest

from bot.core.bot import EXTENSIONS
from tests.support.world import running_world


@pytest.mark.parametrize("command", ["boom", "boom-deferred"])
async def test_unexpected_error_is_an_apology_with_an_id(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, command: str
) -> None:
    caplog.set_level(logging.ERROR, logger="bot.core.tree")
    async with running_world(
        tmp_path, extensions=(*EXTENSIONS, "tests.support.extensions.boom")
    ) as world:
        rec = await world.invoke(command)
        msg = rec.final_message()
        assert rec.is_ephemeral(msg)
        embed = msg["embeds"][0]
        assert embed["title"] == "Something went wrong"
        match = re.search(r"error `([0-9a-f]{8})`", embed["description"])
        assert match, embed["description"]
        assert "kaboom" not in embed["description"]
        assert "after defer" not in embed["description"]
        logged = [r for r in caplog.records if match.group(1) in r.getMessage()]
        assert logged and logged[0].exc_info is not None
        if command == "boom-deferred":
            assert rec.deferred
            assert rec.deleted_original  # the public "thinking" reply is gone
