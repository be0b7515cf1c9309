"""SHARD_COUNT and SHARD_IDS: the bot on several gateway connections, each serving its own
servers, all in one process or a slice of them in each of several processes on one database."""

import asyncio
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import discord
import pytest

from bot.canon.seeding import load_seed
from bot.cli import main
from bot.client import HeartstopperBot, ShardedHeartstopperBot, bot_class
from bot.core.config import DEFAULT_SEED_DIR, ConfigError, Settings, parse_settings
from bot.core.leadership import BACKGROUND, LeaseRepository
from bot.core.service_lock import AlreadyServing, serving, shard_lock_path
from bot.news.engine import NewsEngine
from bot.playground.harness import emulator_settings
from bot.store import Store
from emulator import default_config
from emulator.testing import running_emulator, start_client, stop_client
from tests.test_news_e2e import until


class QuickShardedBot(ShardedHeartstopperBot):
    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        """The emulator has no identify rate limit, so no 5 s pause between shards."""


def test_setting_picks_the_class() -> None:
    assert bot_class(Settings()) is HeartstopperBot
    assert bot_class(Settings(sharded=True)) is ShardedHeartstopperBot


async def test_commands_answer_on_every_shard(db_path: Path) -> None:
    settings = Settings(database_path=db_path, seed_dir=DEFAULT_SEED_DIR, sharded=True)
    async with await Store.open(db_path) as store, running_emulator(
            default_config(guilds=4, shard_count=2)) as emu:
        await store.canon.apply_seed(load_seed(DEFAULT_SEED_DIR))
        bot = QuickShardedBot(settings, store, guild_ready_timeout=0.05)
        task = await start_client(bot, emu)
        try:
            await bot.tree.sync()
            assert bot.shard_count == 2  # as GET /gateway/bot recommended
            assert len(bot.guilds) == 4
            shards = {guild.shard_id for guild in bot.guilds}
            assert shards == {0, 1}
            for guild in emu.config.guilds:
                result = await emu.invoke("about", guild_id=guild.id)
                assert result.errors == [] and result.embed["title"] == "Heartstopper bot"
        finally:
            await stop_client(bot, task)


# ---- SHARD_IDS: a slice of the shards per process --------------------------------------------

@pytest.mark.parametrize(("raw", "ids", "text"), [
    ("0,1", (0, 1), "0-1 of 4"),
    ("0-3", (0, 1, 2, 3), "0-3 of 4"),
    (" 3, 0-1 ,1 ", (0, 1, 3), "0-1,3 of 4"),
    ("2", (2,), "2 of 4"),
])
def test_shard_ids_are_read_as_numbers_and_ranges(raw: str, ids: tuple[int, ...],
                                                   text: str) -> None:
    settings = parse_settings({"SHARD_COUNT": "4", "SHARD_IDS": raw})
    assert settings.sharded and settings.shard_count == 4
    assert settings.shard_ids == ids
    assert settings.shards_text == text and f"shards={text}" in repr(settings)


def test_without_shard_ids_a_process_runs_every_shard() -> None:
    assert parse_settings({"SHARD_COUNT": "4", "SHARD_IDS": " "}).shard_ids is None
    assert parse_settings({"SHARD_COUNT": "4"}).shards_text == "all 4"
    assert parse_settings({"SHARD_COUNT": "auto"}).shards_text == "auto"
    assert parse_settings({}).shards_text == "off"


