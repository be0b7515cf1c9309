"""Quotes: the per-server pool, its rotation, full-text search, submissions and their review,
and the quote-of-the-day schedule.

A server's pool is every canon quote (shared by all servers) plus the submissions approved in that
server, less the quotes the server took out (removed or hidden: quote_hidden). Every query below
restricts itself to that pool with `_pool` (or `_pool_or_pending`).
"""

from __future__ import annotations

import asyncio
import heapq
import json
import sqlite3
import time
from collections.abc import Collection, Iterable, Sequence
from datetime import UTC, date, datetime

import aiosqlite

from bot.canon.models import Person, Source
from bot.core.cache import ReadCache, SpeakerNames, fold
from bot.core.database import Database
from bot.core.times import parse_stamp, stamp
from bot.quotes.models import (
    DailyQuoteSchedule,
    Quote,
    QuoteAuditEntry,
    QuoteDraw,
    QuoteFilter,
    QuoteSearchHit,
    QuoteSearchPage,
    QuoteSettings,
    QuoteSubmission,
)

_IN_POOL = "(q.status = 'canon' OR (q.status = 'approved' AND q.guild_id = :guild))"


def _not_hidden(quote: str = "q") -> str:
    """That the server did not take out the quotes row aliased `quote` (a removed member
    quote, a hidden canon one)."""
    return ("NOT EXISTS (SELECT 1 FROM quote_hidden h"
            f" WHERE h.guild_id = :guild AND h.quote_id = {quote}.id)")


# A lookup by the table's primary key, but one per quote a walk or search passes, which makes a
# long walk measurably slower (figures: benchmarks/README.md), so it is added only for the
# servers that took something out (QuotesRepository._pool).
_NOT_HIDDEN = _not_hidden()
# The walk's index for each filter: it must deliver quotes in shuffle_key order (so a draw stops
# at the first unseen match) and cover status and guild_id (so no table lookups along the way).
_WALK_BY_PERSON = "quotes_by_speaker"
_WALK_BY_SEASON = "quotes_by_season"
_WALK_ALL = "quotes_by_shuffle_key"
# The guild's pool plus what is waiting for review there: what a new submission may duplicate.
_IN_POOL_OR_PENDING = (
    "(q.status = 'canon' OR (q.status IN ('approved', 'pending') AND q.guild_id = :guild))"
)
# How SQLite says it could not read a MATCH expression (as opposed to any other failure).
_SEARCH_FAILURES = ("fts5:", "no such column", "unknown special query", "unterminated string",
                    "expected integer", "malformed MATCH")
# Markers that delimit a match in snippets; control characters never survive submission.
MATCH_START = "\x01"
MATCH_END = "\x02"
_SNIPPET_TOKENS = 40
# Up to this many matches a search is ordered best first (bm25 scores every match, so its cost
# grows with them); from it on, newest first straight off the index, where the words say little
# anyway.
RANKED_BELOW = 100
# Matches are counted this far past the page shown, no further ("Page 1 of 20+"): counting
# every match of a common word costs far more than the page itself.
COUNTED_AHEAD = 100
# The full-text index is compacted once this many quote writes (rows inserted, deleted or
# re-worded, a stand-in for the segments they left) have piled up since the last time (see
# compact_search_index): compaction rewrites the whole index, and FTS5's own lazy merging keeps
# the segments of fewer writes to a handful.
COMPACT_AFTER_WRITES = 1000
# Pages FTS5 writes per merge step (the first step, which gathers every b-tree, is the longest):
# a read queues behind a step, never behind the whole compaction (writes do: see
# compact_search_index).
COMPACT_PAGES_PER_STEP = 200
_MIN_KEY = -(2**63)
_MAX_KEY = 2**63 - 1
# What a search statement may cost: it is stopped once it has run this long. Well above what
# the searches bot/quotes/search.py lets through need, well below what a search of many short
# prefixes would take, which every read of the bot waits behind (the reader runs one statement
# at a time). Measured in benchmarks/quote_queries.py.
SEARCH_BUDGET = 0.05
# The near-duplicate check of a submission (much rarer than searches) may take longer: enough
# for a typical one, not for one made of very common words only (benchmarks/quote_queries.py).
DUPLICATE_BUDGET = 0.1
# SQLite calls the budget's check every this many virtual-machine steps: a plain search takes
# 2,000-6,000 steps, and FTS5's own lookups (which merge the word lists of a prefix) run their
# steps in between, so a costly search is checked every few milliseconds.
BUDGET_CHECK_STEPS = 1000

# Quote draws counted as shown by one statement (4 parameters each, far below SQLite's limit).
MARKS_PER_STATEMENT = 500
_QUOTE_FIELDS = (
    "q.id, q.seed_key, q.text, q.speaker_id, q.speaker_name, q.outlet, q.said_on,"
    " q.season, q.episode, q.context, q.status, q.guild_id, q.submitted_by, q.source_keys,"
    " q.source_text,"
    " p.seed_key AS person_key, p.name AS person_name, p.roles AS person_roles,"
    " (SELECT json_group_array(c.name) FROM quote_characters qc"
    "   JOIN characters c ON c.id = qc.character_id WHERE qc.quote_id = q.id) AS about,"
    " (SELECT json_group_array(c.name) FROM characters c"
    "   WHERE q.speaker_id IS NOT NULL AND c.actor_id = q.speaker_id) AS plays"
)
_QUOTE_FROM = "FROM quotes q LEFT JOIN people p ON p.id = q.speaker_id"
_AUDIT_INSERT = ("INSERT INTO quote_audit (guild_id, quote_id, action, actor_id, reason, at)"
                 " VALUES (?, ?, ?, ?, ?, ?)")
_QUOTE_COLUMNS = f"SELECT {_QUOTE_FIELDS} {_QUOTE_FROM}"


class InvalidSearch(ValueError):
    """FTS5 could not read the search expression."""


class SearchTooCostly(RuntimeError):
    """A search ran past its budget (SEARCH_BUDGET) and was stopped; it returned nothing."""


