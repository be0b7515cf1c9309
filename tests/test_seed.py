import json
import shutil
from pathlib import Path

import pytest

from bot.canon.seeding import SeedError, load_seed
from bot.core.config import DEFAULT_SEED_DIR
from bot.store import Store

SHARED_CANON = Path(__file__).resolve().parents[2] / "shared" / "canon"
FACT_FILES = ("heartstopper-facts.md", "heartstopper-facts-more.md")


async def test_seed_has_what_the_article_and_facts_hold(seeded_store: Store) -> None:
    stats = await seeded_store.stats()
    assert stats.characters >= 20
    assert stats.quotes_attributed >= 15
    characters = {c.name: c for c in await seeded_store.canon.characters()}
    assert characters["Charlie Spring"].actor.name == "Joe Locke"
    assert characters["Nick Nelson"].actor.name == "Kit Connor"
    news = await seeded_store.news.latest(100)
    renewal = [n for n in news if n.published == "2022-05-20"]
    assert renewal and any(s.key == "article" for s in renewal[0].sources)


def test_article_quotes_are_verbatim() -> None:
    article_path = SHARED_CANON / "seed-article.txt"
    if not article_path.exists():
        pytest.skip("shared/canon/seed-article.txt is not beside the project")
    article = article_path.read_text("utf-8")
    seed = load_seed(DEFAULT_SEED_DIR)
    from_article = [q for q in seed.quotes if "article" in q.sources]
    assert len(from_article) == 9
    for quote in from_article:
        assert quote.text in article, quote.key
    facts = "\n".join((SHARED_CANON / name).read_text("utf-8") for name in FACT_FILES)
    for quote in seed.quotes:
        if "article" not in quote.sources:
            assert quote.text in facts, quote.key


async def test_seeding_twice_changes_nothing_and_keeps_user_quotes(seeded_store: Store) -> None:
    async with seeded_store.database.transaction() as db:
        await db.execute(
            "INSERT INTO quotes (text, speaker_name, status, guild_id, submitted_by)"
            " VALUES ('A fan-submitted line', 'Someone', 'approved', 1, 2)"
        )
    before = await seeded_store.stats()
    await seeded_store.canon.apply_seed(load_seed(DEFAULT_SEED_DIR))
    after = await seeded_store.stats()
    assert after == before
    assert after.quotes_approved == 1
    texts = await seeded_store.database.fetch_all("SELECT text FROM quotes WHERE seed_key IS NULL")
    assert [r["text"] for r in texts] == ["A fan-submitted line"]


async def test_reseeding_updates_canon_records(seeded_store: Store, tmp_path: Path) -> None:
    seed_dir = tmp_path / "data"
    shutil.copytree(DEFAULT_SEED_DIR, seed_dir, ignore=shutil.ignore_patterns("*.db*"))
    path = seed_dir / "characters.json"
    document = json.loads(path.read_text())
    document["characters"][0]["description"] = "An edited description."
    document["characters"][0]["aliases"] = ["Edited alias"]
    path.write_text(json.dumps(document))
    await seeded_store.canon.apply_seed(load_seed(seed_dir))
    key = document["characters"][0]["key"]
    edited = next(c for c in await seeded_store.canon.characters() if c.key == key)
    assert edited.description == "An edited description."
    assert edited.aliases == ("Edited alias",)
    assert (await seeded_store.stats()).characters == 25


def _broken(tmp_path: Path, filename: str, change) -> Path:
    seed_dir = tmp_path / "data"
    shutil.copytree(DEFAULT_SEED_DIR, seed_dir, ignore=shutil.ignore_patterns("*.db*"))
    path = seed_dir / filename
    document = json.loads(path.read_text())
    change(document)
    path.write_text(json.dumps(document))
    return seed_dir


@pytest.mark.parametrize(("filename", "change", "message"), [
    ("characters.json", lambda d: d["characters"][2].update(actor="nobody-at-all"),
     r"data/characters.json: characters\[2\] '[a-z-]+': 'actor' names unknown person"),
    ("characters.json", lambda d: d["characters"][0].update(seasons=[]),
     r"characters\[0\] .*'seasons' must be a non-empty list of season numbers"),
    ("quotes.json", lambda d: d["quotes"][1].pop("text"),
     r"data/quotes.json: quotes\[1\] .*'text' is required"),
    ("quotes.json", lambda d: d["quotes"][1].update(date="May 2022"),
     r"'date' must be a month like 2022-04"),
    ("quotes.json", lambda d: d["quotes"][1].update(text="x" * 1001),
     r"'text' is 1001 characters; the limit is 1000"),
    ("people.json", lambda d: d["people"].append(dict(d["people"][0])),
     r"data/people.json: people\[\d+\] .*duplicate key"),
    ("news.json", lambda d: d["news"][0].update(sources=[]),
     r"'sources' must name at least one entry"),
    ("sources.json", lambda d: d["sources"][0].update(key="Not A Slug"),
     r"'key' must be lowercase letters"),
])
def test_validation_names_file_and_entry(tmp_path: Path, filename: str, change,
                                         message: str) -> None:
    with pytest.raises(SeedError, match=message):
        load_seed(_broken(tmp_path, filename, change))


