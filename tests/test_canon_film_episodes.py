"""The film, the episodes and the awards (issue 18), through the real client and the emulator."""

from pathlib import Path

import pytest

from bot.cli import main
from emulator import InvocationError
from tests.conftest import Harness


def fields(embed: dict) -> dict[str, str]:
    return {f["name"]: f["value"] for f in embed.get("fields", [])}


# ---- the film --------------------------------------------------------------------------------


async def test_film_card_says_what_is_known_with_sources(harness: Harness) -> None:
    result = await harness.emu.invoke("film")
    assert result.errors == [] and not result.ephemeral
    embed = result.embed
    assert embed["title"] == "Heartstopper Forever (the film)"
    description = embed["description"]
    assert "**Status:** Filming has finished; not released yet" in description
    assert "**Release:** 2026 (no exact date announced)" in description
    assert "London Book Fair" in description and "27 July 2025" in description
    assert "Charlie Spring (Joe Locke), Nick Nelson (Kit Connor)" in description
    assert "||" not in description  # nothing is hidden by default
    footer = embed["footer"]["text"]
    assert footer.startswith("Sources: ") and "bleedingcool.com" in footer
    assert footer.count("bleedingcool.com") == 1  # one name per site, however many pages


async def test_season_four_and_its_episodes_point_to_the_film(harness: Harness) -> None:
    season = await harness.emu.invoke("season", {"number": 4})
    assert season.ephemeral
    assert season.content.startswith("There is no season 4: Heartstopper ends with the film "
                                     "Heartstopper Forever instead.")
    assert "`/film`" in season.content
    episode = await harness.emu.invoke("episode", {"season": 4, "number": 1})
    assert episode.ephemeral and "`/film`" in episode.content
    other = await harness.emu.invoke("season", {"number": 7})
    assert other.content == ("There is no season 7. Heartstopper has seasons 1-3, and the film "
                             "Heartstopper Forever (2026).")


async def test_spoilers_can_be_set_to_the_film(harness: Harness) -> None:
    emu = harness.emu
    early = await emu.invoke("spoilers", {"season": 1}, user="moderator")
    assert "watched up to season 1" in early.content and "or the film" in early.content

    # The film comes after season 3: everything about it is a spoiler here now.
    film = await emu.invoke("film")
    assert film.embed["title"].endswith("(spoilers hidden)")
    assert "**What is known**\n||• Announced in April 2025" in film.embed["description"]
    assert "**Characters in it:** ||Charlie Spring" in film.embed["description"]
    assert "**Release:** 2026" in film.embed["description"]  # as open as a season's date
    charlie = await emu.invoke("character", {"name": "Charlie"})
    assert fields(charlie.embed)["Seasons"] == "1, ||2||, ||3|| and ||the film||"
    about_film = await emu.invoke("quote random", {"person": "joe locke", "season": 4})
    assert about_film.embed["description"].startswith("||“")
    assert fields(about_film.embed)["About"].endswith(
        "the film (hidden as a spoiler: this server has watched up to season 1)")

    # Choices name the parts as fans say them; the film's value is the part after season 3.
    with pytest.raises(InvocationError, match="not one of the choices"):
        await emu.invoke("spoilers", {"season": 5}, user="moderator")
    everything = await emu.invoke("spoilers", {"season": 4}, user="moderator")
    assert everything.content == ("Spoilers: this server has watched everything, the film "
                                  "included: nothing is hidden.")
    assert await harness.store.guilds.watched_season(harness.guild_id) == 4
    shown = await emu.invoke("spoilers", user="moderator")
    assert shown.content == everything.content
    film = await emu.invoke("film")
    assert "||" not in film.embed["description"]
    assert not film.embed["title"].endswith("(spoilers hidden)")
    charlie = await emu.invoke("character", {"name": "Charlie"})
    assert fields(charlie.embed)["Seasons"] == "1, 2, 3 and the film"
    news = await emu.invoke("news latest", {"count": 10})
    assert "(spoiler)" not in str(news.embed)
    harness.emu.clock.advance(21)
    about_film = await emu.invoke("quote random", {"person": "joe locke", "season": 4})
    assert "||" not in about_film.embed["description"]
    assert fields(about_film.embed)["About"].endswith("the film")

    # Season 3, the last released one, stays "everything released", as before.
    latest = await emu.invoke("spoilers", {"season": 3}, user="moderator")
    assert latest.content == ("Spoilers: everything released is shown openly (up to "
                              "season 3).")
    assert await harness.store.guilds.watched_season(harness.guild_id) is None


# ---- episodes --------------------------------------------------------------------------------


