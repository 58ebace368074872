"""The Prometheus metrics every layer may update (one line at the point where it happens).

They live here, in the bottom layer, so the Halo layer can count its requests without
importing :mod:`bot.core`. :mod:`bot.core.metrics` serves them at ``/metrics``.
Label values are bounded: hosts the bot talks to, HTTP statuses, command names.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

HALO_REQUESTS = Counter(
    "halo_requests",
    "HTTP requests sent to Halo and its sign-in hosts, by host and status (0: no answer).",
    ["host", "status"],
)
LIMITER_WAIT = Histogram(
    "halo_limiter_wait_seconds",
    "Time requests spent waiting for the global Halo rate limiter (or a 429 pause).",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
CACHE_LOOKUPS = Counter(
    "halo_cache_lookups",
    "Halo lookups answered from the cache (hit) or sent upstream (miss).",
    ["result"],
)
INTERACTIONS = Counter(
    "discord_interactions",
    "Slash commands run, by command and outcome (ok, user_error, error).",
    ["command", "outcome"],
)
RANK_CYCLE_SECONDS = Histogram(
    "rank_cycle_duration_seconds",
    "How long one rank-announcement cycle took.",
    buckets=(0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0),
)
RANK_CYCLE_PLAYERS = Gauge("rank_cycle_players", "Players checked by the last rank cycle.")
ANNOUNCEMENTS_POSTED = Counter("announcements_posted", "Rank-change announcements posted.")
GATEWAY_LATENCY = Gauge(
    "discord_gateway_latency_seconds", "Last heartbeat round trip to Discord's gateway."
)
SHARDS_CONNECTED = Gauge("discord_shards_connected", "Gateway shards connected right now.")


def observe_cycle(seconds: float, players: int) -> None:
    """Record one finished rank cycle."""
    RANK_CYCLE_SECONDS.observe(seconds)
    RANK_CYCLE_PLAYERS.set(players)
