-- 0004 (PostgreSQL): the twin of 0004_verified_links.sql (proven ownership of linked
-- accounts; see that file for what each table means and how existing links carry over).
-- Applied inside one transaction by bot.storage.database.

ALTER TABLE linked_accounts ADD COLUMN verified_at TEXT COLLATE "C";

ALTER TABLE guild_settings ADD COLUMN require_verified INTEGER NOT NULL DEFAULT 1
    CHECK (require_verified IN (0, 1));

CREATE TABLE guild_verified_links (
    guild_id    BIGINT NOT NULL,
    user_id     BIGINT NOT NULL REFERENCES linked_accounts (user_id) ON DELETE CASCADE,
    xuid        TEXT COLLATE "C" NOT NULL,
    source      TEXT COLLATE "C" NOT NULL CHECK (source IN ('admin', 'migration')),
    verified_by BIGINT,
    verified_at TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (guild_id, user_id)
);

CREATE INDEX guild_verified_links_xuid ON guild_verified_links (guild_id, xuid);
CREATE INDEX guild_verified_links_user ON guild_verified_links (user_id);

CREATE TABLE link_codes (
    user_id    BIGINT PRIMARY KEY REFERENCES linked_accounts (user_id) ON DELETE CASCADE,
    xuid       TEXT COLLATE "C" NOT NULL,
    code       TEXT COLLATE "C" NOT NULL,
    created_at TEXT COLLATE "C" NOT NULL,
    checks     INTEGER NOT NULL DEFAULT 0 CHECK (checks >= 0)
);

INSERT INTO guild_verified_links (guild_id, user_id, xuid, source, verified_by, verified_at)
    SELECT t.guild_id, t.user_id, a.xuid, 'migration', NULL, a.linked_at
    FROM tracked_members AS t JOIN linked_accounts AS a ON a.user_id = t.user_id;
