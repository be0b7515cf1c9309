-- Quotes feature: the per-server rotation, full-text search, the quote of the day, and
-- community submissions with their review.

-- A random key per quote, fixed at insert. A draw starts at a random point of this order and takes
-- the next quote not yet shown in the current cycle: an index range scan instead of
-- ORDER BY RANDOM() over the whole table.
ALTER TABLE quotes ADD COLUMN shuffle_key INTEGER;
UPDATE quotes SET shuffle_key = random() WHERE shuffle_key IS NULL;
CREATE TRIGGER quotes_get_shuffle_key AFTER INSERT ON quotes WHEN NEW.shuffle_key IS NULL
BEGIN
    UPDATE quotes SET shuffle_key = random() WHERE id = NEW.id;
END;

-- One index per way of walking the pool in shuffle order: all quotes, by speaker, by season.
-- The character filter goes through quote_characters_by_character (0001).
CREATE INDEX quotes_by_shuffle_key ON quotes(shuffle_key, status, guild_id);
CREATE INDEX quotes_by_speaker
    ON quotes(speaker_name COLLATE NOCASE, shuffle_key, status, guild_id);
CREATE INDEX quotes_by_season ON quotes(season, shuffle_key, status, guild_id);
CREATE INDEX quotes_by_submitter ON quotes(submitted_by, guild_id);

-- Rotation state per server and filter: which cycle it is in and what was shown last (so a new
-- cycle never opens with the quote that closed the previous one).
CREATE TABLE quote_rotations (
    guild_id       INTEGER NOT NULL,
    filter_key     TEXT NOT NULL,               -- '' for no filter; see bot/quotes/filters.py
    cycle          INTEGER NOT NULL DEFAULT 1,
    last_quote_id  INTEGER,
    updated_at     TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    PRIMARY KEY (guild_id, filter_key)
) WITHOUT ROWID;

-- The quotes already shown in the current cycle. It grows by one row per draw and is emptied
-- when the cycle completes, so its size follows use, not the size of the pool.
CREATE TABLE quote_rotation_seen (
    guild_id    INTEGER NOT NULL,
    filter_key  TEXT NOT NULL,
    quote_id    INTEGER NOT NULL,
    PRIMARY KEY (guild_id, filter_key, quote_id),
    FOREIGN KEY (guild_id, filter_key) REFERENCES quote_rotations(guild_id, filter_key)
        ON DELETE CASCADE
) WITHOUT ROWID;

-- Full-text search over what a fan remembers: the words, who said them, and where.
CREATE VIRTUAL TABLE quotes_fts USING fts5(
    text, speaker_name, outlet,
    content = 'quotes', content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2'
);
INSERT INTO quotes_fts(quotes_fts) VALUES ('rebuild');
-- How many quotes hold each word: the near-duplicate check searches by a submission's rarest
-- words, which find the likely copies without enumerating every quote that says "the".
CREATE VIRTUAL TABLE quotes_fts_terms USING fts5vocab(quotes_fts, 'row');

CREATE TRIGGER quotes_fts_after_insert AFTER INSERT ON quotes BEGIN
    INSERT INTO quotes_fts(rowid, text, speaker_name, outlet)
    VALUES (NEW.id, NEW.text, NEW.speaker_name, NEW.outlet);
END;
CREATE TRIGGER quotes_fts_after_delete AFTER DELETE ON quotes BEGIN
    INSERT INTO quotes_fts(quotes_fts, rowid, text, speaker_name, outlet)
    VALUES ('delete', OLD.id, OLD.text, OLD.speaker_name, OLD.outlet);
END;
CREATE TRIGGER quotes_fts_after_update AFTER UPDATE OF text, speaker_name, outlet ON quotes BEGIN
    INSERT INTO quotes_fts(quotes_fts, rowid, text, speaker_name, outlet)
    VALUES ('delete', OLD.id, OLD.text, OLD.speaker_name, OLD.outlet);
    INSERT INTO quotes_fts(rowid, text, speaker_name, outlet)
    VALUES (NEW.id, NEW.text, NEW.speaker_name, NEW.outlet);
END;

-- A member's submission and what became of it. The quote row itself carries the status.
CREATE TABLE quote_submissions (
    quote_id           INTEGER PRIMARY KEY REFERENCES quotes(id) ON DELETE CASCADE,
    near_duplicate_of  INTEGER REFERENCES quotes(id) ON DELETE SET NULL,
    reviewer_id        INTEGER,
    reason             TEXT,                     -- given on reject
    decided_at         TEXT,
    -- Whether the submitter was told by DM: 'closed' when Discord refused (DMs off).
    dm_status          TEXT NOT NULL DEFAULT 'none'
                       CHECK (dm_status IN ('none', 'sent', 'closed', 'failed'))
);

-- Per-server quote settings. A missing row: reviewers are those with Manage Messages.
CREATE TABLE quote_settings (
    guild_id          INTEGER PRIMARY KEY,
    reviewer_role_id  INTEGER,
    updated_at        TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);

-- The quote of the day: one per server. next_due is the UTC instant of the next post;
-- last_posted_on the server-local date of the last one, so a post is never made twice a day.
CREATE TABLE quote_daily (
    guild_id        INTEGER PRIMARY KEY,
    channel_id      INTEGER NOT NULL,
    local_time      TEXT NOT NULL,               -- 'HH:MM' on the server's clock
    timezone        TEXT NOT NULL,               -- IANA name, e.g. 'Europe/London'
    next_due        TEXT NOT NULL,               -- 'YYYY-MM-DDTHH:MM:SSZ'
    last_posted_on  TEXT,                        -- 'YYYY-MM-DD' in that timezone
    last_error      TEXT,
    set_by          INTEGER,
    updated_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
CREATE INDEX quote_daily_by_due ON quote_daily(next_due);
