"""Writing synthetic canon into a store quickly: one transaction of `executemany` per table.

The store's own seeding path upserts row by row (right for a few hundred fan-edited records,
about 90 s for 100,000 quotes); the benchmark only needs the same rows in the same tables, so
this helper inserts them in bulk through the store's write transaction. The schema's triggers
(full-text index, shuffle keys) still fire for every row, as they would in a real store, and no
ANALYZE runs, as none does in a real store (the query planner sees no statistics). This is
benchmark tooling, not product code: the bot never imports it.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from benchmarks.synthetic import SyntheticCanon
from bot.core.times import stamp
from bot.store import Store


async def _ids_by_key(store: Store, table: str) -> dict[str, int]:
    rows = await store.database.fetch_all(
        f"SELECT seed_key, id FROM {table} WHERE seed_key IS NOT NULL"
    )
    return {r[0]: r[1] for r in rows}


async def _next_id(store: Store, table: str) -> int:
    return int(await store.database.fetch_value(f"SELECT COALESCE(MAX(id), 0) + 1 FROM {table}")
               or 1)


async def add_synthetic(store: Store, canon: SyntheticCanon) -> None:
    """Insert `canon` into a store already seeded with the real seed (keys must be new)."""
    people = await _ids_by_key(store, "people")
    characters = await _ids_by_key(store, "characters")
    first_person = await _next_id(store, "people")
    first_character = await _next_id(store, "characters")
    first_quote = await _next_id(store, "quotes")
    created_at = stamp(datetime.now(UTC))
    names = {p.key: p.name for p in canon.people}
    names.update({r[0]: r[1] for r in await store.database.fetch_all(
        "SELECT seed_key, name FROM people WHERE seed_key IS NOT NULL")})
    for offset, p in enumerate(canon.people):
        people[p.key] = first_person + offset
    for offset, c in enumerate(canon.characters):
        characters[c.key] = first_character + offset
    async with store.database.transaction() as db:
        await db.executemany(
            "INSERT INTO people (id, seed_key, name, roles, description, source_keys)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [(people[p.key], p.key, p.name, json.dumps(p.roles), p.description,
              json.dumps(p.sources)) for p in canon.people],
        )
        await db.executemany(
            "INSERT INTO characters (id, seed_key, name, actor_id, in_film, description, arcs,"
            " school, school_detail, role, source_keys) VALUES (?, ?, ?, ?, ?, ?, '{}', ?, ?,"
            " ?, ?)",
            [(characters[c.key], c.key, c.name, people.get(c.actor or ""), int(c.in_film),
              c.description, c.school, c.school_detail, c.role, json.dumps(c.sources))
             for c in canon.characters],
        )
        await db.executemany(
            "INSERT INTO character_aliases (character_id, alias) VALUES (?, ?)",
            [(characters[c.key], a) for c in canon.characters for a in c.aliases],
        )
        await db.executemany(
            "INSERT INTO character_seasons (character_id, season) VALUES (?, ?)",
            [(characters[c.key], s) for c in canon.characters for s in c.seasons],
        )
        await db.executemany(
            "INSERT INTO quotes (id, seed_key, text, speaker_id, speaker_name, outlet, said_on,"
            " season, context, source_keys, status, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?,"
            " ?, ?, 'canon', ?)",
            # The time given, as the bot does: a quote without one is re-stamped by a trigger.
            [(first_quote + i, q.key, q.text, people[q.speaker], names[q.speaker], q.outlet,
              q.date, q.season, q.context, json.dumps(q.sources), created_at)
             for i, q in enumerate(canon.quotes)],
        )
        await db.executemany(
            "INSERT INTO quote_characters (quote_id, character_id) VALUES (?, ?)",
            [(first_quote + i, characters[key]) for i, q in enumerate(canon.quotes)
             for key in q.about],
        )
    store.cache.clear()  # canon written behind the repositories' backs
