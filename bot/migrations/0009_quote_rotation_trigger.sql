-- /quote random marks its quote as seen, after the reply went out, with one INSERT (see
-- QuotesRepository.mark_shown). This trigger keeps the rotation's own row in step inside that same
-- statement: it creates the row on a server's first draw for a filter (before the seen row, which
-- references it) and records the quote shown last. Before it, a draw took a transaction of six
-- statements, about ten trips to the database thread, all before the reply.
CREATE TRIGGER quote_rotation_seen_marks_last BEFORE INSERT ON quote_rotation_seen
BEGIN
    INSERT INTO quote_rotations (guild_id, filter_key, last_quote_id)
    VALUES (NEW.guild_id, NEW.filter_key, NEW.quote_id)
    ON CONFLICT (guild_id, filter_key) DO UPDATE SET
        last_quote_id = excluded.last_quote_id,
        updated_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now');
END;
