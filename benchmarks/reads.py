"""What one read costs by where it runs: on the event loop's own thread
(`Database.read_on_loop`, where every read first runs within `INLINE_READ_STEPS`) or as a trip
to aiosqlite's thread (the reader connection, where reads used to run and longer ones still
do). CPU per read counts every thread of the process; the reads are the hot paths' own: a quote
by id, and a quote draw's walk, on the grown store (`--only reads`)."""

from __future__ import annotations

import random
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from benchmarks.figures import Figure, Section
from benchmarks.latency import grow_store
from bot.quotes.models import QuoteFilter
from bot.store import Store

GUILD = 424242


async def _cpu_per_read(reads: int, read: Callable[[int], Awaitable[object]]) -> tuple[float,
                                                                                        float]:
    """CPU and wall microseconds per read, `reads` reads one after another."""
    for i in range(min(reads, 50)):  # warm the page cache and the statement caches
        await read(i)
    cpu, wall = time.process_time(), time.perf_counter()
    for i in range(reads):
        await read(i)
    return ((time.process_time() - cpu) / reads * 1e6,
            (time.perf_counter() - wall) / reads * 1e6)


async def run(*, characters: int, quotes: int, reads: int,
              work_dir: Path | None = None) -> Section:
    section = Section("reads", "Reads: on the event loop's thread or a trip to aiosqlite's")
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(dir=work_dir) as folder:
        db_path = Path(folder) / "reads.db"
        await grow_store(db_path, characters, quotes)
        async with await Store.open(db_path) as store:
            db = store.database
            ids = [int(r[0]) for r in await db.fetch_all("SELECT id FROM quotes LIMIT 1000")]
            by_id = "SELECT id, text FROM quotes WHERE id = ?"
            rng = random.Random(3)
            walk_sql, walk_params = store.quotes._walk_sql(  # the draw's own query
                GUILD, QuoteFilter(), 0, await store.quotes._pool(GUILD), unseen=True)

            async def on_loop(i: int) -> object:
                rows = db.read_on_loop(by_id, (ids[i % len(ids)],))
                assert rows is not None  # a lookup by key is far within the step budget
                return rows

            async def via_thread(i: int) -> object:
                return await db.reader.execute_fetchall(by_id, (ids[i % len(ids)],))

            async def walk_on_loop(i: int) -> object:
                params = {**walk_params, "start": rng.getrandbits(64) - 2**63}
                rows = db.read_on_loop(walk_sql, params)
                assert rows is not None
                return rows

            async def walk_via_thread(i: int) -> object:
                params = {**walk_params, "start": rng.getrandbits(64) - 2**63}
                return await db.reader.execute_fetchall(walk_sql, params)

            results = {}
            for name, read in (("quote by id, on the loop", on_loop),
                               ("quote by id, via aiosqlite's thread", via_thread),
                               ("draw walk, on the loop", walk_on_loop),
                               ("draw walk, via aiosqlite's thread", walk_via_thread)):
                cpu, wall = await _cpu_per_read(reads, read)
                results[name] = {"cpu_us": round(cpu, 1), "wall_us": round(wall, 1)}
                section.add(Figure(f"{name}: CPU / wall per read", f"{cpu:.0f} / {wall:.0f}",
                                   "us"))
    section.details.update(reads=reads, characters=characters, quotes=quotes,
                           results=results)
    section.seconds = time.perf_counter() - started
    return section
