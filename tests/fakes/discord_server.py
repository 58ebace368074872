"""A fake of Discord (REST API v10 + gateway v10) good enough to drive discord.py 2.7.

It is an aiohttp application on 127.0.0.1 with

* REST under ``{base_url}/api/v10`` (what ``DISCORD_API_BASE`` is set to): login,
  ``/gateway/bot``, application info, application command sync, interaction
  callbacks, interaction webhooks (followups, ``@original``), channels, guilds,
  members, roles, DMs. Message bodies may be JSON or ``multipart/form-data``
  (``payload_json`` + ``files[n]``). Payloads are checked against Discord's limits
  (``50035 Invalid Form Body``, ``50006`` empty message, ``40060`` already
  acknowledged, ``10062`` unknown interaction, ``10015`` unknown webhook, 403s from
  channel permissions). Unknown routes are logged at WARNING, recorded in
  :attr:`FakeDiscord.unknown_routes` and answered ``404 {"message": "Unknown", "code": 0}``.
* A gateway websocket at ``/gateway`` (``resume_gateway_url`` is ``/gateway/resume``):
  HELLO, heartbeat ACK, IDENTIFY -> READY + GUILD_CREATE, RESUME -> replay + RESUMED,
  INVALID_SESSION, RECONNECT, REQUEST_GUILD_MEMBERS -> GUILD_MEMBERS_CHUNK, JSON
  encoding, and ``compress=zlib-stream`` transport compression (one zlib stream per
  connection, each message ending in a ``Z_SYNC_FLUSH``). For ``zstd-stream`` it
  sends plain text frames, which discord.py accepts too. Shards: any number of
  connections, each IDENTIFYing with ``shard: [id, count]``; a server's events go to
  the shard ``(guild_id >> 22) % count`` (DMs to shard 0), and ``GET /gateway/bot``
  answers ``shards`` = :attr:`FakeDiscord.shard_count`.
* Fault injection (:meth:`FakeDiscord.fail`): Discord-shaped 429s (JSON body,
  ``X-RateLimit-*``, ``Retry-After`` and ``Via`` -- discord.py treats a 429 without
  ``Via`` as a Cloudflare ban and does not retry) or any other status.
* An admin API under ``{base_url}/_admin/`` for out-of-process tests (see
  :meth:`FakeDiscord._admin_routes`).

In-process (pytest)::

    async with FakeDiscord(token="t") as fake:
        fake.add_guild(GUILD, channels=[{"id": CHAN, "name": "general"}], members=[USER])
        configure_discord_api(fake.api_base)  # bot.core.discord_http
        ... start the bot ...
        await fake.wait_gateway("identify")
        rec = await fake.invoke("stats csr", {"gamertag": "Noble Six"}, user_id=USER)
        await rec.wait_final()
        assert rec.deferred and rec.final_message()["embeds"][0]["title"] == "..."

Out of process::

    python -m tests.fakes.discord_server --port 0    # prints DISCORD_API_BASE, one line

then ``POST {base}/_admin/guilds``, ``POST {base}/_admin/invoke`` with
``{"name": "ping", "options": {}, "wait": true}``, ``GET {base}/_admin/requests``...
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import copy
import hashlib
import json
import logging
import re
import secrets
import signal
import sys
import time
import urllib.parse
import zlib
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, Self

from aiohttp import WSMsgType, web

log = logging.getLogger(__name__)

API_VERSION: Final = 10
API_PREFIX: Final = f"/api/v{API_VERSION}"
DISCORD_EPOCH_MS: Final = 1_420_070_400_000

DEFAULT_APPLICATION_ID: Final = 1_300_000_000_000_000_001
DEFAULT_BOT_NAME: Final = "HaloStats"
DEFAULT_USER_ID: Final = 1_300_000_000_000_000_100
DEFAULT_USERNAME: Final = "tester"
ATTACHMENT_SIZE_LIMIT: Final = 10 * 1024 * 1024

# -- permission bits ------------------------------------------------------------------------
CREATE_INSTANT_INVITE: Final = 1 << 0
KICK_MEMBERS: Final = 1 << 1
BAN_MEMBERS: Final = 1 << 2
ADMINISTRATOR: Final = 1 << 3
MANAGE_CHANNELS: Final = 1 << 4
MANAGE_GUILD: Final = 1 << 5
ADD_REACTIONS: Final = 1 << 6
VIEW_CHANNEL: Final = 1 << 10
SEND_MESSAGES: Final = 1 << 11
MANAGE_MESSAGES: Final = 1 << 13
EMBED_LINKS: Final = 1 << 14
ATTACH_FILES: Final = 1 << 15
READ_MESSAGE_HISTORY: Final = 1 << 16
MENTION_EVERYONE: Final = 1 << 17
USE_EXTERNAL_EMOJIS: Final = 1 << 18
CONNECT: Final = 1 << 20
SPEAK: Final = 1 << 21
CHANGE_NICKNAME: Final = 1 << 26
MANAGE_ROLES: Final = 1 << 28
USE_APPLICATION_COMMANDS: Final = 1 << 31
SEND_MESSAGES_IN_THREADS: Final = 1 << 38
ALL_PERMISSIONS: Final = (1 << 51) - 1

DEFAULT_EVERYONE_PERMISSIONS: Final = (
    CREATE_INSTANT_INVITE
    | ADD_REACTIONS
    | VIEW_CHANNEL
    | SEND_MESSAGES
    | EMBED_LINKS
    | ATTACH_FILES
    | READ_MESSAGE_HISTORY
    | USE_EXTERNAL_EMOJIS
    | CONNECT
    | SPEAK
    | CHANGE_NICKNAME
    | USE_APPLICATION_COMMANDS
    | SEND_MESSAGES_IN_THREADS
)
DEFAULT_BOT_PERMISSIONS: Final = (
    VIEW_CHANNEL
    | SEND_MESSAGES
    | EMBED_LINKS
    | ATTACH_FILES
    | READ_MESSAGE_HISTORY
    | ADD_REACTIONS
    | USE_EXTERNAL_EMOJIS
    | USE_APPLICATION_COMMANDS
    | SEND_MESSAGES_IN_THREADS
)
DM_PERMISSIONS: Final = (
    ADD_REACTIONS
    | VIEW_CHANNEL
    | SEND_MESSAGES
    | EMBED_LINKS
    | ATTACH_FILES
    | READ_MESSAGE_HISTORY
    | USE_EXTERNAL_EMOJIS
    | USE_APPLICATION_COMMANDS
)

# -- message flags, interaction and callback types -------------------------------------------
SUPPRESS_EMBEDS: Final = 1 << 2
EPHEMERAL: Final = 1 << 6
LOADING: Final = 1 << 7
SUPPRESS_NOTIFICATIONS: Final = 1 << 12
IS_COMPONENTS_V2: Final = 1 << 15

#: How long Discord remembers an enforced nonce (it says "the past few minutes").
NONCE_WINDOW = 300.0
PING, APPLICATION_COMMAND, MESSAGE_COMPONENT, AUTOCOMPLETE, MODAL_SUBMIT = 1, 2, 3, 4, 5
CB_PONG: Final = 1
CB_MESSAGE: Final = 4
CB_DEFERRED_MESSAGE: Final = 5
CB_DEFERRED_UPDATE: Final = 6
CB_UPDATE_MESSAGE: Final = 7
CB_AUTOCOMPLETE: Final = 8
CB_MODAL: Final = 9
CB_LAUNCH_ACTIVITY: Final = 12

# application command option types
SUB_COMMAND, SUB_COMMAND_GROUP = 1, 2
OPT_STRING, OPT_INTEGER, OPT_BOOLEAN, OPT_USER, OPT_CHANNEL = 3, 4, 5, 6, 7
OPT_ROLE, OPT_MENTIONABLE, OPT_NUMBER, OPT_ATTACHMENT = 8, 9, 10, 11

# gateway
OP_DISPATCH, OP_HEARTBEAT, OP_IDENTIFY, OP_PRESENCE, OP_VOICE_STATE = 0, 1, 2, 3, 4
OP_RESUME, OP_RECONNECT, OP_REQUEST_MEMBERS, OP_INVALID_SESSION = 6, 7, 8, 9
OP_HELLO, OP_HEARTBEAT_ACK = 10, 11
INTENT_GUILD_MEMBERS: Final = 1 << 1
INTENT_GUILD_PRESENCES: Final = 1 << 8
INTENT_GUILD_MESSAGES: Final = 1 << 9
INTENT_DIRECT_MESSAGES: Final = 1 << 12
INTENT_MESSAGE_CONTENT: Final = 1 << 15
PRIVILEGED_INTENTS: Final = INTENT_GUILD_MEMBERS | INTENT_GUILD_PRESENCES | INTENT_MESSAGE_CONTENT
ALL_INTENTS: Final = (1 << 26) - 1

TEXT_CHANNEL_TYPES: Final = frozenset({0, 5})
SELECT_COMPONENT_TYPES: Final = frozenset({3, 5, 6, 7, 8})

JSONDict = dict[str, Any]
_BODY_KEY: Final = web.RequestKey("fake_body", object)  # the parsed body, for the request log


def _dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def _now_iso() -> str:
    return datetime.now(UTC).isoformat()


class _Snowflakes:
    """Time-based, strictly increasing Discord snowflakes."""

    def __init__(self) -> None:
        self._last = 0

    def next(self) -> int:
        value = (int(time.time() * 1000) - DISCORD_EPOCH_MS) << 22 | (1 << 17)
        if value <= self._last:
            value = self._last + 1
        self._last = value
        return value


# ================================================================================ world model


@dataclass
class FakeUser:
    id: int
    username: str
    global_name: str | None = None
    bot: bool = False
    avatar: str | None = None

    def to_json(self) -> JSONDict:
        data: JSONDict = {
            "id": str(self.id),
            "username": self.username,
            "discriminator": "0",
            "global_name": self.global_name,
            "avatar": self.avatar,
            "public_flags": 0,
            "flags": 0,
            "banner": None,
            "accent_color": None,
        }
        if self.bot:
            data["bot"] = True
        return data


@dataclass
class FakeRole:
    id: int
    name: str
    permissions: int = 0
    position: int = 0
    color: int = 0
    hoist: bool = False
    mentionable: bool = False
    managed: bool = False
    bot_id: int | None = None

    def to_json(self) -> JSONDict:
        data: JSONDict = {
            "id": str(self.id),
            "name": self.name,
            "color": self.color,
            "hoist": self.hoist,
            "icon": None,
            "unicode_emoji": None,
            "position": self.position,
            "permissions": str(self.permissions),
            "managed": self.managed,
            "mentionable": self.mentionable,
            "flags": 0,
        }
        if self.bot_id is not None:
            data["tags"] = {"bot_id": str(self.bot_id)}
        return data


@dataclass
class FakeChannel:
    id: int
    name: str
    type: int = 0
    guild_id: int | None = None
    position: int = 0
    parent_id: int | None = None
    topic: str | None = None
    nsfw: bool = False
    # [{"id": role_or_user_id, "type": 0 (role) | 1 (member), "allow": int, "deny": int}]
    permission_overwrites: list[JSONDict] = field(default_factory=list)
    recipient_id: int | None = None  # DM channels

    def to_json(self, *, with_guild_id: bool = True) -> JSONDict:
        data: JSONDict = {"id": str(self.id), "type": self.type, "flags": 0}
        if self.type == 1:
            data["last_message_id"] = None
            return data
        data.update(
            {
                "name": self.name,
                "position": self.position,
                "parent_id": None if self.parent_id is None else str(self.parent_id),
                "permission_overwrites": [
                    {
                        "id": str(o["id"]),
                        "type": int(o.get("type", 0)),
                        "allow": str(int(o.get("allow", 0))),
                        "deny": str(int(o.get("deny", 0))),
                    }
                    for o in self.permission_overwrites
                ],
                "nsfw": self.nsfw,
            }
        )
        if self.type in (0, 5, 15):
            data.update({"topic": self.topic, "rate_limit_per_user": 0, "last_message_id": None})
        if self.type in (2, 13):
            data.update({"bitrate": 64000, "user_limit": 0, "rtc_region": None})
        if self.type == 15:
            data.update({"available_tags": [], "default_reaction_emoji": None})
        if with_guild_id and self.guild_id is not None:
            data["guild_id"] = str(self.guild_id)
        return data


@dataclass
class FakeMember:
    user_id: int
    roles: list[int] = field(default_factory=list)
    nick: str | None = None
    joined_at: str = field(default_factory=_now_iso)

    def to_json(self, user: FakeUser | None, *, permissions: int | None = None) -> JSONDict:
        data: JSONDict = {
            "roles": [str(r) for r in self.roles],
            "nick": self.nick,
            "avatar": None,
            "banner": None,
            "joined_at": self.joined_at,
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "pending": False,
            "flags": 0,
            "communication_disabled_until": None,
        }
        if user is not None:
            data["user"] = user.to_json()
        if permissions is not None:
            data["permissions"] = str(permissions)
        return data


@dataclass
class FakeGuild:
    id: int
    name: str
    owner_id: int
    preferred_locale: str = "en-US"
    channels: dict[int, FakeChannel] = field(default_factory=dict)
    roles: dict[int, FakeRole] = field(default_factory=dict)
    members: dict[int, FakeMember] = field(default_factory=dict)
    joined_at: str = field(default_factory=_now_iso)

    @property
    def everyone(self) -> FakeRole:
        return self.roles[self.id]

    def text_channels(self) -> list[FakeChannel]:
        return sorted(
            (c for c in self.channels.values() if c.type in TEXT_CHANNEL_TYPES),
            key=lambda c: (c.position, c.id),
        )

    def base_permissions(self, user_id: int) -> int:
        """Discord's base permissions: owner, @everyone, roles, administrator."""
        if user_id == self.owner_id:
            return ALL_PERMISSIONS
        perms = self.everyone.permissions
        member = self.members.get(user_id)
        for role_id in member.roles if member else []:
            role = self.roles.get(role_id)
            if role is not None:
                perms |= role.permissions
        if perms & ADMINISTRATOR:
            return ALL_PERMISSIONS
        return perms

    def channel_permissions(self, user_id: int, channel_id: int | None) -> int:
        """Base permissions with the channel's (and its category's) overwrites applied."""
        perms = self.base_permissions(user_id)
        if perms == ALL_PERMISSIONS or channel_id is None:
            return perms
        channel = self.channels.get(channel_id)
        if channel is None:
            return perms
        overwrites = list(channel.permission_overwrites)
        if not overwrites and channel.parent_id is not None and channel.parent_id in self.channels:
            overwrites = list(self.channels[channel.parent_id].permission_overwrites)
        member = self.members.get(user_id)
        role_ids = set(member.roles if member else [])
        by_id = {int(o["id"]): o for o in overwrites}
        everyone = by_id.get(self.id)
        if everyone is not None:
            perms = (perms & ~int(everyone.get("deny", 0))) | int(everyone.get("allow", 0))
        allow = deny = 0
        for o in overwrites:
            if int(o.get("type", 0)) == 0 and int(o["id"]) in role_ids:
                allow |= int(o.get("allow", 0))
                deny |= int(o.get("deny", 0))
        perms = (perms & ~deny) | allow
        own = by_id.get(user_id)
        if own is not None and int(own.get("type", 0)) == 1:
            perms = (perms & ~int(own.get("deny", 0))) | int(own.get("allow", 0))
        if not perms & VIEW_CHANNEL:
            return 0
        return perms

    def to_json(
        self, users: Mapping[int, FakeUser], *, gateway: bool, member_ids: Iterable[int] = ()
    ) -> JSONDict:
        data: JSONDict = {
            "id": str(self.id),
            "name": self.name,
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "banner": None,
            "description": None,
            "owner_id": str(self.owner_id),
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 1,
            "explicit_content_filter": 0,
            "roles": [r.to_json() for r in sorted(self.roles.values(), key=lambda r: r.position)],
            "emojis": [],
            "stickers": [],
            "features": [],
            "mfa_level": 0,
            "application_id": None,
            "system_channel_id": None,
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "public_updates_channel_id": None,
            "safety_alerts_channel_id": None,
            "vanity_url_code": None,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "preferred_locale": self.preferred_locale,
            "nsfw_level": 0,
            "premium_progress_bar_enabled": False,
            "max_members": 500000,
        }
        if gateway:
            members = [
                self.members[uid].to_json(users.get(uid))
                for uid in member_ids
                if uid in self.members
            ]
            data.update(
                {
                    "large": False,
                    "joined_at": self.joined_at,
                    "member_count": len(self.members),
                    "members": members,
                    "channels": [
                        c.to_json(with_guild_id=False)
                        for c in sorted(self.channels.values(), key=lambda c: (c.position, c.id))
                    ],
                    "threads": [],
                    "presences": [],
                    "voice_states": [],
                    "stage_instances": [],
                    "guild_scheduled_events": [],
                    "soundboard_sounds": [],
                }
            )
        return data


