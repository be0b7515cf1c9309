-- Follow mode (issue 20): a channel can follow the operator's news hub instead of getting a post
-- from the bot per item.
--
-- mode:
--   channel  the bot posts each item in the channel (the default; role ping, spoiler gating)
--   follow   the channel follows the hub through Discord's channel following: Discord copies
--            every post the hub publishes into it, so the outbox holds no deliveries for it
--   hub      the hub itself (NEWS_HUB_CHANNEL_ID): posted and published like a channel that
--            subscribed with publish on, through the same outbox
-- webhook_id: the follower webhook (type 2) the bot created for a 'follow' subscription; only
--             this one is ever removed by the bot.
-- follow_checked_at: when the bot last made sure that webhook still exists (a server can delete
--             it by hand: the subscription then ends instead of being kept silently).
ALTER TABLE news_subscriptions ADD COLUMN mode TEXT NOT NULL DEFAULT 'channel'
    CHECK (mode IN ('channel', 'follow', 'hub'));
ALTER TABLE news_subscriptions ADD COLUMN webhook_id INTEGER;
ALTER TABLE news_subscriptions ADD COLUMN follow_checked_at TEXT;

CREATE INDEX news_subscriptions_follow_check ON news_subscriptions(follow_checked_at)
    WHERE mode = 'follow' AND state = 'active';
