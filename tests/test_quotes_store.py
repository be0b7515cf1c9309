"""The quotes repository on a real SQLite file: the rotation, search, submissions and the
quote-of-the-day schedule."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.quotes.models import QuoteFilter
from bot.quotes.rotation import QuoteRotation
from bot.quotes.store import (
    COUNTED_AHEAD,
    MATCH_END,
    MATCH_START,
    RANKED_BELOW,
    InvalidSearch,
)
from bot.store import Store
from tests.conftest import add_canon_quotes

GUILD = 111
OTHER_GUILD = 222


async def _draw_ids(rotation: QuoteRotation, count: int, flt: QuoteFilter | None = None,
                    guild: int = GUILD) -> list[int]:
    ids = []
    for _ in range(count):
        draw = await rotation.next(guild, flt)
        assert draw is not None
        ids.append(draw.quote.id)
    return ids


async def _pool(store: Store, flt: QuoteFilter | None = None, guild: int = GUILD) -> set[int]:
    # One round of a fresh rotation: as many draws as a plain count says the pool holds.
    size = await store.quotes.pool_size(guild, flt)
    assert size > 0
    return set(await _draw_ids(QuoteRotation(store.quotes, random.Random(99)), size, flt, guild))


async def _approved(store: Store, guild: int, text: str, user: int = 5) -> int:
    submitted = await store.quotes.submit(guild_id=guild, user_id=user, text=text,
                                          speaker_name="Someone", speaker_id=None,
                                          source_text=None, near_duplicate_of=None)
    decided = await store.quotes.decide(submitted.quote.id, guild_id=guild, reviewer_id=9,
                                        approve=True)
    assert decided is not None
    return decided.quote.id


# ---- rotation -------------------------------------------------------------------------------


async def test_every_quote_once_before_any_repeat(seeded_store: Store) -> None:
    n = await seeded_store.quotes.pool_size(GUILD)
    assert n == 58
    rotation = QuoteRotation(seeded_store.quotes, random.Random(1))
    first = await _draw_ids(rotation, n)
    assert len(set(first)) == n
    second = await _draw_ids(rotation, n)
    assert set(second) == set(first)
    assert second[0] != first[-1]  # a new round never opens with the quote that closed the last


async def test_a_quote_whose_reply_failed_is_not_counted_as_shown(seeded_store: Store) -> None:
    n = await seeded_store.quotes.pool_size(GUILD)
    rotation = QuoteRotation(seeded_store.quotes, random.Random(6))
    with pytest.raises(RuntimeError):
        async with rotation.draw(GUILD) as failed:
            assert failed is not None
            raise RuntimeError("the reply did not go out")
    shown = await _draw_ids(rotation, n)
    assert len(set(shown)) == n and failed.quote.id in shown  # still in this round


async def test_a_slow_reply_does_not_hold_up_the_next_draw(seeded_store: Store) -> None:
    rotation = QuoteRotation(seeded_store.quotes, random.Random(7))
    picked, release = asyncio.Event(), asyncio.Event()

    async def slow_reply() -> int:
        async with rotation.draw(GUILD) as draw:
            assert draw is not None
            picked.set()
            await release.wait()  # the reply is still on its way to Discord
            return draw.quote.id

    first = asyncio.create_task(slow_reply())
    await picked.wait()
    second = await asyncio.wait_for(rotation.next(GUILD), 5)  # not stuck behind the first
    release.set()
    assert second is not None and second.quote.id != await first
    n = await seeded_store.quotes.pool_size(GUILD)
    rest = await _draw_ids(rotation, n - 2)
    assert {second.quote.id, await first}.isdisjoint(rest)  # both counted as shown


async def test_draws_report_the_round(seeded_store: Store) -> None:
    rotation = QuoteRotation(seeded_store.quotes, random.Random(2))
    flt = QuoteFilter(person="Rhea Norwood")  # two quotes
    draws = [await rotation.next(GUILD, flt) for _ in range(3)]
    assert [(d.cycle, d.new_cycle) for d in draws if d] == [(1, False), (1, False), (2, True)]


async def test_a_failed_reply_does_not_turn_the_round(seeded_store: Store) -> None:
    """The draw that opens a new round turns it only once its reply went out."""
    rotation = QuoteRotation(seeded_store.quotes, random.Random(8))
    flt = QuoteFilter(person="Joe Locke")
    n = await seeded_store.quotes.pool_size(GUILD, flt)
    first = await _draw_ids(rotation, n, flt)
    with pytest.raises(RuntimeError):
        async with rotation.draw(GUILD, flt) as failed:
            assert failed is not None and (failed.cycle, failed.new_cycle) == (2, True)
            raise RuntimeError("the reply did not go out")
    opening = await rotation.next(GUILD, flt)
    assert opening is not None and (opening.cycle, opening.new_cycle) == (2, True)
    assert opening.quote.id != first[-1]
    rest = [await rotation.next(GUILD, flt) for _ in range(n - 1)]
    assert [(d.cycle, d.new_cycle) for d in rest if d] == [(2, False)] * (n - 1)
    assert {opening.quote.id, *(d.quote.id for d in rest if d)} == set(first)


async def test_draws_at_once_at_the_end_of_a_round_turn_it_once(seeded_store: Store) -> None:
    rotation = QuoteRotation(seeded_store.quotes, random.Random(9))
    flt = QuoteFilter(person="Kit Connor")
    n = await seeded_store.quotes.pool_size(GUILD, flt)
    first = await _draw_ids(rotation, n, flt)
    both_picked = asyncio.Barrier(2)

    async def reply() -> tuple[int, int, bool]:
        async with rotation.draw(GUILD, flt) as draw:
            assert draw is not None
            await both_picked.wait()  # neither is marked shown before both have picked
            return draw.quote.id, draw.cycle, draw.new_cycle

    opened = await asyncio.gather(reply(), reply())
    assert [(cycle, new) for _, cycle, new in opened] == [(2, True), (2, True)]
    ids = {quote_id for quote_id, _, _ in opened}
    assert len(ids) == 2
    rest = [await rotation.next(GUILD, flt) for _ in range(n - 2)]
    # The round turned once: both openers count in it, and it holds every quote once.
    assert [(d.cycle, d.new_cycle) for d in rest if d] == [(2, False)] * (n - 2)
    assert ids | {d.quote.id for d in rest if d} == set(first)
    again = await rotation.next(GUILD, flt)
    assert again is not None and (again.cycle, again.new_cycle) == (3, True)


async def test_a_draw_reading_while_a_round_opens_does_not_turn_it_again(
        seeded_store: Store) -> None:
    """An opener's reply finishes while another draw of the rotation is between its reads:
    that draw must not see half a turn, and the round turns once."""
    quotes = seeded_store.quotes
    rotation = QuoteRotation(quotes, random.Random(11))
    n = await quotes.pool_size(GUILD)
    await _draw_ids(rotation, n)
    opening = rotation.draw(GUILD)
    opener = await opening.__aenter__()  # its reply is on the way
    assert opener is not None and (opener.cycle, opener.new_cycle) == (2, True)
    read_draw_row = quotes._draw_row
    reads = 0

    async def opener_replies_between_reads(select: str, params: dict[str, object]) -> Any:
        nonlocal reads
        row = await read_draw_row(select, params)
        reads += 1
        if reads == 1:
            finished = asyncio.create_task(opening.__aexit__(None, None, None))
            # Give the opener's mark every chance to run now; it must wait for this pick.
            await asyncio.wait({finished}, timeout=0.3)
            assert not finished.done()
        return row

    quotes._draw_row = opener_replies_between_reads  # type: ignore[method-assign]
    async with rotation.draw(GUILD) as second:
        assert second is not None and (second.cycle, second.new_cycle) == (2, True)
    quotes._draw_row = read_draw_row  # type: ignore[method-assign]
    rest = await _draw_ids(rotation, n - 2)
    assert {opener.quote.id, second.quote.id}.isdisjoint(rest)  # one round, both counted in it
    assert len(set(rest)) == n - 2


async def test_a_quote_marked_after_the_next_round_opened_stays_in_its_own(
        seeded_store: Store) -> None:
    quotes = seeded_store.quotes
    rotation = QuoteRotation(quotes, random.Random(12))
    n = await quotes.pool_size(GUILD)
    await _draw_ids(rotation, n - 1)
    closing = rotation.draw(GUILD)
    last = await closing.__aenter__()  # the round's last quote, its reply slow
    assert last is not None and (last.cycle, last.new_cycle) == (1, False)
    opener = await rotation.next(GUILD)  # the next round opens meanwhile
    assert opener is not None and (opener.cycle, opener.new_cycle) == (2, True)
    await closing.__aexit__(None, None, None)
    rest = await _draw_ids(rotation, n - 1)
    assert last.quote.id in rest  # shown in round 1, still due in round 2
    assert len(set(rest) | {opener.quote.id}) == n


async def test_a_draw_reads_once_before_the_reply(seeded_store: Store) -> None:
    """What a reply waits for: one read for a draw, two when a round ends, one when nothing
    matches; writes only after the reply. Reads run on the loop's thread when quick, else on
    the reader's: both are traced."""
    statements: list[str] = []
    inline = seeded_store.database.inline
    assert inline is not None
    inline.set_trace_callback(statements.append)
    await seeded_store.database.reader.set_trace_callback(statements.append)
    await seeded_store.database.connection.set_trace_callback(statements.append)
    rotation = QuoteRotation(seeded_store.quotes, random.Random(10))

    async def before_reply(flt: QuoteFilter) -> list[str]:
        async with rotation.draw(GUILD, flt):
            picked = list(statements)
        statements.clear()
        return [s.split()[0].upper() for s in picked]

    await rotation.next(GUILD)  # the sources table, read once for every card, is now kept
    joe = QuoteFilter(person="Joe Locke")
    n = await seeded_store.quotes.pool_size(GUILD, joe)
    statements.clear()
    assert await before_reply(joe) == ["SELECT"]
    for _ in range(n - 1):
        await before_reply(joe)
    assert await before_reply(joe) == ["SELECT", "SELECT"]  # the round ends: the next opens
    assert await before_reply(QuoteFilter(person="Kit Connor", season=2)) == ["SELECT"]
    await seeded_store.database.connection.set_trace_callback(None)
    await seeded_store.database.reader.set_trace_callback(None)
    inline.set_trace_callback(None)


