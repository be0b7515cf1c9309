-- The film and the episodes (issue 18): each episode with its own sources, the episode a quote
-- is about, and what is known of the film, each fact with its sources.

CREATE TABLE episodes (
    season       INTEGER NOT NULL REFERENCES seasons(number) ON DELETE CASCADE,
    number       INTEGER NOT NULL CHECK (number > 0),
    title        TEXT NOT NULL,
    source_keys  TEXT NOT NULL DEFAULT '[]',
    PRIMARY KEY (season, number)
);

-- NULL: the quote is about no single episode (or a whole season, or nothing in particular).
ALTER TABLE quotes ADD COLUMN episode INTEGER CHECK (episode IS NULL OR episode > 0);

-- JSON array of {"text": ..., "sources": [sources.seed_key, ...]}: what is known of the film.
ALTER TABLE films ADD COLUMN known TEXT NOT NULL DEFAULT '[]';
