-- RSS/Atom feed ingestion: the feeds the bot follows, what it has seen in each, the entries held
-- for an owner's review, and a fingerprint (normalised link and title) of every news item so the
-- same story from two feeds, or one already posted by hand, is sent once.
-- Times are ISO-8601 UTC with microseconds, as in 0004, so text order is time order.

CREATE TABLE feeds (
    id               INTEGER PRIMARY KEY,
    url              TEXT NOT NULL UNIQUE,
    title            TEXT,                        -- the feed's own title, from its last fetch
    keywords         TEXT NOT NULL DEFAULT '[]',  -- JSON array; an entry must mention one
    review           INTEGER NOT NULL DEFAULT 0,  -- entries wait for an owner's approval
    state            TEXT NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'disabled')),
    -- 0 until a fetch has recorded what the feed already held: that first fetch posts nothing.
    primed           INTEGER NOT NULL DEFAULT 0,
    etag             TEXT,                        -- saved only once the document is ingested,
    last_modified    TEXT,                        -- so a crash never turns new entries into a 304
    last_fetch_at    TEXT,                        -- last attempt, whatever came of it
    last_ok_at       TEXT,                        -- last 200 or 304
    last_new_at      TEXT,                        -- last entry posted or held for review
    failures         INTEGER NOT NULL DEFAULT 0,  -- in a row; reset by any success
    last_error       TEXT,
    next_fetch_at    TEXT NOT NULL,
    disabled_reason  TEXT,
    disabled_at      TEXT,
    added_by         INTEGER,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL
);
CREATE INDEX feeds_due ON feeds(state, next_fetch_at);

-- What a feed has shown us, one row per identity of each entry: 'guid:', 'link:' and 'hash:'
-- (title and date) keys, each a digest. An entry is known when one of its keys is.
CREATE TABLE feed_entries (
    feed_id   INTEGER NOT NULL REFERENCES feeds(id) ON DELETE CASCADE,
    key       TEXT NOT NULL,
    outcome   TEXT NOT NULL
              CHECK (outcome IN ('baseline', 'posted', 'duplicate', 'filtered', 'held',
                                 'skipped')),
    item_id   INTEGER REFERENCES news_items(id) ON DELETE SET NULL,
    seen_at   TEXT NOT NULL,
    PRIMARY KEY (feed_id, key)
) WITHOUT ROWID;

-- Entries of review-mode feeds, waiting for an owner (or decided). `dedupe_key` is the key the
-- news item gets when approved; unique, so the same story held from two feeds is asked once and
-- a dropped story is not asked again.
CREATE TABLE feed_held_entries (
    id          INTEGER PRIMARY KEY,
    feed_id     INTEGER NOT NULL REFERENCES feeds(id) ON DELETE CASCADE,
    dedupe_key  TEXT NOT NULL UNIQUE,
    title       TEXT NOT NULL,
    body        TEXT NOT NULL DEFAULT '',
    url         TEXT,
    published   TEXT NOT NULL,
    link_key    TEXT,
    title_key   TEXT,
    state       TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'approved', 'dropped')),
    item_id     INTEGER REFERENCES news_items(id) ON DELETE SET NULL,
    decided_by  INTEGER,
    decided_at  TEXT,
    note        TEXT,
    created_at  TEXT NOT NULL
);
CREATE INDEX feed_held_entries_pending ON feed_held_entries(state, id);
CREATE INDEX feed_held_entries_by_link ON feed_held_entries(link_key) WHERE link_key IS NOT NULL;
CREATE INDEX feed_held_entries_by_title ON feed_held_entries(title_key)
    WHERE title_key IS NOT NULL;

-- The normalised link and title of news items, whatever their origin. Feed items get theirs
-- when posted; owner posts and seeded items are filled in by the poller before each round
-- (normalising a link is Python, not SQL), so a hand-posted story is recognised in feeds.
CREATE TABLE news_item_fingerprints (
    item_id     INTEGER PRIMARY KEY REFERENCES news_items(id) ON DELETE CASCADE,
    link_key    TEXT,
    title_key   TEXT,
    created_at  TEXT NOT NULL
);
CREATE INDEX news_item_fingerprints_by_link ON news_item_fingerprints(link_key)
    WHERE link_key IS NOT NULL;
CREATE INDEX news_item_fingerprints_by_title ON news_item_fingerprints(title_key, created_at)
    WHERE title_key IS NOT NULL;
