-- One stored time format (issue 16): ISO-8601 UTC with six fractional digits,
-- '2026-11-25T12:00:00.000000Z' (bot/core/times.py `stamp`). Until now some columns also held
-- whole seconds ('2026-11-25T12:00:00Z'), and text order was not time order between the two:
-- '...:00Z' sorts after '...:00.500000Z' because 'Z' > '.'.

-- 1. Every stored seconds-format value, in every time column, becomes the one format.
UPDATE quotes SET created_at = substr(created_at, 1, 19) || '.000000Z'
    WHERE created_at GLOB '????-??-??T??:??:??Z';
UPDATE news_items SET created_at = substr(created_at, 1, 19) || '.000000Z'
    WHERE created_at GLOB '????-??-??T??:??:??Z';
UPDATE guild_settings SET updated_at = substr(updated_at, 1, 19) || '.000000Z'
    WHERE updated_at GLOB '????-??-??T??:??:??Z';
UPDATE quote_rotations SET updated_at = substr(updated_at, 1, 19) || '.000000Z'
    WHERE updated_at GLOB '????-??-??T??:??:??Z';
UPDATE quote_submissions SET decided_at = substr(decided_at, 1, 19) || '.000000Z'
    WHERE decided_at GLOB '????-??-??T??:??:??Z';
UPDATE quote_settings SET updated_at = substr(updated_at, 1, 19) || '.000000Z'
    WHERE updated_at GLOB '????-??-??T??:??:??Z';
UPDATE quote_daily SET next_due = substr(next_due, 1, 19) || '.000000Z'
    WHERE next_due GLOB '????-??-??T??:??:??Z';
UPDATE quote_daily SET updated_at = substr(updated_at, 1, 19) || '.000000Z'
    WHERE updated_at GLOB '????-??-??T??:??:??Z';
-- News and feeds were written with `stamp` from the start; converted all the same, so no time
-- column is left out.
UPDATE news_subscriptions SET created_at = substr(created_at, 1, 19) || '.000000Z'
    WHERE created_at GLOB '????-??-??T??:??:??Z';
UPDATE news_subscriptions SET updated_at = substr(updated_at, 1, 19) || '.000000Z'
    WHERE updated_at GLOB '????-??-??T??:??:??Z';
UPDATE news_subscriptions SET last_delivery_at = substr(last_delivery_at, 1, 19) || '.000000Z'
    WHERE last_delivery_at GLOB '????-??-??T??:??:??Z';
UPDATE news_subscriptions SET last_error_at = substr(last_error_at, 1, 19) || '.000000Z'
    WHERE last_error_at GLOB '????-??-??T??:??:??Z';
UPDATE news_deliveries SET next_attempt_at = substr(next_attempt_at, 1, 19) || '.000000Z'
    WHERE next_attempt_at GLOB '????-??-??T??:??:??Z';
UPDATE news_deliveries SET published_at = substr(published_at, 1, 19) || '.000000Z'
    WHERE published_at GLOB '????-??-??T??:??:??Z';
UPDATE news_deliveries SET created_at = substr(created_at, 1, 19) || '.000000Z'
    WHERE created_at GLOB '????-??-??T??:??:??Z';
UPDATE news_deliveries SET sent_at = substr(sent_at, 1, 19) || '.000000Z'
    WHERE sent_at GLOB '????-??-??T??:??:??Z';
UPDATE news_deliveries SET claimed_at = substr(claimed_at, 1, 19) || '.000000Z'
    WHERE claimed_at GLOB '????-??-??T??:??:??Z';
UPDATE news_deliveries SET unsure_since = substr(unsure_since, 1, 19) || '.000000Z'
    WHERE unsure_since GLOB '????-??-??T??:??:??Z';
UPDATE feeds SET last_fetch_at = substr(last_fetch_at, 1, 19) || '.000000Z'
    WHERE last_fetch_at GLOB '????-??-??T??:??:??Z';
UPDATE feeds SET last_ok_at = substr(last_ok_at, 1, 19) || '.000000Z'
    WHERE last_ok_at GLOB '????-??-??T??:??:??Z';
UPDATE feeds SET last_new_at = substr(last_new_at, 1, 19) || '.000000Z'
    WHERE last_new_at GLOB '????-??-??T??:??:??Z';
UPDATE feeds SET next_fetch_at = substr(next_fetch_at, 1, 19) || '.000000Z'
    WHERE next_fetch_at GLOB '????-??-??T??:??:??Z';
UPDATE feeds SET disabled_at = substr(disabled_at, 1, 19) || '.000000Z'
    WHERE disabled_at GLOB '????-??-??T??:??:??Z';
UPDATE feeds SET created_at = substr(created_at, 1, 19) || '.000000Z'
    WHERE created_at GLOB '????-??-??T??:??:??Z';
UPDATE feeds SET updated_at = substr(updated_at, 1, 19) || '.000000Z'
    WHERE updated_at GLOB '????-??-??T??:??:??Z';
