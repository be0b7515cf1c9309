"""What the store keeps in memory (sources, per-character quote ids, watched seasons) on a real
SQLite file: each must show a change as soon as the change is made, whoever makes it."""

from __future__ import annotations

import asyncio
import dataclasses
import random
from pathlib import Path

import pytest

from bot.canon.seeding import load_seed
from bot.core.cache import ReadCache
from bot.core.config import DEFAULT_SEED_DIR
from bot.quotes.models import QuoteFilter
from bot.quotes.rotation import QuoteRotation
from bot.store import Store

GUILD = 111
OTHER_GUILD = 222


async def _character(store: Store, name: str):
    return next(c for c in await store.canon.characters() if c.name == name)


async def test_a_reseed_shows_changed_sources_at_once(seeded_store: Store) -> None:
    seed = load_seed(DEFAULT_SEED_DIR)
    before = await seeded_store.canon.sources()
    key = seed.sources[0].key
    changed = dataclasses.replace(seed.sources[0], title="A retitled source")
    await seeded_store.canon.apply_seed(dataclasses.replace(
        seed, sources=[changed, *seed.sources[1:]]))
    after = await seeded_store.canon.sources()
    assert before[key].title != "A retitled source"
    assert after[key].title == "A retitled source"


async def test_a_seed_by_another_process_shows_after_the_next_version_check(
        seeded_store: Store, db_path: Path) -> None:
    await seeded_store.canon.content_version()
    key = next(iter(await seeded_store.canon.sources()))
    # `heartstopper-bot db seed` in another process, while the bot runs:
    async with await Store.open(db_path) as other, other.database.transaction() as db:
        await db.execute("UPDATE sources SET title = 'Changed elsewhere' WHERE seed_key = ?",
                         (key,))
    # Until the bot checks the version (every 30 s), cards may show the old title...
    await seeded_store.canon.content_version()
    # ...and right after, the new one.
    assert (await seeded_store.canon.sources())[key].title == "Changed elsewhere"