# ==================================================================================== records


@dataclass
class UploadedFile:
    field: str
    filename: str
    content_type: str | None
    data: bytes

    def to_json(self) -> JSONDict:
        return {
            "field": self.field,
            "filename": self.filename,
            "content_type": self.content_type,
            "size": len(self.data),
        }


@dataclass
class SentMessage:
    """One message-carrying request from the bot and the message it produced.

    ``kind``: ``followup``, ``edit`` (``PATCH .../messages/@original|{id}``) or
    ``channel`` / ``channel_edit`` (``/channels/{id}/messages``). ``payload`` is exactly
    what the bot sent (``payload_json`` for multipart); ``message`` is the stored
    message object, updated in place by later edits.
    """

    kind: str
    method: str
    path: str
    payload: JSONDict
    files: list[UploadedFile]
    message: JSONDict | None

    @property
    def message_id(self) -> int | None:
        return None if self.message is None else int(self.message["id"])

    @property
    def content(self) -> str | None:
        return self.payload.get("content")

    @property
    def embeds(self) -> list[JSONDict]:
        return list(self.payload.get("embeds") or [])

    @property
    def components(self) -> list[JSONDict]:
        return list(self.payload.get("components") or [])

    @property
    def flags(self) -> int:
        return int(self.payload.get("flags") or 0)

    @property
    def ephemeral(self) -> bool:
        """Whether the resulting message is ephemeral (deferred flags win, as on Discord)."""
        if self.message is not None:
            return bool(int(self.message.get("flags", 0)) & EPHEMERAL)
        return bool(self.flags & EPHEMERAL)

    def to_json(self) -> JSONDict:
        return {
            "kind": self.kind,
            "method": self.method,
            "path": self.path,
            "payload": self.payload,
            "files": [f.to_json() for f in self.files],
            "message": self.message,
        }


@dataclass
class CallbackRecord:
    """``POST /interactions/{id}/{token}/callback``: ``type`` and ``data`` as sent."""

    type: int
    data: JSONDict
    files: list[UploadedFile]
    with_response: bool
    message: JSONDict | None = None  # the message created/updated by types 4, 5 and 7

    @property
    def flags(self) -> int:
        return int(self.data.get("flags") or 0)

    @property
    def ephemeral(self) -> bool:
        return bool(self.flags & EPHEMERAL)

    @property
    def content(self) -> str | None:
        return self.data.get("content")

    @property
    def embeds(self) -> list[JSONDict]:
        return list(self.data.get("embeds") or [])

    @property
    def choices(self) -> list[JSONDict] | None:
        return list(self.data.get("choices") or []) if self.type == CB_AUTOCOMPLETE else None

    def to_json(self) -> JSONDict:
        return {
            "type": self.type,
            "data": self.data,
            "files": [f.to_json() for f in self.files],
            "with_response": self.with_response,
            "message": self.message,
        }


@dataclass
class RequestRecord:
    method: str
    path: str  # after /api/v10
    query: dict[str, str]
    status: int
    body: Any = None
    fault: bool = False
    error: Any = None  # the JSON error body for status >= 400
    reason: str | None = None  # X-Audit-Log-Reason, decoded

    def to_json(self) -> JSONDict:
        return {
            "reason": self.reason,
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "status": self.status,
            "body": self.body,
            "fault": self.fault,
            "error": self.error,
        }


@dataclass
class Fault:
    """An injected failure: the next ``times`` matching requests get ``status``."""

    method: str
    pattern: re.Pattern[str]
    status: int
    times: int | None  # None: forever
    retry_after: float = 0.5
    is_global: bool = False
    body: Any = None
    hits: int = 0

    def matches(self, method: str, path: str) -> bool:
        if self.times is not None and self.hits >= self.times:
            return False
        if self.method != "*" and self.method.upper() != method.upper():
            return False
        return self.pattern.search(path) is not None

    @property
    def exhausted(self) -> bool:
        return self.times is not None and self.hits >= self.times

    def response(self, bucket: str) -> web.Response:
        if self.status == 429:
            body = self.body or {
                "message": "You are being rate limited.",
                "retry_after": self.retry_after,
                "global": self.is_global,
            }
            headers = {
                "Retry-After": str(max(1, int(self.retry_after + 0.999))),
                "X-RateLimit-Limit": "5",
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": f"{time.time() + self.retry_after:.3f}",
                "X-RateLimit-Reset-After": f"{self.retry_after:.3f}",
                "X-RateLimit-Bucket": bucket,
                "X-RateLimit-Scope": "global" if self.is_global else "user",
                # discord.py (http.py and webhook/async_.py) only retries a 429 that came
                # through Discord's proxy; without Via it assumes a Cloudflare ban.
                "Via": "1.1 google",
            }
            if self.is_global:
                headers["X-RateLimit-Global"] = "true"
            return _json_response(body, status=429, headers=headers)
        body = self.body or {"message": f"{self.status}: injected failure", "code": 0}
        return _json_response(body, status=self.status)

    def to_json(self) -> JSONDict:
        return {
            "method": self.method,
            "path": self.pattern.pattern,
            "status": self.status,
            "times": self.times,
            "retry_after": self.retry_after,
            "global": self.is_global,
            "hits": self.hits,
        }


@dataclass
class GatewayEvent:
    """One notable gateway happening: connect, identify, resume, resume_failed,
    close, invalid_session, reconnect_requested, presence, request_members."""

    kind: str
    path: str = ""
    query: dict[str, str] = field(default_factory=dict)
    session_id: str | None = None
    data: Any = None

    def to_json(self) -> JSONDict:
        return {
            "kind": self.kind,
            "path": self.path,
            "query": self.query,
            "session_id": self.session_id,
            "data": self.data,
        }


class _Waiters:
    """Futures resolved when a predicate over some state becomes true."""

    def __init__(self) -> None:
        self._items: list[tuple[Callable[[], bool], asyncio.Future[None]]] = []

    def notify(self) -> None:
        keep = []
        for predicate, fut in self._items:
            if fut.done():
                continue
            try:
                ok = predicate()
            except Exception as exc:
                fut.set_exception(exc)
                continue
            if ok:
                fut.set_result(None)
            else:
                keep.append((predicate, fut))
        self._items = keep

    async def wait(self, predicate: Callable[[], bool], timeout: float) -> None:  # noqa: ASYNC109
        if predicate():
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._items.append((predicate, fut))
        try:
            await asyncio.wait_for(fut, timeout)
        finally:
            self._items = [(p, f) for p, f in self._items if f is not fut]


class InteractionRecord:
    """Everything the bot did in answer to one interaction."""

    def __init__(self, fake: FakeDiscord, payload: JSONDict) -> None:
        self._fake = fake
        self.payload: JSONDict = payload
        self.id: int = int(payload["id"])
        self.token: str = payload["token"]
        self.type: int = int(payload["type"])
        self.guild_id: int | None = int(payload["guild_id"]) if payload.get("guild_id") else None
        self.channel_id: int | None = (
            int(payload["channel_id"]) if payload.get("channel_id") else None
        )
        user = (payload.get("member") or {}).get("user") or payload.get("user") or {}
        self.user_id: int | None = int(user["id"]) if user.get("id") else None
        self.callbacks: list[CallbackRecord] = []
        self.followups: list[SentMessage] = []
        self.edits: list[SentMessage] = []
        self.deleted: list[int] = []
        self.deleted_original: bool = False
        self.errors: list[RequestRecord] = []
        self.original: JSONDict | None = None
        self.messages: dict[int, JSONDict] = {}
        self._touched: list[int] = []
        self._created = time.monotonic()
        self._waiters = _Waiters()

    # -- what was asked -------------------------------------------------------------------
    @property
    def data(self) -> JSONDict:
        return self.payload.get("data") or {}

    @property
    def name(self) -> str:
        """The full command path (``"stats csr"``) or the component's ``custom_id``."""
        data = self.data
        if "custom_id" in data:
            return str(data["custom_id"])
        parts = [str(data.get("name", ""))]
        options = data.get("options") or []
        while options and options[0].get("type") in (SUB_COMMAND, SUB_COMMAND_GROUP):
            parts.append(options[0]["name"])
            options = options[0].get("options") or []
        return " ".join(parts)

    @property
    def source_message(self) -> JSONDict | None:
        """For component interactions: the stored message the component is on."""
        msg = self.payload.get("message")
        if msg is None:
            return None
        return self._fake._messages.get(int(msg["id"]), msg)

    # -- what the bot did --------------------------------------------------------------------
    @property
    def acknowledged(self) -> bool:
        return bool(self.callbacks)

    @property
    def deferred(self) -> bool:
        return any(c.type in (CB_DEFERRED_MESSAGE, CB_DEFERRED_UPDATE) for c in self.callbacks)

    @property
    def deferred_ephemeral(self) -> bool:
        return any(c.type == CB_DEFERRED_MESSAGE and c.ephemeral for c in self.callbacks)

    @property
    def autocomplete_choices(self) -> list[JSONDict] | None:
        for cb in self.callbacks:
            if cb.type == CB_AUTOCOMPLETE:
                return cb.choices
        return None

    @property
    def modal(self) -> JSONDict | None:
        for cb in self.callbacks:
            if cb.type == CB_MODAL:
                return cb.data
        return None

    @property
    def is_final(self) -> bool:
        """Answered completely: a message/update/autocomplete/modal callback, or a
        deferral followed by at least one followup, edit or delete."""
        types = {c.type for c in self.callbacks}
        if types & {CB_MESSAGE, CB_UPDATE_MESSAGE, CB_AUTOCOMPLETE, CB_MODAL, CB_LAUNCH_ACTIVITY}:
            return True
        if types & {CB_DEFERRED_MESSAGE, CB_DEFERRED_UPDATE}:
            return bool(self.followups or self.edits or self.deleted)
        return False

    def visible_messages(self) -> list[JSONDict]:
        """Messages this interaction produced, oldest first (not deleted, not loading)."""
        return [
            m
            for mid, m in self.messages.items()
            if mid not in self.deleted and not int(m.get("flags", 0)) & LOADING
        ]

    def final_message(self) -> JSONDict:
        """The most recently created or edited visible message (content, embeds, ...);
        fails the test when there is none (see :meth:`latest_message`)."""
        msg = self.latest_message()
        if msg is None:
            raise AssertionError("the interaction has no visible message")
        return msg

    def latest_message(self) -> JSONDict | None:
        """Like :meth:`final_message`, but None when there is no visible message yet."""
        for mid in reversed(self._touched):
            msg = self.messages.get(mid)
            if (
                msg is not None
                and mid not in self.deleted
                and not int(msg.get("flags", 0)) & LOADING
            ):
                return msg
        return None

    def is_ephemeral(self, msg: JSONDict | SentMessage | CallbackRecord | None = None) -> bool:
        """Whether ``msg`` (default: :meth:`final_message`) is ephemeral (flag 64)."""
        if isinstance(msg, SentMessage | CallbackRecord):
            if msg.message is not None:
                return bool(int(msg.message.get("flags", 0)) & EPHEMERAL)
            return msg.ephemeral
        if msg is None:
            msg = self.latest_message()
            if msg is None:
                raise LookupError("the interaction has no visible message")
        return bool(int(msg.get("flags", 0)) & EPHEMERAL)

    def embeds(self) -> list[JSONDict]:
        """The embeds of :meth:`final_message` (empty when there is none)."""
        msg = self.latest_message()
        return list(msg.get("embeds") or []) if msg else []

    def content(self) -> str | None:
        msg = self.latest_message()
        return None if msg is None else msg.get("content")

    # -- waiting -----------------------------------------------------------------------------
    async def wait_final(self, timeout: float = 10.0) -> Self:  # noqa: ASYNC109
        """Wait until :attr:`is_final`; on timeout raise with what was recorded so far."""
        return await self.wait_until(lambda r: r.is_final, timeout=timeout, what="a final answer")

    async def wait_until(
        self,
        predicate: Callable[[InteractionRecord], bool],
        *,
        timeout: float = 10.0,  # noqa: ASYNC109
        what: str = "",
    ) -> Self:
        try:
            await self._waiters.wait(lambda: predicate(self), timeout)
        except TimeoutError:
            raise TimeoutError(
                f"interaction {self.name!r} ({self.id}): no {what or 'match'} within {timeout}s; "
                f"recorded {_dumps(self.summary())}; unknown routes: {self._fake.unknown_routes}"
            ) from None
        return self

    def _touch(self, msg: JSONDict) -> None:
        mid = int(msg["id"])
        self.messages[mid] = msg
        if mid in self._touched:
            self._touched.remove(mid)
        self._touched.append(mid)

    def _notify(self) -> None:
        self._waiters.notify()

    def summary(self) -> JSONDict:
        return {
            "callbacks": [{"type": c.type, "flags": c.flags} for c in self.callbacks],
            "followups": len(self.followups),
            "edits": len(self.edits),
            "deleted": self.deleted,
            "errors": [f"{e.method} {e.path} -> {e.status} {_dumps(e.error)}" for e in self.errors],
        }

    def to_json(self) -> JSONDict:
        return {
            "id": str(self.id),
            "type": self.type,
            "name": self.name,
            "guild_id": None if self.guild_id is None else str(self.guild_id),
            "channel_id": None if self.channel_id is None else str(self.channel_id),
            "user_id": None if self.user_id is None else str(self.user_id),
            "final": self.is_final,
            "deferred": self.deferred,
            "callbacks": [c.to_json() for c in self.callbacks],
            "followups": [f.to_json() for f in self.followups],
            "edits": [e.to_json() for e in self.edits],
            "deleted": [str(d) for d in self.deleted],
            "deleted_original": self.deleted_original,
            "autocomplete_choices": self.autocomplete_choices,
            "modal": self.modal,
            "final_message": self.latest_message(),
            "errors": [e.to_json() for e in self.errors],
            "payload": self.payload,
        }


# ==================================================================================== gateway


class _GatewayConnection:
    def __init__(
        self, ws: web.WebSocketResponse, path: str, query: dict[str, str], zlib_stream: bool
    ):
        self.ws = ws
        self.path = path
        self.query = query
        self._compressor = zlib.compressobj() if zlib_stream else None
        self._lock = asyncio.Lock()
        self.session: _GatewaySession | None = None
        self.server_close: tuple[int, str] | None = None  # (code, reason) when the fake closed

    @property
    def open(self) -> bool:
        return not self.ws.closed

    async def send(self, payload: JSONDict) -> bool:
        """Send one gateway message; False when the socket is already gone."""
        text = _dumps(payload)
        async with self._lock:  # zlib-stream: compression order must equal send order
            if self.ws.closed:
                return False
            try:
                if self._compressor is not None:
                    data = self._compressor.compress(text.encode()) + self._compressor.flush(
                        zlib.Z_SYNC_FLUSH
                    )
                    await self.ws.send_bytes(data)
                else:
                    await self.ws.send_str(text)
            except (ConnectionError, RuntimeError):
                return False
        return True

    async def close(self, code: int, message: str = "") -> None:
        if self.server_close is None:
            self.server_close = (code, message)
        if not self.ws.closed:
            with contextlib.suppress(Exception):
                await self.ws.close(code=code, message=message.encode())


class _GatewaySession:
    def __init__(
        self, session_id: str, token: str, shard: tuple[int, int], intents: int, identify: JSONDict
    ) -> None:
        self.id = session_id
        self.token = token
        self.shard = shard
        self.intents = intents
        self.identify = identify
        self.seq = 0
        self.history: list[tuple[int, JSONDict]] = []
        self.conn: _GatewayConnection | None = None
        self.lock = asyncio.Lock()
        self.valid = True

    def covers(self, guild_id: int | None) -> bool:
        shard_id, count = self.shard
        if guild_id is None:
            return shard_id == 0
        return (guild_id >> 22) % count == shard_id

    async def dispatch(self, event: str, data: Any) -> int:
        async with self.lock:
            self.seq += 1
            payload = {"op": OP_DISPATCH, "s": self.seq, "t": event, "d": data}
            self.history.append((self.seq, payload))
            del self.history[:-2000]
            if self.conn is not None:
                await self.conn.send(payload)
            return self.seq


# ====================================================================================== fake


class _Default:
    def __repr__(self) -> str:
        return "DEFAULT"


DEFAULT: Final = _Default()

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class FakeDiscordError(Exception):
    """A Discord-shaped error answer raised inside a handler."""

    def __init__(self, status: int, code: int, message: str, errors: JSONDict | None = None):
        super().__init__(message)
        self.status = status
        self.body: JSONDict = {"message": message, "code": code}
        if errors is not None:
            self.body["errors"] = errors


