"""Quote moderation end to end (issue 18): removing and restoring member quotes, hiding canon
ones, the history reviewers see, the review queue, the notice channel, posting the quote of the
day at once, and cards that show what is known. The real bot through the local Discord
emulator, on a real SQLite file."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from bot.quotes.daily import DailyQuotePoster
from bot.store import Store
from emulator.results import InteractionResult, SentMessage
from tests.conftest import Harness

NO_PINGS = {"parse": []}
EVERYONE_TEXT = "@everyone Nick and Charlie forever"
SEND_MESSAGES = 1 << 11
ARTICLE_TITLE = "Everything We Know About Season 2 of Netflix's 'Heartstopper'"


def user_id(harness: Harness, username: str) -> int:
    return harness.emu.world.guild(harness.guild_id).member(username).user.id


def fields(message: InteractionResult | SentMessage | dict) -> dict[str, str]:
    embed = message if isinstance(message, dict) else message.embed
    assert embed is not None
    return {f["name"]: f["value"] for f in embed.get("fields", [])}


def footer_id(message: InteractionResult | SentMessage) -> int:
    """The quote number a card shows reviewers in its footer."""
    assert message.embed is not None
    found = re.match(r"Quote #(\d+)", message.embed["footer"]["text"])
    assert found, message.embed["footer"]
    return int(found[1])


def daily_poster(harness: Harness) -> DailyQuotePoster:
    poster = getattr(harness.bot.get_cog("Quotes"), "daily_poster", None)
    assert isinstance(poster, DailyQuotePoster)
    return poster


async def submit(harness: Harness, text: str, speaker: str = "A Fan", *, user: str = "member",
                 source: str | None = None) -> InteractionResult:
    options = {"text": text, "speaker": speaker}
    if source is not None:
        options["source"] = source
    return await harness.emu.invoke("quote submit", options, user=user)


async def approve_oldest(harness: Harness) -> InteractionResult:
    card = await harness.emu.invoke("quote review", user="moderator")
    approved = await harness.emu.press(card, "Approve", user="moderator")
    assert approved.content.startswith("Approved submission #"), approved.content
    return approved


# ---- removing and restoring a member quote ----------------------------------------------------


async def test_a_removed_everyone_quote_leaves_at_once_and_pings_nobody(harness: Harness) -> None:
    emu = harness.emu
    general = harness.channel_id()
    await emu.invoke("quote daily set", {"channel": "general", "time": "09:00",
                                         "timezone": "UTC"}, user="moderator")
    await submit(harness, EVERYONE_TEXT)
    await approve_oldest(harness)

    shown = await emu.invoke("quote random", {"person": "A Fan"})
    assert EVERYONE_TEXT.split(" ", 1)[1] in shown.embed["description"]
    assert not shown.message.pings_everyone and shown.message.allowed_mentions == NO_PINGS
    quote_id = footer_id(shown)
    # Fills the in-memory speaker names, which the removal must not leave stale.
    offered = await emu.autocomplete("quote random", {"person": "a f"}, focused="person")
    assert "A Fan" in [c["value"] for c in offered]
    found = await emu.invoke("quote search", {"text": "Charlie forever"})
    assert any(f["name"].endswith(f"#{quote_id}") for f in found.embed["fields"])

    approved_before = (await harness.store.canon.stats()).quotes_approved
    refused = await emu.invoke("quote remove", {"id": quote_id, "reason": "spam"})
    assert refused.ephemeral and "Only reviewers can do that" in refused.content
    removed = await emu.invoke("quote remove", {"id": quote_id, "reason": "Not a real quote"},
                               user="moderator")
    assert removed.ephemeral and removed.content.startswith(f"Removed quote #{quote_id}")
    assert removed.message.allowed_mentions == NO_PINGS
    again = await emu.invoke("quote remove", {"id": quote_id, "reason": "twice"},
                             user="moderator")
    assert "already removed" in again.content
    # /about and `db stats` count it no more.
    assert (await harness.store.canon.stats()).quotes_approved == approved_before - 1

    gone = await emu.invoke("quote random", {"person": "A Fan"}, user="owner")
    assert gone.ephemeral and "No quotes here are by A Fan" in gone.content
    offered = await emu.autocomplete("quote random", {"person": "a f"}, focused="person")
    assert "A Fan" not in [c["value"] for c in offered]
    searched = await emu.invoke("quote search", {"text": "Charlie forever"}, user="owner")
    assert "No quotes match" in searched.embed["description"]
    # Every quote of the day until the rotation comes round: never the removed one.
    pool = await harness.store.quotes.pool_size(harness.guild_id)
    for _ in range(pool + 1):
        posted = await emu.invoke("quote daily now", user="moderator")
        assert posted.content.startswith("Posted a quote of the day"), posted.content
    posts = [m for m in emu.channel_messages(general)
             if m.embed and m.embed.get("title", "").startswith("Quote of the day")]
    assert len(posts) == pool + 1
    assert all("Charlie forever" not in p.embed["description"] for p in posts)
    assert all(p.allowed_mentions == NO_PINGS and not p.pings_everyone for p in posts)

    mine = fields(await emu.invoke("quote mine"))
    [(status, entry)] = mine.items()
    assert status.split(" · ")[1] == "Removed by a reviewer"
    assert "Reason: Not a real quote" in entry

    history = await emu.invoke("quote history", {"id": quote_id}, user="moderator")
    moderator = user_id(harness, "moderator")
    lines = history.embed["description"].split("\n")
    assert lines[0].endswith(f"Removed by <@{moderator}>: Not a real quote")
    assert lines[1].endswith(f"Approved by <@{moderator}>")
    assert lines[2].startswith(f"Submitted by <@{user_id(harness, 'member')}>")
    assert fields(history)["Now"] == "Removed: not shown in this server."
    assert "@everyone" not in history.embed["fields"][0]["value"]
    assert history.message.allowed_mentions == NO_PINGS

    restored = await emu.invoke("quote restore", {"id": quote_id}, user="moderator")
    assert restored.content.startswith(f"Restored quote #{quote_id}")
    back = await emu.invoke("quote random", {"person": "A Fan"}, user="owner")
    assert footer_id(back) == quote_id and not back.message.pings_everyone
    recent = await emu.invoke("quote history", user="moderator")
    assert recent.embed["description"].split("\n")[0].endswith(
        f"Restored #{quote_id} by <@{moderator}>")


async def test_removing_refuses_what_it_cannot_remove(harness: Harness) -> None:
    emu = harness.emu
    await submit(harness, "Still waiting for a reviewer.")
    [waiting] = await harness.store.quotes.pending(harness.guild_id)
    pending = await emu.invoke("quote remove", {"id": waiting.quote.id, "reason": "no"},
                               user="moderator")
    assert "still waiting for review" in pending.content
    missing = await emu.invoke("quote remove", {"id": 999_999, "reason": "no"},
                               user="moderator")
    assert "There is no quote #999999 here" in missing.content
    canon = await emu.invoke("quote random", {"person": "kit connor", "season": 3})
    canon_id = footer_id(canon)
    not_member = await emu.invoke("quote remove", {"id": canon_id, "reason": "no"},
                                  user="moderator")
    assert f"`/quote hide id:{canon_id}`" in not_member.content
    not_removed = await emu.invoke("quote restore", {"id": canon_id}, user="moderator")
    assert f"`/quote unhide id:{canon_id}`" in not_removed.content
    blank = await emu.invoke("quote remove", {"id": canon_id, "reason": "   "},
                             user="moderator")
    assert "Give a reason" in blank.content


async def test_a_submission_of_another_server_cannot_be_removed_here(harness3: Harness) -> None:
    emu = harness3.emu
    await submit(harness3, "Said in the first server only.")
    await approve_oldest(harness3)
    [mine] = await harness3.store.quotes.submissions_by(harness3.guild_id,
                                                        user_id(harness3, "member"))
    other = emu.config.guilds[1].id
    refused = await emu.invoke("quote remove", {"id": mine.quote.id, "reason": "x"},
                               user="moderator", guild_id=other)
    assert f"There is no quote #{mine.quote.id} here" in refused.content
    assert await harness3.store.quotes.hidden_kind(harness3.guild_id, mine.quote.id) is None


# ---- hiding a canon quote ---------------------------------------------------------------------


def quote_count_on_card(card: InteractionResult) -> int:
    [line] = [f["value"] for f in card.embed["fields"] if "by or about them" in f["value"]]
    return int(line.split()[0])


async def test_a_hidden_canon_quote_is_gone_here_only_until_unhidden(harness3: Harness) -> None:
    emu = harness3.emu
    other = emu.config.guilds[1].id
    found = await emu.invoke("quote search", {"text": '"favourite episode of Heartstopper"'})
    [hit] = found.embed["fields"]
    quote_id = int(hit["name"].rsplit("#", 1)[1])
    nick_before = quote_count_on_card(await emu.invoke("character", {"name": "Nick Nelson"}))
    hidden = await emu.invoke("quote hide", {"id": quote_id, "reason": "Not for us"},
                              user="moderator")
    assert hidden.content.startswith(f"Hidden quote #{quote_id} in this server")
    searched = await emu.invoke("quote search", {"text": '"favourite episode of Heartstopper"'},
                                user="owner")
    assert "No quotes match" in searched.embed["description"]
    # The character card counts (and its "Show a quote" button draws from) the same pool.
    nick_after = quote_count_on_card(await emu.invoke("character", {"name": "Nick Nelson"}))
    assert nick_after == nick_before - 1
    # A whole round of quotes of the day and more: every quote here but never the hidden one.
    await emu.invoke("quote daily set", {"channel": "general", "time": "09:00",
                                         "timezone": "UTC"}, user="moderator")
    pool = await harness3.store.quotes.pool_size(harness3.guild_id)
    earlier = len(emu.channel_messages(harness3.channel_id()))  # the public cards above
    for _ in range(pool + 1):
        await emu.invoke("quote daily now", user="moderator")
    drawn = [footer_id(m) for m in emu.channel_messages(harness3.channel_id())[earlier:]]
    assert len(drawn) == pool + 1 and len(set(drawn)) == pool and quote_id not in drawn
    # Kit Connor's other quotes are still there.
    assert footer_id(await emu.invoke("quote random", {"person": "kit connor"})) != quote_id
    elsewhere = await emu.invoke("quote search", {"text": '"favourite episode of Heartstopper"'},
                                 guild_id=other)
    assert elsewhere.embed["fields"][0]["name"].endswith(f"#{quote_id}")

    history = await emu.invoke("quote history", {"id": quote_id}, user="moderator")
    assert "Hidden by" in history.embed["description"] and "Not for us" in (
        history.embed["description"])
    assert fields(history)["Now"] == "Hidden in this server (other servers show it)."
    member_hides = await emu.invoke("quote hide", {"id": quote_id})
    assert "Only reviewers can do that" in member_hides.content

    unhidden = await emu.invoke("quote unhide", {"id": quote_id}, user="moderator")
    assert unhidden.content.startswith(f"Quote #{quote_id} is shown in this server again")
    back = await emu.invoke("quote search", {"text": '"favourite episode of Heartstopper"'},
                            user="moderator")
    assert back.embed["fields"][0]["name"].endswith(f"#{quote_id}")
    twice = await emu.invoke("quote unhide", {"id": quote_id}, user="moderator")
    assert "is not hidden here" in twice.content

    await submit(harness3, "A member's words to keep.")
    await approve_oldest(harness3)
    [own] = await harness3.store.quotes.submissions_by(harness3.guild_id,
                                                       user_id(harness3, "member"))
    not_canon = await emu.invoke("quote hide", {"id": own.quote.id}, user="moderator")
    assert f"`/quote remove id:{own.quote.id} reason:`" in not_canon.content


# ---- the review queue and the notice channel ----------------------------------------------------


async def test_someone_whose_every_quote_is_hidden_here_is_not_offered_here(
        harness3: Harness) -> None:
    emu = harness3.emu
    other = emu.config.guilds[1].id

    async def offered(typed: str, guild_id: int | None = None) -> list[str]:
        result = await emu.autocomplete("quote random", {"person": typed}, focused="person",
                                        guild_id=guild_id)
        return [c["name"] for c in result]

    assert "Euros Lyn" in await offered("euros")
    card = await emu.invoke("quote random", {"person": "Euros Lyn"})  # his one quote
    quote_id = footer_id(card)
    hidden = await emu.invoke("quote hide", {"id": quote_id}, user="moderator")
    assert hidden.content.startswith(f"Hidden quote #{quote_id}")
    assert "Euros Lyn" not in await offered("euros")
    assert "Euros Lyn" in await offered("euros", other)  # hidden in one server only
    assert "Kit Connor" in await offered("kit")  # others are still offered here
    await emu.invoke("quote unhide", {"id": quote_id}, user="moderator")
    assert "Euros Lyn" in await offered("euros")


async def test_review_says_how_many_wait_and_the_queue_lists_them_in_pages(
        harness: Harness) -> None:
    emu = harness.emu
    quotes = harness.store.quotes
    member = user_id(harness, "member")
    # Twelve waiting submissions (more than one member may send at once: the store is the
    # quickest way there).
    for n in range(12):
        await quotes.submit(guild_id=harness.guild_id, user_id=member, text=f"Words number {n}.",
                            speaker_name="A Fan", speaker_id=None, source_text=None,
                            near_duplicate_of=None)
    card = await emu.invoke("quote review", user="moderator")
    assert card.content.startswith("**12 submissions wait for review**")
    assert card.embed["description"] == "“Words number 0.”"

    refused = await emu.invoke("quote queue")
    assert refused.ephemeral and "Only reviewers can do that" in refused.content
    first = await emu.invoke("quote queue", user="moderator")
    assert first.ephemeral and first.embed["title"] == "Waiting for review: 12 submissions"
    assert len(first.embed["fields"]) == 10 and first.buttons == ["Previous", "Next"]
    assert first.embed["footer"]["text"] == "Page 1 of 2"
    assert "“Words number 0.”" in first.embed["fields"][0]["value"]
    second = await emu.press(first, "Next", user="moderator")
    assert [f["value"].split("\n")[0] for f in second.message.embed["fields"]] == [
        "“Words number 10.”", "“Words number 11.”"]
    assert second.message.embed["footer"]["text"] == "Page 2 of 2"


async def test_the_notice_channel_hears_of_each_submission_once_without_a_ping(
        harness: Harness) -> None:
    emu = harness.emu
    announcements = harness.channel_id("announcements")
    not_admin = await emu.invoke("quote reviewers", {"notify": "announcements"})
    assert "Manage Server" in not_admin.content
    await emu.set_bot_permissions(announcements, deny=SEND_MESSAGES)
    cannot = await emu.invoke("quote reviewers", {"notify": "announcements"}, user="moderator")
    assert cannot.content.startswith("I can't post in")
    assert "**Send Messages**" in cannot.content
    assert (await harness.store.quotes.settings(harness.guild_id)).notify_channel_id is None
    await emu.set_bot_permissions(announcements)

    done = await emu.invoke("quote reviewers", {"notify": "announcements"}, user="moderator")
    assert done.content.startswith(f"Done: each new submission will be announced in "
                                   f"<#{announcements}>")
    sent = await submit(harness, EVERYONE_TEXT)
    assert sent.content.startswith("Thanks!")
    [notice] = emu.channel_messages(announcements)
    assert notice.content.startswith("A quote submission is waiting for review: #")
    assert "1 submission waiting" in notice.content
    assert notice.allowed_mentions == NO_PINGS and not notice.pings_everyone
    assert "@everyone" not in notice.content

    # The bot loses Send Messages there: submitting still works, and nothing is sent there.
    await emu.set_bot_permissions(announcements, deny=SEND_MESSAGES)
    posts_before = len(emu.requests_to("POST", "/channels/{channel_id}/messages"))
    later = await submit(harness, "Another line to review.", user="owner")
    assert later.content.startswith("Thanks!") and later.errors == []
    assert len(emu.channel_messages(announcements)) == 1
    assert len(emu.requests_to("POST", "/channels/{channel_id}/messages")) == posts_before
    setting = await emu.invoke("quote reviewers", user="moderator")
    assert "The last notice could not be posted: I can't post in" in setting.content

    off = await emu.invoke("quote reviewers", {"notify_off": True}, user="moderator")
    assert off.content.startswith("Done: no more notices")
    both = await emu.invoke("quote reviewers", {"notify": "general", "notify_off": True},
                            user="moderator")
    assert "not both" in both.content


# ---- the quote of the day, now ----------------------------------------------------------------


async def test_daily_now_posts_at_once_and_show_says_when_the_last_went_out(
        harness: Harness) -> None:
    emu = harness.emu
    general = harness.channel_id()
    unset = await emu.invoke("quote daily now", user="moderator")
    assert "No quote of the day is set up here" in unset.content
    await emu.invoke("quote daily set", {"channel": "general", "time": "09:00",
                                         "timezone": "Europe/London"}, user="moderator")
    before = await emu.invoke("quote daily show")
    assert "None has gone out yet." in before.content
    not_admin = await emu.invoke("quote daily now")
    assert "Manage Server" in not_admin.content

    posted = await emu.invoke("quote daily now", user="moderator")
    assert posted.content.startswith(f"Posted a quote of the day in <#{general}>")
    [post] = emu.channel_messages(general)
    assert post.embed["title"] == "Quote of the day · 25 November 2026"
    assert post.allowed_mentions == NO_PINGS and footer_id(post) > 0
    moment = int(harness.now.timestamp())
    after = await emu.invoke("quote daily show")
    assert f"The last one went out <t:{moment}:F> (<t:{moment}:R>)." in after.content

    # The scheduled post still comes, and moves "the last one" on.
    harness.advance(days=1)
    assert await daily_poster(harness).run_once() == 1
    moment = int(harness.now.timestamp())
    assert f"<t:{moment}:F>" in (await emu.invoke("quote daily show")).content

    await emu.set_bot_permissions(general, deny=SEND_MESSAGES)
    refused = await emu.invoke("quote daily now", user="moderator")
    assert refused.content.startswith("I can't post in") and len(
        emu.channel_messages(general)) == 2
    # The next scheduled post fails and says so; once a post at once works, the problem is over.
    harness.advance(days=1)
    assert await daily_poster(harness).run_once() == 0
    assert "Last problem: I can't post" in (await emu.invoke("quote daily show")).content
    await emu.set_bot_permissions(general, allow=SEND_MESSAGES)
    again = await emu.invoke("quote daily now", user="moderator")
    assert again.content.startswith(f"Posted a quote of the day in <#{general}>")
    assert "Last problem" not in (await emu.invoke("quote daily show")).content


# ---- cards show what is known ------------------------------------------------------------------


async def test_cards_show_what_is_known_and_name_the_article(harness: Harness) -> None:
    emu = harness.emu
    # A member quote with a source: the source, and no "not recorded" line.
    await submit(harness, "Words with a source of their own.", "A Fan", user="owner",
                 source="Instagram live, May 2023")
    await approve_oldest(harness)  # the owner's, approved by the moderator
    shown = await emu.invoke("quote random", {"person": "A Fan"}, user="owner")
    got = fields(shown)
    assert "Where and when" not in got
    assert got["Source"].startswith("Instagram live, May 2023 · submitted by <@")
    assert "not recorded" not in str(shown.embed)
    listed = await emu.invoke("quote search", {"text": "source of their own"}, user="owner")
    assert listed.embed["fields"][0]["name"].startswith(
        "1. A Fan · Instagram live, May 2023 · #")

    # A quote of the article that names neither outlet nor date, shown as the near-duplicate of
    # a submission.
    copy = await submit(harness, "I always think a trope is a trope for a reason.",
                        "Alice Oseman")
    card = fields(copy.embeds[0])
    assert card["Where and when"] == f"From the article “{ARTICLE_TITLE}”"
    assert card["Source"] == f"The article “{ARTICLE_TITLE}”"
    assert "not recorded" not in str(copy.embeds[0])
    found = await emu.invoke("quote search", {"text": "trope"})
    assert "From the article" in found.embed["fields"][0]["name"]
    # An article quote with an outlet and month shows them, and the article as its source.
    kit = await emu.invoke("quote search", {"text": "bisexual representation"},
                           user="moderator")
    assert "Entertainment Weekly · May 2022" in kit.embed["fields"][0]["name"]


# ---- the history of reviews made before moderation existed ---------------------------------------


async def test_reviews_made_before_the_upgrade_start_each_history(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    async with await Store.open(path, migrate_to=12) as old, old.database.transaction() as db:
        for status, reason in (("approved", None), ("rejected", "Not said by her")):
            cursor = await db.execute(
                "INSERT INTO quotes (text, speaker_name, status, guild_id, submitted_by,"
                " created_at) VALUES (?, 'A Fan', ?, 5, 7, ?) RETURNING id",
                (f"Words {status}.", status, "2026-11-01T10:00:00.000000Z"))
            row = await cursor.fetchone()
            assert row is not None
            await db.execute(
                "INSERT INTO quote_submissions (quote_id, reviewer_id, reason, decided_at)"
                " VALUES (?, 9, ?, '2026-11-02T10:00:00.000000Z')", (row[0], reason))
    async with await Store.open(path) as store:
        entries = await store.quotes.history(5)
        assert [(e.action, e.actor_id, e.reason) for e in entries] == [
            ("rejected", 9, "Not said by her"), ("approved", 9, None)]
        assert entries[0].at == datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
        assert await store.quotes.history(6) == []
