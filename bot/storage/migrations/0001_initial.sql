-- 0001: initial schema.
-- Applied inside one transaction by bot.storage.database; do not add BEGIN/COMMIT
-- or PRAGMA user_version here. Times are UTC ISO-8601 text ("...T...Z", fixed width).

-- A Discord user linked to one Xbox account. XUIDs are canonical decimal strings.
CREATE TABLE linked_accounts (
    user_id   INTEGER PRIMARY KEY,
    xuid      TEXT    NOT NULL CHECK (xuid <> '' AND xuid NOT GLOB '*[^0-9]*'),
    gamertag  TEXT    NOT NULL CHECK (gamertag <> ''),
    linked_at TEXT    NOT NULL
);

-- Per-guild settings; a missing row means "all defaults".
CREATE TABLE guild_settings (
    guild_id               INTEGER PRIMARY KEY,
    announce_channel_id    INTEGER,
    playlists              TEXT,  -- JSON array of playlist ids, NULL = default ranked set
    trigger_tier_change    INTEGER NOT NULL DEFAULT 1 CHECK (trigger_tier_change IN (0, 1)),
    trigger_subtier_change INTEGER NOT NULL DEFAULT 0 CHECK (trigger_subtier_change IN (0, 1)),
    trigger_placement      INTEGER NOT NULL DEFAULT 1 CHECK (trigger_placement IN (0, 1)),
    trigger_season_high    INTEGER NOT NULL DEFAULT 0 CHECK (trigger_season_high IN (0, 1)),
    admin_role_id          INTEGER,
    channel_problem        TEXT,
    updated_at             TEXT    NOT NULL
);

-- A guild tracks a linked member; unlinking removes the tracking everywhere.
CREATE TABLE tracked_members (
    guild_id INTEGER NOT NULL,
    user_id  INTEGER NOT NULL REFERENCES linked_accounts (user_id) ON DELETE CASCADE,
    added_at TEXT    NOT NULL,
    PRIMARY KEY (guild_id, user_id)
) WITHOUT ROWID;

-- Child key index so the ON DELETE CASCADE does not scan the table.
CREATE INDEX tracked_members_user ON tracked_members (user_id);

-- Full CSR history, one row per observation.
CREATE TABLE rank_snapshots (
    id                INTEGER PRIMARY KEY,
    xuid              TEXT    NOT NULL,
    playlist_id       TEXT    NOT NULL,
    csr_season        TEXT,
    value             INTEGER NOT NULL CHECK (value >= -1),  -- -1 = unranked
    tier              TEXT    NOT NULL,
    sub_tier          INTEGER NOT NULL,
    matches_remaining INTEGER NOT NULL,
    season_max        INTEGER,
    all_time_max      INTEGER,
    taken_at          TEXT    NOT NULL
);

CREATE INDEX rank_snapshots_lookup ON rank_snapshots (xuid, playlist_id, taken_at);

-- Outbox of rank-change posts, keyed by an idempotency key.
CREATE TABLE announcements (
    key        TEXT    PRIMARY KEY,
    guild_id   INTEGER NOT NULL,
    channel_id INTEGER NOT NULL,
    payload    TEXT    NOT NULL,  -- JSON object
    status     TEXT    NOT NULL DEFAULT 'pending'
                       CHECK (status IN ('pending', 'sent', 'failed')),
    message_id INTEGER,
    failure    TEXT,
    created_at TEXT    NOT NULL,
    updated_at TEXT    NOT NULL
);

CREATE INDEX announcements_pending ON announcements (created_at) WHERE status = 'pending';