def test_invalid_json_names_line(tmp_path: Path) -> None:
    seed_dir = tmp_path / "data"
    shutil.copytree(DEFAULT_SEED_DIR, seed_dir, ignore=shutil.ignore_patterns("*.db*"))
    (seed_dir / "awards.json").write_text('{"awards": [\n  {"key": "x",}\n]}')
    with pytest.raises(SeedError, match=r"data/awards.json: not valid JSON \(line 2"):
        load_seed(seed_dir)


async def test_a_bad_entry_writes_nothing(store: Store, tmp_path: Path) -> None:
    seed_dir = _broken(tmp_path, "awards.json", lambda d: d["awards"][0].update(year="soon"))
    with pytest.raises(SeedError):
        await store.canon.apply_seed(load_seed(seed_dir))
    assert (await store.stats()).characters == 0


# ---- the supplement (heartstopper-facts-more.md): everything the bot can show is seeded ------


def _facts_more() -> str:
    path = SHARED_CANON / "heartstopper-facts-more.md"
    if not path.exists():
        pytest.skip("shared/canon/heartstopper-facts-more.md is not beside the project")
    return path.read_text("utf-8")


def _section(text: str, heading: str) -> str:
    start = text.index(heading)
    ends = [i for i in (text.find("\n## ", start + 1), text.find("\n### ", start + 1)) if i != -1]
    return text[start:min(ends) if ends else None]


def _rows(section: str) -> list[list[str]]:
    """The body rows of the markdown tables in a section, as lists of cells."""
    rows = []
    for line in section.splitlines():
        if line.startswith("| ") and not line.startswith("|---"):
            cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
            rows.append(cells)
    return rows


def _quoted(cell: str) -> str:
    """A quote cell's words: without the outer quotes or a trailing comma (the seed keeps the
    words as said, without the comma that led into the reporter's 'she said')."""
    text = cell[1:cell.rindex('"')] if cell.startswith('"') else cell
    return text.rstrip(",")


def test_every_interview_quote_of_both_fact_files_is_seeded() -> None:
    seed = load_seed(DEFAULT_SEED_DIR)
    seeded = {q.text: q for q in seed.quotes}
    more = _section(_facts_more(), "## 5. More interview quotes")
    rows = [r for r in _rows(more) if r[0].isdigit()]
    assert len(rows) == 40
    first = (SHARED_CANON / "heartstopper-facts.md").read_text("utf-8")
    earlier = [r for r in _rows(_section(first, "## More interview quotes"))
               if r[1].startswith('"')]
    assert len(earlier) == 9
    for number, who, words, outlet, *_ in rows:
        quote = seeded.get(_quoted(words))
        assert quote is not None, f"facts-more quote #{number} is not seeded"
        person = next(p for p in seed.people if p.key == quote.speaker)
        assert person.name in who, number
        assert quote.sources, number
        # The outlet as the supplement names it ("RadioTimes.com" is Radio Times).
        named = (quote.outlet or "outlet not named").split()[0].casefold()
        assert named in outlet.casefold(), number
    for who, words, *_ in earlier:
        text = _quoted(words)
        assert text in seeded, text
        assert next(p for p in seed.people if p.key == seeded[text].speaker).name == who


def test_outlets_and_months_follow_the_supplement() -> None:
    seed = load_seed(DEFAULT_SEED_DIR)
    by_key = {q.key: q for q in seed.quotes}
    favourite = by_key["connor-pinknews-2024-10-favourite-episode"]
    # The PinkNews page is dated 25 September 2024 (section 4), and the episode is S3E4.
    assert (favourite.outlet, favourite.date, favourite.season, favourite.episode) == (
        "PinkNews", "2024-09", 3, 4)
    colman = [q for q in seed.quotes if q.speaker == "olivia-colman"]
    assert len(colman) == 3 and {q.outlet for q in colman} == {"Forbes"}
    assert by_key["lyn-radiotimes-joyous-moment"].episode == 8
    assert by_key["walters-2022-04-cast-authentically"].outlet is None  # "outlet not named"