async def test_draws_shown_together_are_marked_by_one_statement(seeded_store: Store) -> None:
    """Each mark used to be a write of its own: a trip to the database thread per draw."""
    statements: list[str] = []
    await seeded_store.database.connection.set_trace_callback(statements.append)
    rotation = QuoteRotation(seeded_store.quotes, random.Random(4))

    async def shown() -> int:
        async with rotation.draw(GUILD) as draw:
            assert draw is not None
            return draw.quote.id

    together = await asyncio.gather(*(shown() for _ in range(6)))
    await seeded_store.database.connection.set_trace_callback(None)
    # (SQLite traces a statement again at each row its trigger runs for: count them once.)
    marks = {s for s in statements if "INTO quote_rotation_seen" in s}
    assert len(marks) == 1 and len(set(together)) == 6
    # All six count as shown: the rest of the round is the other quotes, each once.
    n = await seeded_store.quotes.pool_size(GUILD)
    rest = await _draw_ids(rotation, n - 6)
    assert len(set(rest)) == n - 6 and not set(rest) & set(together)


async def test_marks_waiting_for_their_batch_are_written_by_flush(seeded_store: Store) -> None:
    rotation = QuoteRotation(seeded_store.quotes, random.Random(5), mark_window=3600)
    drawing = asyncio.create_task(rotation.next(GUILD))
    await asyncio.sleep(0.1)
    assert not drawing.done()  # its mark waits for the batch's window
    await rotation.flush()
    draw = await asyncio.wait_for(drawing, 5)
    assert draw is not None
    seen = await seeded_store.database.fetch_value(
        "SELECT count(*) FROM quote_rotation_seen WHERE guild_id = ? AND quote_id = ?",
        (GUILD, draw.quote.id))
    assert seen == 1