def _invalid_form(errors: JSONDict) -> FakeDiscordError:
    return FakeDiscordError(400, 50035, "Invalid Form Body", errors)


def _field_error(code: str, message: str) -> JSONDict:
    return {"_errors": [{"code": code, "message": message}]}


class FakeDiscord:
    """The fake. Use ``async with FakeDiscord() as fake`` or :meth:`start`/:meth:`close`."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        token: str | None = None,
        application_id: int = DEFAULT_APPLICATION_ID,
        bot_name: str = DEFAULT_BOT_NAME,
        heartbeat_interval_ms: int = 41_250,
        transport_compression: bool = True,
        allowed_intents: int = ALL_INTENTS,
        interaction_timeout: float | None = None,
        shard_count: int = 1,
    ) -> None:
        self.host = host
        self.shard_count = shard_count  # what GET /gateway/bot recommends
        self.port = port
        self.token = token  # None: any "Bot <token>" is accepted
        self.application_id = application_id
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.transport_compression = transport_compression
        self.allowed_intents = allowed_intents
        self.interaction_timeout = interaction_timeout  # Discord: 3 s; None: no deadline
        self.bot = FakeUser(application_id, bot_name, None, bot=True)
        self.users: dict[int, FakeUser] = {self.bot.id: self.bot}
        self.default_user_id = DEFAULT_USER_ID
        self.add_user(DEFAULT_USER_ID, DEFAULT_USERNAME, global_name="Tester")
        self.guilds: dict[int, FakeGuild] = {}
        self.dm_channels: dict[int, FakeChannel] = {}  # by recipient id

        self.requests: list[RequestRecord] = []
        self.unknown_routes: list[str] = []
        self.internal_errors: list[str] = []
        self.faults: list[Fault] = []
        self.interactions: dict[int, InteractionRecord] = {}
        self.command_syncs: list[JSONDict] = []  # {"guild_id": str | None, "method", "payload"}
        self.presences: list[JSONDict] = []
        self.gateway_log: list[GatewayEvent] = []
        self.heartbeats = 0

        self._ids = _Snowflakes()
        self._by_token: dict[str, InteractionRecord] = {}
        self._commands: dict[int | None, dict[int, JSONDict]] = {}  # guild id (None: global)
        #: (channel id, nonce) -> (message id, when) for ``enforce_nonce`` posts.
        self._nonces: dict[tuple[int, str], tuple[int, float]] = {}
        #: Seconds an enforced nonce is remembered (0: never, as if the window had passed).
        self.nonce_window = NONCE_WINDOW
        #: Channel posts Discord answered with an existing message (same enforced nonce).
        self.deduplicated_posts: list[SentMessage] = []
        self._command_ids: dict[tuple[int | None, int, str], int] = {}
        self._messages: dict[int, JSONDict] = {}
        self._channel_messages: dict[int, list[SentMessage]] = {}
        self._attachment_store: dict[int, tuple[str, str | None, bytes]] = {}
        self._sessions: dict[str, _GatewaySession] = {}
        self._connections: set[_GatewayConnection] = set()
        self._gateway_waiters = _Waiters()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._runner: web.AppRunner | None = None
        self._gateway_open = asyncio.Event()
        self._gateway_open.set()

    # -- lifecycle ---------------------------------------------------------------------------
    async def start(self) -> Self:
        app = web.Application(middlewares=[self._middleware], client_max_size=64 * 1024 * 1024)
        self._add_routes(app)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        log.info("FakeDiscord listening on %s", self.base_url)
        return self

    async def close(self) -> None:
        self._gateway_open.set()
        for conn in list(self._connections):
            await conn.close(1001, "fake shutting down")
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def api_base(self) -> str:
        """What ``DISCORD_API_BASE`` must be set to."""
        return f"{self.base_url}{API_PREFIX}"

    @property
    def gateway_url(self) -> str:
        return f"ws://{self.host}:{self.port}/gateway"

    @property
    def resume_gateway_url(self) -> str:
        return f"ws://{self.host}:{self.port}/gateway/resume"

    def _spawn(self, coro: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def assert_healthy(self) -> None:
        """Raise when the bot hit routes the fake does not know or the fake itself broke."""
        problems = [f"unknown route {r}" for r in self.unknown_routes]
        problems += [f"fake internal error: {e}" for e in self.internal_errors]
        if problems:
            raise AssertionError("; ".join(problems))

    # -- world -------------------------------------------------------------------------------
    def add_user(
        self,
        user_id: int,
        username: str | None = None,
        *,
        global_name: str | None = None,
        bot: bool = False,
    ) -> FakeUser:
        user = self.users.get(user_id)
        if user is None:
            user = FakeUser(user_id, username or f"user{user_id % 100000}", global_name, bot=bot)
            self.users[user_id] = user
        else:
            if username:
                user.username = username
            if global_name is not None:
                user.global_name = global_name
        return user

    def _user(self, user_id: int) -> FakeUser:
        return self.users.get(user_id) or self.add_user(user_id)

    def add_guild(
        self,
        guild_id: int,
        name: str | None = None,
        *,
        channels: Sequence[int | Mapping[str, Any]] | None = None,
        roles: Sequence[int | Mapping[str, Any]] = (),
        members: Sequence[int | Mapping[str, Any]] = (),
        bot_permissions: int = DEFAULT_BOT_PERMISSIONS,
        everyone_permissions: int = DEFAULT_EVERYONE_PERMISSIONS,
        owner_id: int | None = None,
        locale: str = "en-US",
        bot_role_position: int = 1,
    ) -> FakeGuild:
        """Add a guild the bot is in (``@everyone``, a managed bot role, the bot member).

        ``channels``/``roles``/``members`` are ids or dicts (``{"id", "name", "type",
        "permission_overwrites", "parent_id", "position", "topic"}``; ``{"id", "name",
        "permissions", "position"}``; ``{"id", "username", "global_name", "roles",
        "nick"}``). Without ``channels`` there is one text channel, ``general``. Added
        after the bot connected, it is sent as GUILD_CREATE (a guild join). The bot's
        managed role sits at ``bot_role_position`` (1: just above @everyone, so below
        every other role, as right after an invite).
        """
        owner = owner_id if owner_id is not None else self._ids.next()
        guild = FakeGuild(guild_id, name or f"Guild {guild_id % 10000}", owner, locale)
        guild.roles[guild_id] = FakeRole(guild_id, "@everyone", everyone_permissions, position=0)
        bot_role = FakeRole(
            self._ids.next(),
            self.bot.username,
            bot_permissions,
            position=bot_role_position,
            managed=True,
            bot_id=self.bot.id,
        )
        guild.roles[bot_role.id] = bot_role
        for position, spec in enumerate(roles, start=2):
            self._add_role(guild, spec, position)
        if channels is None:
            channels = [{"id": self._ids.next(), "name": "general"}]
        for position, spec in enumerate(channels):
            self._add_channel(guild, spec, position)
        guild.members[self.bot.id] = FakeMember(self.bot.id, [bot_role.id])
        for spec in members:
            self._add_member(guild, spec)
        self.guilds[guild_id] = guild
        for session in self._live_sessions():
            if session.covers(guild_id):
                self._spawn(
                    session.dispatch(
                        "GUILD_CREATE", self._guild_create(guild, session, joined=True)
                    )
                )
        return guild

    async def join_guild(self, guild_id: int, name: str | None = None, **kwargs: Any) -> FakeGuild:
        """:meth:`add_guild` and wait until GUILD_CREATE was handed to the gateway."""
        guild = self.add_guild(guild_id, name, **kwargs)
        if self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
        return guild

    async def remove_guild(self, guild_id: int) -> None:
        """The bot is kicked: GUILD_DELETE; the guild's routes answer 404 afterwards."""
        self.guilds.pop(guild_id, None)
        for session in self._live_sessions():
            if session.covers(guild_id):
                await session.dispatch("GUILD_DELETE", {"id": str(guild_id)})

    def _add_role(self, guild: FakeGuild, spec: int | Mapping[str, Any], position: int) -> FakeRole:
        if isinstance(spec, int):
            spec = {"id": spec}
        role_id = int(spec.get("id") or self._ids.next())
        role = FakeRole(
            role_id,
            str(spec.get("name", f"role-{role_id % 10000}")),
            int(spec.get("permissions", 0)),
            position=int(spec.get("position", position)),
            color=int(spec.get("color", 0)),
            mentionable=bool(spec.get("mentionable", False)),
        )
        guild.roles[role_id] = role
        return role

    def _add_channel(
        self, guild: FakeGuild, spec: int | Mapping[str, Any], position: int
    ) -> FakeChannel:
        if isinstance(spec, int):
            spec = {"id": spec}
        channel_id = int(spec.get("id") or self._ids.next())
        channel = FakeChannel(
            channel_id,
            str(spec.get("name", f"channel-{channel_id % 10000}")),
            int(spec.get("type", 0)),
            guild_id=guild.id,
            position=int(spec.get("position", position)),
            parent_id=int(spec["parent_id"]) if spec.get("parent_id") else None,
            topic=spec.get("topic"),
            nsfw=bool(spec.get("nsfw", False)),
            permission_overwrites=[dict(o) for o in spec.get("permission_overwrites", [])],
        )
        guild.channels[channel_id] = channel
        return channel

    def _add_member(self, guild: FakeGuild, spec: int | Mapping[str, Any]) -> FakeMember:
        if isinstance(spec, int):
            spec = {"id": spec}
        user_id = int(spec["id"])
        self.add_user(
            user_id,
            spec.get("username"),
            global_name=spec.get("global_name"),
            bot=spec.get("bot", False),
        )
        member = FakeMember(user_id, [int(r) for r in spec.get("roles", [])], spec.get("nick"))
        guild.members[user_id] = member
        return member

    def add_channel(self, guild_id: int, spec: int | Mapping[str, Any]) -> FakeChannel:
        guild = self._guild(guild_id)
        return self._add_channel(guild, spec, len(guild.channels))

    def add_member(self, guild_id: int, spec: int | Mapping[str, Any]) -> FakeMember:
        return self._add_member(self._guild(guild_id), spec)

    def add_role(self, guild_id: int, spec: int | Mapping[str, Any]) -> FakeRole:
        guild = self._guild(guild_id)
        return self._add_role(guild, spec, len(guild.roles) + 1)

    def member_roles(self, guild_id: int, user_id: int) -> list[int]:
        """The member's role ids, in the order they were given."""
        return list(self._guild(guild_id).members[user_id].roles)

    def bot_top_role(self, guild: FakeGuild) -> FakeRole:
        member = guild.members.get(self.bot.id)
        roles = [guild.roles[r] for r in (member.roles if member else []) if r in guild.roles]
        return max(roles, key=lambda r: (r.position, -r.id), default=guild.everyone)

    async def update_role(self, guild_id: int, role_id: int, **changes: Any) -> FakeRole:
        """Change a role (``name``, ``permissions``, ``position``, ...) as a server admin
        would; the bot gets GUILD_ROLE_UPDATE."""
        guild = self._guild(guild_id)
        role = guild.roles[role_id]
        for key, value in changes.items():
            if not hasattr(role, key):
                raise AttributeError(f"FakeRole has no {key!r}")
            setattr(role, key, value)
        await self.dispatch_event(
            "GUILD_ROLE_UPDATE",
            {"guild_id": str(guild_id), "role": role.to_json()},
            guild_id=guild_id,
        )
        return role

    async def delete_role(self, guild_id: int, role_id: int) -> None:
        """Delete a role (and take it from every member); the bot gets GUILD_ROLE_DELETE."""
        guild = self._guild(guild_id)
        guild.roles.pop(role_id)
        for member in guild.members.values():
            if role_id in member.roles:
                member.roles.remove(role_id)
        await self.dispatch_event(
            "GUILD_ROLE_DELETE",
            {"guild_id": str(guild_id), "role_id": str(role_id)},
            guild_id=guild_id,
        )

    def set_bot_permissions(self, guild_id: int, permissions: int) -> None:
        guild = self._guild(guild_id)
        for role in guild.roles.values():
            if role.bot_id == self.bot.id:
                role.permissions = permissions

    def _guild(self, guild_id: int) -> FakeGuild:
        try:
            return self.guilds[guild_id]
        except KeyError:
            raise KeyError(f"unknown guild {guild_id}; add it with add_guild()") from None

    def _find_channel(self, channel_id: int) -> tuple[FakeGuild | None, FakeChannel] | None:
        for guild in self.guilds.values():
            channel = guild.channels.get(channel_id)
            if channel is not None:
                return guild, channel
        for channel in self.dm_channels.values():
            if channel.id == channel_id:
                return None, channel
        return None

    def dm_channel(self, user_id: int) -> FakeChannel:
        channel = self.dm_channels.get(user_id)
        if channel is None:
            channel = FakeChannel(self._ids.next(), "", 1, recipient_id=user_id)
            self.dm_channels[user_id] = channel
        return channel

    def _dm_json(self, channel: FakeChannel) -> JSONDict:
        assert channel.recipient_id is not None
        data = channel.to_json()
        data["recipients"] = [self._user(channel.recipient_id).to_json()]
        return data

    # -- faults --------------------------------------------------------------------------------
    def fail(
        self,
        method: str,
        path_pattern: str,
        *,
        status: int = 429,
        times: int | None = 1,
        retry_after: float = 0.5,
        is_global: bool = False,
        body: Any = None,
    ) -> Fault:
        """Fail the next ``times`` (None: all) requests whose path after ``/api/v10``
        matches the regex ``path_pattern`` (``re.search``), e.g. ``r"^/webhooks/"``.
        ``method`` may be ``"*"``. A 429 is Discord-shaped so discord.py retries it."""
        fault = Fault(method, re.compile(path_pattern), status, times, retry_after, is_global, body)
        self.faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        self.faults.clear()

    # -- records -----------------------------------------------------------------------------
    def channel_messages(self, channel_id: int) -> list[SentMessage]:
        """Messages the bot posted with ``POST /channels/{id}/messages``, oldest first."""
        return list(self._channel_messages.get(channel_id, []))

    def message(self, message_id: int) -> JSONDict | None:
        return self._messages.get(message_id)

    def synced_commands(self, guild_id: int | None = None) -> list[JSONDict]:
        """The application commands currently registered (globally or for ``guild_id``)."""
        return [copy.deepcopy(c) for c in self._commands.get(guild_id, {}).values()]

    def requests_to(self, method: str, pattern: str) -> list[RequestRecord]:
        rx = re.compile(pattern)
        return [r for r in self.requests if r.method == method.upper() and rx.search(r.path)]

    def gateway_events(self, kind: str) -> list[GatewayEvent]:
        return [e for e in self.gateway_log if e.kind == kind]

    async def wait_gateway(
        self,
        kind: str = "identify",
        count: int = 1,
        timeout: float = 10.0,  # noqa: ASYNC109
    ) -> None:
        """Wait until ``count`` gateway events of ``kind`` (e.g. ``identify``, ``resume``)."""
        try:
            await self._gateway_waiters.wait(
                lambda: len(self.gateway_events(kind)) >= count, timeout
            )
        except TimeoutError:
            raise TimeoutError(
                f"no {count}x gateway {kind!r} within {timeout}s; log: "
                f"{[e.kind for e in self.gateway_log]}; unknown routes: {self.unknown_routes}"
            ) from None

    def reset_records(self) -> None:
        self.requests.clear()
        self.unknown_routes.clear()
        self.interactions.clear()
        self._by_token.clear()
        self._channel_messages.clear()
        self.command_syncs.clear()
        self.presences.clear()
        self.deduplicated_posts.clear()

    # -- gateway control -----------------------------------------------------------------------
    def _live_sessions(self) -> list[_GatewaySession]:
        return [s for s in self._sessions.values() if s.valid]

    def _session_for(self, guild_id: int | None) -> _GatewaySession:
        """The session of the shard ``(guild_id >> 22) % count`` (DMs: shard 0), the
        newest one with an open connection first (several processes may connect)."""
        sessions = [s for s in self._live_sessions() if s.covers(guild_id)]
        if not sessions:
            raise RuntimeError("the bot has no gateway session with the fake (did it IDENTIFY?)")
        connected = [s for s in sessions if s.conn is not None and s.conn.open]
        return (connected or sessions)[-1]

    def connected_shards(self) -> list[tuple[int, int]]:
        """``(shard_id, shard_count)`` of every session with an open gateway connection."""
        return sorted(s.shard for s in self._live_sessions() if s.conn is not None and s.conn.open)

    async def disconnect_gateway(
        self, code: int = 4000, *, session_valid: bool | None = None, hold: bool = False
    ) -> None:
        """Close the bot's gateway connection(s). With code 4000 (default) the session
        stays resumable; 1000/1001 invalidate it as Discord does (``session_valid``
        overrides). Events dispatched meanwhile are replayed on RESUME. With ``hold``
        new gateway connections wait until :meth:`release_gateway` (deterministic
        "events while away" tests)."""
        if hold:
            self._gateway_open.clear()
        valid = session_valid if session_valid is not None else code not in (1000, 1001)
        for session in self._live_sessions():
            conn = session.conn
            session.conn = None
            session.valid = valid
            if conn is not None:
                await conn.close(code, "fake: disconnect")

    def release_gateway(self) -> None:
        """Let gateway connections held by ``disconnect_gateway(hold=True)`` proceed."""
        self._gateway_open.set()

    async def request_reconnect(self) -> None:
        """Send op 7 RECONNECT (the client should close and RESUME)."""
        for session in self._live_sessions():
            if session.conn is not None:
                self._log_gateway("reconnect_requested", session.conn, session.id)
                await session.conn.send({"op": OP_RECONNECT, "d": None, "s": None, "t": None})

    async def invalidate_session(self, *, resumable: bool = False) -> None:
        """Send op 9 INVALID_SESSION (``resumable=False``: the client must IDENTIFY again)."""
        for session in self._live_sessions():
            conn = session.conn
            if not resumable:
                session.valid = False
            if conn is not None:
                self._log_gateway("invalid_session", conn, session.id, {"resumable": resumable})
                await conn.send({"op": OP_INVALID_SESSION, "d": resumable, "s": None, "t": None})

    async def dispatch_event(self, event: str, data: Any, *, guild_id: int | None = None) -> int:
        """Send any dispatch (op 0) event to the session that owns ``guild_id``."""
        return await self._session_for(guild_id).dispatch(event, data)

    def _log_gateway(
        self,
        kind: str,
        conn: _GatewayConnection | None,
        session_id: str | None = None,
        data: Any = None,
    ) -> None:
        self.gateway_log.append(
            GatewayEvent(
                kind,
                conn.path if conn else "",
                dict(conn.query) if conn else {},
                session_id,
                data,
            )
        )
        self._gateway_waiters.notify()

    async def _gateway_handler(self, request: web.Request) -> web.StreamResponse:
        await self._gateway_open.wait()
        ws = web.WebSocketResponse(autoping=True, max_msg_size=0)
        await ws.prepare(request)
        query = dict(request.query)
        zlib_stream = self.transport_compression and query.get("compress") == "zlib-stream"
        conn = _GatewayConnection(ws, request.path, query, zlib_stream)
        self._connections.add(conn)
        self._log_gateway("connect", conn)
        try:
            if query.get("v", str(API_VERSION)) != str(API_VERSION):
                await conn.close(4012, "Invalid API version")
                return ws
            if query.get("encoding", "json") != "json":
                await conn.close(4002, "Error while decoding payload (this fake speaks json only)")
                return ws
            await conn.send(
                {
                    "op": OP_HELLO,
                    "d": {
                        "heartbeat_interval": self.heartbeat_interval_ms,
                        "_trace": ["fake-gateway"],
                    },
                    "s": None,
                    "t": None,
                }
            )
            async for msg in ws:
                if msg.type is not WSMsgType.TEXT:
                    await conn.close(4002, "Error while decoding payload")
                    break
                try:
                    payload = json.loads(msg.data)
                    op = int(payload["op"])
                except (ValueError, KeyError, TypeError):
                    await conn.close(4002, "Error while decoding payload")
                    break
                await self._on_gateway_message(conn, op, payload.get("d"))
        except Exception as exc:  # keep the fake up, but make it loud
            log.exception("FakeDiscord gateway handler failed")
            self.internal_errors.append(f"gateway: {exc!r}")
        finally:
            self._connections.discard(conn)
            session = conn.session
            if session is not None and session.conn is conn:
                session.conn = None
            closed_by = (
                {"by": "server", "code": conn.server_close[0], "reason": conn.server_close[1]}
                if conn.server_close
                else {"by": "client", "code": ws.close_code, "reason": ""}
            )
            self._log_gateway("close", conn, session.id if session else None, closed_by)
        return ws

    async def _on_gateway_message(self, conn: _GatewayConnection, op: int, data: Any) -> None:
        if op == OP_HEARTBEAT:
            self.heartbeats += 1
            await conn.send({"op": OP_HEARTBEAT_ACK, "d": None, "s": None, "t": None})
        elif op == OP_IDENTIFY:
            await self._identify(conn, data or {})
        elif op == OP_RESUME:
            await self._resume(conn, data or {})
        elif conn.session is None:
            await conn.close(4003, "Not authenticated")
        elif op == OP_PRESENCE:
            self.presences.append(data)
            self._log_gateway("presence", conn, conn.session.id, data)
        elif op == OP_REQUEST_MEMBERS:
            self._log_gateway("request_members", conn, conn.session.id, data)
            await self._send_member_chunk(conn.session, data or {})
        elif op == OP_VOICE_STATE:
            pass
        else:
            await conn.close(4001, "Unknown opcode")

    async def _identify(self, conn: _GatewayConnection, data: JSONDict) -> None:
        if conn.session is not None:
            await conn.close(4005, "Already authenticated")
            return
        token = str(data.get("token", ""))
        if not token or (self.token is not None and token != self.token):
            await conn.close(4004, "Authentication failed")
            return
        if "intents" not in data:
            await conn.close(4013, "Invalid intent(s)")
            return
        intents = int(data["intents"])
        if intents & ~self.allowed_intents & PRIVILEGED_INTENTS:
            await conn.close(4014, "Disallowed intent(s)")
            return
        shard_raw = data.get("shard") or [0, 1]
        shard = (int(shard_raw[0]), int(shard_raw[1]))
        if shard[1] < 1 or not 0 <= shard[0] < shard[1]:
            await conn.close(4010, "Invalid shard")
            return
        session = _GatewaySession(secrets.token_hex(16), token, shard, intents, data)
        self._sessions[session.id] = session
        session.conn = conn
        conn.session = session
        guild_ids = [gid for gid in self.guilds if session.covers(gid)]
        ready: JSONDict = {
            "v": API_VERSION,
            "user": {**self.bot.to_json(), "verified": True, "mfa_enabled": False, "email": None},
            "guilds": [{"id": str(gid), "unavailable": True} for gid in guild_ids],
            "session_id": session.id,
            "session_type": "normal",
            "resume_gateway_url": self.resume_gateway_url,
            "application": {"id": str(self.application_id), "flags": (1 << 19) | (1 << 23)},
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": ["us-east"],
            "user_settings": {},
            "_trace": ["fake-gateway"],
        }
        if "shard" in data:
            ready["shard"] = list(shard)
        self._log_gateway("identify", conn, session.id, {"intents": intents, "shard": list(shard)})
        await session.dispatch("READY", ready)
        for gid in guild_ids:
            guild = self.guilds.get(gid)
            if guild is not None:
                await session.dispatch("GUILD_CREATE", self._guild_create(guild, session))

    def _guild_create(
        self, guild: FakeGuild, session: _GatewaySession, *, joined: bool = False
    ) -> JSONDict:
        # Without GUILD_MEMBERS Discord sends only the bot's own member (and voice users).
        member_ids = (
            list(guild.members) if session.intents & INTENT_GUILD_MEMBERS else [self.bot.id]
        )
        data = guild.to_json(self.users, gateway=True, member_ids=member_ids)
        if not joined:
            # a guild READY listed as unavailable: discord.py dispatches guild_available;
            # without the key (a new join) it dispatches guild_join
            data["unavailable"] = False
        return data

    async def _resume(self, conn: _GatewayConnection, data: JSONDict) -> None:
        session = self._sessions.get(str(data.get("session_id")))
        if session is None or not session.valid or session.token != data.get("token"):
            self._log_gateway("resume_failed", conn, str(data.get("session_id")))
            await conn.send({"op": OP_INVALID_SESSION, "d": False, "s": None, "t": None})
            return
        last_seq = int(data.get("seq") or 0)
        async with session.lock:
            old = session.conn
            session.conn = conn
            conn.session = session
            replay = [p for s, p in session.history if s > last_seq]
            for payload in replay:
                await conn.send(payload)
            session.seq += 1
            resumed = {
                "op": OP_DISPATCH,
                "s": session.seq,
                "t": "RESUMED",
                "d": {"_trace": ["fake"]},
            }
            session.history.append((session.seq, resumed))
            await conn.send(resumed)
        if old is not None and old is not conn:
            await old.close(4000, "resumed elsewhere")
        self._log_gateway("resume", conn, session.id, {"seq": last_seq, "replayed": len(replay)})

    async def _send_member_chunk(self, session: _GatewaySession, data: JSONDict) -> None:
        guild = self.guilds.get(int(data.get("guild_id", 0)))
        if guild is None:
            return
        user_ids = [int(u) for u in data.get("user_ids") or []]
        query = str(data.get("query") or "").lower()
        limit = int(data.get("limit") or 0)
        if user_ids:
            ids = [u for u in user_ids if u in guild.members]
            not_found = [str(u) for u in user_ids if u not in guild.members]
        else:
            ids = [u for u in guild.members if self._user(u).username.lower().startswith(query)]
            not_found = []
            if limit:
                ids = ids[:limit]
        chunk: JSONDict = {
            "guild_id": str(guild.id),
            "members": [guild.members[u].to_json(self._user(u)) for u in ids],
            "chunk_index": 0,
            "chunk_count": 1,
            "not_found": not_found,
        }
        if data.get("presences"):
            chunk["presences"] = []
        if data.get("nonce"):
            chunk["nonce"] = data["nonce"]
        await session.dispatch("GUILD_MEMBERS_CHUNK", chunk)

    # -- interactions: building and dispatching ------------------------------------------------
    def _context(
        self, guild_id: int | _Default | None, channel_id: int | None, user_id: int | None
    ) -> tuple[FakeGuild | None, FakeChannel, FakeUser]:
        if isinstance(guild_id, _Default):
            guild_id = next(iter(self.guilds), None)
        user = self._user(user_id if user_id is not None else self.default_user_id)
        if guild_id is None:
            return None, self.dm_channel(user.id), user
        guild = self._guild(guild_id)
        if user.id not in guild.members:
            guild.members[user.id] = FakeMember(user.id)
        if channel_id is None:
            texts = guild.text_channels()
            if not texts:
                raise ValueError(f"guild {guild_id} has no text channel; pass channel_id")
            channel = texts[0]
        else:
            try:
                channel = guild.channels[channel_id]
            except KeyError:
                raise ValueError(f"channel {channel_id} is not in guild {guild_id}") from None
        return guild, channel, user

    def build_interaction(
        self,
        interaction_type: int,
        data: JSONDict | None,
        *,
        guild_id: int | _Default | None = DEFAULT,
        channel_id: int | None = None,
        user_id: int | None = None,
        locale: str = "en-US",
        message: JSONDict | None = None,
    ) -> JSONDict:
        """A complete INTERACTION_CREATE payload as Discord sends it (gateway form)."""
        guild, channel, user = self._context(guild_id, channel_id, user_id)
        payload: JSONDict = {
            "id": str(self._ids.next()),
            "application_id": str(self.application_id),
            "type": interaction_type,
            "token": "aW50ZXJhY3Rpb246" + secrets.token_urlsafe(48),
            "version": 1,
            "locale": locale,
            "entitlements": [],
            "entitlement_sku_ids": [],
            "attachment_size_limit": ATTACHMENT_SIZE_LIMIT,
            "channel_id": str(channel.id),
        }
        if data is not None:
            payload["data"] = data
        if guild is not None:
            member = guild.members[user.id]
            perms = guild.channel_permissions(user.id, channel.id)
            channel_json = channel.to_json()
            channel_json["permissions"] = str(perms)
            payload.update(
                {
                    "guild_id": str(guild.id),
                    "guild": {
                        "id": str(guild.id),
                        "locale": guild.preferred_locale,
                        "features": [],
                    },
                    "guild_locale": guild.preferred_locale,
                    "channel": channel_json,
                    "member": member.to_json(user, permissions=perms),
                    "app_permissions": str(guild.channel_permissions(self.bot.id, channel.id)),
                    "authorizing_integration_owners": {"0": str(guild.id)},
                    "context": 0,
                }
            )
        else:
            channel_json = self._dm_json(channel)
            channel_json["permissions"] = str(DM_PERMISSIONS)
            payload.update(
                {
                    "channel": channel_json,
                    "user": user.to_json(),
                    "app_permissions": str(DM_PERMISSIONS),
                    "authorizing_integration_owners": {"0": "0"},
                    "context": 1,
                }
            )
        if message is not None:
            payload["message"] = copy.deepcopy(message)
        return payload

    async def dispatch_interaction(self, payload: JSONDict) -> InteractionRecord:
        """Send INTERACTION_CREATE (filling the fields discord.py requires if missing)."""
        payload.setdefault("id", str(self._ids.next()))
        payload.setdefault("application_id", str(self.application_id))
        payload.setdefault("token", "aW50ZXJhY3Rpb246" + secrets.token_urlsafe(48))
        payload.setdefault("version", 1)
        payload.setdefault("attachment_size_limit", ATTACHMENT_SIZE_LIMIT)
        payload.setdefault("locale", "en-US")
        payload.setdefault("entitlements", [])
        record = InteractionRecord(self, payload)
        self.interactions[record.id] = record
        self._by_token[record.token] = record
        await self._session_for(record.guild_id).dispatch("INTERACTION_CREATE", payload)
        return record

    def _find_command(
        self, name: str, guild_id: int | None, command_type: int
    ) -> tuple[JSONDict, int | None] | None:
        scopes: list[int | None] = [guild_id, None] if guild_id is not None else [None]
        for scope in scopes:
            for cmd in self._commands.get(scope, {}).values():
                if cmd["name"] == name and int(cmd.get("type", 1)) == command_type:
                    return cmd, scope
        return None

    async def invoke(
        self,
        name: str,
        options: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None,
        *,
        guild_id: int | _Default | None = DEFAULT,
        channel_id: int | None = None,
        user_id: int | None = None,
        focused: str | None = None,
        locale: str = "en-US",
        strict: bool | None = None,
    ) -> InteractionRecord:
        """Run a slash command as a user would: ``name`` is the path (``"stats csr"``),
        ``options`` maps option names to values (users/channels/roles by id, attachments
        as ``{"filename", "content"}``) or is a raw option list. With ``focused`` it is
        an autocomplete interaction (type 4) for that option. Types, choices and
        required options are checked against the synced command (``strict``: default
        when any command was synced) the way Discord's client enforces them.
        ``guild_id=None`` runs it in the user's DM with the bot."""
        payload = self.build_command_interaction(
            name,
            options,
            guild_id=guild_id,
            channel_id=channel_id,
            user_id=user_id,
            focused=focused,
            locale=locale,
            strict=strict,
        )
        return await self.dispatch_interaction(payload)

    async def autocomplete(
        self, name: str, options: Mapping[str, Any], focused: str, **kwargs: Any
    ) -> InteractionRecord:
        return await self.invoke(name, options, focused=focused, **kwargs)

    def build_command_interaction(
        self,
        name: str,
        options: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None,
        *,
        guild_id: int | _Default | None = DEFAULT,
        channel_id: int | None = None,
        user_id: int | None = None,
        focused: str | None = None,
        locale: str = "en-US",
        strict: bool | None = None,
    ) -> JSONDict:
        payload = self.build_interaction(
            AUTOCOMPLETE if focused else APPLICATION_COMMAND,
            None,
            guild_id=guild_id,
            channel_id=channel_id,
            user_id=user_id,
            locale=locale,
        )
        gid = int(payload["guild_id"]) if payload.get("guild_id") else None
        guild = self.guilds.get(gid) if gid is not None else None
        parts = name.split()
        if not parts:
            raise ValueError("empty command name")
        found = self._find_command(parts[0], gid, 1)
        if strict is None:
            strict = any(self._commands.values())
        if found is None and strict:
            known = sorted(
                {c["name"] for scope in (gid, None) for c in self._commands.get(scope, {}).values()}
            )
            raise LookupError(f"/{parts[0]} is not synced for guild {gid} (synced: {known})")
        data: JSONDict = {"name": parts[0], "type": 1}
        schema: list[JSONDict] | None = None
        if found is not None:
            cmd, scope = found
            contexts = cmd.get("contexts")
            if strict and contexts is not None and payload["context"] not in contexts:
                # Discord offers a command only in the contexts it was synced for.
                raise PermissionError(
                    f"/{parts[0]} is not available in context {payload['context']} "
                    f"(synced contexts: {contexts})"
                )
            data["id"] = cmd["id"]
            if scope is not None:
                data["guild_id"] = str(scope)
            schema = list(cmd.get("options") or [])
        else:
            data["id"] = str(self._ids.next())
        resolved: JSONDict = {}
        container = data
        for depth, sub in enumerate(parts[1:], start=1):
            if schema is not None:
                match = [o for o in schema if o["name"] == sub and o.get("type") in (1, 2)]
                if not match:
                    raise LookupError(f"/{' '.join(parts[:depth])} has no sub-command {sub!r}")
                sub_type = int(match[0]["type"])
                schema = list(match[0].get("options") or [])
            else:
                sub_type = SUB_COMMAND_GROUP if depth < len(parts) - 1 else SUB_COMMAND
            node: JSONDict = {"name": sub, "type": sub_type, "options": []}
            container["options"] = [node]
            container = node
        if isinstance(options, Mapping) or options is None:
            leaf = self._leaf_options(dict(options or {}), schema, guild, resolved, focused=focused)
        else:
            leaf = [dict(o) for o in options]
        if leaf or "options" in container or container is not data:
            container["options"] = leaf
        if resolved:
            data["resolved"] = resolved
        payload["data"] = data
        return payload

    def _leaf_options(
        self,
        values: dict[str, Any],
        schema: list[JSONDict] | None,
        guild: FakeGuild | None,
        resolved: JSONDict,
        *,
        focused: str | None,
    ) -> list[JSONDict]:
        by_name = {o["name"]: o for o in schema or []}
        if schema is not None:
            unknown = set(values) - set(by_name)
            if unknown:
                raise ValueError(f"unknown option(s) {sorted(unknown)}; known: {sorted(by_name)}")
            if focused is None:
                missing = [
                    o["name"] for o in schema if o.get("required") and o["name"] not in values
                ]
                if missing:
                    raise ValueError(f"missing required option(s) {missing}")
        if focused is not None and focused not in values:
            values[focused] = ""
        out: list[JSONDict] = []
        for opt_name, value in values.items():
            spec = by_name.get(opt_name)
            opt_type = int(spec["type"]) if spec else _infer_option_type(value)
            entry: JSONDict = {"name": opt_name, "type": opt_type}
            if opt_name == focused:
                entry["value"] = str(value)
                entry["focused"] = True
            else:
                entry["value"] = self._option_value(
                    opt_name, opt_type, value, spec, guild, resolved
                )
            out.append(entry)
        return out

    def _option_value(
        self,
        name: str,
        opt_type: int,
        value: Any,
        spec: JSONDict | None,
        guild: FakeGuild | None,
        resolved: JSONDict,
    ) -> Any:
        if opt_type == OPT_STRING:
            if not isinstance(value, str):
                raise TypeError(f"option {name!r} takes a string, got {value!r}")
            if spec and not spec.get("autocomplete"):
                lo, hi = spec.get("min_length"), spec.get("max_length")
                if (lo is not None and len(value) < lo) or (hi is not None and len(value) > hi):
                    raise ValueError(f"option {name!r}: length must be in [{lo}, {hi}]")
        elif opt_type == OPT_INTEGER:
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"option {name!r} takes an integer, got {value!r}")
        elif opt_type == OPT_NUMBER:
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise TypeError(f"option {name!r} takes a number, got {value!r}")
        elif opt_type == OPT_BOOLEAN:
            if not isinstance(value, bool):
                raise TypeError(f"option {name!r} takes a boolean, got {value!r}")
        elif opt_type == OPT_USER or (
            opt_type == OPT_MENTIONABLE and (guild is None or int(value) not in guild.roles)
        ):
            user = self._user(int(value))
            resolved.setdefault("users", {})[str(user.id)] = user.to_json()
            if guild is not None and user.id in guild.members:
                member = guild.members[user.id].to_json(
                    None, permissions=guild.base_permissions(user.id)
                )
                resolved.setdefault("members", {})[str(user.id)] = member
            return str(user.id)
        elif opt_type in (OPT_ROLE, OPT_MENTIONABLE):
            if guild is None or int(value) not in guild.roles:
                raise ValueError(f"option {name!r}: no role {value} in this guild")
            resolved.setdefault("roles", {})[str(value)] = guild.roles[int(value)].to_json()
            return str(value)
        elif opt_type == OPT_CHANNEL:
            found = self._find_channel(int(value))
            if found is None:
                raise ValueError(f"option {name!r}: unknown channel {value}")
            owner, channel = found
            data = channel.to_json()
            if owner is not None:
                data["permissions"] = str(owner.channel_permissions(self.bot.id, channel.id))
            types = (spec or {}).get("channel_types")
            if types and channel.type not in types:
                raise ValueError(f"option {name!r}: channel type {channel.type} not in {types}")
            resolved.setdefault("channels", {})[str(channel.id)] = data
            return str(channel.id)
        elif opt_type == OPT_ATTACHMENT:
            if not isinstance(value, Mapping):
                raise TypeError(f"option {name!r} takes {{'filename', 'content'}}")
            content = value.get("content", b"")
            content = content.encode() if isinstance(content, str) else bytes(content)
            attachment = self._store_attachment(
                0, str(value.get("filename", "file.bin")), value.get("content_type"), content
            )
            resolved.setdefault("attachments", {})[attachment["id"]] = attachment
            return attachment["id"]
        if spec and spec.get("choices"):
            allowed = [c["value"] for c in spec["choices"]]
            if value not in allowed:
                raise ValueError(f"option {name!r}: {value!r} is not one of the choices {allowed}")
        if spec and opt_type in (OPT_INTEGER, OPT_NUMBER):
            lo, hi = spec.get("min_value"), spec.get("max_value")
            if (lo is not None and value < lo) or (hi is not None and value > hi):
                raise ValueError(f"option {name!r}: {value} not in [{lo}, {hi}]")
        return value

    async def click(
        self,
        message: int | JSONDict | SentMessage | CallbackRecord,
        custom_id: str,
        *,
        values: Sequence[str] | None = None,
        user_id: int | None = None,
        locale: str = "en-US",
    ) -> InteractionRecord:
        """Press a button / choose in a select menu on a message the bot sent."""
        msg = self._resolve_message(message)
        component = _find_component(msg.get("components") or [], custom_id)
        if component is None:
            raise LookupError(f"message {msg['id']} has no component {custom_id!r}")
        if component.get("disabled"):
            raise ValueError(f"component {custom_id!r} is disabled")
        data: JSONDict = {"custom_id": custom_id, "component_type": int(component["type"])}
        if int(component["type"]) in SELECT_COMPONENT_TYPES:
            data["values"] = list(values or [])
        found = self._find_channel(int(msg["channel_id"]))
        if found is None:
            raise LookupError(f"message {msg['id']} is in an unknown channel")
        guild, channel = found
        payload = self.build_interaction(
            MESSAGE_COMPONENT,
            data,
            guild_id=guild.id if guild else None,
            channel_id=channel.id if guild else None,
            user_id=user_id if user_id is not None else channel.recipient_id,
            locale=locale,
            message=msg,
        )
        return await self.dispatch_interaction(payload)

    async def submit_modal(
        self, record: InteractionRecord, values: Mapping[str, str | Sequence[str]]
    ) -> InteractionRecord:
        """Submit the modal the bot showed in answer to ``record`` (type 9 callback)."""
        modal = record.modal
        if modal is None:
            raise LookupError(f"interaction {record.id} did not open a modal")
        components = [_modal_submit_component(c, values) for c in modal.get("components") or []]
        payload = self.build_interaction(
            MODAL_SUBMIT,
            {"custom_id": modal["custom_id"], "components": components},
            guild_id=record.guild_id,
            channel_id=record.channel_id if record.guild_id else None,
            user_id=record.user_id,
            locale=record.payload.get("locale", "en-US"),
            message=record.source_message,
        )
        return await self.dispatch_interaction(payload)

    def _resolve_message(self, message: int | JSONDict | SentMessage | CallbackRecord) -> JSONDict:
        if isinstance(message, SentMessage | CallbackRecord):
            if message.message is None:
                raise LookupError("that record produced no message")
            return message.message
        mid = int(message["id"]) if isinstance(message, Mapping) else int(message)
        try:
            return self._messages[mid]
        except KeyError:
            raise LookupError(f"unknown message {mid}") from None

    # -- HTTP plumbing ---------------------------------------------------------------------------
    def _add_routes(self, app: web.Application) -> None:
        p = API_PREFIX
        r = app.router
        r.add_get("/gateway", self._gateway_handler)
        r.add_get("/gateway/resume", self._gateway_handler)
        r.add_get("/attachments/{channel_id}/{attachment_id}/{filename}", self._h_attachment)
        self._admin_routes(app)
        routes: list[tuple[str, str, Handler]] = [
            ("GET", "/users/@me", self._h_me),
            ("POST", "/users/@me/channels", self._h_create_dm),
            ("GET", "/users/{user_id}", self._h_user),
            ("GET", "/gateway", self._h_gateway),
            ("GET", "/gateway/bot", self._h_gateway_bot),
            ("GET", "/oauth2/applications/@me", self._h_application),
            ("GET", "/applications/@me", self._h_application),
            ("GET", "/applications/{app_id}/commands", self._h_commands),
            ("PUT", "/applications/{app_id}/commands", self._h_commands),
            ("POST", "/applications/{app_id}/commands", self._h_commands),
            ("GET", "/applications/{app_id}/commands/{command_id}", self._h_command),
            ("PATCH", "/applications/{app_id}/commands/{command_id}", self._h_command),
            ("DELETE", "/applications/{app_id}/commands/{command_id}", self._h_command),
            ("GET", "/applications/{app_id}/guilds/{guild_id}/commands/permissions", self._h_perms),
            ("GET", "/applications/{app_id}/guilds/{guild_id}/commands", self._h_commands),
            ("PUT", "/applications/{app_id}/guilds/{guild_id}/commands", self._h_commands),
            ("POST", "/applications/{app_id}/guilds/{guild_id}/commands", self._h_commands),
            (
                "GET",
                "/applications/{app_id}/guilds/{guild_id}/commands/{command_id}",
                self._h_command,
            ),
            (
                "PATCH",
                "/applications/{app_id}/guilds/{guild_id}/commands/{command_id}",
                self._h_command,
            ),
            (
                "DELETE",
                "/applications/{app_id}/guilds/{guild_id}/commands/{command_id}",
                self._h_command,
            ),
            ("GET", "/applications/{app_id}/entitlements", self._h_empty_list),
            ("GET", "/applications/{app_id}/emojis", self._h_emojis),
            ("POST", "/interactions/{interaction_id}/{token}/callback", self._h_callback),
            ("POST", "/webhooks/{app_id}/{token}", self._h_followup),
            ("GET", "/webhooks/{app_id}/{token}/messages/{message_id}", self._h_webhook_message),
            ("PATCH", "/webhooks/{app_id}/{token}/messages/{message_id}", self._h_webhook_message),
            ("DELETE", "/webhooks/{app_id}/{token}/messages/{message_id}", self._h_webhook_message),
            ("GET", "/channels/{channel_id}", self._h_channel),
            ("GET", "/channels/{channel_id}/messages", self._h_channel_history),
            ("POST", "/channels/{channel_id}/messages", self._h_channel_post),
            ("GET", "/channels/{channel_id}/messages/{message_id}", self._h_channel_message),
            ("PATCH", "/channels/{channel_id}/messages/{message_id}", self._h_channel_message),
            ("DELETE", "/channels/{channel_id}/messages/{message_id}", self._h_channel_message),
            ("POST", "/channels/{channel_id}/typing", self._h_typing),
            (
                "PUT",
                "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me",
                self._h_reaction,
            ),
            (
                "DELETE",
                "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me",
                self._h_reaction,
            ),
            ("GET", "/guilds/{guild_id}", self._h_guild),
            ("GET", "/guilds/{guild_id}/channels", self._h_guild_channels),
            ("GET", "/guilds/{guild_id}/roles", self._h_guild_roles),
            ("GET", "/guilds/{guild_id}/members", self._h_guild_members),
            ("GET", "/guilds/{guild_id}/members/{user_id}", self._h_guild_member),
            ("PUT", "/guilds/{guild_id}/members/{user_id}/roles/{role_id}", self._h_member_role),
            ("DELETE", "/guilds/{guild_id}/members/{user_id}/roles/{role_id}", self._h_member_role),
        ]
        for method, path, handler in routes:
            r.add_route(method, p + path, handler)
        r.add_route("*", "/{tail:.*}", self._h_unknown)

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        path = request.path
        if not path.startswith(API_PREFIX + "/"):
            return await handler(request)
        rel = path[len(API_PREFIX) :]
        method = request.method
        route = request.match_info.route.resource
        template = route.canonical if route is not None else rel
        bucket = hashlib.sha1(f"{method} {template}".encode()).hexdigest()[:16]
        is_fault = False
        response: web.StreamResponse
        fault = next((f for f in self.faults if f.matches(method, rel)), None)
        if not _is_token_route(rel) and not self._authorized(request):
            response = _error_response(FakeDiscordError(401, 0, "401: Unauthorized"))
        elif fault is not None:
            fault.hits += 1
            is_fault = True
            log.info("FakeDiscord: injected %s for %s %s", fault.status, method, rel)
            response = fault.response(bucket)
        else:
            try:
                response = await handler(request)
            except FakeDiscordError as exc:
                response = _error_response(exc)
            except web.HTTPException:
                raise
            except Exception as exc:
                log.exception("FakeDiscord handler for %s %s failed", method, rel)
                self.internal_errors.append(f"{method} {rel}: {exc!r}")
                response = _json_response(
                    {"message": f"fake internal error: {exc!r}", "code": 0}, status=400
                )
        if response.status != 429 and "X-RateLimit-Bucket" not in response.headers:
            response.headers.update(
                {
                    "X-RateLimit-Limit": "50",
                    "X-RateLimit-Remaining": "49",
                    "X-RateLimit-Reset": f"{time.time() + 1:.3f}",
                    "X-RateLimit-Reset-After": "1.000",
                    "X-RateLimit-Bucket": bucket,
                }
            )
        error = None
        if response.status >= 400 and isinstance(response, web.Response) and response.body:
            with contextlib.suppress(ValueError, TypeError):
                error = json.loads(bytes(response.body))  # type: ignore[arg-type]
        record = RequestRecord(
            method,
            rel,
            dict(request.query),
            response.status,
            request.get(_BODY_KEY),
            is_fault,
            error,
            _audit_reason(request),
        )
        self.requests.append(record)
        if response.status >= 400:
            interaction = self._interaction_for_path(rel)
            if interaction is not None:
                interaction.errors.append(record)
                interaction._notify()
        return response

    def _authorized(self, request: web.Request) -> bool:
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("Bot ") or not auth[4:].strip():
            return False
        return self.token is None or auth[4:] == self.token

    def _interaction_for_path(self, rel: str) -> InteractionRecord | None:
        m = re.match(r"^/interactions/(\d+)/", rel)
        if m:
            return self.interactions.get(int(m.group(1)))
        m = re.match(r"^/webhooks/\d+/([^/]+)", rel)
        if m:
            return self._by_token.get(m.group(1))
        return None

    async def _read_body(self, request: web.Request) -> tuple[Any, list[UploadedFile]]:
        """JSON body, or multipart ``payload_json`` + ``files[n]`` (as discord.py sends)."""
        files: list[UploadedFile] = []
        payload: JSONDict = {}
        if request.content_type == "multipart/form-data":
            reader = await request.multipart()
            async for part in reader:
                if part is None:
                    break
                name = getattr(part, "name", None) or ""
                if name == "payload_json":
                    payload = json.loads(await part.text())  # type: ignore[union-attr]
                else:
                    data = await part.read()  # type: ignore[union-attr]
                    files.append(
                        UploadedFile(
                            name,
                            part.filename or name,  # type: ignore[union-attr]
                            part.headers.get("Content-Type"),
                            bytes(data),
                        )
                    )
        else:
            raw = await request.read()
            if raw:
                try:
                    payload = json.loads(raw)
                except ValueError:
                    raise FakeDiscordError(
                        400, 50109, "The request body contains invalid JSON."
                    ) from None
        request[_BODY_KEY] = (
            {"json": payload, "files": [f.to_json() for f in files]} if files else payload
        )
        return payload, files

    # -- REST: users, gateway, application -----------------------------------------------------
    async def _h_me(self, request: web.Request) -> web.Response:
        return _ok({**self.bot.to_json(), "verified": True, "mfa_enabled": False, "email": None})

    async def _h_user(self, request: web.Request) -> web.Response:
        user = self.users.get(_int(request, "user_id"))
        if user is None:
            raise FakeDiscordError(404, 10013, "Unknown User")
        return _ok(user.to_json())

    async def _h_create_dm(self, request: web.Request) -> web.Response:
        body, _ = await self._read_body(request)
        user_id = int(body.get("recipient_id", 0))
        if user_id not in self.users:
            raise FakeDiscordError(404, 10013, "Unknown User")
        return _ok(self._dm_json(self.dm_channel(user_id)))

    async def _h_gateway(self, request: web.Request) -> web.Response:
        return _ok({"url": self.gateway_url})

    async def _h_gateway_bot(self, request: web.Request) -> web.Response:
        return _ok(
            {
                "url": self.gateway_url,
                "shards": self.shard_count,
                "session_start_limit": {
                    "total": 1000,
                    "remaining": 999,
                    "reset_after": 14_400_000,
                    "max_concurrency": 1,
                },
            }
        )

    async def _h_application(self, request: web.Request) -> web.Response:
        owner = self._user(self.default_user_id)
        return _ok(
            {
                "id": str(self.application_id),
                "name": self.bot.username,
                "icon": None,
                "description": "Fake application",
                "summary": "",
                "type": None,
                "bot_public": True,
                "bot_require_code_grant": False,
                "verify_key": "0" * 64,
                "flags": (1 << 19) | (1 << 23),
                "owner": owner.to_json(),
                "team": None,
                "bot": self.bot.to_json(),
                "rpc_origins": [],
                "redirect_uris": [],
                "interactions_endpoint_url": None,
                "approximate_guild_count": len(self.guilds),
                "integration_types_config": {"0": {}},
                "tags": [],
            }
        )

    async def _h_empty_list(self, request: web.Request) -> web.Response:
        return _ok([])

    async def _h_emojis(self, request: web.Request) -> web.Response:
        return _ok({"items": []})

    # -- REST: application commands --------------------------------------------------------------
    def _command_scope(self, request: web.Request) -> int | None:
        if _int(request, "app_id") != self.application_id:
            raise FakeDiscordError(403, 50001, "Missing Access")
        if "guild_id" not in request.match_info:
            return None
        guild_id = _int(request, "guild_id")
        if guild_id not in self.guilds:
            # the bot (and so its applications.commands scope) is not in that guild
            raise FakeDiscordError(403, 50001, "Missing Access")
        return guild_id

    def _store_command(self, scope: int | None, body: JSONDict) -> JSONDict:
        cmd_type = int(body.get("type", 1))
        key = (scope, cmd_type, str(body.get("name")))
        command_id = self._command_ids.setdefault(key, self._ids.next())
        cmd: JSONDict = {
            "id": str(command_id),
            "application_id": str(self.application_id),
            "version": str(self._ids.next()),
            "type": cmd_type,
            "name": body.get("name"),
            "name_localizations": body.get("name_localizations"),
            "description": body.get("description", ""),
            "description_localizations": body.get("description_localizations"),
            "options": body.get("options") or [],
            "default_member_permissions": body.get("default_member_permissions"),
            "dm_permission": body.get("dm_permission", True),
            "nsfw": bool(body.get("nsfw", False)),
            "contexts": body.get("contexts"),
            "integration_types": body.get("integration_types") or [0],
        }
        if scope is not None:
            cmd["guild_id"] = str(scope)
        self._commands.setdefault(scope, {})[command_id] = cmd
        return cmd

    async def _h_commands(self, request: web.Request) -> web.Response:
        scope = self._command_scope(request)
        if request.method == "GET":
            return _ok(self.synced_commands(scope))
        body, _ = await self._read_body(request)
        if request.method == "PUT":
            if not isinstance(body, list):
                raise _invalid_form(
                    {"_errors": [_field_error("LIST_TYPE_CONVERT", "Must be a list.")]}
                )
            errors: dict[str, Any] = {
                str(i): e for i, c in enumerate(body) if (e := _command_errors(c, scope))
            }
            names = [(int(c.get("type", 1)), c.get("name")) for c in body]
            if len(set(names)) != len(names):
                errors["_errors"] = [
                    {"code": "APPLICATION_COMMANDS_DUPLICATE_NAME", "message": "dup"}
                ]
            if errors:
                raise _invalid_form(errors)
            self._commands[scope] = {}
            stored = [self._store_command(scope, c) for c in body]
            self.command_syncs.append(
                {
                    "guild_id": None if scope is None else str(scope),
                    "method": "PUT",
                    "payload": body,
                }
            )
            return _ok(copy.deepcopy(stored))
        errors = _command_errors(body, scope)
        if errors:
            raise _invalid_form(errors)
        existing = self._find_command(str(body.get("name")), scope, int(body.get("type", 1)))
        if existing is not None and existing[1] == scope:
            self._commands[scope].pop(int(existing[0]["id"]), None)
        self.command_syncs.append(
            {"guild_id": None if scope is None else str(scope), "method": "POST", "payload": body}
        )
        return _ok(copy.deepcopy(self._store_command(scope, body)), status=201)

    async def _h_command(self, request: web.Request) -> web.Response:
        scope = self._command_scope(request)
        command_id = _int(request, "command_id")
        cmd = self._commands.get(scope, {}).get(command_id)
        if cmd is None:
            raise FakeDiscordError(404, 10063, "Unknown application command")
        if request.method == "GET":
            return _ok(copy.deepcopy(cmd))
        if request.method == "DELETE":
            self._commands[scope].pop(command_id)
            return web.Response(status=204)
        body, _ = await self._read_body(request)
        merged = {**cmd, **body}
        errors = _command_errors(merged, scope)
        if errors:
            raise _invalid_form(errors)
        cmd.update(body)
        cmd["version"] = str(self._ids.next())
        return _ok(copy.deepcopy(cmd))

    async def _h_perms(self, request: web.Request) -> web.Response:
        self._command_scope(request)
        return _ok([])

    # -- REST: interactions ----------------------------------------------------------------------
    async def _h_callback(self, request: web.Request) -> web.Response:
        rec = self.interactions.get(_int(request, "interaction_id"))
        if rec is None or rec.token != request.match_info["token"]:
            raise FakeDiscordError(404, 10062, "Unknown interaction")
        body, files = await self._read_body(request)
        if rec.callbacks:
            raise FakeDiscordError(400, 40060, "Interaction has already been acknowledged.")
        if self.interaction_timeout is not None and (
            time.monotonic() - rec._created > self.interaction_timeout
        ):
            raise FakeDiscordError(404, 10062, "Unknown interaction")
        cb_type = int(body.get("type", 0))
        data: JSONDict = body.get("data") or {}
        allowed = {
            APPLICATION_COMMAND: {CB_MESSAGE, CB_DEFERRED_MESSAGE, CB_MODAL, CB_LAUNCH_ACTIVITY},
            AUTOCOMPLETE: {CB_AUTOCOMPLETE},
            MESSAGE_COMPONENT: {
                CB_MESSAGE,
                CB_DEFERRED_MESSAGE,
                CB_DEFERRED_UPDATE,
                CB_UPDATE_MESSAGE,
                CB_MODAL,
                CB_LAUNCH_ACTIVITY,
            },
            MODAL_SUBMIT: {CB_MESSAGE, CB_DEFERRED_MESSAGE, CB_DEFERRED_UPDATE, CB_UPDATE_MESSAGE},
        }.get(rec.type, set())
        if cb_type not in allowed:
            raise _invalid_form(
                {
                    "type": _field_error(
                        "INTERACTION_CALLBACK_TYPE_INVALID", f"type {cb_type} invalid here"
                    )
                }
            )
        callback = CallbackRecord(cb_type, data, files, _truthy(request.query.get("with_response")))
        message: JSONDict | None = None
        if cb_type == CB_MESSAGE:
            self._check_message(data, files)
            message = self._new_message(
                rec, data, files, flags=int(data.get("flags") or 0), original=True
            )
        elif cb_type == CB_DEFERRED_MESSAGE:
            flags = LOADING | (int(data.get("flags") or 0) & EPHEMERAL)
            message = self._new_message(rec, {"content": ""}, [], flags=flags, original=True)
        elif cb_type == CB_UPDATE_MESSAGE:
            target = rec.source_message
            if target is None:
                raise FakeDiscordError(400, 50035, "Invalid Form Body")
            message = self._edit_message(target, data, files)
            rec._touch(message)
        elif cb_type == CB_AUTOCOMPLETE:
            errors = _choices_errors(data.get("choices"))
            if errors:
                raise _invalid_form({"data": errors})
        elif cb_type == CB_MODAL and not (
            data.get("custom_id") and data.get("title") and data.get("components")
        ):
            raise _invalid_form(
                {"data": _field_error("BASE_TYPE_REQUIRED", "custom_id/title/components")}
            )
        callback.message = message
        rec.callbacks.append(callback)
        rec._notify()
        if not callback.with_response:
            return web.Response(status=204)
        response: JSONDict = {
            "interaction": {
                "id": str(rec.id),
                "type": rec.type,
                "response_message_loading": cb_type == CB_DEFERRED_MESSAGE,
                "response_message_ephemeral": bool(
                    message is not None and int(message.get("flags", 0)) & EPHEMERAL
                ),
            }
        }
        if message is not None:
            response["interaction"]["response_message_id"] = message["id"]
        if cb_type in (CB_MESSAGE, CB_UPDATE_MESSAGE) and message is not None:
            response["resource"] = {"type": cb_type, "message": copy.deepcopy(message)}
        elif cb_type in (CB_DEFERRED_MESSAGE, CB_DEFERRED_UPDATE):
            response["resource"] = {"type": cb_type}
        return _ok(response)

    def _webhook_interaction(self, request: web.Request) -> InteractionRecord:
        rec = self._by_token.get(request.match_info["token"])
        if rec is None or _int(request, "app_id") != self.application_id or not rec.callbacks:
            # Discord: the webhook only exists once the interaction was acknowledged.
            raise FakeDiscordError(404, 10015, "Unknown Webhook")
        return rec

    async def _h_followup(self, request: web.Request) -> web.Response:
        rec = self._webhook_interaction(request)
        payload, files = await self._read_body(request)
        self._check_message(payload, files)
        original = rec.original
        if (
            original is not None
            and int(original.get("flags", 0)) & LOADING
            and rec.deferred
            and int(original["id"]) not in rec.deleted
        ):
            # The first followup after a deferral resolves the "thinking" message and keeps
            # the deferral's ephemeral flag (discord-api-docs #2742, #3466). Once the
            # deferred reply was deleted, a followup is a new message with its own flags.
            message = self._edit_message(original, payload, files)
        else:
            flags = int(payload.get("flags") or 0)
            message = self._new_message(rec, payload, files, flags=flags, original=False)
        rec._touch(message)
        rec.followups.append(SentMessage("followup", "POST", request.path, payload, files, message))
        rec._notify()
        if not _truthy(request.query.get("wait", "0")):
            return web.Response(status=204)
        return _ok(copy.deepcopy(message))

    async def _h_webhook_message(self, request: web.Request) -> web.StreamResponse:
        rec = self._webhook_interaction(request)
        raw_id = request.match_info["message_id"]
        target: JSONDict | None
        if raw_id == "@original":
            if rec.original is not None:
                target = rec.original
            elif any(c.type in (CB_DEFERRED_UPDATE, CB_UPDATE_MESSAGE) for c in rec.callbacks):
                target = rec.source_message
            else:
                target = None
        else:
            target = rec.messages.get(int(raw_id)) if raw_id.isdigit() else None
        if target is None or int(target["id"]) in rec.deleted:
            raise FakeDiscordError(404, 10008, "Unknown Message")
        if request.method == "GET":
            return _ok(copy.deepcopy(target))
        if request.method == "DELETE":
            rec.deleted.append(int(target["id"]))
            if target is rec.original:
                rec.deleted_original = True
            rec._notify()
            return web.Response(status=204)
        payload, files = await self._read_body(request)
        message = self._edit_message(target, payload, files)
        rec._touch(message)
        rec.edits.append(SentMessage("edit", "PATCH", request.path, payload, files, message))
        rec._notify()
        return _ok(copy.deepcopy(message))

    # -- REST: channels and guilds ---------------------------------------------------------------
    def _channel_or_404(self, channel_id: int) -> tuple[FakeGuild | None, FakeChannel]:
        found = self._find_channel(channel_id)
        if found is None:
            raise FakeDiscordError(404, 10003, "Unknown Channel")
        guild, channel = found
        if (
            guild is not None
            and not guild.channel_permissions(self.bot.id, channel_id) & VIEW_CHANNEL
        ):
            raise FakeDiscordError(403, 50001, "Missing Access")
        return guild, channel

    async def _h_channel(self, request: web.Request) -> web.Response:
        guild, channel = self._channel_or_404(_int(request, "channel_id"))
        return _ok(channel.to_json() if guild is not None else self._dm_json(channel))

    async def _h_channel_history(self, request: web.Request) -> web.Response:
        guild, channel = self._channel_or_404(_int(request, "channel_id"))
        if (
            guild is not None
            and not guild.channel_permissions(self.bot.id, channel.id) & READ_MESSAGE_HISTORY
        ):
            return _ok([])
        limit = min(100, int(request.query.get("limit", 50)))
        messages = [
            m
            for m in self._messages.values()
            if m["channel_id"] == str(channel.id)
            and not m.get("_deleted")
            and not int(m.get("flags", 0)) & (EPHEMERAL | LOADING)
        ]
        messages.sort(key=lambda m: int(m["id"]), reverse=True)
        return _ok([_public(m) for m in messages[:limit]])

    async def _h_channel_post(self, request: web.Request) -> web.Response:
        guild, channel = self._channel_or_404(_int(request, "channel_id"))
        payload, files = await self._read_body(request)
        if guild is not None:
            perms = guild.channel_permissions(self.bot.id, channel.id)
            if channel.type not in TEXT_CHANNEL_TYPES or not perms & SEND_MESSAGES:
                raise FakeDiscordError(403, 50013, "Missing Permissions")
            if files and not perms & ATTACH_FILES:
                raise FakeDiscordError(403, 50013, "Missing Permissions")
        self._check_message(payload, files)
        nonce = payload.get("nonce")
        if nonce and payload.get("enforce_nonce"):
            # Like Discord: the same nonce from the same author within a few minutes returns
            # the message created the first time instead of a new one.
            known = self._nonces.get((channel.id, str(nonce)))
            if known is not None and time.monotonic() - known[1] < self.nonce_window:
                existing = self._messages.get(known[0])
                if existing is not None and not existing.get("_deleted"):
                    self.deduplicated_posts.append(
                        SentMessage("channel", "POST", request.path, payload, files, existing)
                    )
                    return _ok(copy.deepcopy(existing))
        flags = int(payload.get("flags") or 0) & (
            SUPPRESS_EMBEDS | SUPPRESS_NOTIFICATIONS | IS_COMPONENTS_V2
        )
        message = self._build_message(
            channel.id, guild.id if guild else None, payload, files, flags, 0
        )
        if nonce and payload.get("enforce_nonce"):
            self._nonces[(channel.id, str(nonce))] = (int(message["id"]), time.monotonic())
        if payload.get("message_reference"):
            message["type"] = 19
            message["message_reference"] = payload["message_reference"]
        sent = SentMessage("channel", "POST", request.path, payload, files, message)
        self._channel_messages.setdefault(channel.id, []).append(sent)
        self._spawn(self._maybe_message_create(guild, message))
        return _ok(copy.deepcopy(message))

    async def _maybe_message_create(self, guild: FakeGuild | None, message: JSONDict) -> None:
        needed = INTENT_GUILD_MESSAGES if guild is not None else INTENT_DIRECT_MESSAGES
        gid = guild.id if guild is not None else None
        for session in self._live_sessions():
            if session.covers(gid) and session.intents & needed:
                data = copy.deepcopy(message)
                if guild is not None:
                    data["guild_id"] = str(guild.id)
                await session.dispatch("MESSAGE_CREATE", data)
                return

    def _channel_message(
        self, request: web.Request
    ) -> tuple[FakeGuild | None, FakeChannel, JSONDict]:
        guild, channel = self._channel_or_404(_int(request, "channel_id"))
        message = self._messages.get(_int(request, "message_id"))
        if message is None or message["channel_id"] != str(channel.id) or message.get("_deleted"):
            raise FakeDiscordError(404, 10008, "Unknown Message")
        return guild, channel, message

    async def _h_channel_message(self, request: web.Request) -> web.StreamResponse:
        guild, channel, message = self._channel_message(request)
        if request.method == "GET":
            return _ok(_public(message))
        mine = message["author"]["id"] == str(self.bot.id)
        if request.method == "DELETE":
            if not mine and not (
                guild is not None
                and guild.channel_permissions(self.bot.id, channel.id) & MANAGE_MESSAGES
            ):
                raise FakeDiscordError(403, 50013, "Missing Permissions")
            message["_deleted"] = True
            return web.Response(status=204)
        if not mine:
            raise FakeDiscordError(403, 50005, "Cannot edit a message authored by another user")
        payload, files = await self._read_body(request)
        edited = self._edit_message(message, payload, files)
        sent = SentMessage("channel_edit", "PATCH", request.path, payload, files, edited)
        self._channel_messages.setdefault(channel.id, []).append(sent)
        return _ok(_public(edited))

    async def _h_typing(self, request: web.Request) -> web.Response:
        self._channel_or_404(_int(request, "channel_id"))
        return web.Response(status=204)

    async def _h_reaction(self, request: web.Request) -> web.Response:
        _guild, _channel, message = self._channel_message(request)
        emoji = request.match_info["emoji"]
        reactions: list[str] = message.setdefault("_reactions", [])
        if request.method == "PUT":
            if emoji not in reactions:
                reactions.append(emoji)
        elif emoji in reactions:
            reactions.remove(emoji)
        return web.Response(status=204)

    def _guild_or_404(self, request: web.Request) -> FakeGuild:
        guild = self.guilds.get(_int(request, "guild_id"))
        if guild is None:
            raise FakeDiscordError(404, 10004, "Unknown Guild")
        return guild

    async def _h_guild(self, request: web.Request) -> web.Response:
        guild = self._guild_or_404(request)
        data = guild.to_json(self.users, gateway=False)
        if _truthy(request.query.get("with_counts")):
            data["approximate_member_count"] = len(guild.members)
            data["approximate_presence_count"] = 0
        return _ok(data)

    async def _h_guild_channels(self, request: web.Request) -> web.Response:
        guild = self._guild_or_404(request)
        return _ok([c.to_json() for c in guild.channels.values()])

    async def _h_guild_roles(self, request: web.Request) -> web.Response:
        guild = self._guild_or_404(request)
        return _ok([r.to_json() for r in sorted(guild.roles.values(), key=lambda r: r.position)])

    async def _h_guild_members(self, request: web.Request) -> web.Response:
        guild = self._guild_or_404(request)
        limit = max(1, min(1000, int(request.query.get("limit", 1))))
        after = int(request.query.get("after", 0))
        ids = sorted(u for u in guild.members if u > after)[:limit]
        return _ok([guild.members[u].to_json(self._user(u)) for u in ids])

    async def _h_guild_member(self, request: web.Request) -> web.Response:
        guild = self._guild_or_404(request)
        user_id = _int(request, "user_id")
        member = guild.members.get(user_id)
        if member is None:
            raise FakeDiscordError(404, 10007, "Unknown Member")
        return _ok(member.to_json(self._user(user_id)))

    async def _h_member_role(self, request: web.Request) -> web.Response:
        """Add or remove one role, with Discord's checks: the member and the role exist,
        the bot has Manage Roles, and the role is below the bot's highest role and is
        not managed (a bot or booster role)."""
        guild = self._guild_or_404(request)
        user_id = _int(request, "user_id")
        member = guild.members.get(user_id)
        if member is None:
            raise FakeDiscordError(404, 10007, "Unknown Member")
        role = guild.roles.get(_int(request, "role_id"))
        if role is None:
            raise FakeDiscordError(404, 10011, "Unknown Role")
        if not guild.base_permissions(self.bot.id) & MANAGE_ROLES:
            raise FakeDiscordError(403, 50013, "Missing Permissions")
        top = self.bot_top_role(guild)
        if (
            role.managed
            or role.id == guild.id
            or (role.position, -role.id)
            >= (
                top.position,
                -top.id,
            )
        ):
            raise FakeDiscordError(403, 50013, "Missing Permissions")
        if request.method == "PUT":
            if role.id not in member.roles:
                member.roles.append(role.id)
        elif role.id in member.roles:
            member.roles.remove(role.id)
        return web.Response(status=204)

    async def _h_attachment(self, request: web.Request) -> web.Response:
        stored = self._attachment_store.get(_int(request, "attachment_id"))
        if stored is None:
            return web.Response(status=404)
        _filename, content_type, data = stored
        return web.Response(body=data, content_type=content_type or "application/octet-stream")

    async def _h_unknown(self, request: web.Request) -> web.Response:
        path = request.path
        if path.startswith("/_admin"):
            return _json_response(
                {"error": f"unknown admin route {request.method} {path}"}, status=404
            )
        route = f"{request.method} {path}"
        log.warning("FakeDiscord: UNKNOWN ROUTE %s (answering 404)", route)
        self.unknown_routes.append(route)
        return _json_response({"message": "Unknown", "code": 0}, status=404)

    # -- messages --------------------------------------------------------------------------------
    def _check_message(self, payload: JSONDict, files: Sequence[UploadedFile]) -> None:
        errors = _message_errors(payload)
        if errors:
            raise _invalid_form(errors)
        if not _has_body(payload) and not files:
            raise FakeDiscordError(400, 50006, "Cannot send an empty message")
        if sum(len(f.data) for f in files) > ATTACHMENT_SIZE_LIMIT:
            raise FakeDiscordError(413, 40005, "Request entity too large")

    def _store_attachment(
        self, channel_id: int, filename: str, content_type: str | None, data: bytes
    ) -> JSONDict:
        att_id = self._ids.next()
        self._attachment_store[att_id] = (filename, content_type, data)
        url = f"{self.base_url}/attachments/{channel_id}/{att_id}/{filename}"
        return {
            "id": str(att_id),
            "filename": filename,
            "size": len(data),
            "url": url,
            "proxy_url": url,
            "content_type": content_type,
        }

    def _message_attachments(
        self,
        channel_id: int,
        payload: JSONDict,
        files: Sequence[UploadedFile],
        existing: Sequence[JSONDict] = (),
    ) -> list[JSONDict]:
        by_index = {}
        for i, f in enumerate(files):
            m = re.fullmatch(r"files\[(\d+)\]", f.field)
            by_index[int(m.group(1)) if m else i] = f
        if "attachments" not in payload or payload["attachments"] is None:
            keep = list(existing)
            new = list(by_index.values())
            descriptions: dict[int, JSONDict] = {}
        else:
            old = {a["id"]: a for a in existing}
            keep, new, descriptions = [], [], {}
            for spec in payload["attachments"]:
                if str(spec.get("id")) in old:
                    keep.append(old[str(spec["id"])])
                elif int(spec.get("id", -1)) in by_index:
                    f = by_index[int(spec["id"])]
                    new.append(f)
                    descriptions[id(f)] = spec
            new += [f for f in by_index.values() if f not in new]
        out = list(keep)
        for f in new:
            spec = descriptions.get(id(f), {})
            att = self._store_attachment(
                channel_id, spec.get("filename") or f.filename, f.content_type, f.data
            )
            if spec.get("description"):
                att["description"] = spec["description"]
            out.append(att)
        return out

    def _build_message(
        self,
        channel_id: int,
        guild_id: int | None,
        payload: JSONDict,
        files: Sequence[UploadedFile],
        flags: int,
        msg_type: int,
    ) -> JSONDict:
        message: JSONDict = {
            "id": str(self._ids.next()),
            "channel_id": str(channel_id),
            "type": msg_type,
            "content": payload.get("content") or "",
            "author": self.bot.to_json(),
            "timestamp": _now_iso(),
            "edited_timestamp": None,
            "tts": bool(payload.get("tts", False)),
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": self._message_attachments(channel_id, payload, files),
            "embeds": [_normalise_embed(e) for e in payload.get("embeds") or []],
            "components": copy.deepcopy(payload.get("components") or []),
            "pinned": False,
            "flags": flags,
        }
        if guild_id is not None:
            message["guild_id"] = str(guild_id)
        if payload.get("poll"):
            message["poll"] = copy.deepcopy(payload["poll"])
        self._messages[int(message["id"])] = message
        return message

    def _new_message(
        self,
        rec: InteractionRecord,
        payload: JSONDict,
        files: Sequence[UploadedFile],
        *,
        flags: int,
        original: bool,
    ) -> JSONDict:
        allowed = EPHEMERAL | LOADING | SUPPRESS_EMBEDS | SUPPRESS_NOTIFICATIONS | IS_COMPONENTS_V2
        channel_id = rec.channel_id or 0
        message = self._build_message(
            channel_id, rec.guild_id, payload, files, flags & allowed, 20 if original else 0
        )
        user = (rec.payload.get("member") or {}).get("user") or rec.payload.get("user")
        message["webhook_id"] = str(self.application_id)
        message["application_id"] = str(self.application_id)
        message["interaction_metadata"] = {
            "id": str(rec.id),
            "type": rec.type,
            "user": user,
            "authorizing_integration_owners": rec.payload.get("authorizing_integration_owners", {}),
        }
        if not original and rec.original is not None:
            message["interaction_metadata"]["original_response_message_id"] = rec.original["id"]
        if rec.type == MESSAGE_COMPONENT and rec.payload.get("message"):
            message["interaction_metadata"]["interacted_message_id"] = rec.payload["message"]["id"]
        if original:
            rec.original = message
        rec._touch(message)
        return message

    def _edit_message(
        self, message: JSONDict, payload: JSONDict, files: Sequence[UploadedFile]
    ) -> JSONDict:
        updated = copy.deepcopy(message)
        if "content" in payload:
            updated["content"] = payload["content"] or ""
        if "embeds" in payload:
            updated["embeds"] = [_normalise_embed(e) for e in payload["embeds"] or []]
        if "components" in payload:
            updated["components"] = copy.deepcopy(payload["components"] or [])
        if "attachments" in payload or files:
            updated["attachments"] = self._message_attachments(
                int(message["channel_id"]), payload, files, existing=message.get("attachments", [])
            )
        flags = int(updated.get("flags", 0))
        if payload.get("flags") is not None:
            flags = (flags & ~SUPPRESS_EMBEDS) | (
                int(payload["flags"]) & (SUPPRESS_EMBEDS | IS_COMPONENTS_V2)
            )
        was_loading = bool(flags & LOADING)
        updated["flags"] = flags & ~LOADING
        check = {
            k: updated.get(k) for k in ("content", "embeds", "components", "attachments", "poll")
        }
        errors = _message_errors({k: v for k, v in payload.items() if k in ("content", "embeds")})
        if errors:
            raise _invalid_form(errors)
        if not _has_body(check):
            raise FakeDiscordError(400, 50006, "Cannot send an empty message")
        if not was_loading:
            updated["edited_timestamp"] = _now_iso()
        message.clear()
        message.update(updated)  # in place: every record holding it sees the edit
        return message

    # -- admin API -------------------------------------------------------------------------------
    def _admin_routes(self, app: web.Application) -> None:
        """``/_admin`` JSON API for tests that run the fake in another process.

        ==========================================  ======================================
        ``GET  /_admin/health``                     ``{"ok", "api_base", "gateway_url"}``
        ``GET  /_admin/state``                      guilds, users, sessions, counts
        ``POST /_admin/users``                      ``{"id", "username", "global_name"}``
        ``POST /_admin/guilds``                     :meth:`add_guild` kwargs + ``"id"``
        ``DELETE /_admin/guilds/{id}``              GUILD_DELETE
        ``POST /_admin/faults``                     ``{"method", "path", "status", "times",
                                                    "retry_after", "global"}``
        ``GET|DELETE /_admin/faults``               list / clear
        ``POST /_admin/gateway/disconnect``         ``{"code": 4000}``
        ``POST /_admin/gateway/reconnect``          op 7
        ``POST /_admin/gateway/invalidate``         ``{"resumable": false}``
        ``POST /_admin/gateway/dispatch``           ``{"t", "d", "guild_id"}``
        ``GET  /_admin/gateway?wait=identify``      log; ``&count=1&timeout=10`` waits
        ``POST /_admin/invoke``                     ``{"name", "options", "guild_id",
                                                    "channel_id", "user_id", "focused",
                                                    "locale", "wait", "timeout"}``
        ``POST /_admin/click``                      ``{"message_id", "custom_id",
                                                    "values", "user_id", "wait"}``
        ``POST /_admin/modal``                      ``{"interaction_id", "values", "wait"}``
        ``POST /_admin/interactions``               raw INTERACTION_CREATE payload
        ``GET  /_admin/interactions[/{id}]``        records; ``?wait=final&timeout=10``
        ``GET  /_admin/channels/{id}/messages``     bot posts in that channel
        ``GET  /_admin/commands?guild_id=``         synced commands; ``/_admin/command_syncs``
        ``GET  /_admin/requests?since=N``           REST log; ``/_admin/unknown_routes``
        ``POST /_admin/reset``                      clear records
        ==========================================  ======================================

        Waiting endpoints answer 504 with the record when the wait times out.
        """
        r = app.router
        a = "/_admin"
        r.add_get(a + "/health", self._a_health)
        r.add_get(a + "/state", self._a_state)
        r.add_post(a + "/users", self._a_users)
        r.add_post(a + "/guilds", self._a_guilds)
        r.add_delete(a + "/guilds/{guild_id}", self._a_guild_delete)
        r.add_route("*", a + "/faults", self._a_faults)
        r.add_post(a + "/gateway/{action}", self._a_gateway_action)
        r.add_get(a + "/gateway", self._a_gateway)
        r.add_post(a + "/invoke", self._a_invoke)
        r.add_post(a + "/click", self._a_click)
        r.add_post(a + "/modal", self._a_modal)
        r.add_post(a + "/interactions", self._a_raw_interaction)
        r.add_get(a + "/interactions", self._a_interactions)
        r.add_get(a + "/interactions/{interaction_id}", self._a_interaction)
        r.add_get(a + "/channels/{channel_id}/messages", self._a_channel_messages)
        r.add_get(a + "/commands", self._a_commands)
        r.add_get(a + "/command_syncs", self._a_command_syncs)
        r.add_get(a + "/requests", self._a_requests)
        r.add_get(a + "/unknown_routes", self._a_unknown)
        r.add_post(a + "/reset", self._a_reset)

    async def _a_body(self, request: web.Request) -> JSONDict:
        if not request.can_read_body:
            return {}
        body = await request.json()
        if not isinstance(body, dict):
            raise web.HTTPBadRequest(
                text='{"error": "expected a JSON object"}', content_type="application/json"
            )
        return body

    async def _a_health(self, request: web.Request) -> web.Response:
        return _ok({"ok": True, "api_base": self.api_base, "gateway_url": self.gateway_url})

    async def _a_state(self, request: web.Request) -> web.Response:
        return _ok(
            {
                "application_id": str(self.application_id),
                "bot_user_id": str(self.bot.id),
                "default_user_id": str(self.default_user_id),
                "guilds": [
                    g.to_json(self.users, gateway=True, member_ids=list(g.members))
                    for g in self.guilds.values()
                ],
                "users": [u.to_json() for u in self.users.values()],
                "sessions": [
                    {
                        "id": s.id,
                        "connected": s.conn is not None,
                        "valid": s.valid,
                        "seq": s.seq,
                        "intents": s.intents,
                        "shard": list(s.shard),
                    }
                    for s in self._sessions.values()
                ],
                "interactions": len(self.interactions),
                "requests": len(self.requests),
                "unknown_routes": self.unknown_routes,
                "internal_errors": self.internal_errors,
                "faults": [f.to_json() for f in self.faults],
                "heartbeats": self.heartbeats,
            }
        )

    async def _a_users(self, request: web.Request) -> web.Response:
        body = await self._a_body(request)
        user = self.add_user(
            int(body["id"]),
            body.get("username"),
            global_name=body.get("global_name"),
            bot=bool(body.get("bot")),
        )
        return _ok(user.to_json())

    async def _a_guilds(self, request: web.Request) -> web.Response:
        body = await self._a_body(request)
        kwargs = {
            k: body[k]
            for k in (
                "channels",
                "roles",
                "members",
                "bot_permissions",
                "everyone_permissions",
                "owner_id",
                "locale",
                "bot_role_position",
            )
            if k in body
        }
        for key in ("bot_permissions", "everyone_permissions", "owner_id", "bot_role_position"):
            if key in kwargs:
                kwargs[key] = int(kwargs[key])
        guild = await self.join_guild(int(body["id"]), body.get("name"), **kwargs)
        return _ok(guild.to_json(self.users, gateway=True, member_ids=list(guild.members)))

    async def _a_guild_delete(self, request: web.Request) -> web.Response:
        await self.remove_guild(_int(request, "guild_id"))
        return _ok({"ok": True})

    async def _a_faults(self, request: web.Request) -> web.Response:
        if request.method == "DELETE":
            self.clear_faults()
        elif request.method == "POST":
            body = await self._a_body(request)
            times = body.get("times", 1)
            self.fail(
                str(body.get("method", "*")),
                str(body["path"]),
                status=int(body.get("status", 429)),
                times=None if times is None else int(times),
                retry_after=float(body.get("retry_after", 0.5)),
                is_global=bool(body.get("global", False)),
                body=body.get("body"),
            )
        return _ok([f.to_json() for f in self.faults])

    async def _a_gateway_action(self, request: web.Request) -> web.Response:
        body = await self._a_body(request)
        action = request.match_info["action"]
        if action == "disconnect":
            await self.disconnect_gateway(int(body.get("code", 4000)))
        elif action == "reconnect":
            await self.request_reconnect()
        elif action == "invalidate":
            await self.invalidate_session(resumable=bool(body.get("resumable", False)))
        elif action == "dispatch":
            gid = body.get("guild_id")
            seq = await self.dispatch_event(
                str(body["t"]), body.get("d"), guild_id=int(gid) if gid else None
            )
            return _ok({"ok": True, "seq": seq})
        else:
            return _json_response({"error": f"unknown gateway action {action!r}"}, status=404)
        return _ok({"ok": True})

    async def _a_gateway(self, request: web.Request) -> web.Response:
        kind = request.query.get("wait")
        if kind:
            try:
                await self.wait_gateway(
                    kind,
                    int(request.query.get("count", 1)),
                    float(request.query.get("timeout", 10)),
                )
            except TimeoutError as exc:
                return _json_response({"error": str(exc)}, status=504)
        return _ok({"log": [e.to_json() for e in self.gateway_log], "heartbeats": self.heartbeats})

    async def _a_answer(self, record: InteractionRecord, body: Mapping[str, Any]) -> web.Response:
        if body.get("wait"):
            try:
                await record.wait_final(float(body.get("timeout", 10)))
            except TimeoutError as exc:
                return _json_response({"error": str(exc), "record": record.to_json()}, status=504)
        return _ok(record.to_json())

    async def _a_invoke(self, request: web.Request) -> web.Response:
        body = await self._a_body(request)
        guild_id: int | _Default | None = DEFAULT
        if "guild_id" in body:
            guild_id = None if body["guild_id"] is None else int(body["guild_id"])
        try:
            record = await self.invoke(
                str(body["name"]),
                body.get("options"),
                guild_id=guild_id,
                channel_id=int(body["channel_id"]) if body.get("channel_id") else None,
                user_id=int(body["user_id"]) if body.get("user_id") else None,
                focused=body.get("focused"),
                locale=str(body.get("locale", "en-US")),
                strict=body.get("strict"),
            )
        except (LookupError, ValueError, TypeError, RuntimeError) as exc:
            return _json_response({"error": str(exc)}, status=409)
        return await self._a_answer(record, body)

    async def _a_click(self, request: web.Request) -> web.Response:
        body = await self._a_body(request)
        try:
            record = await self.click(
                int(body["message_id"]),
                str(body["custom_id"]),
                values=body.get("values"),
                user_id=int(body["user_id"]) if body.get("user_id") else None,
            )
        except (LookupError, ValueError, RuntimeError) as exc:
            return _json_response({"error": str(exc)}, status=409)
        return await self._a_answer(record, body)

    async def _a_modal(self, request: web.Request) -> web.Response:
        body = await self._a_body(request)
        source = self.interactions.get(int(body["interaction_id"]))
        if source is None:
            return _json_response({"error": "unknown interaction"}, status=404)
        try:
            record = await self.submit_modal(source, body.get("values") or {})
        except (LookupError, ValueError, RuntimeError) as exc:
            return _json_response({"error": str(exc)}, status=409)
        return await self._a_answer(record, body)

    async def _a_raw_interaction(self, request: web.Request) -> web.Response:
        body = await self._a_body(request)
        try:
            record = await self.dispatch_interaction(body)
        except RuntimeError as exc:
            return _json_response({"error": str(exc)}, status=409)
        return _ok(record.to_json())

    async def _a_interactions(self, request: web.Request) -> web.Response:
        return _ok([r.to_json() for r in self.interactions.values()])

    async def _a_interaction(self, request: web.Request) -> web.Response:
        record = self.interactions.get(_int(request, "interaction_id"))
        if record is None:
            return _json_response({"error": "unknown interaction"}, status=404)
        wait = request.query.get("wait") in ("1", "true", "final")
        return await self._a_answer(
            record, {"wait": wait, "timeout": request.query.get("timeout", 10)}
        )

    async def _a_channel_messages(self, request: web.Request) -> web.Response:
        return _ok([m.to_json() for m in self.channel_messages(_int(request, "channel_id"))])

    async def _a_commands(self, request: web.Request) -> web.Response:
        gid = request.query.get("guild_id")
        return _ok(self.synced_commands(int(gid) if gid else None))

    async def _a_command_syncs(self, request: web.Request) -> web.Response:
        return _ok(self.command_syncs)

    async def _a_requests(self, request: web.Request) -> web.Response:
        since = int(request.query.get("since", 0))
        return _ok([r.to_json() for r in self.requests[since:]])

    async def _a_unknown(self, request: web.Request) -> web.Response:
        return _ok(self.unknown_routes)

    async def _a_reset(self, request: web.Request) -> web.Response:
        self.reset_records()
        return _ok({"ok": True})


