-- 0005 (PostgreSQL): the twin of 0004_rank_cycle_leases.sql. Instances claim units with
-- SELECT ... FOR UPDATE SKIP LOCKED (bot.storage.cycle_leases).
-- Applied inside one transaction by bot.storage.database.

-- One row per cycle: the instance that started it and when.
CREATE TABLE rank_cycles (
    number     BIGINT PRIMARY KEY,
    units      INTEGER NOT NULL CHECK (units >= 1),
    started_by TEXT COLLATE "C" NOT NULL,
    started_at TEXT COLLATE "C" NOT NULL
);

-- One row per work unit of a cycle: who holds it, until when, and when it was done.
CREATE TABLE rank_cycle_units (
    cycle       BIGINT  NOT NULL REFERENCES rank_cycles (number) ON DELETE CASCADE,
    unit        INTEGER NOT NULL CHECK (unit >= 0),
    holder      TEXT COLLATE "C",  -- NULL: nobody took it yet
    lease_until TEXT COLLATE "C",  -- the holder's claim runs out then (UTC ISO text)
    done_at     TEXT COLLATE "C",  -- NULL until its players were checked
    PRIMARY KEY (cycle, unit)
);