async def test_a_cancelled_batch_of_marks_lets_its_draws_go(seeded_store: Store) -> None:
    """Cancelled while it waits (a shutdown cut short): its draws end, none waits for good."""
    rotation = QuoteRotation(seeded_store.quotes, random.Random(6), mark_window=3600)
    drawing = asyncio.create_task(rotation.next(GUILD))
    await asyncio.sleep(0.1)
    [batch] = [t for t in asyncio.all_tasks() if t.get_name() == "quote marks"]
    batch.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(drawing, 5)
    await rotation.flush()  # nothing left waiting


async def test_rotation_survives_reopening_the_database(seeded_store: Store,
                                                        db_path: Path) -> None:
    n = await seeded_store.quotes.pool_size(GUILD)
    before = await _draw_ids(QuoteRotation(seeded_store.quotes, random.Random(3)), 7)
    async with await Store.open(db_path) as reopened:
        after = await _draw_ids(QuoteRotation(reopened.quotes, random.Random(3)), n - 7)
    assert len(set(before + after)) == n


async def test_each_server_and_filter_has_its_own_rotation(seeded_store: Store) -> None:
    rotation = QuoteRotation(seeded_store.quotes, random.Random(4))
    await _draw_ids(rotation, 10)
    n = await seeded_store.quotes.pool_size(OTHER_GUILD)
    assert len(set(await _draw_ids(rotation, n, guild=OTHER_GUILD))) == n
    kit = QuoteFilter(person="kit connor")  # any case
    ids = await _draw_ids(rotation, 4, kit)
    assert len(set(ids)) == 4


