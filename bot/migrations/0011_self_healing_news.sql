-- News that heals itself (issue 14).
--
-- claimed_at / claimed_by: when a delivery was last claimed for a request, and by which run of
-- the engine (a random token per start). A row left 'sending' or 'publishing' by a run that is
-- gone, or by this run without a worker still holding it, is put back in the queue by the
-- running bot, not only at the next start.
--
-- unsure_since: the earliest moment a request for this delivery may have reached Discord
-- without the bot learning its outcome (a crash, a timeout, a 5xx, a lost write). Re-sent
-- within Discord's nonce window, the nonce makes Discord return that first message; later
-- than that, the engine first reads the channel's recent messages for its own post of the
-- item, and records the one it finds instead of posting again.
ALTER TABLE news_deliveries ADD COLUMN claimed_at TEXT;
ALTER TABLE news_deliveries ADD COLUMN claimed_by TEXT;
ALTER TABLE news_deliveries ADD COLUMN unsure_since TEXT;

-- Entries of the last fetched document that could not be read (bad character references,
-- undecodable bytes, nothing to post): left out and counted, the rest of the feed goes on.
ALTER TABLE feeds ADD COLUMN unreadable_entries INTEGER NOT NULL DEFAULT 0;
