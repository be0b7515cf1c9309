"""News posts and /news replies: within Discord's limits, escaped, pinging only what they must."""

from __future__ import annotations

from datetime import UTC, datetime

import discord

from bot.canon.models import Source
from bot.core.database import WriteFailure
from bot.core.formatting import EMBED_TOTAL_LIMIT
from bot.news.health import EngineHealth
from bot.news.models import NewsItem, NewsStatus, NewsSubscription
from bot.news.render import (
    BODY_LIMIT,
    LATEST_MAX,
    is_post_of,
    latest_embed,
    news_embed,
    news_message,
    pause_notice,
    status_embed,
    subscriptions_embed,
)

T0 = datetime(2024, 10, 3, 12, 0, tzinfo=UTC)


def item(**changes: object) -> NewsItem:
    values: dict[str, object] = {
        "id": 1, "dedupe_key": "owner:1", "title": "Season 3 date announced",
        "body": "It arrives in October.", "url": "https://example.org/news/season-3",
        "season": 3, "published": "2024-10-03", "origin": "owner",
    }
    values.update(changes)
    return NewsItem(**values)  # type: ignore[arg-type]


def within_limits(embed: discord.Embed) -> None:
    data = embed.to_dict()
    assert len(data.get("title", "")) <= 256
    assert len(data.get("description", "")) <= 4096
    assert len(embed) <= EMBED_TOTAL_LIMIT
    assert len(data.get("fields", [])) <= 25
    for f in data.get("fields", []):
        assert 0 < len(f["name"]) <= 256 and 0 < len(f["value"]) <= 1024


def test_a_post_has_title_body_link_season_source_and_date() -> None:
    embed = news_embed(item(sources=(Source("people", "People", "People.com"),)),
                       watched_season=None)
    data = embed.to_dict()
    assert data["title"] == "Season 3 date announced"
    assert data["url"] == "https://example.org/news/season-3"
    assert "It arrives in October." in data["description"]
    assert "[Read more](https://example.org/news/season-3)" in data["description"]
    fields = {f["name"]: f["value"] for f in data["fields"]}
    assert fields == {"Season": "3", "Source": "People.com"}
    # The marker the bot reads back to find its own post of an item after a lost outcome.
    assert data["footer"]["text"] == "Published 3 October 2024 · news #1"
    assert is_post_of([data["footer"]["text"]], 1)
    assert not is_post_of([data["footer"]["text"]], 11) and not is_post_of([None], 1)
    hidden = news_embed(item(id=12), watched_season=2).to_dict()
    assert is_post_of([None, hidden["footer"]["text"]], 12)


def test_source_falls_back_to_the_link_host_then_the_poster() -> None:
    fields = {f["name"]: f["value"] for f in news_embed(item(), watched_season=None).to_dict()
              ["fields"]}
    assert fields["Source"] == "example.org"
    no_url = news_embed(item(url=None), watched_season=None).to_dict()
    assert {f["name"]: f["value"] for f in no_url["fields"]}["Source"] == "the bot's owners"


def test_a_long_body_is_cut_on_a_word_boundary_with_the_link_kept() -> None:
    body = " ".join(["heartstopper"] * 1000)
    embed = news_embed(item(body=body, title="T" * 400, url="https://e.org/" + "a" * 480),
                       watched_season=None)
    within_limits(embed)
    description = embed.to_dict()["description"]
    text, link = description.rsplit("\n\n", 1)
    assert len(text) <= BODY_LIMIT and text.endswith("heartstopper…")
    assert link.startswith("[Read more](https://e.org/")


def test_a_link_discord_would_reject_is_left_out() -> None:
    for bad in ("javascript:alert(1)", "example.org/x", "https://e.org/a b", "ftp://e.org/x"):
        data = news_embed(item(url=bad), watched_season=None).to_dict()
        assert "url" not in data and "Read more" not in data["description"]
        fields = {f["name"]: f["value"] for f in data["fields"]}
        assert fields["Source"] == "the bot's owners"


def test_parentheses_in_a_link_cannot_break_it() -> None:
    embed = news_embed(item(url="https://e.org/a_(b)"), watched_season=None)
    assert "[Read more](https://e.org/a_%28b%29)" in embed.to_dict()["description"]


def test_text_from_posts_cannot_ping_or_break_markdown() -> None:
    embed = news_embed(item(title="@everyone **big**", body="<@&123> and @here"),
                       watched_season=None)
    data = embed.to_dict()
    assert "@everyone" not in data["title"] and "\\*\\*big\\*\\*" in data["title"]
    assert "<@&123>" not in data["description"] and "@here" not in data["description"]


