"""Character lookups: the fuzzy name index and how a typed name resolves to a character."""
