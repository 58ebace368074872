"""Several real bot processes sharing one PostgreSQL schema, one shard each.

The fake Discord (``shard_count``) routes each server's events to the process running
the shard ``(guild_id >> 22) % SHARD_COUNT``; the fake Halo answers everyone. Each
process logs to a file of its own (a pipe nobody reads would fill and stall it).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg

from tests.e2e.accounts.verifying import code_of, reply_of, verify_button
from tests.fakes.discord_server import ADMINISTRATOR, FakeDiscord, InteractionRecord
from tests.fakes.halo_server import RANKED_ARENA, FakeHalo
from tests.support.discord import TOKEN
from tests.support.paths import ROOT
from tests.support.processes import bot_env, spawn_cli

SHARD_COUNT = 3
POLL_SECONDS = 2
BASE_GUILD = 1_300_000_000_000_020_000
#: A Diamond 3 start and an Onyx finish: one tier_up each.
START_CSR = 1325
CHANGED_CSR = 1510


def guild_on_shard(shard: int, count: int = SHARD_COUNT, offset: int = 0) -> int:
    """A plausible server id whose events go to ``shard``."""
    gid = BASE_GUILD + offset * (count << 22)
    while (gid >> 22) % count != shard:
        gid += 1 << 22
    return gid


@dataclass
class Server:
    """One test server: an announce channel, an admin and members who link players."""

    guild_id: int
    shard: int
    channel_id: int
    admin_id: int
    members: list[int]


@dataclass
class Player:
    xuid: int
    gamertag: str
    user_id: int
    server: Server


@dataclass
class Instance:
    shard: int
    proc: asyncio.subprocess.Process
    log: Path

    @property
    def pid(self) -> int:
        return self.proc.pid

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    async def stop(self, sig: int = signal.SIGTERM, timeout: float = 20) -> int:  # noqa: ASYNC109
        if self.proc.returncode is None:
            self.proc.send_signal(sig)
        return await asyncio.wait_for(self.proc.wait(), timeout)


@dataclass
class Cluster:
    discord: FakeDiscord
    halo: FakeHalo
    pg_url: str
    tmp_path: Path
    servers: list[Server]
    players: list[Player]
    instances: dict[int, Instance] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)

    # -- processes ----------------------------------------------------------------------

    async def start(self, shard: int, timeout: float = 30) -> Instance:  # noqa: ASYNC109
        """Start the process of ``shard`` and wait until it is connected and ready."""
        server = self.servers[shard]
        folder = self.tmp_path / f"instance{shard}"
        folder.mkdir(exist_ok=True)
        runs = len(list(folder.glob("bot*.log")))
        log = folder / f"bot{runs}.log"
        settings = {
            "DATABASE_URL": self.pg_url,
            "SHARD_COUNT": str(SHARD_COUNT),
            "SHARD_IDS": str(shard),
            "DISCORD_DEV_GUILD_ID": str(server.guild_id),
            "RANK_POLL_SECONDS": str(POLL_SECONDS),
            "HALO_REQUESTS_PER_SECOND": "100",
            "GUILD_COMMANDS_PER_MINUTE": "1000",
        }
        env = bot_env(self.discord, self.halo, folder, **(settings | self.env))
        env["PYTHONPATH"] = str(ROOT)
        with log.open("wb") as out:
            proc = await spawn_cli(folder, env, "run", stdout=out, stderr=asyncio.subprocess.STDOUT)
        instance = Instance(shard, proc, log)
        self.instances[shard] = instance
        try:
            await self._until(
                lambda: "Connected as" in instance.log_text() or proc.returncode is not None,
                timeout,
            )
            if proc.returncode is not None:
                raise AssertionError(f"instance {shard} exited:\n{instance.log_text()[-3000:]}")
            await self._until(lambda: bool(self.discord.synced_commands(server.guild_id)), 10)
        except BaseException:
            await instance.stop(signal.SIGKILL)
            raise
        return instance

    async def stop_all(self) -> None:
        for instance in self.instances.values():
            with contextlib.suppress(Exception):
                await instance.stop()

    def logs(self) -> str:
        return "\n".join(
            f"--- instance {shard}\n{inst.log_text()[-4000:]}"
            for shard, inst in sorted(self.instances.items())
        )

    @staticmethod
    async def _until(predicate: Any, timeout: float) -> None:  # noqa: ASYNC109
        for _ in range(int(timeout / 0.05)):
            if predicate():
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"timed out after {timeout}s")

    async def until(self, predicate: Any, what: str, timeout: float = 20) -> None:  # noqa: ASYNC109
        try:
            await self._until(predicate, timeout)
        except AssertionError:
            raise AssertionError(f"timed out waiting for {what}\n{self.logs()}") from None

    # -- Discord ------------------------------------------------------------------------

    async def invoke(
        self, name: str, options: dict[str, Any], *, server: Server, user_id: int
    ) -> InteractionRecord:
        rec = await self.discord.invoke(name, options, guild_id=server.guild_id, user_id=user_id)
        await rec.wait_final(timeout=15)
        await rec.wait_until(lambda r: r.latest_message() is not None, timeout=15, what="a reply")
        return rec

    async def set_up_servers(self) -> None:
        """Every server's announce channel, and every player linked by its member."""
        for server in self.servers:
            rec = await self.invoke(
                "config announce-channel",
                {"channel": server.channel_id},
                server=server,
                user_id=server.admin_id,
            )
            assert rec.final_message()["embeds"][0]["title"] == "Announcement channel set"
        for player in self.players:
            await self.link_verified(player)

    async def link_verified(self, player: Player) -> None:
        """/link, set the code as the player's service tag, press Verify: the way a member
        proves the account is theirs (only verified links are announced by default)."""
        rec = await self.invoke(
            "link", {"gamertag": player.gamertag}, server=player.server, user_id=player.user_id
        )
        reply = reply_of(rec)
        assert reply["embeds"][0]["title"] == "Account linked", rec.summary()
        self.halo.set_service_tag(player.xuid, code_of(rec))
        press = await self.discord.click(
            reply, verify_button(rec)["custom_id"], user_id=player.user_id
        )
        await press.wait_final(timeout=15)
        await press.wait_until(lambda r: r.latest_message() is not None, timeout=15, what="a reply")
        assert press.final_message()["embeds"][0]["title"] == "Account verified", press.summary()

    def posts(self, server: Server) -> list[dict[str, Any]]:
        """Every announcement embed the bot posted in the server's channel."""
        return [
            embed
            for message in self.discord.channel_messages(server.channel_id)
            if message.kind == "channel"
            for embed in message.embeds
        ]

    # -- Halo and PostgreSQL ------------------------------------------------------------

    def csr_checks(self, since: int = 0) -> dict[int, int]:
        """How many times each player's Ranked Arena CSR was asked for (requests from
        index ``since`` of the fake Halo's log on)."""
        counts: dict[int, int] = {p.xuid: 0 for p in self.players}
        for request in self.halo.requests[since:]:
            if not request.path.endswith(f"/playlist/{RANKED_ARENA}/csrs"):
                continue
            for ref in request.query.get("players", "").split(","):
                xuid = int(ref.strip().removeprefix("xuid(").removesuffix(")"))
                if xuid in counts:
                    counts[xuid] += 1
        return counts

    async def query(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        conn = await asyncpg.connect(self.pg_url)
        try:
            return list(await conn.fetch(sql, *args))
        finally:
            await conn.close()

    async def baselined(self) -> bool:
        rows = await self.query(
            "SELECT COUNT(DISTINCT xuid) FROM rank_snapshots WHERE playlist_id = $1", RANKED_ARENA
        )
        return int(rows[0][0]) == len(self.players)

    async def wait_baselines(self, timeout: float = 30) -> None:  # noqa: ASYNC109
        for _ in range(int(timeout / 0.2)):
            if await self.baselined():
                return
            await asyncio.sleep(0.2)
        raise AssertionError(f"no baseline snapshot for every player\n{self.logs()}")


@contextlib.asynccontextmanager
async def running_cluster(
    tmp_path: Path, pg_url: str, *, players_per_server: int = 2, **env: str
) -> AsyncIterator[Cluster]:
    """Three servers (one per shard), their players, and one bot process per shard."""
    async with (
        FakeDiscord(token=TOKEN, shard_count=SHARD_COUNT) as discord,
        FakeHalo() as halo,
    ):
        servers: list[Server] = []
        players: list[Player] = []
        for shard in range(SHARD_COUNT):
            gid = guild_on_shard(shard)
            base = 1_300_000_000_000_030_000 + shard * 100
            role = base + 1
            server = Server(
                gid,
                shard,
                channel_id=base + 2,
                admin_id=base + 3,
                members=[base + 10 + i for i in range(players_per_server)],
            )
            discord.add_guild(
                gid,
                f"Shard {shard} server",
                channels=[{"id": base + 2, "name": "ranks"}, {"id": base + 4, "name": "general"}],
                roles=[{"id": role, "name": "Admin", "permissions": ADMINISTRATOR}],
                members=[
                    {"id": server.admin_id, "username": f"admin{shard}", "roles": [role]},
                    *({"id": m, "username": f"member{m % 1000}"} for m in server.members),
                ],
            )
            servers.append(server)
            for i, user_id in enumerate(server.members):
                xuid = 2533274800100000 + shard * 100 + i
                gamertag = f"Spartan S{shard}P{i}"
                halo.add_player(xuid, gamertag, csr=START_CSR)
                players.append(Player(xuid, gamertag, user_id, server))
        cluster = Cluster(discord, halo, pg_url, tmp_path, servers, players, env=dict(env))
        try:
            await asyncio.gather(*(cluster.start(shard) for shard in range(SHARD_COUNT)))
            yield cluster
        finally:
            await cluster.stop_all()
