# syntax=docker/dockerfile:1
# Halo Infinite stats for Discord. Build: docker build -t halo-bot .
# Run (see the README's Docker section):
#   docker run -d --name halo-bot --restart unless-stopped --env-file .env \
#     -v halo-data:/data halo-bot
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DATABASE_PATH=/data/bot.db \
    HALO_TOKEN_CACHE=/data/halo_token_cache.json \
    METRICS_PORT=8080 \
    METRICS_HOST=0.0.0.0 \
    MPLCONFIGDIR=/tmp/matplotlib

WORKDIR /app

# 1. Dependencies only, pinned with hashes: this layer is rebuilt only when the lock changes.
COPY requirements.lock ./
RUN pip install --no-compile --require-hashes --no-deps -r requirements.lock

# 2. The bot itself, without its dependencies (pip fetches only the build backend).
COPY pyproject.toml README.md LICENSE ./
COPY bot ./bot
RUN pip install --no-compile --no-deps . \
    && useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin halo \
    && mkdir -p /data && chown halo:halo /data

USER halo
# The working directory is the volume: even a relative DATABASE_PATH or HALO_TOKEN_CACHE
# (e.g. data/bot.db from an old .env) lands in /data, never in the root-owned /app.
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + (os.environ.get('METRICS_PORT') or '8080') + '/healthz', timeout=4)"]
CMD ["halo-bot", "run"]