async def test_season_cards_are_read_once_and_follow_a_change_by_another_process(
        seeded_store: Store, db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    await seeded_store.canon.content_version()
    first = await seeded_store.canon.seasons()
    reads: list[str] = []
    fetch_all = seeded_store.database.fetch_all

    async def counted(sql: str, params: tuple | dict = ()) -> list:
        reads.append(sql)
        return await fetch_all(sql, params)

    monkeypatch.setattr(seeded_store.database, "fetch_all", counted)
    assert await seeded_store.canon.seasons() == first
    assert reads == []  # kept: no trip to the database
    # `db seed` in another process retitles an episode of season 1 (migration 0018's triggers).
    async with await Store.open(db_path) as other, other.database.transaction() as db:
        await db.execute("UPDATE episodes SET title = 'Retitled elsewhere'"
                         " WHERE season = 1 AND number = 1")
    await seeded_store.canon.content_version()  # the bot's look, every 30 s
    [season_1] = [s for s in await seeded_store.canon.seasons() if s.number == 1]
    assert season_1.episode_list[0].title == "Retitled elsewhere"
    assert reads  # read again after the change


async def test_another_process_drawing_quotes_keeps_the_cache(
        seeded_store: Store, db_path: Path) -> None:
    """Shard slices in two processes commit all the time (each draw marks a quote seen); only a
    change to what is cached may throw the cache and the character index away."""
    first = await seeded_store.canon.content_version()
    async with await Store.open(db_path) as other:
        [quote_id] = await other.database.fetch_all("SELECT id FROM quotes LIMIT 1")
        async with other.database.transaction() as db:
            await db.execute("INSERT INTO quote_rotation_seen (guild_id, filter_key, quote_id)"
                             " VALUES (?, 'all', ?)", (GUILD, quote_id["id"]))
        assert await seeded_store.canon.content_version() == first
        async with other.database.transaction() as db:
            await db.execute("UPDATE characters SET name = name || '' WHERE id = 1")
        assert await seeded_store.canon.content_version() != first


async def test_an_approved_quote_counts_on_its_character_card_at_once(
        seeded_store: Store) -> None:
    charlie = await _character(seeded_store, "Charlie Spring")
    assert charlie.actor is not None
    before = await seeded_store.canon.character_quote_ids(charlie.id, GUILD)
    submitted = await seeded_store.quotes.submit(
        guild_id=GUILD, user_id=5, text="A line from an interview", speaker_name=charlie.actor.name,
        speaker_id=charlie.actor.id, source_text=None, near_duplicate_of=None)
    # Pending: not in the pool, not counted.
    assert await seeded_store.canon.character_quote_ids(charlie.id, GUILD) == before
    await seeded_store.quotes.decide(submitted.quote.id, guild_id=GUILD, reviewer_id=9,
                                     approve=True)
    after = await seeded_store.canon.character_quote_ids(charlie.id, GUILD)
    assert after == tuple(sorted((*before, submitted.quote.id)))
    # Approved in one server only: the other server's card is unchanged.
    assert await seeded_store.canon.character_quote_ids(charlie.id, OTHER_GUILD) == before


async def test_quote_ids_read_before_a_change_are_not_kept_after_it(
        seeded_store: Store) -> None:
    cache = ReadCache(seeded_store.database)
    epoch = cache.epoch
    cache.clear()  # a change lands while a read that began at `epoch` is in flight
    cache.keep_quote_ids(1, GUILD, (1, 2, 3), epoch)
    assert cache.quote_ids(1, GUILD) is None
    cache.keep_quote_ids(1, GUILD, (1, 2), cache.epoch)
    assert cache.quote_ids(1, GUILD) == (1, 2)


async def test_the_quote_id_cache_keeps_only_the_most_recent_lookups(
        seeded_store: Store) -> None:
    cache = ReadCache(seeded_store.database, quote_ids_kept=2)
    for character in (1, 2, 3):
        cache.keep_quote_ids(character, GUILD, (character,), cache.epoch)
    assert cache.quote_ids(1, GUILD) is None
    assert cache.quote_ids(2, GUILD) == (2,)
    assert cache.quote_ids(3, GUILD) == (3,)


async def test_watched_season_is_remembered_and_stored(seeded_store: Store,
                                                      db_path: Path) -> None:
    assert await seeded_store.guilds.watched_season(GUILD) is None
    await seeded_store.guilds.set_watched_season(GUILD, 2)
    assert await seeded_store.guilds.watched_season(GUILD) == 2
    assert await seeded_store.guilds.watched_season(OTHER_GUILD) is None
    async with await Store.open(db_path) as reopened:
        assert await reopened.guilds.watched_season(GUILD) == 2
    await seeded_store.guilds.set_watched_season(GUILD, None)
    assert await seeded_store.guilds.watched_season(GUILD) is None


async def test_a_setting_written_while_a_read_is_under_way_wins(
        seeded_store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    await seeded_store.guilds.set_watched_season(GUILD, 1)
    fresh = Store(seeded_store.database)  # nothing remembered yet
    read_done, resume = asyncio.Event(), asyncio.Event()
    real_fetch = seeded_store.database.fetch_value

    async def fetch_then_wait(sql: str, params: tuple | dict = ()) -> object:
        value = await real_fetch(sql, params)  # reads 1
        read_done.set()
        await resume.wait()  # ...and is slow to come back with it
        return value

    monkeypatch.setattr(seeded_store.database, "fetch_value", fetch_then_wait)
    read = asyncio.create_task(fresh.guilds.watched_season(GUILD))
    await read_done.wait()
    monkeypatch.setattr(seeded_store.database, "fetch_value", real_fetch)
    await fresh.guilds.set_watched_season(GUILD, 3)
    resume.set()
    await read
    assert await fresh.guilds.watched_season(GUILD) == 3  # not the 1 the slow read saw


async def test_concurrent_draws_never_show_a_quote_twice_in_a_round(
        seeded_store: Store) -> None:
    n = await seeded_store.quotes.pool_size(GUILD)
    rotation = QuoteRotation(seeded_store.quotes, random.Random(8))
    draws = await asyncio.gather(*(rotation.next(GUILD) for _ in range(n)))
    ids = [d.quote.id for d in draws if d is not None]
    assert len(ids) == n and len(set(ids)) == n
    # The rotation's row was created by the first draw and follows the last one.
    state = await seeded_store.database.fetch_one(
        "SELECT cycle, last_quote_id FROM quote_rotations WHERE guild_id = ? AND filter_key = ?",
        (GUILD, QuoteFilter().key))
    assert state is not None and state["cycle"] == 1 and state["last_quote_id"] in ids


async def test_people_quoted_follow_approvals_per_server(seeded_store: Store) -> None:
    quotes = seeded_store.quotes
    assert await quotes.speaker_named(GUILD, "  kit   CONNOR ") == "Kit Connor"
    assert await quotes.speaker_named(GUILD, "Zed Quokka") is None
    submitted = await quotes.submit(guild_id=GUILD, user_id=5, text="Quokkas are great",
                                    speaker_name="Zed Quokka", speaker_id=None,
                                    source_text=None, near_duplicate_of=None)
    assert "Zed Quokka" not in await quotes.speakers(GUILD, "quok")  # pending: not yet
    await quotes.decide(submitted.quote.id, guild_id=GUILD, reviewer_id=9, approve=True)
    assert await quotes.speakers(GUILD, "quok") == ["Zed Quokka"]
    assert await quotes.speaker_named(GUILD, "zed quokka") == "Zed Quokka"
    assert await quotes.speakers(OTHER_GUILD, "quok") == []
    everyone = await quotes.speakers(GUILD, "", limit=100)
    assert everyone == sorted(everyone, key=str.casefold) and "Zed Quokka" in everyone
    assert len(await quotes.speakers(GUILD, "", limit=2)) == 2


async def test_people_quoted_are_matched_as_the_person_filter_matches_them(
        seeded_store: Store) -> None:
    # The filter compares with SQLite's NOCASE (ASCII letters only), so the names do too.
    for name in ("Zoë Quokka", "ZOË QUOKKA"):
        submitted = await seeded_store.quotes.submit(
            guild_id=GUILD, user_id=5, text=f"A line by {name}", speaker_name=name,
            speaker_id=None, source_text=None, near_duplicate_of=None)
        await seeded_store.quotes.decide(submitted.quote.id, guild_id=GUILD, reviewer_id=9,
                                         approve=True)
    assert await seeded_store.quotes.speakers(GUILD, "quokka") == ["ZOË QUOKKA", "Zoë Quokka"]
    assert await seeded_store.quotes.speaker_named(GUILD, "zoë quokka") == "Zoë Quokka"
    assert await seeded_store.quotes.speaker_named(GUILD, "zoË QUOKKA") == "ZOË QUOKKA"
