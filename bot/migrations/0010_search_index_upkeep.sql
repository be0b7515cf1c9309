-- Writes to the full-text index since it was last compacted into one b-tree. FTS5 keeps each
-- write transaction as a segment of its own and merges them only lazily, so a busy index holds
-- about ten, and every search looks in each: at 100,000 quotes a one-word search took 2-3 times
-- as long as on a compacted index. QuotesRepository.compact_search_index reads this count to
-- tell when compaction is worth its cost (rewriting the whole index).
CREATE TABLE search_index_upkeep (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    writes_since INTEGER NOT NULL
);
-- Every quote already indexed counts as a write: an index grown before this migration has never
-- been compacted.
INSERT INTO search_index_upkeep (id, writes_since) VALUES (1, (SELECT count(*) FROM quotes));

CREATE TRIGGER search_index_upkeep_after_insert AFTER INSERT ON quotes BEGIN
    UPDATE search_index_upkeep SET writes_since = writes_since + 1;
END;
CREATE TRIGGER search_index_upkeep_after_delete AFTER DELETE ON quotes BEGIN
    UPDATE search_index_upkeep SET writes_since = writes_since + 1;
END;
CREATE TRIGGER search_index_upkeep_after_update AFTER UPDATE OF text, speaker_name, outlet ON quotes
BEGIN
    UPDATE search_index_upkeep SET writes_since = writes_since + 1;
END;