class _Budget:
    """A progress handler that stops its statement once it has run `seconds`, timed from the
    handler's first call, a check's worth of steps in (so a statement waiting for its turn on
    the reader does not spend its budget waiting)."""

    __slots__ = ("exceeded", "seconds", "started")

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.started: float | None = None
        self.exceeded = False

    def __call__(self) -> int:
        now = time.perf_counter()
        if self.started is None:
            self.started = now
        elif now - self.started > self.seconds:
            self.exceeded = True
            return 1  # SQLite stops the statement: OperationalError "interrupted"
        return 0


def in_pool(quote: Quote, guild_id: int) -> bool:
    """Whether the quote belongs to this server's pool: canon, or approved here (as _IN_POOL;
    what the server took out counts, since its old cards may still show it)."""
    return quote.status == "canon" or (quote.status == "approved"
                                       and quote.guild_id == guild_id)


def _json_list(text: str | None) -> tuple:
    # Most of a quote's four JSON lists are empty, and json.loads costs as much on "[]" as on a
    # short list: a search page builds five quotes.
    return tuple(json.loads(text)) if text and text != "[]" else ()


def _now() -> str:
    return stamp(datetime.now(UTC))


def _filter_sql(flt: QuoteFilter) -> tuple[str, dict[str, object]]:
    clauses: list[str] = []
    params: dict[str, object] = {}
    if flt.person is not None:
        clauses.append("q.speaker_name = :person COLLATE NOCASE")
        params["person"] = flt.person
    if flt.season is not None:
        clauses.append("q.season = :season")
        params["season"] = flt.season
    if flt.character_id is not None:
        clauses.append(
            "q.id IN (SELECT quote_id FROM quote_characters WHERE character_id = :character)"
        )
        params["character"] = flt.character_id
    return "".join(f" AND {c}" for c in clauses), params


