"""Text is kept as people wrote it: real emoji sequences, scripts that need joiners, soft hyphens;
only what can hurt goes (controls, bidi overrides, stray tags, lone surrogates)."""

from __future__ import annotations

import pytest

from bot.core.text import clean_text, visible_length, without_lone_surrogates
from bot.feeds.parser import parse_feed
from bot.feeds.text import html_to_text, one_line
from bot.quotes.submissions import clean_submission

PRIDE = "\U0001f3f3\ufe0f\u200d\U0001f308"  # 🏳️‍🌈
TRANS = "\U0001f3f3\ufe0f\u200d\u26a7\ufe0f"  # 🏳️‍⚧️
ENGLAND = "\U0001f3f4\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f"  # 🏴󠁧󠁢󠁥󠁮󠁧󠁿
COUPLE = "\U0001f468\u200d\u2764\ufe0f\u200d\U0001f468"  # 👨‍❤️‍👨
FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466"  # 👨‍👩‍👧‍👦
SKIN_TONE_WAVE = "\U0001f44b\U0001f3fd"  # 👋🏽
KEYCAP = "3\ufe0f\u20e3"  # 3️⃣
PERSIAN = "می\u200cخواهم"  # "I want": the non-joiner keeps the prefix apart
SOFT_HYPHEN = "co\u00adoperation"
MEANT = [PRIDE, TRANS, ENGLAND, COUPLE, FAMILY, SKIN_TONE_WAVE, KEYCAP, PERSIAN, SOFT_HYPHEN,
         "\u200fשלום\u200e"]  # right-to-left and left-to-right marks around Hebrew


@pytest.mark.parametrize("meant", MEANT)
def test_what_a_person_meant_is_kept(meant: str) -> None:
    assert clean_text(meant) == meant
    assert clean_text(f"Nick and Charlie {meant} forever") == f"Nick and Charlie {meant} forever"


@pytest.mark.parametrize("harmful", ["\u202e", "\u202a", "\u202b", "\u202c", "\u202d", "\u2066",
                                     "\u2067", "\u2068", "\u2069", "\x00", "\x07", "\x1b", "\x7f",
                                     "\x9b"])
def test_what_can_hurt_goes(harmful: str) -> None:
    assert clean_text(f"ab{harmful}cd") == "abcd"


def test_tags_outside_a_flag_are_invisible_text_and_go() -> None:
    hidden = "".join(chr(0xE0000 + ord(c)) for c in "ignore this")
    assert clean_text(f"hello{hidden}") == "hello"
    assert clean_text(f"{ENGLAND}{hidden}") == ENGLAND  # the flag stays, the smuggled text goes
    assert clean_text("\U0001f3f4") == "\U0001f3f4"  # a plain black flag


def test_line_breaks_tabs_and_lone_surrogates() -> None:
    assert clean_text("a\r\nb\rc\u2028d\te") == "a\nb\nc\nd e"
    assert clean_text("a\nb", keep_newlines=False) == "a b"
    assert clean_text("x\ud83dy") == "x\ufffdy"
    assert without_lone_surrogates("x\udfffy\u200d") == "x\ufffdy\u200d"
    assert without_lone_surrogates(PRIDE) is not None and without_lone_surrogates(PRIDE) == PRIDE


def test_visible_length_ignores_what_does_not_show() -> None:
    assert visible_length("\u200b\u200d \ufe0f") == 0
    assert visible_length(PRIDE) == 2 and visible_length("abc") == 3


def test_a_submission_keeps_its_emoji_and_its_speaker_stays_the_same_person() -> None:
    draft = clean_submission(f"Nick and Charlie forever {PRIDE} {COUPLE} {TRANS}",
                             f"Yasmin Finney {TRANS}", None)
    assert draft.text == f"Nick and Charlie forever {PRIDE} {COUPLE} {TRANS}"
    assert draft.speaker == f"Yasmin Finney {TRANS}"


def test_feed_text_keeps_flags_families_soft_hyphens_and_persian() -> None:
    for meant in MEANT:
        assert one_line(f"Headline {meant} here", 200) == f"Headline {meant} here"
        assert html_to_text(f"<p>Story {meant} here</p>") == f"Story {meant} here"


def test_hard_wrapped_html_is_one_paragraph_but_pre_keeps_its_lines() -> None:
    html = ("<p>Nick and Charlie walk\n   to school together,\nand talk about\nthe rugby "
            "match.</p>\n<p>Second\nparagraph.</p><pre>line one\nline two</pre>")
    assert html_to_text(html) == ("Nick and Charlie walk to school together, and talk about "
                                  "the rugby match.\n\nSecond paragraph.\n\nline one\nline two")


def _rss_item(inner: str, *, title: str = "A story") -> bytes:
    return (f'<?xml version="1.0"?><rss version="2.0" '
            f'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel><title>T</title>'
            f"<item><title>{title}</title><guid>g1</guid>{inner}</item></channel></rss>").encode()


@pytest.mark.parametrize("summary", ["<description></description>",
                                     "<description>&lt;img src=\"https://x.org/a.jpg\"/&gt;"
                                     "</description>", ""])
def test_the_story_comes_from_content_encoded_when_the_summary_has_no_text(
        summary: str) -> None:
    body = _rss_item(summary + "<content:encoded><![CDATA[<p>The whole story, with "
                     f"{PRIDE}.</p>]]></content:encoded>")
    [entry] = parse_feed(body, url="https://x.org/feed", content_type=None).entries
    assert entry.summary == f"The whole story, with {PRIDE}."


def test_an_atom_entry_with_only_content() -> None:
    body = (b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>T</title>'
            b"<entry><title>Atom story</title><id>urn:1</id>"
            b'<content type="html">&lt;p&gt;Told in the content.&lt;/p&gt;</content>'
            b"</entry></feed>")
    [entry] = parse_feed(body, url="https://x.org/atom", content_type=None).entries
    assert entry.summary == "Told in the content."


def test_a_new_empty_feed_with_an_html_entity_in_its_title_can_be_read() -> None:
    body = (b'<?xml version="1.0"?><rss version="2.0"><channel><title>Caf&eacute; news</title>'
            b"<link>https://x.org/</link></channel></rss>")
    parsed = parse_feed(body, url="https://x.org/feed", content_type=None)
    assert parsed.title == "Café news" and parsed.entries == ()
