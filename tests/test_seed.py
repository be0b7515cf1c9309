import json
import shutil
from pathlib import Path

import pytest

from bot.canon.seeding import SeedError, load_seed
from bot.core.config import DEFAULT_SEED_DIR
from bot.store import Store

SHARED_CANON = Path(__file__).resolve().parents[2] / "shared" / "canon"


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
    facts = (SHARED_CANON / "heartstopper-facts.md").read_text("utf-8")
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
