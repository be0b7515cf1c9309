-- Shards across processes (issue 19): several processes may serve shard slices of one database
-- (SHARD_IDS), and exactly one of them runs the background work (news delivery, feed polling,
-- the quote of the day, the search index's upkeep, backups). It is chosen here: the process
-- holding the lease named 'background' renews it every few seconds; when it lapses (the holder
-- died or cannot write), another process takes it (bot/core/leadership.py).
--
-- holder: a random token per process start. holder_info: who that is, for people
-- ('pid 4242 on host, shards 0-1 of 4'). shard_count: the holder's SHARD_COUNT, so a process
-- started with another count is refused. term: +1 each time the lease changes hands.
CREATE TABLE leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    holder_info TEXT NOT NULL,
    shard_count INTEGER,
    term INTEGER NOT NULL,
    acquired_at TEXT NOT NULL,
    renewed_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
