-- 0002: gamertag <-> XUID cache, recent lookups, and indexes for maintenance queries.
-- Applied inside one transaction by bot.storage.database.

-- Known players. gamertag_folded is str.casefold() of gamertag, unique so a
-- gamertag (in any letter case) maps to exactly one XUID.
CREATE TABLE known_players (
    xuid            TEXT PRIMARY KEY CHECK (xuid <> '' AND xuid NOT GLOB '*[^0-9]*'),
    gamertag        TEXT NOT NULL CHECK (gamertag <> ''),
    gamertag_folded TEXT NOT NULL UNIQUE,
    updated_at      TEXT NOT NULL
);

-- Who looked up whom, for autocomplete; one row per (guild, user, player).
-- No foreign key to known_players: a lookup survives the player's gamertag changing.
CREATE TABLE player_lookups (
    guild_id     INTEGER NOT NULL,
    user_id      INTEGER NOT NULL,
    xuid         TEXT    NOT NULL,
    looked_up_at TEXT    NOT NULL,
    PRIMARY KEY (guild_id, user_id, xuid)
);

CREATE INDEX player_lookups_recent ON player_lookups (guild_id, looked_up_at);

-- Finding every account of one XUID (gamertag renames).
CREATE INDEX linked_accounts_xuid ON linked_accounts (xuid);

-- Pruning old history and finished announcements.
CREATE INDEX rank_snapshots_taken_at ON rank_snapshots (taken_at);
CREATE INDEX announcements_finished ON announcements (status, updated_at);
