"""/character, /characters, /season and /spoilers through the real client and the emulator."""

from dataclasses import replace

import pytest

from emulator import InvocationError
from tests.conftest import Harness


def fields(embed: dict) -> dict[str, str]:
    return {f["name"]: f["value"] for f in embed.get("fields", [])}


@pytest.mark.parametrize(("typed", "name", "actor"), [
    ("Nick", "Nick Nelson", "Kit Connor"),            # exact alias
    ("Charlie Spring", "Charlie Spring", "Joe Locke"),  # exact name
    ("mr farouk", "Mr Youssef Farouk", "Nima Taleghani"),  # alias, other case
    ("Olivia Colman", "Sarah Nelson", "Olivia Colman"),  # actor
    ("charlei", "Charlie Spring", "Joe Locke"),         # typo
    ("Élle", "Elle Argent", "Yasmin Finney"),           # accent
    ("isac", "Isaac Henderson", "Tobie Donovan"),       # typo
])
async def test_character_card(harness: Harness, typed: str, name: str, actor: str) -> None:
    result = await harness.emu.invoke("character", {"name": typed})
    assert result.errors == []
    assert result.embed["title"] == name
    info = fields(result.embed)
    assert info["Played by"] == actor
    assert "Seasons" in info and "Role" in info and "Quotes" in info
    assert result.embed["footer"]["text"].startswith("Sources: ")
    assert not result.ephemeral


async def test_card_counts_quotes_and_shows_one(harness: Harness) -> None:
    result = await harness.emu.invoke("character", {"name": "Nick Nelson"})
    count = int(fields(result.embed)["Quotes"].split()[0])
    # Kit Connor's interviews plus quotes about Nick, from the seed.
    assert count >= 5
    assert result.buttons == ["Show a quote"]
    quote = await harness.emu.press(result, label="Show a quote")
    assert quote.ephemeral
    assert quote.embed["description"].startswith("“")
    said_by = fields(quote.embed)["Said by"]
    assert any(n in said_by for n in ("Kit Connor", "Alice Oseman", "Joe Locke"))
    if "Kit Connor" in said_by:
        assert "plays Nick Nelson" in said_by


async def test_no_match_and_did_you_mean(harness: Harness) -> None:
    nothing = await harness.emu.invoke("character", {"name": "Voldemort"})
    assert nothing.ephemeral
    assert "No character matches “Voldemort”" in nothing.content

    ambiguous = await harness.emu.invoke("character", {"name": "Spring"})
    assert "Did you mean" in ambiguous.content
    labels = ambiguous.buttons
    assert "Charlie Spring (Joe Locke)" in labels and "Tori Spring (Jenny Walser)" in labels
    # Only the member who asked may pick.
    stranger = await harness.emu.press(ambiguous, label="Tori Spring (Jenny Walser)",
                                       user="moderator")
    assert stranger.ephemeral and "belong to whoever ran the command" in stranger.content
    picked = await harness.emu.press(ambiguous, label="Tori Spring (Jenny Walser)")
    assert picked.message.embed["title"] == "Tori Spring"
    assert fields(picked.message.embed)["Played by"] == "Jenny Walser"


@pytest.mark.parametrize(("typed", "first"), [
    ("kit", "Nick Nelson"),
    ("farouk", "Mr Youssef Farouk"),
    ("joe", "Charlie Spring"),
    ("tao", "Tao Xu"),
    ("yasmin", "Elle Argent"),
    ("CHARL", "Charlie Spring"),
    ("darcey", "Darcy Olsson"),
    ("", "Aunt Diane"),
])
async def test_autocomplete_first_choice(harness: Harness, typed: str, first: str) -> None:
    choices = await harness.emu.autocomplete("character", {"name": typed}, focused="name")
    assert 0 < len(choices) <= 25
    assert choices[0]["value"] == first
    assert all(len(c["name"]) <= 100 for c in choices)


async def test_autocomplete_never_over_25(harness: Harness) -> None:
    assert len(await harness.emu.autocomplete("character", {"name": ""}, focused="name")) == 25
    assert len(await harness.emu.autocomplete("character", {"name": "e"}, focused="name")) <= 25


