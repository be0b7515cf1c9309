import pytest

from bot.canon.models import Character, Person
from bot.characters.index import CharacterIndex, normalise


def make(i: int, name: str, aliases: tuple[str, ...] = (), actor: str | None = None) -> Character:
    person = Person(1000 + i, None, actor) if actor else None
    return Character(i, None, name, aliases, person, (1,), False, None)


def test_normalise_folds_case_accents_and_punctuation() -> None:
    assert normalise("  Stéphane   NELSON ") == "stephane nelson"
    assert normalise("Mr. O'Brien") == "mr obrien"


def test_search_caps_at_25_even_with_many_matches() -> None:
    index = CharacterIndex([make(i, f"Student {i}") for i in range(100)])
    assert len(index.search("student")) == 25
    assert len(index.search("")) == 25


def test_rebuild_replaces_everything() -> None:
    index = CharacterIndex([make(1, "Old Name")])
    index.rebuild([make(2, "New Name", aliases=("Newbie",))])
    assert index.resolve("newbie")[0].name == "New Name"
    assert index.get(1) is None


def test_exact_beats_prefix_and_ambiguity_asks() -> None:
    index = CharacterIndex([make(1, "Jack Maddox", ("Jack",)), make(2, "David Nelson",
                                                                     actor="Jack Barton")])
    assert index.resolve("jack")[0].name == "Jack Maddox"
    found, candidates = index.resolve("nelson")
    assert found is not None and found.name == "David Nelson"  # only one Nelson here
    index.rebuild([make(1, "Nick Nelson"), make(2, "Sarah Nelson")])
    found, candidates = index.resolve("nelson")
    assert found is None and {c.character.name for c in candidates} == {"Nick Nelson",
                                                                        "Sarah Nelson"}


def test_nonsense_resolves_to_nothing_good() -> None:
    index = CharacterIndex([make(1, "Nick Nelson"), make(2, "Charlie Spring")])
    found, candidates = index.resolve("qqqqqqqq")
    assert found is None
    assert all(c.score < 70 for c in candidates)


def test_named_finds_a_name_or_nickname_exactly() -> None:
    index = CharacterIndex([make(1, "Nick Nelson", ("Nick",), actor="Kit Connor"),
                            make(2, "Élle Argent")])
    assert index.named("  NICK ").name == "Nick Nelson"
    assert index.named("elle argent").name == "Élle Argent"
    assert index.named("Kit Connor") is None  # an actor is not a character's name
    assert index.named("Nic") is None


def test_typos_are_found_in_a_large_index() -> None:
    """The typo pass narrows 3,000 names down to candidates before scoring; the character
    meant must survive that, whichever word has the typo."""
    names = [f"Person{i:04d} Surname{i:04d}" for i in range(3000)]
    index = CharacterIndex([make(i, name) for i, name in enumerate(names)]
                           + [make(5000, "Charlie Spring", ("Charlie",), actor="Joe Locke")])
    for typed in ("charlei spring", "Charlie Sprnig", "chralie", "joe lcoke"):
        found, candidates = index.resolve(typed)
        best = found or candidates[0].character
        assert best.name == "Charlie Spring", typed


def test_suggestions_follow_what_is_typed_and_offer_typos_once_nothing_does() -> None:
    index = CharacterIndex([make(1, "Nick Nelson", actor="Kit Connor"), make(2, "Nico Nelsen"),
                            make(3, "Charlie Spring"), make(4, "Tori Spring")])
    # While the text begins a name (or a word of one), only such names: not near spellings.
    assert [m.character.name for m in index.search("nick nel")] == ["Nick Nelson"]
    assert {m.character.name for m in index.search("spr")} == {"Charlie Spring", "Tori Spring"}
    assert [m.character.name for m in index.search("kit")] == ["Nick Nelson"]  # the actor
    # A typo matches nothing as typed: then the closest names, the one meant among them.
    typo = [m.character.name for m in index.search("nick nelsno")]
    assert typo[0] == "Nick Nelson" and "Nico Nelsen" in typo


def test_short_query_answers_are_kept_until_the_next_rebuild() -> None:
    index = CharacterIndex([make(1, "Charlie Spring"), make(2, "Tao Xu")])
    first = index.search("c")
    assert [m.character.name for m in first] == ["Charlie Spring"]
    assert index.search("C") == first  # the kept answer, same as a fresh one
    index.rebuild([make(1, "Charlie Spring"), make(3, "Christian"), make(2, "Tao Xu")])
    assert [m.character.name for m in index.search("c")] == ["Charlie Spring", "Christian"]
    assert [m.character.name for m in index.search("ch")] == ["Charlie Spring", "Christian"]


def test_longer_query_answers_are_the_recent_ones_and_never_outlive_a_rebuild() -> None:
    index = CharacterIndex([make(1, "Charlie Spring"), make(2, "Tao Xu")])
    first = index.search("charl")
    assert [m.character.name for m in first] == ["Charlie Spring"]
    assert index.search("Charl") is first  # the next fan typing it gets the kept answer
    index.rebuild([make(1, "Charlie Spring"), make(3, "Charles Darwin")])
    assert [m.character.name for m in index.search("charl")] == ["Charles Darwin",
                                                                 "Charlie Spring"]


def test_longer_query_answers_kept_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    import bot.characters.index as index_module

    monkeypatch.setattr(index_module, "LONG_ANSWERS_KEPT", 2)
    index = CharacterIndex([make(1, "Charlie Spring"), make(2, "Tao Xu")])
    oldest = index.search("charl")
    tao = index.search("tao x")
    assert index.search("charl") is oldest  # used again: now the most recent
    index.search("spri")  # the third: the least recently used ("tao x") goes
    assert index.search("charl") is oldest
    again = index.search("tao x")
    assert again is not tao and again == tao  # worked out afresh, to the same answer


def test_typo_answers_follow_a_rebuild() -> None:
    """Each typed word's close words are kept between keystrokes, never past a rebuild."""
    index = CharacterIndex([make(1, "Charlie Spring"), make(2, "Tao Xu")])
    assert [m.character.name for m in index.search("chralie")] == ["Charlie Spring"]
    assert [m.character.name for m in index.search("chralie sp")] == ["Charlie Spring"]
    index.rebuild([make(3, "Charles Darwin"), make(2, "Tao Xu")])
    assert [m.character.name for m in index.search("chralie")] == ["Charles Darwin"]
    assert [m.character.name for m in index.search("chralie darw")] == ["Charles Darwin"]


def test_a_surname_alone_is_not_settled_while_a_near_spelling_is_as_close() -> None:
    """A match on a later word (92) is not clearly ahead of a typo match just below it (88.9):
    the shortcut past the typo pass must not settle it."""
    index = CharacterIndex([make(1, "Anna Charlotte"), make(2, "Charlotta")])
    found, candidates = index.resolve("charlotte")
    assert found is None
    assert [m.character.name for m in candidates] == ["Anna Charlotte", "Charlotta"]
    assert index.resolve("anna charlotte")[0].name == "Anna Charlotte"
    assert index.resolve("charl")[0] is None  # begins both names: ambiguous
