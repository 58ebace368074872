-- 0003: rank roles. A server maps CSR tiers to its roles; the rank cycle gives each
-- tracked member the role of their tier in one playlist and takes the others back.
-- Applied inside one transaction by bot.storage.database.

-- Which playlist's tier decides the role (NULL = Ranked Arena), and why the bot could
-- not manage the roles at its last try (shown by /config show; NULL = no problem).
ALTER TABLE guild_settings ADD COLUMN rank_role_playlist TEXT;
ALTER TABLE guild_settings ADD COLUMN role_problem TEXT;

-- One row per mapped tier; several tiers may share a role.
CREATE TABLE rank_roles (
    guild_id INTEGER NOT NULL,
    tier     TEXT    NOT NULL
             CHECK (tier IN ('Bronze', 'Silver', 'Gold', 'Platinum', 'Diamond', 'Onyx')),
    role_id  INTEGER NOT NULL,
    PRIMARY KEY (guild_id, tier)
) WITHOUT ROWID;

-- Roles the bot gave, so it takes back only what it gave and calls Discord only
-- when something changes.
CREATE TABLE rank_role_grants (
    guild_id   INTEGER NOT NULL,
    user_id    INTEGER NOT NULL,
    role_id    INTEGER NOT NULL,
    granted_at TEXT    NOT NULL,
    PRIMARY KEY (guild_id, user_id, role_id)
) WITHOUT ROWID;
