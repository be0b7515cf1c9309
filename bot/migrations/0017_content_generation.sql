-- What the read cache and the character index hold changes rarely (a seed, an approval, a
-- removal), but every process commits often (each quote draw marks a quote seen). Until now a
-- process noticed other processes' changes through SQLite's data_version, which moves on every
-- commit by anyone: with shard slices in two processes (issue 19) each cleared its cache and
-- rebuilt the character index on every poll. This counter moves only when cached content may
-- have changed, bumped by triggers in the writing transaction whichever process writes.
CREATE TABLE content_generation (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    generation  INTEGER NOT NULL
);
INSERT INTO content_generation (id, generation) VALUES (1, 0);

CREATE TRIGGER sources_insert_bumps_content AFTER INSERT ON sources
BEGIN
    UPDATE content_generation SET generation = generation + 1 WHERE id = 1;
END;

CREATE TRIGGER sources_update_bumps_content AFTER UPDATE ON sources
BEGIN
    UPDATE content_generation SET generation = generation + 1 WHERE id = 1;
END;

CREATE TRIGGER sources_delete_bumps_content AFTER DELETE ON sources
BEGIN
    UPDATE content_generation SET generation = generation + 1 WHERE id = 1;
END;

CREATE TRIGGER people_insert_bumps_content AFTER INSERT ON people
BEGIN
    UPDATE content_generation SET generation = generation + 1 WHERE id = 1;
END;

CREATE TRIGGER people_update_bumps_content AFTER UPDATE ON people
BEGIN
    UPDATE content_generation SET generation = generation + 1 WHERE id = 1;
END;

CREATE TRIGGER people_delete_bumps_content AFTER DELETE ON people
BEGIN
    UPDATE content_generation SET generation = generation + 1 WHERE id = 1;
END;

CREATE TRIGGER characters_insert_bumps_content AFTER INSERT ON characters
BEGIN
    UPDATE content_generation SET generation = generation + 1 WHERE id = 1;
END;

CREATE TRIGGER characters_update_bumps_content AFTER UPDATE ON characters
BEGIN
    UPDATE content_generation SET generation = generation + 1 WHERE id = 1;
END;

CREATE TRIGGER characters_delete_bumps_content AFTER DELETE ON characters
BEGIN
    UPDATE content_generation SET generation = generation + 1 WHERE id = 1;
END;

CREATE TRIGGER character_aliases_insert_bumps_content AFTER INSERT ON character_aliases
BEGIN
    UPDATE content_generation SET generation = generation + 1 WHERE id = 1;
END;

CREATE TRIGGER character_aliases_update_bumps_content AFTER UPDATE ON character_aliases
BEGIN
    UPDATE content_generation SET generation = generation + 1 WHERE id = 1;
END;

CREATE TRIGGER character_aliases_delete_bumps_content AFTER DELETE ON character_aliases
BEGIN
    UPDATE content_generation SET generation = generation + 1 WHERE id = 1;
END;

CREATE TRIGGER character_seasons_insert_bumps_content AFTER INSERT ON character_seasons
BEGIN
    UPDATE content_generation SET generation = generation + 1 WHERE id = 1;
END;

CREATE TRIGGER character_seasons_update_bumps_content AFTER UPDATE ON character_seasons
BEGIN
    UPDATE content_generation SET generation = generation + 1 WHERE id = 1;
END;

CREATE TRIGGER character_seasons_delete_bumps_content AFTER DELETE ON character_seasons
BEGIN
    UPDATE content_generation SET generation = generation + 1 WHERE id = 1;
END;

CREATE TRIGGER quote_characters_insert_bumps_content AFTER INSERT ON quote_characters
BEGIN
    UPDATE content_generation SET generation = generation + 1 WHERE id = 1;
END;

CREATE TRIGGER quote_characters_update_bumps_content AFTER UPDATE ON quote_characters
BEGIN
    UPDATE content_generation SET generation = generation + 1 WHERE id = 1;
END;

CREATE TRIGGER quote_characters_delete_bumps_content AFTER DELETE ON quote_characters
BEGIN
    UPDATE content_generation SET generation = generation + 1 WHERE id = 1;
END;

CREATE TRIGGER quote_hidden_insert_bumps_content AFTER INSERT ON quote_hidden
BEGIN
    UPDATE content_generation SET generation = generation + 1 WHERE id = 1;
END;

CREATE TRIGGER quote_hidden_update_bumps_content AFTER UPDATE ON quote_hidden
BEGIN
    UPDATE content_generation SET generation = generation + 1 WHERE id = 1;
END;

CREATE TRIGGER quote_hidden_delete_bumps_content AFTER DELETE ON quote_hidden
BEGIN
    UPDATE content_generation SET generation = generation + 1 WHERE id = 1;
END;

-- Quotes: only those in a pool (not a pending submission) and only the columns a card or the
-- cache reads; the rotation's shuffle_key and marks of what was seen do not count.
CREATE TRIGGER quotes_insert_bumps_content AFTER INSERT ON quotes
WHEN NEW.status IN ('canon', 'approved')
BEGIN
    UPDATE content_generation SET generation = generation + 1 WHERE id = 1;
END;
CREATE TRIGGER quotes_update_bumps_content
AFTER UPDATE OF status, text, speaker_id, speaker_name, guild_id ON quotes
BEGIN
    UPDATE content_generation SET generation = generation + 1 WHERE id = 1;
END;
CREATE TRIGGER quotes_delete_bumps_content AFTER DELETE ON quotes
BEGIN
    UPDATE content_generation SET generation = generation + 1 WHERE id = 1;
END;