async def test_episode_lookup(harness: Harness) -> None:
    emu = harness.emu
    journey = await emu.invoke("episode", {"season": 3, "number": 4})
    assert journey.errors == [] and not journey.ephemeral
    assert journey.embed["title"] == "Season 3, episode 4: Journey"
    description = journey.embed["description"]
    assert "**Season:** 3 (released 3 October 2024)" in description
    assert "**Episode:** 4 of 8" in description
    assert "Kit Connor: “It's my favourite episode of Heartstopper ever.”" in description
    footer = journey.embed["footer"]["text"]
    assert "collider.com" in footer and "thepinknews.com" in footer

    meet = await emu.invoke("episode", {"season": 1, "number": 1})
    assert meet.embed["title"] == "Season 1, episode 1: Meet"
    assert "metro.co.uk" in meet.embed["footer"]["text"]
    friend = await emu.invoke("episode", {"season": 1, "number": 5})
    assert friend.embed["title"] == "Season 1, episode 5: Friend"  # not "Friends"
    prom = await emu.invoke("episode", {"season": 2, "number": 8})
    assert "Euros Lyn: “It feels like an incredibly joyous" in prom.embed["description"]

    missing = await emu.invoke("episode", {"season": 3, "number": 9})
    assert missing.ephemeral
    assert missing.content == ("Season 3 has 8 episodes: pick a number from 1 to 8, or see them "
                               "all with `/season number:3`.")

    await emu.invoke("spoilers", {"season": 2}, user="moderator")
    hidden = await emu.invoke("episode", {"season": 3, "number": 4})
    assert hidden.embed["title"] == "Season 3, episode 4 (spoilers hidden)"
    assert "**Title:** ||Journey||" in hidden.embed["description"]
    assert "||Kit Connor: “It's my favourite" in hidden.embed["description"]
    watched = await emu.invoke("episode", {"season": 2, "number": 6})
    assert watched.embed["title"] == "Season 2, episode 6: Truth/Dare"


async def test_every_season_card_lists_its_episode_titles(harness: Harness) -> None:
    expected = {1: "8. Boyfriend", 2: "6. Truth/Dare", 3: "4. Journey"}
    for number, line in expected.items():
        card = await harness.emu.invoke("season", {"number": number})
        assert "**Episode titles**" in card.embed["description"]
        assert line in card.embed["description"]


async def test_quote_cards_name_the_episode(harness: Harness) -> None:
    emu = harness.emu
    # Kit Connor has three quotes about season 3; the rotation shows each once.
    abouts = []
    for _ in range(3):
        card = await emu.invoke("quote random", {"person": "kit connor", "season": 3})
        abouts.append((card.embed["description"], fields(card.embed).get("About", "")))
        emu.clock.advance(21)
    favourite = [about for text, about in abouts if "favourite episode" in text]
    assert favourite == ["Charlie Spring · Nick Nelson · season 3, episode 4"]
    others = [about for text, about in abouts if "favourite episode" not in text]
    assert len(others) == 2 and all(a.endswith("season 3") for a in others)


# ---- awards ----------------------------------------------------------------------------------


async def test_awards_command(harness: Harness) -> None:
    result = await harness.emu.invoke("awards")
    assert result.errors == [] and not result.ephemeral
    shown = fields(result.embed)
    assert list(shown) == ["2022 · Children's and Family Emmys (1st)",
                           "2023 · GLAAD Media Awards (34th)",
                           "2026 · Children's and Family Emmys (4th)"]
    assert "Kit Connor" in shown["2022 · Children's and Family Emmys (1st)"]
    assert "*Source: goldderby.com, attitude.co.uk*" in shown[
        "2022 · Children's and Family Emmys (1st)"]
    assert "Journey" in shown["2026 · Children's and Family Emmys (4th)"]
    assert result.embed["footer"]["text"].startswith("3 awards")


# ---- db stats --------------------------------------------------------------------------------


def test_db_stats_counts_the_new_canon(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                       ) -> None:
    env = tmp_path / ".env"
    env.write_text(f"DATABASE_PATH={tmp_path / 'bot.db'}\nDISCORD_TOKEN=\n")
    assert main(["--env-file", str(env), "db", "seed"]) == 0
    seeded = capsys.readouterr().out
    assert "24 episodes" in seeded and "1 films" in seeded and "3 awards" in seeded
    assert main(["--env-file", str(env), "db", "stats"]) == 0
    out = capsys.readouterr().out
    counts = {line.rsplit(None, 1)[0].strip(): int(line.rsplit(None, 1)[1])
              for line in out.splitlines() if line.startswith("  ")}
    assert counts["episodes"] == 24
    assert counts["films"] == 1
    assert counts["facts about the film"] == 5
    assert counts["awards"] == 3
    assert counts["quotes about one episode"] == 2
    assert counts["quotes (canon)"] == 58
