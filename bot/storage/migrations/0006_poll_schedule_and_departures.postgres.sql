-- 0006 (PostgreSQL): the twin of 0006_poll_schedule_and_departures.sql (adaptive rank
-- polling, and servers the bot was removed from; see that file for what each table means).
-- Applied inside one transaction by bot.storage.database.

CREATE TABLE poll_schedule (
    xuid             TEXT COLLATE "C" NOT NULL,
    playlist_id      TEXT COLLATE "C" NOT NULL,
    last_active      TEXT COLLATE "C" NOT NULL,
    interval_seconds INTEGER NOT NULL CHECK (interval_seconds >= 0),
    next_due         TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (xuid, playlist_id)
);

CREATE INDEX poll_schedule_due ON poll_schedule (playlist_id, next_due);

CREATE TABLE departed_guilds (
    guild_id BIGINT PRIMARY KEY,
    left_at  TEXT COLLATE "C" NOT NULL
);
