import random

import discord

from bot.core.formatting import escape, month_label, neutralise_mentions, safe, spoiler, truncate


def test_truncate_cuts_on_a_word_boundary() -> None:
    text = "one two three four five"
    assert truncate(text, 100) == text
    cut = truncate(text, 12)
    assert len(cut) <= 12 and cut == "one two…"


def test_truncate_one_giant_word_is_still_within_the_limit() -> None:
    assert len(truncate("x" * 500, 50)) == 50


def test_truncate_never_leaves_a_dangling_escape() -> None:
    cut = truncate("abc\\\\\\ def ghi", 8)
    assert not cut.rstrip("…").endswith("\\")


def test_escape_blocks_markdown_mentions_and_masked_links() -> None:
    text = "[a](http://x) mid *bold* [b](http://y) @everyone <@123> <@&456>"
    escaped = escape(text)
    assert "](" not in escaped
    assert "\\*bold\\*" in escaped
    assert "@everyone" not in escaped and "<@123>" not in escaped and "<@&456>" not in escaped


def test_safe_escapes_before_cutting() -> None:
    assert len(safe("*" * 300, 100)) <= 100


def test_spoiler_cannot_be_closed_early() -> None:
    assert spoiler("a || b") == "||a \\|\\| b||"


def test_month_labels() -> None:
    assert month_label("2022-04") == "April 2022"
    assert month_label("2023-08-03") == "3 August 2023"
    assert month_label("2026") == "2026"
    assert month_label(None) is None


def test_fit_blocks_keeps_whole_blocks_and_counts_the_rest() -> None:
    from bot.core.formatting import fit_blocks

    blocks = ["a" * 40, "b" * 40, "c" * 40, "d" * 40]
    text = fit_blocks(blocks, 90, separator="\n", more="more item")
    assert text == "a" * 40 + "\n" + "b" * 40 + "\n…and 2 more items."
    assert fit_blocks(blocks[:1], 90, separator="\n", more="more item") == "a" * 40


def test_escape_matches_discord_py_on_any_text() -> None:
    """escape() skips discord.py's escape_markdown for text with no character it acts on; the
    answer must be what escape_markdown itself would give, whatever the text."""
    rng = random.Random(12)
    alphabet = "ab c\n\t.:/<>@#&!-_*~|`\\[](){}0123456789https://x.io é"
    texts = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
             for _ in range(20_000)]
    texts += ["plain words only", "well-known", "# heading", "> quote", "- item",
              "see https://example.com/a_b_c now", "[a](https://x.io)", "2 * 3", "x|y",
              "", "   -", "line\n>>> quoted", "<https://x.io/a_b>"]
    for text in texts:
        reference = neutralise_mentions(discord.utils.escape_markdown(
            text.replace("](", "]\u200b(")))
        assert escape(text) == reference, repr(text)