def test_a_role_ping_names_exactly_that_role() -> None:
    message = news_message(item(), role_id=555, watched_season=None)
    assert message.content == "<@&555>"
    assert message.allowed_mentions.to_dict() == {"parse": [], "roles": [555]}
    plain = news_message(item(), role_id=None, watched_season=None)
    assert plain.content is None
    assert plain.allowed_mentions.to_dict() == {"parse": []}


def test_a_season_the_server_has_not_watched_is_hidden() -> None:
    embed = news_embed(item(), watched_season=2)
    data = embed.to_dict()
    assert "Season 3 date announced" not in data["title"]
    assert data["title"] == "Season 3 news (spoiler for this server)"
    assert "url" not in data  # a link's slug can give the story away too
    parts = data["description"].split("\n\n")
    assert all(p.startswith("||") and p.endswith("||") for p in parts)
    assert "Season 3 date announced" in parts[0]
    # Watched it, or no setting: shown openly.
    for watched in (3, None):
        assert news_embed(item(), watched_season=watched).to_dict()["title"] == (
            "Season 3 date announced")


def test_latest_fits_one_embed_even_at_the_maximum() -> None:
    big = [item(id=i, title="T " * 300, body="word " * 2000, url="https://e.org/" + "x" * 480)
           for i in range(LATEST_MAX)]
    embed = latest_embed(big, watched_season=None)
    within_limits(embed)
    assert len(embed.fields) == LATEST_MAX
    [shown] = latest_embed([item()], watched_season=None).to_dict()["fields"]
    assert shown["name"] == "3 October 2024: Season 3 date announced"
    assert shown["value"] == ("It arrives in October.\n"
                              "[Read more](https://example.org/news/season-3)")
    hidden = latest_embed([item()], watched_season=1).to_dict()["fields"][0]
    assert "date announced" not in hidden["name"] and hidden["value"].startswith("||")
    assert latest_embed([], watched_season=None).description == "No news yet."


def test_subscriptions_list_stays_within_limits() -> None:
    subs = [NewsSubscription(id=i, guild_id=1, channel_id=10**17 + i, role_id=10**17, publish=True,
                             state="paused", subscribed_by=None, created_at=T0,
                             last_delivery_at=T0, last_error="x" * 400, last_error_at=T0)
            for i in range(300)]
    embed = subscriptions_embed(subs)
    within_limits(embed)
    assert embed.description is not None and embed.description.endswith("more channels.")
    one = subscriptions_embed(subs[:1]).description
    assert one is not None
    assert f"<#{10**17}>" in one and "**paused**" in one and "last error" in one
    assert "No channel" in (subscriptions_embed([]).description or "")


def test_status_and_pause_notice() -> None:
    status = NewsStatus(items={"seed": 20, "owner": 2},
                        deliveries={"pending": 3, "sending": 1, "publish_pending": 2,
                                    "publishing": 0, "sent": 40, "failed": 1, "cancelled": 4},
                        subscriptions={"active": 30, "paused": 2, "ended": 1},
                        oldest_open_at=datetime(2026, 11, 25, 11, 48, tzinfo=UTC))
    now = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    healthy = EngineHealth(running=True, in_hand=5, unrecorded=0, unrecorded_for=None,
                           store_trouble_for=None, last_store_error=None)
    embed = status_embed(status, rate=45, max_rate=50, health=healthy, now=now)
    within_limits(embed)
    text = str(embed.to_dict())
    assert "4 pending (1 in flight)" in text and "40 sent" in text and "1 failed" in text
    assert "2 paused" in text and "45 sends per second" in text
    assert "has waited 12 min" in text and "**healthy**" in text and "5 deliveries in hand" in text
    assert "Last database error" not in text

    locked = WriteFailure("busy", "database is locked " * 40, datetime(2026, 11, 25, tzinfo=UTC))
    sick = EngineHealth(running=True, in_hand=2, unrecorded=2, unrecorded_for=14.2,
                        store_trouble_for=20.0, last_store_error=locked)
    embed = status_embed(status, rate=45, max_rate=50, health=sick, now=now)
    within_limits(embed)
    fields = {f.name: f.value for f in embed.fields}
    assert "**needs attention**: the database is refusing writes" in fields["Engine"]
    assert "2 outcomes waiting to be written to the database (for 14 s)" in fields["Engine"]
    assert fields["Last database error"].startswith("busy: database is locked")
    assert "<t:1795564800:R>" in fields["Last database error"]
    stopped = EngineHealth(running=False, in_hand=0, unrecorded=0, unrecorded_for=None,
                           store_trouble_for=None, last_store_error=None)
    assert "the engine is stopped" in str(status_embed(status, rate=45, max_rate=50,
                                                       health=stopped, now=now).to_dict())
    notice = pause_notice(42, missing=["Send Messages", "Embed Links"], reason="Missing Perms")
    assert "<#42>" in notice and "**Send Messages** and **Embed Links**" in notice
    assert "Missing Access" in pause_notice(42, missing=[], reason="Missing Access")
