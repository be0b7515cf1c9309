-- Season cards are kept in the read cache too (bot/core/cache.py): a change to the seasons,
-- their episodes, the films or the awards, by any process (a `db seed` while the bot runs),
-- bumps the content generation as the tables of migration 0017 do, so every process's cache
-- of them is cleared at its next look.

CREATE TRIGGER seasons_insert_bumps_content AFTER INSERT ON seasons
BEGIN
    UPDATE content_generation SET generation = generation + 1 WHERE id = 1;
END;

CREATE TRIGGER seasons_update_bumps_content AFTER UPDATE ON seasons
BEGIN
    UPDATE content_generation SET generation = generation + 1 WHERE id = 1;
END;

CREATE TRIGGER seasons_delete_bumps_content AFTER DELETE ON seasons
BEGIN
    UPDATE content_generation SET generation = generation + 1 WHERE id = 1;
END;

CREATE TRIGGER episodes_insert_bumps_content AFTER INSERT ON episodes
BEGIN
    UPDATE content_generation SET generation = generation + 1 WHERE id = 1;
END;

CREATE TRIGGER episodes_update_bumps_content AFTER UPDATE ON episodes
BEGIN
    UPDATE content_generation SET generation = generation + 1 WHERE id = 1;
END;

CREATE TRIGGER episodes_delete_bumps_content AFTER DELETE ON episodes
BEGIN
    UPDATE content_generation SET generation = generation + 1 WHERE id = 1;
END;

CREATE TRIGGER films_insert_bumps_content AFTER INSERT ON films
BEGIN
    UPDATE content_generation SET generation = generation + 1 WHERE id = 1;
END;

CREATE TRIGGER films_update_bumps_content AFTER UPDATE ON films
BEGIN
    UPDATE content_generation SET generation = generation + 1 WHERE id = 1;
END;

CREATE TRIGGER films_delete_bumps_content AFTER DELETE ON films
BEGIN
    UPDATE content_generation SET generation = generation + 1 WHERE id = 1;
END;

CREATE TRIGGER awards_insert_bumps_content AFTER INSERT ON awards
BEGIN
    UPDATE content_generation SET generation = generation + 1 WHERE id = 1;
END;

CREATE TRIGGER awards_update_bumps_content AFTER UPDATE ON awards
BEGIN
    UPDATE content_generation SET generation = generation + 1 WHERE id = 1;
END;

CREATE TRIGGER awards_delete_bumps_content AFTER DELETE ON awards
BEGIN
    UPDATE content_generation SET generation = generation + 1 WHERE id = 1;
END;
