"""The Discord fake driven by a real discord.py 2.7 bot, end to end over HTTP + gateway."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import sys
from collections.abc import AsyncIterator
from typing import cast

import aiohttp
import discord
import pytest
import yarl
from discord import app_commands
from discord.ext import commands
from discord.gateway import DiscordWebSocket

from bot.core.discord_http import ApiGatewayMixin
from tests.fakes.discord_server import (
    CB_AUTOCOMPLETE,
    CB_DEFERRED_MESSAGE,
    CB_MESSAGE,
    CB_UPDATE_MESSAGE,
    EPHEMERAL,
    FakeDiscord,
)
from tests.support.discord import (
    ANNOUNCE_CHANNEL_ID,
    GENERAL_CHANNEL_ID,
    GUILD_ID,
    OTHER_USER_ID,
    READONLY_CHANNEL_ID,
    TOKEN,
    USER_ID,
    running_bot,
    running_fake,
    world_spec,
)
from tests.support.paths import ROOT

REPO = ROOT
REPORT = b"CSR report\nNoble Six: Onyx 1510\n"
MAPS = [
    ("Live Fire", "live-fire"),
    ("Streets", "streets"),
    ("Recharge", "recharge"),
    ("Aquarius", "aquarius"),
]


class VoteView(discord.ui.View):
    def __init__(self) -> None:
        super().__init__(timeout=None)
        self.votes = 0

    @discord.ui.button(label="Yes", custom_id="vote:yes", style=discord.ButtonStyle.success)
    async def yes(
        self, interaction: discord.Interaction, button: discord.ui.Button[VoteView]
    ) -> None:
        self.votes += 1
        await interaction.response.edit_message(content=f"Votes: {self.votes}", view=self)


class DemoCog(commands.Cog):
    stats = app_commands.Group(name="stats", description="Player stats")

    @app_commands.command(name="ping", description="Deferred pong with an embed")
    @app_commands.describe(note="Echoed in the embed")
    async def ping(self, interaction: discord.Interaction, note: str | None = None) -> None:
        await interaction.response.defer(thinking=True)
        embed = discord.Embed(title="Pong", description=note or "no note", colour=0x00FF00)
        embed.add_field(name="Latency", value="fast", inline=True)
        embed.add_field(name="User", value=interaction.user.name, inline=True)
        await interaction.followup.send(embed=embed)

    @app_commands.command(name="fail", description="Always answers with an ephemeral error")
    async def fail(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message("Something went wrong.", ephemeral=True)

    @app_commands.command(name="pick", description="Pick a map")
    async def pick(self, interaction: discord.Interaction, map_name: str) -> None:
        await interaction.response.send_message(f"You picked {map_name}")

    @pick.autocomplete("map_name")
    async def pick_map(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return [
            app_commands.Choice(name=name, value=slug)
            for name, slug in MAPS
            if current.lower() in name.lower()
        ]

    @stats.command(name="csr", description="Show a player's CSR")
    @app_commands.choices(
        playlist=[
            app_commands.Choice(name="Ranked Arena", value="ranked"),
            app_commands.Choice(name="Ranked Slayer", value="slayer"),
        ]
    )
    async def csr(
        self, interaction: discord.Interaction, player: discord.User, playlist: str = "ranked"
    ) -> None:
        kind = type(player).__name__
        await interaction.response.send_message(f"{player.display_name} ({kind}) in {playlist}")

    @app_commands.command(name="post", description="Post a report to a channel")
    async def post(self, interaction: discord.Interaction, channel: discord.TextChannel) -> None:
        embed = discord.Embed(title="Report").set_image(url="attachment://report.txt")
        try:
            msg = await channel.send(
                embed=embed, file=discord.File(io.BytesIO(REPORT), filename="report.txt")
            )
        except discord.Forbidden as exc:
            await interaction.response.send_message(
                f"Cannot post there: {exc.text}", ephemeral=True
            )
            return
        await interaction.response.send_message(f"Posted {msg.id}", ephemeral=True)

    @app_commands.command(name="vote", description="A message with a button")
    async def vote(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message("Votes: 0", view=VoteView())

    @app_commands.command(name="ops", description="Typical REST calls of a cog")
    async def ops(self, interaction: discord.Interaction) -> None:
        assert interaction.guild is not None
        await interaction.response.defer(ephemeral=True, thinking=True)
        loading = await interaction.original_response()
        channel = await interaction.client.fetch_channel(GENERAL_CHANNEL_ID)
        member = await interaction.guild.fetch_member(OTHER_USER_ID)
        roles = await interaction.guild.fetch_roles()
        user = await interaction.client.fetch_user(OTHER_USER_ID)
        dm = await user.send("hello in DM")
        await interaction.followup.send("step 1", ephemeral=True)
        extra = await interaction.followup.send("extra", ephemeral=True, wait=True)
        await extra.edit(content="extra edited")
        await extra.delete()
        assert isinstance(channel, discord.TextChannel)
        await interaction.edit_original_response(
            content=f"{channel.name}|{member.display_name}|{len(roles)}|{dm.channel.id}|"
            f"loading={loading.flags.loading}"
        )
        tree = cast(commands.Bot, interaction.client).tree
        commands_ = await tree.fetch_commands(guild=interaction.guild)
        await interaction.followup.send(f"commands={len(commands_)}", ephemeral=True)


class FeedbackModal(discord.ui.Modal, title="Feedback"):
    text: discord.ui.TextInput[FeedbackModal] = discord.ui.TextInput(
        label="Your feedback", custom_id="feedback:text"
    )

    async def on_submit(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(f"Thanks: {self.text.value}", ephemeral=True)


class ModalCog(commands.Cog):
    @app_commands.command(name="feedback", description="Opens a modal")
    async def feedback(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_modal(FeedbackModal())


class DemoBot(ApiGatewayMixin, commands.Bot):
    """Test-only bot: default intents, one cog, commands synced to the test guild."""

    def __init__(
        self, *, sync_guild: int | None = GUILD_ID, intents: discord.Intents | None = None
    ) -> None:
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=intents or discord.Intents.default(),
            help_command=None,
        )
        self.sync_guild = sync_guild
        self.resumed = asyncio.Event()

    async def setup_hook(self) -> None:
        await self.add_cog(DemoCog())
        await self.add_cog(ModalCog())
        if self.sync_guild is not None:
            guild = discord.Object(id=self.sync_guild)
            self.tree.copy_global_to(guild=guild)
            await self.tree.sync(guild=guild)

    async def on_resumed(self) -> None:
        self.resumed.set()

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        # discord.py sleeps 5 s before every re-IDENTIFY (identify rate limit); not needed here
        self.identifies = getattr(self, "identifies", 0) + 1


@pytest.fixture
async def bot(fake_discord: FakeDiscord) -> AsyncIterator[DemoBot]:
    demo = DemoBot()
    async with running_bot(demo, fake_discord):
        yield demo


# -- startup ---------------------------------------------------------------------------------


async def test_startup_uses_fake_rest_gateway_and_syncs(fake_discord: FakeDiscord) -> None:
    stock_gateway = DiscordWebSocket.DEFAULT_GATEWAY
    demo = DemoBot()
    async with running_bot(demo, fake_discord):
        # discord.py asked the fake for everything it needs to log in and connect
        ok = {(r.method, r.path) for r in fake_discord.requests if r.status == 200}
        assert ("GET", "/users/@me") in ok
        assert ("GET", "/oauth2/applications/@me") in ok
        assert ("GET", "/gateway/bot") in ok
        assert yarl.URL(fake_discord.gateway_url) == DiscordWebSocket.DEFAULT_GATEWAY

        (identify,) = fake_discord.gateway_events("identify")
        assert identify.path == "/gateway"
        assert identify.query == {"v": "10", "encoding": "json", "compress": "zlib-stream"}
        assert identify.data["intents"] == discord.Intents.default().value

        assert demo.user is not None and demo.user.id == fake_discord.bot.id
        assert demo.application_id == fake_discord.application_id
        guild = demo.get_guild(GUILD_ID)
        assert guild is not None and guild.name == "Halo Test Guild"
        assert {c.name for c in guild.text_channels} == {"general", "announcements", "read-only"}
        assert guild.me.guild_permissions.send_messages
        assert not guild.me.guild_permissions.administrator

        synced = {c["name"]: c for c in fake_discord.synced_commands(GUILD_ID)}
        assert set(synced) == {"ping", "fail", "pick", "stats", "post", "vote", "ops", "feedback"}
        (map_option,) = synced["pick"]["options"]
        assert map_option["autocomplete"] is True
        assert fake_discord.command_syncs[-1]["method"] == "PUT"
        assert fake_discord.synced_commands() == []  # nothing global
    assert stock_gateway == DiscordWebSocket.DEFAULT_GATEWAY
    assert demo.is_closed()


# -- interactions ----------------------------------------------------------------------------


async def test_deferred_followup_embed(fake_discord: FakeDiscord, bot: DemoBot) -> None:
    rec = await fake_discord.invoke("ping", {"note": "hello"}, user_id=OTHER_USER_ID)
    await rec.wait_final()

    assert rec.payload["data"]["guild_id"] == str(GUILD_ID)  # a guild command
    assert [c.type for c in rec.callbacks] == [CB_DEFERRED_MESSAGE]
    assert rec.deferred and not rec.deferred_ephemeral
    (followup,) = rec.followups
    (embed,) = followup.embeds
    assert embed["title"] == "Pong"
    assert embed["description"] == "hello"
    assert embed["color"] == 0x00FF00
    assert [(f["name"], f["value"]) for f in embed["fields"]] == [
        ("Latency", "fast"),
        ("User", "noble6"),
    ]
    final = rec.final_message()
    assert (
        final is not None and final["id"] == rec.original["id"]
    )  # resolved the "thinking" message
    assert final["embeds"][0]["title"] == "Pong"
    assert not rec.is_ephemeral()


async def test_ephemeral_error(fake_discord: FakeDiscord, bot: DemoBot) -> None:
    rec = await fake_discord.invoke("fail")
    await rec.wait_final()

    (callback,) = rec.callbacks
    assert callback.type == CB_MESSAGE
    assert callback.flags & EPHEMERAL
    assert rec.is_ephemeral()
    assert rec.content() == "Something went wrong."
    assert not rec.followups


async def test_autocomplete_then_invoke(fake_discord: FakeDiscord, bot: DemoBot) -> None:
    rec = await fake_discord.autocomplete("pick", {"map_name": "AR"}, focused="map_name")
    await rec.wait_final()
    assert rec.type == 4
    assert [c.type for c in rec.callbacks] == [CB_AUTOCOMPLETE]
    assert rec.autocomplete_choices == [
        {"name": "Recharge", "value": "recharge"},
        {"name": "Aquarius", "value": "aquarius"},
    ]

    chosen = await fake_discord.invoke("pick", {"map_name": "recharge"})
    await chosen.wait_final()
    assert chosen.content() == "You picked recharge"
    assert not chosen.is_ephemeral()


async def test_subcommand_with_resolved_member(fake_discord: FakeDiscord, bot: DemoBot) -> None:
    rec = await fake_discord.invoke("stats csr", {"player": OTHER_USER_ID, "playlist": "slayer"})
    await rec.wait_final()
    assert rec.name == "stats csr"
    # the option resolved to a guild Member (resolved.members + resolved.users)
    assert rec.content() == "Noble Six (Member) in slayer"

    with pytest.raises(ValueError, match="choices"):
        fake_discord.build_command_interaction("stats csr", {"player": USER_ID, "playlist": "swat"})
    with pytest.raises(ValueError, match="missing required"):
        fake_discord.build_command_interaction("stats csr", {"playlist": "ranked"})
    with pytest.raises(LookupError, match="not synced"):
        fake_discord.build_command_interaction("nope")


async def test_dm_invocation(fake_discord: FakeDiscord) -> None:
    demo = DemoBot(sync_guild=None)  # nothing synced: the fake infers option types
    async with running_bot(demo, fake_discord):
        rec = await fake_discord.invoke("fail", guild_id=None)
        await rec.wait_final()
    assert "guild_id" not in rec.payload and rec.payload["context"] == 1
    assert rec.payload["user"]["id"] == str(USER_ID)
    assert rec.is_ephemeral()


async def test_button_click_updates_message(fake_discord: FakeDiscord, bot: DemoBot) -> None:
    rec = await fake_discord.invoke("vote")
    await rec.wait_final()
    (callback,) = rec.callbacks
    assert callback.type == CB_MESSAGE
    assert callback.message is not None
    assert callback.message["components"][0]["components"][0]["custom_id"] == "vote:yes"

    click = await fake_discord.click(callback, "vote:yes", user_id=OTHER_USER_ID)
    await click.wait_final()
    assert [c.type for c in click.callbacks] == [CB_UPDATE_MESSAGE]
    assert click.content() == "Votes: 1"
    assert rec.original is not None and rec.original["content"] == "Votes: 1"  # edited in place

    again = await fake_discord.click(rec.original["id"], "vote:yes")
    await again.wait_final()
    assert again.content() == "Votes: 2"


async def test_channel_post_multipart_and_permissions(
    fake_discord: FakeDiscord, bot: DemoBot
) -> None:
    rec = await fake_discord.invoke("post", {"channel": ANNOUNCE_CHANNEL_ID})
    await rec.wait_final()
    assert rec.content() is not None and rec.content().startswith("Posted ")
    (sent,) = fake_discord.channel_messages(ANNOUNCE_CHANNEL_ID)
    assert sent.embeds[0]["image"]["url"] == "attachment://report.txt"
    (upload,) = sent.files
    assert (upload.filename, upload.data) == ("report.txt", REPORT)
    assert sent.message is not None
    assert rec.content() == f"Posted {sent.message['id']}"
    (attachment,) = sent.message["attachments"]
    async with aiohttp.ClientSession() as session, session.get(attachment["url"]) as resp:
        assert resp.status == 200
        assert await resp.read() == REPORT

    denied = await fake_discord.invoke("post", {"channel": READONLY_CHANNEL_ID})
    await denied.wait_final()
    assert denied.is_ephemeral()
    assert denied.content() == "Cannot post there: Missing Permissions"
    assert fake_discord.channel_messages(READONLY_CHANNEL_ID) == []
    assert fake_discord.channel_messages(GENERAL_CHANNEL_ID) == []


async def test_typical_rest_operations(fake_discord: FakeDiscord, bot: DemoBot) -> None:
    rec = await fake_discord.invoke("ops")
    await rec.wait_until(lambda r: len(r.followups) == 3, what="three followups")

    assert rec.deferred_ephemeral
    first, extra, last = rec.followups
    assert rec.original is not None
    assert first.message_id == int(rec.original["id"])  # resolved the loading message
    assert extra.message_id != first.message_id and extra.ephemeral
    assert [e.payload.get("content") for e in rec.edits] == [
        "extra edited",
        rec.original["content"],
    ]
    assert rec.deleted == [extra.message_id]
    dm = fake_discord.dm_channel(OTHER_USER_ID)
    # @everyone, the bot's managed role and Admin
    assert rec.original["content"] == f"general|Noble Six|3|{dm.id}|loading=True"
    assert [m.content for m in fake_discord.channel_messages(dm.id)] == ["hello in DM"]
    assert last.content == rec.content() == "commands=8"
    assert [m["content"] for m in rec.visible_messages()] == [
        rec.original["content"],
        "commands=8",
    ]
    assert all(rec.is_ephemeral(m) for m in rec.visible_messages())
    assert fake_discord.requests_to("GET", r"/messages/@original$")[0].status == 200


async def test_modal_submit(fake_discord: FakeDiscord, bot: DemoBot) -> None:
    rec = await fake_discord.invoke("feedback")
    await rec.wait_final()
    assert rec.modal is not None and rec.modal["title"] == "Feedback"

    submitted = await fake_discord.submit_modal(rec, {"feedback:text": "great bot"})
    await submitted.wait_final()
    assert submitted.type == 5
    assert submitted.content() == "Thanks: great bot"
    assert submitted.is_ephemeral()


async def test_members_intent_chunks_the_guild(fake_discord: FakeDiscord) -> None:
    intents = discord.Intents.default()
    intents.members = True
    demo = DemoBot(intents=intents)
    async with running_bot(demo, fake_discord):
        guild = demo.get_guild(GUILD_ID)
        assert guild is not None and guild.chunked
        assert {m.name for m in guild.members} == {"HaloStats", "tester", "admin", "noble6"}
    (identify,) = fake_discord.gateway_events("identify")
    assert identify.data["intents"] & (1 << 1)


async def test_disallowed_privileged_intent_stops_the_bot() -> None:
    async with running_fake(allowed_intents=0) as fake:
        intents = discord.Intents.default()
        intents.message_content = True
        with pytest.raises(discord.PrivilegedIntentsRequired):
            async with running_bot(DemoBot(intents=intents), fake):
                pass
        (close,) = fake.gateway_events("close")
        assert close.data == {"by": "server", "code": 4014, "reason": "Disallowed intent(s)"}
        assert fake.gateway_events("identify") == []


async def test_late_callback_is_unknown_interaction(
    fake_discord: FakeDiscord, bot: DemoBot
) -> None:
    fake_discord.interaction_timeout = 0.0  # Discord allows 3 s; here every answer is late
    rec = await fake_discord.invoke("fail")
    await rec.wait_until(lambda r: bool(r.errors), what="a rejected callback")
    (error,) = rec.errors
    assert error.status == 404 and error.error == {"message": "Unknown interaction", "code": 10062}
    assert rec.callbacks == [] and not rec.is_final


# -- faults and gateway ----------------------------------------------------------------------


async def test_followup_429_is_retried(fake_discord: FakeDiscord, bot: DemoBot) -> None:
    fault = fake_discord.fail("POST", r"^/webhooks/\d+/[^/]+$", status=429, retry_after=0.2)
    rec = await fake_discord.invoke("ping")
    await rec.wait_final()

    assert fault.hits == 1
    statuses = [r.status for r in fake_discord.requests_to("POST", r"^/webhooks/")]
    assert statuses == [429, 200]
    assert [e.status for e in rec.errors] == [429]
    (followup,) = rec.followups
    assert followup.embeds[0]["title"] == "Pong"


async def test_channel_post_429_and_500_are_retried(
    fake_discord: FakeDiscord, bot: DemoBot
) -> None:
    limited = fake_discord.fail("POST", r"^/channels/\d+/messages$", status=429, retry_after=0.1)
    rec = await fake_discord.invoke("post", {"channel": GENERAL_CHANNEL_ID})
    await rec.wait_final()
    assert limited.hits == 1
    assert len(fake_discord.channel_messages(GENERAL_CHANNEL_ID)) == 1

    broken = fake_discord.fail("POST", r"^/channels/\d+/messages$", status=500)
    rec = await fake_discord.invoke("post", {"channel": GENERAL_CHANNEL_ID})
    await rec.wait_final()
    assert broken.hits == 1
    assert len(fake_discord.channel_messages(GENERAL_CHANNEL_ID)) == 2
    statuses = [r.status for r in fake_discord.requests_to("POST", r"^/channels/\d+/messages$")]
    assert statuses == [429, 200, 500, 200]


async def test_gateway_disconnect_and_resume(fake_discord: FakeDiscord, bot: DemoBot) -> None:
    await fake_discord.disconnect_gateway(hold=True)
    # dispatched while the bot is away: replayed on RESUME
    missed = await fake_discord.invoke("fail")
    assert not missed.callbacks
    fake_discord.release_gateway()
    await fake_discord.wait_gateway("resume")
    await missed.wait_final()
    assert missed.is_ephemeral()
    await asyncio.wait_for(bot.resumed.wait(), timeout=10)

    (resume,) = fake_discord.gateway_events("resume")
    assert resume.path == "/gateway/resume"  # READY's resume_gateway_url
    assert resume.data["replayed"] >= 1
    assert len(fake_discord.gateway_events("identify")) == 1

    rec = await fake_discord.invoke("ping", {"note": "after resume"})
    await rec.wait_final()
    assert rec.followups[0].embeds[0]["description"] == "after resume"


async def test_invalid_session_reidentifies_against_fake(
    fake_discord: FakeDiscord, bot: DemoBot
) -> None:
    await fake_discord.invalidate_session(resumable=False)
    await fake_discord.wait_gateway("identify", count=2)
    second = fake_discord.gateway_events("identify")[1]
    assert bot.identifies == 2  # the hook ran for the initial and the new IDENTIFY
    # discord.py falls back to DiscordWebSocket.DEFAULT_GATEWAY here: it must be the fake
    assert second.path == "/gateway"
    assert second.session_id != fake_discord.gateway_events("identify")[0].session_id

    rec = await fake_discord.invoke("fail")
    await rec.wait_final(timeout=15)
    assert rec.is_ephemeral()


async def test_plain_text_gateway_frames(fake_discord: FakeDiscord) -> None:
    fake_discord.transport_compression = False
    demo = DemoBot()
    async with running_bot(demo, fake_discord):
        rec = await fake_discord.invoke("fail")
        await rec.wait_final()
    assert rec.is_ephemeral()
    assert demo.is_closed()


# -- the fake on its own ---------------------------------------------------------------------


async def test_rest_errors_are_discord_shaped() -> None:
    async with running_fake() as fake, aiohttp.ClientSession() as http:
        auth = {"Authorization": f"Bot {TOKEN}"}
        async with http.get(f"{fake.api_base}/users/@me") as resp:
            assert resp.status == 401
        async with http.get(f"{fake.api_base}/no/such/route", headers=auth) as resp:
            assert resp.status == 404
            assert await resp.json() == {"message": "Unknown", "code": 0}
        assert fake.unknown_routes == ["GET /api/v10/no/such/route"]
        with pytest.raises(AssertionError, match="unknown route"):
            fake.assert_healthy()

        url = f"{fake.api_base}/channels/{GENERAL_CHANNEL_ID}/messages"
        async with http.post(url, headers=auth, json={"embeds": [{"title": "x" * 300}]}) as resp:
            body = await resp.json()
            assert resp.status == 400 and body["code"] == 50035
            assert body["errors"]["embeds"]["0"]["title"]["_errors"][0]["code"] == (
                "BASE_TYPE_MAX_LENGTH"
            )
        async with http.post(url, headers=auth, json={"content": ""}) as resp:
            assert resp.status == 400 and (await resp.json())["code"] == 50006
        async with http.post(
            f"{fake.api_base}/channels/{READONLY_CHANNEL_ID}/messages",
            headers=auth,
            json={"content": "x"},
        ) as resp:
            assert resp.status == 403 and (await resp.json())["code"] == 50013

        fake.fail("GET", r"^/gateway/bot$", status=429, retry_after=1.5, is_global=True)
        async with http.get(f"{fake.api_base}/gateway/bot", headers=auth) as resp:
            assert resp.status == 429
            assert await resp.json() == {
                "message": "You are being rate limited.",
                "retry_after": 1.5,
                "global": True,
            }
            assert resp.headers["Via"]
            assert resp.headers["X-RateLimit-Remaining"] == "0"
            assert resp.headers["X-RateLimit-Reset-After"] == "1.500"
        async with http.get(f"{fake.api_base}/gateway/bot", headers=auth) as resp:
            assert resp.status == 200
            assert (await resp.json())["url"] == fake.gateway_url


async def test_guild_added_after_connect_is_sent(fake_discord: FakeDiscord, bot: DemoBot) -> None:
    waiter = asyncio.create_task(bot.wait_for("guild_join", timeout=10))
    new_guild = 1_300_000_000_000_020_000
    await fake_discord.join_guild(new_guild, "Second Guild", channels=[{"name": "lobby"}])
    joined = await waiter
    assert joined.id == new_guild
    guild = bot.get_guild(new_guild)
    assert guild is not None and [c.name for c in guild.text_channels] == ["lobby"]


# -- out of process --------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def standalone_fake() -> AsyncIterator[str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.fakes.discord_server",
        "--port",
        "0",
        "--token",
        TOKEN,
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), timeout=30)
        yield line.decode().strip()
    finally:
        if proc.returncode is None:
            proc.terminate()
        await asyncio.wait_for(proc.wait(), timeout=30)


async def test_standalone_admin_api_drives_a_bot() -> None:
    async with standalone_fake() as api_base, aiohttp.ClientSession() as http:
        admin = str(yarl.URL(api_base).with_path("/_admin"))
        async with http.get(f"{admin}/health") as resp:
            assert (await resp.json())["api_base"] == api_base
        # the same world as in-process tests, through the admin API
        async with http.post(f"{admin}/guilds", json=world_spec()) as resp:
            assert resp.status == 200
            assert [c["name"] for c in (await resp.json())["channels"]][:2] == [
                "general",
                "announcements",
            ]

        demo = DemoBot()
        async with running_bot(demo, api_base):
            async with http.post(
                f"{admin}/invoke",
                json={"name": "ping", "options": {"note": "remote"}, "wait": True},
            ) as resp:
                assert resp.status == 200, await resp.text()
                record = await resp.json()
            assert record["final"] and record["deferred"]
            assert record["followups"][0]["payload"]["embeds"][0]["description"] == "remote"
            assert record["final_message"]["embeds"][0]["title"] == "Pong"

            async with http.post(
                f"{admin}/faults",
                json={"method": "POST", "path": "^/webhooks/", "retry_after": 0.1},
            ) as resp:
                assert resp.status == 200
            async with http.post(f"{admin}/invoke", json={"name": "ping", "wait": True}) as resp:
                assert (await resp.json())["final"]
            async with http.get(f"{admin}/faults") as resp:
                assert [f["hits"] for f in await resp.json()] == [1]

            async with http.post(f"{admin}/gateway/disconnect", json={}) as resp:
                assert resp.status == 200
            async with http.get(f"{admin}/gateway", params={"wait": "resume"}) as resp:
                assert resp.status == 200
            async with http.post(f"{admin}/invoke", json={"name": "fail", "wait": True}) as resp:
                record = await resp.json()
            assert record["callbacks"][0]["data"]["flags"] == EPHEMERAL

        app_id = demo.application_id
        async with http.get(f"{admin}/requests") as resp:
            paths = {(r["method"], r["path"]) for r in await resp.json()}
        assert ("GET", "/gateway/bot") in paths
        assert ("PUT", f"/applications/{app_id}/guilds/{GUILD_ID}/commands") in paths
        async with http.get(f"{admin}/unknown_routes") as resp:
            assert await resp.json() == []
        async with http.get(f"{admin}/state") as resp:
            state = await resp.json()
        assert state["internal_errors"] == []
        assert json.dumps(state)  # serialisable