# ==================================================================================== helpers


def _json_response(
    data: Any, *, status: int = 200, headers: Mapping[str, str] | None = None
) -> web.Response:
    """JSON with ``Content-Type: application/json`` exactly, as Discord sends it:
    discord.py's ``json_or_text`` compares the header verbatim, so aiohttp's usual
    ``application/json; charset=utf-8`` would make it see a plain string."""
    all_headers = {"Content-Type": "application/json"}
    all_headers.update(headers or {})
    return web.Response(body=_dumps(data).encode(), status=status, headers=all_headers)


def _ok(data: Any, status: int = 200) -> web.Response:
    return _json_response(data, status=status)


def _error_response(exc: FakeDiscordError) -> web.Response:
    return _json_response(exc.body, status=exc.status)


def _int(request: web.Request, key: str) -> int:
    raw = request.match_info[key]
    if not raw.isdigit():
        raise FakeDiscordError(
            400,
            50035,
            "Invalid Form Body",
            {key: _field_error("NUMBER_TYPE_COERCE", f'Value "{raw}" is not snowflake.')},
        )
    return int(raw)


def _audit_reason(request: web.Request) -> str | None:
    raw = request.headers.get("X-Audit-Log-Reason")
    return urllib.parse.unquote(raw) if raw is not None else None


