-- Per-server settings. A missing row means every default applies.
CREATE TABLE guild_settings (
    guild_id        INTEGER PRIMARY KEY,
    -- How far this server has watched: content about a later season is wrapped in spoiler tags.
    -- NULL: everything released is shown openly.
    watched_season  INTEGER CHECK (watched_season IS NULL OR watched_season >= 0),
    updated_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
