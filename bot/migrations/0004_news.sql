-- News subscriptions feature: which channels get news, and an outbox of deliveries.
-- Publishing an item writes the item and one delivery per live subscription in one transaction;
-- the delivery engine (bot/news/) works through the outbox, so nothing is lost across restarts.
-- Timestamps written by the engine are ISO-8601 UTC with microseconds ('...T12:00:00.000000Z'):
-- one fixed format, so text comparison is time comparison.

CREATE TABLE news_subscriptions (
    id                INTEGER PRIMARY KEY,
    guild_id          INTEGER NOT NULL,
    channel_id        INTEGER NOT NULL UNIQUE,     -- one subscription per channel, reused on resubscribe
    role_id           INTEGER,                     -- the one role a post may ping
    publish           INTEGER NOT NULL DEFAULT 0,  -- crosspost each post (announcement channels)
    state             TEXT NOT NULL DEFAULT 'active'
                      CHECK (state IN ('active', 'paused', 'ended')),
    subscribed_by     INTEGER,                     -- told about trouble if nowhere else works
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL,
    last_delivery_at  TEXT,
    last_error        TEXT,
    last_error_at     TEXT,
    end_reason        TEXT
);
CREATE INDEX news_subscriptions_by_guild ON news_subscriptions(guild_id, state);

-- One row per (item, subscription). States:
--   pending          waiting to be sent (at next_attempt_at)
--   sending          claimed by a worker; after a crash it is sent again with the SAME nonce,
--                    which Discord uses to return the first message instead of a second one
--   publish_pending  sent; waiting for the channel's publish budget to crosspost it
--   publishing       crosspost in flight
--   sent             done (published too, when asked and possible)
--   failed           Discord rejected it as malformed or it kept failing; never retried as is
--   cancelled        the subscription ended before it went out
CREATE TABLE news_deliveries (
    id                INTEGER PRIMARY KEY,
    item_id           INTEGER NOT NULL REFERENCES news_items(id) ON DELETE CASCADE,
    subscription_id   INTEGER NOT NULL REFERENCES news_subscriptions(id) ON DELETE CASCADE,
    state             TEXT NOT NULL DEFAULT 'pending'
                      CHECK (state IN ('pending', 'sending', 'publish_pending', 'publishing',
                                       'sent', 'failed', 'cancelled')),
    attempts          INTEGER NOT NULL DEFAULT 0,
    publish_attempts  INTEGER NOT NULL DEFAULT 0,
    next_attempt_at   TEXT NOT NULL,
    nonce             TEXT NOT NULL UNIQUE,        -- at most 25 characters (Discord's limit)
    message_id        INTEGER,
    published_at      TEXT,
    last_error        TEXT,
    created_at        TEXT NOT NULL,
    sent_at           TEXT,
    UNIQUE (item_id, subscription_id)
);
CREATE INDEX news_deliveries_due ON news_deliveries(state, next_attempt_at);
CREATE INDEX news_deliveries_by_subscription ON news_deliveries(subscription_id, state, id);
CREATE INDEX news_deliveries_published ON news_deliveries(subscription_id, published_at)
    WHERE published_at IS NOT NULL;
