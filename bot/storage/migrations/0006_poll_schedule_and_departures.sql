-- 0006: adaptive rank polling, and servers the bot was removed from.
-- Applied inside one transaction by bot.storage.database. Portable SQL (no SQLite-only
-- syntax): plain tables, a composite primary key and an index.

-- When each tracked player is next checked in each ranked playlist: last_active is
-- their last rank change (or lookup, or first check), interval_seconds the wait chosen
-- at the last check (about as long as they have been quiet, at most an hour), next_due
-- when that wait ends. A missing row means "due now".
CREATE TABLE poll_schedule (
    xuid             TEXT    NOT NULL,
    playlist_id      TEXT    NOT NULL,
    last_active      TEXT    NOT NULL,
    interval_seconds INTEGER NOT NULL CHECK (interval_seconds >= 0),
    next_due         TEXT    NOT NULL,
    PRIMARY KEY (xuid, playlist_id)
);

CREATE INDEX poll_schedule_due ON poll_schedule (playlist_id, next_due);

-- Servers the bot was removed from (GUILD_DELETE without "unavailable"): their tracked
-- members are not polled any more, and their data is deleted after a grace period
-- unless the bot is invited back first.
CREATE TABLE departed_guilds (
    guild_id INTEGER PRIMARY KEY,
    left_at  TEXT    NOT NULL
);
