"""A real bot process with METRICS_PORT and LOG_FORMAT=json: /metrics scraped over HTTP after
a /csr, /healthz while connected and after the fake Discord goes away, JSON log lines."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import socket
from pathlib import Path

import aiohttp

from tests.fakes.discord_server import FakeDiscord
from tests.fakes.halo_server import NOBLE_SIX, STATIC_SPARTAN_TOKEN, FakeHalo
from tests.support.discord import TOKEN, USER_ID
from tests.support.processes import start_bot


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def sample(metrics: str, name: str, **labels: str) -> float:
    """The value of one sample in Prometheus text (0.0 when absent)."""
    wanted = ",".join(f'{k}="{v}"' for k, v in labels.items())
    pattern = re.escape(name) + (r"\{" + re.escape(wanted) + r"\}" if labels else "")
    match = re.search(rf"^{pattern} (\S+)$", metrics, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


async def get(session: aiohttp.ClientSession, url: str) -> tuple[int, str]:
    async with session.get(url) as resp:
        return resp.status, await resp.text()


async def test_metrics_health_and_json_logs_of_a_running_bot(
    fakes: tuple[FakeDiscord, FakeHalo], tmp_path: Path
) -> None:
    discord, halo = fakes
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    bot = await start_bot(
        discord,
        halo,
        tmp_path,
        METRICS_PORT=str(port),
        METRICS_HOST="127.0.0.1",
        LOG_FORMAT="json",
    )
    try:
        async with aiohttp.ClientSession() as http:
            for _ in range(100):
                status, body = await get(http, f"{base}/healthz")
                if status == 200:
                    break
                await asyncio.sleep(0.1)
            assert (status, body) == (200, "ok\n")

            rec = await discord.invoke("csr", {"player": NOBLE_SIX.gamertag}, user_id=USER_ID)
            await rec.wait_final(timeout=20)
            await rec.wait_until(lambda r: r.latest_message() is not None, timeout=20)
            assert rec.embeds(), rec.summary()
            for _ in range(50):  # the completion event runs right after the reply
                status, metrics = await get(http, f"{base}/metrics")
                if sample(metrics, "discord_interactions_total", command="/csr", outcome="ok"):
                    break
                await asyncio.sleep(0.1)
            assert status == 200
            assert sample(metrics, "discord_interactions_total", command="/csr", outcome="ok") == 1
            rec = await discord.invoke("csr", {"player": "Nobody Here 404"}, user_id=USER_ID)
            await rec.wait_until(lambda r: r.latest_message() is not None, timeout=20)
            for _ in range(50):
                _, metrics = await get(http, f"{base}/metrics")
                if sample(
                    metrics, "discord_interactions_total", command="/csr", outcome="user_error"
                ):
                    break
                await asyncio.sleep(0.1)
            assert (
                sample(metrics, "discord_interactions_total", command="/csr", outcome="user_error")
                == 1
            )
            ok = r'^halo_requests_total\{host="([^"]+)",status="200"\} (\S+)$'
            by_host = {h: float(v) for h, v in re.findall(ok, metrics, re.MULTILINE)}
            assert by_host.get("skill.svc.halowaypoint.com", 0) >= 1, metrics
            assert by_host.get("profile.svc.halowaypoint.com", 0) >= 1, metrics
            every = r"^halo_requests_total\{[^}]*\} (\S+)$"
            sent = sum(float(v) for v in re.findall(every, metrics, re.MULTILINE))
            assert sent == len(halo.requests)  # every request that reached Halo, counted once
            assert sample(metrics, "halo_cache_lookups_total", result="miss") >= 1
            assert "halo_limiter_wait_seconds_count" in metrics
            assert "rank_cycle_duration_seconds_count" in metrics
            assert "announcements_posted_total" in metrics
            assert sample(metrics, "discord_shards_connected") == 1
            assert 0 <= sample(metrics, "discord_gateway_latency_seconds") < 5

            await discord.close()  # Discord goes away: gateway closed, REST refused
            for _ in range(100):
                status, body = await get(http, f"{base}/healthz")
                if status == 503:
                    break
                await asyncio.sleep(0.1)
            assert (status, body) == (503, "gateway: not connected\n")
            _, metrics = await get(http, f"{base}/metrics")
            assert sample(metrics, "discord_shards_connected") == 0
            await asyncio.sleep(0.5)  # discord.py's first reconnect attempt (refused) is logged
    finally:
        code = await bot.stop(signal.SIGTERM)
    log = bot.stderr.decode()
    assert code == 0, log
    tracebacks = [line for line in log.splitlines() if "Traceback" in line]
    assert not tracebacks, tracebacks[0][:3000] if tracebacks else ""
    entries = [json.loads(line) for line in log.splitlines()]  # every line is one JSON object
    assert all({"time", "level", "logger", "message"} <= set(e) for e in entries)
    messages = [e["message"] for e in entries]
    assert any(m.startswith("Metrics on http://127.0.0.1:") for m in messages)
    assert "Stopped cleanly" in messages
    # discord.py's reconnect after Discord went away: one line with the cause, no traceback
    assert any(
        m.startswith("Attempting a reconnect") and m.endswith("(connection refused)")
        for m in messages
    ), messages
    assert TOKEN not in log and STATIC_SPARTAN_TOKEN not in log