async def test_filters_by_person_character_and_season(seeded_store: Store) -> None:
    quotes = seeded_store.quotes
    characters = {c.name: c.id for c in await seeded_store.canon.characters()}
    by_kit = await quotes.quotes(await _pool(seeded_store, QuoteFilter(person="Kit Connor")))
    assert len(by_kit) == 9 and {q.speaker_name for q in by_kit} == {"Kit Connor"}
    about_nick = QuoteFilter(character_id=characters["Nick Nelson"])
    assert all("Nick Nelson" in q.about
               for q in await quotes.quotes(await _pool(seeded_store, about_nick)))
    season_two = await quotes.quotes(await _pool(seeded_store, QuoteFilter(season=2)))
    assert season_two and {q.season for q in season_two} == {2}
    combined = QuoteFilter(person="Alice Oseman", character_id=characters["Nick Nelson"],
                           season=3)
    assert await quotes.pool_size(GUILD, combined) == 1
    nothing = QuoteFilter(person="Kit Connor", season=1)
    assert await QuoteRotation(quotes).next(GUILD, nothing) is None


async def test_a_pool_of_one_repeats_it(seeded_store: Store) -> None:
    flt = QuoteFilter(season=3, person="Sebastian Croft")
    assert await seeded_store.quotes.pool_size(GUILD, flt) == 1
    rotation = QuoteRotation(seeded_store.quotes)
    assert len(set(await _draw_ids(rotation, 3, flt))) == 1


async def test_a_quote_approved_mid_round_joins_it_in_its_server_only(
        seeded_store: Store) -> None:
    rotation = QuoteRotation(seeded_store.quotes, random.Random(5))
    first = await _draw_ids(rotation, 5)
    new_id = await _approved(seeded_store, GUILD, "A fan-submitted line for this server.")
    rest = await _draw_ids(rotation, 54)  # 58 canon + 1 new - 5 already shown
    assert new_id in rest
    assert len(set(first + rest)) == 59
    other = await _pool(seeded_store, guild=OTHER_GUILD)
    assert new_id not in other


async def test_pending_and_rejected_quotes_are_never_drawn(seeded_store: Store) -> None:
    pending = await seeded_store.quotes.submit(
        guild_id=GUILD, user_id=5, text="Waiting for review.", speaker_name="Someone",
        speaker_id=None, source_text=None, near_duplicate_of=None)
    assert pending.quote.id not in await _pool(seeded_store)


# ---- people -------------------------------------------------------------------------------


