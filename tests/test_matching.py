"""Matching names: a typo settles a character only when it is a near spelling, unrelated names
are not offered beside good ones, and `/quote random person:` knows people by any part of their
name. Unit checks on the index and the person matcher, then end to end through the emulator."""

from __future__ import annotations

from bot.canon.models import Character, Person
from bot.characters.index import CharacterIndex, typo_confidence
from bot.quotes.people import pick_person, rank_people
from tests.conftest import Harness


def make(i: int, name: str, aliases: tuple[str, ...] = (), actor: str | None = None,
         description: str | None = None) -> Character:
    person = Person(1000 + i, None, actor) if actor else None
    return Character(i, None, name, aliases, person, (1,), False, description)


FAMILY = [make(1, "Nick Nelson", ("Nick",), "Kit Connor",
               "A rugby player who befriends Charlie. He has a dog named Nellie."),
          make(2, "Sarah Nelson", ("Sarah",), description="Nick's mum, who lives in Kent."),
          make(3, "Elle Argent", ("Elle",), "Yasmin Finney"),
          make(4, "Charlie Spring", ("Charlie",), "Joe Locke"), make(5, "Tori Spring", ("Tori",)),
          make(6, "Coach Singh", ("Coach",)), make(7, "Darcy Olsson", ("Darcy",))]
SPEAKERS = ["Alice Oseman", "Joe Locke", "Kit Connor", "Olivia Colman", "Jenny Walser"]


def names(matches) -> list[str]:
    return [m.character.name for m in matches]


def test_a_name_merely_inside_what_was_typed_is_asked_about_not_answered() -> None:
    index = CharacterIndex(FAMILY)
    found, candidates = index.resolve("Nellie")  # Elle lies whole inside it: WRatio 80
    # Asked, not answered: the card that names Nellie first, then the near spelling.
    assert found is None and names(candidates) == ["Nick Nelson", "Elle Argent"]
    assert candidates[0].matched == "Nellie"
    # A capitalised word on a card is offered only for what it is; a character's own name
    # (Charlie, in Nick's description) is never a mention, nor a sentence's first word.
    assert index.resolve("Kent")[0] is None
    assert names(index.resolve("Kent")[1]) == ["Sarah Nelson"]
    assert index.resolve("Charlie")[0].name == "Charlie Spring"
    assert index.resolve("rugby") == (None, [])
    assert typo_confidence("nellie", "Elle") < 0.75 <= typo_confidence("charlei", "Charlie")
    # Near spellings still settle at once.
    for typed, meant in (("charlei", "Charlie Spring"), ("chralie", "Charlie Spring"),
                         ("joe lcoke", "Charlie Spring"), ("nick nelsno", "Nick Nelson")):
        found, _ = index.resolve(typed)
        assert found is not None and found.name == meant, typed


def test_unrelated_names_are_not_offered_beside_good_ones() -> None:
    index = CharacterIndex(FAMILY)
    assert index.resolve("Spring")[0] is None
    assert set(names(index.resolve("Spring")[1])) == {"Charlie Spring", "Tori Spring"}
    assert set(names(index.resolve("Nelson")[1])) == {"Nick Nelson", "Sarah Nelson"}
    # A typo of the surname: the family, not Elle or Darcy Olsson.
    assert set(names(index.resolve("nelsen")[1])) == {"Nick Nelson", "Sarah Nelson"}
    assert set(names(index.search("spirng"))) == {"Charlie Spring", "Tori Spring"}
    assert "Elle Argent" not in names(index.search("nelsen"))


def test_people_match_by_first_name_surname_start_and_typo() -> None:
    assert pick_person(SPEAKERS, "kit") == ("Kit Connor", [])
    assert pick_person(SPEAKERS, "CONNOR") == ("Kit Connor", [])
    assert pick_person(SPEAKERS, "oseman") == ("Alice Oseman", [])
    assert pick_person(SPEAKERS, "alic") == ("Alice Oseman", [])
    assert pick_person(SPEAKERS, "olivia colmann") == ("Olivia Colman", [])
    assert pick_person(SPEAKERS, "jo") == ("Joe Locke", [])  # only Joe's name begins so
    found, candidates = pick_person(SPEAKERS, "o")  # begins Olivia and Oseman: ask
    assert found is None and [m.name for m in candidates] == ["Olivia Colman", "Alice Oseman"]
    assert pick_person(SPEAKERS, "zzzz") == (None, [])
    assert [m.name for m in rank_people(SPEAKERS, "con")] == ["Kit Connor"]


# ---- end to end ---------------------------------------------------------------------------------


async def test_character_nellie_asks_and_spring_offers_only_springs(harness: Harness) -> None:
    emu = harness.emu
    nellie = await emu.invoke("character", {"name": "Nellie"})
    assert "Did you mean" in nellie.content and nellie.embed is None
    # Nick's card names his dog Nellie; Elle is the near spelling.
    assert nellie.buttons == ["Nick Nelson (card mentions Nellie)", "Elle Argent (Yasmin Finney)"]
    card = await emu.press(nellie, "Nick Nelson (card mentions Nellie)")
    assert card.embed["title"] == "Nick Nelson" and "Nellie" in card.embed["description"]
    spring = await emu.invoke("character", {"name": "Spring"})
    assert spring.buttons and all(" Spring (" in b for b in spring.buttons), spring.buttons
    assert not any("Singh" in b for b in spring.buttons)
    nelson = await emu.invoke("character", {"name": "Nelson"})
    assert nelson.buttons and all(" Nelson (" in b for b in nelson.buttons), nelson.buttons
    assert not any("Olsson" in b for b in nelson.buttons)
    typo = await emu.invoke("character", {"name": "charlei"})
    assert typo.embed["title"] == "Charlie Spring"


async def test_quote_random_person_by_first_name_surname_and_autocomplete(
        harness: Harness) -> None:
    emu = harness.emu
    kit = await emu.invoke("quote random", {"person": "kit"})
    assert kit.errors == [] and kit.embed is not None, kit.content if kit.message else kit
    said_by = {f["name"]: f["value"] for f in kit.embed["fields"]}["Said by"]
    assert said_by.startswith("Kit Connor")
    oseman = await emu.invoke("quote random", {"person": "oseman"}, user="member")
    assert {f["name"]: f["value"] for f in oseman.embed["fields"]}["Said by"].startswith(
        "Alice Oseman")
    choices = await emu.autocomplete("quote random", {"person": "connor"}, focused="person")
    assert [c["value"] for c in choices] == ["Kit Connor"]
    choices = await emu.autocomplete("quote random", {"person": "kit"}, focused="person")
    assert choices[0]["value"] == "Kit Connor"
    nobody = await emu.invoke("quote random", {"person": "Voldemort"}, user="moderator")
    assert nobody.ephemeral and "No quotes here are by Voldemort" in nobody.content