def test_episode_titles_match_both_fact_files() -> None:
    text = _facts_more()
    listed: dict[tuple[int, int], str] = {}
    for section in ("## 1. Season 1 episode titles", "## 3. Episode numbers and titles"):
        for row in _rows(_section(text, section)):
            code = row[0]
            if code.startswith("S") and "E" in code:
                season, episode = code[1:].split("E")
                listed[int(season), int(episode)] = row[1]
    assert len(listed) == 24
    seed = load_seed(DEFAULT_SEED_DIR)
    seeded = {(s.number, e.number): e.title for s in seed.seasons for e in s.episodes}
    assert seeded == listed
    assert all(e.sources for s in seed.seasons for e in s.episodes)


def test_season_three_cast_and_confirmations_are_seeded() -> None:
    seed = load_seed(DEFAULT_SEED_DIR)
    names = {p.key: p.name for p in seed.people}
    season3 = next(s for s in seed.seasons if s.number == 3)
    new_in_three = {r[0] for r in _rows(_section(_facts_more(), "### New in season 3"))
                    if r[0] != "Actor"}
    assert {names[k] for k in season3.new_cast} == new_in_three
    seasons = {c.key: c.seasons for c in seed.characters}
    assert seasons["sarah-nelson"] == (1, 2)  # Colman could not do season 3
    assert seasons["ben-hope"] == (1, 2)
    assert seasons["david-nelson"] == (2, 3)
    assert seasons["coach-singh"] == (1, 2, 3)
    assert seasons["jane-spring"] == (1, 2, 3)
    assert 2 in seasons["julio-spring"] and 3 not in seasons["julio-spring"]  # listed, no scene
    for key in ("nathan-ajayi", "youssef-farouk"):
        assert 3 in seasons[key]
    film = seed.films[0]
    assert film.release_date is None and film.release_year == 2026  # still no exact date
    assert any("London Book Fair" in fact.text for fact in film.known)


@pytest.mark.parametrize(("filename", "change", "message"), [
    ("seasons.json", lambda d: d["seasons"][0]["episodes"][1].update(number=1),
     r"seasons\[0\] 'season-1': 'episodes' numbers the same episode twice"),
    ("seasons.json", lambda d: d["seasons"][2]["episodes"][0].update(sources=["nowhere"]),
     r"episodes\[0\]: 'sources' names unknown source 'nowhere'"),
    ("seasons.json", lambda d: d["seasons"].append(dict(d["seasons"][2], number=4)),
     r"'number' 4 is where the film comes in the watching order"),
    ("quotes.json", lambda d: d["quotes"][0].update(season=3, episode=12),
     r"season 3 has no episode 12 in seasons.json"),
    ("quotes.json", lambda d: d["quotes"][0].update(season=5),
     r"'season' must be a season number, or 4 for the film"),
    ("seasons.json", lambda d: d["film"]["known"][0].pop("sources"),
     r"film: known\[0\]: 'sources' must name at least one entry"),
])
def test_new_canon_is_validated(tmp_path: Path, filename: str, change, message: str) -> None:
    with pytest.raises(SeedError, match=message):
        load_seed(_broken(tmp_path, filename, change))


async def test_new_canon_reaches_the_store_and_its_counts(seeded_store: Store) -> None:
    stats = await seeded_store.stats()
    assert (stats.episodes, stats.films, stats.film_facts, stats.awards) == (24, 1, 5, 3)
    assert stats.quotes_with_episode == 2
    rows = dict(stats.as_rows())
    assert rows["episodes"] == 24 and rows["facts about the film"] == 5
    journey = [e for e in await seeded_store.canon.episodes(3) if e.number == 4]
    assert journey[0].title == "Journey"
    assert {s.label for s in journey[0].sources} >= {"collider.com", "whattowatch.com"}
    # Re-seeding rewrites episodes in place: no duplicates, same counts.
    await seeded_store.canon.apply_seed(load_seed(DEFAULT_SEED_DIR))
    assert (await seeded_store.stats()).episodes == 24


def test_episodes_may_still_be_plain_titles(tmp_path: Path) -> None:
    """The older form, a list of titles in order, still loads: each cites its season's sources."""
    titles = ["Out", "Family", "Promise", "Challenge", "Heat", "Truth/Dare", "Sorry", "Perfect"]
    seed_dir = _broken(tmp_path, "seasons.json", lambda d: d["seasons"][1].update(
        episodes=titles))
    season2 = next(s for s in load_seed(seed_dir).seasons if s.number == 2)
    assert [(e.number, e.title) for e in season2.episodes] == list(enumerate(titles, start=1))
    assert season2.episodes[0].sources == season2.sources