async def test_speakers_and_people_by_name(seeded_store: Store) -> None:
    quotes = seeded_store.quotes
    assert await quotes.speakers(GUILD) == [
        "Alice Oseman", "Bradley Riches", "Corinna Brown", "Euros Lyn", "Fisayo Akinade",
        "Jenny Walser", "Joe Locke", "Kit Connor", "Kizzy Edgell", "Nima Taleghani",
        "Olivia Colman", "Patrick Walters", "Rhea Norwood", "Sebastian Croft", "Tobie Donovan",
        "William Gao", "Yasmin Finney"]
    assert await quotes.speakers(GUILD, "con") == ["Kit Connor"]
    assert await quotes.speakers(GUILD, "%") == []
    assert await quotes.speaker_named(GUILD, "  kit   CONNOR ") == "Kit Connor"
    assert await quotes.speaker_named(GUILD, "Leila Khan") is None  # no quotes
    person = await quotes.person_named("leila khan")
    assert person is not None and person.name == "Leila Khan"


async def test_quotes_carry_full_attribution(seeded_store: Store) -> None:
    ids = await _pool(seeded_store, QuoteFilter(person="Kit Connor"))
    for quote in await seeded_store.quotes.quotes(ids):
        assert quote.speaker is not None and quote.speaker.name == "Kit Connor"
        assert quote.speaker_plays == ("Nick Nelson",)
        assert quote.sources


# ---- search -------------------------------------------------------------------------------


async def test_search_ranks_and_marks_matches(seeded_store: Store) -> None:
    page = await seeded_store.quotes.search(GUILD, '"first kiss"')
    assert page.total == 1
    hit = page.hits[0]
    assert hit.quote.key == "oseman-tudum-2022-04-first-kiss-scene"
    assert f"{MATCH_START}first kiss{MATCH_END}" in hit.snippet
    page = await seeded_store.quotes.search(GUILD, "chemistry OR romance")
    assert page.hits[0].quote.key == "oseman-tudum-2022-04-chemistry"  # both words: ranked first


async def test_search_covers_speaker_and_outlet_and_pages(seeded_store: Store) -> None:
    quotes = seeded_store.quotes
    by_speaker = await quotes.search(GUILD, "connor", per_page=2)
    assert by_speaker.total == 9 and len(by_speaker.hits) == 2 and by_speaker.page_count == 5
    second = await quotes.search(GUILD, "connor", page=1, per_page=2)
    assert {h.quote.id for h in by_speaker.hits}.isdisjoint(h.quote.id for h in second.hits)
    assert (await quotes.search(GUILD, "variety")).total == 1


async def test_broad_search_counts_ahead_of_the_page_and_shows_newest_first(
        seeded_store: Store) -> None:
    ids = []
    async with seeded_store.database.transaction() as db:
        for i in range(RANKED_BELOW + COUNTED_AHEAD + 20):
            rows = await db.execute_fetchall(
                "INSERT INTO quotes (text, speaker_name, status) VALUES (?, 'Someone', 'canon')"
                " RETURNING id", (f"Quokka line number {i}",))
            ids.append(rows[0][0])
    first = await seeded_store.quotes.search(GUILD, "quokka")
    assert first.capped and not first.ranked
    assert first.total == max(RANKED_BELOW, COUNTED_AHEAD)
    assert [h.quote.id for h in first.hits] == ids[::-1][:5]  # newest first
    deep = await seeded_store.quotes.search(GUILD, "quokka", page=30)
    assert deep.total == len(ids) and not deep.capped  # counted further for a deep page
    assert [h.quote.id for h in deep.hits] == ids[::-1][150:155]
    narrow = await seeded_store.quotes.search(GUILD, '"line number 7"')
    assert narrow.ranked and not narrow.capped and narrow.total == 1


async def test_exactly_the_counting_limit_of_matches_is_an_exact_count(
        seeded_store: Store) -> None:
    await add_canon_quotes(seeded_store, [f"Wombat line {i}" for i in range(RANKED_BELOW)])
    page = await seeded_store.quotes.search(GUILD, "wombat")
    assert page.total == RANKED_BELOW and not page.capped


async def test_a_page_past_the_last_still_says_how_many_match(seeded_store: Store) -> None:
    """An old pager can ask for a page that no longer exists: no hits, and the true count."""
    past = await seeded_store.quotes.search(GUILD, "connor", page=9, per_page=2)
    assert past.hits == () and past.total == 9 and past.ranked and not past.capped
    none = await seeded_store.quotes.search(GUILD, "zyzzyva")
    assert none.hits == () and none.total == 0 and none.page_count == 1


