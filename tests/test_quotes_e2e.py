"""/quote end to end: the real bot, driven through the local Discord emulator."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from bot.core.ui import NOT_YOURS
from bot.quotes.daily import DailyQuotePoster
from cogs.quotes import SEARCH_FORGOTTEN
from emulator.results import InteractionResult, SentMessage
from tests.conftest import Harness

NO_PINGS = {"parse": []}
KIT_QUOTES = 9  # in data/quotes.json


def user_id(harness: Harness, username: str) -> int:
    return harness.emu.world.guild(harness.guild_id).member(username).user.id


def fields(message: InteractionResult | SentMessage) -> dict[str, str]:
    embed = message.embed
    assert embed is not None
    return {f["name"]: f["value"] for f in embed.get("fields", [])}


def daily_poster(harness: Harness) -> DailyQuotePoster:
    # The cog's class is re-imported each time the extension loads; the poster's is not.
    poster = getattr(harness.bot.get_cog("Quotes"), "daily_poster", None)
    assert isinstance(poster, DailyQuotePoster)
    return poster


async def submit(harness: Harness, text: str, speaker: str = "A Fan", *, user: str = "member",
                 source: str | None = None) -> InteractionResult:
    options = {"text": text, "speaker": speaker}
    if source is not None:
        options["source"] = source
    return await harness.emu.invoke("quote submit", options, user=user)


# ---- /quote random --------------------------------------------------------------------------


async def test_random_with_filters_shows_the_attribution(harness: Harness) -> None:
    emu = harness.emu
    result = await emu.invoke("quote random", {"person": "kit connor", "character": "Charlie",
                                               "season": 3})
    assert result.errors == [] and not result.ephemeral
    assert result.embed["description"] == "“It's my favourite episode of Heartstopper ever.”"
    got = fields(result)
    assert got["Said by"] == "Kit Connor (plays Nick Nelson)"
    assert got["Where and when"] == "PinkNews · September 2024"
    assert got["Source"].startswith("[thepinknews.com](https://thepinknews.com/2024/09/25/")
    assert result.message.allowed_mentions == NO_PINGS
    about_imogen = await emu.invoke("quote random", {"character": "Imogen"})
    assert fields(about_imogen)["Said by"] == "Rhea Norwood (plays Imogen Heaney)"
    assert "Imogen Heaney" in fields(about_imogen)["About"]


async def test_random_autocompletes_people_with_quotes_and_characters(harness: Harness) -> None:
    emu = harness.emu
    people = await emu.autocomplete("quote random", {"person": "o"}, focused="person")
    # A name that starts with what was typed (first name, then surname) comes first; then the
    # rest that contain it, A to Z.
    assert [c["value"] for c in people] == [
        "Olivia Colman", "Alice Oseman", "Corinna Brown", "Euros Lyn", "Fisayo Akinade",
        "Joe Locke", "Kit Connor", "Rhea Norwood", "Sebastian Croft", "Tobie Donovan",
        "William Gao"]
    characters = await emu.autocomplete("quote random", {"character": "nel"},
                                        focused="character")
    assert {c["value"] for c in characters} == {"Nick Nelson", "Sarah Nelson", "David Nelson",
                                                "Stephane Nelson"}


async def test_unknown_filters_and_empty_matches_are_explained(harness: Harness) -> None:
    emu = harness.emu
    nobody = await emu.invoke("quote random", {"person": "Leila Khan"})
    assert nobody.ephemeral and "Pick a name from the suggestions" in nobody.content
    no_character = await emu.invoke("quote random", {"character": "Voldemort"})
    assert no_character.ephemeral and "I don't know a character" in no_character.content
    nothing = await emu.invoke("quote random", {"person": "Joe Locke", "season": 1})
    assert nothing.ephemeral
    assert nothing.content == ("No quotes here are by Joe Locke concerning season 1. "
                               "Try fewer filters.")


async def test_a_season_the_server_has_not_watched_is_hidden(harness: Harness) -> None:
    await harness.store.guilds.set_watched_season(harness.guild_id, 2)
    result = await harness.emu.invoke("quote random", {"person": "Kit Connor", "season": 3})
    assert result.embed["description"].startswith("||“")


async def test_another_keeps_the_filters_and_belongs_to_whoever_asked(harness: Harness) -> None:
    emu = harness.emu
    first = await emu.invoke("quote random", {"person": "Joe Locke"})
    seen = {first.embed["description"]}
    other = await emu.press(first, "Another", user="moderator")
    assert other.ephemeral and "belong to whoever ran the command" in other.content
    again = await emu.press(first, "Another")
    assert fields(again)["Said by"] == "Joe Locke (plays Charlie Spring)"
    seen.add(again.embed["description"])
    assert len(seen) == 2  # Joe Locke has two quotes: both, before any repeat
    assert again.message.id == first.message.id  # the card is updated in place


async def test_every_quote_once_before_a_repeat_across_a_restart(harness: Harness) -> None:
    emu = harness.emu
    first = await emu.invoke("quote random", {"person": "Kit Connor"})
    shown = [first.embed["description"]]
    for _ in range(2):
        shown.append((await emu.press(first, "Another")).embed["description"])
    await harness.restart()
    # The button on the old message still works: everything it needs is in its custom_id.
    for _ in range(KIT_QUOTES - 3):
        emu.clock.advance(21)  # past the per-member cooldown
        shown.append((await emu.press(first, "Another")).embed["description"])
    assert len(set(shown)) == KIT_QUOTES == len(shown)
    next_round = await emu.press(first, "Another")
    assert next_round.embed["description"] in shown
    assert next_round.embed["description"] != shown[-1]
    assert "starting round 2" in next_round.embed["footer"]["text"]


async def test_random_has_a_per_member_cooldown(harness: Harness) -> None:
    emu = harness.emu
    first = await emu.invoke("quote random")
    for _ in range(4):
        assert (await emu.press(first, "Another")).errors == []
    refused = await emu.invoke("quote random")
    assert refused.ephemeral and refused.content.startswith("Slow down a little: try again in")
    assert (await emu.invoke("quote random", user="moderator")).embed is not None
    emu.clock.advance(21)
    assert (await emu.invoke("quote random")).embed is not None


# ---- /quote search --------------------------------------------------------------------------


async def test_search_ranks_highlights_and_pages(harness: Harness) -> None:
    emu = harness.emu
    result = await emu.invoke("quote search", {"text": "chemistry OR romance"})
    assert result.ephemeral
    first = result.embed["fields"][0]
    assert first["name"].startswith("1. Alice Oseman (creator) · Netflix Tudum")
    assert "**chemistry**" in first["value"] and "**romance**" in first["value"]
    emu.clock.advance(3)  # one search per 3 s per member
    pages = await emu.invoke("quote search", {"text": "but"})
    assert pages.embed["footer"]["text"].startswith("Page 1 of 2 · 10 quotes")
    assert pages.buttons == ["Previous", "Next"]
    second = await emu.press(pages, "Next")
    assert second.embed["footer"]["text"].startswith("Page 2 of 2")
    assert second.embed["fields"][0]["name"].startswith("6. ")
    back = await emu.press(second, "Previous")
    assert back.embed["fields"][0]["name"].startswith("1. ")


def view_timers() -> list[asyncio.Task[object]]:
    """The sleeping tasks discord.py gives each view it keeps with a timeout."""
    return [t for t in asyncio.all_tasks()
            if "timeout_task_impl" in getattr(t.get_coro(), "__qualname__", "")]


async def test_search_pages_keep_nothing_per_reply_and_long_searches_page_too(
        harness: Harness) -> None:
    emu = harness.emu
    # Too long to ride in the buttons' custom_ids: kept in the cog's RecentSearches.
    long_text = "but " + " ".join(f"-{letter * 20}" for letter in "xyz")
    pages = await emu.invoke("quote search", {"text": long_text})
    assert pages.embed["footer"]["text"].startswith("Page 1 of 2")
    second = await emu.press(pages, "Next")
    assert second.embed["footer"]["text"].startswith("Page 2 of 2")
    # The buttons are DynamicItems: discord.py keeps no view, and no 15-minute timer task,
    # for an ephemeral reply (a busy night would pile up thousands).
    assert view_timers() == []
    refused = await emu.press(second, "Previous", user="moderator")
    assert refused.ephemeral and refused.content == NOT_YOURS
    emu.clock.advance(3)
    short = await emu.invoke("quote search", {"text": "but"})
    await harness.restart()
    # A short search's text is in its buttons, so its pages turn after a restart; a long one's
    # was in memory, and the member is asked to search again.
    turned = await emu.press(short, "Next")
    assert turned.embed["footer"]["text"].startswith("Page 2 of 2")
    forgotten = await emu.press(second, "Previous")
    assert forgotten.ephemeral and forgotten.content == SEARCH_FORGOTTEN


async def test_a_query_search_syntax_cannot_read_gets_a_helpful_answer(harness: Harness) -> None:
    emu = harness.emu
    unbalanced = await emu.invoke("quote search", {"text": '"chemistry'})
    assert unbalanced.errors == []
    assert "looked for its words as plain text" in unbalanced.embed["description"]
    assert unbalanced.embed["footer"]["text"].startswith("Page 1 of 1 · 1 quote")
    emu.clock.advance(3)  # one search per 3 s per member
    no_words = await emu.invoke("quote search", {"text": "*** (("})
    assert no_words.ephemeral and "no words in it" in no_words.content
    assert "exact phrase" in no_words.content


# ---- submissions and review -----------------------------------------------------------------


async def test_submit_review_approve_tells_the_member_and_joins_the_pool(
        harness: Harness) -> None:
    emu = harness.emu
    member = user_id(harness, "member")
    before = datetime.now(UTC).date().isoformat()
    sent = await submit(harness, "Fans made this show what it is.", "Leila Khan",
                        source="https://example.org/interview")
    # The day it was submitted, in UTC (either side of midnight, should the test straddle it).
    days = {before, datetime.now(UTC).date().isoformat()}
    assert sent.ephemeral and "waiting for review (1 submission in the queue)" in sent.content
    mine = await emu.invoke("quote mine")
    status = next(iter(fields(mine)))
    assert any(status.endswith(f"Waiting for review · submitted {day}") for day in days), status

    card = await emu.invoke("quote review", user="moderator")
    assert card.ephemeral and card.buttons == ["Approve", "Reject", "Skip"]
    got = fields(card)
    assert got["Said by (as submitted)"] == "Leila Khan (plays Sahar Zahid)"
    assert got["Submitted by"].startswith(f"<@{member}>")
    approved = await emu.press(card, "Approve", user="moderator")
    assert approved.errors == []
    assert approved.content.startswith("Approved submission #")
    assert "the member was told by DM" in approved.content
    assert "Nothing is waiting for review" in approved.content

    [dm] = emu.dms(member)
    assert dm.embed["title"] == "Your quote was approved" and dm.allowed_mentions == NO_PINGS
    assert next(iter(fields(await emu.invoke("quote mine")))).split(" · ")[1] == "Approved"
    joined = await emu.invoke("quote random", {"person": "Leila Khan"})
    assert joined.embed["description"] == "“Fans made this show what it is.”"
    assert f"submitted by <@{member}>" in fields(joined)["Source"]


async def test_reject_with_a_reason_even_when_dms_are_closed(harness: Harness) -> None:
    emu = harness.emu
    member = user_id(harness, "member")
    emu.world.users[member].accepts_dms = False
    await submit(harness, "A line from an interview that never happened.")
    card = await emu.invoke("quote review", user="moderator")
    form = await emu.press(card, "Reject", user="moderator")
    assert form.modal is not None
    rejected = await emu.submit_modal(form, {"reason": "We couldn't find it in any interview."})
    assert rejected.errors == []
    assert rejected.content.startswith("Rejected submission #")
    assert "DMs are closed" in rejected.content
    assert emu.dms(member) == []
    mine = fields(await emu.invoke("quote mine"))
    [entry] = mine.values()
    assert "Reason: We couldn't find it in any interview." in entry
    assert "your DMs are closed" in entry


async def test_review_goes_one_by_one_and_skips(harness: Harness) -> None:
    emu = harness.emu
    await submit(harness, "First submission words.")
    await submit(harness, "Second submission words.", user="owner")
    card = await emu.invoke("quote review", user="moderator")
    assert card.embed["description"] == "“First submission words.”"
    skipped = await emu.press(card, "Skip", user="moderator")
    assert skipped.embed["description"] == "“Second submission words.”"
    approved = await emu.press(skipped, "Approve", user="moderator")
    assert approved.embed["description"] == "“First submission words.”"
    assert approved.content.startswith("Approved submission #")


async def test_only_reviewers_review(harness: Harness) -> None:
    emu = harness.emu
    await submit(harness, "Something to review.")
    refused = await emu.invoke("quote review")
    assert refused.ephemeral and "Only reviewers can do that" in refused.content
    card = await emu.invoke("quote review", user="moderator")
    pressed = await emu.press(card, "Approve", user="member")
    assert pressed.ephemeral and "Only reviewers can do that" in pressed.content
    assert await harness.store.quotes.pending_count(harness.guild_id) == 1

    not_admin = await emu.invoke("quote reviewers", {"role": "Moderator"})
    assert not_admin.ephemeral and "Manage Server" in not_admin.content
    # The reviewer role, @everyone refused, showing and clearing the setting, and Manage
    # Messages in one channel only: tests/test_quotes_permissions.py.


async def test_a_submitted_everyone_ping_pings_nobody(harness: Harness) -> None:
    emu = harness.emu
    sent = await submit(harness, "@everyone come and see <@&1> @here", "@everyone")
    assert sent.message.allowed_mentions == NO_PINGS
    card = await emu.invoke("quote review", user="moderator")
    assert card.message.allowed_mentions == NO_PINGS
    assert "@everyone" not in card.embed["description"]
    await emu.press(card, "Approve", user="moderator")
    shown = await emu.invoke("quote random", {"person": "@everyone"})
    assert shown.message.allowed_mentions == NO_PINGS
    assert not shown.message.pings_everyone and shown.message.pinged_role_ids == []
    assert "@everyone" not in shown.embed["description"]
    assert "@everyone" not in fields(shown)["Said by"]


async def test_bad_submissions_name_the_limit_and_duplicates_are_pointed_out(
        harness: Harness) -> None:
    emu = harness.emu
    too_long = await submit(harness, "word " * 250)
    assert too_long.ephemeral and "at most 1,000 characters; this one has 1,249" in too_long.content
    copy = await submit(harness, "They did the scene that leads up to the first kiss",
                        "Alice Oseman")
    assert copy.embeds[0]["title"] == "This looks a lot like a quote I already have"
    assert copy.embeds[0]["description"] == "“They did the scene that leads up to the first kiss.”"
    card = await emu.invoke("quote review", user="moderator")
    assert "Netflix Tudum" in fields(card)["Possible duplicate of"]


async def test_submit_has_a_per_member_cooldown(harness: Harness) -> None:
    for n in range(3):
        assert (await submit(harness, f"Submission number {n} here.")).content.startswith(
            "Thanks!")
    refused = await submit(harness, "One too many.")
    assert refused.content.startswith("Slow down a little: try again in 5 min")


# ---- quote of the day -----------------------------------------------------------------------


async def test_daily_posts_at_local_time_across_the_clock_change(harness: Harness) -> None:
    emu = harness.emu
    general = harness.channel_id()
    poster = daily_poster(harness)
    # The day before Europe/London moves to summer time (01:00 UTC on 28 March 2027).
    harness.now = datetime(2027, 3, 27, 10, 0, tzinfo=UTC)
    tz_choices = await emu.autocomplete("quote daily set", {"timezone": "london"},
                                        focused="timezone", user="moderator")
    assert tz_choices == [{"name": "Europe/London", "value": "Europe/London"}]
    done = await emu.invoke("quote daily set", {"channel": "general", "time": "09:00",
                                                "timezone": "Europe/London"}, user="moderator")
    assert done.ephemeral and "every day at 09:00 Europe/London" in done.content
    due = int(datetime(2027, 3, 28, 8, 0, tzinfo=UTC).timestamp())
    assert f"<t:{due}:F>" in done.content  # 09:00 BST is 08:00 UTC

    harness.now = datetime(2027, 3, 28, 7, 59, tzinfo=UTC)
    assert await poster.run_once() == 0
    harness.now = datetime(2027, 3, 28, 8, 0, tzinfo=UTC)
    assert await poster.run_once() == 1
    assert await poster.run_once() == 0
    [post] = emu.channel_messages(general)
    assert post.embed["title"] == "Quote of the day · 28 March 2027"
    assert post.allowed_mentions == NO_PINGS and post.nonce
    schedule = await harness.store.quotes.daily(harness.guild_id)
    assert schedule is not None
    assert schedule.next_due == datetime(2027, 3, 29, 8, 0, tzinfo=UTC)

    shown = await emu.invoke("quote daily show")
    assert "09:00 (Europe/London)" in shown.content
    off = await emu.invoke("quote daily off", user="moderator")
    assert off.content == "The quote of the day is off."
    harness.now = datetime(2027, 3, 29, 8, 0, tzinfo=UTC)
    assert await poster.run_once() == 0


async def test_a_missed_post_is_made_once_on_restart_the_same_day(harness: Harness) -> None:
    emu = harness.emu
    general = harness.channel_id()
    await emu.invoke("quote daily set", {"channel": "general", "time": "13:00",
                                         "timezone": "Europe/London"}, user="moderator")
    harness.advance(hours=3)  # 15:00 in London (GMT): the bot was down at 13:00
    for _ in range(2):
        await harness.restart()
        await daily_poster(harness).first_pass_done.wait()
        assert await daily_poster(harness).run_once() == 0
        assert len(emu.channel_messages(general)) == 1
    # Down over the whole next day's post time: that day is skipped, not posted late.
    harness.now = datetime(2026, 11, 27, 1, 0, tzinfo=UTC)
    await harness.restart()
    await daily_poster(harness).first_pass_done.wait()
    assert len(emu.channel_messages(general)) == 1
    harness.now = datetime(2026, 11, 27, 13, 0, tzinfo=UTC)
    assert await daily_poster(harness).run_once() == 1


async def test_daily_follows_the_same_rotation_as_random(harness: Harness) -> None:
    emu = harness.emu
    pool = await harness.store.quotes.pool_size(harness.guild_id)
    await emu.invoke("quote daily set", {"channel": "general", "time": "12:30",
                                         "timezone": "UTC"}, user="moderator")
    poster = daily_poster(harness)
    texts = [(await emu.invoke("quote random")).embed["description"]]
    harness.advance(minutes=30)
    for _ in range(pool - 1):
        assert await poster.run_once() == 1
        texts.append(emu.channel_messages(harness.channel_id())[-1].embed["description"])
        harness.advance(days=1)
    assert len(set(texts)) == pool  # the days' quotes never repeat the one /quote random gave


async def test_daily_settings_are_checked(harness: Harness) -> None:
    emu = harness.emu
    not_admin = await emu.invoke("quote daily set", {"channel": "general", "time": "09:00",
                                                     "timezone": "UTC"})
    assert not_admin.ephemeral and "Manage Server" in not_admin.content
    bad_time = await emu.invoke("quote daily set", {"channel": "general", "time": "25:00",
                                                    "timezone": "UTC"}, user="moderator")
    assert "HH:MM" in bad_time.content
    bad_zone = await emu.invoke("quote daily set", {"channel": "general", "time": "09:00",
                                                    "timezone": "Mars/Base"}, user="moderator")
    assert "I don't know the time zone" in bad_zone.content
    await emu.set_bot_permissions(harness.channel_id(), deny=1 << 11)  # Send Messages
    no_access = await emu.invoke("quote daily set", {"channel": "general", "time": "09:00",
                                                     "timezone": "UTC"}, user="moderator")
    assert "I can't post in" in no_access.content
    assert await harness.store.quotes.daily(harness.guild_id) is None
