"""The playground and answers that come after "(the bot is thinking…)": printed under their
line when they come within the wait, before the end of a script when they come later, and a
clean stop (no traceback) when they never do. Driven through run_playground with a feed server
that answers slowly, as `/news feed add` of a slow feed would. Also: code in backticks is shown
as written by the playground's markdown."""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.core.config import Settings
from bot.playground import run_playground
from bot.playground.render import markdown

FEED = (b'<?xml version="1.0"?><rss version="2.0"><channel><title>Slow Fan Site</title>'
        b"<link>https://slow.example/</link><item><guid>a</guid><title>Heartstopper news"
        b"</title><link>https://slow.example/a</link></item></channel></rss>")


class SlowFeed:
    """A feed that answers after `delay` seconds."""

    def __init__(self) -> None:
        self.delay = 0.0
        self.server: TestServer | None = None

    async def handle(self, request: web.Request) -> web.Response:
        await asyncio.sleep(self.delay)
        return web.Response(body=FEED, headers={"Content-Type": "application/rss+xml"})

    def url(self) -> str:
        assert self.server is not None
        return str(self.server.make_url("/feed.xml"))


@pytest.fixture
async def slow_feed() -> AsyncIterator[SlowFeed]:
    feed = SlowFeed()
    app = web.Application()
    app.router.add_route("GET", "/{path:.*}", feed.handle)
    feed.server = TestServer(app, host="127.0.0.1")
    await feed.server.start_server()
    try:
        yield feed
    finally:
        await feed.server.close()


async def transcript(settings: Settings, tmp_path: Path, *lines: str, answer_wait: float,
                     pending_wait: float) -> tuple[int, str]:
    script = tmp_path / "script.txt"
    script.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = io.StringIO()
    code = await run_playground(settings, script=script, out=out, answer_wait=answer_wait,
                                pending_wait=pending_wait)
    return code, out.getvalue()


async def test_an_answer_after_thinking_is_printed_under_its_line(
        settings: Settings, tmp_path: Path, slow_feed: SlowFeed) -> None:
    slow_feed.delay = 2.0  # past the first wait (1 s), within the wait for the rest
    line = f"/news feed add url:{slow_feed.url()}"
    code, text = await transcript(settings, tmp_path, line, "/about", answer_wait=1.0,
                                  pending_wait=10.0)
    assert code == 0, text
    answer = text.split(f"owner> {line}\n", 1)[1].split("\nowner> /about", 1)[0]
    assert answer.startswith("(only you can see this)\n(the bot is thinking…)\n"
                             "(only you can see this)\nNow following Slow Fan Site"), answer
    assert "│ Heartstopper bot" in text.split("owner> /about", 1)[1]


async def test_a_late_answer_is_waited_for_before_the_script_ends(
        settings: Settings, tmp_path: Path, slow_feed: SlowFeed,
        caplog: pytest.LogCaptureFixture) -> None:
    # The line gives up after 1 s + 1.5 s; the answer comes at about 3 s, while the end of
    # the script waits up to 1.5 s more for it.
    slow_feed.delay = 3.0
    line = f"/news feed add url:{slow_feed.url()}"
    code, text = await transcript(settings, tmp_path, line, answer_wait=1.0, pending_wait=1.5)
    assert "(no answer after 1.5 s; it is printed here if it comes)" in text
    assert f"(the answer to {line}:)\n(only you can see this)\nNow following Slow" in text
    assert code == 0, text
    assert "ServerDisconnectedError" not in caplog.text


async def test_an_answer_that_never_comes_ends_the_script_cleanly(
        settings: Settings, tmp_path: Path, slow_feed: SlowFeed,
        caplog: pytest.LogCaptureFixture) -> None:
    slow_feed.delay = 8.0
    line = f"/news feed add url:{slow_feed.url()}"
    with caplog.at_level(logging.ERROR):
        code, text = await transcript(settings, tmp_path, line, answer_wait=1.0,
                                      pending_wait=0.5)
    assert code == 1  # a batch with an answer that never came fails, like a failed line
    assert text.rstrip().endswith(f"(stopped waiting for the answer to {line})")
    assert "Traceback" not in text
    assert "ServerDisconnectedError" not in caplog.text
    assert not [r for r in caplog.records if r.name.startswith(("discord", "bot.core.errors"))
                and r.levelno >= logging.ERROR]


def test_code_in_backticks_is_shown_as_written() -> None:
    help_text = "or a word start with `*` (`romanc*`). **Bold** *and italic*"
    assert markdown(help_text) == "or a word start with `*` (`romanc*`). Bold and italic"
    assert markdown("``a`b*`` then *x*") == "``a`b*`` then x"
    assert markdown("```\nkeep *this*\n```") == "```\nkeep *this*\n```"
    assert markdown(r"`\*` stays, \* unescaped") == r"`\*` stays, * unescaped"
    assert markdown("one ` alone *then*") == "one ` alone then"
