"""What the member sees of a command's answer, for the in-process e2e tests."""

from __future__ import annotations

from typing import Any


def fields(embed: dict[str, Any]) -> dict[str, str]:
    return {f["name"]: f["value"] for f in embed.get("fields", [])}


def public_embed(rec: Any) -> dict[str, Any]:
    """The embed of a public answer, sent after "thinking..." (the deferral went out
    before any Halo call)."""
    msg = rec.final_message()
    assert not rec.is_ephemeral(msg), msg
    assert rec.deferred
    return msg["embeds"][0]


def private_error(rec: Any) -> dict[str, Any]:
    """The embed of an error only the caller sees: the public "thinking..." deleted and
    the error sent as an ephemeral followup (or as the ephemeral first answer)."""
    msg = rec.final_message()
    assert rec.is_ephemeral(msg), msg
    assert rec.deleted_original or not rec.deferred, rec.summary()
    return msg["embeds"][0]
