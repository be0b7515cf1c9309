"""Turning message payloads (as Discord serves them) into terminal text."""

from datetime import UTC, datetime

from bot.playground.render import (
    Names,
    markdown,
    modal_inputs,
    render_choices,
    render_components,
    render_help,
    render_message,
    render_modal,
)
from bot.playground.suggest import Candidate

CARD = {
    "content": "",
    "flags": 64,
    "embeds": [{
        "author": {"name": "Heartstopper"},
        "title": "Charlie Spring",
        "url": "https://example.org/charlie",
        "description": "A **drummer** at Truham.\n\n||Season 3:|| later things",
        "fields": [{"name": "Played by", "value": "Joe Locke", "inline": True},
                   {"name": "Arcs", "value": "one\ntwo", "inline": False}],
        "image": {"url": "https://example.org/image.png"},
        "thumbnail": {"url": "https://example.org/thumb.png"},
        "footer": {"text": "Sources: example.org"},
        "timestamp": "2024-10-03T12:00:00+00:00",
    }],
    "components": [{"type": 1, "components": [
        {"type": 2, "style": 1, "label": "Another", "custom_id": "a"},
        {"type": 2, "style": 2, "label": "Next", "custom_id": "n", "disabled": True},
        {"type": 2, "style": 5, "label": "Read more", "url": "https://example.org/more"},
    ]}],
}


def test_a_card_reads_top_to_bottom_without_styles() -> None:
    assert render_message(CARD) == [
        "(only you can see this)",
        "│ Heartstopper",
        "│ Charlie Spring",
        "│ https://example.org/charlie",
        "│ A drummer at Truham.",
        "│",
        "│ [spoiler: Season 3:] later things",
        "│ Played by: Joe Locke",
        "│ Arcs: one",
        "│   two",
        "│ image: https://example.org/image.png",
        "│ thumbnail: https://example.org/thumb.png",
        "│ Sources: example.org · 2024-10-03 12:00 UTC",
        "[Another] [Next (disabled)] [Read more -> https://example.org/more]",
    ]


def test_ansi_styles_only_when_asked() -> None:
    plain = "\n".join(render_message(CARD))
    styled = "\n".join(render_message(CARD, ansi=True))
    assert "\x1b[" not in plain
    assert "\x1b[1mCharlie Spring\x1b[22m" in styled
    assert "\x1b[1mdrummer\x1b[22m" in styled


def test_public_message_has_no_ephemeral_note() -> None:
    lines = render_message({"content": "Hello", "flags": 0, "embeds": [], "components": []})
    assert lines == ["Hello"]


def test_markdown_as_discord_shows_it() -> None:
    assert markdown(r"\*\*not bold\*\* and \_x\_") == "**not bold** and _x_"
    assert markdown("*italic* _also_ __under__ ~~gone~~") == "italic also under ~~gone~~"
    assert markdown("5 * 3 * 2 and snake_case_name") == "5 * 3 * 2 and snake_case_name"
    assert markdown("see [the article](<https://example.org/a>)") == (
        "see the article (https://example.org/a)")
    assert markdown("||two\nlines||") == "[spoiler: two\nlines]"
    assert markdown("# Heading\n-# small print") == "Heading\nsmall print"
    stamp = int(datetime(2025, 4, 17, 9, 30, tzinfo=UTC).timestamp())
    assert markdown(f"<t:{stamp}:D> / <t:{stamp}>") == "2025-04-17 / 2025-04-17 09:30 UTC"


def test_mentions_read_as_names() -> None:
    names = Names(users={1: "Nick"}, channels={2: "general"}, roles={3: "Moderator"})
    text = "<@1> <@!1> in <#2> for <@&3>, <@9> unknown, <:rainbow:123>"
    assert markdown(text, names=names) == (
        "@Nick @Nick in #general for @Moderator, @9 unknown, :rainbow:")


def test_selects_emoji_buttons_and_text_displays() -> None:
    components = [
        {"type": 1, "components": [{"type": 3, "custom_id": "s", "placeholder": "Pick one",
                                    "options": [{"label": "Nick", "value": "n"},
                                                {"label": "Charlie", "value": "c"}]}]},
        {"type": 1, "components": [{"type": 8, "custom_id": "ch", "placeholder": "Where"}]},
        {"type": 1, "components": [{"type": 2, "style": 2, "custom_id": "e",
                                    "emoji": {"name": "🍂"}},
                                   {"type": 2, "style": 2, "custom_id": "f", "label": "Fall",
                                    "emoji": {"name": "leaf", "id": "5"}}]},
        {"type": 10, "content": "**Text** display"},
    ]
    assert render_components(components) == [
        "<Pick one: Nick | Charlie>",
        "<Where: any channel>",
        "[🍂] [:leaf: Fall]",
        "Text display",
    ]


def test_forms_name_their_inputs_by_the_first_word_of_the_label() -> None:
    modal = {"title": "Reject submission #4", "custom_id": "m", "components": [
        {"type": 1, "components": [{"type": 4, "custom_id": "x1", "label": "Reason (optional)",
                                    "required": False, "max_length": 300}]},
        {"type": 18, "label": "ignored", "component": {"type": 4, "custom_id": "x2",
                                                       "label": "Reason again"}},
    ]}
    assert {k: v["custom_id"] for k, v in modal_inputs(modal).items()} == {
        "reason": "x1", "reason_": "x2"}
    assert render_modal(modal) == [
        "form: Reject submission #4",
        "  reason: Reason (optional) (optional, up to 300 characters)",
        "  reason_: Reason again (required)",
        'fill it in with: reason:"…" reason_:"…"   (or: cancel)',
    ]


def test_choices_line_up_and_empty_lists_say_so() -> None:
    found = [Candidate("/quote random ", "random", "A random quote"),
             Candidate("/quote daily ", "daily", "Quote of the day"),
             Candidate("/x", "Nick Nelson (Kit Connor)")]
    assert render_choices(found) == ["  random  A random quote", "  daily   Quote of the day",
                                     "  Nick Nelson (Kit Connor)"]
    assert render_choices([]) == ["  (no suggestions)"]
    assert render_choices([], "season: a number") == ["  season: a number"]


def test_help_lists_every_runnable_command_path() -> None:
    commands = [{"name": "quote", "type": 1, "description": "Quotes", "options": [
        {"type": 1, "name": "random", "description": "A random quote", "options": [
            {"type": 4, "name": "season", "description": "Season"}]},
        {"type": 1, "name": "search", "description": "Find", "options": [
            {"type": 3, "name": "text", "description": "Words", "required": True}]}]}]
    lines = render_help(commands, user="owner", users=["owner", "member"])
    assert "  /quote random [season:]  - A random quote" in lines
    assert "  /quote search text:  - Find" in lines
    assert any("now: owner" in line for line in lines)