def _truthy(value: str | None) -> bool:
    return (value or "").lower() in ("1", "true", "yes")


def _is_token_route(rel: str) -> bool:
    """Interaction callbacks and token webhooks authenticate by token, not by bot auth."""
    return rel.startswith("/interactions/") or re.match(r"^/webhooks/\d+/[^/]+", rel) is not None


def _public(message: JSONDict) -> JSONDict:
    return {k: copy.deepcopy(v) for k, v in message.items() if not k.startswith("_")}


def _infer_option_type(value: Any) -> int:
    if isinstance(value, bool):
        return OPT_BOOLEAN
    if isinstance(value, int):
        return OPT_INTEGER
    if isinstance(value, float):
        return OPT_NUMBER
    if isinstance(value, Mapping):
        return OPT_ATTACHMENT
    return OPT_STRING


def _find_component(components: Sequence[JSONDict], custom_id: str) -> JSONDict | None:
    for comp in components:
        if comp.get("custom_id") == custom_id:
            return comp
        children = list(comp.get("components") or [])
        for key in ("accessory", "component"):
            if isinstance(comp.get(key), dict):
                children.append(comp[key])
        found = _find_component(children, custom_id)
        if found is not None:
            return found
    return None


def _modal_submit_component(comp: JSONDict, values: Mapping[str, str | Sequence[str]]) -> JSONDict:
    def field_value(inner: JSONDict) -> JSONDict:
        cid = inner.get("custom_id")
        out: JSONDict = {"type": inner.get("type"), "custom_id": cid}
        if "id" in inner:
            out["id"] = inner["id"]
        value = values.get(str(cid), inner.get("value", ""))
        if inner.get("type") == 4:
            out["value"] = value if isinstance(value, str) else ",".join(value)
        else:
            out["values"] = [value] if isinstance(value, str) else list(value)
        return out

    if comp.get("type") == 18 and isinstance(comp.get("component"), dict):  # label
        return {"type": 18, "id": comp.get("id"), "component": field_value(comp["component"])}
    if comp.get("type") == 1:
        return {
            "type": 1,
            "id": comp.get("id"),
            "components": [field_value(c) for c in comp.get("components") or []],
        }
    return {"type": comp.get("type"), "id": comp.get("id")}