async def test_search_sees_only_this_servers_pool(seeded_store: Store) -> None:
    await _approved(seeded_store, GUILD, "Zanzibar is a word no canon quote uses.")
    assert (await seeded_store.quotes.search(GUILD, "zanzibar")).total == 1
    assert (await seeded_store.quotes.search(OTHER_GUILD, "zanzibar")).total == 0


@pytest.mark.parametrize("expression", ['"unbalanced', "don't", "kit: connor", "AND", "((",
                                        "*", "NEAR(a b, x)", "@everyone"])
async def test_unreadable_search_raises_invalid_search(seeded_store: Store,
                                                       expression: str) -> None:
    with pytest.raises(InvalidSearch):
        await seeded_store.quotes.search(GUILD, expression)


async def test_search_index_follows_edits_and_deletes(seeded_store: Store) -> None:
    quote_id = await _approved(seeded_store, GUILD, "Original wording here.")
    async with seeded_store.database.transaction() as db:
        await db.execute("UPDATE quotes SET text = 'Replacement phrasing' WHERE id = ?",
                         (quote_id,))
    assert (await seeded_store.quotes.search(GUILD, "original")).total == 0
    assert (await seeded_store.quotes.search(GUILD, "replacement")).total == 1
    async with seeded_store.database.transaction() as db:
        await db.execute("DELETE FROM quotes WHERE id = ?", (quote_id,))
    assert (await seeded_store.quotes.search(GUILD, "replacement")).total == 0


async def _one_b_tree(store: Store) -> bool:
    # FTS5's documented test: a merge step that changes fewer than two rows found one b-tree.
    _, nothing_to_merge = await store.database.repeat_while_changing(
        "INSERT INTO quotes_fts(quotes_fts, rank) VALUES ('merge', -200)", most=1)
    return nothing_to_merge


async def _writes_since(store: Store) -> int:
    return int(await store.database.fetch_value(
        "SELECT writes_since FROM search_index_upkeep") or 0)


async def test_search_index_is_compacted_once_enough_writes_piled_up(
        seeded_store: Store) -> None:
    quotes = seeded_store.quotes
    await quotes.compact_search_index(min_writes=0)  # the seed's own writes
    assert await _writes_since(seeded_store) == 0
    # One transaction each, as approvals come: each leaves a segment of its own.
    for i in range(40):
        async with seeded_store.database.transaction() as db:
            await db.execute("INSERT INTO quotes (text, speaker_name, status)"
                             " VALUES (?, 'Someone', 'canon')", (f"Pangolin number {i} speaks",))
    async with seeded_store.database.transaction() as db:
        await db.execute("UPDATE quotes SET text = 'Pangolin edited' WHERE text LIKE '%0 speaks'")
        await db.execute("DELETE FROM quotes WHERE text = 'Pangolin number 1 speaks'")
    assert await _writes_since(seeded_store) == 40 + 4 + 1  # inserts, edits, the delete
    before = await quotes.search(GUILD, "pangolin", per_page=50)

    assert await quotes.compact_search_index(min_writes=46) == 0  # not due: nothing merged
    assert await _writes_since(seeded_store) == 45
    assert await quotes.compact_search_index(min_writes=45) > 0
    assert await _writes_since(seeded_store) == 0
    assert await _one_b_tree(seeded_store)
    after = await quotes.search(GUILD, "pangolin", per_page=50)
    assert after == before and after.total == 39
    assert await quotes.compact_search_index(min_writes=0) == 0  # nothing left to merge
    # Approving, rejecting or reshuffling touches no indexed column: not a write to the index.
    async with seeded_store.database.transaction() as db:
        await db.execute("UPDATE quotes SET status = 'approved', guild_id = ?,"
                         " shuffle_key = shuffle_key + 1 WHERE text LIKE 'Pangolin%'", (GUILD,))
    assert await _writes_since(seeded_store) == 0


