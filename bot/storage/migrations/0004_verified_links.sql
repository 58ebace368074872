-- 0004: proven ownership of linked accounts.
-- Applied inside one transaction by bot.storage.database. Plain portable SQL.
--
-- A member proves they own the XUID they linked by setting a code as their Halo service
-- tag (/link, then the Verify button): linked_accounts.verified_at. Only one member at a
-- time holds a XUID verified. An admin may also vouch for a member in one server
-- (/config link): guild_verified_links, source 'admin'.
--
-- Existing links: a link made before this migration counts as verified by an admin in
-- every server that tracked it at the time (source 'migration'), so no server loses its
-- announcements, rank roles or leaderboard on upgrade; /config show says how many.

ALTER TABLE linked_accounts ADD COLUMN verified_at TEXT;

-- 1 (default): in this server only verified links are announced, get rank roles and
-- appear on the leaderboard.
ALTER TABLE guild_settings ADD COLUMN require_verified INTEGER NOT NULL DEFAULT 1
    CHECK (require_verified IN (0, 1));

-- A link an admin vouched for in one server (or one carried over by this migration).
-- The XUID is kept: the vouching is for that account, not for whatever the member links
-- next.
CREATE TABLE guild_verified_links (
    guild_id    INTEGER NOT NULL,
    user_id     INTEGER NOT NULL REFERENCES linked_accounts (user_id) ON DELETE CASCADE,
    xuid        TEXT    NOT NULL,
    source      TEXT    NOT NULL CHECK (source IN ('admin', 'migration')),
    verified_by INTEGER,
    verified_at TEXT    NOT NULL,
    PRIMARY KEY (guild_id, user_id)
);

CREATE INDEX guild_verified_links_xuid ON guild_verified_links (guild_id, xuid);
CREATE INDEX guild_verified_links_user ON guild_verified_links (user_id);

-- The code a member must set as their service tag; one at a time per member.
CREATE TABLE link_codes (
    user_id    INTEGER PRIMARY KEY REFERENCES linked_accounts (user_id) ON DELETE CASCADE,
    xuid       TEXT    NOT NULL,
    code       TEXT    NOT NULL,
    created_at TEXT    NOT NULL,
    checks     INTEGER NOT NULL DEFAULT 0 CHECK (checks >= 0)
);

INSERT INTO guild_verified_links (guild_id, user_id, xuid, source, verified_by, verified_at)
    SELECT t.guild_id, t.user_id, a.xuid, 'migration', NULL, a.linked_at
    FROM tracked_members AS t JOIN linked_accounts AS a ON a.user_id = t.user_id;