async def test_autocomplete_answers_are_kept_until_the_index_is_rebuilt(
        harness: Harness) -> None:
    async def typed(text: str) -> list[str]:
        choices = await harness.emu.autocomplete("character", {"name": text}, focused="name")
        return [c["value"] for c in choices]

    first = await typed("Ni")
    assert first and await typed("Ni") == first  # the second from what was kept
    index = harness.bot.characters.index
    before = index.generation
    index.rebuild([*index.characters, replace(index.characters[0], id=10**9, name="Nika Test",
                                              aliases=())])
    assert index.generation == before + 1
    assert "Nika Test" in await typed("Ni")


async def test_character_list_pages_only_for_the_asker(harness: Harness) -> None:
    first = await harness.emu.invoke("characters")
    assert first.embed["footer"]["text"].startswith("Page 1 of 3")
    assert first.buttons == ["Previous", "Next"]
    refused = await harness.emu.press(first, label="Next", user="moderator")
    assert refused.ephemeral
    second = await harness.emu.press(first, label="Next")
    assert second.message.embed["footer"]["text"].startswith("Page 2 of 3")
    lines_page_2 = second.message.embed["description"]
    # Buttons are stateless: they still work after the bot restarts.
    await harness.restart()
    third = await harness.emu.press(second.message, label="Next")
    assert third.message.embed["footer"]["text"].startswith("Page 3 of 3")
    assert third.message.embed["description"] != lines_page_2


async def test_characters_of_one_season(harness: Harness) -> None:
    result = await harness.emu.invoke("characters", {"season": 2})
    description = result.embed["description"]
    assert "James McEwan" in description  # only in season 2
    assert "Jane Spring" not in description  # only in season 1
    assert result.embed["title"] == "Characters in season 2"
    second = await harness.emu.press(result, label="Next")
    assert "Mr Youssef Farouk" in second.message.embed["description"]


async def test_invalid_season_numbers(harness: Harness) -> None:
    result = await harness.emu.invoke("season", {"number": 7})
    assert result.ephemeral
    assert "There is no season 7" in result.content and "seasons 1-3" in result.content
    listing = await harness.emu.invoke("characters", {"season": 9})
    assert "There is no season 9" in listing.content
    with pytest.raises(InvocationError):
        await harness.emu.invoke("season", {"number": "two"})


async def test_season_card(harness: Harness) -> None:
    result = await harness.emu.invoke("season", {"number": 2})
    description = result.embed["description"]
    assert "3 August 2023" in description
    assert "Truth/Dare" in description
    assert "Leila Khan" in description
    assert "Announced before release" in description
    assert "renew" in description.lower()
    assert "nme.com" in result.embed["footer"]["text"]


async def test_spoiler_gating(harness: Harness) -> None:
    open_card = await harness.emu.invoke("character", {"name": "Charlie"})
    assert "||" not in open_card.embed["description"]

    # Discord hides the command from members without Manage Server (default permissions).
    with pytest.raises(InvocationError, match="cannot see /spoilers"):
        await harness.emu.invoke("spoilers", {"season": 1})

    setting = await harness.emu.invoke("spoilers", {"season": 1}, user="moderator")
    assert "watched up to season 1" in setting.content

    gated = await harness.emu.invoke("character", {"name": "Charlie"})
    assert "||**Season 3:**" in gated.embed["description"]
    # The film comes after season 3, so it is a spoiler here too.
    assert fields(gated.embed)["Seasons"] == "1, ||2||, ||3|| and ||the film||"
    later = await harness.emu.invoke("character", {"name": "Sahar"})
    assert later.embed["description"].startswith("||")
    assert fields(later.embed)["Played by"] == "||Leila Khan||"
    season3 = await harness.emu.invoke("season", {"number": 3})
    assert "||1. Love" in season3.embed["description"]

    everything = await harness.emu.invoke("spoilers", {"season": 3}, user="moderator")
    assert "everything released is shown" in everything.content
    reopened = await harness.emu.invoke("character", {"name": "Charlie"})
    assert "||" not in reopened.embed["description"]
