"""A fake of every upstream the bot uses: Halo's services, Xbox auth and Microsoft login.

It is an aiohttp application on 127.0.0.1 that expects the URL form the bot uses
when ``HALO_API_BASE_URL`` is set: ``https://HOST/PATH?Q`` arrives as
``{base_url}/HOST/PATH?Q``. Answers come from the recordings in
``tests/fixtures/halo`` (``recorded/``, MIT, see ``recorded/LICENSE-SPNKr``;
``from-seeds/`` where ``recorded/`` lacks an endpoint).

In-process (pytest)::

    async with FakeHalo() as fake:
        settings = ... halo_api_base_url=fake.base_url ...
        fake.set_csr(NOBLE_SIX.xuid, RANKED_ARENA, 1510)
        fake.fail("skill.svc.halowaypoint.com", status=429, retry_after=2)
        ...
        assert fake.count("skill.svc.halowaypoint.com/hi/playlist") == 1

Out of process (end-to-end tests)::

    python -m tests.fakes.halo_server --port 0      # prints the base URL, one line

and drive it through the admin API under ``{base_url}/_admin/`` (see
:meth:`FakeHalo._admin`): players, CSR, faults, auth knobs, the request log.

Halo hosts check ``x-343-authorization-spartan`` against the tokens this fake
issued (plus :data:`STATIC_SPARTAN_TOKEN`) and answer 401 when it is missing,
revoked or expired.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import copy
import json
import logging
import re
import secrets
import signal
import sys
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any, NamedTuple, Self
from urllib.parse import parse_qs, unquote

from aiohttp import web

log = logging.getLogger(__name__)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "halo"
RECORDED = FIXTURES / "recorded"
SEEDS = FIXTURES / "from-seeds"

PROFILE_HOST = "profile.svc.halowaypoint.com"
STATS_HOST = "halostats.svc.halowaypoint.com"
SKILL_HOST = "skill.svc.halowaypoint.com"
ECONOMY_HOST = "economy.svc.halowaypoint.com"
GAMECMS_HOST = "gamecms-hacs.svc.halowaypoint.com"
DISCOVERY_HOST = "discovery-infiniteugc.svc.halowaypoint.com"
SETTINGS_HOST = "settings.svc.halowaypoint.com"
XBOX_USER_HOST = "user.auth.xboxlive.com"
XSTS_HOST = "xsts.auth.xboxlive.com"
LOGIN_HOST = "login.microsoftonline.com"
HALO_HOSTS = frozenset(
    {
        PROFILE_HOST,
        STATS_HOST,
        SKILL_HOST,
        ECONOMY_HOST,
        GAMECMS_HOST,
        DISCOVERY_HOST,
        SETTINGS_HOST,
    }
)

SPARTAN_HEADER = "x-343-authorization-spartan"
CLEARANCE_HEADER = "343-clearance"
HALO_RELYING_PARTY = "https://prod.xsts.halowaypoint.com/"
XBOX_RELYING_PARTY = "http://auth.xboxlive.com"
CONSUMERS_TENANT_ID = "9188040d-6c67-4c5b-b112-36a304b66dad"
DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"

#: Always accepted by the Halo hosts (until revoked): for tests using StaticTokenProvider.
STATIC_SPARTAN_TOKEN = "fake-spartan-static-token"
#: The flight id the clearance endpoint answers by default.
DEFAULT_CLEARANCE = "fake-clearance-flight-1"
NEVER = datetime(9999, 1, 1, tzinfo=UTC)

XERR_NO_XBOX_PROFILE = 2148916233
XERR_CHILD_ACCOUNT = 2148916238

RANKED_ARENA = "edfef3ac-9cbe-4fa2-b949-8f29deafd483"
RANKED_SLAYER = "dcb2e24e-05fb-4390-8076-32a0cdb4326e"
RANKED_DOUBLES = "fa5aa2a3-2428-4912-a023-e1eeea7b877c"
RANKED_FFA = "71734db4-4b8e-4682-9206-62b6eff92582"
RANKED_PLAYLISTS = {
    RANKED_ARENA: "Ranked Arena",
    RANKED_SLAYER: "Ranked Slayer",
    RANKED_DOUBLES: "Ranked Doubles",
    RANKED_FFA: "Ranked FFA",
}
#: Events the season calendar does not list (article 000).
EXTRA_EVENTS = {
    "ritualSynthwave": "Cyber Showdown",
    "ritualNobleIntentions": "Noble Intentions",
    "ritualOlympus": "Tactical Ops",
}

WRONG_SHAPE: dict[str, Any] = {"unexpected": ["this", "is", "not", "the", "right", "shape"]}
GUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)
XUID_RE = re.compile(r"^xuid\((\d{1,16})\)$", re.IGNORECASE)


@cache
def _fixture_text(name: str) -> str:
    folder, _, file = name.partition("/")
    return (FIXTURES / folder / file).read_text(encoding="utf-8")


def fixture(name: str) -> Any:
    """A fresh copy of a fixture, e.g. ``fixture("recorded/get_user.json")``."""
    return json.loads(_fixture_text(name))


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


# -- CSR ------------------------------------------------------------------------------

TIERS = (("Bronze", 0), ("Silver", 300), ("Gold", 600), ("Platinum", 900), ("Diamond", 1200))


def csr_block(
    value: int,
    *,
    matches_remaining: int = 0,
    initial_matches: int = 5,
    demotion_protection: int = 0,
) -> dict[str, Any]:
    """One ``Current``/``SeasonMax``/``AllTimeMax`` block, with the tier fields Halo derives."""
    block: dict[str, Any] = {
        "Value": value,
        "MeasurementMatchesRemaining": matches_remaining,
        "Tier": "",
        "TierStart": 0,
        "SubTier": 0,
        "NextTier": "",
        "NextTierStart": 0,
        "NextSubTier": 0,
        "InitialMeasurementMatches": initial_matches,
        "DemotionProtectionMatchesRemaining": demotion_protection,
        "InitialDemotionProtectionMatches": 3,
    }
    if value < 0:
        return block
    if value >= 1500:
        block.update(Tier="Onyx", TierStart=1500, SubTier=0, NextTier="Onyx", NextTierStart=1500)
        return block
    index = max(i for i, (_, start) in enumerate(TIERS) if value >= start)
    tier, start = TIERS[index]
    sub = min((value - start) // 50, 5)
    block.update(Tier=tier, TierStart=start + 50 * sub, SubTier=sub)
    if sub < 5:
        block.update(NextTier=tier, NextTierStart=start + 50 * (sub + 1), NextSubTier=sub + 1)
    elif index + 1 < len(TIERS):
        block.update(NextTier=TIERS[index + 1][0], NextTierStart=TIERS[index + 1][1])
    else:
        block.update(NextTier="Onyx", NextTierStart=1500)
    return block


def csr_result(
    current: int,
    *,
    season_max: int | None = None,
    all_time_max: int | None = None,
    matches_remaining: int = 0,
    initial_matches: int = 5,
) -> dict[str, Any]:
    """A whole ``Result`` (``Current``, ``SeasonMax``, ``AllTimeMax``) for one player."""
    season = current if season_max is None else season_max
    all_time = season if all_time_max is None else all_time_max
    kwargs = {"matches_remaining": matches_remaining, "initial_matches": initial_matches}
    return {
        "Current": csr_block(current, **kwargs),
        "SeasonMax": csr_block(season, **kwargs),
        "AllTimeMax": csr_block(all_time, **kwargs),
    }


def unranked_result(initial_matches: int = 5) -> dict[str, Any]:
    """A player who never played this ranked playlist: -1 everywhere, every placement left."""
    return csr_result(-1, matches_remaining=initial_matches, initial_matches=initial_matches)


# -- players --------------------------------------------------------------------------


@dataclass
class FakePlayer:
    """One known player. ``csr`` is the default CSR in every ranked playlist (None = unranked)."""

    xuid: int
    gamertag: str
    service_record: dict[str, Any] = field(
        default_factory=lambda: fixture("recorded/get_service_record.json")
    )
    csr: int | None = None
    csr_result: dict[str, Any] | None = None  # a literal default Result, wins over ``csr``
    operations: dict[str, Any] = field(
        default_factory=lambda: fixture("from-seeds/economy_player_operations.json")
    )
    has_matches: bool = True
    #: The service tag shown by the public customization; None: customization private.
    service_tag: str | None = "SPTN"

    @property
    def player_id(self) -> str:
        return f"xuid({self.xuid})"

    def default_csr(self) -> dict[str, Any]:
        if self.csr_result is not None:
            return copy.deepcopy(self.csr_result)
        if self.csr is None:
            return unranked_result()
        return csr_result(self.csr)

    def profile(self) -> dict[str, Any]:
        entry = fixture("recorded/get_user.json")
        entry["xuid"] = str(self.xuid)
        entry["gamertag"] = self.gamertag
        return entry


class KnownPlayer(NamedTuple):
    xuid: int
    gamertag: str


#: From the recordings: get_playlist_csr.json / get_profiles.json.
RECORDED_PLAYER = KnownPlayer(2535445291321133, "aCurtis X89")
#: From the recordings: get_users.json (same gamertag as get_user.json's player).
RECORDED_BATCH_PLAYER = KnownPlayer(1234567890123456, "GAMERTAG")
#: From the recordings: get_user.json. ``gt(GAMERTAG)`` answers this one.
RECORDED_USER = KnownPlayer(1234567890, "GAMERTAG")
#: A classic gamertag (ASCII, a space), Diamond 3 (1325) in every ranked playlist.
NOBLE_SIX = KnownPlayer(2533274800000001, "Noble Six")
#: A modern gamertag with a non-ASCII letter and a #suffix, Onyx 1550.
MODERN_PLAYER = KnownPlayer(2533274800000002, "Sïerra#2468")
#: An empty service record (get_service_record_empty.json), never played ranked, no matches.
EMPTY_PLAYER = KnownPlayer(2533274800000003, "Empty Record")
#: A full service record but no ranked data at all (CSR -1, every placement match left).
UNRANKED_PLAYER = KnownPlayer(2533274800000004, "Never Ranked")
#: The bot's own account (XSTS ``xid``/``gtg`` and ``/users/me``).
BOT_ACCOUNT = KnownPlayer(2669321029139235, "Halo Stats Bot")


def default_players() -> list[FakePlayer]:
    recorded_csr = fixture("recorded/get_playlist_csr.json")["Value"][0]["Result"]
    seed_csr = fixture("from-seeds/skill_playlist_csrs.json")["Value"][0]["Result"]
    recorded_ops = fixture("recorded/get_player_reward_track_operations.json")
    return [
        FakePlayer(*RECORDED_PLAYER, csr_result=recorded_csr, operations=recorded_ops),
        FakePlayer(*RECORDED_BATCH_PLAYER, csr=640, operations=copy.deepcopy(recorded_ops)),
        FakePlayer(*RECORDED_USER, csr_result=seed_csr, operations=copy.deepcopy(recorded_ops)),
        FakePlayer(*NOBLE_SIX, csr=1325),
        FakePlayer(*MODERN_PLAYER, csr=1550),
        FakePlayer(
            *EMPTY_PLAYER,
            service_record=fixture("recorded/get_service_record_empty.json"),
            operations={"ActiveOperationRewardTrackPath": None, "OperationRewardTracks": []},
            has_matches=False,
        ),
        FakePlayer(*UNRANKED_PLAYER),
    ]


# -- faults and the request log -----------------------------------------------------


def _matches(pattern: str, regex: re.Pattern[str] | None, target: str) -> bool:
    if pattern.lower() in target.lower():
        return True
    return regex is not None and regex.search(target) is not None


def _compile(pattern: str) -> re.Pattern[str] | None:
    try:
        return re.compile(pattern, re.IGNORECASE)
    except re.error:
        return None


@dataclass
class Fault:
    """One injected failure, matched against ``"{host}{path}"`` (substring or regex)."""

    pattern: str
    status: int | None = None
    times: int | None = 1  # None or a negative number: every matching request
    retry_after: float | None = None
    delay: float = 0.0
    body: bytes | None = None
    hang: bool = False
    truncate: bool = False
    wrong_shape: bool = False
    disconnect: bool = False
    location: str | None = None
    hits: int = 0
    regex: re.Pattern[str] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.regex = _compile(self.pattern)
        if self.times is not None and self.times < 0:
            self.times = None

    @property
    def exhausted(self) -> bool:
        return self.times is not None and self.hits >= self.times

    def matches(self, target: str) -> bool:
        return not self.exhausted and _matches(self.pattern, self.regex, target)

    def to_json(self) -> dict[str, Any]:
        return {
            "pattern": self.pattern,
            "status": self.status,
            "times": self.times,
            "retry_after": self.retry_after,
            "delay": self.delay,
            "body": None if self.body is None else self.body.decode("utf-8", "replace"),
            "hang": self.hang,
            "truncate": self.truncate,
            "wrong_shape": self.wrong_shape,
            "disconnect": self.disconnect,
            "location": self.location,
            "hits": self.hits,
        }


class RecordedRequest(NamedTuple):
    """One request as the fake received it (path decoded, header names lower-cased)."""

    method: str
    host: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    #: When the fake received it (``time.monotonic()`` of the test process).
    at: float = 0.0

    @property
    def target(self) -> str:
        return f"{self.host}{self.path}"

    def json(self) -> Any:
        return json.loads(self.body)

    def form(self) -> dict[str, str]:
        return {k: v[-1] for k, v in parse_qs(self.body.decode("utf-8")).items()}

    def to_json(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "host": self.host,
            "path": self.path,
            "query": self.query,
            "headers": self.headers,
            "body": self.body.decode("utf-8", "replace"),
            "at": self.at,
        }


@dataclass
class _Req:
    request: web.Request
    method: str
    host: str
    path: str  # decoded
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def form(self) -> dict[str, str]:
        try:
            text = self.body.decode("utf-8")
        except UnicodeDecodeError:
            return {}
        return {k: v[-1] for k, v in parse_qs(text, keep_blank_values=True).items()}


Handler = Callable[[_Req, re.Match[str]], Awaitable[web.StreamResponse]]


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        status=status,
        body=json.dumps(data, ensure_ascii=False).encode("utf-8"),
        content_type="application/json",
        charset="utf-8",
        headers=headers,
    )


def _empty(status: int) -> web.Response:
    return web.Response(status=status)


def _oauth_error(error: str, description: str, status: int = 400) -> web.Response:
    return _json(
        {"error": error, "error_description": description, "error_codes": [70000]}, status=status
    )


def _track_id(path: str) -> str:
    return path.rsplit("/", 1)[-1].removesuffix(".json")


# -- the fake -------------------------------------------------------------------------


class FakeHalo:
    """The fake upstream. Use ``async with FakeHalo() as fake`` or :meth:`start`/:meth:`close`."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self._bind_host = host
        self._bind_port = port
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None
        self.port: int | None = None
        self._release = asyncio.Event()
        self._routes: list[tuple[str, str, re.Pattern[str], Handler]] = []
        self._register_routes()
        self.reset()
        # Tokens survive reset(): a running bot keeps working after a test resets the fake.
        self.spartan_tokens: dict[str, datetime] = {STATIC_SPARTAN_TOKEN: NEVER}
        self.access_tokens: dict[str, datetime] = {}
        self.refresh_tokens: set[str] = set()
        self.dead_refresh_tokens: set[str] = set()
        self.user_tokens: set[str] = set()
        self.xsts_tokens: dict[str, str] = {}  # token -> relying party
        self.device_codes: dict[str, dict[str, Any]] = {}
        self.issued: dict[str, list[str]] = {
            "access": [],
            "refresh": [],
            "user": [],
            "xsts": [],
            "spartan": [],
            "device_code": [],
        }

    # -- lifecycle -------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        if self.port is None:
            raise RuntimeError("FakeHalo is not started")
        return f"http://{self._bind_host}:{self.port}"

    async def start(self) -> Self:
        app = web.Application(client_max_size=4 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._release = asyncio.Event()
        self._runner = web.AppRunner(
            app, handler_cancellation=True, shutdown_timeout=1.0, access_log=None
        )
        await self._runner.setup()
        self._site = web.TCPSite(self._runner, self._bind_host, self._bind_port)
        await self._site.start()
        server = self._site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        log.debug("FakeHalo listening on %s", self.base_url)
        return self

    async def close(self) -> None:
        self._release.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def release_hangs(self) -> None:
        """Let every hung request finish (they answer 504)."""
        self._release.set()
        self._release = asyncio.Event()

    # -- state -----------------------------------------------------------------------

    def reset(self) -> None:
        """Players, CSR, files, faults, auth knobs and the request log back to their defaults.

        Issued tokens stay valid (use the ``revoke_*`` methods for that).
        """
        self.players: dict[int, FakePlayer] = {}
        self._by_gamertag: dict[str, int] = {}
        for player in default_players():
            self._store_player(player)
        self.csr: dict[tuple[int, str], dict[str, Any]] = {}
        self.event_progress: dict[tuple[int, str], int] = {}
        self.files: dict[str, Any] = {}  # gamecms overrides: lower-case path -> JSON
        self.discovery_files: dict[str, Any] = {}  # discovery overrides, the same way
        self.extra_playlists: dict[str, str] = {}
        self.faults: list[Fault] = []
        self.requests: list[RecordedRequest] = []
        #: CSR requests naming more players than this are answered 400 (None: no limit).
        self.csr_batch_limit: int | None = None
        #: Players left out of otherwise good CSR answers (as if Halo dropped them).
        self.csr_omitted: set[int] = set()
        # Auth knobs.
        self.require_spartan = True
        self.spartan_lifetime = timedelta(hours=4)
        self.spartan_expires_at: datetime | None = None
        self.access_token_lifetime = 3600
        self.clearance = DEFAULT_CLEARANCE
        self.xsts_error: int | None = None
        self.device_flow_outcome = "approve"  # or "decline", "expire"
        self.device_pending_polls = 0
        self.device_interval = 1
        self.account_username = "halo.bot@example.com"
        self.bot_account = BOT_ACCOUNT

    # players and CSR

    def _store_player(self, player: FakePlayer) -> None:
        old = self.players.get(player.xuid)
        if old is not None and self._by_gamertag.get(old.gamertag.casefold()) == old.xuid:
            del self._by_gamertag[old.gamertag.casefold()]
        self.players[player.xuid] = player
        self._by_gamertag[player.gamertag.casefold()] = player.xuid

    def add_player(
        self,
        xuid: int,
        gamertag: str,
        *,
        csr: int | None = None,
        service_record: str | dict[str, Any] = "full",
        has_matches: bool | None = None,
    ) -> FakePlayer:
        """Add (or replace) a player. ``service_record``: ``"full"``, ``"empty"`` or a dict."""
        if isinstance(service_record, dict):
            record = copy.deepcopy(service_record)
        elif service_record == "empty":
            record = fixture("recorded/get_service_record_empty.json")
        elif service_record == "full":
            record = fixture("recorded/get_service_record.json")
        else:
            raise ValueError("service_record must be 'full', 'empty' or a dict")
        player = FakePlayer(
            int(xuid),
            gamertag,
            service_record=record,
            csr=csr,
            has_matches=(service_record != "empty") if has_matches is None else has_matches,
        )
        self._store_player(player)
        return player

    def rename_player(self, xuid: int, gamertag: str) -> None:
        player = self.players[int(xuid)]
        self._by_gamertag.pop(player.gamertag.casefold(), None)
        player.gamertag = gamertag
        self._by_gamertag[gamertag.casefold()] = player.xuid

    def remove_player(self, xuid: int) -> None:
        player = self.players.pop(int(xuid))
        if self._by_gamertag.get(player.gamertag.casefold()) == player.xuid:
            del self._by_gamertag[player.gamertag.casefold()]

    def set_service_tag(self, xuid: int, tag: str | None) -> None:
        """The service tag the player's public customization shows from now on (None:
        Halo answers 403, the customization is private)."""
        self.players[int(xuid)].service_tag = tag

    def player_by_gamertag(self, gamertag: str) -> FakePlayer | None:
        xuid = self._by_gamertag.get(gamertag.casefold())
        return None if xuid is None else self.players.get(xuid)

    def csr_for(self, xuid: int, playlist: str = RANKED_ARENA) -> dict[str, Any]:
        """The ``Result`` the skill service answers for this player and playlist right now."""
        stored = self.csr.get((int(xuid), playlist.lower()))
        if stored is not None:
            return copy.deepcopy(stored)
        return self.players[int(xuid)].default_csr()

    def set_csr(
        self,
        xuid: int,
        playlist: str = RANKED_ARENA,
        value: int = -1,
        *,
        matches_remaining: int = 0,
        season_max: int | None = None,
        all_time_max: int | None = None,
        initial_matches: int = 5,
    ) -> dict[str, Any]:
        """Script a player's CSR. Season and all-time maxima follow unless given."""
        xuid = int(xuid)
        if xuid not in self.players:
            raise KeyError(f"unknown player xuid({xuid})")
        previous = self.csr_for(xuid, playlist)
        if season_max is None:
            season_max = max(value, int(previous["SeasonMax"]["Value"]))
        if all_time_max is None:
            all_time_max = max(season_max, int(previous["AllTimeMax"]["Value"]))
        result = csr_result(
            value,
            season_max=season_max,
            all_time_max=all_time_max,
            matches_remaining=matches_remaining,
            initial_matches=initial_matches,
        )
        self.csr[(xuid, playlist.lower())] = result
        return result

    def set_csr_result(self, xuid: int, playlist: str, result: dict[str, Any]) -> None:
        """Script the literal ``Result`` object (any shape, for parser tests)."""
        self.csr[(int(xuid), playlist.lower())] = copy.deepcopy(result)

    def set_event_progress(self, xuid: int, track_id: str, rank: int) -> None:
        self.event_progress[(int(xuid), track_id.lower())] = rank

    def add_playlist(self, asset_id: str, name: str) -> None:
        """Make another ranked playlist known (playlist asset ``HasCsr`` true, CSR answered)."""
        self.extra_playlists[asset_id.lower()] = name

    def set_file(self, path: str, data: Any) -> None:
        """Override a gamecms-hacs file, e.g. ``set_file("/hi/progression/file/...", {...})``."""
        self.files[path.lower()] = copy.deepcopy(data)

    def set_discovery_file(self, path: str, data: Any) -> None:
        """Override a discovery-infiniteugc answer, e.g. one playlist version:
        ``set_discovery_file("/hi/playlists/{asset}/versions/{version}", {...})``."""
        self.discovery_files[path.lower()] = copy.deepcopy(data)

    # faults

    def fail(
        self,
        pattern: str,
        *,
        status: int | None = None,
        times: int | None = 1,
        retry_after: float | None = None,
        delay: float = 0,
        body: bytes | None = None,
        hang: bool = False,
        truncate: bool = False,
        wrong_shape: bool = False,
        disconnect: bool = False,
        location: str | None = None,
    ) -> Fault:
        """Inject a failure for requests whose ``"{host}{path}"`` matches ``pattern``.

        Faults are consumed in the order they were added. ``status`` alone answers that
        status (``retry_after`` alone means 429) with a small JSON body or ``body``;
        ``delay`` waits first (alone, the normal answer follows); ``hang`` never answers
        (until :meth:`release_hangs` or :meth:`close`); ``disconnect`` drops the
        connection; ``truncate`` cuts the answer in half (Content-Length stays whole);
        ``wrong_shape`` answers 200 with well-formed JSON of the wrong shape; ``location``
        answers a redirect there (``status`` 302 unless given, e.g. 307 to keep a POST body).
        ``times=None`` (or negative) applies to every matching request. Note that aiohttp
        retries an idempotent request (GET) once after a dropped connection, so
        ``disconnect=True`` needs ``times=2`` to make one GET fail.
        """
        fault = Fault(
            pattern,
            status=status,
            times=times,
            retry_after=retry_after,
            delay=delay,
            body=body,
            hang=hang,
            truncate=truncate,
            wrong_shape=wrong_shape,
            disconnect=disconnect,
            location=location,
        )
        self.faults.append(fault)
        return fault

    def reset_faults(self) -> None:
        self.faults.clear()

    # request log

    def requests_to(self, pattern: str, method: str | None = None) -> list[RecordedRequest]:
        """Recorded requests whose ``"{host}{path}"`` matches (substring or regex)."""
        regex = _compile(pattern)
        return [
            r
            for r in self.requests
            if _matches(pattern, regex, r.target) and (method is None or r.method == method)
        ]

    def count(self, pattern: str, method: str | None = None) -> int:
        return len(self.requests_to(pattern, method))

    def clear_requests(self) -> None:
        self.requests.clear()

    # auth

    def revoke_spartan_tokens(self, *tokens: str) -> None:
        """Make Halo answer 401 for these tokens (all, static included, when none given)."""
        for token in tokens or list(self.spartan_tokens):
            self.spartan_tokens.pop(token, None)

    def allow_spartan_token(self, token: str, expires_at: datetime | None = None) -> None:
        self.spartan_tokens[token] = expires_at or NEVER

    def kill_refresh_tokens(self, *tokens: str) -> None:
        """Refresh tokens (all when none given) now answer ``invalid_grant``."""
        for token in tokens or list(self.refresh_tokens):
            self.refresh_tokens.discard(token)
            self.dead_refresh_tokens.add(token)

    def revoke_access_tokens(self) -> None:
        """Xbox user authentication now refuses every Microsoft access token issued so far."""
        self.access_tokens.clear()

    @property
    def valid_spartan_tokens(self) -> list[str]:
        now = _now()
        return [t for t, exp in self.spartan_tokens.items() if exp > now]

    def _spartan_ok(self, token: str | None) -> bool:
        if not token:
            return False
        expires = self.spartan_tokens.get(token)
        return expires is not None and expires > _now()

    def _issue(self, kind: str, prefix: str) -> str:
        number = len(self.issued[kind]) + 1
        token = f"{prefix}-{number:04d}-{secrets.token_hex(8)}"
        self.issued[kind].append(token)
        return token

    # -- dispatch ----------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        raw_parts = request.rel_url.raw_path.split("/")[1:]
        host = unquote(raw_parts[0]).lower() if raw_parts else ""
        segments = [unquote(part) for part in raw_parts[1:]]
        path = "/" + "/".join(segments)
        body = await request.read()
        query = {k: v for k, v in request.rel_url.query.items()}
        if host == "_admin":
            return await self._admin(request, path, query, body)
        headers = {k.lower(): v for k, v in request.headers.items()}
        self.requests.append(
            RecordedRequest(request.method, host, path, query, headers, body, time.monotonic())
        )
        req = _Req(request, request.method, host, path, query, headers, body)

        fault = next((f for f in self.faults if f.matches(f"{host}{path}")), None)
        if fault is not None:
            fault.hits += 1
            log.debug("FakeHalo: fault %r on %s %s%s", fault.pattern, request.method, host, path)
            if fault.delay:
                await asyncio.sleep(fault.delay)
            if fault.hang:
                await self._release.wait()
                return _empty(504)
            if fault.disconnect:
                if request.transport is not None:
                    request.transport.close()
                return _empty(500)
            response = self._fault_response(fault)
            if response is None:
                response = await self._route(req)
            if fault.truncate:
                return await self._truncated(request, response)
            return response
        return await self._route(req)

    @staticmethod
    def _fault_response(fault: Fault) -> web.Response | None:
        if fault.wrong_shape:
            return _json(WRONG_SHAPE, status=fault.status or 200)
        if (
            fault.status is None
            and fault.body is None
            and fault.retry_after is None
            and fault.location is None
        ):
            return None
        headers: dict[str, str] = {}
        if fault.location is not None:
            headers["Location"] = fault.location
            status = fault.status or 302
        else:
            status = fault.status or (429 if fault.retry_after is not None else 200)
        if fault.retry_after is not None:
            headers["Retry-After"] = f"{fault.retry_after:g}"
        if fault.body is not None:
            return web.Response(status=status, body=fault.body, headers=headers)
        return _json({"message": f"injected fault: HTTP {status}"}, status=status, headers=headers)

    @staticmethod
    async def _truncated(request: web.Request, response: web.StreamResponse) -> web.StreamResponse:
        body = response.body if isinstance(response, web.Response) else None
        data = body if isinstance(body, bytes) else b'{"truncated": "answer"}'
        if len(data) < 2:
            data = b'{"truncated": "answer"}'
        out = web.StreamResponse(status=response.status)
        out.content_type = response.content_type or "application/json"
        out.content_length = len(data)
        await out.prepare(request)
        await out.write(data[: len(data) // 2])
        if request.transport is not None:
            request.transport.close()
        return out

    async def _route(self, req: _Req) -> web.StreamResponse:
        if (
            req.host in HALO_HOSTS
            and self.require_spartan
            and not (req.host == SETTINGS_HOST and req.path.lower() == "/spartan-token")
            and not self._spartan_ok(req.headers.get(SPARTAN_HEADER))
        ):
            return _empty(401)
        path_matched = False
        for method, host, pattern, handler in self._routes:
            if host != req.host:
                continue
            match = pattern.match(req.path)
            if match is None:
                continue
            path_matched = True
            if method == req.method:
                return await handler(req, match)
        return _empty(405 if path_matched else 404)

    def _route_add(self, method: str, host: str, pattern: str, handler: Handler) -> None:
        self._routes.append((method, host, re.compile(pattern, re.IGNORECASE), handler))

    def _register_routes(self) -> None:
        add = self._route_add
        # Microsoft login (MSAL).
        openid = r"^/(?P<tenant>[^/]+)/v2\.0/\.well-known/openid-configuration$"
        add("GET", LOGIN_HOST, openid, self._openid)
        add("GET", LOGIN_HOST, r"^/common/discovery/instance$", self._instance_discovery)
        add("POST", LOGIN_HOST, r"^/(?P<tenant>[^/]+)/oauth2/v2\.0/devicecode$", self._devicecode)
        add("POST", LOGIN_HOST, r"^/(?P<tenant>[^/]+)/oauth2/v2\.0/token$", self._token)
        # Xbox.
        add("POST", XBOX_USER_HOST, r"^/user/authenticate$", self._xbox_user)
        add("POST", XSTS_HOST, r"^/xsts/authorize$", self._xsts)
        # Halo settings.
        add("POST", SETTINGS_HOST, r"^/spartan-token$", self._spartan)
        add(
            "GET",
            SETTINGS_HOST,
            r"^/oban/flight-configurations/titles/hi/audiences/[^/]+(/players/[^/]+)?/active$",
            self._clearance,
        )
        # Profile.
        add("GET", PROFILE_HOST, r"^/users/gt\((?P<gamertag>.*)\)$", self._user_by_gamertag)
        add("GET", PROFILE_HOST, r"^/users/me$", self._user_me)
        add("GET", PROFILE_HOST, r"^/users/(xuid\()?(?P<xuid>\d{1,16})\)?$", self._user_by_xuid)
        add("GET", PROFILE_HOST, r"^/users$", self._users)
        # Stats.
        player = r"^/hi/players/(?P<player>[^/]+)"
        add("GET", STATS_HOST, player + r"/matchmade/servicerecord$", self._service_record)
        add("GET", STATS_HOST, player + r"/matches$", self._match_history)
        add("GET", STATS_HOST, player + r"/matches/count$", self._match_count)
        add("GET", STATS_HOST, r"^/hi/matches/(?P<match>[^/]+)/stats$", self._match_stats)
        # Skill.
        add("GET", SKILL_HOST, r"^/hi/playlist/(?P<playlist>[^/]+)/csrs$", self._playlist_csr)
        add("GET", SKILL_HOST, r"^/hi/matches/(?P<match>[^/]+)/skill$", self._match_skill)
        # Economy.
        tracks = player + r"/rewardtracks"
        add("GET", ECONOMY_HOST, tracks + r"/operations$", self._operations)
        add("GET", ECONOMY_HOST, tracks + r"/operations/(?P<track>[^/]+)$", self._operation)
        add("GET", ECONOMY_HOST, tracks + r"/events/(?P<track>[^/]+)$", self._event)
        add("GET", ECONOMY_HOST, tracks + r"/careerranks/careerrank1$", self._career_rank)
        add("GET", ECONOMY_HOST, player + r"/customization$", self._customization)
        # gamecms-hacs (paths are case-insensitive).
        add("GET", GAMECMS_HOST, r"^/hi/.*$", self._gamecms)
        # Discovery.
        add(
            "GET",
            DISCOVERY_HOST,
            r"^/hi/playlists/(?P<asset>[^/]+)/versions/(?P<version>[^/]+)$",
            self._discovery_playlist,
        )

    # -- Microsoft login ---------------------------------------------------------------

    async def _openid(self, req: _Req, m: re.Match[str]) -> web.StreamResponse:
        base = f"https://{LOGIN_HOST}/{m['tenant']}"
        return _json(
            {
                "token_endpoint": f"{base}/oauth2/v2.0/token",
                "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
                "issuer": f"https://{LOGIN_HOST}/{CONSUMERS_TENANT_ID}/v2.0",
                "token_endpoint_auth_methods_supported": ["client_secret_post", "none"],
                "response_types_supported": ["code", "id_token", "code id_token"],
                "scopes_supported": ["openid", "profile", "email", "offline_access"],
                "tenant_region_scope": None,
            }
        )

    async def _instance_discovery(self, req: _Req, m: re.Match[str]) -> web.StreamResponse:
        return _json(
            {
                "tenant_discovery_endpoint": (
                    f"https://{LOGIN_HOST}/consumers/v2.0/.well-known/openid-configuration"
                ),
                "api-version": "1.1",
                "metadata": [
                    {
                        "preferred_network": LOGIN_HOST,
                        "preferred_cache": "login.windows.net",
                        "aliases": [LOGIN_HOST, "login.windows.net", "login.microsoft.com"],
                    }
                ],
            }
        )

    async def _devicecode(self, req: _Req, m: re.Match[str]) -> web.StreamResponse:
        form = req.form()
        if not form.get("client_id"):
            return _oauth_error("invalid_request", "AADSTS900144: client_id is missing.")
        device_code = self._issue("device_code", "fake-device-code")
        user_code = f"FAKE{len(self.issued['device_code']):04d}"
        self.device_codes[device_code] = {
            "client_id": form["client_id"],
            "scope": form.get("scope", ""),
            "polls": 0,
        }
        uri = "https://www.microsoft.com/link"
        return _json(
            {
                "user_code": user_code,
                "device_code": device_code,
                "verification_uri": uri,
                "expires_in": 900,
                "interval": self.device_interval,
                "message": (
                    f"To sign in, use a web browser to open the page {uri} and enter the code "
                    f"{user_code} to authenticate."
                ),
            }
        )

    async def _token(self, req: _Req, m: re.Match[str]) -> web.StreamResponse:
        form = req.form()
        client_id = form.get("client_id", "")
        grant = form.get("grant_type", "")
        if grant == DEVICE_CODE_GRANT:
            state = self.device_codes.get(form.get("device_code", ""))
            if state is None:
                return _oauth_error("expired_token", "AADSTS70019: The code has expired.")
            if self.device_flow_outcome == "decline":
                return _oauth_error("authorization_declined", "AADSTS70000: Declined.")
            if self.device_flow_outcome == "expire":
                return _oauth_error("expired_token", "AADSTS70019: The code has expired.")
            if state["polls"] < self.device_pending_polls:
                state["polls"] += 1
                return _oauth_error("authorization_pending", "AADSTS70016: Pending.")
            del self.device_codes[form["device_code"]]
            return self._token_answer(client_id, state["scope"] or form.get("scope", ""))
        if grant == "refresh_token":
            token = form.get("refresh_token", "")
            if token not in self.refresh_tokens:
                return _oauth_error(
                    "invalid_grant",
                    "AADSTS70000: The provided value for the input parameter 'refresh_token' "
                    "is not valid.",
                )
            return self._token_answer(client_id, form.get("scope", ""))
        return _oauth_error("unsupported_grant_type", "AADSTS70003: Unsupported grant type.")

    def _token_answer(self, client_id: str, scope: str) -> web.Response:
        now = _now()
        access = self._issue("access", "fake-msa-access")
        refresh = self._issue("refresh", "fake-msa-refresh")
        self.access_tokens[access] = now + timedelta(seconds=self.access_token_lifetime)
        self.refresh_tokens.add(refresh)
        reserved = {"openid", "profile", "offline_access"}
        granted = " ".join(s for s in scope.split() if s not in reserved)
        uid = "00000000-0000-0000-1234-56789abcdef0"
        claims = {
            "ver": "2.0",
            "iss": f"https://{LOGIN_HOST}/{CONSUMERS_TENANT_ID}/v2.0",
            "sub": "fake-subject",
            "aud": client_id,
            "exp": int(now.timestamp()) + 3600,
            "iat": int(now.timestamp()),
            "nbf": int(now.timestamp()),
            "name": "Halo Bot",
            "preferred_username": self.account_username,
            "oid": uid,
            "tid": CONSUMERS_TENANT_ID,
        }
        id_token = ".".join(
            [
                _b64url(b'{"alg":"none","typ":"JWT"}'),
                _b64url(json.dumps(claims).encode()),
                "",
            ]
        )
        client_info = _b64url(json.dumps({"uid": uid, "utid": CONSUMERS_TENANT_ID}).encode())
        return _json(
            {
                "token_type": "Bearer",
                "scope": granted,
                "expires_in": self.access_token_lifetime,
                "ext_expires_in": self.access_token_lifetime,
                "access_token": access,
                "refresh_token": refresh,
                "id_token": id_token,
                "client_info": client_info,
            }
        )

    # -- Xbox --------------------------------------------------------------------------

    async def _xbox_user(self, req: _Req, m: re.Match[str]) -> web.StreamResponse:
        data = req.json()
        if req.headers.get("x-xbl-contract-version") != "1" or not isinstance(data, dict):
            return _empty(400)
        props = data.get("Properties") or {}
        if (
            data.get("RelyingParty") != XBOX_RELYING_PARTY
            or data.get("TokenType") != "JWT"
            or not isinstance(props, dict)
            or props.get("AuthMethod") != "RPS"
            or props.get("SiteName") != XBOX_USER_HOST
        ):
            return _empty(400)
        ticket = str(props.get("RpsTicket", ""))
        access = ticket.removeprefix("d=")
        expires = self.access_tokens.get(access)
        if not ticket.startswith("d=") or expires is None or expires <= _now():
            return _empty(401)
        token = self._issue("user", "fake-xbl-user")
        self.user_tokens.add(token)
        now = _now()
        answer = fixture("recorded/xbox_user.json")
        answer.update(Token=token, IssueInstant=_iso(now), NotAfter=_iso(now + timedelta(days=14)))
        answer["DisplayClaims"]["xui"][0]["uhs"] = "fakeuserhash"
        return _json(answer)

    async def _xsts(self, req: _Req, m: re.Match[str]) -> web.StreamResponse:
        data = req.json()
        if req.headers.get("x-xbl-contract-version") != "1" or not isinstance(data, dict):
            return _empty(400)
        props = data.get("Properties") or {}
        relying_party = data.get("RelyingParty")
        if (
            not isinstance(props, dict)
            or data.get("TokenType") != "JWT"
            or props.get("SandboxId") != "RETAIL"
            or not isinstance(relying_party, str)
        ):
            return _empty(400)
        user_tokens = props.get("UserTokens") or []
        if not user_tokens or any(t not in self.user_tokens for t in user_tokens):
            return _empty(401)
        if self.xsts_error is not None:
            redirect = "https://start.ui.xboxlive.com/CreateAccount"
            return _json(
                {"Identity": "0", "XErr": self.xsts_error, "Message": "", "Redirect": redirect},
                status=401,
            )
        token = self._issue("xsts", "fake-xsts")
        self.xsts_tokens[token] = relying_party
        now = _now()
        answer = fixture("recorded/xsts_halo.json")
        answer.update(Token=token, IssueInstant=_iso(now), NotAfter=_iso(now + timedelta(hours=16)))
        claims = answer["DisplayClaims"]["xui"][0]
        claims.update(xid=str(self.bot_account.xuid), gtg=self.bot_account.gamertag)
        claims["uhs"] = "fakeuserhash"
        return _json(answer)

    # -- Halo settings -----------------------------------------------------------------

    async def _spartan(self, req: _Req, m: re.Match[str]) -> web.StreamResponse:
        data = req.json()
        if not isinstance(data, dict) or data.get("Audience") != "urn:343:s3:services":
            return _empty(400)
        proofs = data.get("Proof") or []
        if not isinstance(proofs, list) or not proofs:
            return _empty(400)
        proof = proofs[0]
        if not isinstance(proof, dict) or proof.get("TokenType") != "Xbox_XSTSv3":
            return _empty(400)
        if self.xsts_tokens.get(str(proof.get("Token"))) != HALO_RELYING_PARTY:
            return _empty(401)
        now = _now()
        expires = self.spartan_expires_at or now + self.spartan_lifetime
        if expires.tzinfo is None:
            expires = expires.replace(tzinfo=UTC)
        token = self._issue("spartan", "fake-spartan")
        self.spartan_tokens[token] = expires
        seconds = max(0, int((expires - now).total_seconds()))
        return _json(
            {
                "ExpiresUtc": {"ISO8601Date": expires.strftime("%Y-%m-%dT%H:%M:%SZ")},
                "SpartanToken": token,
                "TokenDuration": f"PT{seconds // 3600}H{seconds % 3600 // 60}M{seconds % 60}S",
            }
        )

    async def _clearance(self, req: _Req, m: re.Match[str]) -> web.StreamResponse:
        return _json({"FlightConfigurationId": self.clearance})

    # -- profile -----------------------------------------------------------------------

    async def _user_by_gamertag(self, req: _Req, m: re.Match[str]) -> web.StreamResponse:
        player = self.player_by_gamertag(m["gamertag"])
        if player is None:
            return _empty(404)
        return _json(player.profile())

    async def _user_me(self, req: _Req, m: re.Match[str]) -> web.StreamResponse:
        answer = fixture("recorded/get_user.json")
        answer.update(xuid=str(self.bot_account.xuid), gamertag=self.bot_account.gamertag)
        return _json(answer)

    async def _user_by_xuid(self, req: _Req, m: re.Match[str]) -> web.StreamResponse:
        player = self.players.get(int(m["xuid"]))
        return _empty(404) if player is None else _json(player.profile())

    async def _users(self, req: _Req, m: re.Match[str]) -> web.StreamResponse:
        raw = req.query.get("xuids", "")
        ids = [part.strip() for part in raw.split(",") if part.strip()]
        if not ids or any(not (part.isdigit() and len(part) <= 16) for part in ids):
            return _json({"message": "xuids must be a comma-separated list of XUIDs"}, 400)
        answer = []
        for part in dict.fromkeys(int(p) for p in ids):
            player = self.players.get(part)
            if player is not None:
                answer.append(player.profile())
        return _json(answer)

    # -- stats ---------------------------------------------------------------------------

    def _player(self, ref: str, *, xuid_only: bool = False) -> FakePlayer | None:
        match = XUID_RE.match(ref)
        if match:
            return self.players.get(int(match.group(1)))
        if xuid_only:
            return None
        return self.player_by_gamertag(ref)

    async def _service_record(self, req: _Req, m: re.Match[str]) -> web.StreamResponse:
        player = self._player(m["player"])
        if player is None:
            return _empty(404)
        return _json(copy.deepcopy(player.service_record))

    async def _match_history(self, req: _Req, m: re.Match[str]) -> web.StreamResponse:
        player = self._player(m["player"])
        if player is None:
            return _empty(404)
        try:
            start = max(0, int(req.query.get("start", "0")))
            count = min(25, max(1, int(req.query.get("count", "25"))))
        except ValueError:
            return _json({"message": "start and count must be numbers"}, 400)
        recorded = fixture("recorded/get_match_history.json")
        results = recorded["Results"] if player.has_matches else []
        page = results[start : start + count]
        return _json(
            {
                "Start": start,
                "Count": count,
                "ResultCount": len(page),
                "Results": page,
                "Links": recorded.get("Links", {}),
            }
        )

    async def _match_count(self, req: _Req, m: re.Match[str]) -> web.StreamResponse:
        player = self._player(m["player"])
        if player is None:
            return _empty(404)
        answer = fixture("recorded/get_match_count.json")
        if not player.has_matches:
            answer = {key: 0 for key in answer}
        return _json(answer)

    async def _match_stats(self, req: _Req, m: re.Match[str]) -> web.StreamResponse:
        if not GUID_RE.match(m["match"]):
            return _empty(404)
        answer = fixture("recorded/get_match_stats.json")
        answer["MatchId"] = m["match"]
        return _json(answer)

    # -- skill ---------------------------------------------------------------------------

    def _known_playlist(self, playlist: str) -> bool:
        key = playlist.lower()
        return (
            key in RANKED_PLAYLISTS
            or key in self.extra_playlists
            or any(p == key for _, p in self.csr)
        )

    async def _playlist_csr(self, req: _Req, m: re.Match[str]) -> web.StreamResponse:
        playlist = m["playlist"]
        if not GUID_RE.match(playlist):
            return _json({"message": "The playlist id is not valid."}, 400)
        if not self._known_playlist(playlist):
            return _empty(404)
        ids = [part.strip() for part in req.query.get("players", "").split(",")]
        if self.csr_batch_limit is not None and len(ids) > self.csr_batch_limit:
            return _json({"message": "Too many player ids."}, 400)
        xuids: list[int] = []
        for ref in ids:
            match = XUID_RE.match(ref)
            if match is None or int(match.group(1)) not in self.players:
                # Like the real service: one bad id fails the whole batch.
                return _json({"message": "One or more player ids are not valid."}, 400)
            xuids.append(int(match.group(1)))
        if not xuids:
            return _json({"message": "players is required."}, 400)
        return _json(
            {
                "Value": [
                    {"Id": f"xuid({x})", "ResultCode": 0, "Result": self.csr_for(x, playlist)}
                    for x in xuids
                    if x not in self.csr_omitted
                ]
            }
        )

    async def _match_skill(self, req: _Req, m: re.Match[str]) -> web.StreamResponse:
        if not GUID_RE.match(m["match"]):
            return _empty(404)
        return _json(fixture("recorded/get_match_skill.json"))

    # -- economy -------------------------------------------------------------------------

    async def _operations(self, req: _Req, m: re.Match[str]) -> web.StreamResponse:
        player = self._player(m["player"], xuid_only=True)
        if player is None:
            return _empty(404)
        return _json(copy.deepcopy(player.operations))

    async def _operation(self, req: _Req, m: re.Match[str]) -> web.StreamResponse:
        player = self._player(m["player"], xuid_only=True)
        if player is None:
            return _empty(404)
        track = m["track"].lower()
        for entry in player.operations.get("OperationRewardTracks") or []:
            if _track_id(str(entry.get("RewardTrackPath", ""))).lower() == track:
                progress = dict(entry.get("CurrentProgress") or {})
                is_owned = bool(entry.get("IsOwned", progress.get("IsOwned", False)))
                progress.setdefault("IsOwned", is_owned)
                return _json(
                    {
                        "RewardTrackPath": entry["RewardTrackPath"],
                        "TrackType": "Operation",
                        "CurrentProgress": progress,
                        "PreviousProgress": None,
                        "IsOwned": is_owned,
                        "BaseXp": None,
                        "BoostXp": None,
                    }
                )
        return _empty(404)

    async def _event(self, req: _Req, m: re.Match[str]) -> web.StreamResponse:
        player = self._player(m["player"], xuid_only=True)
        if player is None:
            return _empty(404)
        track = self._known_event(m["track"])
        if track is None:
            return _empty(404)
        key = (player.xuid, track.lower())
        if key in self.event_progress:
            rank = self.event_progress[key]
        elif track == "ritualWinterGiveaway":
            seed = fixture("from-seeds/economy_player_event_ritualWinter.json")
            rank = int(seed["CurrentProgress"]["Rank"])
        else:
            rank = 0
        max_rank = len(self._event_track(track)["Ranks"])
        return _json(
            {
                "RewardTrackPath": f"RewardTracks/Events/Rituals/{track}.json",
                "TrackType": "Event",
                "CurrentProgress": {
                    "Rank": rank,
                    "PartialProgress": 0,
                    "IsOwned": False,
                    "HasReachedMaxRank": rank >= max_rank,
                },
                "PreviousProgress": None,
                "IsOwned": False,
                "BaseXp": None,
                "BoostXp": None,
            }
        )

    async def _career_rank(self, req: _Req, m: re.Match[str]) -> web.StreamResponse:
        player = self._player(m["player"], xuid_only=True)
        if player is None:
            return _empty(404)
        answer = fixture("recorded/get_player_career_rank.json")
        if not player.has_matches:
            answer["CurrentProgress"] = {
                "Rank": 1,
                "PartialProgress": 0,
                "HasReachedMaxRank": False,
            }
        return _json(answer)

    async def _customization(self, req: _Req, m: re.Match[str]) -> web.StreamResponse:
        """Public customization (shape as in the Halo API notes): only ``view=public`` is
        served; the service tag is the one a test set (``set_service_tag``)."""
        if req.query.get("view", "").lower() != "public":
            return _empty(403)
        player = self._player(m["player"], xuid_only=True)
        if player is None:
            return _empty(404)
        if player.service_tag is None:
            return _empty(403)
        return _json(
            {
                "Appearance": {
                    "LastModifiedDateUtc": {"ISO8601Date": _iso(_now())},
                    "ActionPosePath": "Inventory/Spartan/ActionPoses/101-000-menu-stance-a.json",
                    "BackdropImagePath": "progression/backgrounds/forge_bg_1.png",
                    "Emblem": {
                        "EmblemPath": "Inventory/Spartan/Emblems/104-001-olympus-stuck-3d.json",
                        "ConfigurationId": -1529217786,
                    },
                    "ServiceTag": player.service_tag,
                    "IntroEmotePath": None,
                    "PlayerTitlePath": None,
                },
                "ArmorCores": {"ArmorCores": []},
                "WeaponCores": {"WeaponCores": []},
                "AiCores": {"AiCores": []},
                "VehicleCores": {"VehicleCores": []},
            }
        )

    # -- gamecms-hacs and discovery -----------------------------------------------------

    def _calendar(self) -> dict[str, Any]:
        override = self.files.get("/hi/progression/file/calendars/seasons/seasoncalendar.json")
        if override is not None:
            return override
        return fixture("from-seeds/gamecms_seasoncalendar.json")

    def _known_operations(self) -> dict[str, str]:
        names: dict[str, str] = {}
        paths = [s.get("OperationTrackPath", "") for s in self._calendar().get("Seasons", [])]
        for player in self.players.values():
            for entry in player.operations.get("OperationRewardTracks") or []:
                paths.append(entry.get("RewardTrackPath", ""))
        for p in paths:
            if p:
                names[_track_id(p).lower()] = _track_id(p)
        return names

    def _known_event(self, track: str) -> str | None:
        names = {t.lower(): t for t in EXTRA_EVENTS}
        for event in self._calendar().get("Events", []):
            tid = _track_id(str(event.get("RewardTrackPath", "")))
            names[tid.lower()] = tid
        for _, scripted in self.event_progress:
            names.setdefault(scripted, scripted)
        return names.get(track.lower())

    def _event_track(self, track: str) -> dict[str, Any]:
        answer = fixture("from-seeds/gamecms_rewardtrack_event_ritualOlympus.json")
        if track.lower() != "ritualolympus":
            answer["TrackId"] = track
            answer["Name"] = EXTRA_EVENTS.get(track, track)
        return answer

    def _playlist_name(self, asset: str) -> str | None:
        key = asset.lower()
        if key in RANKED_PLAYLISTS:
            return RANKED_PLAYLISTS[key]
        if key in self.extra_playlists:
            return self.extra_playlists[key]
        for player in self.players.values():
            ids = (player.service_record.get("Subqueries") or {}).get("PlaylistAssetIds") or []
            if key in (str(i).lower() for i in ids):
                return f"Playlist {asset[:8]}"
        return None

    async def _gamecms(self, req: _Req, m: re.Match[str]) -> web.StreamResponse:
        path = req.path.lower()
        headers = {"Cache-Control": "public, max-age=86400"}
        if path in self.files:
            return _json(copy.deepcopy(self.files[path]), headers=headers)
        answer = self._gamecms_file(path)
        if answer is None:
            return _empty(404)
        return _json(answer, headers=headers)

    def _gamecms_file(self, path: str) -> Any:
        prefix = "/hi/progression/file/"
        if path == prefix + "calendars/seasons/seasoncalendar.json":
            return self._calendar()
        if path == prefix + "csr/calendars/csrseasoncalendar.json":
            return fixture("recorded/get_csr_season_calendar.json")
        if path == prefix + "rewardtracks/careerranks/careerrank1.json":
            return fixture("recorded/get_career_reward_track.json")
        if path == "/hi/waypoint/file/medals/metadata.json":
            return fixture("recorded/get_medal_metadata.json")
        if match := re.match(prefix + r"rewardtracks/operations/([^/]+)\.json$", path):
            track = self._known_operations().get(match.group(1))
            if track is None:
                return None
            if track.lower() == "s07op01":
                return fixture("from-seeds/gamecms_rewardtrack_operation_S07Op01.json")
            answer = fixture("recorded/get_operation_reward_track.json")
            answer["TrackId"] = track
            return answer
        if match := re.match(prefix + r"rewardtracks/events/rituals/([^/]+)\.json$", path):
            track = self._known_event(match.group(1))
            return None if track is None else self._event_track(track)
        if match := re.match(prefix + r"seasons/([^/]+)\.json$", path):
            wanted = match.group(1)
            for season in self._calendar().get("Seasons", []):
                meta = str(season.get("SeasonMetadata", ""))
                name = _track_id(meta)
                if name.lower() == wanted:
                    answer = fixture("from-seeds/gamecms_season_Season7-Op1.json")
                    if name.lower() != "season7-op1":
                        answer["Name"] = name
                    return answer
            return None
        if match := re.match(r"^/hi/multiplayer/file/playlists/assets/([^/]+)\.json$", path):
            asset = match.group(1)
            name = self._playlist_name(asset)
            if name is None:
                return None
            return {
                "AssetId": asset,
                "VersionId": fixture("recorded/get_playlist.json")["VersionId"],
                "PublicName": name,
                "Description": f"{name} (fake)",
                "HasCsr": asset in RANKED_PLAYLISTS or asset in self.extra_playlists,
            }
        return None

    async def _discovery_playlist(self, req: _Req, m: re.Match[str]) -> web.StreamResponse:
        headers = {"Cache-Control": "public, max-age=18000"}
        override = self.discovery_files.get(req.path.lower())
        if override is not None:
            return _json(copy.deepcopy(override), headers=headers)
        name = self._playlist_name(m["asset"])
        if name is None or not GUID_RE.match(m["version"]):
            return _empty(404)
        answer = fixture("recorded/get_playlist.json")
        answer.update(AssetId=m["asset"].lower(), VersionId=m["version"].lower(), PublicName=name)
        return _json(answer, headers=headers)

    # -- admin API -----------------------------------------------------------------------

    async def _admin(
        self, request: web.Request, path: str, query: dict[str, str], body: bytes
    ) -> web.StreamResponse:
        """Controls for out-of-process tests. Every answer is JSON.

        - ``GET /_admin/health``; ``GET /_admin/state`` (players, faults, knobs, counts)
        - ``POST /_admin/reset``: everything back to defaults except issued tokens
        - ``POST /_admin/players`` ``{"xuid", "gamertag", "csr"?, "service_record"?}``;
          ``DELETE /_admin/players/{xuid}``
        - ``POST /_admin/csr`` ``{"xuid", "playlist"?, "value", "matches_remaining"?,
          "season_max"?, "all_time_max"?, "initial_matches"?}`` or
          ``{"xuid", "playlist", "result": {...}}``
        - ``POST /_admin/playlists`` ``{"asset_id", "name"}`` (another ranked playlist)
        - ``POST /_admin/event-progress`` ``{"xuid", "track", "rank"}``
        - ``POST /_admin/service-tag`` ``{"xuid", "tag"}`` (``tag`` null: customization private)
        - ``POST /_admin/files`` ``{"path", "json"}``: override a gamecms-hacs file
        - ``POST /_admin/discovery-files`` ``{"path", "json"}``: override a discovery answer
        - ``POST /_admin/faults``: the arguments of :meth:`fail` (``"body"`` is text);
          ``DELETE /_admin/faults``
        - ``GET /_admin/requests?pattern=&method=``; ``DELETE /_admin/requests``;
          ``GET /_admin/count?pattern=&method=``
        - ``POST /_admin/auth``: any of ``spartan_lifetime_seconds``, ``spartan_expires_at``
          (ISO 8601 or null), ``access_token_lifetime``, ``clearance``, ``xsts_error``,
          ``device_flow_outcome`` (approve/decline/expire), ``device_pending_polls``,
          ``require_spartan``, ``account_username``
        - ``POST /_admin/revoke`` ``{"spartan": bool, "access": bool, "refresh": bool}``
        - ``POST /_admin/release-hangs``
        """
        method = request.method
        try:
            data = json.loads(body) if body else {}
        except ValueError:
            return _json({"error": "body is not JSON"}, 400)
        if not isinstance(data, dict):
            return _json({"error": "body must be a JSON object"}, 400)
        try:
            return await self._admin_dispatch(method, path.rstrip("/") or "/", query, data)
        except (KeyError, TypeError, ValueError) as exc:
            return _json({"error": f"{exc.__class__.__name__}: {exc}"}, 400)

    async def _admin_dispatch(
        self, method: str, path: str, query: dict[str, str], data: dict[str, Any]
    ) -> web.StreamResponse:
        if (method, path) == ("GET", "/health"):
            return _json({"ok": True})
        if (method, path) == ("GET", "/state"):
            return _json(self.state())
        if (method, path) == ("POST", "/reset"):
            self.reset()
            return _json({"ok": True})
        if (method, path) == ("POST", "/players"):
            player = self.add_player(
                int(data["xuid"]),
                str(data["gamertag"]),
                csr=data.get("csr"),
                service_record=data.get("service_record", "full"),
            )
            return _json({"xuid": str(player.xuid), "gamertag": player.gamertag})
        if method == "DELETE" and path.startswith("/players/"):
            self.remove_player(int(path.rsplit("/", 1)[1]))
            return _json({"ok": True})
        if (method, path) == ("POST", "/csr"):
            xuid, playlist = int(data["xuid"]), str(data.get("playlist", RANKED_ARENA))
            if "result" in data:
                self.set_csr_result(xuid, playlist, data["result"])
                return _json(self.csr_for(xuid, playlist))
            result = self.set_csr(
                xuid,
                playlist,
                int(data["value"]),
                matches_remaining=int(data.get("matches_remaining", 0)),
                season_max=data.get("season_max"),
                all_time_max=data.get("all_time_max"),
                initial_matches=int(data.get("initial_matches", 5)),
            )
            return _json(result)
        if (method, path) == ("POST", "/csr-limits"):
            limit = data.get("batch_limit")
            self.csr_batch_limit = None if limit is None else int(limit)
            self.csr_omitted = {int(x) for x in data.get("omitted", [])}
            return _json({"ok": True})
        if (method, path) == ("POST", "/playlists"):
            self.add_playlist(str(data["asset_id"]), str(data["name"]))
            return _json({"ok": True})
        if (method, path) == ("POST", "/service-tag"):
            tag = data.get("tag")
            self.set_service_tag(int(data["xuid"]), None if tag is None else str(tag))
            return _json({"ok": True})
        if (method, path) == ("POST", "/event-progress"):
            self.set_event_progress(int(data["xuid"]), str(data["track"]), int(data["rank"]))
            return _json({"ok": True})
        if (method, path) == ("POST", "/files"):
            self.set_file(str(data["path"]), data["json"])
            return _json({"ok": True})
        if (method, path) == ("POST", "/discovery-files"):
            self.set_discovery_file(str(data["path"]), data["json"])
            return _json({"ok": True})
        if (method, path) == ("POST", "/faults"):
            body = data.get("body")
            fault = self.fail(
                str(data["pattern"]),
                status=data.get("status"),
                times=data.get("times", 1),
                retry_after=data.get("retry_after"),
                delay=float(data.get("delay", 0)),
                body=None if body is None else str(body).encode("utf-8"),
                hang=bool(data.get("hang", False)),
                truncate=bool(data.get("truncate", False)),
                wrong_shape=bool(data.get("wrong_shape", False)),
                disconnect=bool(data.get("disconnect", False)),
                location=data.get("location"),
            )
            return _json(fault.to_json())
        if (method, path) == ("DELETE", "/faults"):
            self.reset_faults()
            return _json({"ok": True})
        if path == "/requests" and method in ("GET", "DELETE"):
            if method == "DELETE":
                self.clear_requests()
                return _json({"ok": True})
            found = self._filtered(query)
            return _json([r.to_json() for r in found])
        if (method, path) == ("GET", "/count"):
            return _json({"count": len(self._filtered(query))})
        if (method, path) == ("POST", "/auth"):
            self._set_auth(data)
            return _json(self.state()["auth"])
        if (method, path) == ("POST", "/revoke"):
            if data.get("spartan"):
                self.revoke_spartan_tokens()
            if data.get("access"):
                self.revoke_access_tokens()
            if data.get("refresh"):
                self.kill_refresh_tokens()
            return _json({"ok": True})
        if (method, path) == ("POST", "/release-hangs"):
            self.release_hangs()
            return _json({"ok": True})
        return _json({"error": f"no admin endpoint {method} /_admin{path}"}, 404)

    def _filtered(self, query: dict[str, str]) -> list[RecordedRequest]:
        pattern = query.get("pattern", "")
        return self.requests_to(pattern, query.get("method")) if pattern else list(self.requests)

    def _set_auth(self, data: dict[str, Any]) -> None:
        if "spartan_lifetime_seconds" in data:
            self.spartan_lifetime = timedelta(seconds=float(data["spartan_lifetime_seconds"]))
        if "spartan_expires_at" in data:
            value = data["spartan_expires_at"]
            self.spartan_expires_at = None if value is None else datetime.fromisoformat(value)
        if "access_token_lifetime" in data:
            self.access_token_lifetime = int(data["access_token_lifetime"])
        if "clearance" in data:
            self.clearance = str(data["clearance"])
        if "xsts_error" in data:
            self.xsts_error = None if data["xsts_error"] is None else int(data["xsts_error"])
        if "device_flow_outcome" in data:
            if data["device_flow_outcome"] not in ("approve", "decline", "expire"):
                raise ValueError("device_flow_outcome must be approve, decline or expire")
            self.device_flow_outcome = data["device_flow_outcome"]
        if "device_pending_polls" in data:
            self.device_pending_polls = int(data["device_pending_polls"])
        if "require_spartan" in data:
            self.require_spartan = bool(data["require_spartan"])
        if "account_username" in data:
            self.account_username = str(data["account_username"])

    def state(self) -> dict[str, Any]:
        return {
            "players": [
                {"xuid": str(p.xuid), "gamertag": p.gamertag, "csr": p.csr}
                for p in self.players.values()
            ],
            "faults": [f.to_json() for f in self.faults],
            "requests": len(self.requests),
            "issued": {kind: len(tokens) for kind, tokens in self.issued.items()},
            "valid_spartan_tokens": len(self.valid_spartan_tokens),
            "auth": {
                "spartan_lifetime_seconds": self.spartan_lifetime.total_seconds(),
                "spartan_expires_at": (
                    None if self.spartan_expires_at is None else self.spartan_expires_at.isoformat()
                ),
                "access_token_lifetime": self.access_token_lifetime,
                "clearance": self.clearance,
                "xsts_error": self.xsts_error,
                "device_flow_outcome": self.device_flow_outcome,
                "device_pending_polls": self.device_pending_polls,
                "require_spartan": self.require_spartan,
                "account_username": self.account_username,
            },
        }


def known_players() -> Iterable[KnownPlayer]:
    """The players every fresh FakeHalo knows."""
    return (KnownPlayer(p.xuid, p.gamertag) for p in default_players())


# -- standalone ---------------------------------------------------------------------------


async def _serve(host: str, port: int) -> None:
    fake = FakeHalo(host=host, port=port)
    await fake.start()
    print(fake.base_url, flush=True)
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
        prog="python -m tests.fakes.halo_server",
        description="Run the fake Halo/Xbox/Microsoft upstream; prints its base URL.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port (default 0: a free one)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    asyncio.run(_serve(args.host, args.port))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