@pytest.mark.parametrize(("env", "expected"), [
    ({"SHARD_IDS": "0"}, "SHARD_IDS needs SHARD_COUNT set to the total number of shards across "
                         "all processes (a number, not auto)"),
    ({"SHARD_IDS": "0", "SHARD_COUNT": "auto"}, "SHARD_IDS needs SHARD_COUNT"),
    ({"SHARD_IDS": "2", "SHARD_COUNT": "2"}, "SHARD_IDS lists shard 2, but with SHARD_COUNT=2 "
                                             "the shards are numbered 0 to 1"),
    ({"SHARD_IDS": "0-9", "SHARD_COUNT": "4"}, "SHARD_IDS lists shard 9"),
    ({"SHARD_IDS": "3-1", "SHARD_COUNT": "4"}, "SHARD_IDS must be shard numbers or ranges "
                                               "separated by commas, e.g. 0,1 or 0-3, got '3-1'"),
    ({"SHARD_IDS": "0,,1", "SHARD_COUNT": "4"}, "got '0,,1'"),
    ({"SHARD_IDS": "one", "SHARD_COUNT": "4"}, "got 'one'"),
    ({"SHARD_IDS": "-1", "SHARD_COUNT": "4"}, "got '-1'"),
    ({"SHARD_IDS": "0..2", "SHARD_COUNT": "4"}, "got '0..2'"),
])
def test_bad_shard_ids_are_refused_in_one_line(env: dict[str, str], expected: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_settings(env)
    assert expected in str(raised.value)
    assert "\n" not in str(raised.value)


def test_the_cli_refuses_bad_shard_ids_with_exit_2(capsys: pytest.CaptureFixture[str],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHARD_COUNT", "2")
    monkeypatch.setenv("SHARD_IDS", "0-2")
    assert main(["--env-file", os.devnull, "run"]) == 2
    err = capsys.readouterr().err
    assert err == ("heartstopper-bot: configuration error: SHARD_IDS lists shard 2, but with "
                   "SHARD_COUNT=2 the shards are numbered 0 to 1\n")


async def test_two_slices_share_a_database_and_one_of_them_delivers(db_path: Path) -> None:
    """Two processes' worth of bots in one test process (each its own store connections):
    each serves only its shard's servers, both answer commands, exactly one runs the news
    engine, and a post answered by the other is delivered by it. When the leader stops, the
    other takes over."""
    config = default_config(guilds=4, shard_count=2)
    channels = [next(c.id for c in guild.channels if c.name == "general")
                for guild in config.guilds]
    async with await Store.open(db_path) as store:
        await store.canon.apply_seed(load_seed(DEFAULT_SEED_DIR))
        # Subscribed before either starts: neither may end the other slice's servers'
        # subscriptions for being missing from its READY.
        for guild, channel in zip(config.guilds, channels, strict=True):
            await store.news.subscribe(guild.id, channel, role_id=None, publish=False,
                                       subscribed_by=config.owner.id, now=datetime.now(UTC))
    async with running_emulator(config) as emu:
        bots: list[QuickShardedBot] = []
        tasks = []
        stores = []
        try:
            for shard in (0, 1):
                settings = emulator_settings(Settings(
                    database_path=db_path, seed_dir=DEFAULT_SEED_DIR, sharded=True,
                    shard_count=2, shard_ids=(shard,)), emu)
                stores.append(await Store.open(db_path))
                bot = QuickShardedBot(settings, stores[-1], guild_ready_timeout=0.05)
                tasks.append(await start_client(bot, emu))
                bots.append(bot)
            first, second = bots
            assert first.shard_ids == [0] and second.shard_ids == [1]
            assert {g.shard_id for g in first.guilds} == {0}
            assert {g.shard_id for g in second.guilds} == {1}
            assert len(first.guilds) + len(second.guilds) == 4
            assert first.background.leading and not second.background.leading
            assert _engine(first).running and not _engine(second).running
            await first.tree.sync()
            for guild in emu.config.guilds:
                about = await emu.invoke("about", guild_id=guild.id)
                assert about.errors == [] and about.embed["title"] == "Heartstopper bot"
            on_second = next(g for g in second.guilds)
            posted = await emu.invoke("news post", {"title": "Season 4", "body": "Filming."},
                                      guild_id=on_second.id, user=emu.config.owner)
            assert posted.errors == [] and "Posted news" in (posted.content or "")

            def delivered() -> bool:
                return all(len(emu.channel_messages(c)) == 1 for c in channels)

            # Delivered by the leader, from the item the other process stored (woken by that
            # commit; tests/test_leadership.py checks the wake-up itself).
            await until(delivered, "the post in every channel", within=10)
            # /news status answered by the other process names the one delivering, rather
            # than calling its own idle engine stopped.
            status = await emu.invoke("news status", guild_id=on_second.id,
                                      user=emu.config.owner)
            engine = next(f["value"] for f in status.embed["fields"] if f["name"] == "Engine")
            assert engine.startswith("**delivered by another process**: "), engine
            assert "needs attention" not in engine
            for guild, channel in zip(emu.config.guilds, channels, strict=True):
                [sub] = await stores[0].news.subscriptions(guild.id)
                assert sub.channel_id == channel and sub.state == "active"
            # The leader stops cleanly: the other takes the work over at its next look.
            await stop_client(first, tasks[0])
            await until(lambda: second.background.leading, "the other takes over", within=10)
            assert _engine(second).running
            assert delivered()
        finally:
            for bot, task in zip(bots, tasks, strict=False):
                await stop_client(bot, task)
            for opened in stores:
                await opened.close()


def _engine(bot: HeartstopperBot) -> NewsEngine:
    cog = bot.get_cog("News")
    assert cog is not None
    return cog.engine  # type: ignore[attr-defined]


# ---- the serving lock: slices share a database, a shard is served once -------------------------

def test_slices_share_a_database_but_never_a_shard(tmp_path: Path) -> None:
    db = tmp_path / "bot.db"
    with serving(db, [0, 1]):
        with serving(db, [2, 3]):
            pass
        pid = os.getpid()
        with pytest.raises(AlreadyServing) as raised, serving(db, [1, 2]):
            pass
        assert str(raised.value) == (
            f"another bot process (pid {pid}) is already serving shard 1 of {db}. Stop it "
            "first, or give this process other SHARD_IDS: two processes on one shard would both "
            "answer its servers' commands.")
        with pytest.raises(AlreadyServing) as raised, serving(db):
            pass
        assert str(raised.value).startswith(
            f"bot processes serving shards of {db} (SHARD_IDS) are running. Stop them first")
        with serving(db, [2]):  # the refused attempts took nothing with them
            pass
    assert shard_lock_path(db, 1) == tmp_path / "bot.db.shard-1.lock"


def test_a_process_serving_everything_refuses_every_slice(tmp_path: Path) -> None:
    db = tmp_path / "bot.db"
    with serving(db):
        with pytest.raises(AlreadyServing) as raised, serving(db, [0]):
            pass
        assert str(raised.value) == (
            f"another bot process (pid {os.getpid()}) is serving every server of {db} (it runs "
            "without SHARD_IDS). Stop it first, or run it with a SHARD_IDS slice of its own too.")
    with serving(db, [0]), serving(db, [1]):
        pass


def _fake_discord(monkeypatch: pytest.MonkeyPatch, db: Path, **env: str) -> None:
    """`run` settings whose Discord is never reached (the refusals come first); the
    process-wide URLs it sets are put back after the test."""
    monkeypatch.setattr(discord.http.Route, "BASE", discord.http.Route.BASE)
    monkeypatch.setattr(discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY",
                        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY)
    monkeypatch.setenv("DISCORD_TOKEN", "fake.token.value")
    monkeypatch.setenv("DISCORD_API_BASE", "http://127.0.0.1:9/api/v10")
    monkeypatch.setenv("DATABASE_PATH", str(db))
    for name, value in env.items():
        monkeypatch.setenv(name, value)


def test_run_refuses_a_shard_another_process_serves(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "bot.db"
    _fake_discord(monkeypatch, db, SHARD_COUNT="2", SHARD_IDS="0-1")
    with serving(db, [1]):
        assert main(["--env-file", os.devnull, "run"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"heartstopper-bot: another bot process (pid {os.getpid()}) is "
                          f"already serving shard 1 of {db}.")
    assert err.count("\n") == 1 and "Traceback" not in err


async def _live_lease(db: Path, shard_count: int) -> None:
    async with await Store.open(db) as store:
        await store.canon.apply_seed(load_seed(DEFAULT_SEED_DIR))
        now = datetime.now(UTC)
        taken = await LeaseRepository(store.database).take(
            BACKGROUND, "other", "pid 1 on elsewhere, shards 0-1 of 4", shard_count, now,
            now + timedelta(minutes=5))
        assert taken is not None


def test_run_refuses_a_slice_with_another_shard_count(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "bot.db"
    asyncio.run(_live_lease(db, 4))
    _fake_discord(monkeypatch, db, SHARD_COUNT="2", SHARD_IDS="1")
    assert main(["--env-file", os.devnull, "run"]) == 2
    err = capsys.readouterr().err
    assert err == ("heartstopper-bot: SHARD_COUNT is 2 here, but the process running this "
                   "database's background work (pid 1 on elsewhere, shards 0-1 of 4) has "
                   "SHARD_COUNT=4. Give every process serving one database the same "
                   "SHARD_COUNT.\n")
