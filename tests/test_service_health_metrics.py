"""Health and metrics over HTTP (METRICS_PORT), scraped from the real bot on the local Discord
emulator: the numbers move when commands run and news goes out, /healthz turns 503 when the
database refuses writes or the gateway is down, and back to 200 when it recovers. Also the JSON
log format (LOG_FORMAT=json)."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from discord.gateway import DiscordWebSocket
from prometheus_client.parser import text_string_to_metric_families

from bot.core.config import DEFAULT_SEED_DIR, Settings, configure_logging, parse_settings
from bot.core.logs import JsonFormatter, delivery_context, interaction_context
from emulator.errors import NoAnswer
from tests.conftest import Harness
from tests.test_news_e2e import engine_of, news_messages, owner_draft, settled, subscribe_directly
from tests.test_news_e2e import until as wait_until


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def settings(db_path: Path) -> Settings:  # the harness's, with health and metrics on
    return Settings(token=None, database_path=db_path, seed_dir=DEFAULT_SEED_DIR,
                    feeds_allow_private_addresses=True, metrics_port=free_port())


@pytest.fixture
async def http(harness: Harness) -> AsyncIterator[tuple[aiohttp.ClientSession, str]]:
    port = harness.bot.settings.metrics_port
    async with aiohttp.ClientSession() as session:
        yield session, f"http://127.0.0.1:{port}"


async def get(http: tuple[aiohttp.ClientSession, str], path: str) -> tuple[int, str]:
    session, base = http
    async with session.get(base + path) as response:
        return response.status, await response.text()


async def scrape(http: tuple[aiohttp.ClientSession, str]) -> dict[tuple[str, frozenset], float]:
    status, text = await get(http, "/metrics")
    assert status == 200
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(samples: dict[tuple[str, frozenset], float], name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def test_metrics_move_with_commands_and_news(harness: Harness, http) -> None:
    h, emu = harness, harness.emu
    before = await scrape(http)
    assert value(before, "heartstopper_guilds") == 1
    assert value(before, "heartstopper_gateway_latency_seconds", shard="0") >= 0
    assert ("heartstopper_gateway_latency_seconds", frozenset({("shard", "0")})) in before

    for _ in range(3):
        assert (await emu.invoke("about", guild_id=h.guild_id)).errors == []
    await emu.autocomplete("character", {"name": "ni"}, focused="name", guild_id=h.guild_id)
    refused = await emu.invoke("news post", {"title": "t", "body": "b"}, guild_id=h.guild_id,
                               user="moderator")
    assert "Only the bot's owners" in (refused.content or "")
    after = await scrape(http)
    ok = dict(command="about", kind="command", outcome="ok")
    assert value(after, "heartstopper_interactions_total", **ok) == \
        value(before, "heartstopper_interactions_total", **ok) + 3
    assert value(after, "heartstopper_interactions_total", command="news post",
                 kind="command", outcome="refused") == 1
    assert value(after, "heartstopper_interactions_total", command="character",
                 kind="autocomplete", outcome="ok") == 1
    assert value(after, "heartstopper_interaction_seconds_count", kind="command") == \
        value(before, "heartstopper_interaction_seconds_count", kind="command") + 4

    general, announcements = h.channel_id("general"), h.channel_id("announcements")
    await subscribe_directly(h, general)
    await subscribe_directly(h, announcements)
    # Held back from claiming: the outbox shows what waits, and for how long.
    engine = engine_of(h)
    await engine.stop()
    await engine.publish(owner_draft(1))
    h.advance(seconds=40)
    waiting = await scrape(http)
    assert value(waiting, "heartstopper_news_outbox_depth") == 2
    assert value(waiting, "heartstopper_news_deliveries", state="pending") == 2
    assert value(waiting, "heartstopper_news_oldest_pending_seconds") == 40
    await engine.start()
    await wait_until(lambda: settled(h), "delivered")
    assert len(news_messages(h, general)) == 1
    sent = await scrape(http)
    assert value(sent, "heartstopper_news_deliveries", state="sent") == 2
    assert value(sent, "heartstopper_news_deliveries", state="pending") == 0
    assert value(sent, "heartstopper_news_outbox_depth") == 0
    assert value(sent, "heartstopper_news_oldest_pending_seconds") == 0

    # A 429 from Discord is counted where discord.py receives it.
    emu.faults.rate_limited("POST", "/channels/{channel_id}/messages", retry_after=0.05,
                            times=1)
    await engine.publish(owner_draft(2))
    await wait_until(lambda: settled(h), "delivered after the 429")
    limited = await scrape(http)
    assert sum(v for (name, _), v in limited.items()
               if name == "heartstopper_discord_rate_limited_total") == 1


async def test_healthz_turns_503_when_writes_fail_or_the_gateway_is_down(
        harness: Harness, http, monkeypatch: pytest.MonkeyPatch) -> None:
    h, emu = harness, harness.emu
    assert await get(http, "/healthz") == (200, "ok\n")

    h.store.database.write_fault = lambda: sqlite3.OperationalError("database is locked")
    await asyncio.sleep(1.05)  # the probe's answer is reused for a second
    status, body = await get(http, "/healthz")
    assert status == 503 and "database: refuses writes (busy: database is locked)" in body
    h.store.database.write_fault = None
    await asyncio.sleep(1.05)
    assert await get(http, "/healthz") == (200, "ok\n")

    # The gateway drops and the bot cannot connect again until `back` is set.
    back = asyncio.Event()
    original = DiscordWebSocket.from_client

    async def held(cls: type, *args: object, **kwargs: object) -> DiscordWebSocket:
        await back.wait()
        return await original(*args, **kwargs)

    monkeypatch.setattr(DiscordWebSocket, "from_client", classmethod(held))
    await emu.gateway.drop(code=4000)

    async def down() -> bool:
        status, body = await get(http, "/healthz")
        return status == 503 and "gateway: disconnected" in body

    await wait_until(down, "/healthz reports the gateway down", within=10)
    back.set()

    async def up() -> bool:
        return (await get(http, "/healthz"))[0] == 200

    await wait_until(up, "/healthz recovers with the gateway", within=15)


def test_json_logs_are_one_object_a_line_with_the_ids(capsys: pytest.CaptureFixture[str]) -> None:
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    root.handlers = []
    try:
        configure_logging(parse_settings({"LOG_FORMAT": "json", "LOG_LEVEL": "INFO"}))
        assert logging.getLogger("aiosqlite").level == logging.INFO  # still kept quiet
        log = logging.getLogger("bot.test")
        log.info("plain %s", "line")
        token = interaction_context.set(111)
        log.warning("about an interaction", extra={"guild_id": 5})
        interaction_context.reset(token)
        token = delivery_context.set(222)
        try:
            raise ValueError("boom")
        except ValueError:
            log.exception("about a delivery")
        delivery_context.reset(token)
    finally:
        root.handlers, _ = saved[0], root.setLevel(saved[1])
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert [e["message"] for e in lines] == ["plain line", "about an interaction",
                                             "about a delivery"]
    for entry in lines:
        assert entry["logger"] == "bot.test" and entry["time"].endswith("Z")
    assert lines[0]["level"] == "INFO" and "interaction_id" not in lines[0]
    assert lines[1]["interaction_id"] == 111 and lines[1]["guild_id"] == 5
    assert lines[2]["delivery_id"] == 222 and "ValueError: boom" in lines[2]["exc_info"]
    assert lines[2]["level"] == "ERROR"
    assert isinstance(JsonFormatter().format(logging.makeLogRecord({"msg": "x"})), str)


async def test_an_answer_after_the_deadline_is_one_warning_not_a_bug(
        harness: Harness, http, caplog: pytest.LogCaptureFixture) -> None:
    """An overloaded bot answers late by the hundred: each is counted as expired and logged on
    one line, with no traceback and no error reply that Discord would refuse as well."""
    h, emu = harness, harness.emu
    before = await scrape(http)
    emu.interaction_deadline = 0.0  # every callback comes too late
    with caplog.at_level(logging.WARNING):
        late = await emu.invoke("about", guild_id=h.guild_id, timeout=2.0)
        await wait_until(lambda: any("deadline" in r.getMessage() for r in caplog.records),
                         "the warning")
    emu.interaction_deadline = 3.0
    assert not late.answered and late.error_codes == [10062]  # one try, no error reply after
    assert late.followups == []
    lines = [r for r in caplog.records if r.name.startswith("bot")]
    assert [r.levelno for r in lines] == [logging.WARNING]
    assert lines[0].exc_info is None and str(late.interaction_id) in lines[0].getMessage()
    after = await scrape(http)
    labels = dict(command="about", kind="command")
    assert value(after, "heartstopper_interactions_total", outcome="expired", **labels) == 1
    assert value(after, "heartstopper_interactions_total", outcome="error", **labels) == \
        value(before, "heartstopper_interactions_total", outcome="error", **labels)
    # The next one in time is answered as ever.
    assert (await emu.invoke("about", guild_id=h.guild_id)).errors == []


async def test_autocomplete_failures_are_counted_and_a_late_one_is_one_warning(
        harness: Harness, http, caplog: pytest.LogCaptureFixture,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """discord.py answers autocomplete itself and only logs its failures: they still reach
    /metrics, and one refused as too late is a line, not a traceback."""
    h, emu = harness, harness.emu
    labels = dict(command="character", kind="autocomplete")
    emu.interaction_deadline = 0.0
    with caplog.at_level(logging.WARNING):
        with pytest.raises(NoAnswer):
            await emu.autocomplete("character", {"name": "ni"}, focused="name",
                                   guild_id=h.guild_id, timeout=1.0)
        await wait_until(lambda: any("deadline" in r.getMessage() for r in caplog.records),
                         "the warning")
    emu.interaction_deadline = 3.0
    late = [r for r in caplog.records if r.name == "discord.app_commands.tree"]
    assert [r.levelno for r in late] == [logging.WARNING]
    assert late[0].exc_info is None and "answered after Discord's deadline" in late[0].getMessage()
    after = await scrape(http)
    assert value(after, "heartstopper_interactions_total", outcome="expired", **labels) == 1

    # A bug in the suggestions: the traceback stays, and it counts as an error, not as ok.
    caplog.clear()

    def broken(*args: object, **kwargs: object) -> list:
        raise RuntimeError("a bug in the suggestions")

    monkeypatch.setattr(h.bot.characters.index, "search", broken)
    with caplog.at_level(logging.WARNING), pytest.raises(NoAnswer):
        # Not "ni" again: the choices made for a text typed before are kept.
        await emu.autocomplete("character", {"name": "ch"}, focused="name",
                               guild_id=h.guild_id, timeout=0.5)
    [bug] = [r for r in caplog.records if r.name == "discord.app_commands.tree"]
    assert bug.levelno == logging.ERROR and bug.exc_info is not None
    after = await scrape(http)
    assert value(after, "heartstopper_interactions_total", outcome="error", **labels) == 1
    assert value(after, "heartstopper_interactions_total", outcome="ok", **labels) == 0
