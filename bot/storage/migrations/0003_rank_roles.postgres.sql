-- 0003 (PostgreSQL): the twin of 0003_rank_roles.sql.
-- Applied inside one transaction by bot.storage.database.

-- Which playlist's tier decides the role (NULL = Ranked Arena), and why the bot could
-- not manage the roles at its last try (shown by /config show; NULL = no problem).
ALTER TABLE guild_settings ADD COLUMN rank_role_playlist TEXT COLLATE "C";
ALTER TABLE guild_settings ADD COLUMN role_problem TEXT COLLATE "C";

-- One row per mapped tier; several tiers may share a role.
CREATE TABLE rank_roles (
    guild_id BIGINT NOT NULL,
    tier     TEXT COLLATE "C" NOT NULL
             CHECK (tier IN ('Bronze', 'Silver', 'Gold', 'Platinum', 'Diamond', 'Onyx')),
    role_id  BIGINT NOT NULL,
    PRIMARY KEY (guild_id, tier)
);

-- Roles the bot gave, so it takes back only what it gave and calls Discord only
-- when something changes.
CREATE TABLE rank_role_grants (
    guild_id   BIGINT NOT NULL,
    user_id    BIGINT NOT NULL,
    role_id    BIGINT NOT NULL,
    granted_at TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (guild_id, user_id, role_id)
);