async def test_a_series_of_merge_steps_holds_this_process_s_writes_off(
        seeded_store: Store) -> None:
    """A write between two merge steps would start the merge over: this process's writes wait
    for the whole series (reads take turns with it)."""
    db = seeded_store.database

    async def on_the_writer(sql: str) -> int:  # a temp table lives on the writer connection
        [row] = await db.connection.execute_fetchall(sql)
        return row[0]

    await db.write_one("CREATE TEMP TABLE steps (n INTEGER)")
    await db.write_one("INSERT INTO steps (n) VALUES (0), (0)")  # two rows: each run changes 2
    series = asyncio.create_task(db.repeat_while_changing("UPDATE steps SET n = n + 1", most=30))
    await asyncio.sleep(0)  # the series holds the write lock from its first run on
    assert await on_the_writer("SELECT max(n) FROM steps") < 30  # a read gets in meanwhile
    await db.write_one("INSERT INTO steps (n) SELECT -max(n) FROM steps")
    assert await series == (30, False)  # stopped by `most`: every run changed two rows
    assert await on_the_writer("SELECT min(n) FROM steps") == -30  # the write came after


async def test_compaction_ends_while_another_process_keeps_writing(seeded_store: Store) -> None:
    """Another process's writes can land between merge steps, and each starts the merge over
    (with one after every step, a merge never ends and FTS5's structure grows until writes
    fail): the round must end, capped if need be, and leave a sound index."""
    await add_canon_quotes(seeded_store, [f"Okapi line {i} of a grown index"
                                          for i in range(3000)])
    writing = True

    async def other_process_writes() -> int:
        written = 0
        async with await Store.open(seeded_store.path) as other:
            while writing:
                async with other.database.transaction() as db:
                    await db.execute("INSERT INTO quotes (text, speaker_name, status)"
                                     " VALUES (?, 'Someone', 'canon')", (f"Stream {written}",))
                written += 1
        return written

    writer = asyncio.create_task(other_process_writes())
    try:
        await asyncio.sleep(0.05)  # the other process is open and writing
        steps = await asyncio.wait_for(
            seeded_store.quotes.compact_search_index(min_writes=0, pages_per_step=1), 60)
    finally:
        writing = False
        written = await writer
    assert steps > 0 and written > 0
    await seeded_store.database.write_one(  # raises if the index were damaged
        "INSERT INTO quotes_fts(quotes_fts, rank) VALUES ('integrity-check', 1)")
    assert (await seeded_store.quotes.search(GUILD, "stream")).total == min(
        written, max(RANKED_BELOW, COUNTED_AHEAD))  # every write is found
    await seeded_store.quotes.compact_search_index(min_writes=0)  # the next round finishes
    assert await _writes_since(seeded_store) == 0
    assert await _one_b_tree(seeded_store)


# ---- submissions --------------------------------------------------------------------------


async def test_submission_review_and_history(seeded_store: Store) -> None:
    quotes = seeded_store.quotes
    first = await quotes.submit(guild_id=GUILD, user_id=7, text="One.", speaker_name="A",
                                speaker_id=None, source_text="a podcast", near_duplicate_of=3)
    second = await quotes.submit(guild_id=GUILD, user_id=7, text="Two.", speaker_name="B",
                                 speaker_id=None, source_text=None, near_duplicate_of=None)
    assert first.quote.status == "pending" and first.near_duplicate_of == 3
    assert await quotes.pending_count(GUILD) == 2
    assert await quotes.pending_count(OTHER_GUILD) == 0
    pending = await quotes.next_pending(GUILD)
    assert pending is not None and pending.quote.id == first.quote.id
    after = await quotes.next_pending(GUILD, after_id=first.quote.id)
    assert after is not None and after.quote.id == second.quote.id
    wrapped = await quotes.next_pending(GUILD, after_id=second.quote.id)
    assert wrapped is not None and wrapped.quote.id == first.quote.id

    rejected = await quotes.decide(first.quote.id, guild_id=GUILD, reviewer_id=9, approve=False,
                                   reason="Not in the cited interview")
    assert rejected is not None and rejected.quote.status == "rejected"
    assert rejected.reason == "Not in the cited interview" and rejected.reviewer_id == 9
    again = await quotes.decide(first.quote.id, guild_id=GUILD, reviewer_id=10, approve=True)
    assert again is None  # already decided: the second reviewer is told, nothing changes
    elsewhere = await quotes.decide(second.quote.id, guild_id=OTHER_GUILD, reviewer_id=9,
                                    approve=True)
    assert elsewhere is None  # another server's reviewers cannot decide it
    await quotes.set_dm_status(first.quote.id, "closed")

    mine = await quotes.submissions_by(GUILD, 7)
    assert [s.quote.id for s in mine] == [second.quote.id, first.quote.id]
    assert mine[1].dm_status == "closed"
    assert await quotes.submission_counts(GUILD, 7) == {"pending": 1, "rejected": 1}
    assert await quotes.submissions_by(OTHER_GUILD, 7) == []