def _normalise_embed(embed: JSONDict) -> JSONDict:
    out = copy.deepcopy(embed)
    out.setdefault("type", "rich")
    for key in ("image", "thumbnail"):
        if isinstance(out.get(key), dict) and "url" in out[key]:
            out[key].setdefault("proxy_url", out[key]["url"])
    return out


def _has_body(payload: Mapping[str, Any]) -> bool:
    return bool(
        payload.get("content")
        or payload.get("embeds")
        or payload.get("components")
        or payload.get("attachments")
        or payload.get("sticker_ids")
        or payload.get("poll")
    )


_URL_RX = re.compile(r"^(https?|attachment)://\S+$")


def _message_errors(payload: JSONDict) -> JSONDict:
    """Discord's limits for message payloads as nested ``Invalid Form Body`` errors."""
    errors: JSONDict = {}
    content = payload.get("content")
    if content is not None and len(str(content)) > 2000:
        errors["content"] = _field_error("BASE_TYPE_MAX_LENGTH", "Must be 2000 or fewer in length.")
    embeds = payload.get("embeds") or []
    if len(embeds) > 10:
        errors["embeds"] = _field_error("BASE_TYPE_MAX_LENGTH", "Must be 10 or fewer in length.")
    total = 0
    embed_errors: JSONDict = {}
    for i, embed in enumerate(embeds[:10]):
        e: JSONDict = {}
        limits = (("title", 256), ("description", 4096))
        for key, limit in limits:
            value = embed.get(key)
            if value is not None:
                total += len(str(value))
                if len(str(value)) > limit:
                    e[key] = _field_error(
                        "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length."
                    )
        for key, sub, limit in (("footer", "text", 2048), ("author", "name", 256)):
            part = embed.get(key)
            if isinstance(part, dict) and part.get(sub) is not None:
                total += len(str(part[sub]))
                if len(str(part[sub])) > limit:
                    e[key] = {
                        sub: _field_error(
                            "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length."
                        )
                    }
        for key in ("url",):
            if embed.get(key) is not None and not _URL_RX.match(str(embed[key])):
                e[key] = _field_error("URL_TYPE_INVALID_URL", "Not a well formed URL.")
        for key in ("image", "thumbnail", "author", "footer"):
            part = embed.get(key)
            url_key = "icon_url" if key == "footer" else "url"
            if (
                key == "author"
                and isinstance(part, dict)
                and part.get("icon_url")
                and not _URL_RX.match(str(part["icon_url"]))
            ):
                e.setdefault(key, {})["icon_url"] = _field_error(
                    "URL_TYPE_INVALID_URL", "Not a well formed URL."
                )
            if (
                isinstance(part, dict)
                and part.get(url_key) is not None
                and not _URL_RX.match(str(part[url_key]))
            ):
                e.setdefault(key, {})[url_key] = _field_error(
                    "URL_TYPE_INVALID_URL", "Not a well formed URL."
                )
        color = embed.get("color")
        if color is not None and not 0 <= int(color) <= 0xFFFFFF:
            e["color"] = _field_error(
                "NUMBER_TYPE_MAX", "int value should be <= 16777215 and >= 0."
            )
        fields = embed.get("fields") or []
        if len(fields) > 25:
            e["fields"] = _field_error("BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
        field_errors: JSONDict = {}
        for j, fld in enumerate(fields):
            fe: JSONDict = {}
            for key, limit in (("name", 256), ("value", 1024)):
                value = fld.get(key)
                if value is None or not str(value):
                    fe[key] = _field_error("BASE_TYPE_REQUIRED", "This field is required")
                else:
                    total += len(str(value))
                    if len(str(value)) > limit:
                        fe[key] = _field_error(
                            "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length."
                        )
            if fe:
                field_errors[str(j)] = fe
        if field_errors:
            e.setdefault("fields", {}).update(field_errors)
        if e:
            embed_errors[str(i)] = e
    if embed_errors:
        errors["embeds"] = embed_errors
    elif total > 6000:
        errors["embeds"] = _field_error(
            "MAX_EMBED_SIZE_EXCEEDED", "Embed size exceeds maximum size of 6000"
        )
    if payload.get("flags") is not None and int(payload["flags"]) & IS_COMPONENTS_V2:
        if payload.get("content") or payload.get("embeds"):
            errors["content"] = _field_error(
                "MESSAGE_CANNOT_USE_LEGACY_FIELDS_WITH_COMPONENTS_V2",
                "The 'content' and 'embeds' fields cannot be used with components v2",
            )
    elif len(payload.get("components") or []) > 5:
        errors["components"] = _field_error("BASE_TYPE_MAX_LENGTH", "Must be 5 or fewer in length.")
    return errors


def _choices_errors(choices: Any) -> JSONDict:
    if choices is None:
        return {"choices": _field_error("BASE_TYPE_REQUIRED", "This field is required")}
    errors: JSONDict = {}
    if len(choices) > 25:
        errors["choices"] = _field_error("BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
        return errors
    per: JSONDict = {}
    for i, choice in enumerate(choices):
        ce: JSONDict = {}
        name = choice.get("name")
        if not isinstance(name, str) or not 1 <= len(name) <= 100:
            ce["name"] = _field_error(
                "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length."
            )
        value = choice.get("value")
        if isinstance(value, str) and len(value) > 100:
            ce["value"] = _field_error(
                "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length."
            )
        if value is None:
            ce["value"] = _field_error("BASE_TYPE_REQUIRED", "This field is required")
        if ce:
            per[str(i)] = ce
    if per:
        errors["choices"] = per
    return errors


_NAME_RX = re.compile(r"^[-_'\w]{1,32}$")


def _command_errors(cmd: Any, scope: int | None) -> JSONDict:
    if not isinstance(cmd, dict):
        return {
            "_errors": [{"code": "DICT_TYPE_CONVERT", "message": "Only dictionaries may be used"}]
        }
    errors: JSONDict = {}
    cmd_type = int(cmd.get("type", 1))
    name = cmd.get("name")
    if (
        not isinstance(name, str)
        or not _NAME_RX.match(name)
        or (cmd_type == 1 and name != name.lower())
    ):
        errors["name"] = _field_error("APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid")
    if cmd_type == 1:
        desc = cmd.get("description")
        if not isinstance(desc, str) or not 1 <= len(desc) <= 100:
            errors["description"] = _field_error(
                "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length."
            )
        opt_errors = _options_errors(cmd.get("options") or [], depth=0)
        if opt_errors:
            errors["options"] = opt_errors
    return errors


def _options_errors(options: list[JSONDict], depth: int) -> JSONDict:
    errors: JSONDict = {}
    if len(options) > 25:
        return _field_error("BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
    seen_optional = False
    for i, opt in enumerate(options):
        oe: JSONDict = {}
        name = opt.get("name")
        if not isinstance(name, str) or not _NAME_RX.match(name) or name != name.lower():
            oe["name"] = _field_error("APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid")
        desc = opt.get("description")
        if not isinstance(desc, str) or not 1 <= len(desc) <= 100:
            oe["description"] = _field_error(
                "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length."
            )
        opt_type = int(opt.get("type", 0))
        if opt_type in (SUB_COMMAND, SUB_COMMAND_GROUP):
            if depth >= (1 if opt_type == SUB_COMMAND_GROUP else 2):
                oe["type"] = _field_error(
                    "APPLICATION_COMMAND_OPTION_TYPE_INVALID", "Sub-command nesting too deep"
                )
            nested = _options_errors(opt.get("options") or [], depth + 1)
            if nested:
                oe["options"] = nested
        else:
            if opt.get("required"):
                if seen_optional:
                    oe["required"] = _field_error(
                        "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                        "Required options must be placed before non-required options",
                    )
            else:
                seen_optional = True
            if len(opt.get("choices") or []) > 25:
                oe["choices"] = _field_error(
                    "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length."
                )
            if opt.get("choices") and opt.get("autocomplete"):
                oe["autocomplete"] = _field_error(
                    "APPLICATION_COMMAND_OPTION_AUTOCOMPLETE_CHOICES",
                    "Autocomplete cannot be used with choices",
                )
        if oe:
            errors[str(i)] = oe
    return errors


# ================================================================================= standalone


async def _serve(host: str, port: int, token: str | None) -> None:
    fake = FakeDiscord(host=host, port=port, token=token)
    await fake.start()
    print(fake.api_base, flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await fake.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.fakes.discord_server",
        description="Run the fake Discord API + gateway; prints the DISCORD_API_BASE to use.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port (default 0: a free one)")
    parser.add_argument("--token", default=None, help="the only bot token accepted (default: any)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    asyncio.run(_serve(args.host, args.port, args.token))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