class QuotesRepository:
    def __init__(self, database: Database, cache: ReadCache) -> None:
        self._db = database
        self._cache = cache
        # Seconds a search statement may run, and how many steps apart SQLite checks it.
        self.search_budget = SEARCH_BUDGET
        self.duplicate_budget = DUPLICATE_BUDGET
        self.search_check_steps = BUDGET_CHECK_STEPS
        # The servers that took quotes out (see _hides), as of the read cache's epoch.
        self._hiding: frozenset[int] | None = None
        self._hiding_epoch = -1

    async def _fetch_within_budget(self, sql: str, params: tuple | dict,
                                   seconds: float) -> list[aiosqlite.Row]:
        """`fetch_all`, stopped after `seconds` on the reader's thread (SearchTooCostly).

        The budget is a progress handler, which SQLite keeps per connection: set on the reader,
        it would apply to every read the bot makes meanwhile. So it is set, the query run and
        the handler removed as three jobs queued back to back on the reader's thread, which
        runs one job at a time, in order: no other read can run while the handler is on. (The
        three tasks of `gather` start in the order they are made, one after another, and each
        queues its job at once.) Once queued a job runs even if this task is cancelled, so the
        handler always comes off."""
        # Most searches are done within the loop's own step budget; only the others take the
        # three trips to the reader's thread below.
        quick = self._db.read_on_loop(sql, params)
        if quick is not None:
            return quick
        reader = self._db.reader
        budget = _Budget(seconds)
        armed, rows, disarmed = await asyncio.gather(
            reader.set_progress_handler(budget, self.search_check_steps),
            reader.execute_fetchall(sql, params),
            reader.set_progress_handler(  # None removes it, as in sqlite3
                None,  # type: ignore[arg-type]  # aiosqlite's annotation lacks None
                self.search_check_steps),
            return_exceptions=True,
        )
        for outcome in (armed, disarmed):
            if isinstance(outcome, BaseException):
                raise outcome
        if isinstance(rows, BaseException):
            if budget.exceeded and isinstance(rows, sqlite3.OperationalError):
                raise SearchTooCostly(f"stopped after {seconds * 1000:.0f} ms") from None
            raise rows
        return list(rows)

    async def _pool(self, guild_id: int, *, pending: bool = False) -> str:
        """The WHERE clause of this server's pool (with its waiting submissions if `pending`),
        leaving out what the server took out only if it took anything out."""
        pool = _IN_POOL_OR_PENDING if pending else _IN_POOL
        return f"({pool} AND {_NOT_HIDDEN})" if await self._hides(guild_id) else pool

    async def _hides(self, guild_id: int) -> bool:
        """Whether this server took any quote out; the servers that did are read once and kept
        until the read cache is cleared (as take_out and put_back do, and another process's
        commit does)."""
        epoch = self._cache.epoch
        if self._hiding is None or self._hiding_epoch != epoch:
            rows = await self._db.fetch_all("SELECT DISTINCT guild_id FROM quote_hidden")
            self._hiding = frozenset(int(r["guild_id"]) for r in rows)
            self._hiding_epoch = epoch
        return guild_id in self._hiding

    # ---- reading quotes ------------------------------------------------------------------

    @staticmethod
    def _quote(r: aiosqlite.Row, sources: dict[str, Source]) -> Quote:
        speaker = None
        if r["speaker_id"] is not None and r["person_name"] is not None:
            speaker = Person(r["speaker_id"], r["person_key"], r["person_name"],
                             _json_list(r["person_roles"]))
        return Quote(
            id=r["id"], key=r["seed_key"], text=r["text"], speaker_name=r["speaker_name"],
            speaker=speaker, outlet=r["outlet"], said_on=r["said_on"], season=r["season"],
            context=r["context"], status=r["status"], guild_id=r["guild_id"],
            submitted_by=r["submitted_by"],
            about=tuple(sorted(_json_list(r["about"]))),
            sources=tuple(sources[k] for k in _json_list(r["source_keys"]) if k in sources),
            source_text=r["source_text"],
            speaker_plays=tuple(sorted(_json_list(r["plays"]))),
            episode=r["episode"],
        )

    async def quotes(self, ids: Iterable[int]) -> list[Quote]:
        """The quotes with these ids, in the order asked (missing ids are left out)."""
        wanted = list(ids)
        if not wanted:
            return []
        sources = await self._cache.sources()
        marks = ",".join("?" * len(wanted))
        rows = await self._db.fetch_all(f"{_QUOTE_COLUMNS} WHERE q.id IN ({marks})",
                                        tuple(wanted))
        by_id = {r["id"]: self._quote(r, sources) for r in rows}
        return [by_id[i] for i in wanted if i in by_id]

    async def quote(self, quote_id: int) -> Quote | None:
        found = await self.quotes([quote_id])
        return found[0] if found else None

    async def pool_size(self, guild_id: int, flt: QuoteFilter | None = None) -> int:
        where, params = _filter_sql(flt or QuoteFilter())
        value = await self._db.fetch_value(
            f"SELECT COUNT(*) FROM quotes q WHERE {await self._pool(guild_id)}{where}",
            {"guild": guild_id, **params}
        )
        return int(value or 0)

    async def speakers(self, guild_id: int, typed: str = "", *, limit: int = 25) -> list[str]:
        """Names of people with quotes in this server's pool containing `typed` (ignoring
        case), A to Z."""
        wanted = fold(typed)
        canon, here = await self._speaker_names(guild_id)
        found: list[str] = []
        for folded in heapq.merge(canon.folded, here.folded):
            if wanted in folded:  # `here` leaves out names `canon` has: no duplicates
                found.append(canon.by_fold.get(folded) or here.by_fold[folded])
                if len(found) >= limit:
                    break
        return found

    async def speaker_named(self, guild_id: int, name: str) -> str | None:
        """The speaker name as stored, if someone by that name (any case) has quotes here."""
        canon, here = await self._speaker_names(guild_id)
        folded = fold(name)
        return canon.by_fold.get(folded) or here.by_fold.get(folded)

    async def _speaker_names(self, guild_id: int) -> tuple[SpeakerNames, SpeakerNames]:
        """(people with canon quotes, people quoted only in this server's approved
        submissions), from the read cache: autocomplete asks on every keystroke. In a server
        that hid canon quotes, someone all of whose quotes it hid is in neither."""
        epoch = self._cache.epoch
        canon = self._cache.canon_speakers()
        if canon is None:
            # A skip scan: one index seek per distinct name rather than a pass over every quote.
            rows = await self._db.fetch_all(
                "WITH RECURSIVE names(name) AS ("
                "  SELECT (SELECT speaker_name FROM quotes"
                "          ORDER BY speaker_name COLLATE NOCASE LIMIT 1)"
                "  UNION ALL"
                "  SELECT (SELECT speaker_name FROM quotes WHERE speaker_name > names.name"
                "          COLLATE NOCASE ORDER BY speaker_name COLLATE NOCASE LIMIT 1)"
                "  FROM names WHERE names.name IS NOT NULL)"
                " SELECT name FROM names WHERE name IS NOT NULL"
                " AND EXISTS (SELECT 1 FROM quotes q WHERE q.speaker_name = names.name"
                "   COLLATE NOCASE AND q.status = 'canon')"
            )
            canon = SpeakerNames(r["name"] for r in rows)
            self._cache.keep_canon_speakers(canon, epoch)
        here = self._cache.guild_speakers(guild_id)
        if here is None:
            rows = await self._db.fetch_all(
                "SELECT DISTINCT q.speaker_name FROM quotes q"
                f" WHERE q.status = 'approved' AND q.guild_id = :guild AND {_NOT_HIDDEN}",
                {"guild": guild_id})
            here = SpeakerNames(r["speaker_name"] for r in rows
                                if fold(r["speaker_name"]) not in canon.by_fold)
            self._cache.keep_guild_speakers(guild_id, here, epoch)
        if await self._hides(guild_id):
            canon = await self._canon_speakers_here(guild_id, canon, epoch)
        return canon, here

    async def _canon_speakers_here(self, guild_id: int, canon: SpeakerNames,
                                   epoch: int) -> SpeakerNames:
        """`canon` without the people whose every canon quote this server hid (and who have no
        approved quote here either): offered, they would only lead to "no quotes here"."""
        kept = self._cache.guild_canon_speakers(guild_id)
        if kept is not None:
            return kept
        rows = await self._db.fetch_all(
            "SELECT q.speaker_name AS name, COUNT(*) AS hidden, (SELECT COUNT(*) FROM quotes c"
            "   WHERE c.status = 'canon' AND c.speaker_name = q.speaker_name COLLATE NOCASE)"
            "   AS total,"
            " (SELECT COUNT(*) FROM quotes a WHERE a.status = 'approved' AND a.guild_id = :guild"
            "   AND a.speaker_name = q.speaker_name COLLATE NOCASE"
            f"   AND {_not_hidden('a')}) AS approved_here"
            " FROM quote_hidden h JOIN quotes q ON q.id = h.quote_id"
            " WHERE h.guild_id = :guild AND q.status = 'canon'"
            " GROUP BY q.speaker_name COLLATE NOCASE", {"guild": guild_id})
        gone = {fold(r["name"]) for r in rows
                if r["hidden"] >= r["total"] and not r["approved_here"]}
        kept = (SpeakerNames(n for f, n in canon.by_fold.items() if f not in gone) if gone
                else canon)
        self._cache.keep_guild_canon_speakers(guild_id, kept, epoch)
        return kept

    async def person_named(self, name: str) -> Person | None:
        """A person of the seed whose name is `name` (any case), to attribute a submission."""
        row = await self._db.fetch_one(
            "SELECT id, seed_key, name, roles FROM people WHERE name = ? COLLATE NOCASE LIMIT 1",
            (" ".join(name.split()),),
        )
        if row is None:
            return None
        return Person(row["id"], row["seed_key"], row["name"],
                      tuple(json.loads(row["roles"] or "[]")))

    # ---- rotation ------------------------------------------------------------------------

    async def peek(self, guild_id: int, flt: QuoteFilter, start_key: int, *,
                   skip: Collection[int] = ()) -> QuoteDraw | None:
        """The next quote of this server's rotation for `flt`, or None if nothing matches; it
        counts as shown once `mark_shown` says so (see bot/quotes/rotation.py). `skip`: quotes
        being shown right now, not marked yet.

        Walks the pool in `shuffle_key` order from `start_key` (a random point chosen by the
        caller), wrapping around, and takes the first quote not yet shown in this cycle. When all
        have been shown, the draw opens the next cycle, avoiding the quote that was shown last;
        the cycle turns only when that draw is marked shown. Quotes added mid-cycle are simply
        unseen, so they join the current cycle.
        """
        # Reads only, the quote's columns included: one trip to the database in the usual case,
        # two when a cycle ends (a reply never waits for a write).
        pool = await self._pool(guild_id)
        select, params = self._walk_sql(guild_id, flt, start_key, pool, unseen=True, skip=skip)
        row = await self._draw_row(select, params)
        if row["id"] is not None:
            return QuoteDraw(self._quote(row, await self._cache.sources()), row["cycle"] or 1,
                             False)
        if row["cycle"] is None and not skip:
            # Nothing was ever shown for this filter here, so nothing was unseen: none match.
            return None
        # Every match has been shown (or is being shown): the first quote of the next cycle.
        # Avoid the quote shown last and those being shown now, unless nothing else is left (a
        # pool smaller than the draws at once): then any. UNION ALL under LIMIT 1 tries each
        # preference only when the one before it found nothing.
        attempts = [(True, skip), (False, skip), (False, ())] if skip else [(True, ()),
                                                                            (False, ())]
        selects = []
        for avoid_last, skipped in attempts:
            select, params = self._walk_sql(guild_id, flt, start_key, pool, unseen=False,
                                            avoid_last=avoid_last, skip=skipped, params=params)
            selects.append(f"SELECT * FROM ({select})")
        row = await self._draw_row(f"{' UNION ALL '.join(selects)} LIMIT 1", params)
        if row["id"] is None:
            return None
        # No rotation row yet means nothing was ever shown: this is still the first cycle.
        new_cycle = row["last_quote_id"] is not None
        return QuoteDraw(self._quote(row, await self._cache.sources()),
                         (row["cycle"] or 1) + new_cycle, new_cycle)

    async def _draw_row(self, select: str, params: dict[str, object]) -> aiosqlite.Row:
        """The rotation's state, and the quote `select` picks with its columns (all NULL when
        it picks none): always one row."""
        rotation = "FROM quote_rotations r WHERE r.guild_id = :guild AND r.filter_key = :key"
        row = await self._db.fetch_one(
            f"SELECT {_QUOTE_FIELDS}, (SELECT cycle {rotation}) AS cycle,"
            f" (SELECT last_quote_id {rotation}) AS last_quote_id"
            f" FROM (SELECT 1) LEFT JOIN quotes q ON q.id = ({select})"
            " LEFT JOIN people p ON p.id = q.speaker_id",
            params,
        )
        assert row is not None  # one row whatever the walk finds
        return row

    async def mark_shown(self, guild_id: int, flt: QuoteFilter, draw: QuoteDraw) -> None:
        """Count a drawn quote as shown (again is harmless); a draw that opened a new cycle
        turns the cycle first, unless another draw of it already did."""
        # Not into a later round than the draw's: a quote picked at the end of a round and
        # marked after the next one opened belongs to the round it was shown in.
        insert = ("INSERT OR IGNORE INTO quote_rotation_seen (guild_id, filter_key, quote_id)"
                  " SELECT :guild, :key, :quote WHERE NOT EXISTS (SELECT 1 FROM quote_rotations"
                  "   WHERE guild_id = :guild AND filter_key = :key AND cycle > :cycle)")
        values = {"guild": guild_id, "key": flt.key, "quote": draw.quote.id, "cycle": draw.cycle}
        if not draw.new_cycle:
            # One statement: the trigger of migration 0009 creates the rotation's row if needed
            # and records this quote as the one shown last.
            await self._db.write_one(insert, values)
            return
        async with self._db.transaction() as db:
            turned = await db.execute(
                "UPDATE quote_rotations SET cycle = ? WHERE guild_id = ? AND filter_key = ?"
                " AND cycle < ?", (draw.cycle, guild_id, flt.key, draw.cycle))
            if turned.rowcount:
                await db.execute(
                    "DELETE FROM quote_rotation_seen WHERE guild_id = ? AND filter_key = ?",
                    (guild_id, flt.key))
            await db.execute(insert, values)

    async def mark_shown_together(
            self, marks: Sequence[tuple[int, QuoteFilter, QuoteDraw]]) -> None:
        """Count several draws as shown with one statement per MARKS_PER_STATEMENT (each as
        `mark_shown` would, and just as atomic): for draws that did not open a new cycle."""
        if any(draw.new_cycle for _, _, draw in marks):
            raise ValueError("a draw that opens a cycle turns it first: use mark_shown")
        for start in range(0, len(marks), MARKS_PER_STATEMENT):
            chunk = marks[start:start + MARKS_PER_STATEMENT]
            params: list[object] = []
            for guild_id, flt, draw in chunk:
                params += (guild_id, flt.key, draw.quote.id, draw.cycle)
            rows = ", ".join(["(?, ?, ?, ?)"] * len(chunk))
            # In the order given: the trigger of migration 0009 records the last as shown last.
            await self._db.write_one(
                f"WITH marks(guild, key, quote, cycle) AS (VALUES {rows})"
                " INSERT OR IGNORE INTO quote_rotation_seen (guild_id, filter_key, quote_id)"
                " SELECT guild, key, quote FROM marks m WHERE NOT EXISTS (SELECT 1"
                "   FROM quote_rotations r WHERE r.guild_id = m.guild"
                "   AND r.filter_key = m.key AND r.cycle > m.cycle)",
                tuple(params))

    @staticmethod
    def _walk_sql(guild_id: int, flt: QuoteFilter, start_key: int, pool: str, *, unseen: bool,
                  avoid_last: bool = False, skip: Collection[int] = (),
                  params: dict[str, object] | None = None) -> tuple[str, dict[str, object]]:
        """A SELECT of the first match in shuffle_key order from `start_key`, wrapping around
        (at most one row), and its parameters (added to `params`): only quotes not shown this
        cycle if `unseen`, never the quote shown last if `avoid_last`."""
        where, filter_params = _filter_sql(flt)
        params = {**(params or {}), **filter_params}
        if unseen:
            where += (" AND NOT EXISTS (SELECT 1 FROM quote_rotation_seen s"
                      " WHERE s.guild_id = :guild AND s.filter_key = :key AND s.quote_id = q.id)")
        if avoid_last:
            where += (" AND q.id IS NOT (SELECT last_quote_id FROM quote_rotations r"
                      " WHERE r.guild_id = :guild AND r.filter_key = :key)")
        if skip:
            names = [f"skip{i}" for i in range(len(skip))]
            where += f" AND q.id NOT IN ({', '.join(':' + n for n in names)})"
            params.update(zip(names, skip, strict=True))
        # Left to itself the planner prefers quotes_by_status and sorts the whole pool.
        index = (_WALK_BY_PERSON if flt.person is not None
                 else _WALK_BY_SEASON if flt.season is not None else _WALK_ALL)
        source = f"quotes q INDEXED BY {index}"
        if flt.character_id is not None:
            # A character's quotes are few: read them (CROSS JOIN keeps that order) and sort
            # them, rather than walk the whole pool hoping to meet one.
            source = ("quote_characters qc CROSS JOIN quotes q ON q.id = qc.quote_id"
                      " AND qc.character_id = :character")

        def walk(low: str, high: str) -> str:
            return (
                f"SELECT * FROM (SELECT q.id FROM {source}"
                f" WHERE q.shuffle_key BETWEEN {low} AND {high} AND {pool}{where}"
                " ORDER BY q.shuffle_key LIMIT 1)"
            )

        # From the random point to the end of the order, then from its start: UNION ALL under
        # LIMIT 1 runs the second walk only when the first finds nothing.
        select = f"{walk(':start', ':max_key')} UNION ALL {walk(':min_key', ':start - 1')} LIMIT 1"
        params.update(guild=guild_id, key=flt.key, start=start_key, min_key=_MIN_KEY,
                      max_key=_MAX_KEY)
        return select, params

    # ---- search --------------------------------------------------------------------------

    async def search(self, guild_id: int, expression: str, *, page: int = 0,
                     per_page: int = 5) -> QuoteSearchPage:
        """Quotes of this server's pool matching an FTS5 expression: best first when fewer
        than RANKED_BELOW match, else newest first. Matches are counted up to COUNTED_AHEAD
        past this page (`capped` says the count stopped there).

        Raises InvalidSearch when FTS5 cannot read the expression, SearchTooCostly when it ran
        past `search_budget`.
        """
        offset = page * per_page
        most = max(RANKED_BELOW, offset + COUNTED_AHEAD)
        params = {"guild": guild_id, "expr": expression, "most": most, "ranked": RANKED_BELOW,
                  "limit": per_page, "offset": offset}
        matches = (
            "FROM quotes_fts JOIN quotes q ON q.id = quotes_fts.rowid"
            " LEFT JOIN people p ON p.id = q.speaker_id"
            f" WHERE quotes_fts MATCH :expr AND {await self._pool(guild_id)}"
        )
        # One past `most`, to tell exactly `most` matches from more.
        count = f"SELECT COUNT(*) FROM (SELECT 1 {matches} LIMIT :most + 1)"
        columns = (f"(SELECT n FROM counted) AS counted, {_QUOTE_FIELDS}, snippet(quotes_fts,"
                   f" 0, char(1), char(2), '…', {_SNIPPET_TOKENS}) AS snippet {matches}")
        # One statement, one trip: the count, then the page in the order it calls for. The
        # order that does not apply gets LIMIT 0, which SQLite honours before doing any work
        # (ranking every match of a common word would cost milliseconds).
        page_sql = (
            f"WITH counted(n) AS MATERIALIZED ({count})"
            f" SELECT * FROM (SELECT {columns} ORDER BY rank LIMIT CASE"
            "   WHEN (SELECT n FROM counted) < :ranked THEN :limit ELSE 0 END OFFSET :offset)"
            f" UNION ALL SELECT * FROM (SELECT {columns} ORDER BY quotes_fts.rowid DESC LIMIT CASE"
            "   WHEN (SELECT n FROM counted) >= :ranked THEN :limit ELSE 0 END OFFSET :offset)"
        )
        try:
            rows = await self._fetch_within_budget(page_sql, params, self.search_budget)
            if rows:
                counted = int(rows[0]["counted"])
            elif offset:  # past the last page (an old pager): only the count says how far
                counted = int((await self._fetch_within_budget(
                    count, params, self.search_budget))[0][0] or 0)
            else:
                counted = 0
        except sqlite3.OperationalError as exc:
            if any(marker in str(exc) for marker in _SEARCH_FAILURES):
                raise InvalidSearch(str(exc)) from None
            raise
        total = min(counted, most)
        sources = await self._cache.sources()
        hits = tuple(QuoteSearchHit(self._quote(r, sources), r["snippet"] or "") for r in rows)
        return QuoteSearchPage(hits, total, page, per_page, capped=counted > most,
                               ranked=total < RANKED_BELOW)

    async def compact_search_index(self, *, min_writes: int = COMPACT_AFTER_WRITES,
                                   pages_per_step: int = COMPACT_PAGES_PER_STEP) -> int:
        """Merge the full-text index back into one b-tree once `min_writes` quote writes have
        piled up since it last was; returns the merge steps that did work (0: not due yet, or
        nothing left to merge).

        Each step is FTS5's 'merge' command with a negative budget (merge whatever b-trees
        there are, at any level), a statement of its own: searches take turns with the steps,
        and a step that changes fewer than two rows found nothing left to merge (FTS5's
        documented test). This process's writes wait for the whole round: a write between two
        steps leaves a b-tree of its own and starts the merge over, and with one after every
        step a merge never ends and FTS5's structure grows until writes fail ("database disk
        image is malformed"). Another process's writes can still land between steps, so the
        steps are capped at twice what the index's size calls for; a round that stops there
        leaves its writes counted for the next.
        """
        # An estimate, read outside the write lock: at worst a round comes a little early or
        # late.
        due = int(await self._db.fetch_value(
            "SELECT writes_since FROM search_index_upkeep WHERE id = 1") or 0)
        if due < min_writes:
            return 0
        pages = int(await self._db.fetch_value("SELECT count(*) FROM quotes_fts_data") or 0)
        steps, finished = await self._db.repeat_while_changing(
            "INSERT INTO quotes_fts(quotes_fts, rank) VALUES ('merge', ?)", (-pages_per_step,),
            most=2 * (pages // pages_per_step + 1) + 2)
        if finished:
            # Less the writes it started from: any made since count towards the next time.
            await self._db.write_one("UPDATE search_index_upkeep SET writes_since ="
                                     " max(0, writes_since - ?) WHERE id = 1", (due,))
        return steps

    async def similar_candidates(self, guild_id: int, expression: str, *,
                                 limit: int = 20) -> list[Quote]:
        """Best full-text matches among the pool and pending submissions: the quotes a new
        submission could be a near-duplicate of. Raises SearchTooCostly past `duplicate_budget`
        (ranking every quote that shares a very common word took 130-220 ms at 100,000)."""
        try:
            rows = await self._fetch_within_budget(
                "SELECT q.id FROM quotes_fts JOIN quotes q ON q.id = quotes_fts.rowid"
                f" WHERE quotes_fts MATCH :expr AND {await self._pool(guild_id, pending=True)}"
                " ORDER BY rank LIMIT :limit",
                {"guild": guild_id, "expr": expression, "limit": limit},
                self.duplicate_budget,
            )
        except sqlite3.OperationalError as exc:
            if any(marker in str(exc) for marker in _SEARCH_FAILURES):
                raise InvalidSearch(str(exc)) from None
            raise
        return await self.quotes(r["id"] for r in rows)

    async def term_frequencies(self, terms: Iterable[str]) -> dict[str, int]:
        """How many quotes (of any server or status) contain each of these indexed terms."""
        wanted = list(dict.fromkeys(terms))
        if not wanted:
            return {}
        marks = ",".join("?" * len(wanted))
        rows = await self._db.fetch_all(
            f"SELECT term, doc FROM quotes_fts_terms WHERE term IN ({marks})", tuple(wanted)
        )
        return {r["term"]: int(r["doc"]) for r in rows}

    # ---- submissions and review ----------------------------------------------------------

    async def submit(self, *, guild_id: int, user_id: int, text: str, speaker_name: str,
                     speaker_id: int | None, source_text: str | None,
                     near_duplicate_of: int | None) -> QuoteSubmission:
        async with self._db.transaction() as db:
            async with db.execute(
                "INSERT INTO quotes (text, speaker_id, speaker_name, source_text, status,"
                " guild_id, submitted_by, created_at) VALUES (?, ?, ?, ?, 'pending', ?, ?, ?)"
                " RETURNING id",
                (text, speaker_id, speaker_name, source_text, guild_id, user_id, _now()),
            ) as cursor:
                row = await cursor.fetchone()
            assert row is not None  # INSERT ... RETURNING gives the new row
            quote_id = int(row[0])
            await db.execute(
                "INSERT INTO quote_submissions (quote_id, near_duplicate_of) VALUES (?, ?)",
                (quote_id, near_duplicate_of),
            )
        submission = await self.submission(quote_id)
        assert submission is not None
        return submission

    async def _submissions(self, where: str, params: dict[str, object], *,
                           order: str = "q.id", limit: int = 1,
                           offset: int = 0) -> list[QuoteSubmission]:
        rows = await self._db.fetch_all(
            "SELECT q.id, q.created_at, s.near_duplicate_of, s.reviewer_id, s.reason,"
            " s.decided_at, s.dm_status, h.kind IS NOT NULL AS removed,"
            " CASE WHEN h.kind IS NOT NULL THEN (SELECT a.reason FROM quote_audit a"
            "   WHERE a.quote_id = q.id AND a.action = 'removed' ORDER BY a.id DESC LIMIT 1)"
            " END AS removed_reason"
            " FROM quotes q JOIN quote_submissions s ON s.quote_id = q.id"
            " LEFT JOIN quote_hidden h ON h.guild_id = q.guild_id AND h.quote_id = q.id"
            "   AND h.kind = 'removed'"
            f" WHERE {where} ORDER BY {order} LIMIT :limit OFFSET :offset",
            {**params, "limit": limit, "offset": offset},
        )
        quotes = {q.id: q for q in await self.quotes(r["id"] for r in rows)}
        return [
            QuoteSubmission(
                quote=quotes[r["id"]], submitted_at=r["created_at"],
                near_duplicate_of=r["near_duplicate_of"], reviewer_id=r["reviewer_id"],
                reason=r["reason"], decided_at=r["decided_at"], dm_status=r["dm_status"],
                removed=bool(r["removed"]), removed_reason=r["removed_reason"],
            )
            for r in rows if r["id"] in quotes
        ]

    async def submission(self, quote_id: int) -> QuoteSubmission | None:
        found = await self._submissions("q.id = :id", {"id": quote_id})
        return found[0] if found else None

    async def next_pending(self, guild_id: int, *, after_id: int = 0) -> QuoteSubmission | None:
        """The oldest submission waiting for review in this server after `after_id`; wraps to
        the oldest of all when none is left after it."""
        for low in (after_id, 0):
            found = await self._submissions(
                "q.status = 'pending' AND q.guild_id = :guild AND q.id > :low",
                {"guild": guild_id, "low": low},
            )
            if found:
                return found[0]
        return None

    async def pending(self, guild_id: int, *, offset: int = 0,
                      limit: int = 10) -> list[QuoteSubmission]:
        """The submissions waiting for review in this server, oldest first."""
        return await self._submissions("q.status = 'pending' AND q.guild_id = :guild",
                                       {"guild": guild_id}, limit=limit, offset=offset)

    async def pending_count(self, guild_id: int) -> int:
        value = await self._db.fetch_value(
            "SELECT COUNT(*) FROM quotes WHERE status = 'pending' AND guild_id = ?", (guild_id,)
        )
        return int(value or 0)

    async def decide(self, quote_id: int, *, guild_id: int, reviewer_id: int, approve: bool,
                     reason: str | None = None) -> QuoteSubmission | None:
        """Approve or reject a pending submission of this server; None if it was not pending
        any more (another reviewer was faster)."""
        try:
            decided = await self._record_decision(quote_id, guild_id, reviewer_id, approve,
                                                  reason)
        finally:
            if approve:  # the quote now counts on cards (and a rollback undoes what was read)
                self._cache.clear()
        if not decided:
            return None
        return await self.submission(quote_id)

    async def _record_decision(self, quote_id: int, guild_id: int, reviewer_id: int,
                               approve: bool, reason: str | None) -> bool:
        async with self._db.transaction() as db:
            async with db.execute(
                "UPDATE quotes SET status = ? WHERE id = ? AND guild_id = ? AND status = 'pending'",
                ("approved" if approve else "rejected", quote_id, guild_id),
            ) as cursor:
                changed = cursor.rowcount
            if not changed:
                return False
            now = _now()
            await db.execute(
                "UPDATE quote_submissions SET reviewer_id = ?, reason = ?,"
                " decided_at = ? WHERE quote_id = ?",
                (reviewer_id, None if approve else reason, now, quote_id),
            )
            await db.execute(_AUDIT_INSERT, (guild_id, quote_id,
                                             "approved" if approve else "rejected",
                                             reviewer_id, None if approve else reason, now))
        return True

    async def set_dm_status(self, quote_id: int, status: str) -> None:
        async with self._db.transaction() as db:
            await db.execute("UPDATE quote_submissions SET dm_status = ? WHERE quote_id = ?",
                             (status, quote_id))

    async def submissions_by(self, guild_id: int, user_id: int, *,
                             limit: int = 10) -> list[QuoteSubmission]:
        """A member's submissions in this server, newest first."""
        return await self._submissions(
            "q.submitted_by = :user AND q.guild_id = :guild", {"user": user_id, "guild": guild_id},
            order="q.id DESC", limit=limit,
        )

    async def submission_counts(self, guild_id: int, user_id: int) -> dict[str, int]:
        rows = await self._db.fetch_all(
            "SELECT CASE WHEN h.kind = 'removed' THEN 'removed' ELSE q.status END AS status,"
            " COUNT(*) AS n FROM quotes q LEFT JOIN quote_hidden h"
            " ON h.guild_id = q.guild_id AND h.quote_id = q.id"
            " WHERE q.submitted_by = ? AND q.guild_id = ? GROUP BY 1", (user_id, guild_id),
        )
        return {r["status"]: int(r["n"]) for r in rows}

    # ---- moderation: quotes a server took out, and who decided what ----------------------

    async def hidden_kind(self, guild_id: int, quote_id: int) -> str | None:
        """'removed' or 'hidden' when this server took the quote out of its pool, else None."""
        value = await self._db.fetch_value(
            "SELECT kind FROM quote_hidden WHERE guild_id = ? AND quote_id = ?",
            (guild_id, quote_id))
        return None if value is None else str(value)

    async def take_out(self, quote_id: int, *, guild_id: int, actor_id: int, kind: str,
                       reason: str | None) -> bool:
        """Take a quote out of this server's pool ('removed' or 'hidden') and record who did
        it; False when it was out already (another reviewer was faster)."""
        try:
            async with self._db.transaction() as db:
                async with db.execute(
                    "INSERT OR IGNORE INTO quote_hidden (guild_id, quote_id, kind)"
                    " VALUES (?, ?, ?)", (guild_id, quote_id, kind),
                ) as cursor:
                    if not cursor.rowcount:
                        return False
                await db.execute(_AUDIT_INSERT, (guild_id, quote_id, kind, actor_id, reason,
                                                 _now()))
        finally:
            # Names for autocomplete and the quotes cards count change with the pool.
            self._cache.clear()
        return True

    async def put_back(self, quote_id: int, *, guild_id: int, actor_id: int,
                       kind: str) -> bool:
        """Undo `take_out` of this `kind` ('removed' is restored, 'hidden' unhidden); False
        when the quote was not out that way."""
        action = "restored" if kind == "removed" else "unhidden"
        try:
            async with self._db.transaction() as db:
                async with db.execute(
                    "DELETE FROM quote_hidden WHERE guild_id = ? AND quote_id = ? AND kind = ?",
                    (guild_id, quote_id, kind),
                ) as cursor:
                    if not cursor.rowcount:
                        return False
                await db.execute(_AUDIT_INSERT, (guild_id, quote_id, action, actor_id, None,
                                                 _now()))
        finally:
            self._cache.clear()
        return True

    @staticmethod
    def _audit(r: aiosqlite.Row) -> QuoteAuditEntry:
        return QuoteAuditEntry(quote_id=r["quote_id"], action=r["action"],
                               actor_id=r["actor_id"], reason=r["reason"],
                               at=parse_stamp(r["at"]))

    async def history(self, guild_id: int, quote_id: int | None = None, *,
                      limit: int = 20) -> list[QuoteAuditEntry]:
        """This server's decisions, newest first: about one quote, or about any."""
        where, params = "guild_id = ?", [guild_id]
        if quote_id is not None:
            where, params = "quote_id = ? AND guild_id = ?", [quote_id, guild_id]
        rows = await self._db.fetch_all(
            f"SELECT quote_id, action, actor_id, reason, at FROM quote_audit WHERE {where}"
            " ORDER BY id DESC LIMIT ?", (*params, limit))
        return [self._audit(r) for r in rows]

    # ---- settings ------------------------------------------------------------------------

    async def settings(self, guild_id: int) -> QuoteSettings:
        row = await self._db.fetch_one(
            "SELECT reviewer_role_id, notify_channel_id, notify_error FROM quote_settings"
            " WHERE guild_id = ?", (guild_id,))
        if row is None:
            return QuoteSettings(guild_id)
        return QuoteSettings(guild_id, row["reviewer_role_id"], row["notify_channel_id"],
                             row["notify_error"])

    async def set_notify_channel(self, guild_id: int, channel_id: int | None) -> None:
        """Where to announce waiting submissions (None: nowhere); forgets the last error."""
        async with self._db.transaction() as db:
            await db.execute(
                "INSERT INTO quote_settings (guild_id, notify_channel_id, updated_at)"
                " VALUES (?, ?, ?) ON CONFLICT(guild_id) DO UPDATE SET"
                " notify_channel_id = excluded.notify_channel_id, notify_error = NULL,"
                " updated_at = excluded.updated_at",
                (guild_id, channel_id, _now()),
            )

    async def record_notify_error(self, guild_id: int, error: str | None) -> None:
        async with self._db.transaction() as db:
            await db.execute("UPDATE quote_settings SET notify_error = ? WHERE guild_id = ?",
                             (error, guild_id))

    async def reviewer_role(self, guild_id: int) -> int | None:
        value = await self._db.fetch_value(
            "SELECT reviewer_role_id FROM quote_settings WHERE guild_id = ?", (guild_id,)
        )
        return None if value is None else int(value)

    async def set_reviewer_role(self, guild_id: int, role_id: int | None) -> None:
        async with self._db.transaction() as db:
            await db.execute(
                "INSERT INTO quote_settings (guild_id, reviewer_role_id, updated_at)"
                " VALUES (?, ?, ?) ON CONFLICT(guild_id) DO UPDATE SET"
                " reviewer_role_id = excluded.reviewer_role_id, updated_at = excluded.updated_at",
                (guild_id, role_id, _now()),
            )

    # ---- quote of the day ----------------------------------------------------------------

    @staticmethod
    def _schedule(r: aiosqlite.Row) -> DailyQuoteSchedule:
        posted = r["last_posted_on"]
        return DailyQuoteSchedule(
            guild_id=r["guild_id"], channel_id=r["channel_id"], local_time=r["local_time"],
            timezone=r["timezone"], next_due=parse_stamp(r["next_due"]),
            last_posted_on=date.fromisoformat(posted) if posted else None,
            last_error=r["last_error"],
            last_posted_at=parse_stamp(r["last_posted_at"]) if r["last_posted_at"] else None,
        )

    async def daily(self, guild_id: int) -> DailyQuoteSchedule | None:
        row = await self._db.fetch_one("SELECT * FROM quote_daily WHERE guild_id = ?",
                                       (guild_id,))
        return None if row is None else self._schedule(row)

    async def set_daily(self, *, guild_id: int, channel_id: int, local_time: str, timezone: str,
                        next_due: datetime, set_by: int) -> DailyQuoteSchedule:
        """Create or replace the server's schedule; the day's post record is kept, so moving
        the time to later the same day does not post a second quote that day."""
        async with self._db.transaction() as db:
            await db.execute(
                "INSERT INTO quote_daily (guild_id, channel_id, local_time, timezone, next_due,"
                " set_by, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT(guild_id) DO UPDATE SET"
                " channel_id = excluded.channel_id, local_time = excluded.local_time,"
                " timezone = excluded.timezone, next_due = excluded.next_due,"
                " set_by = excluded.set_by, last_error = NULL,"
                " updated_at = excluded.updated_at",
                (guild_id, channel_id, local_time, timezone, stamp(next_due), set_by, _now()),
            )
        schedule = await self.daily(guild_id)
        assert schedule is not None
        return schedule

    async def clear_daily(self, guild_id: int) -> bool:
        async with self._db.transaction() as db, db.execute(
            "DELETE FROM quote_daily WHERE guild_id = ?", (guild_id,)
        ) as cursor:
            return cursor.rowcount > 0

    async def due_daily(self, now: datetime) -> list[DailyQuoteSchedule]:
        rows = await self._db.fetch_all(
            "SELECT * FROM quote_daily WHERE next_due <= ? ORDER BY next_due", (stamp(now),)
        )
        return [self._schedule(r) for r in rows]

    async def advance_daily(self, schedule: DailyQuoteSchedule, *, next_due: datetime,
                            posted_on: date | None) -> bool:
        """Move a due schedule on, recording the day's post when `posted_on` is given.

        Compare-and-set on the schedule as it was read: False when someone changed or claimed
        it meanwhile, so a post is claimed by exactly one caller.
        """
        async with self._db.transaction() as db, db.execute(
            "UPDATE quote_daily SET next_due = ?,"
            " last_posted_on = COALESCE(?, last_posted_on)"
            " WHERE guild_id = ? AND next_due = ? AND channel_id = ?"
            " AND last_posted_on IS ?",
            (stamp(next_due), posted_on.isoformat() if posted_on else None,
             schedule.guild_id, stamp(schedule.next_due), schedule.channel_id,
             schedule.last_posted_on.isoformat() if schedule.last_posted_on else None),
        ) as cursor:
            return cursor.rowcount > 0

    async def release_daily(self, claimed: DailyQuoteSchedule, *, claimed_next_due: datetime,
                            posted_on: date) -> None:
        """Undo a claim whose post failed for a passing reason, so the next pass retries it."""
        async with self._db.transaction() as db:
            await db.execute(
                "UPDATE quote_daily SET next_due = ?, last_posted_on = ?"
                " WHERE guild_id = ? AND next_due = ? AND last_posted_on = ?",
                (stamp(claimed.next_due),
                 claimed.last_posted_on.isoformat() if claimed.last_posted_on else None,
                 claimed.guild_id, stamp(claimed_next_due), posted_on.isoformat()),
            )

    async def record_daily_post(self, guild_id: int, at: datetime) -> None:
        """When a quote of the day went out here, scheduled or posted at once."""
        async with self._db.transaction() as db:
            await db.execute("UPDATE quote_daily SET last_posted_at = ? WHERE guild_id = ?",
                             (stamp(at), guild_id))

    async def record_daily_error(self, guild_id: int, error: str | None) -> None:
        async with self._db.transaction() as db:
            await db.execute("UPDATE quote_daily SET last_error = ? WHERE guild_id = ?",
                             (error, guild_id))
