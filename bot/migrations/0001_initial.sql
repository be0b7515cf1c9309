-- Canon content seeded from data/*.json, plus room for what users add at run time.
-- Rows with a `seed_key` belong to the seed and are updated by re-seeding; rows without one
-- (user submissions, owner news posts) are never touched by it.

CREATE TABLE sources (
    id        INTEGER PRIMARY KEY,
    seed_key  TEXT NOT NULL UNIQUE,
    title     TEXT NOT NULL,
    site      TEXT,
    url       TEXT,
    note      TEXT
);

CREATE TABLE people (
    id           INTEGER PRIMARY KEY,
    seed_key     TEXT UNIQUE,
    name         TEXT NOT NULL,
    roles        TEXT NOT NULL DEFAULT '[]',  -- JSON array: "creator", "cast"
    description  TEXT,
    source_keys  TEXT NOT NULL DEFAULT '[]'   -- JSON array of sources.seed_key
);

CREATE TABLE characters (
    id             INTEGER PRIMARY KEY,
    seed_key       TEXT UNIQUE,
    name           TEXT NOT NULL,
    actor_id       INTEGER REFERENCES people(id) ON DELETE SET NULL,
    in_film        INTEGER NOT NULL DEFAULT 0,
    description    TEXT,
    arcs           TEXT NOT NULL DEFAULT '{}', -- JSON object: season number -> later arc
    school         TEXT,
    school_detail  TEXT,
    role           TEXT NOT NULL DEFAULT 'other'
                   CHECK (role IN ('student', 'staff', 'family', 'other')),
    source_keys    TEXT NOT NULL DEFAULT '[]'
);

CREATE TABLE character_aliases (
    character_id  INTEGER NOT NULL REFERENCES characters(id) ON DELETE CASCADE,
    alias         TEXT NOT NULL,
    PRIMARY KEY (character_id, alias)
);

CREATE TABLE character_seasons (
    character_id  INTEGER NOT NULL REFERENCES characters(id) ON DELETE CASCADE,
    season        INTEGER NOT NULL CHECK (season > 0),
    PRIMARY KEY (character_id, season)
);
CREATE INDEX character_seasons_by_season ON character_seasons(season);

CREATE TABLE quotes (
    id            INTEGER PRIMARY KEY,
    seed_key      TEXT UNIQUE,
    text          TEXT NOT NULL,
    speaker_id    INTEGER REFERENCES people(id) ON DELETE SET NULL,
    speaker_name  TEXT NOT NULL,               -- kept for submitted quotes with no person row
    outlet        TEXT,
    said_on       TEXT,                        -- 'YYYY-MM' or 'YYYY-MM-DD'
    season        INTEGER,
    context       TEXT,
    source_keys   TEXT NOT NULL DEFAULT '[]',
    source_text   TEXT,                        -- free-text source given by a submitter
    status        TEXT NOT NULL DEFAULT 'canon'
                  CHECK (status IN ('canon', 'pending', 'approved', 'rejected')),
    guild_id      INTEGER,                     -- NULL: shared by every server
    submitted_by  INTEGER,
    created_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
CREATE INDEX quotes_by_status ON quotes(status, guild_id);

CREATE TABLE quote_characters (
    quote_id      INTEGER NOT NULL REFERENCES quotes(id) ON DELETE CASCADE,
    character_id  INTEGER NOT NULL REFERENCES characters(id) ON DELETE CASCADE,
    PRIMARY KEY (quote_id, character_id)
);
CREATE INDEX quote_characters_by_character ON quote_characters(character_id);

CREATE TABLE news_items (
    id           INTEGER PRIMARY KEY,
    dedupe_key   TEXT NOT NULL UNIQUE,         -- seed key, feed guid/link hash, or owner post id
    title        TEXT NOT NULL,
    body         TEXT NOT NULL DEFAULT '',
    url          TEXT,
    season       INTEGER,
    published    TEXT NOT NULL,                -- 'YYYY', 'YYYY-MM' or 'YYYY-MM-DD'
    source_keys  TEXT NOT NULL DEFAULT '[]',
    origin       TEXT NOT NULL DEFAULT 'seed' CHECK (origin IN ('seed', 'owner', 'feed')),
    created_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
CREATE INDEX news_items_by_published ON news_items(published);

CREATE TABLE seasons (
    number         INTEGER PRIMARY KEY CHECK (number > 0),
    title          TEXT NOT NULL,
    status         TEXT NOT NULL,
    release_date   TEXT,
    episode_count  INTEGER,
    episodes       TEXT NOT NULL DEFAULT '[]',  -- JSON array of titles
    new_cast       TEXT NOT NULL DEFAULT '[]',  -- JSON array of people.seed_key
    source_keys    TEXT NOT NULL DEFAULT '[]'
);

CREATE TABLE films (
    id            INTEGER PRIMARY KEY,
    seed_key      TEXT NOT NULL UNIQUE,
    title         TEXT NOT NULL,
    status        TEXT NOT NULL,
    release_year  INTEGER,
    release_date  TEXT,
    source_keys   TEXT NOT NULL DEFAULT '[]'
);

CREATE TABLE awards (
    id           INTEGER PRIMARY KEY,
    seed_key     TEXT NOT NULL UNIQUE,
    year         INTEGER NOT NULL,
    award        TEXT NOT NULL,
    result       TEXT NOT NULL,
    people       TEXT NOT NULL DEFAULT '[]',   -- JSON array of people.seed_key
    source_keys  TEXT NOT NULL DEFAULT '[]'
);
