-- 0005: the rank cycle split into leased work units, so several bot instances sharing a
-- database check each tracked player once per cycle (bot.storage.cycle_leases).
-- Applied inside one transaction by bot.storage.database. (A SQLite file has one bot
-- process, which holds every unit; the tables exist so both engines share one history.)

-- One row per cycle: the instance that started it and when.
CREATE TABLE rank_cycles (
    number     INTEGER PRIMARY KEY,
    units      INTEGER NOT NULL CHECK (units >= 1),
    started_by TEXT    NOT NULL,
    started_at TEXT    NOT NULL
);

-- One row per work unit of a cycle: who holds it, until when, and when it was done.
CREATE TABLE rank_cycle_units (
    cycle       INTEGER NOT NULL REFERENCES rank_cycles (number) ON DELETE CASCADE,
    unit        INTEGER NOT NULL CHECK (unit >= 0),
    holder      TEXT,     -- NULL: nobody took it yet
    lease_until TEXT,     -- the holder's claim runs out then (UTC ISO text)
    done_at     TEXT,     -- NULL until its players were checked
    PRIMARY KEY (cycle, unit)
) WITHOUT ROWID;