async def test_reviewer_role_setting(store: Store) -> None:
    assert await store.quotes.reviewer_role(GUILD) is None
    await store.quotes.set_reviewer_role(GUILD, 42)
    assert await store.quotes.reviewer_role(GUILD) == 42
    await store.quotes.set_reviewer_role(GUILD, None)
    assert await store.quotes.reviewer_role(GUILD) is None


# ---- quote of the day ---------------------------------------------------------------------


async def test_daily_schedule_claims_once(store: Store) -> None:
    quotes = store.quotes
    due = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    schedule = await quotes.set_daily(guild_id=GUILD, channel_id=5, local_time="09:00",
                                      timezone="Europe/London", next_due=due, set_by=1)
    assert schedule.next_due == due and schedule.last_posted_on is None
    assert await quotes.due_daily(datetime(2026, 3, 1, 8, 59, tzinfo=UTC)) == []
    [found] = await quotes.due_daily(due)
    tomorrow = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    assert await quotes.advance_daily(found, next_due=tomorrow, posted_on=date(2026, 3, 1))
    # A second pass holding the same (now stale) schedule cannot claim it again.
    assert not await quotes.advance_daily(found, next_due=tomorrow, posted_on=date(2026, 3, 1))
    claimed = await quotes.daily(GUILD)
    assert claimed is not None and claimed.last_posted_on == date(2026, 3, 1)
    await quotes.release_daily(found, claimed_next_due=tomorrow, posted_on=date(2026, 3, 1))
    released = await quotes.daily(GUILD)
    assert released is not None
    assert (released.next_due, released.last_posted_on) == (due, None)
    await quotes.record_daily_error(GUILD, "no access")
    assert (await quotes.daily(GUILD)).last_error == "no access"
    assert await quotes.clear_daily(GUILD)
    assert not await quotes.clear_daily(GUILD)


async def test_changing_the_schedule_keeps_the_days_post(store: Store) -> None:
    quotes = store.quotes
    due = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    schedule = await quotes.set_daily(guild_id=GUILD, channel_id=5, local_time="09:00",
                                      timezone="UTC", next_due=due, set_by=1)
    await quotes.advance_daily(schedule, next_due=datetime(2026, 3, 2, 9, tzinfo=UTC),
                               posted_on=date(2026, 3, 1))
    moved = await quotes.set_daily(guild_id=GUILD, channel_id=6, local_time="18:00",
                                   timezone="UTC", next_due=datetime(2026, 3, 1, 18, tzinfo=UTC),
                                   set_by=1)
    assert moved.last_posted_on == date(2026, 3, 1) and moved.channel_id == 6


async def test_prefix_search_uses_the_rebuilt_index_and_triggers_keep_it_in_sync(
        seeded_store: Store) -> None:
    page = await seeded_store.quotes.search(1, "chemis*", page=0, per_page=5)
    assert page.total == 1
    assert "chemistry" in page.hits[0].quote.text
    async with seeded_store.database.transaction() as db:
        await db.execute("INSERT INTO quotes (text, speaker_name, status, guild_id)"
                         " VALUES ('Chemistry class was never this fun', 'A fan', 'approved', 1)")
    assert (await seeded_store.quotes.search(1, "ch*", page=0, per_page=5)).total >= 2
    assert (await seeded_store.quotes.search(1, "chemis*", page=0, per_page=5)).total == 2
