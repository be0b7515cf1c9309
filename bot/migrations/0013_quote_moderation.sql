-- Quote moderation (issue 18): reviewers can take a quote out of their server and put it back,
-- every decision is kept, and a server can be told when a submission waits.

-- The quotes a server took out of its pool: an approved member quote a reviewer removed, or a
-- canon quote (shared by every server) this server hid. The quote row itself is untouched (its
-- status still says how it entered the pool, and other servers still see a canon quote); every
-- query of the pool (_IN_POOL in bot/quotes/store.py) leaves these out, so they leave the
-- rotation, search and the quote of the day at once. Putting one back deletes its row.
CREATE TABLE quote_hidden (
    guild_id  INTEGER NOT NULL,
    quote_id  INTEGER NOT NULL REFERENCES quotes(id) ON DELETE CASCADE,
    kind      TEXT NOT NULL CHECK (kind IN ('removed', 'hidden')),
    PRIMARY KEY (guild_id, quote_id)
) WITHOUT ROWID;

-- Who decided what about a quote in a server, and when: one row per decision, never updated.
CREATE TABLE quote_audit (
    id        INTEGER PRIMARY KEY,
    guild_id  INTEGER NOT NULL,
    quote_id  INTEGER NOT NULL REFERENCES quotes(id) ON DELETE CASCADE,
    action    TEXT NOT NULL CHECK (action IN ('approved', 'rejected', 'removed', 'restored',
                                              'hidden', 'unhidden')),
    actor_id  INTEGER,
    reason    TEXT,
    at        TEXT NOT NULL            -- bot/core/times.py stamp
);
CREATE INDEX quote_audit_by_quote ON quote_audit(quote_id, id);
CREATE INDEX quote_audit_by_guild ON quote_audit(guild_id, id);

-- The reviews made before this migration, so the history of an older quote starts with them.
INSERT INTO quote_audit (guild_id, quote_id, action, actor_id, reason, at)
SELECT q.guild_id, q.id, q.status, s.reviewer_id, s.reason, s.decided_at
FROM quotes q JOIN quote_submissions s ON s.quote_id = q.id
WHERE q.status IN ('approved', 'rejected') AND q.guild_id IS NOT NULL
  AND s.decided_at IS NOT NULL
ORDER BY s.decided_at, q.id;

-- Where the server wants to hear that a submission waits (NULL: nowhere), and why the last
-- notice could not be posted (NULL: it could).
ALTER TABLE quote_settings ADD COLUMN notify_channel_id INTEGER;
ALTER TABLE quote_settings ADD COLUMN notify_error TEXT;

-- When the quote of the day last went out (scheduled or posted at once), for /quote daily show.
ALTER TABLE quote_daily ADD COLUMN last_posted_at TEXT;
