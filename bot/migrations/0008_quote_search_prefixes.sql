-- Prefix queries ("ael*") scanned every matching term of the full-text index: 28 ms at 100,000
-- quotes, the slowest search the benchmarks saw. FTS5 prefix indexes of 2 and 3 characters
-- answer them from the index. The vocabulary table and the sync triggers (0003) refer to
-- quotes_fts by name and carry on unchanged once it is recreated.
DROP TABLE quotes_fts_terms;
DROP TABLE quotes_fts;
CREATE VIRTUAL TABLE quotes_fts USING fts5(
    text, speaker_name, outlet,
    content = 'quotes', content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2',
    prefix = '2 3'
);
INSERT INTO quotes_fts(quotes_fts) VALUES ('rebuild');
CREATE VIRTUAL TABLE quotes_fts_terms USING fts5vocab(quotes_fts, 'row');
