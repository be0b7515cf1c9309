"""Canon content: seeding it idempotently and reading it back as typed records."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import aiosqlite

from bot.canon.models import (
    Award,
    Character,
    Episode,
    Film,
    FilmFact,
    Person,
    Season,
    Source,
    StoreStats,
)
from bot.core.cache import ReadCache
from bot.core.database import Database
from bot.core.times import stamp

if TYPE_CHECKING:
    from bot.canon.seeding import SeedData


def _json_list(raw: str | None) -> list:
    return json.loads(raw) if raw else []


# An approved member quote its server's reviewers removed is no longer one of its quotes (a
# hidden canon quote still is: other servers show it).
_NOT_REMOVED = ("NOT EXISTS (SELECT 1 FROM quote_hidden h WHERE h.quote_id = q.id"
                " AND h.guild_id = q.guild_id AND h.kind = 'removed')")


class CanonRepository:
    def __init__(self, database: Database, cache: ReadCache) -> None:
        self._db = database
        self._cache = cache
        self._generation = 0
        self._stored_generation: int | None = None

    # ---- seeding -------------------------------------------------------------------------

    async def apply_seed(self, seed: SeedData) -> dict[str, int]:
        """Upsert every seed record by its key, in one transaction.

        Rows without a seed key (user submissions, owner posts) are never touched, and running
        this twice leaves the same rows: keys are UNIQUE and every write is an upsert.
        """
        try:
            await self._write_seed(seed)
        finally:
            # Also after a rollback: reads on the shared connection during the transaction
            # may have seen (and cached) rows that are now gone.
            self._cache.clear()
        self._generation += 1
        return {
            "sources": len(seed.sources), "people": len(seed.people),
            "characters": len(seed.characters), "quotes": len(seed.quotes),
            "seasons": len(seed.seasons), "films": len(seed.films), "news": len(seed.news),
            "awards": len(seed.awards),
            "episodes": sum(len(season.episodes) for season in seed.seasons),
        }

    async def _write_seed(self, seed: SeedData) -> None:
        now = stamp(datetime.now(UTC))  # created_at of the rows this seed adds
        async with self._db.transaction() as db:
            for s in seed.sources:
                await db.execute(
                    "INSERT INTO sources (seed_key, title, site, url, note) VALUES (?, ?, ?, ?, ?)"
                    " ON CONFLICT(seed_key) DO UPDATE SET title = excluded.title,"
                    " site = excluded.site, url = excluded.url, note = excluded.note",
                    (s.key, s.title, s.site, s.url, s.note),
                )
            person_ids: dict[str, int] = {}
            for p in seed.people:
                person_ids[p.key] = await self._upsert_id(
                    db,
                    "INSERT INTO people (seed_key, name, roles, description, source_keys)"
                    " VALUES (?, ?, ?, ?, ?) ON CONFLICT(seed_key) DO UPDATE SET"
                    " name = excluded.name, roles = excluded.roles,"
                    " description = excluded.description, source_keys = excluded.source_keys"
                    " RETURNING id",
                    (p.key, p.name, json.dumps(p.roles), p.description, json.dumps(p.sources)),
                )
            character_ids: dict[str, int] = {}
            for c in seed.characters:
                cid = await self._upsert_id(
                    db,
                    "INSERT INTO characters (seed_key, name, actor_id, in_film, description, arcs,"
                    " school, school_detail, role, source_keys)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(seed_key) DO UPDATE SET"
                    " name = excluded.name, actor_id = excluded.actor_id,"
                    " in_film = excluded.in_film, description = excluded.description,"
                    " arcs = excluded.arcs, school = excluded.school,"
                    " school_detail = excluded.school_detail, role = excluded.role,"
                    " source_keys = excluded.source_keys RETURNING id",
                    (c.key, c.name, person_ids.get(c.actor) if c.actor else None, int(c.in_film),
                     c.description, json.dumps({str(k): v for k, v in c.arcs.items()}),
                     c.school, c.school_detail, c.role, json.dumps(c.sources)),
                )
                character_ids[c.key] = cid
                await db.execute("DELETE FROM character_aliases WHERE character_id = ?", (cid,))
                await db.executemany(
                    "INSERT OR IGNORE INTO character_aliases (character_id, alias) VALUES (?, ?)",
                    [(cid, alias) for alias in c.aliases],
                )
                await db.execute("DELETE FROM character_seasons WHERE character_id = ?", (cid,))
                await db.executemany(
                    "INSERT INTO character_seasons (character_id, season) VALUES (?, ?)",
                    [(cid, season) for season in c.seasons],
                )
            names = {p.key: p.name for p in seed.people}
            for q in seed.quotes:
                qid = await self._upsert_id(
                    db,
                    "INSERT INTO quotes (seed_key, text, speaker_id, speaker_name, outlet, said_on,"
                    " season, episode, context, source_keys, status, created_at) VALUES (?, ?, ?,"
                    " ?, ?, ?, ?, ?, ?, ?, 'canon', ?) ON CONFLICT(seed_key) DO UPDATE SET"
                    " text = excluded.text,"
                    " speaker_id = excluded.speaker_id, speaker_name = excluded.speaker_name,"
                    " outlet = excluded.outlet, said_on = excluded.said_on,"
                    " season = excluded.season, episode = excluded.episode,"
                    " context = excluded.context,"
                    " source_keys = excluded.source_keys RETURNING id",
                    (q.key, q.text, person_ids[q.speaker], names[q.speaker], q.outlet, q.date,
                     q.season, q.episode, q.context, json.dumps(q.sources), now),
                )
                await db.execute("DELETE FROM quote_characters WHERE quote_id = ?", (qid,))
                await db.executemany(
                    "INSERT INTO quote_characters (quote_id, character_id) VALUES (?, ?)",
                    [(qid, character_ids[key]) for key in q.about],
                )
            for season in seed.seasons:
                await db.execute(
                    "INSERT INTO seasons (number, title, status, release_date, episode_count,"
                    " episodes, new_cast, source_keys) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT(number) DO UPDATE SET title = excluded.title,"
                    " status = excluded.status, release_date = excluded.release_date,"
                    " episode_count = excluded.episode_count, episodes = excluded.episodes,"
                    " new_cast = excluded.new_cast, source_keys = excluded.source_keys",
                    (season.number, season.title, season.status, season.release_date,
                     season.episode_count, json.dumps(season.episode_titles),
                     json.dumps(season.new_cast), json.dumps(season.sources)),
                )
                await db.execute("DELETE FROM episodes WHERE season = ?", (season.number,))
                await db.executemany(
                    "INSERT INTO episodes (season, number, title, source_keys) VALUES (?, ?, ?, ?)",
                    [(season.number, ep.number, ep.title, json.dumps(ep.sources))
                     for ep in season.episodes],
                )
            for film in seed.films:
                await db.execute(
                    "INSERT INTO films (seed_key, title, status, release_year, release_date,"
                    " source_keys, known) VALUES (?, ?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT(seed_key) DO UPDATE SET"
                    " title = excluded.title, status = excluded.status,"
                    " release_year = excluded.release_year,"
                    " release_date = excluded.release_date, source_keys = excluded.source_keys,"
                    " known = excluded.known",
                    (film.key, film.title, film.status, film.release_year, film.release_date,
                     json.dumps(film.sources),
                     json.dumps([{"text": f.text, "sources": list(f.sources)}
                                 for f in film.known])),
                )
            for n in seed.news:
                # Seeded news is history: it is stored for /news latest and /season, and is
                # never fanned out to subscribers (only new posts create deliveries).
                await db.execute(
                    "INSERT INTO news_items (dedupe_key, title, body, url, season, published,"
                    " source_keys, origin, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'seed', ?)"
                    " ON CONFLICT(dedupe_key) DO UPDATE SET title = excluded.title,"
                    " body = excluded.body, url = excluded.url, season = excluded.season,"
                    " published = excluded.published, source_keys = excluded.source_keys"
                    " WHERE news_items.origin = 'seed'",
                    (f"seed:{n.key}", n.title, n.body, n.url, n.season, n.published,
                     json.dumps(n.sources), now),
                )
            for a in seed.awards:
                await db.execute(
                    "INSERT INTO awards (seed_key, year, award, result, people, source_keys)"
                    " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(seed_key) DO UPDATE SET"
                    " year = excluded.year, award = excluded.award, result = excluded.result,"
                    " people = excluded.people, source_keys = excluded.source_keys",
                    (a.key, a.year, a.award, a.result, json.dumps(a.people),
                     json.dumps(a.sources)),
                )

    @staticmethod
    async def _upsert_id(db: aiosqlite.Connection, sql: str, params: tuple) -> int:
        async with db.execute(sql, params) as cursor:
            row = await cursor.fetchone()
        assert row is not None  # each upsert statement ends in RETURNING id
        return int(row[0])

    async def content_version(self) -> tuple[int, int]:
        """Changes whenever canon or a quote pool may have changed: a seed through this store
        bumps the local generation, and any process's change to cached content bumps the
        database's content generation (triggers of migration 0017). Other commits, such as a
        quote draw's, leave it alone, so a second process does not throw its cache away."""
        generation = int(await self._db.fetch_value(
            "SELECT generation FROM content_generation WHERE id = 1") or 0)
        if generation != self._stored_generation:
            self._cache.clear()  # someone changed what was read: it may be stale
            self._stored_generation = generation
        return generation, self._generation

    async def is_seeded(self) -> bool:
        return bool(await self._db.fetch_value("SELECT EXISTS (SELECT 1 FROM characters)"))

    # ---- reading -------------------------------------------------------------------------

    async def sources(self) -> dict[str, Source]:
        return await self._cache.sources()

    @staticmethod
    def _cite(sources: dict[str, Source], raw: str | None) -> tuple[Source, ...]:
        return tuple(sources[k] for k in _json_list(raw) if k in sources)

    async def people(self) -> list[Person]:
        sources = await self.sources()
        rows = await self._db.fetch_all(
            "SELECT id, seed_key, name, roles, description, source_keys FROM people ORDER BY name"
        )
        return [self._person(r, sources) for r in rows]

    async def _people_keyed(self, keys: set[str]) -> list[Person]:
        if not keys:
            return []
        sources = await self.sources()
        rows = await self._db.fetch_all(
            "SELECT id, seed_key, name, roles, description, source_keys FROM people"
            f" WHERE seed_key IN ({','.join('?' * len(keys))})", tuple(keys))
        return [self._person(r, sources) for r in rows]

    def _person(self, r: aiosqlite.Row, sources: dict[str, Source]) -> Person:
        return Person(r["id"], r["seed_key"], r["name"], tuple(_json_list(r["roles"])),
                      r["description"], self._cite(sources, r["source_keys"]))

    async def characters(self, season: int | None = None) -> list[Character]:
        """Every character (or those appearing in `season`), sorted by name."""
        sources = await self.sources()
        people = {p.id: p for p in await self.people()}
        where, params = ("", ()) if season is None else (
            "WHERE c.id IN (SELECT character_id FROM character_seasons WHERE season = ?)",
            (season,),
        )
        rows = await self._db.fetch_all(
            "SELECT c.*,"
            " (SELECT json_group_array(alias) FROM character_aliases a"
            "   WHERE a.character_id = c.id) AS alias_list,"
            " (SELECT json_group_array(season) FROM (SELECT season FROM character_seasons s"
            "   WHERE s.character_id = c.id ORDER BY season)) AS season_list"
            f" FROM characters c {where} ORDER BY c.name COLLATE NOCASE",
            params,
        )
        return [
            Character(
                id=r["id"], key=r["seed_key"], name=r["name"],
                aliases=tuple(sorted(_json_list(r["alias_list"]))),
                actor=people.get(r["actor_id"]), seasons=tuple(_json_list(r["season_list"])),
                in_film=bool(r["in_film"]), description=r["description"],
                arcs={int(k): v for k, v in json.loads(r["arcs"] or "{}").items()},
                school=r["school"], school_detail=r["school_detail"], role=r["role"],
                sources=self._cite(sources, r["source_keys"]),
            )
            for r in rows
        ]

    async def character_quote_ids(self, character_id: int, guild_id: int | None
                                  ) -> tuple[int, ...]:
        """Quotes about this character or by the person who plays them, visible in the guild
        (canon ones everywhere, approved submissions only where they were made, less what the
        guild removed or hid), in id order.
        Kept in the read cache: every character card shows their number."""
        cached = self._cache.quote_ids(character_id, guild_id)
        if cached is not None:
            return cached
        epoch = self._cache.epoch
        # Two indexed lookups joined by UNION, each driven from the few rows it needs (CROSS
        # JOIN fixes the order): with OR, or left to the planner without statistics, SQLite
        # scanned every quote.
        rows = await self._db.fetch_all(
            "SELECT q.id FROM quote_characters qc CROSS JOIN quotes q ON q.id = qc.quote_id"
            " WHERE qc.character_id = :character"
            "   AND (q.status = 'canon' OR (q.status = 'approved' AND q.guild_id IS :guild))"
            "   AND NOT EXISTS (SELECT 1 FROM quote_hidden h"
            "                   WHERE h.guild_id IS :guild AND h.quote_id = q.id)"
            " UNION"
            " SELECT q.id FROM characters c CROSS JOIN quotes q ON q.speaker_id = c.actor_id"
            " WHERE c.id = :character"
            "   AND (q.status = 'canon' OR (q.status = 'approved' AND q.guild_id IS :guild))"
            "   AND NOT EXISTS (SELECT 1 FROM quote_hidden h"
            "                   WHERE h.guild_id IS :guild AND h.quote_id = q.id)"
            " ORDER BY 1",
            {"guild": guild_id, "character": character_id},
        )
        ids = tuple(r["id"] for r in rows)
        self._cache.keep_quote_ids(character_id, guild_id, ids, epoch)
        return ids

    async def seasons(self) -> list[Season]:
        """Every season, with its new cast, episodes and sources: read once and kept until
        canon changes (a seed here, or another process's, seen through migration 0018's
        triggers)."""
        epoch = self._cache.epoch
        kept = self._cache.seasons()
        if kept is None:
            kept = tuple(await self._read_seasons())
            self._cache.keep_seasons(kept, epoch)
        return list(kept)

    async def _read_seasons(self) -> list[Season]:
        sources = await self.sources()
        rows = await self._db.fetch_all("SELECT * FROM seasons ORDER BY number")
        # Only the people the seasons name: reading every person (thousands in a grown store)
        # was most of a /season.
        people = {p.key: p for p in await self._people_keyed(
            {k for r in rows for k in _json_list(r["new_cast"])}) if p.key}
        episodes: dict[int, list[Episode]] = {}
        for episode in await self.episodes():
            episodes.setdefault(episode.season, []).append(episode)
        return [
            Season(
                number=r["number"], title=r["title"], status=r["status"],
                release_date=r["release_date"], episode_count=r["episode_count"],
                episodes=tuple(_json_list(r["episodes"])),
                new_cast=tuple(people[k] for k in _json_list(r["new_cast"]) if k in people),
                sources=self._cite(sources, r["source_keys"]),
                episode_list=tuple(episodes.get(r["number"], ())),
            )
            for r in rows
        ]

    async def episodes(self, season: int | None = None) -> list[Episode]:
        """Every episode (or one season's), in watching order."""
        sources = await self.sources()
        where, params = ("", ()) if season is None else ("WHERE season = ?", (season,))
        rows = await self._db.fetch_all(
            f"SELECT season, number, title, source_keys FROM episodes {where}"
            " ORDER BY season, number", params)
        return [Episode(r["season"], r["number"], r["title"],
                        self._cite(sources, r["source_keys"])) for r in rows]

    async def episode_quote_ids(self, season: int, episode: int, guild_id: int | None
                                ) -> tuple[int, ...]:
        """Quotes about this episode that the guild can see (canon everywhere, approved
        submissions where they were made, neither taken out of the guild's quotes), in id
        order."""
        rows = await self._db.fetch_all(
            "SELECT id FROM quotes WHERE season = :season AND episode = :episode"
            " AND (status = 'canon' OR (status = 'approved' AND guild_id IS :guild))"
            " AND id NOT IN (SELECT quote_id FROM quote_hidden WHERE guild_id IS :guild)"
            " ORDER BY id",
            {"season": season, "episode": episode, "guild": guild_id})
        return tuple(r["id"] for r in rows)

    async def films(self) -> list[Film]:
        sources = await self.sources()
        rows = await self._db.fetch_all("SELECT * FROM films ORDER BY release_year, title")
        return [Film(r["seed_key"], r["title"], r["status"], r["release_year"], r["release_date"],
                     self._cite(sources, r["source_keys"]),
                     tuple(FilmFact(str(f["text"]), tuple(sources[k] for k in f["sources"]
                                                          if k in sources))
                           for f in _json_list(r["known"])))
                for r in rows]

    async def awards(self) -> list[Award]:
        sources = await self.sources()
        people = {p.key: p for p in await self.people() if p.key}
        rows = await self._db.fetch_all("SELECT * FROM awards ORDER BY year, award")
        return [Award(r["seed_key"], r["year"], r["award"], r["result"],
                      tuple(people[k] for k in _json_list(r["people"]) if k in people),
                      self._cite(sources, r["source_keys"])) for r in rows]

    async def stats(self) -> StoreStats:
        row = await self._db.fetch_one(
            "SELECT"
            " (SELECT COUNT(*) FROM sources) AS sources,"
            " (SELECT COUNT(*) FROM people) AS people,"
            " (SELECT COUNT(*) FROM characters) AS characters,"
            " (SELECT COUNT(*) FROM quotes WHERE status = 'canon') AS quotes_canon,"
            " (SELECT COUNT(*) FROM quotes q WHERE status IN ('canon', 'approved')"
            "   AND speaker_name <> '' AND outlet IS NOT NULL"
            f"  AND {_NOT_REMOVED}) AS quotes_attributed,"
            " (SELECT COUNT(*) FROM quotes q WHERE status = 'approved'"
            f"  AND {_NOT_REMOVED}) AS quotes_approved,"
            " (SELECT COUNT(*) FROM quotes WHERE status = 'pending') AS quotes_pending,"
            " (SELECT COUNT(*) FROM news_items) AS news_items,"
            " (SELECT COUNT(*) FROM seasons) AS seasons,"
            " (SELECT COUNT(*) FROM films) AS films,"
            " (SELECT COUNT(*) FROM awards) AS awards,"
            " (SELECT COUNT(*) FROM episodes) AS episodes,"
            " (SELECT COALESCE(SUM(json_array_length(known)), 0) FROM films) AS film_facts,"
            " (SELECT COUNT(*) FROM quotes WHERE episode IS NOT NULL"
            "   AND status IN ('canon', 'approved')) AS quotes_with_episode"
        )
        assert row is not None
        return StoreStats(schema_version=await self._db.user_version(), **dict(row))