UPDATE feed_entries SET seen_at = substr(seen_at, 1, 19) || '.000000Z'
    WHERE seen_at GLOB '????-??-??T??:??:??Z';
UPDATE feed_held_entries SET decided_at = substr(decided_at, 1, 19) || '.000000Z'
    WHERE decided_at GLOB '????-??-??T??:??:??Z';
UPDATE feed_held_entries SET created_at = substr(created_at, 1, 19) || '.000000Z'
    WHERE created_at GLOB '????-??-??T??:??:??Z';
UPDATE news_item_fingerprints SET created_at = substr(created_at, 1, 19) || '.000000Z'
    WHERE created_at GLOB '????-??-??T??:??:??Z';

-- 2. The rotation trigger (0009) stamps quote_rotations.updated_at in the one format: SQLite's
-- '%f' is 'SS.SSS', so '%H:%M:%f000Z' gives six fractional digits (SQLite keeps milliseconds).
DROP TRIGGER quote_rotation_seen_marks_last;
CREATE TRIGGER quote_rotation_seen_marks_last BEFORE INSERT ON quote_rotation_seen
BEGIN
    INSERT INTO quote_rotations (guild_id, filter_key, last_quote_id, updated_at)
    VALUES (NEW.guild_id, NEW.filter_key, NEW.quote_id,
            strftime('%Y-%m-%dT%H:%M:%f000Z', 'now'))
    ON CONFLICT (guild_id, filter_key) DO UPDATE SET
        last_quote_id = excluded.last_quote_id,
        updated_at = excluded.updated_at;
END;

-- 3. The DEFAULTs of 0001-0003 still say seconds, and SQLite cannot alter a column's DEFAULT.
-- Rebuilding those six tables instead was ruled out: a migration runs inside one transaction,
-- where foreign keys cannot be switched off, so dropping the old quotes or news_items table
-- would cascade-delete their quote_characters, quote_submissions, news_deliveries and
-- fingerprints; it would also rewrite every quote, its seven indexes and its five triggers.
-- Instead the repositories always write these times themselves (bot/core/times.py), and any
-- row that still gets the DEFAULT (an INSERT that names no time: tests, scripts, the sqlite3
-- shell) is put in the one format within the same statement by the triggers below. A DEFAULT
-- of this very second becomes this instant with milliseconds ('now' is one value for the
-- whole statement); any other seconds value is the same second, '.000000Z'.
CREATE TRIGGER quotes_created_at_one_format AFTER INSERT ON quotes
WHEN NEW.created_at GLOB '????-??-??T??:??:??Z'
BEGIN
    UPDATE quotes SET created_at = CASE
        WHEN created_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now')
        THEN strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')
        ELSE substr(created_at, 1, 19) || '.000000Z' END
    WHERE id = NEW.id;
END;
CREATE TRIGGER news_items_created_at_one_format AFTER INSERT ON news_items
WHEN NEW.created_at GLOB '????-??-??T??:??:??Z'
BEGIN
    UPDATE news_items SET created_at = CASE
        WHEN created_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now')
        THEN strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')
        ELSE substr(created_at, 1, 19) || '.000000Z' END
    WHERE id = NEW.id;
END;
CREATE TRIGGER guild_settings_updated_at_one_format AFTER INSERT ON guild_settings
WHEN NEW.updated_at GLOB '????-??-??T??:??:??Z'
BEGIN
    UPDATE guild_settings SET updated_at = CASE
        WHEN updated_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now')
        THEN strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')
        ELSE substr(updated_at, 1, 19) || '.000000Z' END
    WHERE guild_id = NEW.guild_id;
END;
CREATE TRIGGER quote_rotations_updated_at_one_format AFTER INSERT ON quote_rotations
WHEN NEW.updated_at GLOB '????-??-??T??:??:??Z'
BEGIN
    UPDATE quote_rotations SET updated_at = CASE
        WHEN updated_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now')
        THEN strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')
        ELSE substr(updated_at, 1, 19) || '.000000Z' END
    WHERE guild_id = NEW.guild_id AND filter_key = NEW.filter_key;
END;
CREATE TRIGGER quote_settings_updated_at_one_format AFTER INSERT ON quote_settings
WHEN NEW.updated_at GLOB '????-??-??T??:??:??Z'
BEGIN
    UPDATE quote_settings SET updated_at = CASE
        WHEN updated_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now')
        THEN strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')
        ELSE substr(updated_at, 1, 19) || '.000000Z' END
    WHERE guild_id = NEW.guild_id;
END;
CREATE TRIGGER quote_daily_updated_at_one_format AFTER INSERT ON quote_daily
WHEN NEW.updated_at GLOB '????-??-??T??:??:??Z'
BEGIN
    UPDATE quote_daily SET updated_at = CASE
        WHEN updated_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now')
        THEN strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')
        ELSE substr(updated_at, 1, 19) || '.000000Z' END
    WHERE guild_id = NEW.guild_id;
END;
